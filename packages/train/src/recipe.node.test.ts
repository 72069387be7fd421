import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, ConfigError, RegistryError, ShapeError, losses, parseSafetensors } from '@restorekit/core';
import { compose, gaussianBlur, gaussianNoise, type DegradationLabel, type HostImage } from './degrade.js';
import { memorySink } from './log.js';
import {
  DEGRADATION_FACTORIES,
  RECIPES,
  degradationFromSpec,
  labelsFromSpec,
  lossFromSpec,
  mergeRecipe,
  optimizerFromSpec,
  resolveRecipe,
  scheduleFromSpec,
  trainerOptionsFromRecipe,
  type Recipe,
} from './recipe.js';
import { Rng } from './rng.js';
import { cosineAnnealingRestartLR } from './schedules.js';
import { syntheticImage, tinyNet } from './test-helpers.js';
import { Trainer, decodeCheckpoint, encodeCheckpoint } from './trainer.js';

/** A loss of core's registry for these tests (@restorekit/losses is not a dependency of this package): mean |pred − target|. */
class TestL1 {
  constructor(readonly options: Record<string, unknown>) {
    for (const k of Object.keys(options)) if (k !== 'scale') throw new ConfigError(`TestL1: unknown option '${k}'`);
  }
  call(pred: tf.Tensor | tf.Tensor[], target: tf.Tensor): tf.Tensor {
    const p = Array.isArray(pred) ? pred[0]! : pred;
    return tf.tidy(() => tf.mul(tf.mean(tf.abs(tf.sub(p, target))), (this.options.scale as number | undefined) ?? 1));
  }
}
/** A loss holding a block of its own (as FSDerainLoss holds its FrequencyEncoder): mean |enc(pred) − enc(target)|. */
class TestEncoderLoss {
  readonly encoder = new Conv2d({ inChannels: 3, outChannels: 2, kernelSize: 3, padding: 1, seed: 9 });
  disposed = false;
  call(pred: tf.Tensor | tf.Tensor[], target: tf.Tensor): tf.Tensor {
    const p = Array.isArray(pred) ? pred[0]! : pred;
    return tf.tidy(() => tf.mean(tf.abs(tf.sub(this.encoder.apply(p) as tf.Tensor, this.encoder.apply(target) as tf.Tensor))));
  }
  dispose() {
    this.disposed = true;
    this.encoder.dispose();
  }
}
/** Counts labels it is given (a loss with a label target): mean of (pred mean − label)². */
class TestLabelLoss {
  call(pred: tf.Tensor | tf.Tensor[], labels: tf.Tensor): tf.Tensor {
    const ps = Array.isArray(pred) ? pred : [pred];
    return tf.tidy(() => tf.addN(ps.map((p) => tf.mean(tf.square(tf.sub(tf.mean(p, [1, 2, 3]), tf.cast(labels, 'float32')))))));
  }
}
for (const [type, make] of [
  ['RecipeTestL1', (o: Record<string, unknown>) => new TestL1(o)],
  ['RecipeTestEncoder', () => new TestEncoderLoss()],
  ['RecipeTestLabel', () => new TestLabelLoss()],
] as const)
  if (!losses.has(type)) losses.register(type, { create: make });

const img = (seed: number, h = 24, w = 24): HostImage => ({ data: syntheticImage(new Rng(seed), h, w), shape: [h, w, 3] });
const tiny = (over: Partial<Recipe> = {}): Recipe => ({
  model: { name: 'test' },
  patchSize: 8,
  batchSize: 2,
  degradation: { type: 'gaussianNoise', sigma: [0, 0.2], range: true },
  loss: { type: 'RecipeTestL1' },
  optimizer: { type: 'AdamW', lr: 1e-3, weightDecay: 1e-4 },
  schedule: { type: 'warmupCosine', warmupSteps: 2 },
  clipGradNorm: 0.5,
  ema: 0.9,
  steps: 6,
  checkpointEvery: 3,
  validateEvery: 3,
  seed: 5,
  ...over,
});

