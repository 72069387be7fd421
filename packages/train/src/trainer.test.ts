import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BackendError, BatchNorm2d, Block, Conv2d, ConfigError, ShapeError, parseSafetensors } from '@restorekit/core';
import { psnr } from '@restorekit/metrics';
import { memorySink } from './log.js';
import { AdamW, type Optimizer, type OptimizerStateDict } from './optimizers.js';
import type { NamedParam } from './params.js';
import { cosineAnnealingRestartLR } from './schedules.js';
import { NoisyBatches, TwoHeads, l1, tinyNet, weightsOf } from './test-helpers.js';
import { Trainer, wasmHeapGuard, type Batch } from './trainer.js';

/** Plain SGD that keeps copies of the gradients it was given (a pluggable Optimizer, and a window on what the Trainer computes). */
class RecordingSGD implements Optimizer {
  readonly type = 'SGD';
  lr = 0.1;
  private kept: tf.Tensor[][] = [];
  lrs: number[] = [];
  step(params: readonly NamedParam[], grads: readonly (tf.Tensor | null | undefined)[], lr = this.lr): void {
    this.lrs.push(lr);
    this.kept.push(grads.map((g) => (g ? tf.clone(g) : tf.zeros([0]))));
    params.forEach((p, i) => {
      const g = grads[i];
      if (g) p.variable.assign(tf.tidy(() => tf.sub(p.variable, tf.mul(g, lr))));
    });
  }
  /** The gradients of the i-th step, read back asynchronously (every backend, webgpu included). */
  async seen(i: number): Promise<Float32Array[]> {
    return Promise.all(this.kept[i]!.map(async (t) => (await t.data()) as Float32Array));
  }
  async stateDict(): Promise<OptimizerStateDict> {
    return { type: 'AdamW', options: new AdamW().options, state: {} };
  }
  loadStateDict(): void {}
  dispose(): void {
    tf.dispose(this.kept.flat());
    this.kept = [];
  }
}

/** A repeated unit (`static recomputeUnit`): x + conv(relu(BatchNorm(conv(x)))); with `spare`, a conv it never runs. */
class ResUnit extends Block {
  static className = 'restorekit>TrainerTestResUnit';
  static override recomputeUnit = true;
  readonly c1: Conv2d;
  readonly bn: BatchNorm2d;
  readonly c2: Conv2d;
  readonly spare: Conv2d | null;
  constructor(seed: number, spare: boolean) {
    super({});
    this.c1 = this.addChild('c1', new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1, seed }));
    this.bn = this.addChild('bn', new BatchNorm2d({ channels: 4 }));
    this.c2 = this.addChild('c2', new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1, seed: seed + 1 }));
    this.spare = spare ? this.addChild('spare', new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 1, seed: seed + 2 })) : null;
  }
  override build(s: tfl.Shape): void {
    for (const c of [this.c1, this.bn, this.c2, this.spare]) if (c) this.buildChild(c, s);
    this.built = true;
  }
  protected override expectedChannels() {
    return [4];
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const h = tf.relu(this.run(this.bn, this.run(this.c1, x, training), training));
    return tf.add(x, this.run(this.c2, h, training));
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}

/** Conv(3→4) → two ResUnits (the second with an unused conv) → Conv(4→3), plus the input. */
class UnitNet extends Block {
  static className = 'restorekit>TrainerTestUnitNet';
  readonly parts: tfl.layers.Layer[];
  constructor() {
    super({});
    this.parts = [
      new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, seed: 1 }),
      new ResUnit(10, false),
      new ResUnit(20, true),
      new Conv2d({ inChannels: 4, outChannels: 3, kernelSize: 3, padding: 1, seed: 2 }),
    ].map((l, i) => this.addChild(`body.${i}`, l));
  }
  override build(s: tfl.Shape): void {
    this.buildChild(this.parts[0]!, s);
    for (const p of this.parts.slice(1)) this.buildChild(p, [s[0]!, s[1]!, s[2]!, 4]);
    this.built = true;
  }
  protected override expectedChannels() {
    return [3];
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    return tf.add(
      x,
      this.parts.reduce((h, p) => this.run(p, h, training), x),
    );
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}

