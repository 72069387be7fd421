import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, losses } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { ssimTensor } from '@restorekit/metrics';
import { PSNRLoss, SSIMLoss, psnrLoss, ssimLoss } from './index.js';
import { directionalDerivative, gradStats, randomImage, scalar } from './test-helpers.js';

/** Float64 SSIM straight from the definition: every valid window position, direct 2-D sums. */
function ssimReference(x: Float32Array, y: Float32Array, [b, h, w, c]: number[], kernel2d: number[][], cov: number): number[] {
  const n = kernel2d.length;
  const at = (a: Float32Array, bi: number, i: number, j: number, ch: number) => a[((bi * h + i) * w + j) * c + ch]!;
  const out: number[] = [];
  for (let bi = 0; bi < b; bi++) {
    let s = 0;
    let cnt = 0;
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i + n <= h; i++)
        for (let j = 0; j + n <= w; j++) {
          let ux = 0,
            uy = 0,
            uxx = 0,
            uyy = 0,
            uxy = 0;
          for (let u = 0; u < n; u++)
            for (let v = 0; v < n; v++) {
              const k = kernel2d[u]![v]!;
              const a = at(x, bi, i + u, j + v, ch);
              const bb = at(y, bi, i + u, j + v, ch);
              ux += k * a;
              uy += k * bb;
              uxx += k * a * a;
              uyy += k * bb * bb;
              uxy += k * a * bb;
            }
          const vx = cov * (uxx - ux * ux),
            vy = cov * (uyy - uy * uy),
            vxy = cov * (uxy - ux * uy);
          const c1 = 0.01 ** 2,
            c2 = 0.03 ** 2;
          s += ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
          cnt++;
        }
    out.push(s / cnt);
  }
  return out;
}

function gaussian2d(n: number, sigma: number): number[][] {
  const g = Array.from({ length: n }, (_, i) => Math.exp(-((i - (n - 1) / 2) ** 2) / (2 * sigma * sigma)));
  const s = g.reduce((a, b) => a + b, 0);
  return g.map((a) => g.map((b) => (a * b) / (s * s)));
}

