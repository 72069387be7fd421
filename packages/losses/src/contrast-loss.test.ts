import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, losses } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { ContrastLoss, infoNCELoss, pairwiseDistance, tripletLoss } from './index.js';
import { directionalDerivative, gradStats, scalar } from './test-helpers.js';

const A = [
  [1, 0],
  [0, 2],
];
const P = [
  [0.5, 0.5],
  [0, 1],
];
const N = [
  [1, 0.2],
  [3, 2],
];

describe("FSDerain's MultiLevelContrastLoss (triplet + InfoNCE)", () => {
  it('matches hand computations (PyTorch pairwise_distance eps inside, cross-entropy with arange targets)', async () => {
    await expectNoLeaks(async () => {
      const [a, p, n] = [A, P, N].map((m) => tf.tensor2d(m));
      const dist = (u: number[], v: number[]) => Math.hypot(...u.map((x, i) => x - v[i]! + 1e-6));
      const trip = A.map((r, i) => Math.max(0, dist(r, P[i]!) - dist(r, N[i]!) + 0.3)).reduce((x, y) => x + y) / 2;
      const nrm = (r: number[]) => r.map((x) => x / Math.hypot(...r));
      const logits = A.map((r) => P.map((q) => nrm(r).reduce((s, x, k) => s + x * nrm(q)[k]!, 0) / 0.1));
      const nce = logits.map((row, i) => Math.log(row.reduce((s, x) => s + Math.exp(x), 0)) - row[i]!).reduce((x, y) => x + y) / 2;
      const d = pairwiseDistance(a, p);
      expect(Array.from(await d.data())[0]).toBeCloseTo(dist(A[0]!, P[0]!), 6);
      const t = tripletLoss(a, p, n);
      const c = infoNCELoss(a, p);
      expect(await scalar(t)).toBeCloseTo(trip, 6);
      expect(await scalar(c)).toBeCloseTo(nce, 5);
      const loss = losses.create({ type: 'ContrastLoss', lossWeight: 0.1 }) as ContrastLoss;
      const v = loss.call(a, p, { degraded: n });
      expect(await scalar(v)).toBeCloseTo(0.1 * (0.1 * trip + nce), 6);
      const parts = loss.terms(a, p, n);
      expect(await scalar(parts.total)).toBeCloseTo(0.1 * (0.1 * trip + nce), 6);
      tf.dispose([a, p, n, d, t, c, v, parts.total, parts.triplet, parts.infoNCE]);
    });
  });

  it('gradients reach the anchor and match finite differences', async () => {
    await expectNoLeaks(async () => {
      const [a, p, n] = [A, P, N].map((m) => tf.tensor2d(m));
      const loss = new ContrastLoss();
      const f = (x: tf.Tensor) => loss.call(x, p, { degraded: n }) as tf.Scalar;
      const g = await gradStats(f, a);
      expect(g.finite && g.maxAbs > 0).toBe(true);
      const [an, nu] = await directionalDerivative(f, a, 1e-2, 'gradient-sign');
      expect(Math.abs(an - nu), `analytic ${an} vs numeric ${nu}`).toBeLessThan(1e-2 * Math.abs(an) + 1e-4);
      tf.dispose([a, p, n]);
    });
  });

  it('typed errors', async () => {
    await expectNoLeaks(async () => {
      const a = tf.ones([2, 4]);
      const b = tf.ones([3, 4]);
      const r3 = tf.ones([2, 2, 2]);
      const loss = new ContrastLoss();
      expect(() => loss.call(a, a)).toThrow(ConfigError);
      expect(() => loss.call(a, b, { degraded: a })).toThrow(ShapeError);
      expect(() => tripletLoss(a, a, r3)).toThrow(ShapeError);
      expect(() => new ContrastLoss({ temperature: 0 })).toThrow(ConfigError);
      expect(() => new ContrastLoss({ reduction: 'sum' })).toThrow(ConfigError);
      tf.dispose([a, b, r3]);
    });
  });
});
