import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '@restorekit/core';
import { compose, filter2d, gaussianBlur, gaussianKernel2d, gaussianNoise, poissonGaussianNoise, type HostImage } from './degrade.js';
import { Rng } from './rng.js';

const ramp = (h: number, w: number, c: number): HostImage => ({
  data: Float32Array.from({ length: h * w * c }, (_, i) => 0.2 + (0.6 * ((i * 7919) % 97)) / 97),
  shape: [h, w, c],
});

describe('seeded degradations', () => {
  it('the same image and seed give the same image and label; another seed does not', () => {
    const img = ramp(16, 16, 3);
    const degs = [
      gaussianNoise({ sigma: [0.02, 0.2], range: true, perChannel: true }),
      poissonGaussianNoise({ a: [0.005, 0.02], b: [0, 0.03] }),
      gaussianBlur({ kernelSize: 7, sigmaX: [0.5, 2], sigmaY: [0.5, 2], theta: [0, Math.PI] }),
      compose(gaussianBlur({ kernelSize: 5, sigmaX: 1 }), gaussianNoise({ sigma: 0.05 })),
    ];
    for (const d of degs) {
      const a = d(img, new Rng(5));
      const b = d(img, new Rng(5));
      const c = d(img, new Rng(6));
      expect(Array.from(a.image.data)).toEqual(Array.from(b.image.data));
      expect(a.label).toEqual(b.label);
      expect(Array.from(a.image.data)).not.toEqual(Array.from(c.image.data));
      expect(a.image.shape).toEqual([16, 16, 3]);
    }
    // The input is never modified.
    expect(Array.from(img.data)).toEqual(Array.from(ramp(16, 16, 3).data));
  });

  it('Gaussian noise: σ per channel, reported in the label and visible in the residual', () => {
    const img: HostImage = { data: new Float32Array(64 * 64 * 3).fill(0.5), shape: [64, 64, 3] };
    const { image, label } = gaussianNoise({ sigma: [0.01, 0.05, 0.1] })(img, new Rng(1));
    expect(label).toEqual({ type: 'gaussianNoise', sigma: [0.01, 0.05, 0.1] });
    for (let ch = 0; ch < 3; ch++) {
      let s = 0;
      for (let i = ch; i < image.data.length; i += 3) s += (image.data[i]! - 0.5) ** 2;
      expect(Math.abs(Math.sqrt(s / 4096) / (label.sigma as number[])[ch]! - 1)).toBeLessThan(0.05);
    }
    const drawn = gaussianNoise({ sigma: [0.1, 0.2], range: true })(img, new Rng(2)).label.sigma as number[];
    expect(drawn[0]).toBe(drawn[2]);
    expect(drawn[0]).toBeGreaterThanOrEqual(0.1);
    expect(drawn[0]).toBeLessThan(0.2);
    expect(() => gaussianNoise({ sigma: [0.1, 0.2] })(img, new Rng(1))).toThrow(ShapeError);
    expect(() => gaussianNoise({ sigma: 0.1, perChannel: true })).toThrow(ConfigError);
  });

  it('Poisson–Gaussian noise: mean x, variance a·x + b²', () => {
    const x = 0.4;
    const img: HostImage = { data: new Float32Array(128 * 128).fill(x), shape: [128, 128, 1] };
    const { image, label } = poissonGaussianNoise({ a: 0.01, b: 0.02 })(img, new Rng(3));
    expect(label).toEqual({ type: 'poissonGaussianNoise', a: 0.01, b: 0.02 });
    const d = Array.from(image.data);
    const m = d.reduce((s, v) => s + v, 0) / d.length;
    const v = d.reduce((s, t) => s + (t - m) ** 2, 0) / d.length;
    expect(Math.abs(m - x)).toBeLessThan(0.002);
    expect(Math.abs(v / (0.01 * x + 0.02 ** 2) - 1)).toBeLessThan(0.05);
  });

  it("BasicSR's bivariate Gaussian kernel and cv2.filter2D borders (BORDER_REFLECT_101)", () => {
    // Isotropic 3×3, σ 1: weights ∝ exp(−(x² + y²)/2).
    const k = gaussianKernel2d(3, 1);
    const e1 = Math.exp(-0.5);
    const e2 = Math.exp(-1);
    const z = 1 + 4 * e1 + 4 * e2;
    const want = [e2, e1, e2, e1, 1, e1, e2, e1, e2].map((v) => v / z);
    k.forEach((v, i) => {
      expect(Math.abs(v - want[i]!)).toBeLessThan(1e-15);
    });
    // Anisotropic, rotated by 90°: σx and σy swap roles.
    const a = gaussianKernel2d(5, 2, 0.5, 0);
    const b = gaussianKernel2d(5, 0.5, 2, Math.PI / 2);
    a.forEach((v, i) => {
      expect(Math.abs(v - b[i]!)).toBeLessThan(1e-12);
    });
    // Σ along x: the kernel is wider along columns than rows.
    expect(a[2 * 5 + 0]!).toBeGreaterThan(a[0 * 5 + 2]!);
    // filter2D: a 1×3 row [1, 2, 3] (as 3 rows of one pixel each: h = 3, w = 1) with a kernel that picks the row above.
    const up = new Float64Array([0, 1, 0, 0, 0, 0, 0, 0, 0]);
    const col: HostImage = { data: Float32Array.from([1, 2, 3]), shape: [3, 1, 1] };
    // Row −1 reflects to row 1 (reflect-101), so the top pixel reads 2.
    expect(Array.from(filter2d(col, up, 3).data)).toEqual([2, 1, 2]);
    const blurred = gaussianBlur({ kernelSize: 5, sigmaX: 1.2 })(ramp(8, 8, 2), new Rng(0));
    expect(blurred.label).toMatchObject({ type: 'gaussianBlur', kernelSize: 5, sigmaX: 1.2, sigmaY: 1.2, theta: 0 });
    // A normalised kernel keeps a constant image constant.
    const flat = gaussianBlur({ kernelSize: 7, sigmaX: 2 })({ data: new Float32Array(25).fill(0.3), shape: [5, 5, 1] }, new Rng(0));
    flat.image.data.forEach((v) => {
      expect(Math.abs(v - 0.3)).toBeLessThan(1e-6);
    });
    expect(() => gaussianBlur({ kernelSize: 4, sigmaX: 1 })).toThrow(/odd/);
  });
});