describe('RECIPES', () => {
  it('denoise resolves to exactly the recipe of training/train-default.mjs (the shipped compact:default model)', () => {
    const r = resolveRecipe('denoise');
    const src = readFileSync(new URL('../../../training/train-default.mjs', import.meta.url), 'utf8');
    const start = src.indexOf('export const RECIPE = ') + 'export const RECIPE = '.length;
    const end = src.indexOf('\n};\n', start) + 2;
    // The script's RECIPE object literal, evaluated with its one free variable (the preset).
    const script = new Function('PRESET', `return (${src.slice(start, end)});`)('default') as {
      preset: string;
      patchSize: number;
      batchSize: number;
      noise: { sigma255: [number, number]; perPatch: boolean; perChannel: boolean; clip: boolean };
      loss: string;
      optimizer: Record<string, unknown>;
      schedule: Record<string, unknown>;
      clipGradNorm: number;
      ema: number;
      data: { kodakRepeats: number };
      samplerSeed: number;
      valSigma: number;
      valSeed: number;
    };
    expect(r.model).toEqual({ name: 'compact', preset: script.preset, options: {}, requiresWeights: false });
    expect([r.patchSize, r.batchSize, r.accumulate]).toEqual([script.patchSize, script.batchSize, 1]);
    // gaussianNoise({ sigma: [σ0/255, σ1/255], range: true }) with σ drawn per patch for all channels, no clipping.
    expect(script.noise).toEqual({ sigma255: [0, 50], perPatch: true, perChannel: false, clip: false });
    expect(r.degradation).toEqual({ type: 'gaussianNoise', sigma: [script.noise.sigma255[0] / 255, script.noise.sigma255[1] / 255], range: true });
    expect(script.loss).toBe('CharbonnierLoss (eps 1e-3)');
    expect(r.loss).toEqual([
      { type: 'CharbonnierLoss', eps: 1e-3, name: 'CharbonnierLoss', weight: 1, target: 'gt', degraded: false, requiresWeights: false, trainable: [] },
    ]);
    expect(r.optimizer).toEqual(script.optimizer);
    expect(r.schedule).toEqual(script.schedule);
    expect(r.steps).toBe((script.schedule.periods as number[]).reduce((a, b) => a + b, 0));
    expect([r.clipGradNorm, r.ema, r.seed]).toEqual([script.clipGradNorm, script.ema, script.samplerSeed]);
    expect(r.data).toEqual({
      train: [],
      val: [],
      gray: 'replicate',
      repeats: { gray: 1, color: script.data.kodakRepeats },
      augment: { channelPermutations: true, hflip: true, rotation: true },
      paired: false,
    });
    expect(r.validation).toEqual({
      degradation: { type: 'gaussianNoise', sigma: script.valSigma / 255 },
      seed: script.valSeed,
      cropBorder: 0,
      testYChannel: false,
      ssim: true,
    });
    // The schedule the recipe builds is the script's, step for step.
    const a = scheduleFromSpec(r.schedule, { lr: r.optimizer.lr, steps: r.steps });
    const b = cosineAnnealingRestartLR({ lr: 1e-3, periods: [4000, 12000, 32000, 100000], restartWeights: [1, 0.8, 0.6, 0.4], etaMin: 1e-6, warmupIter: 500 });
    for (const s of [0, 1, 498, 499, 500, 3999, 4000, 4001, 47999, 147999]) expect(a(s)).toBe(b(s));
  });

  it('fsderain-finetune: the official Restormer from pretrained weights, FSDerain loss with the degraded input and its trainable encoder, paired data', () => {
    const r = resolveRecipe('fsderain-finetune');
    expect(r.model).toEqual({ name: 'restormer', preset: 'official', options: {}, requiresWeights: true });
    expect(r.data.paired).toBe(true);
    expect(r.degradation).toBeUndefined();
    expect(r.loss).toEqual([
      { type: 'FSDerainLoss', name: 'FSDerainLoss', weight: 1, target: 'gt', degraded: true, requiresWeights: true, trainable: ['encoder'] },
    ]);
    expect(r.optimizer).toEqual({ type: 'Adam', lr: 2e-4, betas: [0.9, 0.999], weightDecay: 0 });
    expect([r.patchSize, r.batchSize, r.steps, r.ema, r.clipGradNorm]).toEqual([64, 8, 2500, undefined, undefined]);
  });

  it('all-in-one: FSDRNet with routing labels; every degradation it names is registered and draws its label', () => {
    for (const n of ['oneOf', 'rain', 'haze', 'lowLight']) expect(n in DEGRADATION_FACTORIES).toBe(true);
    const r = resolveRecipe('all-in-one');
    expect(r.model).toEqual({ name: 'fsdrnet', preset: 'small', options: {}, requiresWeights: false });
    expect(r.loss.map((t) => [t.name, t.weight, t.output, t.target])).toEqual([
      ['l_pix', 1, 0, 'gt'],
      ['l_fft', 0.1, 0, 'gt'],
      ['l_route', 0.01, [1, 2, 3], 'routing'],
    ]);
    // 600 draws of the recipe's degradation on a small image: every task appears about as often as its weight says.
    const deg = degradationFromSpec(RECIPES['all-in-one'].degradation!);
    const img = { data: new Float32Array(16 * 16 * 3).fill(0.5), shape: [16, 16, 3] as [number, number, number] };
    const counts: Record<string, number> = {};
    const rng = new Rng(3);
    for (let i = 0; i < 600; i++) {
      const t = deg(img, rng).label.type as string;
      counts[t] = (counts[t] ?? 0) + 1;
    }
    expect(Object.keys(counts).sort()).toEqual(['gaussianNoise', 'haze', 'lowLight', 'rain']);
    for (const k of Object.keys(counts)) expect(Math.abs(counts[k]! - 150)).toBeLessThan(45);
    // The recipe data itself: σ ∈ {15, 25, 50}/255, rain, haze, low light, each task a quarter of the patches.
    const d = RECIPES['all-in-one'].degradation as { type: string; choices: { type: string; sigma?: number }[]; weights: number[] };
    expect(d.type).toBe('oneOf');
    expect(d.choices.map((c) => (c.sigma ? c.sigma * 255 : c.type))).toEqual([15, 25, 50, 'rain', 'haze', 'lowLight']);
    expect(d.weights).toEqual([1, 1, 1, 3, 3, 3]);
    expect(RECIPES['all-in-one'].labels!.routing).toMatchObject({ type: 'class', classes: ['S', 'Mix', 'I', 'K'] });
  });

  it('RECIPES are data: JSON round trips them, and resolving never changes them', () => {
    const before = JSON.stringify(RECIPES);
    expect(JSON.parse(before)).toEqual(RECIPES);
    const r = resolveRecipe('denoise', { steps: 10, data: { train: ['x'] } });
    r.data.train.push('y');
    (r.optimizer as { lr: number }).lr = 5;
    expect(JSON.stringify(RECIPES)).toBe(before);
  });
});

