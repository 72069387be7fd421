import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, ConfigError, DTypeError, ShapeError, configure, getSettings, withSettings, backendsPreferring } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import {
  rfft2,
  irfft2,
  fft2,
  ifft2,
  fftshift,
  ifftshift,
  roll,
  amplitude,
  phase,
  fromPolar,
  complexMul,
  conj,
  lowPassMask,
  highPassMask,
  bandPassMask,
  radialFrequency,
  releaseFFTCache,
  fftCacheSize,
  pathFor,
  ROWS_FOURSTEP_MIN_N,
  KERNEL_BACKENDS,
  hasFFTKernel,
  type Complex,
  type FFTPath,
} from './index.js';

// Leak checks below run with the basis cache off (every call creates and disposes its own bases): these are plain
// function calls, whose cached bases nobody owns (blocks own theirs: layers/layers.test.ts). The cache itself is
// tested separately, with the setting on.
let settingsBefore: ReturnType<typeof getSettings>;
beforeAll(() => {
  settingsBefore = getSettings();
  configure({ fftCache: false });
});
afterAll(() => configure(settingsBefore));

const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [x, y] = await Promise.all([a.data(), b.data()]);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}
async function maxAbs(a: tf.Tensor): Promise<number> {
  const x = await a.data();
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}

describe('round trips, axes and ranks', () => {
  it('irfft2(rfft2(x)) = x for odd and even sizes in every norm, both paths', () =>
    expectNoLeaks(async () => {
      for (const [H, W] of [
        [5, 7],
        [6, 9],
        [12, 10],
        [1, 4],
        [3, 1],
      ])
        for (const norm of ['backward', 'ortho', 'forward'] as const)
          for (const path of ['matmul', 'fourstep'] as const) {
            const x = rnd([2, H, W, 3], H * 10 + W);
            const z = rfft2(x, { norm, path });
            expect(z.re.shape).toEqual([2, H, Math.floor(W / 2) + 1, 3]);
            const y = irfft2(z, { norm, path, size: [H, W] });
            expect(await maxAbsDiff(x, y), `${H}x${W} ${norm} ${path}`).toBeLessThan(2e-5);
            tf.dispose([x, z.re, z.im, y]);
          }
    }, 'round trips'));

  it('ifft2(fft2(z)) = z and fft2 of a real tensor matches rfft2 on the kept bins', async () => {
    const z = { re: rnd([1, 6, 10, 2], 1), im: rnd([1, 6, 10, 2], 2) };
    const f = fft2(z, { norm: 'ortho' });
    const back = ifft2(f, { norm: 'ortho' });
    expect(await maxAbsDiff(back.re, z.re)).toBeLessThan(1e-5);
    expect(await maxAbsDiff(back.im, z.im)).toBeLessThan(1e-5);
    const full = fft2(z.re);
    const half = rfft2(z.re);
    const kept = tf.slice(full.re, [0, 0, 0, 0], [1, 6, 6, 2]);
    expect(await maxAbsDiff(kept, half.re)).toBeLessThan(1e-4);
    // Parseval (ortho): energy is preserved.
    const e1 = (await tf.sum(tf.add(tf.square(z.re), tf.square(z.im))).data())[0]!;
    const e2 = (await tf.sum(tf.add(tf.square(f.re), tf.square(f.im))).data())[0]!;
    expect(Math.abs(e1 - e2) / e1).toBeLessThan(1e-5);
    tf.dispose([z.re, z.im, f.re, f.im, back.re, back.im, full.re, full.im, half.re, half.im, kept]);
  });

  it('a hand-computed 2×2 DFT: [[1,2],[3,4]] → [[10,−2],[−4,0]]', async () => {
    const z = rfft2(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
    );
    const plus0 = (v: number) => v + 0; // −0 and +0 are the same number here
    expect(Array.from(await z.re.data()).map(plus0)).toEqual([10, -2, -4, 0]);
    expect(Array.from(await z.im.data()).map(plus0)).toEqual([0, 0, 0, 0]);
    const y = irfft2(z);
    expect(Array.from(await y.data()).map((v) => Math.round(v * 1e5) / 1e5)).toEqual([1, 2, 3, 4]);
    tf.dispose([z.re, z.im, y]);
  });

  it('axes option: NCHW axes [2, 3], rank 2 and rank 3 agree with NHWC', async () => {
    const x = rnd([1, 5, 6, 2], 3); // NHWC
    const ref = rfft2(x);
    const nchw = tf.transpose(x, [0, 3, 1, 2]);
    const z = rfft2(nchw, { axes: [2, 3] });
    const zBack = tf.transpose(z.re, [0, 2, 3, 1]);
    expect(await maxAbsDiff(zBack, ref.re)).toBeLessThan(1e-5);
    const z3 = rfft2(tf.squeeze(x, [0])); // HWC, default axes [0, 1]
    expect(await maxAbsDiff(z3.im, tf.squeeze(ref.im, [0]))).toBeLessThan(1e-5);
    const x2 = tf.reshape(tf.slice(x, [0, 0, 0, 0], [1, 5, 6, 1]), [5, 6]);
    const z2 = rfft2(x2, { axes: [-2, -1] });
    expect(await maxAbsDiff(z2.re, tf.reshape(tf.slice(ref.re, [0, 0, 0, 0], [1, 5, 4, 1]), [5, 4]))).toBeLessThan(1e-5);
    tf.dispose([x, ref.re, ref.im, nchw, z.re, z.im, zBack, z3.re, z3.im, x2, z2.re, z2.im]);
  });
});

