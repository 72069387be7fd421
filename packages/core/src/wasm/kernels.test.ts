import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeaks } from '../testing/index.js';
import { withSettings } from '../settings.js';
import { BackendError, DTypeError, ShapeError } from '../errors.js';
import { channelLayerNorm, gelu, geluOfHalved, simpleGate } from '../ops/basic.js';
import { conv2d } from '../ops/conv.js';
import { countFlops } from '../flops.js';
import {
  DEPTHWISE_FILTER_GRAD_KERNEL,
  DEPTHWISE_KERNEL,
  GATE_KERNEL,
  GELU_GRAD_KERNEL,
  GELU_KERNEL,
  LAYER_NORM_KERNEL,
  depthwiseKernel,
  type DftPassOptions,
  dftPassKernel,
  fftKernel,
  useWasmKernels,
  wasmKernels,
  WINDOW_KERNEL,
  windowKernel,
} from './kernels.js';
import { dgelu64, gelu64 } from '../ops/float64-reference.js';

const onWasm = () => tf.getBackend() === 'wasm';
/** The copy kernels (window gather, channel split/concat) also run on cpu, in JavaScript (core cpu/kernels.ts). */
const copyKernels = () => onWasm() || tf.getBackend() === 'cpu';

async function kernelNames(f: () => tf.Tensor): Promise<string[]> {
  const info = await tf.profile(f);
  const names = info.kernels.map((k) => k.name).filter((n) => n !== ''); // (tf.customGrad's own record has no name)
  tf.dispose(info.result as tf.Tensor);
  return names;
}