describe('SSIM and PSNR losses', () => {
  it('SSIM (Gaussian 11×11 σ 1.5, population covariance; uniform 7×7, sample covariance) matches a float64 reference', async () => {
    await expectNoLeaks(async () => {
      const shape = [2, 15, 13, 3];
      const x = randomImage(shape, 1);
      // a correlated target so that SSIM is far from 0
      const y = tf.tidy(() => tf.clipByValue(tf.add(tf.mul(x, 0.8), tf.mul(randomImage(shape, 2), 0.3)), 0, 1));
      const xd = (await x.data()) as Float32Array;
      const yd = (await y.data()) as Float32Array;
      const gRef = ssimReference(xd, yd, shape, gaussian2d(11, 1.5), 1);
      const uRef = ssimReference(
        xd,
        yd,
        shape,
        Array.from({ length: 7 }, () => Array(7).fill(1 / 49)),
        49 / 48,
      );
      // the SSIM the loss is built on: @restorekit/metrics' ssimTensor
      const g = ssimTensor(x, y);
      const u = ssimTensor(x, y, { window: 'uniform' });
      const gv = Array.from(await g.data());
      const uv = Array.from(await u.data());
      gv.forEach((v, i) => {
        expect(Math.abs(v - gRef[i]!), `gaussian ${v} vs ${gRef[i]}`).toBeLessThan(2e-5);
      });
      uv.forEach((v, i) => {
        expect(Math.abs(v - uRef[i]!), `uniform ${v} vs ${uRef[i]}`).toBeLessThan(2e-5);
      });
      expect(gRef[0]).toBeGreaterThan(0.3);
      const l = new SSIMLoss({ window: 'uniform', lossWeight: 0.5 }).call(x, y);
      expect(await scalar(l)).toBeCloseTo(0.5 * (1 - (uRef[0]! + uRef[1]!) / 2), 5);
      const perSample = ssimLoss(x, y, { reduction: 'none' });
      expect(perSample.shape).toEqual([2]);
      for (const [i, v] of (await perSample.data()).entries()) expect(v).toBeCloseTo(1 - gRef[i]!, 5);
      // outOfRange: 'clip' (FSDerain's clamp) is the SSIM of the clamped images; the config round-trips
      const over = tf.tidy(() => tf.add(x, 0.5));
      const clipped = tf.tidy(() => tf.clipByValue(over, 0, 1));
      const lc = losses.create({ type: 'SSIMLoss', window: 'uniform', outOfRange: 'clip' }) as SSIMLoss;
      expect((losses.create(lc.getConfig()) as SSIMLoss).getConfig()).toEqual({ type: 'SSIMLoss', window: 'uniform', outOfRange: 'clip' });
      const [a, b] = [lc.call(over, y), ssimLoss(clipped, y, { window: 'uniform' })];
      expect(await scalar(a)).toBeCloseTo(await scalar(b), 6);
      tf.dispose([over, clipped, a, b]);
      tf.dispose([x, y, g, u, l, perSample]);
    });
  });

  it('PSNR loss = 10/ln10 · mean_b ln(MSE_b + 1e-8), toY on BT.601 luma', async () => {
    await expectNoLeaks(async () => {
      const x = randomImage([2, 4, 3, 3], 5);
      const y = randomImage([2, 4, 3, 3], 6);
      const xd = await x.data();
      const yd = await y.data();
      const per = [0, 1].map((b) => {
        let s = 0;
        for (let i = 0; i < 36; i++) s += (xd[b * 36 + i]! - yd[b * 36 + i]!) ** 2;
        return (10 / Math.log(10)) * Math.log(s / 36 + 1e-8);
      });
      const l = psnrLoss(x, y);
      expect(await scalar(l)).toBeCloseTo((per[0]! + per[1]!) / 2, 4);
      const lum = (d: ArrayLike<number>, b: number, p: number) =>
        (65.481 * d[b * 36 + p * 3]! + 128.553 * d[b * 36 + p * 3 + 1]! + 24.966 * d[b * 36 + p * 3 + 2]! + 16) / 255;
      const perY = [0, 1].map((b) => {
        let s = 0;
        for (let p = 0; p < 12; p++) s += (lum(xd, b, p) - lum(yd, b, p)) ** 2;
        return (10 / Math.log(10)) * Math.log(s / 12 + 1e-8);
      });
      const ly = losses.create({ type: 'PSNRLoss', toY: true, reduction: 'none' }) as PSNRLoss;
      const lyv = ly.call(x, y);
      expect(lyv.shape).toEqual([2]);
      Array.from(await lyv.data()).forEach((a, i) => {
        expect(a).toBeCloseTo(perY[i]!, 4);
      });
      tf.dispose([x, y, l, lyv]);
    });
  });

  it('gradients reach the prediction and match finite differences', async () => {
    await expectNoLeaks(async () => {
      const x = randomImage([2, 13, 12, 3], 8);
      const y = tf.tidy(() => tf.clipByValue(tf.add(tf.mul(x, 0.7), tf.mul(randomImage([2, 13, 12, 3], 9), 0.3)), 0, 1));
      for (const loss of [new SSIMLoss(), new SSIMLoss({ window: 'uniform' }), new PSNRLoss(), new PSNRLoss({ toY: true })]) {
        const f = (p: tf.Tensor) => loss.call(p, y) as tf.Scalar;
        const g = await gradStats(f, x);
        expect(g.finite && g.maxAbs > 0, `${JSON.stringify(loss.getConfig())} gradient`).toBe(true);
        const [a, n] = await directionalDerivative(f, x, 1e-3);
        expect(Math.abs(a - n), `${JSON.stringify(loss.getConfig())}: analytic ${a} vs numeric ${n}`).toBeLessThan(3e-2 * Math.abs(a) + 2e-4);
      }
      tf.dispose([x, y]);
    });
  });

  it('typed errors: shape mismatch, window larger than the image, bad options, weight mask', async () => {
    await expectNoLeaks(async () => {
      const a = tf.zeros([1, 8, 8, 3]);
      const b = tf.zeros([1, 8, 8, 1]);
      expect(() => ssimLoss(a, b)).toThrow(ShapeError);
      expect(() => ssimLoss(a, a)).toThrow(/11×11 window does not fit the 8×8 image/);
      expect(() => new SSIMLoss({ windowSize: 4 })).toThrow(ConfigError);
      expect(() => new SSIMLoss({ window: 'box' as never })).toThrow(ConfigError);
      expect(() => new SSIMLoss({ clamp: true } as never)).toThrow(/unknown option 'clamp' \(did you mean outOfRange: 'clip'\?\)/);
      expect(() => new SSIMLoss({ reduction: 'max' as never })).toThrow(ConfigError);
      expect(() => new PSNRLoss().call(a, a, { weight: b })).toThrow(ConfigError);
      expect(() => psnrLoss(b, b, { toY: true })).toThrow(ShapeError);
      expect(() => new PSNRLoss({ toY: 'yes' as never })).toThrow(ConfigError);
      tf.dispose([a, b]);
    });
  });
});
