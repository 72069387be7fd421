/**
 * Training recipes as data: a `Recipe` is plain JSON (model, data layout, patches, degradation, labels, loss terms,
 * optimizer, schedule, clipping, EMA, steps, checkpoint/validation cadence, seed) that `resolveRecipe` validates
 * and `trainerOptionsFromRecipe` turns into `Trainer` options. `RECIPES` holds the project's recipes: `denoise` (the
 * shipped compact model, exactly as training/train-default.mjs trains it), `all-in-one` (FSDRNet on noise / rain /
 * haze / low light with routing labels) and `fsderain-finetune` (Restormer fine-tuned with FSDerain's objective).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  RegistryError,
  ShapeError,
  isBlock,
  losses,
  opt,
  parseSafetensors,
  resolveOptions,
  serializeSafetensors,
  suggestOption,
} from '@restorekit/core';
import {
  compose,
  gaussianBlur,
  gaussianNoise,
  poissonGaussianNoise,
  type Degradation,
  type DegradationLabel,
  type GaussianBlurOptions,
  type GaussianNoiseOptions,
  type PoissonGaussianOptions,
} from './degrade.js';
import { defocusBlur, motionBlur, type DefocusBlurOptions, type MotionBlurOptions } from './degrade-kernels.js';
import { jpegCompression, type JpegCompressionOptions } from './degrade-jpeg.js';
import { maybe, oneOf, shuffled } from './degrade-random.js';
import { haze, lowLight, rainStreaks, type HazeOptions, type LowLightOptions, type RainStreaksOptions } from './degrade-scene.js';
import type { LogSink } from './log.js';
import { createOptimizer, type AdamOptions, type Optimizer } from './optimizers.js';
import { PatchSampler, type ImagePair } from './sampler.js';
import { constantLR, cosineAnnealingRestartCyclicLR, cosineAnnealingRestartLR, warmupCosine, type Schedule } from './schedules.js';
import type { Batch, BatchSource, LossFunction, Trainer, TrainerOptions, TrainModel } from './trainer.js';

// ---------------------------------------------------------------------------------------------------------------
// Types

/** A component as JSON: `{ type: 'Name', ...options }`. */
export interface ComponentSpec {
  type: string;
  [option: string]: unknown;
}

/** A degradation as JSON: `{ type: 'gaussianNoise', sigma: 0.1 }`, `{ type: 'compose', steps: [...] }`, … (see `DEGRADATION_FACTORIES`). */
export type DegradationSpec = ComponentSpec;

/** The model to train: a family of @restorekit/models (`createModel(name, { preset, ...options })`) and its starting weights. */
export interface RecipeModel {
  name: string;
  preset?: string;
  /** Options overriding the preset's config. */
  options?: Record<string, unknown>;
  /** A weights file to start from (.pth, .ckpt or .safetensors; the CLI's `--weights`). */
  weights?: string;
  /** The recipe fine-tunes: starting without `weights` is an error. */
  requiresWeights?: boolean;
}

/** Where the images come from and how they are listed. */
export interface RecipeData {
  /** Folders of training images (the CLI's `--data`). With `paired`, each holds `gt/` and `lq/` (or `input/`). */
  train?: string[];
  /** Folders of validation images (the CLI's `--val`), degraded by `validation.degradation` unless `paired`. */
  val?: string[];
  /** Grey images for a colour model: 'replicate' (default, to RGB), 'skip' or 'error'. */
  gray?: 'replicate' | 'skip' | 'error';
  /** Times each image is listed per epoch: one number, or one for grey and one for colour images. */
  repeats?: number | { gray: number; color: number };
  augment?: {
    /** List each colour image in all 6 orders of its RGB channels (the shipped model's Kodak images). Default false. */
    channelPermutations?: boolean;
    /** BasicSR `use_hflip` (default true). */
    hflip?: boolean;
    /** BasicSR `use_rot`: vertical flips and transposes (default true). */
    rotation?: boolean;
  };
  /** Each folder holds pairs: `gt/<name>` and `lq/<name>` (or `input/<name>`), matched by file name without extension. */
  paired?: boolean;
}

/**
 * How degradation labels become `extra` tensors of the loss. `class`: the first degradation type of a patch's label
 * tree found in `map` gives its class (`classes.indexOf(map[type])`), an int32 [B] tensor (FSDRNet routing);
 * `sigma`: the σ of the patch's Gaussian noise (mean over channels, 0 without), a float32 [B] tensor.
 */
export type LabelSpec = { type: 'class'; classes: string[]; map: Record<string, string> } | { type: 'sigma' };

/**
 * One loss term: `type` is a loss of core's `losses` registry (@restorekit/losses registers its losses there when it
 * is imported), the other keys below are the term's, everything else goes to the loss's constructor.
 */
export interface LossTermSpec {
  type: string;
  /** Multiplies the term (default 1). */
  weight?: number;
  /** The term's name in logs (default: its type; `_2`, `_3`, … for repeats). */
  name?: string;
  /** Which output of a multi-output model it takes: an index (default 0) or a list of indices (e.g. FSDRNet's selector outputs [1, 2, 3]). */
  output?: number | number[];
  /** What it compares against: 'gt' (default) or the name of a `labels` entry. */
  target?: string;
  /** The loss also gets the degraded input as `inputs.degraded` (FSDerain's negative, DRCNet's Intra-CR). */
  degraded?: boolean;
  /** Weights of the loss itself (VGG-16 for a perceptual term), loaded with `loss.loadWeights` by the caller (the CLI reads the file). */
  weightsFile?: string;
  /** The term cannot run without `weightsFile`. */
  requiresWeights?: boolean;
  /** Properties of the loss object holding blocks trained together with the model (FSDerain's FrequencyEncoder: ['encoder']). */
  trainable?: string[];
  [option: string]: unknown;
}

export interface OptimizerSpec {
  type: 'AdamW' | 'Adam';
  lr: number;
  betas?: [number, number];
  weightDecay?: number;
  eps?: number;
  amsgrad?: boolean;
}

/** A schedule as JSON (see `SCHEDULE_FACTORIES`); its `lr` defaults to the optimizer's and `warmupCosine`'s `totalSteps` to the recipe's steps. */
export type ScheduleSpec = ComponentSpec;

export interface ValidationSpec {
  /** How validation images are degraded (image i with a generator seeded `seed + i`); not used with paired data. */
  degradation?: DegradationSpec;
  seed?: number;
  cropBorder?: number;
  testYChannel?: boolean;
  ssim?: boolean;
}