describe("restorekit's wasm SIMD kernels (GELU and its gradient in one pass each)", () => {
  it('run exactly on wasm with the setting on; every other backend, and wasm with it off, keep the tfjs ops', () =>
    expectNoLeaks(async () => {
      const x = tf.linspace(-3, 3, 64);
      expect(useWasmKernels(x)).toBe(onWasm());
      if (onWasm()) expect(wasmKernels()).not.toBeNull(); // Node 20 has WebAssembly SIMD: the kernels must load in CI
      const names = await kernelNames(() => gelu(x));
      expect(names.includes(GELU_KERNEL)).toBe(onWasm());
      if (onWasm()) expect(names).toEqual([GELU_KERNEL]);
      const gradNames = await kernelNames(() => tf.grad((t: tf.Tensor) => tf.sum(gelu(t)))(x));
      expect(gradNames.includes(GELU_GRAD_KERNEL)).toBe(onWasm());
      await withSettings({ wasmKernels: false }, async () => {
        expect(useWasmKernels(x)).toBe(false);
        const off = await kernelNames(() => gelu(x));
        expect(off.some((n) => n.startsWith('Restorekit'))).toBe(false);
      });
      x.dispose();
    }));

  it('every length from 1 to 13 (tails that overlap the last whole vector, and below one vector) matches float64', () =>
    expectNoLeaks(async () => {
      for (let n = 1; n <= 13; n++) {
        const vals = Array.from({ length: n }, (_, i) => ((i * 37) % 23) / 2.2 - 5); // in [−5, 5]
        const x = tf.tensor1d(vals);
        const y = gelu(x);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), tf.range(1, n + 1))))(x);
        const [ys, gs] = [await y.data(), await g.data()];
        for (let i = 0; i < n; i++) {
          expect(Math.abs(ys[i]! - gelu64(vals[i]!)), `n ${n}, x ${vals[i]}`).toBeLessThan(5e-7);
          expect(Math.abs(gs[i]! - (i + 1) * dgelu64(vals[i]!)), `grad n ${n}, x ${vals[i]}`).toBeLessThan(5e-7 * (i + 1));
        }
        tf.dispose([x, y, g]);
      }
    }));

  it('the kernel writes exactly its n values: a window inside a larger buffer keeps its neighbours', async () => {
    if (!onWasm()) return;
    const k = wasmKernels()!;
    const backend = tf.backend() as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } };
    const src = tf.linspace(-2, 2, 32);
    const at = (t: tf.Tensor, i: number) => backend.dataIdMap.get(t.dataId).memoryOffset + 4 * i;
    const xs = await src.data();
    for (const n of [4, 5, 6, 7, 9]) {
      const dst = tf.fill([32], 7);
      k.gelu(at(src, 3), at(dst, 11), n, 0.5, Math.SQRT1_2);
      const ds = await dst.data();
      for (let i = 0; i < 32; i++) {
        if (i >= 11 && i < 11 + n) expect(Math.abs(ds[i]! - gelu64(xs[3 + i - 11]!)), `n ${n}, i ${i}`).toBeLessThan(5e-7);
        else expect(ds[i], `n ${n}: value ${i} outside the window`).toBe(7);
      }
      dst.dispose();
    }
    src.dispose();
  });

  it('NaN, ±Infinity and ±0 come out as the tfjs-op form gives them', () =>
    expectNoLeaks(async () => {
      const x = tf.tensor1d([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, 1, -1, 40]);
      const a = gelu(x);
      const b = withSettings({ wasmKernels: false }, () => gelu(x));
      const h = geluOfHalved(x);
      const [u, v, w] = [await a.data(), await b.data(), await h.data()];
      expect(Number.isNaN(u[0]!)).toBe(true);
      expect(u[1]).toBe(Number.POSITIVE_INFINITY);
      expect(Number.isNaN(u[2]!)).toBe(Number.isNaN(v[2]!)); // −∞·0: NaN in both forms
      expect([u[3]! + 0, u[4]! + 0]).toEqual([0, 0]);
      expect(Math.abs(u[5]! - gelu64(1))).toBeLessThan(2e-7);
      expect(Math.abs(u[6]! - gelu64(-1))).toBeLessThan(2e-7);
      expect(u[7]).toBe(40);
      expect(Number.isNaN(w[0]!)).toBe(true);
      expect(w[7]).toBe(80);
      tf.dispose([x, a, b, h]);
    }));

  it('agrees with the tfjs-op form within 5e-7·(1 + |y|) on a trained-like spread, value and gradient', () =>
    expectNoLeaks(async () => {
      const x = tf.randomNormal([2, 9, 7, 5], 0, 2.5, 'float32', 4);
      const f = (t: tf.Tensor) => tf.sum(tf.mul(gelu(t), tf.sin(t)));
      const [y1, g1] = [gelu(x), tf.grad(f)(x)];
      const [y2, g2] = withSettings({ wasmKernels: false }, () => [gelu(x), tf.grad(f)(x)]);
      const [a, b, c, d] = await Promise.all([y1.data(), y2.data(), g1.data(), g2.data()]);
      for (let i = 0; i < a.length; i++) {
        expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(5e-7 * (1 + Math.abs(b[i]!)));
        expect(Math.abs(c[i]! - d[i]!)).toBeLessThan(1e-6 * (1 + Math.abs(d[i]!)));
      }
      tf.dispose([x, y1, y2, g1, g2]);
    }));
});

