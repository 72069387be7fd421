import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, backendsPreferring, matMul } from '../index.js';

describe('core matMul: 2-D products whose gradients are plain products on wasm', () => {
  it('value and both gradients equal tf.matMul’s on this backend', async () => {
    const before = tf.memory().numTensors;
    const a = tf.randomNormal([37, 19], 0, 1, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomNormal([19, 23], 0, 1, 'float32', 2) as tf.Tensor2D;
    const probe = tf.randomNormal([37, 23], 0, 1, 'float32', 3);
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
    expect(prof.kernels.filter((k) => k.name === 'BatchMatMul').length).toBe(2);
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

  it('wasm is the backend that takes the plain-product gradients', () => {
    expect(backendsPreferring('plainMatMulGradients')).toEqual(['wasm']);
  });
});