/** A training recipe: plain JSON. */
export interface Recipe {
  /** Set by `resolveRecipe` for the built-in recipes. */
  name?: string;
  description?: string;
  /** A built-in recipe this one changes (deep merge; objects of another `type` and lists replace). */
  extends?: string;
  model: RecipeModel;
  data?: RecipeData;
  /** Side of the square training patches. */
  patchSize: number;
  /** Patches per (micro-)batch. */
  batchSize: number;
  /** Micro-batches per optimizer step (gradient accumulation). Default 1. */
  accumulate?: number;
  /** Makes the input of each patch from its ground truth; required unless `data.paired`. */
  degradation?: DegradationSpec;
  /** Extra tensors made from the degradation labels, by name (a loss term's `target`). */
  labels?: Record<string, LabelSpec>;
  loss: LossTermSpec | LossTermSpec[];
  optimizer: OptimizerSpec;
  /** Default `{ type: 'constant' }`. */
  schedule?: ScheduleSpec;
  clipGradNorm?: number;
  ema?: number;
  /** Optimizer updates in all. */
  steps: number;
  checkpointEvery: number;
  validateEvery: number;
  validation?: ValidationSpec;
  /** Seed of the patch sampler (order, crops, flips, degradations). Default 0. */
  seed?: number;
  /** A log line every this many steps. Default 1. */
  logEvery?: number;
  /** Checkpoints kept on disk by the CLI (the newest ones; 0 keeps all). Default 2. */
  keepCheckpoints?: number;
  /**
   * Gradient checkpointing of the model's repeated units (the Trainer's `recompute`): much less memory for about 1.3×
   * the compute, the same training. Default false.
   */
  recompute?: boolean;
}

