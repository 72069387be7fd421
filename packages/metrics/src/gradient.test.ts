import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { psnr, psnrTensor, ssim, ssimSkimage, ssimSkimageTensor, ssimTensor } from './index.js';

// The tf-op metrics are differentiable: their gradients match central differences of the float64 host metrics.
const H = 14;
const W = 13;
const C = 3;
const N = H * W * C;
const rand = (seed: number) => Float64Array.from({ length: N }, (_, i) => 0.1 + 0.8 * Math.abs((Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453) % 1));
const target = rand(1);
const pred = Float64Array.from(rand(2), (v, i) => 0.6 * target[i]! + 0.4 * v);
const probes = [0, 7, 3 * (5 * W + 6) + 1, 3 * (7 * W + 7) + 2, N - 1];

const cases = [
  { name: 'psnrTensor', tensor: psnrTensor, host: psnr, opts: {} },
  { name: 'ssimTensor', tensor: ssimTensor, host: ssim, opts: {} },
  { name: 'ssimTensor (Y)', tensor: ssimTensor, host: ssim, opts: { testYChannel: true } },
  { name: 'ssimSkimageTensor', tensor: ssimSkimageTensor, host: ssimSkimage, opts: { cropBorder: 1 } },
] as const;

describe('tf-op metrics have correct gradients', () => {
  for (const c of cases)
    it(c.name, async () => {
      const grad = await expectNoLeaks(async () => {
        const p = tf.tensor4d(Float32Array.from(pred), [1, H, W, C]);
        const t = tf.tensor4d(Float32Array.from(target), [1, H, W, C]);
        const g = tf.grad((x: tf.Tensor) => tf.sum(c.tensor(x, t, c.opts)))(p);
        const d = await g.data();
        tf.dispose([p, t, g]);
        return d;
      });
      const eps = 1e-4;
      let scale = 0;
      for (const v of grad) scale = Math.max(scale, Math.abs(v));
      expect(scale).toBeGreaterThan(0);
      for (const i of probes) {
        const up = Float64Array.from(pred);
        const dn = Float64Array.from(pred);
        up[i]! += eps;
        dn[i]! -= eps;
        const host = c.host as typeof ssim;
        const fd =
          ((await host({ data: up, shape: [H, W, C] }, { data: target, shape: [H, W, C] }, c.opts)) -
            (await host({ data: dn, shape: [H, W, C] }, { data: target, shape: [H, W, C] }, c.opts))) /
          (2 * eps);
        expect(Math.abs(grad[i]! - fd), `${c.name} d/dx[${i}]: tf ${grad[i]} vs finite difference ${fd}`).toBeLessThan(2e-3 * scale + 1e-6);
      }
    });
});