const norm = (gs: Float32Array[]) => Math.sqrt(gs.reduce((a, g) => a + g.reduce((s, x) => s + x * x, 0), 0));

describe('Trainer', () => {
  it('trains a tiny restorekit net: 40 AdamW steps reduce the L1 loss; step reports lr, loss, grad norm, time', async () => {
    const net = tinyNet(1);
    const data = new NoisyBatches(7);
    const batch = data.next();
    const trainer = new Trainer({ model: net, loss: l1, optimizer: new AdamW({ lr: 1e-2, weightDecay: 0 }) });
    const first = await trainer.step(batch);
    expect(first.step).toBe(1);
    expect(first.lr).toBe(1e-2);
    expect(Object.keys(first.terms)).toEqual(['loss']);
    expect(first.gradNorm).toBeGreaterThan(0);
    expect(first.stepMs).toBeGreaterThan(0);
    let last = first;
    for (let i = 0; i < 39; i++) last = await trainer.step(batch);
    expect(last.step).toBe(40);
    expect(last.loss).toBeLessThan(0.5 * first.loss);
    expect(trainer.globalStep).toBe(40);
    tf.dispose([batch.input as tf.Tensor, batch.target as tf.Tensor]);
    trainer.dispose();
    net.dispose();
  });

  it("reported loss and grad norm are the loss's value and the global L2 norm of its gradients", async () => {
    const net = tinyNet(2);
    const sgd = new RecordingSGD();
    const batch = new NoisyBatches(3).next();
    const trainer = new Trainer({ model: net, loss: l1, optimizer: sgd });
    const expectedLoss = (await tf.tidy(() => l1(net.apply(batch.input as tf.Tensor) as tf.Tensor, batch.target)).data())[0]!;
    const r = await trainer.step(batch);
    expect(Math.abs(r.loss - expectedLoss)).toBeLessThan(1e-6);
    const g = await sgd.seen(0);
    expect(Math.abs(r.gradNorm - norm(g)) / r.gradNorm).toBeLessThan(1e-5);
    expect(g.length).toBe(4); // 0.weight, 0.bias, 2.weight, 2.bias
    sgd.dispose();
    tf.dispose([batch.input as tf.Tensor, batch.target as tf.Tensor]);
    net.dispose();
  });

  it('the schedule sets the lr of each step from the step count', async () => {
    const net = tinyNet(2);
    const sgd = new RecordingSGD();
    const schedule = cosineAnnealingRestartLR({ lr: 0.02, periods: [4, 4], restartWeights: [1, 0.5] });
    const trainer = new Trainer({ model: net, loss: l1, optimizer: sgd, schedule, data: new NoisyBatches(1) });
    const lrs: number[] = [];
    for (let i = 0; i < 6; i++) lrs.push((await trainer.step()).lr);
    expect(lrs).toEqual([0, 1, 2, 3, 4, 5].map(schedule));
    expect(sgd.lrs).toEqual(lrs);
    expect(trainer.lr).toBe(schedule(6));
    sgd.dispose();
    net.dispose();
  });

  it('clipGradNorm: the optimizer gets gradients of norm maxNorm, the step reports the norm before clipping', async () => {
    const net = tinyNet(4);
    const sgd = new RecordingSGD();
    const trainer = new Trainer({ model: net, loss: l1, optimizer: sgd, clipGradNorm: 0.01, data: new NoisyBatches(2) });
    const r = await trainer.step();
    expect(r.gradNorm).toBeGreaterThan(0.01);
    const clipped = norm(await sgd.seen(0));
    expect(Math.abs(clipped - (0.01 * r.gradNorm) / (r.gradNorm + 1e-6))).toBeLessThan(1e-7);
    sgd.dispose();
    net.dispose();
  });

  it('gradient accumulation: k micro-batches give the gradient of the whole batch (averaged, not summed)', async () => {
    const full = new NoisyBatches(9, 4).next();
    const run = async (accumulate: number, batch: Batch | Batch[]) => {
      const net = tinyNet(6);
      const sgd = new RecordingSGD();
      const trainer = new Trainer({ model: net, loss: l1, optimizer: sgd, accumulate });
      const r = await trainer.step(batch);
      const grads = await sgd.seen(0);
      sgd.dispose();
      net.dispose();
      return { r, grads };
    };
    const one = await run(1, full);
    const split = await run(2, full);
    // Two explicit micro-batches of two images each.
    const halves = [0, 2].map((o) => ({ input: tf.slice(full.input as tf.Tensor, o, 2), target: tf.slice(full.target as tf.Tensor, o, 2) }));
    const listed = await run(2, halves);
    for (const other of [split, listed]) {
      expect(Math.abs(other.r.loss - one.r.loss)).toBeLessThan(1e-6);
      expect(Math.abs(other.r.gradNorm - one.r.gradNorm) / one.r.gradNorm).toBeLessThan(1e-5);
      other.grads.forEach((g, i) => {
        g.forEach((x, j) => {
          expect(Math.abs(x - one.grads[i]![j]!)).toBeLessThan(1e-6);
        });
      });
    }
    const net = tinyNet(6);
    const t3 = new Trainer({ model: net, loss: l1, optimizer: new AdamW(), accumulate: 3 });
    await expect(t3.step(full)).rejects.toThrow(ShapeError);
    await expect(t3.step(halves)).rejects.toThrow(/got 2 micro-batches, accumulate is 3/);
    tf.dispose([full.input as tf.Tensor, full.target as tf.Tensor, ...halves.flatMap((h) => [h.input, h.target])]);
    net.dispose();
  });

  it('multiple outputs and a loss (outputs, target, extra) with named terms; loss objects with call(pred, target, inputs)', async () => {
    const model = new TwoHeads(3);
    const data = new NoisyBatches(4);
    const b = data.next();
    const label = tf.tensor4d(new Float32Array(2 * 8 * 8).fill(0.25), [2, 8, 8, 1]);
    const loss = (outs: tf.Tensor | tf.Tensor[], target: tf.Tensor | tf.Tensor[], extra: Record<string, tf.Tensor>) => {
      const [img, aux] = outs as tf.Tensor[];
      return { l_pix: tf.mean(tf.abs(tf.sub(img!, target as tf.Tensor))), l_aux: tf.mul(tf.mean(tf.square(tf.sub(aux!, extra.label!))), 0.5) };
    };
    // The terms before the update, computed directly.
    const [img0, aux0] = model.apply(b.input as tf.Tensor) as tf.Tensor[];
    const want = tf.tidy(() => loss([img0!, aux0!], b.target, { label }));
    const wantPix = (await want.l_pix.data())[0]!;
    const wantAux = (await want.l_aux.data())[0]!;
    tf.dispose([img0!, aux0!, want.l_pix, want.l_aux]);
    const trainer = new Trainer({ model, loss, optimizer: new AdamW({ lr: 1e-3 }) });
    const r = await trainer.step({ ...b, extra: { label } });
    expect(Object.keys(r.terms).sort()).toEqual(['l_aux', 'l_pix']);
    expect(Math.abs(r.terms.l_pix! - wantPix)).toBeLessThan(1e-6);
    expect(Math.abs(r.terms.l_aux! - wantAux)).toBeLessThan(1e-6);
    expect(Math.abs(r.loss - (wantPix + wantAux))).toBeLessThan(1e-6);
    trainer.dispose();

    // A restorekit-style loss object: loss.call(pred, target, inputs), inputs = extra (here a spatial weight).
    const weighted = {
      call: (pred: tf.Tensor | tf.Tensor[], target: tf.Tensor, inputs?: Record<string, tf.Tensor | undefined>) =>
        tf.mean(tf.mul(tf.abs(tf.sub((pred as tf.Tensor[])[0]!, target)), inputs!.weight!)),
    };
    const zeroWeight = tf.zeros([2, 8, 8, 1]);
    const oneWeight = tf.ones([2, 8, 8, 1]);
    const t2 = new Trainer({ model, loss: { l_w: weighted }, optimizer: new RecordingSGD() });
    const rw = await t2.step({ ...b, extra: { weight: oneWeight } });
    expect(Object.keys(rw.terms)).toEqual(['l_w']);
    expect(rw.loss).toBeGreaterThan(0);
    // With weight 0 everywhere the numerator is 0: the loss is 0 and no parameter moves.
    const r0 = await t2.step({ ...b, extra: { weight: zeroWeight } });
    expect(r0.loss).toBe(0);
    expect(r0.gradNorm).toBe(0);
    t2.dispose();
    tf.dispose([b.input as tf.Tensor, b.target as tf.Tensor, label, zeroWeight, oneWeight]);
    model.dispose();
  });

  it('writes one JSONL line per step (every logEvery steps) and one per validation', async () => {
    const net = tinyNet(8);
    const sink = memorySink();
    const trainer = new Trainer({ model: net, loss: l1, data: new NoisyBatches(5), log: sink, logEvery: 2 });
    for (let i = 0; i < 5; i++) await trainer.step();
    const recs = sink.records();
    expect(recs.map((r) => r.step)).toEqual([2, 4]);
    expect(recs[0]).toMatchObject({ kind: 'train', step: 2, lr: 1e-3 });
    expect(Object.keys(recs[0]!).sort()).toEqual(['gradNorm', 'kind', 'loss', 'lr', 'step', 'stepMs', 'terms']);
    const v = new NoisyBatches(11, 2, 16).next();
    await trainer.validate([{ input: v.input as tf.Tensor, target: v.target as tf.Tensor }]);
    expect(sink.records()[2]).toMatchObject({ kind: 'validation', step: 5, count: 2, ema: false });
    expect(sink.lines.every((l) => !l.includes('\n'))).toBe(true);
    tf.dispose([v.input as tf.Tensor, v.target as tf.Tensor]);
    trainer.dispose();
    net.dispose();
  });

  it('validate: BasicSR PSNR/SSIM of the outputs, on the EMA weights when EMA is on; the trained weights are untouched', async () => {
    const net = tinyNet(9);
    const trainer = new Trainer({ model: net, loss: l1, optimizer: new AdamW({ lr: 5e-3 }), ema: 0.9, data: new NoisyBatches(6) });
    for (let i = 0; i < 5; i++) await trainer.step();
    const v = new NoisyBatches(12, 2, 16).next();
    const pairs = [{ input: v.input as tf.Tensor, target: v.target as tf.Tensor }];
    const before = Array.from(await trainer.params[0]!.variable.data());
    const withEma = await trainer.validate(pairs);
    const live = await trainer.validate(pairs, { useEma: false, ssim: false });
    expect(Array.from(await trainer.params[0]!.variable.data())).toEqual(before);
    expect(withEma.ema).toBe(true);
    expect(live.ema).toBe(false);
    expect(Number.isNaN(live.ssim)).toBe(true);
    // Reference: the metrics package on the clamped outputs, live weights and EMA weights.
    const direct = async () => {
      const y = tf.tidy(() => tf.clipByValue(net.apply(v.input as tf.Tensor) as tf.Tensor, 0, 1));
      const p = await psnr(y, v.target as tf.Tensor);
      y.dispose();
      return p;
    };
    const pLive = await direct();
    const pEma = await trainer.ema!.withWeights(direct);
    expect(live.perImage.psnr).toEqual(pLive);
    expect(withEma.perImage.psnr).toEqual(pEma);
    expect(withEma.psnr).toBeCloseTo((pEma[0]! + pEma[1]!) / 2, 10);
    expect(withEma.psnr).not.toBe(live.psnr);
    expect(withEma.ssim).toBeGreaterThan(0);
    expect(withEma.ssim).toBeLessThanOrEqual(1);
    tf.dispose([v.input as tf.Tensor, v.target as tf.Tensor]);
    trainer.dispose();
    net.dispose();
  });

  it('memory stays flat: numTensors constant over 200 steps (EMA, clipping, accumulation, log, data source)', async () => {
    const net = tinyNet(10, 2);
    const trainer = new Trainer({
      model: net,
      loss: { a: l1, b: (p, t) => tf.mean(tf.square(tf.sub(p as tf.Tensor, t as tf.Tensor))) },
      optimizer: new AdamW({ lr: 1e-3, amsgrad: true }),
      schedule: cosineAnnealingRestartLR({ lr: 1e-3, periods: [400] }),
      clipGradNorm: 0.05,
      ema: 0.99,
      accumulate: 2,
      data: new NoisyBatches(13, 1, 4),
      log: memorySink(),
    });
    await trainer.step();
    const n = tf.memory().numTensors;
    for (let i = 0; i < 200; i++) await trainer.step();
    expect(tf.memory().numTensors).toBe(n);
    trainer.dispose();
    net.dispose();
  });

  it('trains a tf LayersModel of restorekit blocks (keys prefixed by layer names)', async () => {
    const model = tfl.sequential({
      layers: [
        new Conv2d({ name: 'conv1', inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, seed: 1, inputShape: [null, null, 3] }),
        new Conv2d({ name: 'conv2', inChannels: 4, outChannels: 3, kernelSize: 3, padding: 1, seed: 2 }),
      ],
    });
    const b = new NoisyBatches(2).next();
    const trainer = new Trainer({ model, loss: l1, optimizer: new AdamW({ lr: 1e-2 }), ema: 0.9 });
    expect(trainer.params.map((p) => p.name)).toEqual(['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias']);
    const first = await trainer.step(b);
    let last = first;
    for (let i = 0; i < 15; i++) last = await trainer.step(b);
    expect(last.loss).toBeLessThan(first.loss);
    const ckpt = await trainer.saveCheckpoint();
    expect(Object.keys(parseSafetensors(ckpt.ema!).tensors).sort()).toEqual(['conv1.bias', 'conv1.weight', 'conv2.bias', 'conv2.weight']);
    tf.dispose([b.input as tf.Tensor, b.target as tf.Tensor]);
    trainer.dispose();
    model.dispose();
  });

  it('recompute: true (gradient checkpointing of the repeated units) gives the losses and updated weights of recompute: false', async () => {
    const nets = [new UnitNet(), new UnitNet()]; // seeded: the same initial weights
    const batch = new NoisyBatches(4).next();
    const [plain, marked] = nets.map(
      (model, i) => new Trainer({ model, loss: l1, optimizer: new AdamW({ lr: 1e-2, weightDecay: 0.1 }), clipGradNorm: 0.5, ema: 0.9, recompute: i === 1 }),
    ) as [Trainer, Trainer];
    expect([plain.recomputed, marked.recomputed]).toEqual([0, 2]);
    const spare = (t: Trainer) => t.params.filter((p) => p.name.includes('spare'));
    const spareBefore = await weightsOf(spare(marked));
    expect(Object.keys(spareBefore).length).toBe(2);
    let tensors = 0;
    for (let i = 0; i < 3; i++) {
      const [a, b] = [await plain.step(batch), await marked.step(batch)];
      expect(Math.abs(b.loss - a.loss), `loss of step ${i + 1}`).toBeLessThanOrEqual(1e-6 * a.loss);
      expect(Math.abs(b.gradNorm - a.gradNorm), `grad norm of step ${i + 1}`).toBeLessThanOrEqual(1e-6 * a.gradNorm);
      if (i === 0) tensors = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(tensors);
    const [wa, wb] = [await weightsOf(plain.params), await weightsOf(marked.params)];
    for (const k of Object.keys(wa)) {
      const worst = wa[k]!.reduce((m, v, j) => Math.max(m, Math.abs(v - wb[k]![j]!)), 0);
      expect(worst, k).toBeLessThanOrEqual(1e-6);
    }
    // The conv the units never run gets no gradient, with recompute as without: AdamW leaves it alone (no decay).
    expect(await weightsOf(spare(marked))).toEqual(spareBefore);
    // BatchNorm statistics moved once per step in both.
    for (const n of nets) expect((await (n.parts[1] as ResUnit).bn.numBatchesTracked.read().data())[0]).toBe(3);
    tf.dispose([batch.input as tf.Tensor, batch.target as tf.Tensor]);
    for (const t of [plain, marked]) t.dispose();
    for (const n of nets) n.dispose();
  });

  it("turns a WebAssembly trap in the step (tfjs-backend-wasm's 4 GB heap exhausted) into a BackendError on wasm; elsewhere the error is unchanged; nothing leaked, the batch kept", async () => {
    const net = tinyNet(1);
    const input = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 4);
    const target = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 5);
    const onWasm = tf.getBackend() === 'wasm';
    for (const recompute of [false, true]) {
      // A forward that allocates, then traps as the wasm engine does when its heap is full.
      const trapping = (_m: unknown, x: tf.Tensor | tf.Tensor[]) => {
        tf.mul(x as tf.Tensor, 2);
        throw new WebAssembly.RuntimeError('memory access out of bounds');
      };
      const trainer = new Trainer({ model: net, loss: l1, forward: trapping as never, recompute });
      const before = tf.memory().numTensors;
      const err = await trainer.step({ input, target }).catch((e: unknown) => e);
      expect(tf.memory().numTensors).toBe(before);
      if (onWasm) {
        expect(err).toBeInstanceOf(BackendError);
        expect(String((err as Error).message)).toMatch(
          /Trainer\.step: the step ran out of tfjs-backend-wasm's 4 GB heap \(WebAssembly trap: memory access out of bounds\)/,
        );
        expect(String((err as Error).message).includes('set recompute: true')).toBe(!recompute);
      } else {
        expect(err).toBeInstanceOf(WebAssembly.RuntimeError);
      }
      expect(trainer.globalStep).toBe(0);
      trainer.dispose();
    }
    // A model error mid-forward (after ops whose inputs tfjs's tape saved) leaves nothing behind either, on every backend.
    const shapeFail = new Trainer({
      model: net,
      loss: l1,
      forward: ((m: tfl.LayersModel, x: tf.Tensor) => {
        tf.relu((m as unknown as { apply: (t: tf.Tensor) => tf.Tensor }).apply(x));
        throw new ShapeError('a model refusing its input');
      }) as never,
    });
    const before = tf.memory().numTensors;
    await expect(shapeFail.step({ input, target })).rejects.toThrow(ShapeError);
    expect(tf.memory().numTensors).toBe(before);
    shapeFail.dispose();
    // Accumulating: the second micro-batch fails after the first one's gradients were summed; they go too.
    let calls = 0;
    const secondFails = new Trainer({
      model: net,
      loss: l1,
      accumulate: 2,
      forward: ((m: tfl.LayersModel, x: tf.Tensor) => {
        if (++calls === 2) throw new ShapeError('the second micro-batch refused');
        return (m as unknown as { apply: (t: tf.Tensor) => tf.Tensor }).apply(x);
      }) as never,
    });
    const input2 = tf.concat([input, input]);
    const target2 = tf.concat([target, target]);
    const before2 = tf.memory().numTensors;
    await expect(secondFails.step({ input: input2, target: target2 })).rejects.toThrow(/second micro-batch/);
    expect(calls).toBe(2);
    expect(tf.memory().numTensors).toBe(before2);
    tf.dispose([input2, target2]);
    secondFails.dispose();
    // The caller's tensors are untouched, and a plain error is never rewritten.
    expect((await input.data()).length).toBe(192);
    expect(() =>
      wasmHeapGuard('op', false, () => {
        throw new RangeError('other');
      }),
    ).toThrow(RangeError);
    expect(wasmHeapGuard('op', false, () => 7)).toBe(7);
    tf.dispose([input, target]);
    net.dispose();
  });

  it('rejects bad options with typed errors', () => {
    const net = tinyNet(1);
    expect(() => new Trainer({ model: net, loss: l1, clip_grad_norm: 1 } as never)).toThrow(/did you mean 'clipGradNorm'/);
    expect(() => new Trainer({ model: net, loss: l1, accumulate: 0 })).toThrow(ConfigError);
    expect(() => new Trainer({ model: net, loss: { a: 3 } as never })).toThrow(/loss terms 'a' are not losses/);
    expect(() => new Trainer({ model: {} as never, loss: l1 })).toThrow(/option model/);
    net.dispose();
  });
});