/** A recipe after `resolveRecipe`: every default filled in, `loss` a list, nothing unknown. */
export interface ResolvedRecipe {
  name: string;
  description: string;
  model: { name: string; preset?: string; options: Record<string, unknown>; weights?: string; requiresWeights: boolean };
  data: {
    train: string[];
    val: string[];
    gray: 'replicate' | 'skip' | 'error';
    repeats: { gray: number; color: number };
    augment: { channelPermutations: boolean; hflip: boolean; rotation: boolean };
    paired: boolean;
  };
  patchSize: number;
  batchSize: number;
  accumulate: number;
  degradation?: DegradationSpec;
  labels: Record<string, LabelSpec>;
  loss: (LossTermSpec & { weight: number; name: string; target: string; degraded: boolean; requiresWeights: boolean; trainable: string[] })[];
  optimizer: OptimizerSpec;
  schedule: ScheduleSpec;
  clipGradNorm?: number;
  ema?: number;
  steps: number;
  checkpointEvery: number;
  validateEvery: number;
  validation: { degradation?: DegradationSpec; seed: number; cropBorder: number; testYChannel: boolean; ssim: boolean };
  seed: number;
  logEvery: number;
  keepCheckpoints: number;
  recompute: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Registries

/** Builds a degradation from its JSON options; `build` builds nested specs (compose's steps, oneOf's choices). */
export type DegradationFactory = (options: Record<string, unknown>, build: (spec: DegradationSpec) => Degradation) => Degradation;

const specList = (what: string) =>
  opt.custom<DegradationSpec[]>(
    `a list of degradation specs { type, ...options }`,
    (v) =>
      (Array.isArray(v) && v.every((s) => s !== null && typeof s === 'object' && typeof (s as { type?: unknown }).type === 'string')) ||
      `every ${what} is { type, ...options }`,
  );

/**
 * The degradations a recipe can name, by `type`. Adding one is one line: `name: (o) => fn(o as FnOptions)`, or for
 * one that takes nested specs, `name: (o, build) => fn(...(o.choices as DegradationSpec[]).map(build))`.
 */
export const DEGRADATION_FACTORIES: Record<string, DegradationFactory> = {
  gaussianNoise: (o) => gaussianNoise(o as GaussianNoiseOptions),
  poissonGaussianNoise: (o) => poissonGaussianNoise(o as PoissonGaussianOptions),
  gaussianBlur: (o) => gaussianBlur(o as GaussianBlurOptions),
  compose: (o, build) => compose(...resolveOptions('compose', { steps: specList('step') }, o).steps.map(build)),
  defocusBlur: (o) => defocusBlur(o as DefocusBlurOptions),
  motionBlur: (o) => motionBlur(o as MotionBlurOptions),
  rain: (o) => rainStreaks(o as RainStreaksOptions),
  haze: (o) => haze(o as HazeOptions),
  lowLight: (o) => lowLight(o as LowLightOptions),
  jpegCompression: (o) => jpegCompression(o as JpegCompressionOptions),
  oneOf: (o, build) => {
    const r = resolveOptions(
      'oneOf',
      {
        choices: specList('choice'),
        weights: opt.optional(
          opt.custom<number[]>(
            'a list of numbers ≥ 0',
            (v) => (Array.isArray(v) && v.every((x) => typeof x === 'number' && x >= 0)) || 'weights are numbers ≥ 0',
          ),
        ),
      },
      o,
    );
    return oneOf(r.choices.map(build), r.weights ? { weights: r.weights } : {});
  },
  maybe: (o, build) => {
    const r = resolveOptions(
      'maybe',
      {
        probability: opt.number({ min: 0, max: 1 }),
        degradation: opt.custom<DegradationSpec>(
          'a degradation spec { type, ...options }',
          (v) => (v !== null && typeof v === 'object' && typeof (v as { type?: unknown }).type === 'string') || 'a spec is { type, ...options }',
        ),
      },
      o,
    );
    return maybe(r.probability, build(r.degradation));
  },
  shuffled: (o, build) => shuffled(...resolveOptions('shuffled', { steps: specList('step') }, o).steps.map(build)),
};

/** Builds a schedule from its JSON options; `lr` is the optimizer's and `steps` the recipe's. */
export type ScheduleFactory = (options: Record<string, unknown>, context: { lr: number; steps: number }) => Schedule;

/** The learning-rate schedules a recipe can name, by `type`. */
export const SCHEDULE_FACTORIES: Record<string, ScheduleFactory> = {
  constant: (o, { lr }) => constantLR(resolveOptions('constant', { lr: opt.number({ min: 0 }, lr) }, o).lr),
  warmupCosine: (o, { lr, steps }) => warmupCosine({ lr, totalSteps: steps, ...o } as never),
  cosineAnnealingRestartLR: (o, { lr }) => cosineAnnealingRestartLR({ lr, ...o } as never),
  cosineAnnealingRestartCyclicLR: (o, { lr }) => cosineAnnealingRestartCyclicLR({ lr, ...o } as never),
};

const has = (o: object, k: string) => Object.hasOwn(o, k);
const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkSpec(where: string, spec: unknown): asserts spec is ComponentSpec {
  if (!isPlainObject(spec) || typeof spec.type !== 'string')
    throw new ConfigError(`${where}: expected { type: 'Name', ...options }, got ${JSON.stringify(spec)?.slice(0, 120)}`);
}

/** Every `type` named in a degradation spec tree (nested specs are objects with a string `type` among the options). */
function degradationTypes(spec: unknown, out: string[] = []): string[] {
  if (Array.isArray(spec)) for (const s of spec) degradationTypes(s, out);
  else if (isPlainObject(spec)) {
    if (typeof spec.type === 'string' && !out.includes(spec.type)) out.push(spec.type);
    for (const [k, v] of Object.entries(spec)) if (k !== 'type') degradationTypes(v, out);
  }
  return out;
}

/**
 * A `Degradation` from its JSON spec through `DEGRADATION_FACTORIES`. Types that are not registered throw a
 * `RegistryError` naming every one of them; bad options throw the factory's `ConfigError`.
 */
export function degradationFromSpec(spec: DegradationSpec): Degradation {
  checkSpec('degradationFromSpec', spec);
  const missing = degradationTypes(spec).filter((t) => !has(DEGRADATION_FACTORIES, t));
  if (missing.length) {
    const known = Object.keys(DEGRADATION_FACTORIES);
    const hints = missing.map((t) => suggestOption(t, known)).filter((h): h is string => h !== null);
    throw new RegistryError(
      `degradation ${missing.length === 1 ? 'type' : 'types'} ${missing.map((t) => `'${t}'`).join(', ')} not registered${hints.length ? ` (did you mean ${hints.map((h) => `'${h}'`).join(', ')}?)` : ''} (DEGRADATION_FACTORIES: ${known.join(', ')})`,
    );
  }
  const build = (s: DegradationSpec): Degradation => {
    checkSpec('degradationFromSpec', s);
    const { type, ...options } = s;
    return DEGRADATION_FACTORIES[type]!(options, build);
  };
  return build(spec);
}

/** A `Schedule` from its JSON spec through `SCHEDULE_FACTORIES` (`lr`: the optimizer's; `steps`: the run's length). */
export function scheduleFromSpec(spec: ScheduleSpec, context: { lr: number; steps: number }): Schedule {
  checkSpec('scheduleFromSpec', spec);
  const { type, ...options } = spec;
  if (!has(SCHEDULE_FACTORIES, type)) {
    const known = Object.keys(SCHEDULE_FACTORIES);
    const hint = suggestOption(type, known);
    throw new RegistryError(`unknown schedule type '${type}'${hint ? ` (did you mean '${hint}'?)` : ''} (schedules: ${known.join(', ')})`);
  }
  return SCHEDULE_FACTORIES[type]!(options, context);
}

const OPTIMIZER_TYPES = ['AdamW', 'Adam'] as const;

/** An `AdamW` or `Adam` from `{ type, lr, betas, weightDecay, eps, amsgrad }`. */
export function optimizerFromSpec(spec: OptimizerSpec): Optimizer {
  checkSpec('optimizerFromSpec', spec);
  const { type, ...options } = spec;
  if (!(OPTIMIZER_TYPES as readonly string[]).includes(type)) {
    const hint = suggestOption(type, OPTIMIZER_TYPES);
    throw new RegistryError(`unknown optimizer type '${type}'${hint ? ` (did you mean '${hint}'?)` : ''} (optimizers: ${OPTIMIZER_TYPES.join(', ')})`);
  }
  return createOptimizer(type, options as AdamOptions);
}

// ---------------------------------------------------------------------------------------------------------------
// Losses

/** A loss object as the registry creates it (@restorekit/losses' `Loss`). */
export interface RecipeLossObject {
  call(pred: tf.Tensor | tf.Tensor[], target: tf.Tensor, inputs?: Record<string, tf.Tensor | undefined>): tf.Tensor;
  dispose?(): void;
  loadWeights?(src: Record<string, unknown> | ArrayBufferView | ArrayBuffer): Promise<unknown>;
}

export interface BuiltLossTerm {
  name: string;
  spec: ResolvedRecipe['loss'][number];
  /** The loss object (`losses.create({ type, ...options })`). */
  object: RecipeLossObject;
}

export interface BuiltLoss {
  /** The Trainer's loss: `{ <term name>: weight · term }`. */
  fn: LossFunction;
  terms: BuiltLossTerm[];
  /** Blocks of the loss objects trained with the model (`trainable`), by checkpoint prefix (`loss.<term>.<property>`). */
  modules: [string, Block][];
  /** Some term reads the degraded input (`extra.degraded`). */
  needsDegraded: boolean;
  dispose(): void;
}

const TERM = {
  type: opt.custom<string>('a loss type', (v) => (typeof v === 'string' && v.length > 0) || 'a non-empty string'),
  weight: opt.number({ min: 0 }, 1),
  name: opt.optional(opt.custom<string>('a name', (v) => (typeof v === 'string' && v.length > 0) || 'a non-empty string')),
  output: opt.optional(
    opt.custom<number | number[]>(
      'an output index or a non-empty list of them',
      (v) =>
        (Number.isInteger(v) && (v as number) >= 0) ||
        (Array.isArray(v) && v.length > 0 && v.every((i) => Number.isInteger(i) && i >= 0)) ||
        'indices are integers ≥ 0',
    ),
  ),
  target: opt.custom<string>("'gt' or a label name", (v) => (typeof v === 'string' && v.length > 0) || 'a non-empty string', 'gt'),
  degraded: opt.bool(false),
  weightsFile: opt.optional(opt.custom<string>('a file path', (v) => (typeof v === 'string' && v.length > 0) || 'a non-empty string')),
  requiresWeights: opt.bool(false),
  trainable: opt.custom<string[]>(
    'a list of property names',
    (v) => (Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length > 0)) || 'non-empty strings',
    [],
  ),
};
const TERM_KEYS = Object.keys(TERM);

