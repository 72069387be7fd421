import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, ShapeError, losses } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { CharbonnierLoss, L1Loss, MSELoss, charbonnierLoss, l1Loss, mseLoss } from './index.js';
import { directionalDerivative, gradStats, randomImage, scalar } from './test-helpers.js';

// Elementwise pixel losses (L1, MSE, Charbonnier) with BasicSR's weight/reduction semantics, checked by hand.
const P = [0.2, 0.7, 0.4, 0.1]; // [1, 1, 2, 2]: pixel 0 = (0.2, 0.7), pixel 1 = (0.4, 0.1)
const T = [0.5, 0.5, 0.5, 0.5];
const D = P.map((p, i) => p - T[i]!); // −0.3, 0.2, −0.1, −0.4
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;

describe('pixel losses (L1, MSE, Charbonnier)', () => {
  it('match hand computations for every reduction and weight layout', async () => {
    await expectNoLeaks(async () => {
      const p = tf.tensor4d(P, [1, 1, 2, 2]);
      const t = tf.tensor4d(T, [1, 1, 2, 2]);
      const v = async (x: tf.Tensor) => {
        const r = Array.from(await x.data());
        x.dispose();
        return r;
      };
      expect((await v(l1Loss(p, t)))[0]).toBeCloseTo(0.25, 6);
      expect((await v(mseLoss(p, t)))[0]).toBeCloseTo(0.075, 6);
      const ch = mean(D.map((d) => Math.sqrt(d * d + 1e-6)));
      expect((await v(charbonnierLoss(p, t)))[0]).toBeCloseTo(ch, 6);
      // Upstream BasicSR's sqrt(d² + 1e-12) is eps = 1e-6 in this form.
      expect((await v(charbonnierLoss(p, t, { eps: 1e-6 })))[0]).toBeCloseTo(mean(D.map((d) => Math.sqrt(d * d + 1e-12))), 6);
      expect((await v(l1Loss(p, t, { reduction: 'sum' })))[0]).toBeCloseTo(1.0, 6);
      const none = await v(l1Loss(p, t, { reduction: 'none' }));
      none.forEach((x, i) => {
        expect(x).toBeCloseTo(Math.abs(D[i]!), 6);
      });
      // One-channel weight: BasicSR divides the weighted sum by sum(w)·C = 1·2.
      const w1 = tf.tensor4d([1, 0], [1, 1, 2, 1]);
      expect((await v(l1Loss(p, t, { weight: w1 })))[0]).toBeCloseTo((0.3 + 0.2) / 2, 6);
      expect((await v(mseLoss(p, t, { weight: w1, reduction: 'sum' })))[0]).toBeCloseTo(0.09 + 0.04, 6);
      // Full-channel weight: divided by sum(w).
      const w2 = tf.tensor4d([1, 0, 0.5, 0.5], [1, 1, 2, 2]);
      expect((await v(l1Loss(p, t, { weight: w2 })))[0]).toBeCloseTo((0.3 + 0.05 + 0.2) / 2, 6);
      const wn = await v(l1Loss(p, t, { weight: w2, reduction: 'none' }));
      expect(wn.map((x) => +x.toFixed(6))).toEqual([0.3, 0, 0.05, 0.2]);
      tf.dispose([p, t, w1, w2]);
    });
  });

  it('registered objects apply lossWeight and round-trip their config', async () => {
    await expectNoLeaks(async () => {
      const p = tf.tensor4d(P, [1, 1, 2, 2]);
      const t = tf.tensor4d(T, [1, 1, 2, 2]);
      for (const [type, want] of [
        ['L1Loss', 0.25],
        ['MSELoss', 0.075],
        ['CharbonnierLoss', mean(D.map((d) => Math.sqrt(d * d + 1e-6)))],
      ] as const) {
        const loss = losses.create({ type, lossWeight: 2 }) as L1Loss;
        const y = loss.call(p, t);
        expect(await scalar(y)).toBeCloseTo(2 * want, 6);
        y.dispose();
        const again = losses.create(loss.getConfig()) as L1Loss;
        expect(again.getConfig()).toEqual(loss.getConfig());
        expect(losses.toConfig(type, loss)).toEqual({ type, lossWeight: 2 });
      }
      expect(new CharbonnierLoss({ eps: 1e-6 }).getConfig()).toEqual({ type: 'CharbonnierLoss', eps: 1e-6 });
      tf.dispose([p, t]);
    });
  });

  it('reject bad input with typed errors and leak nothing', async () => {
    await expectNoLeaks(async () => {
      const a = tf.zeros([1, 4, 4, 3]);
      const b = tf.zeros([1, 4, 5, 3]);
      expect(() => l1Loss(a, b)).toThrow(ShapeError);
      expect(() => l1Loss(a, b)).toThrow(/\[1, 4, 4, 3\] does not match target shape \[1, 4, 5, 3\]/);
      expect(() => new MSELoss().call(a, b)).toThrow(ShapeError);
      expect(() => new L1Loss({ reduction: 'avg' as never })).toThrow(ConfigError);
      expect(() => l1Loss(a, a, { reduction: 'avg' as never })).toThrow(/unknown reduction 'avg'/);
      expect(() => losses.create({ type: 'CharbonnierLoss', eps: -1 })).toThrow(ConfigError);
      const w = tf.ones([1, 4, 4, 2]);
      expect(() => l1Loss(a, a, { weight: w })).toThrow(ShapeError);
      const i = tf.zeros([1, 4, 4, 3], 'int32');
      expect(() => l1Loss(i, a)).toThrow(DTypeError);
      // not a tensor at all is a DTypeError too (one error type per kind of mistake)
      expect(() => l1Loss([[0.5]] as never, a)).toThrow(DTypeError);
      expect(() => new MSELoss().call(a, { shape: [1, 4, 4, 3] } as never)).toThrow(/target must be a tf.Tensor, got object/);
      tf.dispose([a, b, w, i]);
    });
  });

  it('gradients reach the prediction (finite, non-zero; finite differences for MSE and Charbonnier)', async () => {
    await expectNoLeaks(async () => {
      const x = randomImage([2, 6, 5, 3], 11);
      const y = randomImage([2, 6, 5, 3], 12);
      const w = randomImage([2, 6, 5, 1], 13);
      for (const loss of [new L1Loss(), new MSELoss(), new CharbonnierLoss()]) {
        const g = await gradStats((p) => loss.call(p, y, { weight: w }) as tf.Scalar, x);
        expect(g.finite && g.maxAbs > 0, `${loss.type} gradient`).toBe(true);
      }
      for (const loss of [new MSELoss({ lossWeight: 3 }), new CharbonnierLoss()]) {
        const [a, n] = await directionalDerivative((p) => loss.call(p, y, { weight: w }) as tf.Scalar, x, 1e-3);
        expect(Math.abs(a - n), `${loss.type}: analytic ${a} vs numeric ${n}`).toBeLessThan(2e-2 * Math.abs(a) + 1e-4);
      }
      tf.dispose([x, y, w]);
    });
  });
});