describe('resolveRecipe: overrides, extends and typed errors naming the key', () => {
  it('overrides merge into the recipe (objects key by key, lists replace, another component type replaces)', () => {
    const r = resolveRecipe('denoise', { steps: 12, patchSize: 16, data: { train: ['a', 'b'] }, model: { weights: 'init.safetensors' } });
    expect([r.steps, r.patchSize, r.batchSize]).toEqual([12, 16, 6]);
    expect(r.data.train).toEqual(['a', 'b']);
    expect(r.data.repeats).toEqual({ gray: 1, color: 3 });
    expect(r.model).toMatchObject({ name: 'compact', preset: 'default', weights: 'init.safetensors' });
    const s = resolveRecipe('denoise', { schedule: { type: 'constant' } });
    expect(s.schedule).toEqual({ type: 'constant' });
    expect(mergeRecipe({ a: { type: 'x', p: 1 }, l: [1, 2] }, { a: { q: 2 }, l: [3] })).toEqual({ a: { type: 'x', p: 1, q: 2 }, l: [3] });
  });

  it("a recipe object can extend a built-in one; its name is the object's or '<base> (changed)'", () => {
    const r = resolveRecipe({ extends: 'denoise', model: { name: 'compact', preset: 'tiny' }, steps: 6 } as unknown as Recipe);
    expect(r.name).toBe('denoise (changed)');
    expect(r.model.preset).toBe('tiny');
    expect(r.optimizer.type).toBe('AdamW');
    expect(resolveRecipe({ ...tiny(), name: 'mine' }).name).toBe('mine');
    expect(() => resolveRecipe({ extends: 'denoize' } as unknown as Recipe)).toThrow(
      /unknown recipe 'denoize' \(did you mean 'denoise'\?\) \(recipes: denoise, all-in-one, fsderain-finetune\)/,
    );
  });

  it('an unknown recipe name is a RegistryError listing the recipes', () => {
    expect(() => resolveRecipe('denoice')).toThrow(RegistryError);
    expect(() => resolveRecipe('denoice')).toThrow("unknown recipe 'denoice' (did you mean 'denoise'?) (recipes: denoise, all-in-one, fsderain-finetune)");
  });

  it.each([
    [{ stpes: 5 }, ConfigError, /recipe 'custom': unknown option 'stpes' \(did you mean 'steps'\?\)/],
    [{ data: { trian: ['x'] } }, ConfigError, /recipe 'custom' data: unknown option 'trian' \(did you mean 'train'\?\)/],
    [
      { data: { augment: { channelPermutation: true } } },
      ConfigError,
      /recipe 'custom' data.augment: unknown option 'channelPermutation' \(did you mean 'channelPermutations'\?\)/,
    ],
    [{ data: { repeats: { gray: 1, colour: 2 } } }, ConfigError, /recipe 'custom' data: option 'repeats' must be/],
    [{ model: { name: 'test', weigths: 'a' } }, ConfigError, /recipe 'custom' model: unknown option 'weigths' \(did you mean 'weights'\?\)/],
    [
      { optimizer: { type: 'AdamW', lr: 1e-3, weight_decay: 0.1 } },
      ConfigError,
      /recipe 'custom' optimizer: AdamW: unknown option 'weight_decay' \(did you mean 'weightDecay'\?\)/,
    ],
    [{ optimizer: { type: 'SGD', lr: 1e-3 } }, ConfigError, /recipe 'custom' optimizer: option 'type' must be 'AdamW' or 'Adam'/],
    [
      { schedule: { type: 'cosine' } },
      RegistryError,
      /recipe 'custom' schedule: unknown schedule type 'cosine' .*\(schedules: constant, warmupCosine, cosineAnnealingRestartLR, cosineAnnealingRestartCyclicLR\)/,
    ],
    [{ schedule: { type: 'cosineAnnealingRestartLR', periods: [4] } }, ConfigError, /recipe 'custom' schedule: ends before the last step \(6\)/],
    [
      { schedule: { type: 'warmupCosine', warmupStep: 2 } },
      ConfigError,
      /recipe 'custom' schedule: warmupCosine: unknown option 'warmupStep' \(did you mean 'warmupSteps'\?\)/,
    ],
    [
      { degradation: { type: 'gausianNoise', sigma: 0.1 } },
      RegistryError,
      /recipe 'custom' degradation: degradation type 'gausianNoise' not registered \(did you mean 'gaussianNoise'\?\)/,
    ],
    [{ degradation: { type: 'gaussianNoise', sigmaa: 0.1 } }, ConfigError, /recipe 'custom' degradation: gaussianNoise: unknown option 'sigmaa'/],
    [
      { degradation: { type: 'compose', steps: [{ type: 'gaussianBlur', kernelSize: 4, sigmaX: 1 }] } },
      ConfigError,
      /recipe 'custom' degradation: gaussianBlur: kernelSize must be odd/,
    ],
    [{ degradation: undefined }, ConfigError, /recipe 'custom' degradation: required unless data.paired/],
    [{ loss: { type: 'RecipeTestL1', target: 'sigma' } }, ConfigError, /recipe 'custom' loss: target 'sigma' is neither 'gt' nor a label \(labels: none\)/],
    [{ loss: { type: 'RecipeTestL1', wieght: 2 } }, ConfigError, /TestL1|unknown option/],
    [{ loss: [{ type: 'RecipeTestL1' }, { type: 'RecipeTestL1', name: 'RecipeTestL1' }] }, ConfigError, /two loss terms are named 'RecipeTestL1'/],
    [{ loss: { type: 'RecipeTestL1', weight: -1 } }, ConfigError, /recipe 'custom' loss: option 'weight' must be a finite number ≥ 0/],
    [
      { labels: { routing: { type: 'class', classes: ['S'], map: { gaussianNoise: 'Mix' } } } },
      ConfigError,
      /recipe 'custom' labels.routing: map.gaussianNoise is 'Mix', not one of the classes \(S\)/,
    ],
    [{ labels: { s: { type: 'sigmas' } } }, ConfigError, /recipe 'custom' labels.s: unknown label type "sigmas" \(label types: class, sigma\)/],
    [
      { validation: { degradation: { type: 'gaussianNoise' } } },
      ConfigError,
      /recipe 'custom' validation.degradation: gaussianNoise: option 'sigma' is required/,
    ],
    [{ patchSize: 0 }, ConfigError, /recipe 'custom': option 'patchSize' must be a positive integer, got 0/],
  ] as [Record<string, unknown>, typeof ConfigError, RegExp][])('%j → %o', (over, cls, msg) => {
    const raw = { ...tiny(), ...over } as Record<string, unknown>;
    for (const [k, v] of Object.entries(over)) if (v === undefined) delete raw[k];
    let err: unknown;
    try {
      resolveRecipe(raw as unknown as Recipe);
    } catch (e) {
      err = e;
    }
    // An unknown loss option surfaces when the loss is built (its constructor validates it).
    if (msg.source === 'TestL1|unknown option') {
      expect(err).toBeUndefined();
      expect(() => lossFromSpec((raw as { loss: Recipe['loss'] }).loss)).toThrow("TestL1: unknown option 'wieght'");
      return;
    }
    expect(err).toBeInstanceOf(cls);
    expect((err as Error).message).toMatch(msg);
  });
});

