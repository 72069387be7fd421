import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { rgbToY, ssimMap, ssimSkimageTensor, ssimTensor } from './index.js';

// The one tensor SSIM (map + mean, every window option) and the one RGB→Y, on every backend.
const shape = [2, 15, 13, 3] as const;
const n = shape.reduce((a, b) => a * b, 1);
const noise = (seed: number) => Float32Array.from({ length: n }, (_, i) => Math.abs((Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453) % 1));
const xData = noise(1);
// a correlated target so that SSIM is far from 0
const yData = Float32Array.from(noise(2), (v, i) => Math.min(1, 0.8 * xData[i]! + 0.3 * v));

/** Float64 SSIM straight from the definition: every valid position, direct 2-D window sums, [0, L] values. */
function ssimReference(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  [b, h, w, c]: readonly number[],
  k: number[],
  o: { cov: number; L: number; k1: number; k2: number },
): number[] {
  const m = k.length;
  const at = (a: ArrayLike<number>, bi: number, i: number, j: number, ch: number) => a[((bi * h + i) * w + j) * c + ch]!;
  const c1 = (o.k1 * o.L) ** 2;
  const c2 = (o.k2 * o.L) ** 2;
  const out: number[] = [];
  for (let bi = 0; bi < b; bi++) {
    let s = 0;
    let cnt = 0;
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i + m <= h; i++)
        for (let j = 0; j + m <= w; j++) {
          let ux = 0,
            uy = 0,
            uxx = 0,
            uyy = 0,
            uxy = 0;
          for (let u = 0; u < m; u++)
            for (let v = 0; v < m; v++) {
              const kk = k[u]! * k[v]!;
              const a = at(x, bi, i + u, j + v, ch);
              const bb = at(y, bi, i + u, j + v, ch);
              ux += kk * a;
              uy += kk * bb;
              uxx += kk * a * a;
              uyy += kk * bb * bb;
              uxy += kk * a * bb;
            }
          const vx = o.cov * (uxx - ux * ux),
            vy = o.cov * (uyy - uy * uy),
            vxy = o.cov * (uxy - ux * uy);
          s += ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
          cnt++;
        }
    out.push(s / cnt);
  }
  return out;
}

const gauss = (m: number, sigma: number) => {
  const g = Array.from({ length: m }, (_, i) => Math.exp(-((i - (m - 1) / 2) ** 2) / (2 * sigma * sigma)));
  const s = g.reduce((a, b) => a + b, 0);
  return g.map((v) => v / s);
};