describe("restorekit's wasm depth-wise conv (3×3, 5×5, 7×7, stride 1, multiplier 1)", () => {
  const maxDiff = async (a: tf.Tensor, b: tf.Tensor) => {
    const [u, v] = await Promise.all([a.data(), b.data()]);
    let worst = 0;
    for (let i = 0; i < u.length; i++) worst = Math.max(worst, Math.abs(u[i]! - v[i]!));
    return worst;
  };

  it('equals tf.depthwiseConv2d for every size, channel count (tails of 1–3 channels), padding and batch', () =>
    expectNoLeaks(async () => {
      let seed = 10;
      for (const k of [3, 5, 7])
        for (const c of [4, 5, 7, 19])
          for (const [h, w] of [
            [1, 1],
            [3, 2],
            [9, 6],
            [12, 17],
          ] as const)
            for (const pads of [
              [k >> 1, k >> 1, k >> 1, k >> 1],
              [0, 0, 0, 0],
              [k - 1, k - 1, k - 1, k],
              [1, 0, 2, 0],
            ] as [number, number, number, number][]) {
              if (h + pads[0] + pads[1] < k || w + pads[2] + pads[3] < k) continue;
              const x = tf.randomNormal([2, h, w, c], 0, 1, 'float32', seed++) as tf.Tensor4D;
              const f = tf.randomNormal([k, k, c, 1], 0, 1, 'float32', seed++) as tf.Tensor4D;
              const got = depthwiseKernel(x, f, pads);
              expect(got === null, `k ${k}`).toBe(!onWasm());
              if (got) {
                const want = tf.depthwiseConv2d(x, f, 1, [
                  [0, 0],
                  [pads[0], pads[1]],
                  [pads[2], pads[3]],
                  [0, 0],
                ] as never);
                expect(got.shape).toEqual(want.shape);
                expect(await maxDiff(got, want), `k ${k}, c ${c}, ${h}×${w}, pads ${pads}`).toBeLessThan(2e-5);
                tf.dispose([got, want]);
              }
              tf.dispose([x, f]);
            }
    }));

  it('does not apply to other sizes, multipliers, strides or fewer than 4 channels (the tfjs conv runs)', () =>
    expectNoLeaks(async () => {
      const x3 = tf.ones([1, 8, 8, 3]) as tf.Tensor4D;
      const x8 = tf.ones([1, 8, 8, 8]) as tf.Tensor4D;
      tf.tidy(() => {
        expect(depthwiseKernel(x3, tf.ones([3, 3, 3, 1]) as tf.Tensor4D, [1, 1, 1, 1])).toBeNull();
        expect(depthwiseKernel(x8, tf.ones([4, 4, 8, 1]) as tf.Tensor4D, [1, 2, 1, 2])).toBeNull();
        expect(depthwiseKernel(x8, tf.ones([3, 5, 8, 1]) as tf.Tensor4D, [1, 1, 2, 2])).toBeNull();
        expect(depthwiseKernel(x8, tf.ones([3, 3, 8, 2]) as tf.Tensor4D, [1, 1, 1, 1])).toBeNull();
      });
      const f = tf.ones([3, 3, 1, 8]) as tf.Tensor4D;
      const strided = await tf.profile(() => conv2d(x8, f, { groups: 8, padding: 1, stride: 2 }));
      expect(strided.kernels.map((k) => k.name)).not.toContain(DEPTHWISE_KERNEL);
      tf.dispose([x3, x8, f, strided.result as tf.Tensor]);
    }));

  it('counts in FLOP totals as the tfjs depth-wise kernels do: a training step of a 5×5 depth-wise conv is 3 × its forward', async () => {
    const before = tf.memory().numTensors;
    const x = tf.tidy(() => tf.variable(tf.randomNormal([2, 9, 7, 6], 0, 1, 'float32', 5)));
    const w = tf.tidy(() => tf.variable(tf.randomNormal([5, 5, 1, 6], 0, 1, 'float32', 6)));
    const { count } = await countFlops(async () => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(conv2d(x as unknown as tf.Tensor4D, w as unknown as tf.Tensor4D, { groups: 6, padding: 2 })) as tf.Scalar,
        [x, w],
      );
      tf.dispose([value, Object.values(grads)]);
    });
    const forward = 2 * 2 * 9 * 7 * 6 * 25;
    // the forward-op forms elsewhere compute dx over the padded input (13×11): more multiply-adds than the kernel's
    if (onWasm()) expect(count.flops).toBe(3 * forward);
    else expect(count.flops).toBeGreaterThanOrEqual(3 * forward);
    tf.dispose([x, w]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('its filter gradient kernel equals the forward-op form for square and oblong kernels, paddings, tails and batches', () =>
    expectNoLeaks(async () => {
      let seed = 40;
      for (const [kh, kw] of [
        [3, 3],
        [5, 5],
        [7, 7],
        [3, 5],
        [1, 1],
        [9, 9],
      ] as const)
        for (const c of [4, 6, 13])
          for (const pad of [0, 1, 3]) {
            if (9 + 2 * pad < kh || 8 + 2 * pad < kw) continue;
            const x = tf.randomNormal([2, 9, 8, c], 0, 1, 'float32', seed++) as tf.Tensor4D;
            const w = tf.randomNormal([kh, kw, 1, c], 0, 0.3, 'float32', seed++) as tf.Tensor4D;
            const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { groups: c, padding: pad })));
            const dwOnly = () => tf.tidy(() => tf.grads(loss)([x, w])[1]!);
            const on = await tf.profile(dwOnly);
            const off = withSettings({ wasmKernels: false }, dwOnly);
            expect(on.kernels.some((q) => q.name === DEPTHWISE_FILTER_GRAD_KERNEL)).toBe(onWasm());
            const got = on.result as tf.Tensor;
            const [u, v] = [await got.data(), await off.data()];
            for (let i = 0; i < u.length; i++) expect(Math.abs(u[i]! - v[i]!), `${kh}×${kw}, c ${c}, pad ${pad}`).toBeLessThan(1e-4 * (1 + Math.abs(v[i]!)));
            tf.dispose([x, w, got, off]);
          }
    }));

  it("a depth-wise Conv2d's forward and input gradient run through it on wasm, with the values and gradients of the tfjs convs", () =>
    expectNoLeaks(async () => {
      for (const [k, c, stride] of [
        [3, 6, 1],
        [7, 5, 1],
        [5, 9, 2],
      ] as const) {
        const x = tf.randomNormal([2, 11, 10, c], 0, 1, 'float32', k) as tf.Tensor4D;
        const w = tf.randomNormal([k, k, 1, c], 0, 0.3, 'float32', k + 1) as tf.Tensor4D;
        const dy = tf.randomNormal([2, Math.ceil(11 / stride), Math.ceil(10 / stride), c], 0, 1, 'float32', k + 2);
        const opts = { groups: c, padding: k >> 1, stride };
        const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, opts), dy));
        const on = await tf.profile(() => tf.grads(loss)([x, w]));
        const off = withSettings({ wasmKernels: false }, () => tf.grads(loss)([x, w]));
        const used = on.kernels.filter((q) => q.name === DEPTHWISE_KERNEL).length;
        // forward and dx (dy's conv with the flipped filter) for stride 1; the strided forward is not its case, but the
        // dilated dy's conv is (stride 1 over the dilated grid)
        expect(used, `k ${k}, stride ${stride}`).toBe(onWasm() ? (stride === 1 ? 2 : 1) : 0);
        const filterGrads = on.kernels.filter((q) => q.name === DEPTHWISE_FILTER_GRAD_KERNEL).length;
        expect(filterGrads, `filter gradient, k ${k}, stride ${stride}`).toBe(onWasm() && stride === 1 ? 1 : 0);
        const [g1, g2] = [on.result as tf.Tensor[], off];
        for (let i = 0; i < 2; i++) expect(await maxDiff(g1[i]!, g2[i]!), `k ${k} grad ${i}`).toBeLessThan(5e-5);
        tf.dispose([x, w, dy, ...g1, ...g2]);
      }
    }));
});