describe('degradationFromSpec', () => {
  it('builds the same degradation as the functions: same pixels and labels for the same seed, others for another', () => {
    const spec = {
      type: 'compose',
      steps: [
        { type: 'gaussianBlur', kernelSize: 5, sigmaX: [0.5, 2] },
        { type: 'gaussianNoise', sigma: [0.02, 0.2], range: true, perChannel: true },
      ],
    };
    const gt = img(3);
    const a = degradationFromSpec(spec)(gt, new Rng(11));
    const b = degradationFromSpec(JSON.parse(JSON.stringify(spec)))(gt, new Rng(11));
    const direct = compose(gaussianBlur({ kernelSize: 5, sigmaX: [0.5, 2] }), gaussianNoise({ sigma: [0.02, 0.2], range: true, perChannel: true }))(
      gt,
      new Rng(11),
    );
    expect(a.image.data).toEqual(b.image.data);
    expect(a.image.data).toEqual(direct.image.data);
    expect(a.label).toEqual(direct.label);
    const steps = (a.label.steps as { sigmaX?: number; sigma?: number[] }[]) ?? [];
    expect(steps[0]!.sigmaX).toBeGreaterThanOrEqual(0.5);
    expect(steps[0]!.sigmaX).toBeLessThanOrEqual(2);
    expect(new Set(steps[1]!.sigma).size).toBe(3);
    const c = degradationFromSpec(spec)(gt, new Rng(12));
    expect(c.image.data).not.toEqual(a.image.data);
  });

  it('registering a factory is one line; nested specs are built through `build`', () => {
    const twice = (o: Record<string, unknown>, build: (s: { type: string }) => ReturnType<typeof gaussianNoise>) => {
      const d = build(o.step as { type: string });
      return compose(d, d);
    };
    DEGRADATION_FACTORIES.recipeTestTwice = twice;
    try {
      const gt = img(4);
      const r = degradationFromSpec({ type: 'recipeTestTwice', step: { type: 'gaussianNoise', sigma: 0.1 } })(gt, new Rng(1));
      const direct = compose(gaussianNoise({ sigma: 0.1 }), gaussianNoise({ sigma: 0.1 }))(gt, new Rng(1));
      expect(r.image.data).toEqual(direct.image.data);
    } finally {
      delete DEGRADATION_FACTORIES.recipeTestTwice;
    }
    expect(() => degradationFromSpec({ type: 'compose', steps: [{ type: 'rainn' }, { type: 'hazee' }] })).toThrow(
      /degradation types 'rainn', 'hazee' not registered/,
    );
  });
});

