import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BatchNorm2d, Block, ConfigError, Conv2d, isRecomputing, releaseAbandonedTape, setRecompute } from './index.js';
import { diffToScale, expectNoLeaks } from './testing/index.js';

// Gradient checkpointing (recompute.ts): a marked block's gradients must equal the plain block's, its outputs must be
// bit-identical, its BatchNorm statistics must move once per step, it must hold less memory, and it must leave nothing
// behind. Shapes are tiny: this file runs on every backend project (cpu, wasm, tensorflow, webgl, webgpu).

type Opts = { channels: number; seed: number };
const conv = (c: number, seed: number, cout = c) => new Conv2d({ inChannels: c, outChannels: cout, kernelSize: 3, padding: 1, seed });

/** Counts its forwards, and those that are re-runs (`isRecomputing()`): a checkpointed training step runs it twice. */
abstract class Counted<O extends Opts = Opts> extends Block<O> {
  static override recomputeUnit = true;
  calls = 0;
  reruns = 0;
  protected count(): void {
    this.calls++;
    if (isRecomputing()) this.reruns++;
  }
  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return s;
  }
}

/** x + conv₂(relu(conv₁(x))): two convs and a nonlinearity, the input used twice; with `unused`, a third conv never run. */
class TwoConv extends Counted<Opts & { unused?: boolean }> {
  static className = 'restorekit>RecomputeTestTwoConv';
  readonly c1: Conv2d;
  readonly c2: Conv2d;
  readonly c3: Conv2d | null = null;
  constructor(o: Opts & { unused?: boolean }) {
    super(o);
    this.c1 = this.addChild('c1', conv(o.channels, o.seed));
    this.c2 = this.addChild('c2', conv(o.channels, o.seed + 1));
    if (o.unused) this.c3 = this.addChild('c3', conv(o.channels, o.seed + 2));
  }
  override build(s: tfl.Shape): void {
    for (const c of [this.c1, this.c2, this.c3]) if (c) this.buildChild(c, s);
    this.built = true;
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    this.count();
    const h = tf.relu(this.run(this.c1, x, training));
    return tf.add(x, this.run(this.c2, h, training));
  }
}

/** A unit made of units: tanh(conv(b(a(x)))) with a and b themselves marked. */
class Nested extends Counted {
  static className = 'restorekit>RecomputeTestNested';
  readonly a: TwoConv;
  readonly b: TwoConv;
  readonly c: Conv2d;
  constructor(o: Opts) {
    super(o);
    this.a = this.addChild('a', new TwoConv({ channels: o.channels, seed: o.seed }));
    this.b = this.addChild('b', new TwoConv({ channels: o.channels, seed: o.seed + 10 }));
    this.c = this.addChild('c', conv(o.channels, o.seed + 20));
  }
  override build(s: tfl.Shape): void {
    for (const l of [this.a, this.b, this.c]) this.buildChild(l, s);
    this.built = true;
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    this.count();
    return tf.tanh(this.run(this.c, this.run(this.b, this.run(this.a, x, training), training), training));
  }
}

/**
 * Two inputs [x, skip], three outputs like DRCNet's DFR ([downsample(y), y] with y consumed by the downsample) plus
 * its first input unchanged: y = relu(conv(x)) + skip, outputs [conv_s2(y), y, x].
 */
