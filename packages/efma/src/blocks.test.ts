import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, ShapeError, countParams, torchParameters } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { DynamicProcessing, EFMABlock, FrequencyAux, IFilter, KFilter, MixFilter, SFilter, applyPixelKernels, replicatePad2d } from './index.js';

const allFinite = (d: ArrayLike<number>) => Array.from(d).every(Number.isFinite);

/** Writes a value into a layer variable and frees the value. */
function setVar(v: tfl.LayerVariable, value: tf.Tensor): void {
  v.write(value);
  value.dispose();
}

/** max |a − b| (frees its temporaries). */
async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor | number): Promise<number> {
  const t = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await t.data())[0]!;
  t.dispose();
  return v;
}

/** Runs `layer` on `inputs` and returns Σ outputs ⊙ r (r fixed) with its gradients for every trainable weight and every input. */
async function gradientsAreFinite(layer: tfl.layers.Layer, inputs: tf.Tensor[], what: string): Promise<number> {
  return expectNoLeaks(async () => {
    const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const f = (...xs: tf.Tensor[]) => {
      const ys = layer.apply(xs.length === 1 ? xs[0]! : xs) as tf.Tensor | tf.Tensor[];
      const list = Array.isArray(ys) ? ys : [ys];
      return tf.addN(list.map((y, i) => tf.sum(tf.mul(y, tf.randomUniform(y.shape, -1, 1, 'float32', 7 + i))))) as tf.Scalar;
    };
    const { value, grads } = tf.variableGrads(() => f(...inputs), vars);
    const dx = tf.grads(f)(inputs);
    let checked = 0;
    for (const g of [...Object.values(grads), ...dx]) {
      expect(allFinite(await g.data()), `${what}: a gradient is not finite on ${tf.getBackend()}`).toBe(true);
      checked++;
    }
    expect(Number.isFinite((await value.data())[0]!), `${what}: loss`).toBe(true);
    tf.dispose([value, Object.values(grads), dx]);
    return checked;
  }, what);
}