describe('implementations agree', () => {
  const alternatives = (): FFTPath[] => (hasFFTKernel() ? ['fourstep', 'kernel'] : ['fourstep']);
  it('four-step (and, on webgl/webgpu/wasm, the DFT-pass kernels) match the dense matMul DFT (64×48, 60×90, 128×32, 72×35×1)', async () => {
    for (const path of alternatives()) {
      for (const [H, W, C] of [
        [64, 48, 2],
        [60, 90, 2],
        [128, 32, 2],
        [72, 35, 1],
      ] as const) {
        const x = rnd([1, H, W, C], H + W);
        const a = rfft2(x, { path: 'matmul' });
        const b = rfft2(x, { path });
        const scale = await maxAbs(a.re);
        const what = `${path} ${H}x${W}x${C}`;
        expect(await maxAbsDiff(a.re, b.re), what).toBeLessThan((2e-6 * scale * Math.sqrt(H * W)) / 8);
        expect(await maxAbsDiff(a.im, b.im), what).toBeLessThan((2e-6 * scale * Math.sqrt(H * W)) / 8);
        const ya = irfft2(a, { path: 'matmul', size: [H, W] });
        const yb = irfft2(a, { path, size: [H, W] });
        expect(await maxAbsDiff(ya, yb), what).toBeLessThan(1e-5);
        const ca = ifft2(a, { path: 'matmul' });
        const cb = ifft2(a, { path });
        expect(await maxAbsDiff(ca.re, cb.re), what).toBeLessThan(1e-5);
        expect(await maxAbsDiff(ca.im, cb.im), what).toBeLessThan(1e-5);
        tf.dispose([x, a.re, a.im, b.re, b.im, ya, yb, ca.re, ca.im, cb.re, cb.im]);
      }
    }
  });
  it('every path has the same gradients as the dense matMul path (rfft2, irfft2, fft2 chained; 64×40 and 20×15)', async () => {
    for (const path of alternatives()) {
      for (const [H, W] of [
        [64, 40],
        [20, 15],
      ] as const) {
        const x = rnd([1, H, W, 3], 7);
        const w = rnd([1, H, W, 3], 8);
        const loss = (p: FFTPath) => (t: tf.Tensor) => {
          const z = rfft2(t, { path: p, norm: 'ortho' });
          const g = fft2({ re: tf.mul(z.re, z.im), im: tf.sub(z.re, z.im) }, { path: p });
          const y = irfft2({ re: g.re, im: tf.mul(g.im, 0.5) }, { path: p, size: [H, W], norm: 'forward' });
          return tf.sum(tf.mul(y, w));
        };
        await expectNoLeaks(async () => {
          const ga = tf.grad(loss('matmul'))(x);
          const gb = tf.grad(loss(path))(x);
          const scale = await maxAbs(ga);
          expect(scale).toBeGreaterThan(0);
          expect(await maxAbsDiff(ga, gb), `${path} ${H}x${W}`).toBeLessThan(1e-4 * scale);
          tf.dispose([ga, gb]);
        }, `gradients ${path} ${H}x${W}`);
        tf.dispose([x, w]);
      }
    }
  });
  it('the kernel path handles the last axis, odd channel counts and long prime lengths (67: a looped pass) like the dense path', async () => {
    if (!hasFFTKernel()) return; // path 'kernel' is a BackendError elsewhere (tested below)
    for (const [shape, axes] of [
      [
        [2, 3, 70, 67],
        [2, 3],
      ],
      [
        [1, 67, 5, 3],
        [1, 2],
      ],
      [
        [66, 3],
        [0, 1],
      ],
      [
        [1, 32, 16, 5],
        [1, 2],
      ],
      [
        [2, 16, 32, 3],
        [1, 2],
      ],
    ] as const) {
      const x = rnd(shape as unknown as number[], 5);
      const a = rfft2(x, { axes: axes as unknown as [number, number], path: 'matmul' });
      const b = rfft2(x, { axes: axes as unknown as [number, number], path: 'kernel' });
      const scale = await maxAbs(a.re);
      const what = `${shape} axes ${axes}`;
      expect(await maxAbsDiff(a.re, b.re), what).toBeLessThan(1e-5 * scale);
      expect(await maxAbsDiff(a.im, b.im), what).toBeLessThan(1e-5 * scale);
      if (tf.getBackend() === 'wasm') {
        // restorekit's wasm kernel ran ('auto' takes it too), not a fallback
        const info = await tf.profile(() => {
          const z = rfft2(x, { axes: axes as unknown as [number, number] });
          return [z.re, z.im];
        });
        // (powers of two with ≥ 4 values after the axis: the radix-2 FFT kernel; other lengths: the DFT pass)
        const pow2 = axes.every((a) => [16, 32].includes(shape[a]!)); // (W 32 of [2, 16, 32, 3]: 3 values after it, lines gathered)
        expect(info.kernelNames, what).toContain(pow2 ? 'RestorekitFftPow2' : 'RestorekitDftPass');
        if (pow2) expect(info.kernelNames, what).not.toContain('RestorekitDftPass');
        expect(info.kernelNames, what).not.toContain('BatchMatMul');
      }
      const size = axes.map((ax) => shape[ax]!) as [number, number];
      const y = irfft2(b, { axes: axes as unknown as [number, number], size, path: 'kernel' });
      expect(await maxAbsDiff(y, x), what).toBeLessThan(1e-5);
      const c = fft2(b, { axes: axes as unknown as [number, number], path: 'kernel' });
      const d = fft2(a, { axes: axes as unknown as [number, number], path: 'matmul' });
      expect(await maxAbsDiff(c.im, d.im), what).toBeLessThan(1e-5 * (await maxAbs(d.im)));
      tf.dispose([x, a.re, a.im, b.re, b.im, y, c.re, c.im, d.re, d.im]);
    }
  });
  it("'auto' takes the DFT-pass kernel exactly where core prefers it (prefers('fftKernel')) and the backend has it", () => {
    for (const b of ['cpu', 'wasm', 'webgl', 'webgpu', 'tensorflow'])
      expect(pathFor(256, 'auto', b) === 'kernel', b).toBe(backendsPreferring('fftKernel').includes(b) && hasFFTKernel(b));
    expect([...backendsPreferring('fftKernel')].sort()).toEqual(['wasm', 'webgl', 'webgpu']);
    // wasm's kernel is restorekit's wasm module: only while wasm is the active backend with the kernels on
    expect(hasFFTKernel('wasm')).toBe(tf.getBackend() === 'wasm' && getSettings().wasmKernels);
    if (tf.getBackend() === 'wasm') withSettings({ wasmKernels: false }, () => expect(pathFor(256, 'auto')).not.toBe('kernel'));
  });
  it("'auto' picks four-step for long composite lengths (per-backend threshold) and the dense DFT for short or prime ones", () => {
    expect(pathFor(512, 'auto', 'webgl')).toBe('kernel');
    expect(pathFor(64, 'auto', 'webgl')).toBe('kernel');
    expect(pathFor(512, 'fourstep', 'webgl')).toBe('fourstep');
    expect(pathFor(512, 'auto', 'tensorflow')).toBe('fourstep');
    expect(pathFor(64, 'auto', 'tensorflow')).toBe('matmul');
    expect(pathFor(256, 'auto', 'webgpu')).toBe('kernel');
    expect(pathFor(16, 'auto', 'webgpu')).toBe('kernel');
    expect(pathFor(1024, 'auto', 'cpu')).toBe('fourstep');
    expect(pathFor(1024, 'auto', 'cpu', 1)).toBe('matmul'); // nothing after the axis: its second stage would be matrix-vector products
    // wasm's 'rows' layout (its kernels off): complex stages from ROWS_FOURSTEP_MIN_N as four steps of plain 2-D products;
    // its real ones stay dense. With the kernels on (wasm active) every length takes the DFT-pass kernel.
    withSettings({ wasmKernels: false }, () => {
      expect(pathFor(1024, 'auto', 'wasm')).toBe('fourstep');
      expect(pathFor(ROWS_FOURSTEP_MIN_N, 'auto', 'wasm')).toBe('fourstep');
      expect(pathFor(ROWS_FOURSTEP_MIN_N - 2, 'auto', 'wasm')).toBe('matmul');
      expect(pathFor(1024, 'auto', 'wasm', Infinity, 'r2c')).toBe('matmul');
      expect(pathFor(1024, 'fourstep', 'wasm', Infinity, 'c2r')).toBe('matmul');
      expect(pathFor(12, 'fourstep', 'wasm')).toBe('fourstep');
      expect(pathFor(1031, 'auto', 'wasm')).toBe('matmul'); // prime
    });
    if (hasFFTKernel('wasm')) for (const n of [1024, 256, 129, 12, 1031]) expect(pathFor(n, 'auto', 'wasm'), `${n}`).toBe('kernel');
    expect(pathFor(64, 'kernel', 'cpu')).toBe('kernel'); // as asked (running it on cpu is a BackendError)
    expect(pathFor(16, 'auto', 'cpu')).toBe('matmul');
    expect(pathFor(1031, 'auto', 'cpu')).toBe('matmul'); // prime
    expect(pathFor(256, 'matmul', 'cpu')).toBe('matmul');
    expect(pathFor(7, 'fourstep')).toBe('matmul'); // nothing to factor
    expect(pathFor(12, 'fourstep')).toBe('fourstep');
  });
});