describe('optimizerFromSpec, scheduleFromSpec', () => {
  it('the optimizer of the spec with its hyperparameters; the schedule takes lr from the optimizer and totalSteps from the run', () => {
    const o = optimizerFromSpec({ type: 'Adam', lr: 2e-4, betas: [0.9, 0.99] });
    expect(o.type).toBe('Adam');
    expect(o.lr).toBe(2e-4);
    o.dispose();
    const s = scheduleFromSpec({ type: 'warmupCosine', warmupSteps: 10, etaMin: 1e-6 }, { lr: 1e-3, steps: 100 });
    expect(s(5)).toBeCloseTo(5e-4, 15);
    expect(s(100)).toBe(1e-6);
    expect(scheduleFromSpec({ type: 'constant' }, { lr: 3e-4, steps: 1 })(7)).toBe(3e-4);
    expect(() => optimizerFromSpec({ type: 'AdamX', lr: 1 } as never)).toThrow(/unknown optimizer type 'AdamX' \(did you mean 'AdamW'\?\)/);
  });
});

describe('labelsFromSpec', () => {
  it("class: the first mapped type in a patch's label tree gives its class (int32 [B]); sigma: the patch's noise σ (float32 [B])", async () => {
    const f = labelsFromSpec({
      routing: { type: 'class', classes: ['S', 'Mix', 'I', 'K'], map: { gaussianNoise: 'S', haze: 'Mix', gaussianBlur: 'K' } },
      sigma: { type: 'sigma' },
    });
    const labels: DegradationLabel[] = [
      { type: 'gaussianNoise', sigma: [0.1, 0.2, 0.3] },
      {
        type: 'compose',
        steps: [
          { type: 'jpeg', quality: 40 },
          { type: 'haze', beta: 1 },
        ],
      },
      { type: 'gaussianBlur', sigmaX: 1, choice: 2 },
      {
        type: 'compose',
        steps: [
          { type: 'gaussianBlur', sigmaX: 1 },
          { type: 'gaussianNoise', sigma: [0.04, 0.04, 0.04] },
        ],
      },
    ];
    const before = tf.memory().numTensors;
    const out = f(labels);
    expect(out.routing!.dtype).toBe('int32');
    expect(Array.from(await out.routing!.data())).toEqual([0, 1, 3, 3]);
    expect(Array.from(await out.sigma!.data())).toEqual([Math.fround(0.2), 0, 0, Math.fround(0.04)]);
    tf.dispose(Object.values(out));
    expect(tf.memory().numTensors).toBe(before);
    expect(() => f([{ type: 'lowLight', gamma: 2 }])).toThrow(
      /labels.routing: a patch's degradation \{"type":"lowLight","gamma":2\} has none of the mapped types \(gaussianNoise, haze, gaussianBlur\)/,
    );
  });
});