async function values(t: tf.Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

describe('ssimMap / ssimTensor (one differentiable SSIM)', () => {
  it('the map has the valid-window shape and its mean is ssimTensor; uniform is ssimSkimageTensor', async () => {
    await expectNoLeaks(async () => {
      const x = tf.tensor4d(xData, [...shape]);
      const y = tf.tensor4d(yData, [...shape]);
      const map = ssimMap(x, y);
      expect(map.shape).toEqual([2, 5, 3, 3]);
      const mean = await values(tf.mean(map, [1, 2, 3]));
      map.dispose();
      const s = await values(ssimTensor(x, y));
      for (const [i, v] of s.entries()) expect(v).toBeCloseTo(mean[i]!, 7);
      const yMap = ssimMap(x, y, { window: 'uniform', testYChannel: true, cropBorder: 1 });
      expect(yMap.shape).toEqual([2, 7, 5, 1]);
      yMap.dispose();
      expect(await values(ssimTensor(x, y, { window: 'uniform' }))).toEqual(await values(ssimSkimageTensor(x, y)));
      tf.dispose([x, y]);
    });
  });

  it('every window option matches a float64 reference (Gaussian σ, size, K1/K2, covariance, data range)', async () => {
    await expectNoLeaks(async () => {
      const x = tf.tensor4d(xData, [...shape]);
      const y = tf.tensor4d(yData, [...shape]);
      const x255 = tf.mul(x, 255);
      const y255 = tf.mul(y, 255);
      const cases = [
        { opts: {}, k: gauss(11, 1.5), cov: 1, L: 1, k1: 0.01, k2: 0.03, a: xData, b: yData },
        { opts: { window: 'uniform' as const }, k: Array(7).fill(1 / 7), cov: 49 / 48, L: 1, k1: 0.01, k2: 0.03, a: xData, b: yData },
        {
          opts: { windowSize: 5, sigma: 0.8, k1: 0.02, k2: 0.05, sampleCovariance: true },
          k: gauss(5, 0.8),
          cov: 25 / 24,
          L: 1,
          k1: 0.02,
          k2: 0.05,
          a: xData,
          b: yData,
        },
        {
          opts: { window: 'uniform' as const, windowSize: 3, sampleCovariance: false, dataRange: 255 },
          k: Array(3).fill(1 / 3),
          cov: 1,
          L: 255,
          k1: 0.01,
          k2: 0.03,
          a: xData.map((v) => v * 255),
          b: yData.map((v) => v * 255),
        },
      ];
      for (const c of cases) {
        const [p, t] = c.L === 255 ? [x255, y255] : [x, y];
        const want = ssimReference(c.a, c.b, shape, c.k, c);
        const got = await values(ssimTensor(p, t, c.opts));
        for (const [i, v] of got.entries()) expect(Math.abs(v - want[i]!), `${JSON.stringify(c.opts)}: ${v} vs ${want[i]}`).toBeLessThan(2e-5);
        expect(want[0]).toBeGreaterThan(0.3);
      }
      tf.dispose([x, y, x255, y255]);
    });
  });
});

describe('rgbToY (BT.601 luma, the one RGB→Y)', () => {
  it('is 16/255·L + (65.481 R + 128.553 G + 24.966 B)/255 on the input scale, and the Y of testYChannel', async () => {
    await expectNoLeaks(async () => {
      const rgb = [0.2, 0.5, 0.9, 1, 0, 0.25];
      const x = tf.tensor3d(rgb, [1, 2, 3]);
      const want = [0, 3].map((i) => (16 + 65.481 * rgb[i]! + 128.553 * rgb[i + 1]! + 24.966 * rgb[i + 2]!) / 255);
      const y1 = rgbToY(x);
      expect(y1.shape).toEqual([1, 2, 1]);
      for (const [i, v] of (await values(y1)).entries()) expect(v).toBeCloseTo(want[i]!, 6);
      const x255 = tf.tensor3d(
        rgb.map((v) => Math.round(v * 255)),
        [1, 2, 3],
        'int32',
      );
      const want255 = [0, 3].map(
        (i) => 16 + (65.481 * Math.round(rgb[i]! * 255) + 128.553 * Math.round(rgb[i + 1]! * 255) + 24.966 * Math.round(rgb[i + 2]! * 255)) / 255,
      );
      for (const [i, v] of (await values(rgbToY(x255, { dataRange: 255 }))).entries()) expect(v).toBeCloseTo(want255[i]!, 4);
      // differentiable: dY/dRGB are the weights / 255
      const gd = await values(tf.grad((t: tf.Tensor) => tf.sum(rgbToY(t)))(x));
      for (const [i, w] of [65.481, 128.553, 24.966, 65.481, 128.553, 24.966].entries()) expect(gd[i]).toBeCloseTo(w / 255, 6);
      // testYChannel measures exactly this Y (SSIM is scale invariant, so L = 1 here and 255 inside)
      const p = tf.tensor4d(xData, [...shape]);
      const t = tf.tensor4d(yData, [...shape]);
      const onY = await values(ssimTensor(p, t, { testYChannel: true }));
      const [py, ty] = [rgbToY(p), rgbToY(t)];
      const direct = await values(ssimTensor(py, ty));
      for (const [i, v] of onY.entries()) expect(Math.abs(v - direct[i]!)).toBeLessThan(2e-6);
      tf.dispose([x, x255, p, t, py, ty]);
    });
  });
});