describe("restorekit's wasm layer norm over channels (WithBias and BiasFree)", () => {
  it('matches the tfjs ops, value and gradients of x, weight and bias, for channel counts with and without a tail of 1–3', () =>
    expectNoLeaks(async () => {
      for (const c of [1, 3, 4, 7, 48]) {
        const x = tf.randomNormal([2, 5, 3, c], 0.7, 2, 'float32', c);
        const w = tf.randomNormal([c], 1, 0.3, 'float32', c + 1);
        const b = tf.randomNormal([c], 0, 0.3, 'float32', c + 2);
        const dy = tf.randomNormal([2, 5, 3, c], 0, 1, 'float32', c + 3);
        for (const bias of [b, null]) {
          const args = bias ? [x, w, bias] : [x, w];
          const f = (...t: tf.Tensor[]) => tf.sum(tf.mul(channelLayerNorm(t[0]!, t[1]!, t[2] ?? null), dy));
          const on = await tf.profile(() => [channelLayerNorm(x, w, bias), ...tf.grads(f)(args)]);
          const off = withSettings({ wasmKernels: false }, () => [channelLayerNorm(x, w, bias), ...tf.grads(f)(args)]);
          // (webgpu runs restorekit's WebGPU kernel of the same name, see webgpu/kernels.test.ts)
          expect(
            on.kernels.some((k) => k.name === LAYER_NORM_KERNEL),
            `c ${c}`,
          ).toBe(onWasm() || tf.getBackend() === 'webgpu');
          const got = on.result as tf.Tensor[];
          for (let i = 0; i < got.length; i++) {
            const [u, v] = [await got[i]!.data(), await off[i]!.data()];
            for (let j = 0; j < u.length; j++)
              expect(Math.abs(u[j]! - v[j]!), `c ${c}, bias ${!!bias}, output ${i}`).toBeLessThan(2e-5 * (1 + Math.abs(v[j]!)));
          }
          tf.dispose([...got, ...off]);
        }
        tf.dispose([x, w, b, dy]);
      }
    }));
});

