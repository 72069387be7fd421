import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, ShapeError, losses } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { RoutingCrossEntropyLoss, fsdrnetRoutingLabels } from './index.js';
import { directionalDerivative, gradStats, scalar } from './test-helpers.js';

describe('FSDRNet routing cross-entropy with label smoothing (reconstruction)', () => {
  it('matches PyTorch cross_entropy(label_smoothing=0.1) by hand, summed over levels', async () => {
    await expectNoLeaks(async () => {
      const p = tf.tensor2d([
        [0.7, 0.1, 0.1, 0.1],
        [0.25, 0.25, 0.25, 0.25],
      ]);
      const labels = fsdrnetRoutingLabels(['denoise', 'lowlight']);
      expect(Array.from(await labels.data())).toEqual([0, 2]);
      // ε = 0.1, K = 4: target = 0.9·onehot + 0.025
      const l0 = -(0.925 * Math.log(0.7) + 0.075 * Math.log(0.1));
      const l1 = -Math.log(0.25);
      const loss = losses.create({ type: 'RoutingCrossEntropyLoss', lossWeight: 0.01 }) as RoutingCrossEntropyLoss;
      const v = loss.call([p, p], labels);
      expect(await scalar(v)).toBeCloseTo(0.01 * 2 * ((l0 + l1) / 2), 7);
      const none = new RoutingCrossEntropyLoss({ reduction: 'none', labelSmoothing: 0 }).call(p, labels);
      const nv = Array.from(await none.data());
      expect(nv[0]).toBeCloseTo(-Math.log(0.7), 6);
      expect(nv[1]).toBeCloseTo(-Math.log(0.25), 6);
      // logits input: log-softmax inside
      const logits = tf.log(p);
      const vl = new RoutingCrossEntropyLoss({ from: 'logits' }).call(logits, labels);
      expect(await scalar(vl)).toBeCloseTo((l0 + l1) / 2, 5);
      tf.dispose([p, labels, v, none, logits, vl]);
    });
  });

  it('gradients reach the selector outputs and match finite differences', async () => {
    await expectNoLeaks(async () => {
      const logits = tf.tensor2d([
        [0.3, -1.2, 0.5, 2.0],
        [1.1, 0.2, -0.4, 0.0],
        [-0.5, 0.7, 0.1, 0.3],
      ]);
      const labels = tf.tensor1d([3, 0, 1], 'int32');
      const loss = new RoutingCrossEntropyLoss();
      const f = (z: tf.Tensor) => loss.call([tf.softmax(z), tf.softmax(tf.mul(z, 0.5))], labels) as tf.Scalar;
      const g = await gradStats(f, logits);
      expect(g.finite && g.maxAbs > 0).toBe(true);
      const [a, n] = await directionalDerivative(f, logits, 1e-2);
      expect(Math.abs(a - n), `analytic ${a} vs numeric ${n}`).toBeLessThan(1e-2 * Math.abs(a) + 1e-4);
      tf.dispose([logits, labels]);
    });
  });

  it('typed errors', async () => {
    await expectNoLeaks(async () => {
      const p = tf.ones([2, 4]);
      const q = tf.ones([2, 3]);
      const lf = tf.tensor1d([0, 1]);
      const l3 = tf.tensor1d([0, 1, 2], 'int32');
      const loss = new RoutingCrossEntropyLoss();
      expect(() => loss.call(p, lf)).toThrow(DTypeError);
      expect(() => loss.call([p, q], l3)).toThrow(ShapeError);
      expect(() => loss.call(p, l3)).toThrow(ShapeError);
      expect(() => new RoutingCrossEntropyLoss({ labelSmoothing: 2 })).toThrow(ConfigError);
      expect(() => new RoutingCrossEntropyLoss({ reduction: 'all' as never })).toThrow(ConfigError);
      expect(() => fsdrnetRoutingLabels(['superres'])).toThrow(ConfigError);
      tf.dispose([p, q, lf, l3]);
    });
  });
});
