import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, countParams } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { MDTA } from './mdta.js';
import { transposedAttention } from './transposed-attention.js';
import { restormerFixture } from './test-helpers.js';

describe('MDTA', () => {
  it('reproduces the official Attention (fixture attention_mdta)', () =>
    restormerFixture('attention_mdta', (c) => new MDTA({ channels: c.dim as number, heads: c.num_heads as number, bias: c.bias as boolean })));

  it('has the official keys, shapes and parameter count (C=48, 1 head: 10,513)', () => {
    const m = new MDTA({ channels: 48, heads: 1 });
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

  it('attention is a softmax over d×d per head: with v = q = k constant in space the output is project_out(v)', () =>
    expectNoLeaks(async () => {
      // A spatially constant input makes every channel of q, k, v constant over N, so A·v returns a convex
      // combination of constant rows; with qkv weights the identity (q = k = v = x) and x = [1, 1] per pixel
      // for one head of d = 2, every row of A·v equals 1, and project_out = identity gives back 1 everywhere.
      const m = new MDTA({ channels: 2, heads: 1 });
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
    }));

  it('an all-zero input (q = k = 0, clamped norm) gives a finite output and finite gradients, like F.normalize', () =>
    expectNoLeaks(async () => {
      const m = new MDTA({ channels: 4, heads: 2 });
      const x = tf.zeros([1, 3, 5, 4]);
      m.build(x.shape);
      const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(m.apply(x) as tf.Tensor)) as tf.Scalar, vars);
      expect(Number.isFinite((await value.data())[0])).toBe(true);
      expect(Object.keys(grads)).toHaveLength(4);
      for (const g of Object.values(grads)) for (const e of await g.data()) expect(Number.isFinite(e)).toBe(true);
      tf.dispose([x, value, Object.values(grads)]);
      m.dispose();
    }));

  it('heads default to 1; the options resolve to channels, heads, bias', () => {
    expect(new MDTA({ channels: 6 }).options).toEqual({ channels: 6, heads: 1, bias: false });
  });

  it('rejects bad options and inputs with typed errors', () => {
    expect(() => new MDTA({ channels: 6, heads: 4 })).toThrow(ConfigError);
    expect(() => new MDTA({ channels: 6, heads: 4 })).toThrow(/divisible/);
    expect(() => new MDTA({ channels: 6, heads: 0 })).toThrow(/heads/);
    expect(() => new MDTA({ channels: 6, num_heads: 2 } as never)).toThrow(/unknown option 'num_heads'.*known options: channels, heads, bias/);
    expect(() => new MDTA({ dim: 6, heads: 2 } as never)).toThrow(ConfigError);
    const m = new MDTA({ channels: 4, heads: 2 });
    const x = tf.zeros([1, 2, 2, 5]);
    expect(() => m.apply(x)).toThrow(ShapeError);
    x.dispose();
    m.dispose();
  });
});

describe('transposedAttention (the one transposed attention of MDTA and AnyIR)', () => {
  it('computes softmax(q̂k̂ᵀ·t)·v per head with head-outer channels (hand computation, 2 heads of d = 1)', () =>
    expectNoLeaks(async () => {
      // d = 1: q̂ = q/‖q‖ over N, one 1×1 logit per head = t·cos(q, k); softmax over one entry is 1, so out = v.
      // Two heads make the layout visible: channel 0 belongs to head 0, channel 1 to head 1.
      const N = [1, 2, 3];
      const data: number[] = [];
      for (let p = 0; p < 3; p++) data.push(N[p]!, -N[p]!, 2 * N[p]!, N[p]!, 10 + p, 20 + p); // q0 q1 | k0 k1 | v0 v1
      const qkv = tf.tensor4d(data, [1, 1, 3, 6]);
      const t = tf.tensor3d([1.5, 0.5], [2, 1, 1]);
      const y = transposedAttention(qkv, t, 2);
      expect(y.shape).toEqual([1, 1, 3, 2]);
      expect(Array.from(await y.data())).toEqual([10, 20, 11, 21, 12, 22]);
      expect(qkv.isDisposed).toBe(false); // never frees its input unless asked
      tf.dispose([qkv, t, y]);
    }));

  it('d = 2: the weights are softmax over the scaled cosines of q rows against k rows (hand computation)', () =>
    expectNoLeaks(async () => {
      // One head, C = 2, N = 2. q rows (channels over N): q0 = [1, 0], q1 = [0, 1]; k0 = [1, 0], k1 = [1, 1];
      // v0 = [1, 2], v1 = [3, 4]; temperature 2. q̂k̂ᵀ = [[1, 1/√2], [0, 1/√2]].
      const qkv = tf.tensor4d([1, 0, 1, 1, 1, 3, 0, 1, 0, 1, 2, 4], [1, 1, 2, 6]);
      const t = tf.tensor3d([2], [1, 1, 1]);
      const y = transposedAttention(qkv, t, 1);
      const sm = (a: number, b: number) => [Math.exp(a) / (Math.exp(a) + Math.exp(b)), Math.exp(b) / (Math.exp(a) + Math.exp(b))];
      const [a00, a01] = sm(2, 2 / Math.SQRT2);
      const [a10, a11] = sm(0, 2 / Math.SQRT2);
      // out[c, n] = Σ_j A[c, j] v_j[n]; NHWC order: pixel n, channel c.
      const want = [a00 * 1 + a01 * 3, a10 * 1 + a11 * 3, a00 * 2 + a01 * 4, a10 * 2 + a11 * 4];
      const got = Array.from(await y.data());
      for (const [i, g] of got.entries()) expect(g).toBeCloseTo(want[i]!, 5);
      tf.dispose([qkv, t, y]);
    }));

  it('consumeQkv frees qkv once rearranged and changes nothing else', () =>
    expectNoLeaks(async () => {
      const qkv = tf.randomNormal([2, 3, 4, 12], 0, 1, 'float32', 5);
      const copy = tf.clone(qkv);
      const t = tf.tensor3d([0.7, 1.3], [2, 1, 1]);
      const a = transposedAttention(qkv, t, 2, { consumeQkv: true });
      expect(qkv.isDisposed).toBe(true);
      const b = transposedAttention(copy, t, 2);
      expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
      tf.dispose([copy, t, a, b]);
    }));

  it('rejects a qkv that does not split into heads, a temperature of the wrong size and bad heads', () =>
    expectNoLeaks(() => {
      const qkv = tf.zeros([1, 2, 2, 12]);
      const t2 = tf.ones([2, 1, 1]);
      expect(() => transposedAttention(qkv, t2, 3)).toThrow(ShapeError); // C = 4 is not divisible by 3
      expect(() => transposedAttention(qkv, t2, 1)).toThrow(/temperature/);
      expect(() => transposedAttention(qkv, t2, 0)).toThrow(ConfigError);
      const flat = tf.zeros([4, 12]);
      expect(() => transposedAttention(flat, t2, 2)).toThrow(ShapeError);
      tf.dispose([qkv, t2, flat]);
    }));
});
