import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, backendsPreferring, matMul, prefers } from '../index.js';
import { transpose2d } from './matmul.js';

describe('core matMul: 2-D products whose gradients are plain products on wasm', () => {
  // [m, k, n]; a square b of a tall a ([300, 13]·[13, 13]: the channel attention's v·A) takes its b-gradient aᵀ·dy
  // from restorekit's Gram kernel on wasm
  for (const [m, k, n] of [
    [37, 19, 23],
    [300, 13, 13],
  ])
    it(`value and both gradients equal tf.matMul’s on this backend ([${m}, ${k}]·[${k}, ${n}])`, async () => {
      const before = tf.memory().numTensors;
      const a = tf.randomNormal([m, k], 0, 1, 'float32', 1) as tf.Tensor2D;
      const b = tf.randomNormal([k, n], 0, 1, 'float32', 2) as tf.Tensor2D;
      const probe = tf.randomNormal([m, n], 0, 1, 'float32', 3);
      const f = (mm: typeof matMul) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x as tf.Tensor2D, y as tf.Tensor2D), probe));
      const mine = tf.grads(f(matMul))([a, b]);
      const ref = tf.grads(f((x, y) => tf.matMul(x, y)))([a, b]);
      const y0 = tf.matMul(a, b);
      const y1 = matMul(a, b);
      const close = async (p: tf.Tensor, q: tf.Tensor) => {
        const [u, v] = [await p.data(), await q.data()];
        for (let i = 0; i < v.length; i++) expect(Math.abs(u[i]! - v[i]!)).toBeLessThan(1e-3 * (1 + Math.abs(v[i]!)));
      };
      await close(y1, y0);
      await close(mine[0]!, ref[0]!);
      await close(mine[1]!, ref[1]!);
      tf.dispose([a, b, probe, y0, y1, ...mine, ...ref]);
      expect(tf.memory().numTensors).toBe(before);
    });

  it('computes only the gradients the backward needs (none for a constant operand)', async () => {
    const before = tf.memory().numTensors;
    const init = tf.randomNormal([64, 8], 0, 1, 'float32', 4);
    const a = tf.variable(init);
    init.dispose();
    const basis = tf.randomNormal([8, 5], 0, 1, 'float32', 5) as tf.Tensor2D;
    const { value, grads } = tf.variableGrads(() => tf.sum(matMul(a as unknown as tf.Tensor2D, basis)) as tf.Scalar, [a]);
    const prof = await tf.profile(() => tf.variableGrads(() => tf.sum(matMul(a as unknown as tf.Tensor2D, basis)) as tf.Scalar, [a]));
    // forward product + one gradient product (dA); no aᵀ·dy for the constant
    expect(prof.kernels.filter((k) => k.name === 'BatchMatMul' || k.name === 'RestorekitMatMul').length).toBe(2);
    const r = prof.result as unknown as { value: tf.Tensor; grads: Record<string, tf.Tensor> };
    tf.dispose([value, grads[a.name]!, r.value, ...Object.values(r.grads), a, basis]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names bad shapes', () => {
    const a = tf.zeros([2, 3]) as tf.Tensor2D;
    const b = tf.zeros([4, 5]) as tf.Tensor2D;
    expect(() => matMul(a, b)).toThrow(ShapeError);
    expect(() => matMul(a, b)).toThrow(/\[2, 3\] · \[4, 5\]/);
    tf.dispose([a, b]);
  });

  it('transpose2d equals tf.transpose, in the split form exactly where core prefers it; matMul gradients through it', async () => {
    const before = tf.memory().numTensors;
    for (const [r, c, split] of [
      [2048, 28, true],
      [1056, 9, true],
      [1000, 12, false], // not a multiple of 32
      [4096, 3, false], // too few columns to matter
      [64, 40, false], // too few rows
    ] as const) {
      const x = tf.randomNormal([r, c], 0, 1, 'float32', r + c) as tf.Tensor2D;
      const prof = await tf.profile(() => transpose2d(x));
      const t = prof.result as tf.Tensor;
      const want = tf.transpose(x);
      expect(t.shape).toEqual([c, r]);
      expect(Array.from(await t.data())).toEqual(Array.from(await want.data()));
      const ranks = prof.kernels.filter((k) => k.name === 'Transpose').map((k) => k.inputShapes[0]!.length);
      expect(ranks, `${r}×${c}`).toEqual([split && prefers('splitTranspose') ? 3 : 2]);
      tf.dispose([x, t, want]);
    }
    const a = tf.randomNormal([2048, 16], 0, 1, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomNormal([16, 8], 0, 1, 'float32', 2) as tf.Tensor2D;
    const dy = tf.randomNormal([2048, 8], 0, 1, 'float32', 3);
    const mine = tf.grads((x: tf.Tensor, y: tf.Tensor) => matMul(x as tf.Tensor2D, y as tf.Tensor2D))([a, b], dy);
    const db = tf.matMul(a, dy, true, false);
    const [u, v] = [await mine[1]!.data(), await db.data()];
    for (let i = 0; i < v.length; i++) expect(Math.abs(u[i]! - v[i]!)).toBeLessThan(1e-3 * (1 + Math.abs(v[i]!)));
    tf.dispose([a, b, dy, db, ...mine]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('wasm is the backend that takes the plain-product gradients', () => {
    expect(backendsPreferring('plainMatMulGradients')).toEqual(['wasm']);
  });
});
