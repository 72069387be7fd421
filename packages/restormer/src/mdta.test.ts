import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, countParams } from '@restorekit/core';
import { checkBlock } from '@restorekit/core/testing';
import { MDTA } from './mdta.js';
import { reproduceFixture } from './test-helpers.js';

describe('MDTA', () => {
  it('reproduces the official Attention (fixture attention_mdta)', () =>
    reproduceFixture('attention_mdta', (c) => new MDTA({ dim: c.dim as number, heads: c.num_heads as number, bias: c.bias as boolean })));

  it('passes the block harness (2 heads, no bias; 1 head with bias)', async () => {
    await checkBlock({ create: () => new MDTA({ dim: 8, heads: 2 }), inputShapes: [[2, 5, 7, 8]], outputShape: [2, 5, 7, 8], trainableWeights: 4 });
    await checkBlock({ create: () => new MDTA({ dim: 4, heads: 1, bias: true }), inputShapes: [[2, 4, 6, 4]], outputShape: [2, 4, 6, 4], trainableWeights: 7 });
  });

  it('has the official keys, shapes and parameter count (C=48, 1 head: 10,513)', () => {
    const m = new MDTA({ dim: 48, heads: 1 });
    m.build([null, null, null, 48]);
    expect(m.torchParameters().map((p) => [p.name, p.torchShape])).toEqual([
      ['temperature', [1, 1, 1]],
      ['qkv.weight', [144, 48, 1, 1]],
      ['qkv_dwconv.weight', [144, 1, 3, 3]],
      ['project_out.weight', [48, 48, 1, 1]],
    ]);
    expect(countParams(m)).toBe(10_513);
    m.dispose();
  });

  it('attention is a softmax over d×d per head: with v = q = k constant in space the output is project_out(v)', async () => {
    // A spatially constant input makes every channel of q, k, v constant over N, so A·v returns a convex
    // combination of constant rows; with qkv weights the identity (q = k = v = x) and x = [1, 1] per pixel
    // for one head of d = 2, every row of A·v equals 1, and project_out = identity gives back 1 everywhere.
    const m = new MDTA({ dim: 2, heads: 1 });
    m.build([1, 3, 4, 2]);
    tf.tidy(() => {
      const eye = tf.eye(2);
      m.qkv.kernel.write(tf.reshape(tf.concat([eye, eye, eye], 1), [1, 1, 2, 6]));
      const dw = tf.zeros([3, 3, 1, 6]).bufferSync(); // depthwise kernel [k, k, 1, C]
      for (let c = 0; c < 6; c++) dw.set(1, 1, 1, 0, c);
      m.qkvDwconv.kernel.write(dw.toTensor());
      m.projectOut.kernel.write(tf.reshape(eye, [1, 1, 2, 2]));
    });
    const x = tf.ones([1, 3, 4, 2]);
    const y = m.apply(x) as tf.Tensor;
    // Borders see zero padding only in the DW conv, whose centre tap alone is 1: q = k = v = x exactly.
    for (const e of await y.data()) expect(e).toBeCloseTo(1, 5);
    tf.dispose([x, y]);
    m.dispose();
  });

  it('an all-zero input (q = k = 0, clamped norm) gives a finite output and finite gradients, like F.normalize', async () => {
    const before = tf.memory().numTensors;
    const m = new MDTA({ dim: 4, heads: 2 });
    const x = tf.zeros([1, 3, 5, 4]);
    m.build(x.shape);
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(m.apply(x) as tf.Tensor)) as tf.Scalar, vars);
    expect(Number.isFinite((await value.data())[0])).toBe(true);
    for (const g of Object.values(grads)) for (const e of await g.data()) expect(Number.isFinite(e)).toBe(true);
    tf.dispose([x, value, Object.values(grads)]);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad options and inputs with typed errors', () => {
    expect(() => new MDTA({ dim: 6, heads: 4 })).toThrow(ConfigError);
    const m = new MDTA({ dim: 4, heads: 2 });
    const x = tf.zeros([1, 2, 2, 5]);
    expect(() => m.apply(x)).toThrow(ShapeError);
    x.dispose();
    m.dispose();
  });
});