/** Directional finite difference of L(x) = Σ w·f(x) against the autodiff gradient (three random directions). */
async function gradCheck(f: (xs: tf.Tensor[]) => tf.Tensor[], shapes: number[][], eps: number, seed: number) {
  const xs = shapes.map((s, i) => rnd(s, seed + i));
  const outs0 = f(xs);
  const ws = outs0.map((o, i) => rnd(o.shape, seed + 50 + i));
  tf.dispose(outs0);
  const L = (...ins: tf.Tensor[]) => tf.addN(f(ins).map((o, i) => tf.sum(tf.mul(o, ws[i]!)))) as tf.Scalar;
  const grads = tf.grads(L)(xs);
  const results: { fd: number; ad: number }[] = [];
  for (let d = 0; d < 3; d++) {
    const vs = shapes.map((s, i) => rnd(s, seed + 100 + 10 * d + i));
    const plus = tf.tidy(() => L(...xs.map((x, i) => tf.add(x, tf.mul(vs[i]!, eps)))));
    const minus = tf.tidy(() => L(...xs.map((x, i) => tf.sub(x, tf.mul(vs[i]!, eps)))));
    const fd = ((await plus.data())[0]! - (await minus.data())[0]!) / (2 * eps);
    const adT = tf.tidy(() => tf.addN(grads.map((g, i) => tf.sum(tf.mul(g, vs[i]!)))));
    const ad = (await adT.data())[0]!;
    adT.dispose();
    results.push({ fd, ad });
    tf.dispose([plus, minus, vs]);
  }
  tf.dispose([xs, ws, grads]);
  return results;
}