describe("restorekit's window gather (a conv filter gradient's taps; wasm, and cpu in JavaScript)", () => {
  it('equals tf.slice / tf.stridedSlice of the last two axes for strides, offsets and widths with tails', () =>
    expectNoLeaks(async () => {
      const x = tf.randomNormal([3, 2, 9, 11], 0, 1, 'float32', 7);
      for (const [sh, sw] of [
        [1, 1],
        [2, 2],
        [2, 1],
        [3, 2],
      ] as const)
        for (const [i, j] of [
          [0, 0],
          [1, 2],
          [2, 3],
        ] as const) {
          const oh = Math.floor((9 - 1 - i) / sh) + 1 - (sh > 1 ? 1 : 0);
          const ow = Math.floor((11 - 1 - j) / sw) + 1;
          const got = windowKernel(x, [i, j], [sh, sw], [oh, ow]);
          expect(got === null).toBe(!copyKernels());
          if (!got) continue;
          const want = tf.stridedSlice(x, [0, 0, i, j], [3, 2, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1], [1, 1, sh, sw]);
          expect(got.shape).toEqual(want.shape);
          expect(Array.from(await got.data()), `${sh}×${sw} at ${i},${j}`).toEqual(Array.from(await want.data()));
          tf.dispose([got, want]);
        }
      // a window reaching outside x is refused (null), not read out of bounds
      expect(windowKernel(x, [2, 0], [2, 1], [5, 11])).toBeNull();
      x.dispose();
    }));

  it("a strided conv's filter gradient takes it on wasm and cpu and equals the tfjs-op form", () =>
    expectNoLeaks(async () => {
      const x = tf.randomNormal([2, 12, 10, 5], 0, 1, 'float32', 8) as tf.Tensor4D;
      const w = tf.randomNormal([4, 4, 5, 6], 0, 0.3, 'float32', 9) as tf.Tensor4D;
      const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { stride: 2, padding: 1 })));
      const dwOnly = () => tf.tidy(() => tf.grads(loss)([x, w])[1]!);
      const on = await tf.profile(dwOnly);
      // against wasm's tfjs-op form (kernels off), and on cpu (whose forward-op form takes the window either way) its
      // Conv2DBackpropFilter kernel
      const off = withSettings(onWasm() ? { wasmKernels: false } : { convGradient: 'native' }, dwOnly);
      expect(on.kernels.filter((k) => k.name === WINDOW_KERNEL).length).toBe(copyKernels() ? 16 : 0);
      const got = on.result as tf.Tensor;
      const [u, v] = [await got.data(), await off.data()];
      for (let i = 0; i < u.length; i++) expect(Math.abs(u[i]! - v[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(v[i]!)));
      tf.dispose([x, w, got, off]);
    }));
});