function resolveTerm(where: string, raw: unknown): ResolvedRecipe['loss'][number] {
  if (!isPlainObject(raw)) throw new ConfigError(`${where}: a loss term is { type, weight?, ...options }, got ${JSON.stringify(raw)}`);
  const own = resolveOptions(
    where,
    TERM,
    raw,
    Object.keys(raw).filter((k) => !TERM_KEYS.includes(k)),
  );
  const options = Object.fromEntries(Object.entries(raw).filter(([k]) => !TERM_KEYS.includes(k)));
  const out: Record<string, unknown> = { ...options };
  for (const [k, v] of Object.entries(own)) if (v !== undefined) out[k] = v;
  return out as ResolvedRecipe['loss'][number];
}

/** The loss options of a term (its keys minus the term's own). */
const lossOptions = (term: LossTermSpec) => Object.fromEntries(Object.entries(term).filter(([k]) => !TERM_KEYS.includes(k)));

/**
 * The Trainer's loss from one or several loss terms: each term's object is created through core's `losses` registry
 * (import @restorekit/losses to fill it; an unknown type is a `RegistryError` listing the registered ones), picks its
 * output(s) of the model and its target ('gt' or a label tensor of `extra`), gets `{ degraded }` when asked, and is
 * multiplied by its weight. Terms are logged by name. `dispose()` releases the loss objects (VGG, encoders).
 */