describe('numerical guards: Mix and I never divide by less than their floors; gradients finite on zero and saturated inputs', () => {
  it('Mix: t = max(sigmoid(t̃), 0.1), so a vanishing transmission gives (x − 0.9·A)/0.1, a full one gives x', async () => {
    const c = 3;
    const x = tf.randomNormal([2, 5, 4, c], 0, 1, 'float32', 1);
    const d = tf.randomNormal([2, 5, 4, c], 0, 1, 'float32', 2);
    await expectNoLeaks(async () => {
      const mix = new MixFilter({ channels: c });
      mix.build([x.shape, d.shape] as never);
      // head = 0·T(d) + bias: t̃ = ±30 (the first c channels), ã = 0.5 → A = 0.5.
      setVar(mix.head!.kernel, tf.zeros(mix.head!.kernel.shape as number[]));
      for (const [tBias, want] of [
        [-30, tf.tidy(() => tf.div(tf.sub(x, 0.45), 0.1))],
        [30, tf.clone(x)],
      ] as const) {
        setVar(
          mix.head!.biasVar!,
          tf.tidy(() => tf.concat([tf.fill([c], tBias), tf.fill([c], 0.5)])),
        );
        const y = mix.apply([x, d]) as tf.Tensor;
        expect(await maxAbsDiff(y, want)).toBeLessThan(1e-4);
        tf.dispose([y, want]);
      }
      mix.dispose();
    }, 'MixFilter floor');
    tf.dispose([x, d]);
  });

  it('I: L = max(sigmoid(·), 0.05), so |y| ≤ |x| / 0.05 even when the predicted illumination vanishes', async () => {
    const c = 3;
    const x = tf.randomNormal([1, 6, 5, c], 0, 1, 'float32', 3);
    const d = tf.randomNormal([1, 6, 5, c], 0, 1, 'float32', 4);
    await expectNoLeaks(async () => {
      const f = new IFilter({ channels: c });
      f.build([x.shape, d.shape] as never);
      setVar(f.head!.kernel, tf.zeros(f.head!.kernel.shape as number[]));
      setVar(f.head!.biasVar!, tf.fill([c], -40));
      const y = f.apply([x, d]) as tf.Tensor;
      const want = tf.mul(x, 20);
      expect(await maxAbsDiff(y, want)).toBeLessThan(1e-4);
      want.dispose();
      // Random weights, saturating context: the bound holds everywhere.
      setVar(f.head!.kernel, tf.randomNormal(f.head!.kernel.shape as number[], 0, 1, 'float32', 5));
      const dBig = tf.mul(d, 1e4);
      const y2 = f.apply([x, dBig]) as tf.Tensor;
      const excess = tf.tidy(() => tf.max(tf.sub(tf.abs(y2), tf.div(tf.abs(x), 0.05))));
      expect((await excess.data())[0]).toBeLessThanOrEqual(1e-4);
      tf.dispose([y, dBig, y2, excess]);
      f.dispose();
    }, 'IFilter floor');
    tf.dispose([x, d]);
  });

  const inputsFor = (kind: 'zero' | 'saturated', shapes: number[][]) =>
    shapes.map((s, i) => (kind === 'zero' ? tf.zeros(s) : tf.mul(tf.sign(tf.randomNormal(s, 0, 1, 'float32', 11 + i)), i === 0 ? 1e4 : 1)));
  const BLOCKS: [string, () => tfl.layers.Layer, number[][]][] = [
    [
      'SFilter',
      () => new SFilter({ channels: 4 }),
      [
        [2, 5, 6, 4],
        [2, 5, 6, 4],
      ],
    ],
    [
      'MixFilter',
      () => new MixFilter({ channels: 4 }),
      [
        [2, 5, 6, 4],
        [2, 5, 6, 4],
      ],
    ],
    [
      'IFilter',
      () => new IFilter({ channels: 4 }),
      [
        [2, 5, 6, 4],
        [2, 5, 6, 4],
      ],
    ],
    [
      'KFilter',
      () => new KFilter({ channels: 4 }),
      [
        [2, 5, 6, 4],
        [2, 5, 6, 4],
      ],
    ],
    [
      'DynamicProcessing',
      () => new DynamicProcessing({ channels: 4 }),
      [
        [2, 6, 6, 4],
        [2, 6, 6, 1],
      ],
    ],
    ['FrequencyAux', () => new FrequencyAux({ channels: 4 }), [[2, 6, 5, 4]]],
    [
      'EFMABlock',
      () => new EFMABlock({ channels: 4, heads: 2 }),
      [
        [2, 6, 6, 4],
        [2, 6, 6, 1],
      ],
    ],
  ];
  for (const kind of ['zero', 'saturated'] as const)
    for (const [name, make, shapes] of BLOCKS)
      it(`${name}: finite outputs and gradients on ${kind} inputs`, async () => {
        const layer = make();
        // Saturated: x = ±1e4 (every sigmoid and softmax of the filters saturates, the FFT sees huge values); G = ±1.
        const xs = inputsFor(kind, shapes);
        const y = layer.apply(xs.length === 1 ? xs[0]! : xs) as tf.Tensor | tf.Tensor[];
        for (const t of Array.isArray(y) ? y : [y]) expect(allFinite(await t.data()), `${name} output`).toBe(true);
        tf.dispose(y);
        const n = await gradientsAreFinite(layer, xs, `${name} (${kind})`);
        expect(n).toBe(layer.trainableWeights.length + xs.length);
        tf.dispose(xs);
        layer.dispose();
      });
});