describe("restorekit's wasm SimpleGate (x[..., :h]·x[..., h:] and its gradient in one pass each)", () => {
  it('equals the split-and-multiply form exactly, value and gradient, for h of 4–33 (tails of 1–3) and batches; below h = 4 the tfjs form', () =>
    expectNoLeaks(async () => {
      for (const [b, hh, ww, c] of [
        [1, 3, 5, 8],
        [2, 4, 3, 10],
        [1, 7, 6, 14],
        [1, 5, 5, 66],
        [1, 4, 4, 6],
      ] as const) {
        const x = tf.randomNormal([b, hh, ww, c], 0, 1, 'float32', c) as tf.Tensor4D;
        const dy = tf.randomNormal([b, hh, ww, c / 2], 0, 1, 'float32', c + 1);
        const on = await tf.profile(() => [simpleGate(x), tf.grad((t: tf.Tensor) => simpleGate(t as tf.Tensor4D))(x, dy)]);
        expect(
          on.kernels.some((k) => k.name === GATE_KERNEL),
          `C=${c}`,
        ).toBe(tf.getBackend() === 'wasm' && c >= 8);
        const off = withSettings({ wasmKernels: false }, () => {
          const f = (t: tf.Tensor) => tf.tidy(() => tf.mul(tf.slice(t, [0, 0, 0, 0], [b, hh, ww, c / 2]), tf.slice(t, [0, 0, 0, c / 2], [b, hh, ww, c / 2])));
          return [f(x), tf.grad(f)(x, dy)];
        });
        const got = on.result as tf.Tensor[];
        for (let i = 0; i < 2; i++) {
          expect(got[i]!.shape).toEqual(off[i]!.shape);
          expect(Array.from(await got[i]!.data()), `C=${c} ${i ? 'gradient' : 'value'}`).toEqual(Array.from(await off[i]!.data()));
        }
        tf.dispose([x, dy, got, off]);
      }
    }));
});