describe('gradients vs finite differences', () => {
  const linear: [string, (xs: tf.Tensor[]) => tf.Tensor[], number[][]][] = [
    [
      'rfft2 backward',
      ([x]) => {
        const z = rfft2(x!);
        return [z.re, z.im];
      },
      [[1, 5, 6, 2]],
    ],
    [
      'rfft2 ortho four-step',
      ([x]) => {
        const z = rfft2(x!, { norm: 'ortho', path: 'fourstep' });
        return [z.re, z.im];
      },
      [[1, 8, 12, 1]],
    ],
    [
      'irfft2 forward (generic input)',
      ([re, im]) => [irfft2({ re: re!, im: im! }, { norm: 'forward', size: [5, 7] })],
      [
        [1, 5, 4, 2],
        [1, 5, 4, 2],
      ],
    ],
    [
      'irfft2 four-step',
      ([re, im]) => [irfft2({ re: re!, im: im! }, { path: 'fourstep', size: [8, 12] })],
      [
        [1, 8, 7, 1],
        [1, 8, 7, 1],
      ],
    ],
    [
      'fft2',
      ([re, im]) => {
        const z = fft2({ re: re!, im: im! });
        return [z.re, z.im];
      },
      [
        [2, 4, 6, 1],
        [2, 4, 6, 1],
      ],
    ],
    [
      'ifft2',
      ([re, im]) => {
        const z = ifft2({ re: re!, im: im! }, { norm: 'ortho' });
        return [z.re, z.im];
      },
      [
        [1, 6, 3, 2],
        [1, 6, 3, 2],
      ],
    ],
    ['fftshift', ([x]) => [fftshift(x!)], [[1, 5, 4, 1]]],
  ];
  for (const [name, f, shapes] of linear)
    it(name, () =>
      expectNoLeaks(async () => {
        for (const { fd, ad } of await gradCheck(f, shapes, 0.5, 7))
          expect(Math.abs(fd - ad), `${name}: fd ${fd} ad ${ad}`).toBeLessThan(1e-3 * Math.max(1, Math.abs(ad)));
      }, name),
    );
  it('amplitude and phase (non-linear)', async () => {
    for (const [f, name] of [
      [amplitude, 'amplitude'],
      [phase, 'phase'],
    ] as const) {
      const res = await gradCheck(
        ([re, im]) => [f({ re: re!, im: im! })],
        [
          [1, 3, 4, 2],
          [1, 3, 4, 2],
        ],
        1e-2,
        11,
      );
      for (const { fd, ad } of res) expect(Math.abs(fd - ad), `${name}: fd ${fd} ad ${ad}`).toBeLessThan(2e-2 * Math.max(1, Math.abs(ad)));
    }
  });
  it('irfft2 ignores the imaginary parts of bin 0 and (even W) bin W/2 of the H-transformed spectrum: for H = 1 their gradient is exactly 0, as in torch', async () => {
    const re = rnd([1, 1, 4, 2], 1);
    const im = rnd([1, 1, 4, 2], 2);
    const g = tf.grad((i: tf.Tensor) => tf.sum(tf.square(irfft2({ re, im: i }, { size: [1, 6] }))))(im);
    const d = await g.data(); // [1, 1, 4, 2]: bins 0 and 3 (= 6/2) are ignored
    for (let c = 0; c < 2; c++) {
      expect(d[0 * 2 + c]).toBe(0);
      expect(d[3 * 2 + c]).toBe(0);
      expect(Math.abs(d[1 * 2 + c]!)).toBeGreaterThan(0);
    }
    tf.dispose([re, im, g]);
  });
  it('amplitude has gradient 0 (not NaN) at z = 0', async () => {
    const z = tf.zeros([2, 2]);
    const g = tf.grad((r: tf.Tensor) => tf.sum(amplitude({ re: r, im: z })))(z);
    expect(Array.from(await g.data())).toEqual([0, 0, 0, 0]);
    tf.dispose([z, g]);
  });
});