class MultiOut extends Counted {
  static className = 'restorekit>RecomputeTestMultiOut';
  readonly c1: Conv2d;
  readonly down: Conv2d;
  constructor(o: Opts) {
    super(o);
    this.c1 = this.addChild('c1', conv(o.channels, o.seed));
    this.down = this.addChild('down', new Conv2d({ inChannels: o.channels, outChannels: o.channels, kernelSize: 4, stride: 2, padding: 1, seed: o.seed + 1 }));
  }
  override build(s: tfl.Shape | tfl.Shape[]): void {
    const x = (Array.isArray(s[0]) ? s[0] : s) as tfl.Shape;
    this.buildChild(this.c1, x);
    this.buildChild(this.down, x);
    this.built = true;
  }
  forward(inputs: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor[] {
    this.count();
    const [x, skip] = inputs as tf.Tensor[];
    const y = tf.add(tf.relu(this.run(this.c1, x!, training)), skip!);
    return [this.run(this.down, y, training), y, x!];
  }
}

/** relu(BatchNorm(conv(x))). */
class ConvBN extends Counted {
  static className = 'restorekit>RecomputeTestConvBN';
  readonly c1: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(o: Opts) {
    super(o);
    this.c1 = this.addChild('c1', conv(o.channels, o.seed));
    this.bn = this.addChild('bn', new BatchNorm2d({ channels: o.channels }));
  }
  override build(s: tfl.Shape): void {
    this.buildChild(this.c1, s);
    this.buildChild(this.bn, s);
    this.built = true;
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    this.count();
    return tf.relu(this.run(this.bn, this.run(this.c1, x, training), training));
  }
}

/** Its children one after another (not a unit itself). */
class Chain extends Block<{ channels: number }> {
  static className = 'restorekit>RecomputeTestChain';
  readonly parts: tfl.layers.Layer[];
  constructor(o: { channels: number }, parts: tfl.layers.Layer[]) {
    super(o);
    this.parts = parts.map((p, i) => this.addChild(String(i), p));
  }
  override build(s: tfl.Shape): void {
    for (const p of this.parts) this.buildChild(p, s);
    this.built = true;
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    return this.parts.reduce((h, p) => this.run(p, h, training), x);
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}

const rand = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);

interface Step {
  outputs: tf.Tensor[];
  loss: tf.Tensor;
  /** Gradients of the loss for each input, then each trainable weight (in `model.trainableWeights` order); null: none. */
  grads: (tf.Tensor | null)[];
}

/**
 * One training-mode step: loss = Σᵢ ⟨outputᵢ, rᵢ⟩ over the outputs `use` picks (fixed random rᵢ), its gradients for the
 * inputs and for every trainable weight in one backward (zeros where none), and the outputs (kept).
 */
function step(model: Block, inputs: tf.Tensor[], use: (n: number) => boolean = () => true): Step {
  const vars = model.trainableWeights.map((w) => w.read());
  const outputs: tf.Tensor[] = [];
  const xs = [...inputs, ...vars];
  const { value, grads } = tf.engine().gradients(
    () =>
      tf.tidy(() => {
        const y = model.apply(inputs.length === 1 ? inputs[0]! : inputs, { training: true }) as tf.Tensor | tf.Tensor[];
        const ys = Array.isArray(y) ? y : [y];
        outputs.push(...ys.map((o) => tf.keep(tf.clone(o)))); // (an output may be the caller's input itself)
        const terms = ys.flatMap((o, i) => (use(i) ? [tf.sum(tf.mul(o, rand(o.shape, 100 + i)))] : []));
        return tf.addN(terms);
      }),
    xs,
    undefined,
    true,
  );
  return { outputs, loss: value, grads: xs.map((_, i) => grads[i] ?? null) };
}

const free = (s: Step) => tf.dispose([...s.outputs, s.loss, ...s.grads.filter((g) => g !== null)]);

/** Outputs bit for bit, loss and every gradient within float32 rounding of their scale. */
async function expectSame(got: Step, ref: Step, what: string): Promise<void> {
  expect(got.outputs.length).toBe(ref.outputs.length);
  for (let i = 0; i < ref.outputs.length; i++)
    expect(Array.from(await got.outputs[i]!.data()), `${what}: output ${i}`).toEqual(Array.from(await ref.outputs[i]!.data()));
  expect(got.grads.map((g) => g === null)).toEqual(ref.grads.map((g) => g === null));
  const pairs = ref.grads.flatMap((g, i) => (g ? [[`gradient ${i}`, got.grads[i]!, g] as const] : []));
  for (const [name, a, b] of [['loss', got.loss, ref.loss] as const, ...pairs]) {
    const { maxAbsDiff: worst, scale } = diffToScale(await a.data(), await b.data());
    expect(worst, `${what}: ${name} (scale ${scale})`).toBeLessThanOrEqual(1e-6 * scale);
  }
}

/** The same step with `model` unmarked and then marked (`setRecompute(model)`): they must agree, and leave no tensor behind. */
async function compare(model: Block, inputs: tf.Tensor[], use?: (n: number) => boolean): Promise<void> {
  setRecompute(model, false);
  free(step(model, inputs, use)); // builds the weights
  const before = tf.memory().numTensors;
  const ref = step(model, inputs, use);
  expect(setRecompute(model)).toBeGreaterThan(0);
  const got = step(model, inputs, use);
  await expectSame(got, ref, model.getClassName());
  free(ref);
  free(got);
  expect(tf.memory().numTensors).toBe(before);
}

describe('gradient checkpointing (setRecompute)', () => {
  it('a block with two convs and a nonlinearity: same outputs and gradients (input and every weight), forward run twice, no leaks', async () => {
    const b = new TwoConv({ channels: 4, seed: 1, unused: true });
    const x = rand([2, 6, 5, 4], 1);
    await compare(b, [x]);
    // the conv the forward never runs has no gradient (null, not zeros) with recompute as without
    const s0 = step(b, [x]);
    expect(s0.grads.map((g) => g === null)).toEqual([false, false, false, false, false, true, true]);
    free(s0);
    b.calls = b.reruns = 0;
    const s = step(b, [x]);
    expect([b.calls, b.reruns]).toEqual([2, 1]);
    free(s);
    tf.dispose(x);
    b.dispose();
  });

  it('nested units: the outer one is checkpointed, the inner ones run plain inside it (once in the forward, once in the re-run)', async () => {
    const n = new Nested({ channels: 3, seed: 5 });
    const chain = new Chain({ channels: 3 }, [n, new TwoConv({ channels: 3, seed: 40 })]);
    const x = rand([1, 5, 6, 3], 2);
    await compare(chain, [x]);
    expect(setRecompute(chain)).toBe(4); // Nested, its two TwoConvs, the last TwoConv
    for (const c of [n, n.a, n.b]) c.calls = c.reruns = 0;
    const s = step(chain, [x]);
    expect([n.calls, n.reruns]).toEqual([2, 1]);
    // checkpointed again inside the re-run, each would run three times
    for (const c of [n.a, n.b]) expect([c.calls, c.reruns]).toEqual([2, 1]);
    free(s);
    tf.dispose(x);
    chain.dispose();
  });

  it('a block with two inputs and three outputs (one consumed inside, one its input unchanged), also when the loss uses only some outputs', async () => {
    const m = new MultiOut({ channels: 2, seed: 9 });
    const x = rand([1, 6, 4, 2], 3);
    const skip = rand([1, 6, 4, 2], 4);
    await compare(m, [x, skip]);
    await compare(m, [x, skip], (i) => i === 0); // outputs 1 and 2 get no gradient
    await compare(m, [x, skip], (i) => i === 1);
    tf.dispose([x, skip]);
    m.dispose();
  });

  it('BatchNorm2d inside a marked block updates its running statistics once per step, as without recompute', async () => {
    const make = () => new ConvBN({ channels: 3, seed: 13 });
    const [plain, marked] = [make(), make()];
    const x = rand([2, 4, 4, 3], 5);
    for (const m of [plain, marked]) m.build(x.shape);
    marked.setWeights(plain.getWeights());
    expect(setRecompute(marked)).toBe(1);
    const before = tf.memory().numTensors;
    const a = step(plain, [x]);
    const b = step(marked, [x]);
    expect([marked.calls, marked.reruns]).toEqual([2, 1]);
    await expectSame(b, a, 'ConvBN');
    // (read back asynchronously: a synchronous read on webgpu goes through a canvas that SwiftShader's device does not survive)
    for (const m of [plain, marked]) expect((await m.bn.numBatchesTracked.read().data())[0]).toBe(1);
    for (const k of ['runningMean', 'runningVar'] as const)
      expect(Array.from(await marked.bn[k].read().data()), k).toEqual(Array.from(await plain.bn[k].read().data()));
    free(a);
    free(b);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    plain.dispose();
    marked.dispose();
  });

  it('lowers the peak memory of a training step over six marked blocks', async () => {
    // An activation A = 16·16·8 floats (8 KiB). Plain, the tape holds each block's intermediates (padded input, conv₁,
    // relu, padded relu, conv₂, sum: ~6.5 A) until the backward ends, and the backward adds a gradient for each:
    // ~2·6·6.5 ≈ 80 A. Checkpointed: at most the 7 block inputs and outputs (each freed once its block has been
    // re-run), a gradient per block output (6 A) and one block's re-run with its gradients (~13 A): ~26 A. Both add the
    // temporaries of a filter gradient (on wasm, built from 9 window slices, ~20 A). So 0.3–0.5×; measured 0.36× on
    // cpu, tensorflow, webgl and webgpu, 0.46× on wasm (byte counts do not vary between runs).
    const chain = new Chain(
      { channels: 8 },
      Array.from({ length: 6 }, (_, i) => new TwoConv({ channels: 8, seed: 3 * i })),
    );
    const x = rand([1, 16, 16, 8], 6);
    chain.build(x.shape);
    const vars = chain.trainableWeights.map((w) => w.read() as tf.Variable);
    const train = () => {
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.sum(tf.square(chain.apply(x, { training: true }) as tf.Tensor))), vars);
      tf.dispose([value, ...Object.values(grads)]);
    };
    train(); // warm-up
    const before = tf.memory().numTensors;
    setRecompute(chain, false);
    const plain = (await tf.profile(train)).peakBytes;
    expect(setRecompute(chain)).toBe(6);
    const marked = await tf.profile(train);
    expect(marked.kernels.filter((k) => k.name === 'Recompute').length).toBe(6);
    console.log(
      `[${tf.getBackend()}] six blocks, 16×16×8: peak ${plain} B plain, ${marked.peakBytes} B with recompute (${(marked.peakBytes / plain).toFixed(2)}×)`,
    );
    expect(marked.peakBytes).toBeLessThan(0.6 * plain);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    chain.dispose();
  });