export function lossFromSpec(spec: LossTermSpec | LossTermSpec[]): BuiltLoss {
  const list = Array.isArray(spec) ? spec : [spec];
  if (list.length === 0) throw new ConfigError('lossFromSpec: no loss terms');
  const resolved = list.map((t, i) => resolveTerm(list.length === 1 ? 'loss' : `loss[${i}]`, t));
  const names = new Map<string, number>();
  const terms: BuiltLossTerm[] = [];
  try {
    for (const [i, t] of resolved.entries()) {
      let name = t.name;
      if (name === undefined) {
        const n = (names.get(t.type) ?? 0) + 1;
        names.set(t.type, n);
        name = n === 1 ? t.type : `${t.type}_${n}`;
      }
      if (terms.some((x) => x.name === name)) throw new ConfigError(`loss[${i}]: two loss terms are named '${name}'`);
      const object = losses.create({ type: t.type, ...lossOptions(t) }) as RecipeLossObject;
      if (!object || typeof object.call !== 'function') throw new ConfigError(`loss[${i}]: '${t.type}' did not create a loss object (no call method)`);
      terms.push({ name, spec: { ...t, name }, object });
    }
    const modules: [string, Block][] = [];
    for (const t of terms)
      for (const prop of t.spec.trainable) {
        const m = (t.object as unknown as Record<string, unknown>)[prop];
        if (!isBlock(m)) throw new ConfigError(`loss term '${t.name}': trainable '${prop}' is not a block of ${t.spec.type}`);
        modules.push([`loss.${t.name}.${prop}`, m]);
      }
    const fn: LossFunction = (outputs, target, extra) =>
      tf.tidy(() => {
        const outs = Array.isArray(outputs) ? outputs : [outputs];
        const gt = Array.isArray(target) ? target[0]! : target;
        const r: Record<string, tf.Tensor> = {};
        for (const t of terms) {
          const pick = (i: number) => {
            if (i >= outs.length)
              throw new ShapeError(`loss term '${t.name}': output ${i}, but the model gives ${outs.length} output${outs.length === 1 ? '' : 's'}`);
            return outs[i]!;
          };
          const o = t.spec.output;
          const pred = o === undefined ? outs[0]! : Array.isArray(o) ? o.map(pick) : pick(o);
          let tgt = gt;
          if (t.spec.target !== 'gt') {
            const x = extra[t.spec.target];
            if (!x)
              throw new ConfigError(
                `loss term '${t.name}': target '${t.spec.target}' is not in the batch (extra: ${Object.keys(extra).join(', ') || 'none'}; define it in the recipe's labels)`,
              );
            tgt = x;
          }
          let inputs: Record<string, tf.Tensor | undefined> = {};
          if (t.spec.degraded) {
            if (!extra.degraded) throw new ConfigError(`loss term '${t.name}': needs the degraded input (extra.degraded), the batch has none`);
            inputs = { degraded: extra.degraded };
          }
          const v = t.object.call(pred, tgt, inputs);
          r[t.name] = t.spec.weight === 1 ? v : tf.mul(v, t.spec.weight);
        }
        return r;
      });
    return {
      fn,
      terms,
      modules,
      needsDegraded: terms.some((t) => t.spec.degraded),
      dispose: () => {
        for (const t of terms) t.object.dispose?.();
      },
    };
  } catch (e) {
    for (const t of terms) t.object.dispose?.();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Labels

function findLabel(label: unknown, accept: (type: string) => boolean): DegradationLabel | null {
  if (Array.isArray(label)) {
    for (const l of label) {
      const r = findLabel(l, accept);
      if (r) return r;
    }
    return null;
  }
  if (!isPlainObject(label)) return null;
  if (typeof label.type === 'string' && accept(label.type)) return label as DegradationLabel;
  for (const [k, v] of Object.entries(label)) {
    if (k === 'type') continue;
    const r = findLabel(v, accept);
    if (r) return r;
  }
  return null;
}

/**
 * The PatchSampler's `labels` function of a recipe's `labels`: degradation labels of a batch → `{ name: tensor }`
 * (see `LabelSpec`). A patch whose label holds none of a `class` entry's types is a `ConfigError` showing the label.
 */
export function labelsFromSpec(spec: Record<string, LabelSpec>): (labels: DegradationLabel[]) => Record<string, tf.Tensor> {
  const entries = Object.entries(spec).map(([name, s]) => [name, resolveLabel(`labels.${name}`, s)] as const);
  return (labels) => {
    const out: Record<string, tf.Tensor> = {};
    for (const [name, s] of entries) {
      if (s.type === 'class') {
        const idx = labels.map((l) => {
          const hit = findLabel(l, (t) => has(s.map, t));
          if (!hit)
            throw new ConfigError(
              `labels.${name}: a patch's degradation ${JSON.stringify(l).slice(0, 160)} has none of the mapped types (${Object.keys(s.map).join(', ')})`,
            );
          return s.classes.indexOf(s.map[hit.type]!);
        });
        out[name] = tf.tensor1d(idx, 'int32');
      } else {
        const sig = labels.map((l) => {
          const hit = findLabel(l, (t) => t === 'gaussianNoise');
          const v = hit?.sigma;
          const list = Array.isArray(v) ? (v as number[]) : typeof v === 'number' ? [v] : [];
          return list.length ? list.reduce((a, b) => a + b, 0) / list.length : 0;
        });
        out[name] = tf.tensor1d(sig, 'float32');
      }
    }
    return out;
  };
}

const LABEL_CLASS = {
  type: opt.custom<'class'>("'class'", (v) => v === 'class' || "'class'"),
  classes: opt.custom<string[]>(
    'a non-empty list of class names',
    (v) => (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string') && new Set(v).size === v.length) || 'distinct strings',
  ),
  map: opt.custom<Record<string, string>>(
    '{ degradationType: className }',
    (v) => (isPlainObject(v) && Object.keys(v).length > 0 && Object.values(v).every((s) => typeof s === 'string')) || 'a non-empty object of strings',
  ),
};

function resolveLabel(where: string, raw: unknown): LabelSpec {
  if (!isPlainObject(raw)) throw new ConfigError(`${where}: expected { type: 'class' | 'sigma', ... }, got ${JSON.stringify(raw)}`);
  if (raw.type === 'sigma') return resolveOptions(where, { type: opt.custom<'sigma'>("'sigma'", (v) => v === 'sigma' || "'sigma'") }, raw) as LabelSpec;
  if (raw.type !== 'class') throw new ConfigError(`${where}: unknown label type ${JSON.stringify(raw.type)} (label types: class, sigma)`);
  const r = resolveOptions(where, LABEL_CLASS, raw);
  for (const [deg, cls] of Object.entries(r.map))
    if (!r.classes.includes(cls)) throw new ConfigError(`${where}: map.${deg} is '${cls}', not one of the classes (${r.classes.join(', ')})`);
  return { type: 'class', classes: [...r.classes], map: { ...r.map } };
}

// ---------------------------------------------------------------------------------------------------------------
// The recipes

/** FSDRNet's routing classes (spec §3.4: S superposition, Mix scattering, I illumination, K kernel) for each degradation type. */
const FSDRNET_ROUTING: LabelSpec = {
  type: 'class',
  classes: ['S', 'Mix', 'I', 'K'],
  map: { gaussianNoise: 'S', poissonGaussianNoise: 'S', rain: 'S', haze: 'Mix', lowLight: 'I', gaussianBlur: 'K', defocusBlur: 'K', motionBlur: 'K' },
};

/**
 * The project's recipes. `denoise` is exactly what training/train-default.mjs trains (the shipped `compact:default`
 * weights): only the data folders are not part of it (`restorekit train denoise --data <bsd400> --data <kodak 1–20>
 * --val <kodak 21–24>`).
 */
export const RECIPES: Record<'denoise' | 'all-in-one' | 'fsderain-finetune', Recipe> = {
  denoise: {
    description:
      'The shipped compact:default blind colour Gaussian denoiser (σ ∈ [0, 50]), as training/train-default.mjs trains it: BSD400 (grey, replicated to RGB) + Kodak 1–20 (colour, all 6 channel orders, each listed 3×), 96² patches, Charbonnier, AdamW, BasicSR cosine restarts over 148k steps; validation on Kodak 21–24 at σ = 25',
    model: { name: 'compact', preset: 'default' },
    data: { gray: 'replicate', repeats: { gray: 1, color: 3 }, augment: { channelPermutations: true } },
    patchSize: 96,
    batchSize: 6,
    degradation: { type: 'gaussianNoise', sigma: [0, 50 / 255], range: true },
    loss: { type: 'CharbonnierLoss', eps: 1e-3 },
    optimizer: { type: 'AdamW', lr: 1e-3, betas: [0.9, 0.99], weightDecay: 1e-4 },
    schedule: { type: 'cosineAnnealingRestartLR', periods: [4000, 12000, 32000, 100000], restartWeights: [1, 0.8, 0.6, 0.4], etaMin: 1e-6, warmupIter: 500 },
    clipGradNorm: 0.5,
    ema: 0.999,
    steps: 148000,
    checkpointEvery: 2000,
    validateEvery: 2000,
    validation: { degradation: { type: 'gaussianNoise', sigma: 25 / 255 }, seed: 1234 },
    seed: 2024,
  },
  'all-in-one': {
    description:
      "FSDRNet (small preset; a labelled reconstruction, drcnet-lcdnet-fsdrnet.md §3.4) on one degradation per patch: Gaussian noise σ ∈ {15, 25, 50} (together as often as each other task), rain, haze or low light; L1 + 0.1·FFT + 0.01·routing cross-entropy (label smoothing 0.1) on the selector outputs, with routing labels S (noise, rain), Mix (haze), I (low light); IDR's protocol: 128² patches, Adam 1e-4, cyclic cosine restarts, no clipping. IDR's first phase of task-specific (hard) routing is not reproduced: the selector is trained by the cross-entropy from the start",
    model: { name: 'fsdrnet', preset: 'small' },
    data: { gray: 'replicate' },
    patchSize: 128,
    batchSize: 8,
    // One degradation per patch, each task a quarter of the time (the three noise levels share theirs): IDR's
    // per-task balance. Rain, haze and low-light ranges are those of light synthetic rain (Rain200L-like), outdoor
    // haze (β 0.5–3, airlight 0.7–1) and LOL-like exposures.
    degradation: {
      type: 'oneOf',
      choices: [
        { type: 'gaussianNoise', sigma: 15 / 255 },
        { type: 'gaussianNoise', sigma: 25 / 255 },
        { type: 'gaussianNoise', sigma: 50 / 255 },
        { type: 'rain', density: [0.002, 0.01], length: [10, 40], angle: [-30, 30], intensity: [0.5, 0.9] },
        { type: 'haze', beta: [0.5, 3], airlight: [0.7, 1] },
        { type: 'lowLight', gamma: [1.5, 3], scale: [0.05, 0.5], clip: true },
      ],
      weights: [1, 1, 1, 3, 3, 3],
    },
    labels: { routing: FSDRNET_ROUTING },
    loss: [
      { type: 'L1Loss', name: 'l_pix', output: 0 },
      { type: 'FFTLoss', name: 'l_fft', weight: 0.1, output: 0 },
      { type: 'RoutingCrossEntropyLoss', name: 'l_route', weight: 0.01, labelSmoothing: 0.1, output: [1, 2, 3], target: 'routing' },
    ],
    optimizer: { type: 'Adam', lr: 1e-4, betas: [0.9, 0.999], weightDecay: 0 },
    schedule: {
      type: 'cosineAnnealingRestartCyclicLR',
      periods: [92000, 88000, 172000, 128000],
      restartWeights: [1, 1, 0.5, 0.3],
      etaMins: [2e-5, 1e-6, 1e-6, 1e-6],
    },
    ema: 0.999,
    steps: 300000,
    checkpointEvery: 5000,
    validateEvery: 5000,
    validation: { degradation: { type: 'gaussianNoise', sigma: 25 / 255 }, seed: 1234 },
    seed: 2025,
  },
  'fsderain-finetune': {
    description:
      'FSDerain (Kallyelish/2025-DIP-PJ new-dual.py): a pretrained deraining Restormer (official preset; --weights deraining.pth) fine-tuned on paired rainy/clean images with 1·L1 + 0.5·(1 − SSIM) + 0.1·VGG-16 pool3 perceptual + 0.1·(0.1·triplet + InfoNCE on FrequencyEncoder features of masked FFT amplitudes) + 0.05·amplitude L1, the FrequencyEncoder trained with the restorer; Adam 2e-4, batch 8 of 64² patches (FSDerain resizes whole images to 64²), 10 epochs of 2,000 pairs; a constant lr (FSDerain halves it on validation plateaus). Needs the VGG-16 weights: set loss.weightsFile in a config.json',
    model: { name: 'restormer', preset: 'official', requiresWeights: true },
    data: { paired: true },
    patchSize: 64,
    batchSize: 8,
    loss: { type: 'FSDerainLoss', degraded: true, requiresWeights: true, trainable: ['encoder'] },
    optimizer: { type: 'Adam', lr: 2e-4, betas: [0.9, 0.999], weightDecay: 0 },
    schedule: { type: 'constant' },
    steps: 2500,
    checkpointEvery: 250,
    validateEvery: 250,
    seed: 2025,
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Resolving

const str = (what: string) => opt.custom<string>(what, (v) => typeof v === 'string' || 'a string');
const obj = <T>(what: string) => opt.custom<T>(what, (v) => isPlainObject(v) || 'an object');
const objDefault = <T>(what: string, d: T) => opt.custom<T>(what, (v) => isPlainObject(v) || 'an object', d);
const strings = (what: string) =>
  opt.custom<string[]>(what, (v) => (Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length > 0)) || 'a list of non-empty strings', []);

const TOP = {
  name: opt.optional(str('a name')),
  description: opt.optional(str('a description')),
  model: obj<RecipeModel>('{ name, preset?, options?, weights?, requiresWeights? }'),
  data: objDefault<RecipeData>('{ train?, val?, gray?, repeats?, augment?, paired? }', {}),
  patchSize: opt.posInt(),
  batchSize: opt.posInt(),
  accumulate: opt.posInt(1),
  degradation: opt.optional(obj<DegradationSpec>('a degradation spec { type, ...options }')),
  labels: objDefault<Record<string, LabelSpec>>('{ name: { type: "class" | "sigma", ... } }', {}),
  loss: opt.custom<LossTermSpec | LossTermSpec[]>(
    'a loss term { type, weight?, ...options } or a non-empty list of them',
    (v) => isPlainObject(v) || (Array.isArray(v) && v.length > 0) || 'an object or a non-empty list',
  ),
  optimizer: obj<OptimizerSpec>("{ type: 'AdamW' | 'Adam', lr, betas?, weightDecay?, eps?, amsgrad? }"),
  schedule: objDefault<ScheduleSpec>('a schedule spec { type, ...options }', { type: 'constant' }),
  clipGradNorm: opt.optional(opt.number({ min: 0, exclusiveMin: true })),
  ema: opt.optional(opt.number({ min: 0, max: 1 })),
  steps: opt.posInt(),
  checkpointEvery: opt.posInt(),
  validateEvery: opt.posInt(),
  validation: objDefault<ValidationSpec>('{ degradation?, seed?, cropBorder?, testYChannel?, ssim? }', {}),
  seed: opt.int({ min: 0 }, 0),
  logEvery: opt.posInt(1),
  keepCheckpoints: opt.int({ min: 0 }, 2),
  recompute: opt.bool(false),
};

const MODEL = {
  name: opt.custom<string>('a model family name', (v) => (typeof v === 'string' && v.length > 0) || 'a non-empty string'),
  preset: opt.optional(str('a preset name')),
  options: objDefault<Record<string, unknown>>('an object of model options', {}),
  weights: opt.optional(opt.custom<string>('a weights file', (v) => (typeof v === 'string' && v.length > 0) || 'a non-empty string')),
  requiresWeights: opt.bool(false),
};

const DATA = {
  train: strings('a list of folders'),
  val: strings('a list of folders'),
  gray: opt.enum(['replicate', 'skip', 'error'] as const, 'replicate'),
  repeats: opt.custom<number | { gray: number; color: number }>(
    'a positive integer or { gray, color } of them',
    (v) =>
      (Number.isInteger(v) && (v as number) >= 1) ||
      (isPlainObject(v) &&
        Object.keys(v).every((k) => k === 'gray' || k === 'color') &&
        ['gray', 'color'].every((k) => Number.isInteger(v[k]) && (v[k] as number) >= 1)) ||
      'repeats are integers ≥ 1 ({ gray, color } has exactly those two keys)',
    1,
  ),
  augment: objDefault<NonNullable<RecipeData['augment']>>('{ channelPermutations?, hflip?, rotation? }', {}),
  paired: opt.bool(false),
};

const AUGMENT = { channelPermutations: opt.bool(false), hflip: opt.bool(true), rotation: opt.bool(true) };

const OPTIMIZER_TYPE = {
  type: opt.custom<'AdamW' | 'Adam'>("'AdamW' or 'Adam'", (v) => (OPTIMIZER_TYPES as readonly unknown[]).includes(v) || "'AdamW' or 'Adam'"),
  lr: opt.number({ min: 0 }),
};

const VALIDATION = {
  degradation: opt.optional(obj<DegradationSpec>('a degradation spec { type, ...options }')),
  seed: opt.int({ min: 0 }, 0),
  cropBorder: opt.int({ min: 0 }, 0),
  testYChannel: opt.bool(false),
  ssim: opt.bool(true),
};

/** A deep copy of JSON data (recipes are data: nothing is shared with RECIPES or the caller). */
const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

/**
 * Merges `over` into `base`: objects key by key, except that a component (`{ type }`) of another type replaces the
 * base's; lists and values replace; `undefined` leaves the base's value.
 */
export function mergeRecipe<T>(base: T, over: unknown): T {
  if (over === undefined) return clone(base);
  if (!isPlainObject(base) || !isPlainObject(over)) return clone(over) as T;
  if (typeof over.type === 'string' && over.type !== base.type) return clone(over) as T;
  const out: Record<string, unknown> = clone(base) as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) if (v !== undefined) out[k] = mergeRecipe(out[k], v);
  return out as T;
}

/** Deep-partial overrides of a recipe (what the CLI's flags change). */
export type RecipeOverrides = { [K in keyof Recipe]?: Recipe[K] extends object ? Partial<Recipe[K]> | Recipe[K] : Recipe[K] };

function builtIn(name: string): Recipe {
  if (!has(RECIPES, name)) {
    const known = Object.keys(RECIPES);
    const hint = suggestOption(name, known);
    throw new RegistryError(`unknown recipe '${name}'${hint ? ` (did you mean '${hint}'?)` : ''} (recipes: ${known.join(', ')})`);
  }
  return clone(RECIPES[name as keyof typeof RECIPES]);
}

/** Runs `fn`, prefixing a ConfigError's message with `where` (the recipe and the key). */
function within<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigError && !e.message.startsWith(where)) throw new ConfigError(`${where}: ${e.message}`);
    if (e instanceof RegistryError && !e.message.startsWith(where)) throw new RegistryError(`${where}: ${e.message}`);
    throw e;
  }
}