describe('polar, shifts, masks', () => {
  it('fromPolar(amplitude, phase) rebuilds z; complexMul and conj', async () => {
    const z = { re: tf.tensor1d([3, -1, 0]), im: tf.tensor1d([4, 0, -2]) };
    const a = amplitude(z);
    expect(Array.from(await a.data())).toEqual([5, 1, 2]);
    const p = phase(z);
    const pd = await p.data();
    expect(pd[1]).toBeCloseTo(Math.PI, 6);
    expect(pd[2]).toBeCloseTo(-Math.PI / 2, 6);
    const back = fromPolar(a, p);
    // GPU sin/cos (webgl/webgpu) are only accurate to ~1e-5 relative; |z| ≤ 5 here.
    expect(await maxAbsDiff(back.re, z.re)).toBeLessThan(5e-4);
    expect(await maxAbsDiff(back.im, z.im)).toBeLessThan(5e-4);
    const m = complexMul(z, conj(z)); // |z|²
    expect(Array.from(await m.re.data())).toEqual([25, 1, 4]);
    expect(Array.from(await m.im.data())).toEqual([0, 0, 0]);
    tf.dispose([z.re, z.im, a, p, back.re, back.im, m.re, m.im]);
  });
  it('fromPolar is accurate to float32 on every backend (GPU sin/cos built-ins are not); its gradient is the exact one', async () => {
    // phases over [−40, 40] (several quadrants, the reduction's k up to 25) and amplitude 1: re = cos, im = sin
    const n = 4001;
    const ph = Float32Array.from({ length: n }, (_, i) => -40 + (80 * i) / (n - 1));
    const p = tf.tensor1d(ph);
    const one = tf.onesLike(p);
    const [c, s] = await expectNoLeaks(async () => {
      const { re, im } = fromPolar(one, p);
      const out = [await re.data(), await im.data()];
      tf.dispose([re, im]);
      return out;
    }, 'fromPolar');
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(c[i]! - Math.cos(ph[i]!)), Math.abs(s[i]! - Math.sin(ph[i]!)));
    expect(worst).toBeLessThan(1e-6);
    // d/dφ Σ (a·cos φ + 2a·sin φ) = a·(−sin φ + 2 cos φ); d/da = cos φ + 2 sin φ
    const f = (a: tf.Tensor, q: tf.Tensor) => {
      const z = fromPolar(a, q);
      return tf.add(tf.sum(z.re), tf.mul(tf.sum(z.im), 2));
    };
    const a = tf.fill([n], 1.5);
    const [ga, gp] = tf.grads(f)([a, p]);
    const [gad, gpd] = [await ga!.data(), await gp!.data()];
    let gw = 0;
    for (let i = 0; i < n; i++) {
      const [cc, ss] = [Math.cos(ph[i]!), Math.sin(ph[i]!)];
      gw = Math.max(gw, Math.abs(gad[i]! - (cc + 2 * ss)), Math.abs(gpd[i]! - 1.5 * (-ss + 2 * cc)));
    }
    expect(gw).toBeLessThan(1e-5);
    tf.dispose([p, one, a, ga!, gp!]);
  });
  it('ifftshift undoes fftshift on odd sizes; complex pairs shift both parts', async () => {
    const x = tf.reshape(tf.range(0, 15), [1, 3, 5, 1]);
    const s = fftshift(x);
    // rows roll by 1, columns by 2: first row of the result is x[2, 3..4] ++ x[2, 0..2]
    expect(Array.from((await s.data()).slice(0, 5))).toEqual([13, 14, 10, 11, 12]);
    const back = ifftshift(s);
    expect(Array.from(await back.data())).toEqual(Array.from(await x.data()));
    const z = fftshift({ re: x, im: tf.neg(x) } as Complex, { axes: [2] });
    expect(Array.from((await z.im.data()).slice(0, 5))).toEqual([-3, -4, -0, -1, -2]);
    tf.dispose([x, s, back, z.re, z.im]);
  });
  it('radial masks: 4×4 hand count (cutoff 0.5 keeps |f|² ≤ 2: 9 bins), shifted, half, complements', async () => {
    const low = lowPassMask({ size: [4, 4], cutoff: 0.5, layout: 'hw' });
    expect(Array.from(await low.data())).toEqual([1, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 1]);
    const lowS = lowPassMask({ size: [4, 4], cutoff: 0.5, shifted: true, layout: 'hw' });
    expect(Array.from(await lowS.data())).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1]);
    const lowH = lowPassMask({ size: [4, 4], cutoff: 0.5, half: true });
    expect(lowH.shape).toEqual([1, 4, 3, 1]);
    expect(Array.from(await lowH.data())).toEqual([1, 1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0]);
    const high = highPassMask({ size: [4, 4], cutoff: 0.5, layout: 'hw' });
    expect(Array.from(await tf.add(low, high).data())).toEqual(new Array(16).fill(1));
    const band = bandPassMask({ size: [4, 4], low: 0.3, high: 0.5, layout: 'hw' }); // 0.707 < |f| ≤ 1.414 → 8 bins
    expect((await tf.sum(band).data())[0]).toBe(8);
    // The mask broadcasts onto an rfft2 spectrum.
    const z = rfft2(rnd([2, 4, 4, 3], 1));
    const filtered = tf.mul(z.re, lowH);
    expect(filtered.shape).toEqual([2, 4, 3, 3]);
    tf.dispose([low, lowS, lowH, high, band, z.re, z.im, filtered]);
  });
});