describe('lossFromSpec', () => {
  it('weighted terms by name, each on its output and target; unknown types are RegistryErrors; bad outputs ShapeErrors', async () => {
    const built = lossFromSpec([
      { type: 'RecipeTestL1', scale: 2 },
      { type: 'RecipeTestL1', weight: 0.5, output: 1 },
      { type: 'RecipeTestLabel', name: 'l_label', weight: 0.1, output: [0, 1], target: 'cls' },
    ]);
    expect(built.terms.map((t) => t.name)).toEqual(['RecipeTestL1', 'RecipeTestL1_2', 'l_label']);
    const a = tf.fill([2, 4, 4, 3], 0.5);
    const b = tf.fill([2, 4, 4, 3], 0.25);
    const gt = tf.zeros([2, 4, 4, 3]);
    const cls = tf.tensor1d([0, 1], 'int32');
    const before = tf.memory().numTensors;
    const r = built.fn([a, b], gt, { cls }) as Record<string, tf.Tensor>;
    const v = Object.fromEntries(await Promise.all(Object.entries(r).map(async ([k, t]) => [k, (await t.data())[0]] as const)));
    // 2·|0.5|; 0.5·|0.25|; 0.1·[((0.5 − 0)² + (0.5 − 1)²)/2 + ((0.25 − 0)² + (0.25 − 1)²)/2]
    expect(v.RecipeTestL1).toBeCloseTo(1, 6);
    expect(v.RecipeTestL1_2).toBeCloseTo(0.125, 6);
    expect(v.l_label).toBeCloseTo(0.1 * (0.25 + (0.0625 + 0.5625) / 2), 6);
    tf.dispose(Object.values(r));
    expect(tf.memory().numTensors).toBe(before);
    expect(() => built.fn(a, gt, {})).toThrow(ShapeError);
    expect(() => built.fn(a, gt, {})).toThrow("loss term 'RecipeTestL1_2': output 1, but the model gives 1 output");
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, gt, cls]);
    built.dispose();
    expect(() => lossFromSpec({ type: 'RecipeTestL2' })).toThrow(RegistryError);
    expect(() => lossFromSpec({ type: 'RecipeTestL2' })).toThrow(/unknown loss type 'RecipeTestL2' \(did you mean 'RecipeTestL1'\?\)/);
  });
});