/**
 * Validates a recipe and fills its defaults: `nameOrObject` is the name of a built-in recipe (`RECIPES`; an unknown
 * name is a `RegistryError` listing them) or a recipe object (with `extends: '<name>'` it changes that one);
 * `overrides` are merged over it (see `mergeRecipe`). Unknown keys anywhere, bad values, unregistered degradation,
 * schedule or optimizer types, a schedule that ends before `steps`, loss terms whose `target` is no label: each a
 * typed error (`ConfigError`, `RegistryError`) naming the recipe and the key. Loss types and their options are
 * checked by `lossFromSpec` (the losses live in core's `losses` registry, filled by importing @restorekit/losses).
 */
export function resolveRecipe(nameOrObject: string | Recipe, overrides?: RecipeOverrides): ResolvedRecipe {
  let raw: Record<string, unknown>;
  let label: string;
  if (typeof nameOrObject === 'string') {
    raw = { ...builtIn(nameOrObject), name: nameOrObject };
    label = nameOrObject;
  } else {
    if (!isPlainObject(nameOrObject)) throw new ConfigError(`resolveRecipe: a recipe is a name or an object, got ${JSON.stringify(nameOrObject)}`);
    const { extends: ext, ...rest } = nameOrObject as Recipe & Record<string, unknown>;
    if (ext !== undefined && typeof ext !== 'string')
      throw new ConfigError(`recipe: extends must be the name of a recipe (${Object.keys(RECIPES).join(', ')})`);
    raw = ext === undefined ? clone(rest) : mergeRecipe(builtIn(ext) as unknown as Record<string, unknown>, rest);
    label = typeof raw.name === 'string' ? raw.name : ext !== undefined ? `${ext} (changed)` : 'custom';
  }
  if (overrides !== undefined) {
    if (!isPlainObject(overrides)) throw new ConfigError(`resolveRecipe: overrides must be an object, got ${JSON.stringify(overrides)}`);
    raw = mergeRecipe(raw, overrides);
  }
  const at = (key: string) => `recipe '${label}' ${key}`;
  const top = within(`recipe '${label}'`, () => resolveOptions(`recipe '${label}'`, TOP, raw));

  const model = within(at('model'), () => resolveOptions(at('model'), MODEL, top.model));
  const data = within(at('data'), () => resolveOptions(at('data'), DATA, top.data));
  const augment = within(at('data.augment'), () => resolveOptions(at('data.augment'), AUGMENT, data.augment));
  const repeats = typeof data.repeats === 'number' ? { gray: data.repeats, color: data.repeats } : { ...data.repeats };

  if (top.degradation === undefined && !data.paired)
    throw new ConfigError(`${at('degradation')}: required unless data.paired (the inputs are made from the ground truths by the degradation)`);
  if (top.degradation !== undefined) within(at('degradation'), () => degradationFromSpec(top.degradation!));

  const labels: Record<string, LabelSpec> = {};
  for (const [k, v] of Object.entries(top.labels)) labels[k] = resolveLabel(at(`labels.${k}`), v);
  if (Object.keys(labels).length && top.degradation === undefined)
    throw new ConfigError(`${at('labels')}: labels come from the degradation, and this recipe has none (paired data)`);
  if (has(labels, 'degraded')) throw new ConfigError(`${at('labels.degraded')}: 'degraded' is reserved for the degraded input`);

  const lossList = Array.isArray(top.loss) ? top.loss : [top.loss];
  const loss = lossList.map((t, i) =>
    within(at(lossList.length === 1 ? 'loss' : `loss[${i}]`), () => resolveTerm(at(lossList.length === 1 ? 'loss' : `loss[${i}]`), t)),
  );
  loss.forEach((t, i) => {
    if (t.target !== 'gt' && !has(labels, t.target))
      throw new ConfigError(
        `${at(lossList.length === 1 ? 'loss' : `loss[${i}]`)}: target '${t.target}' is neither 'gt' nor a label (labels: ${Object.keys(labels).join(', ') || 'none'})`,
      );
  });
  const named = new Set<string>();
  const counts = new Map<string, number>();
  for (const t of loss) {
    const n = (counts.get(t.type) ?? 0) + 1;
    counts.set(t.type, n);
    const name = t.name ?? (n === 1 ? t.type : `${t.type}_${n}`);
    if (named.has(name)) throw new ConfigError(`${at('loss')}: two loss terms are named '${name}'`);
    named.add(name);
    t.name = name;
  }

  const optHead = within(at('optimizer'), () =>
    resolveOptions(
      at('optimizer'),
      OPTIMIZER_TYPE,
      top.optimizer,
      Object.keys(top.optimizer).filter((k) => k !== 'type' && k !== 'lr'),
    ),
  );
  within(at('optimizer'), () => optimizerFromSpec(top.optimizer).dispose());
  const schedule = within(at('schedule'), () => scheduleFromSpec(top.schedule, { lr: optHead.lr, steps: top.steps }));
  within(at('schedule'), () => {
    try {
      schedule(top.steps - 1);
    } catch (e) {
      throw new ConfigError(`ends before the last step (${top.steps}): ${(e as Error).message}`);
    }
  });

  const validation = within(at('validation'), () => resolveOptions(at('validation'), VALIDATION, top.validation));
  if (validation.degradation !== undefined) within(at('validation.degradation'), () => degradationFromSpec(validation.degradation!));

  const r: ResolvedRecipe = {
    name: label,
    description: top.description ?? '',
    model: {
      name: model.name,
      ...(model.preset !== undefined ? { preset: model.preset } : {}),
      options: clone(model.options),
      ...(model.weights !== undefined ? { weights: model.weights } : {}),
      requiresWeights: model.requiresWeights,
    },
    data: { train: [...data.train], val: [...data.val], gray: data.gray, repeats, augment: { ...augment }, paired: data.paired },
    patchSize: top.patchSize,
    batchSize: top.batchSize,
    accumulate: top.accumulate,
    ...(top.degradation !== undefined ? { degradation: clone(top.degradation) } : {}),
    labels,
    loss: clone(loss),
    optimizer: clone(top.optimizer),
    schedule: clone(top.schedule),
    ...(top.clipGradNorm !== undefined ? { clipGradNorm: top.clipGradNorm } : {}),
    ...(top.ema !== undefined && top.ema !== 0 ? { ema: top.ema } : {}),
    steps: top.steps,
    checkpointEvery: top.checkpointEvery,
    validateEvery: top.validateEvery,
    validation: {
      ...(validation.degradation !== undefined ? { degradation: clone(validation.degradation) } : {}),
      seed: validation.seed,
      cropBorder: validation.cropBorder,
      testYChannel: validation.testYChannel,
      ssim: validation.ssim,
    },
    seed: top.seed,
    logEvery: top.logEvery,
    keepCheckpoints: top.keepCheckpoints,
    recompute: top.recompute,
  };
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// From a recipe to Trainer options

/** The batch source of a recipe: its PatchSampler, plus `extra.degraded` (a copy of the input) when a loss term asks. */
export class RecipeBatchSource implements BatchSource {
  constructor(
    readonly sampler: PatchSampler,
    readonly degraded: boolean,
  ) {}
  next(): Batch {
    const b = this.sampler.next();
    if (this.degraded) b.extra = { ...(b.extra ?? {}), degraded: tf.clone(b.input as tf.Tensor) };
    return b;
  }
  getState(): unknown {
    return this.sampler.getState();
  }
  setState(state: unknown): void {
    this.sampler.setState(state);
  }
}

/**
 * The model and the loss's trainable blocks as one block for the Trainer (one optimizer, one EMA, one checkpoint):
 * PyTorch keys `net.<model key>` and `loss.<term>.<property>.<key>`. The forward pass is the model's.
 */
class WithLossModules extends Block {
  static className = 'restorekit>RecipeTrainModel';
  constructor(
    readonly net: Block,
    modules: [string, Block][],
  ) {
    super({});
    this.addChild('net', net);
    for (const [k, m] of modules) {
      this.addChild(k, m);
      m.torchParameters();
    }
    net.torchParameters();
    this.built = true;
  }
  forward(x: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor | tf.Tensor[] {
    return this.net.call(x, { training }) as tf.Tensor | tf.Tensor[];
  }
  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return this.net.computeOutputShape(s);
  }
}

export interface RecipeTraining {
  /** For `new Trainer(options)` or `Trainer.resume(checkpoint, options)`. */
  options: TrainerOptions & { optimizer: Optimizer; data: RecipeBatchSource };
  loss: BuiltLoss;
  /**
   * The final weights as safetensors bytes with the model's PyTorch keys: the EMA weights when the recipe has EMA,
   * else the trained ones; a loss's trainable blocks are left out.
   */
  exportModel(trainer: Trainer): Promise<Uint8Array>;
  /** Releases the loss objects (the caller's model is left alone). */
  dispose(): void;
}

/**
 * Trainer options from a resolved recipe, a model (e.g. `createModel(recipe.model.name, …)`) and the training
 * images (host images in [0, 1], with `lq` for paired data): a PatchSampler with the recipe's patches, seed, flips,
 * degradation and labels, the loss terms, optimizer, schedule, clipping, EMA, accumulation and log cadence.
 */
export function trainerOptionsFromRecipe(recipe: ResolvedRecipe, parts: { model: TrainModel; images: ImagePair[]; log?: LogSink }): RecipeTraining {
  const loss = lossFromSpec(recipe.loss);
  try {
    const labels = Object.keys(recipe.labels).length ? labelsFromSpec(recipe.labels) : undefined;
    const sampler = new PatchSampler({
      images: parts.images,
      patchSize: recipe.patchSize,
      batchSize: recipe.batchSize,
      seed: recipe.seed,
      hflip: recipe.data.augment.hflip,
      rotation: recipe.data.augment.rotation,
      ...(recipe.degradation ? { degrade: degradationFromSpec(recipe.degradation) } : {}),
      ...(labels ? { labels } : {}),
    });
    const data = new RecipeBatchSource(sampler, loss.needsDegraded);
    let model = parts.model;
    if (loss.modules.length) {
      if (!isBlock(model)) throw new ConfigError('trainerOptionsFromRecipe: a loss with trainable blocks needs a restorekit Block model');
      model = new WithLossModules(model, loss.modules);
    }
    const optimizer = optimizerFromSpec(recipe.optimizer);
    const options = {
      model,
      loss: loss.fn,
      optimizer,
      schedule: scheduleFromSpec(recipe.schedule, { lr: recipe.optimizer.lr, steps: recipe.steps }),
      ...(recipe.clipGradNorm !== undefined ? { clipGradNorm: recipe.clipGradNorm } : {}),
      ...(recipe.ema !== undefined ? { ema: recipe.ema } : {}),
      accumulate: recipe.accumulate,
      data,
      ...(parts.log ? { log: parts.log } : {}),
      logEvery: recipe.logEvery,
      ...(recipe.recompute ? { recompute: true } : {}),
    };
    const wrapped = model !== parts.model;
    return {
      options,
      loss,
      async exportModel(trainer) {
        const bytes = await trainer.exportWeights({ ema: trainer.ema !== null });
        if (!wrapped) return bytes;
        const f = parseSafetensors(bytes, 'trained weights');
        const own = Object.fromEntries(
          Object.entries(f.tensors)
            .filter(([k]) => k.startsWith('net.'))
            .map(([k, t]) => [k.slice(4), { shape: t.shape, data: t.data }]),
        );
        return serializeSafetensors(own, { format: 'pt' });
      },
      dispose: () => loss.dispose(),
    };
  } catch (e) {
    loss.dispose();
    throw e;
  }
}