describe('K filter: per-pixel kernels with replicate padding', () => {
  /** The same sum written out on the host. */
  function reference(x: Float32Array, kern: Float32Array, [b, h, w, c]: number[], k: number): Float32Array {
    const out = new Float32Array(b * h * w * c);
    const p = (k - 1) / 2;
    const clamp = (v: number, n: number) => Math.min(Math.max(v, 0), n - 1);
    for (let n = 0; n < b; n++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          for (let ch = 0; ch < c; ch++) {
            let s = 0;
            for (let u = 0; u < k; u++)
              for (let v = 0; v < k; v++) {
                const xi = clamp(i + u - p, h),
                  xj = clamp(j + v - p, w);
                s += kern[(((n * h + i) * w + j) * c + ch) * k * k + u * k + v]! * x[((n * h + xi) * w + xj) * c + ch]!;
              }
            out[((n * h + i) * w + j) * c + ch] = s;
          }
    return out;
  }

  for (const [k, shape] of [
    [5, [2, 7, 3, 2]],
    [3, [1, 4, 9, 3]],
    [5, [1, 1, 2, 1]],
  ] as [number, [number, number, number, number]][])
    it(`applyPixelKernels matches the written-out sum (k = ${k}, ${shape.join('×')}, borders and sizes < k included)`, async () => {
      const [b, h, w, c] = shape;
      const x = tf.randomNormal(shape, 0, 1, 'float32', 21) as tf.Tensor4D;
      const kern = tf.randomNormal([b, h, w, c * k * k], 0, 1, 'float32', 22) as tf.Tensor4D;
      await expectNoLeaks(async () => {
        const y = applyPixelKernels(x, kern, k);
        const want = reference((await x.data()) as Float32Array, (await kern.data()) as Float32Array, shape, k);
        const got = await y.data();
        let max = 0;
        for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(got[i]! - want[i]!));
        expect(max).toBeLessThan(1e-5);
        y.dispose();
      }, 'applyPixelKernels');
      tf.dispose([x, kern]);
    });

  it('replicatePad2d repeats the edge rows and columns (corners included)', async () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 2, 3, 1]);
    const y = replicatePad2d(x, 2);
    expect(y.shape).toEqual([1, 6, 7, 1]);
    const rows = (await y.array()) as number[][][][];
    expect(rows[0]!.map((r) => r.map((v) => v[0]))).toEqual([
      [1, 1, 1, 2, 3, 3, 3],
      [1, 1, 1, 2, 3, 3, 3],
      [1, 1, 1, 2, 3, 3, 3],
      [4, 4, 4, 5, 6, 6, 6],
      [4, 4, 4, 5, 6, 6, 6],
      [4, 4, 4, 5, 6, 6, 6],
    ]);
    tf.dispose([x, y]);
  });

  it('a constant map stays constant up to the borders (the taps are a softmax and the padding replicates), on odd sizes', async () => {
    const f = new KFilter({ channels: 3 });
    const x = tf.fill([2, 7, 9, 3], 2.5);
    const d = tf.randomNormal([2, 7, 9, 3], 0, 3, 'float32', 23);
    const y = f.apply([x, d]) as tf.Tensor;
    expect(y.shape).toEqual([2, 7, 9, 3]);
    expect(await maxAbsDiff(y, 2.5)).toBeLessThan(1e-5);
    tf.dispose([x, d, y]);
    f.dispose();
  });
});

describe('FrequencyAux: guidance maps in [0, 1], one-way coupling', () => {
  it('G ∈ [0, 1] with the shape [B, H, W, 1] for inputs of any scale and size', async () => {
    const f = new FrequencyAux({ channels: 6 });
    for (const [scale, shape] of [
      [1, [2, 8, 8, 6]],
      [100, [1, 5, 7, 6]],
      [-1e3, [1, 6, 9, 6]],
    ] as [number, number[]][]) {
      const x = tf.mul(tf.randomNormal(shape, 0.25, 1, 'float32', 31), scale);
      const [fo, g] = f.apply(x) as tf.Tensor[];
      expect(fo!.shape).toEqual(shape);
      expect(g!.shape).toEqual([shape[0], shape[1], shape[2], 1]);
      const [mn, mx] = [tf.min(g!), tf.max(g!)];
      const lo = (await mn.data())[0]!,
        hi = (await mx.data())[0]!;
      tf.dispose([mn, mx]);
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
      tf.dispose([x, fo!, g!]);
    }
    f.dispose();
  });

  it('the guided EFMA block reads G only through the attention: G = 0 equals no guidance', async () => {
    const blk = new EFMABlock({ channels: 4, heads: 2 });
    const x = tf.randomNormal([1, 6, 5, 4], 0, 1, 'float32', 41);
    const g0 = tf.zeros([1, 6, 5, 1]);
    const g1 = tf.fill([1, 6, 5, 1], 0.7);
    const a = blk.apply(x) as tf.Tensor;
    const b = blk.apply([x, g0]) as tf.Tensor;
    const c = blk.apply([x, g1]) as tf.Tensor;
    expect(await maxAbsDiff(a, b)).toBe(0);
    expect(await maxAbsDiff(a, c)).toBeGreaterThan(1e-3);
    tf.dispose([x, g0, g1, a, b, c]);
    blk.dispose();
  });
});