  it('does not checkpoint without training, outside a gradient tape, or when unmarked', async () => {
    const b = new TwoConv({ channels: 2, seed: 21 });
    const x = rand([1, 4, 4, 2], 7);
    tf.dispose(b.apply(x) as tf.Tensor);
    expect(setRecompute(b)).toBe(1);
    const before = tf.memory().numTensors;
    const recomputeKernels = async (f: () => void) => (await tf.profile(f)).kernels.filter((k) => k.name === 'Recompute').length;
    const vars = b.trainableWeights.map((w) => w.read() as tf.Variable);
    const grads = (training: boolean) => () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(b.apply(x, { training }) as tf.Tensor), vars);
      tf.dispose([value, ...Object.values(grads)]);
    };
    const cases: [string, () => void, number][] = [
      ['training, no tape', () => tf.dispose(b.apply(x, { training: true }) as tf.Tensor), 0],
      ['inference, no tape', () => tf.dispose(b.apply(x) as tf.Tensor), 0],
      ['tape, training false', grads(false), 0],
      ['tape, training true', grads(true), 1],
    ];
    for (const [what, f, n] of cases) {
      b.calls = b.reruns = 0;
      expect(await recomputeKernels(f), what).toBe(n);
      expect([b.calls, b.reruns], what).toEqual([1 + n, n]);
    }
    setRecompute(b, false);
    b.calls = 0;
    expect(await recomputeKernels(grads(true))).toBe(0);
    expect(b.calls).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    b.dispose();
  });

  it('setRecompute marks the recompute units of a tree (also in a LayersModel), a predicate, or none, and returns the count', () => {
    const units = (): [TwoConv, Nested] => [new TwoConv({ channels: 2, seed: 1 }), new Nested({ channels: 2, seed: 2 })];
    const [t, n] = units();
    const plainConv = conv(2, 3);
    const chain = new Chain({ channels: 2 }, [t, plainConv, n]);
    expect(setRecompute(chain)).toBe(4); // t, n, n.a, n.b
    expect([chain.recompute, plainConv.recompute, t.recompute, n.recompute, n.a.recompute, n.c.recompute]).toEqual([false, false, true, true, true, false]);
    expect(setRecompute(chain, (b) => b === n || b === plainConv)).toBe(2);
    expect([t.recompute, n.recompute, n.a.recompute, plainConv.recompute]).toEqual([false, true, false, true]);
    expect(setRecompute(chain, false)).toBe(0);
    expect([t.recompute, n.recompute, plainConv.recompute]).toEqual([false, false, false]);
    expect(setRecompute(t, true)).toBe(1);
    const inp = tfl.input({ shape: [null, null, 2] });
    const [u, v] = units();
    const model = tfl.model({ inputs: inp, outputs: v.apply(u.apply(inp)) as tfl.SymbolicTensor });
    expect(setRecompute(model)).toBe(4);
    expect(() => setRecompute(chain, 'yes' as never)).toThrow(ConfigError);
    expect(() => setRecompute(null as never)).toThrow(ConfigError);
    for (const l of [chain, model]) l.dispose();
  });
});

describe('releaseAbandonedTape', () => {
  it("frees the op inputs tfjs's tape saved when a gradient computation throws (tfjs frees them only after a backward)", () =>
    expectNoLeaks(async () => {
      const init = tf.ones([2, 3]);
      const v = tf.variable(init);
      const x = tf.ones([2, 3]);
      const before = tf.memory().numTensors;
      const fails = () =>
        tf.variableGrads(() => {
          tf.mul(tf.add(v, x), x);
          throw new RangeError('a forward that fails');
        }, [v]);
      expect(fails).toThrow(RangeError);
      const left = tf.memory().numTensors - before;
      expect(left).toBeGreaterThan(0); // tfjs-core's own behaviour, which this exists for
      releaseAbandonedTape();
      expect(tf.memory().numTensors).toBe(before);
      releaseAbandonedTape(); // nothing left: does nothing
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([v, x, init]);
    }));
});