describe('bad input → typed errors, no leaks', () => {
  it('rejects complex64, integer, low-rank, mismatched, mis-sized and unknown options', () =>
    expectNoLeaks(async () => {
      const x = tf.zeros([1, 4, 4, 1]);
      const xi = tf.zeros([1, 4, 4, 1], 'int32');
      const v = tf.zeros([8]);
      // wasm has no Complex kernel, so no complex64 tensor can exist there; the other backends check the rejection.
      const c64 = tf.getBackend() === 'wasm' ? null : tf.tidy(() => tf.complex(tf.zeros([4, 4]), tf.zeros([4, 4])));
      const re = tf.zeros([1, 4, 3, 1]);
      const im = tf.zeros([1, 4, 2, 1]);
      // Nothing is allocated before the checks pass.
      await expectNoLeaks(() => {
        if (c64) {
          expect(() => rfft2(c64)).toThrow(DTypeError);
          expect(() => rfft2(c64)).toThrow(/complex64/);
          expect(() => fft2(c64 as never)).toThrow(/complex64/);
          expect(() => irfft2(c64 as never)).toThrow(/complex64/);
          expect(() => fftshift(c64)).toThrow(/complex64/);
        }
        expect(() => rfft2(xi)).toThrow(/float32, got int32/);
        expect(() => rfft2(v)).toThrow(ShapeError);
        expect(() => rfft2(v)).toThrow(/rank ≥ 2/);
        expect(() => irfft2({ re, im })).toThrow(/same shape/);
        expect(() => ifft2({ re, im: xi } as never)).toThrow(DTypeError);
        expect(() => irfft2({ re, im: re }, { size: [4, 8] })).toThrow(ShapeError);
        expect(() => irfft2({ re, im: re }, { size: [4, 8] })).toThrow(/does not fit the spectrum/);
        expect(() => irfft2({ re, im: re }, { size: [5, 4] })).toThrow(/H = 5/);
        expect(() => irfft2({ re, im: re }, { size: [4, 2.5] as never })).toThrow(/option 'size' must be two positive integers \[H, W\]/);
        expect(() => rfft2(x, { norm: 'unitary' as never })).toThrow(ConfigError);
        expect(() => rfft2(x, { norm: 'unitary' as never })).toThrow(`rfft2: option 'norm' must be one of 'backward', 'ortho', 'forward', got "unitary"`);
        expect(() => rfft2(x, { path: 'fast' as never })).toThrow(/option 'path' must be one of 'auto', 'matmul', 'fourstep', 'kernel'/);
        if (!KERNEL_BACKENDS.includes(tf.getBackend())) {
          expect(() => rfft2(x, { path: 'kernel' })).toThrow(BackendError);
          expect(() => rfft2(x, { path: 'kernel' })).toThrow(/path 'kernel' needs the webgl, webgpu, wasm backend/);
        }
        if (tf.getBackend() === 'wasm')
          withSettings({ wasmKernels: false }, () => {
            expect(() => rfft2(x, { path: 'kernel' })).toThrow(BackendError);
            expect(() => rfft2(x, { path: 'kernel' })).toThrow(/path 'kernel' on wasm needs restorekit's wasm kernels/);
          });
        expect(() => rfft2(x, { axes: [1, 1] })).toThrow(/same axis twice/);
        expect(() => rfft2(x, { axes: [1, 4] })).toThrow(/out of range/);
        expect(() => rfft2(x, { axes: [1] as never })).toThrow(/option 'axes' must be two integer axes/);
        expect(() => fftshift(x, { axes: [7] })).toThrow(ConfigError);
        expect(() => roll(x, 1, 4)).toThrow(/out of range/);
        expect(() => roll(x, 0.5, 1)).toThrow(ConfigError);
        expect(() => lowPassMask({ size: [4, 4], cutoff: -1 })).toThrow(/option 'cutoff' must be a finite number ≥ 0/);
        expect(() => lowPassMask({ size: [4, 4] } as never)).toThrow(/option 'cutoff' is required/);
        expect(() => radialFrequency({ size: [4, 0] })).toThrow(/option 'size' must be two positive integers/);
        expect(() => radialFrequency({ size: [4, 4], layout: 'nchw' as never })).toThrow(/option 'layout' must be one of 'nhwc', 'hw'/);
        expect(() => bandPassMask({ size: [4, 4], low: 0.5, high: 0.2 })).toThrow(ConfigError);
        expect(() => fromPolar(re, im)).toThrow(ShapeError);
      }, 'the rejected calls');
      tf.dispose([x, xi, v, re, im]);
      c64?.dispose();
    }, 'bad input'));

  it('a value that is not a tensor is a DTypeError naming it, in every op', () => {
    const notTensors: unknown[] = [null, undefined, 3, [1, 2, 3], { shape: [2, 2] }, 'x'];
    const ops: [string, (v: unknown) => unknown][] = [
      ['rfft2', (v) => rfft2(v as never)],
      ['irfft2', (v) => irfft2(v as never)],
      ['irfft2', (v) => irfft2({ re: v, im: v } as never)],
      ['fft2', (v) => fft2(v as never)],
      ['ifft2', (v) => ifft2({ re: tf.zeros([2, 2]), im: v } as never)],
      ['fftshift', (v) => fftshift(v as never)],
      ['ifftshift', (v) => ifftshift(v as never)],
      ['roll', (v) => roll(v as never, 1, 0)],
      ['amplitude', (v) => amplitude(v as never)],
      ['phase', (v) => phase({ re: v, im: v } as never)],
      ['fromPolar', (v) => fromPolar(v as never, v as never)],
      ['complexMul', (v) => complexMul(v as never, v as never)],
      ['conj', (v) => conj(v as never)],
    ];
    for (const [op, f] of ops)
      for (const v of notTensors) {
        const what = `${op}(${JSON.stringify(v) ?? 'undefined'})`;
        expect(() => tf.tidy(() => void f(v)), what).toThrow(DTypeError);
        expect(() => tf.tidy(() => void f(v)), what).toThrow(new RegExp(`^${op}: `));
      }
  });

  it('unknown options are ConfigErrors naming the meant option (they used to be ignored)', () => {
    const x = tf.zeros([1, 4, 4, 1]);
    expect(() => rfft2(x, { Norm: 'ortho' } as never)).toThrow(`rfft2: unknown option 'Norm' (did you mean 'norm'?)`);
    expect(() => irfft2({ re: x, im: x }, { sizes: [4, 6] } as never)).toThrow(`irfft2: unknown option 'sizes' (did you mean 'size'?)`);
    expect(() => fft2(x, { axis: [1, 2] } as never)).toThrow(`fft2: unknown option 'axis' (did you mean 'axes'?)`);
    expect(() => fftshift(x, { dims: [1] } as never)).toThrow(/fftshift: unknown option 'dims'/);
    expect(() => lowPassMask({ size: [4, 4], cutoff: 0.5, cut_off: 0.2 } as never)).toThrow(`lowPassMask: unknown option 'cut_off' (did you mean 'cutoff'?)`);
    x.dispose();
  });
});

describe('basis cache', () => {
  it('keeps one basis per (backend, kind, size, scale) until releaseFFTCache', () =>
    withSettings({ fftCache: true }, () =>
      expectNoLeaks(async () => {
        const x = rnd([1, 8, 6, 1], 5);
        const before = tf.memory().numTensors;
        const z = rfft2(x, { path: 'matmul' }); // bases: r2c(6), c2c(8)
        tf.dispose([z.re, z.im]);
        // 'left' layout: re and im bases of r2c(6) and c2c(8); wasm's 'rows' layout: every product is
        // rows·Bᵀ, so the r2c re/im and the split c2c C and S bases, each with its cached transpose.
        const expected = tf.getBackend() === 'wasm' ? 8 : 4;
        expect(tf.memory().numTensors - before).toBe(expected);
        expect(fftCacheSize()).toBe(expected);
        const z2 = rfft2(x, { path: 'matmul' }); // reuses them
        tf.dispose([z2.re, z2.im]);
        expect(tf.memory().numTensors - before).toBe(expected);
        expect(releaseFFTCache()).toBe(expected);
        expect(fftCacheSize()).toBe(0);
        x.dispose();
      }, 'cache then releaseFFTCache'),
    ));

  it('configure({ fftCache: false }) releases the cache; with it off nothing is kept', () =>
    withSettings({ fftCache: true }, () =>
      expectNoLeaks(async () => {
        const x = rnd([1, 8, 6, 1], 5);
        const z = rfft2(x, { path: 'matmul' });
        tf.dispose([z.re, z.im]);
        expect(fftCacheSize()).toBeGreaterThan(0);
        const n = tf.memory().numTensors;
        const size = fftCacheSize();
        configure({ fftCache: false });
        expect(fftCacheSize()).toBe(0);
        expect(tf.memory().numTensors).toBe(n - size);
        const z2 = rfft2(x, { path: 'matmul' });
        expect(fftCacheSize()).toBe(0);
        tf.dispose([z2.re, z2.im, x]);
      }, 'turning the cache off'),
    ));
});