describe("restorekit's wasm DFT pass (the fft package's 'kernel' path on wasm)", () => {
  /** A table [rows, 3R] of random terms with ascending positions n < L (and its values). */
  function table(rows: number, R: number, L: number, seed: number): { t: tf.Tensor2D; v: Float32Array } {
    let st = seed;
    const rnd = () => {
      st = (st * 1103515245 + 12345) % 2147483648;
      return (st / 2147483648) * 2 - 1;
    };
    const v = new Float32Array(rows * 3 * R);
    for (let o = 0; o < rows; o++) {
      let n = o % 2; // ascending steps of 0–2 from 0 or 1, kept below L
      for (let j = 0; j < R; j++) {
        const at = (o * R + j) * 3;
        v[at] = Math.min(n, L - 1);
        v[at + 1] = rnd();
        v[at + 2] = rnd();
        n += Math.floor(((rnd() + 1) / 2) * 3);
      }
    }
    return { t: tf.tensor2d(v, [rows, 3 * R]), v };
  }
  /** The pass in float64: y [parts', pre, rows, post]. */
  function reference(x: Float32Array, [parts, pre, L, post]: number[], v: Float32Array, R: number, o: DftPassOptions): Float64Array {
    const y = new Float64Array((o.realOut ? 1 : 2) * pre! * o.rows * post!);
    for (let p = 0; p < pre!; p++)
      for (let r = 0; r < o.rows; r++)
        for (let q = 0; q < post!; q++) {
          let [sr, si] = [0, 0];
          for (let j = 0; j < R; j++) {
            const [n, c, s] = [v[(r * R + j) * 3]!, v[(r * R + j) * 3 + 1]!, o.sign * v[(r * R + j) * 3 + 2]!];
            if (n >= o.lenIn) break;
            const w = o.hermitian && n !== 0 && 2 * n !== o.n ? 2 : 1;
            const xr = x[(p * L! + n) * post! + q]!;
            const xi = parts === 2 ? x[((pre! + p) * L! + n) * post! + q]! : 0;
            sr += w * (xr * c - xi * s);
            si += w * (xr * s + xi * c);
          }
          y[(p * o.rows + r) * post! + q] = o.scale * sr;
          if (!o.realOut) y[((pre! + p) * o.rows + r) * post! + q] = o.scale * si;
        }
    return y;
  }
  it('equals float64 sums in all three modes for post of 1–37 (one value at a time, gathered lines, overlapping vectors, blocks of 16 with tails)', () =>
    expectNoLeaks(async () => {
      if (!onWasm()) return;
      for (const [parts, realOut] of [
        [1, false],
        [2, false],
        [2, true],
      ] as const)
        for (const post of [1, 3, 4, 5, 16, 21, 37])
          for (const [pre, L, rows, R, lenIn, hermitian, sign, scale] of [
            [1, 9, 7, 4, 9, false, -1, 1],
            [3, 6, 5, 5, 4, true, 1, 0.25],
            [6, 7, 6, 3, 7, false, -1, 0.5], // pre ≥ 4: below 4 values after the axis, lines of consecutive pre gathered
          ] as const) {
            const shape = [parts, pre, L, post];
            const x = tf.randomNormal(shape, 0, 1, 'float32', post + L);
            const { t, v } = table(rows + 2, R, L, 7 * post + parts); // two more rows than outputs: the first `rows` are read
            const opts: DftPassOptions = { rows, lenIn, n: 2 * (L - 1), hermitian, sign, scale, realOut };
            const y = dftPassKernel(x as tf.Tensor4D, t, opts);
            expect(y.shape).toEqual([realOut ? 1 : 2, pre, rows, post]);
            const ref = reference((await x.data()) as Float32Array, shape, v, R, opts);
            const got = await y.data();
            let worst = 0;
            for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i]! - ref[i]!));
            expect(worst, `parts ${parts} realOut ${realOut} post ${post} pre ${pre}`).toBeLessThan(4e-6 * R);
            tf.dispose([x, t, y]);
          }
    }));
  it('the radix-2 FFT kernel equals the float64 DFT for N = 8–256 in all three modes (weights, zero tail, scale, sign; post 1–21, gathered lines below 4)', () =>
    expectNoLeaks(async () => {
      if (!onWasm()) return;
      for (const [N, post, pre, lenIn, rows, hermitian, sign, scale] of [
        [8, 4, 1, 8, 8, false, -1, 1],
        [16, 5, 2, 9, 16, true, 1, 0.0625],
        [64, 8, 1, 64, 33, false, -1, 0.125],
        [256, 13, 1, 129, 256, true, 1, 1 / 256],
        [32, 21, 3, 20, 17, false, 1, 1],
        [16, 3, 6, 16, 9, true, -1, 0.5], // post < 4: lines of consecutive pre gathered, the last group overlapping
        [8, 1, 4, 5, 8, false, 1, 1],
      ] as const)
        for (const [parts, realOut] of [
          [1, false],
          [2, false],
          [2, true],
        ] as const) {
          // the full DFT as a table of N terms a row, for the float64 reference
          const v = new Float32Array(N * 3 * N);
          for (let o = 0; o < N; o++)
            for (let n = 0; n < N; n++) {
              const a = (2 * Math.PI * ((o * n) % N)) / N;
              v.set([n, Math.cos(a), Math.sin(a)], (o * N + n) * 3);
            }
          const shape = [parts, pre, lenIn + 1, post]; // one row more than lenIn: it must be ignored
          const x = tf.randomNormal(shape, 0, 1, 'float32', N + post);
          const tw = tf.tensor2d(
            [...Array.from({ length: N }, (_, m) => Math.cos((2 * Math.PI * m) / N)), ...Array.from({ length: N }, (_, m) => Math.sin((2 * Math.PI * m) / N))],
            [2, N],
          );
          const opts: DftPassOptions = { rows, lenIn, n: N, hermitian, sign, scale, realOut };
          const y = fftKernel(x as tf.Tensor4D, tw, opts)!;
          expect(y, `N ${N}`).not.toBeNull();
          expect(y.shape).toEqual([realOut ? 1 : 2, pre, rows, post]);
          const ref = reference((await x.data()) as Float32Array, shape, v, N, opts);
          const got = await y.data();
          let [worst, big] = [0, 0];
          for (let i = 0; i < ref.length; i++) {
            worst = Math.max(worst, Math.abs(got[i]! - ref[i]!));
            big = Math.max(big, Math.abs(ref[i]!));
          }
          expect(worst / big, `N ${N} parts ${parts} realOut ${realOut}`).toBeLessThan(1e-6 * Math.log2(N));
          tf.dispose([x, tw, y]);
        }
      // where it does not apply: the caller takes the DFT pass
      const x = tf.zeros([2, 1, 12, 4]) as tf.Tensor4D;
      const tw = tf.zeros([2, 12]) as tf.Tensor2D;
      const o: DftPassOptions = { rows: 12, lenIn: 12, n: 12, hermitian: false, sign: -1, scale: 1, realOut: false };
      expect(fftKernel(x, tw, o)).toBeNull(); // not a power of two
      const x3 = tf.zeros([2, 3, 8, 3]) as tf.Tensor4D;
      const tw8 = tf.zeros([2, 8]) as tf.Tensor2D;
      expect(fftKernel(x3, tw8, { ...o, rows: 8, lenIn: 8, n: 8 })).toBeNull(); // pre and post < 4
      const x8 = tf.zeros([2, 1, 8, 4]) as tf.Tensor4D;
      expect(() => fftKernel(x8, tw, { ...o, rows: 8, lenIn: 8, n: 8 })).toThrow(/twiddles \[2, 8\]/);
      tf.dispose([x, tw, x3, tw8, x8]);
    }));
  it('refuses other backends, the kernels off, wrong dtypes and shapes with typed errors, leaking nothing', () =>
    expectNoLeaks(async () => {
      const x = tf.zeros([2, 1, 4, 4]) as tf.Tensor4D;
      const t = tf.zeros([4, 6]) as tf.Tensor2D;
      const o: DftPassOptions = { rows: 4, lenIn: 4, n: 4, hermitian: false, sign: -1, scale: 1, realOut: false };
      if (!onWasm()) {
        expect(() => dftPassKernel(x, t, o)).toThrow(BackendError);
      } else {
        withSettings({ wasmKernels: false }, () => expect(() => dftPassKernel(x, t, o)).toThrow(/not active/));
        const xi = tf.zeros([2, 1, 4, 4], 'int32') as tf.Tensor4D;
        expect(() => dftPassKernel(xi, t, o)).toThrow(DTypeError);
        const x3 = tf.zeros([3, 1, 4, 4]) as tf.Tensor4D;
        expect(() => dftPassKernel(x3, t, o)).toThrow(ShapeError);
        const bad = tf.zeros([4, 5]) as tf.Tensor2D;
        expect(() => dftPassKernel(x, bad, o)).toThrow(/table \[≥ 4 rows, 3R\]/);
        expect(() => dftPassKernel(x, t, { ...o, rows: 5 })).toThrow(ShapeError);
        const real = tf.zeros([1, 1, 4, 4]) as tf.Tensor4D;
        expect(() => dftPassKernel(real, t, { ...o, realOut: true })).toThrow(/real output needs a complex x/);
        tf.dispose([xi, x3, bad, real]);
      }
      tf.dispose([x, t]);
    }));
});