describe('trainerOptionsFromRecipe', () => {
  const images = [{ gt: img(1) }, { gt: img(2, 20, 28) }, { gt: img(3, 16, 16) }];
  const toDispose: { dispose(): void }[] = [];
  afterAll(() => {
    for (const d of toDispose) d.dispose();
  });

  it('trains the recipe (sampler, degradation, loss, AdamW, schedule, clipping, EMA); a checkpoint at step 3 resumes to the same weights as 6 straight', async () => {
    const recipe = resolveRecipe(tiny());
    const run = async (resumeAt?: number) => {
      const model = tinyNet(1);
      const log = memorySink();
      let t = trainerOptionsFromRecipe(recipe, { model, images, log });
      let trainer = new Trainer(t.options);
      if (resumeAt !== undefined) {
        while (trainer.globalStep < resumeAt) await trainer.step();
        const bytes = encodeCheckpoint(await trainer.saveCheckpoint());
        trainer.dispose();
        t.dispose();
        model.dispose();
        const fresh = tinyNet(77); // other initial weights: the checkpoint's replace them
        t = trainerOptionsFromRecipe(recipe, { model: fresh, images, log });
        trainer = await Trainer.resume(decodeCheckpoint(bytes), t.options);
        toDispose.push(fresh);
      } else toDispose.push(model);
      while (trainer.globalStep < recipe.steps) await trainer.step();
      const weights = await t.exportModel(trainer);
      trainer.dispose();
      t.dispose();
      return { weights, records: log.records() };
    };
    const straight = await run();
    const resumed = await run(3);
    expect(Buffer.from(resumed.weights).equals(Buffer.from(straight.weights))).toBe(true);
    const train = straight.records.filter((r) => r.kind === 'train');
    expect(train.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Object.keys(train[0]!.terms as object)).toEqual(['RecipeTestL1']);
    // warmupCosine over the run's 6 steps with 2 warm-up steps: 0, lr/2, then the cosine.
    expect(train.map((r) => r.lr)).toEqual([0, 5e-4, 1e-3, 0.5e-3 * (1 + Math.cos(Math.PI / 4)), 0.5e-3, 0.5e-3 * (1 + Math.cos((3 * Math.PI) / 4))]);
    expect(resumed.records.filter((r) => r.kind === 'train').map((r) => r.loss)).toEqual(train.map((r) => r.loss));
    // The exported weights are the EMA weights (ema 0.9), with the model's own keys.
    expect(Object.keys(parseSafetensors(straight.weights).tensors).sort()).toEqual(['0.bias', '0.weight', '2.bias', '2.weight']);
  });

  it("a loss's trainable blocks train with the model (one checkpoint: net.* and loss.<term>.<property>.*) and are left out of the exported model", async () => {
    const recipe = resolveRecipe(
      tiny({
        loss: [{ type: 'RecipeTestL1' }, { type: 'RecipeTestEncoder', name: 'enc', weight: 0.5, trainable: ['encoder'], degraded: true }],
        ema: undefined,
      }),
    );
    const model = tinyNet(2);
    toDispose.push(model);
    const t = trainerOptionsFromRecipe(recipe, { model, images });
    const encoder = (t.loss.terms[1]!.object as unknown as TestEncoderLoss).encoder;
    const trainer = new Trainer(t.options);
    const w0 = Array.from(await encoder.getWeights()[0]!.data());
    await trainer.step(); // creates the optimizer's state
    const before = tf.memory().numTensors;
    await trainer.step();
    expect(tf.memory().numTensors).toBe(before);
    const w1 = Array.from(await encoder.getWeights()[0]!.data());
    expect(w1).not.toEqual(w0);
    expect(trainer.params.map((p) => p.name)).toEqual([
      'net.0.weight',
      'net.0.bias',
      'net.2.weight',
      'net.2.bias',
      'loss.enc.encoder.weight',
      'loss.enc.encoder.bias',
    ]);
    const ckpt = await trainer.saveCheckpoint();
    expect(Object.keys(parseSafetensors(ckpt.weights).tensors)).toContain('loss.enc.encoder.weight');
    const out = parseSafetensors(await t.exportModel(trainer)).tensors;
    expect(Object.keys(out).sort()).toEqual(['0.bias', '0.weight', '2.bias', '2.weight']);
    const w = Array.from(await model.getWeights()[0]!.data());
    expect(Array.from(out['0.weight']!.data).length).toBe(w.length);
    trainer.dispose();
    t.dispose();
    expect((t.loss.terms[1]!.object as unknown as TestEncoderLoss).disposed).toBe(true);
  });
});