describe('DynamicProcessing', () => {
  it('y is the selector-weighted sum of the four filters; p is a distribution per sample', async () => {
    const dps = new DynamicProcessing({ channels: 4 });
    const x = tf.randomNormal([3, 6, 5, 4], 0.25, 1, 'float32', 51);
    const g = tf.randomUniform([3, 6, 5, 1], 0, 1, 'float32', 52);
    dps.build([x.shape, g.shape]);
    await expectNoLeaks(async () => {
      const [y, p] = dps.apply([x, g]) as tf.Tensor[];
      expect(p!.shape).toEqual([3, 4]);
      const ones = tf.ones([3]);
      const sums = tf.sum(p!, 1);
      expect(await maxAbsDiff(sums, ones)).toBeLessThan(1e-6);
      const parts = dps.filterOutputs(x, g);
      expect(parts.length).toBe(4);
      const mixed = tf.tidy(() => tf.addN(parts.map((t, j) => tf.mul(tf.reshape(tf.slice(p!, [0, j], [3, 1]), [3, 1, 1, 1]), t))));
      expect(await maxAbsDiff(mixed, y!)).toBeLessThan(1e-4);
      tf.dispose([y!, p!, parts, mixed, ones, sums]);
    }, 'DynamicProcessing mixture');
    tf.dispose([x, g]);
    dps.dispose();
  });
});

describe('parameter counts of the spec (§3.4)', () => {
  it('EFMA-Block 4c² + 41c + heads + 3cm + 18m at c = 40 / 80 / 160 / 320', () => {
    const got = [
      [40, 1],
      [80, 2],
      [160, 4],
      [320, 8],
    ].map(([c, h]) => {
      const b = new EFMABlock({ channels: c!, heads: h! });
      const n = countParams(b);
      b.dispose();
      return n;
    });
    expect(got).toEqual([22_669, 83_578, 320_614, 1_255_006]);
  });

  it('FAux 10.5c² + 10c + 1 = 17,201 at c = 40', () => {
    const f = new FrequencyAux({ channels: 40 });
    expect(countParams(f)).toBe(17_201);
    f.dispose();
  });

  it('DPS 139c² + 46c + 8 = 224,248 at c = 40: selector 1,804, context 3,240, S 43,321, Mix 46,601, I 44,961, K 84,321', () => {
    const dps = new DynamicProcessing({ channels: 40 });
    expect(countParams(dps)).toBe(224_248);
    const by: Record<string, number> = {};
    for (const p of torchParameters(dps)) {
      const top = p.name.split('.')[0]!;
      by[top] = (by[top] ?? 0) + p.torchShape.reduce((a, b) => a * b, 1);
    }
    expect(by).toEqual({ selector: 1_804, context: 3_240, s_filter: 43_321, mix_filter: 46_601, i_filter: 44_961, k_filter: 84_321 });
    dps.dispose();
  });
});

describe('input and option errors name the problem', () => {
  it('shapes', async () => {
    await expectNoLeaks(() => {
      const dps = new DynamicProcessing({ channels: 4 });
      const x = tf.zeros([1, 4, 4, 4]);
      const g = tf.zeros([1, 4, 3, 1]);
      expect(() => dps.apply(x)).toThrow(/expects 2 inputs \[x, G\]/);
      expect(() => dps.apply([x, g])).toThrow(ShapeError);
      expect(() => dps.apply([x, g])).toThrow(/G must have the batch and spatial size of x/);
      const k = new KFilter({ channels: 4 });
      const x3 = tf.zeros([1, 4, 4, 3]);
      expect(() => k.apply([x, x3])).toThrow(/input 1 must have 4 channels/);
      const blk = new EFMABlock({ channels: 4 });
      const g2 = tf.zeros([1, 4, 4, 2]);
      expect(() => blk.apply([x, g2])).toThrow(/input 1 must have 1 channels/);
      tf.dispose([x, g, x3, g2]);
      for (const l of [dps, k, blk]) l.dispose();
    }, 'shape errors');
  });

  it('options', () => {
    expect(() => new KFilter({ channels: 4, kernelSize: 4 })).toThrow(ConfigError);
    expect(() => new KFilter({ channels: 4, kernelSize: 4 })).toThrow(/kernelSize/);
    expect(() => new EFMABlock({ channels: 6, heads: 4 })).toThrow(/divisible by heads/);
    expect(() => new MixFilter({ channels: 4, tFloor: 0 })).toThrow(/tFloor/);
    expect(() => new IFilter({ channels: 4, l_floor: 0.1 } as never)).toThrow(/did you mean 'lFloor'/);
    expect(() => new EFMABlock({ channels: 8, ffn_expansion_factor: 2 } as never)).toThrow(/unknown option 'ffn_expansion_factor'/);
    expect(() => new FrequencyAux({ channels: 1 })).toThrow(ConfigError);
  });
});
