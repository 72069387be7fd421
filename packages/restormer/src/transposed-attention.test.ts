import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, backendsPreferring, withSettings } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { transposedAttention, type TransposedAttentionOptions } from './transposed-attention.js';

type Layout = NonNullable<TransposedAttentionOptions['layout']>;

/** Largest |a − b| / (1e-6 + 1e-5·|b|) over two arrays (≤ 1: equal to float rounding). */
function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let r = 0;
  for (let i = 0; i < a.length; i++) r = Math.max(r, Math.abs(a[i]! - b[i]!) / (1e-6 + 1e-5 * Math.abs(b[i]!)));
  return r;
}

/** Output and gradients (w.r.t. every q/k/v input and the temperature) of Σ(out·r) for a fixed random r. */
async function run(layout: Layout, inputs: tf.Tensor[], t: tf.Tensor, heads: number): Promise<Float32Array[]> {
  const separate = inputs.length === 3;
  const f = (...xs: tf.Tensor[]) => {
    const [tt, ...qkv] = xs;
    const y = transposedAttention(separate ? (qkv as [tf.Tensor, tf.Tensor, tf.Tensor]) : qkv[0]!, tt!, heads, { layout });
    return tf.tidy(() => tf.sum(tf.mul(y, tf.randomUniform(y.shape, -1, 1, 'float32', 11))));
  };
  const y = transposedAttention(separate ? (inputs as [tf.Tensor, tf.Tensor, tf.Tensor]) : inputs[0]!, t, heads, { layout });
  const grads = tf.grads(f)([t, ...inputs]);
  const out = [await y.data(), ...(await Promise.all(grads.map((g) => g.data())))] as Float32Array[];
  tf.dispose([y, grads]);
  return out;
}

describe('transposedAttention layouts (batched: webgl, webgpu, cpu; matrices: wasm; nhwc: tensorflow)', () => {
  it('tensorflow takes the nhwc layout (transposedMatMul), wasm the 2-D matrices one (xnnpackForms), the other backends the batched one', () => {
    expect(backendsPreferring('transposedMatMul')).toEqual(['tensorflow']);
    expect(backendsPreferring('xnnpackForms')).toEqual(['wasm', 'tensorflow']);
  });

  // [B, H, W, C, heads]: one and several heads, a batch of 2, a head count that is not a power of 2; on wasm the head
  // sizes d = 8, 4, 7, 20 take restorekit's Gram kernel (d = 7 and 20: tiles of rows and columns that overlap the one
  // before; 12·13 rows: a second pass of its 128-row blocks), d = 3 the plain products.
  const shapes: [number, number, number, number, number][] = [
    [1, 5, 7, 8, 1],
    [2, 4, 3, 12, 3],
    [1, 6, 6, 16, 4],
    [2, 3, 5, 6, 2],
    [1, 9, 11, 14, 2],
    [2, 12, 13, 20, 1],
  ];
  for (const other of ['matrices', 'matrices without wasm kernels', 'nhwc'] as const)
    for (const [b, h, w, c, heads] of shapes)
      for (const separate of [false, true])
        it(`'${other}' equals 'batched' in value and gradients (${separate ? '[q, k, v]' : 'qkv'}, B=${b}, ${h}×${w}, C=${c}, ${heads} heads)`, () =>
          expectNoLeaks(async () => {
            const qkv = tf.randomNormal([b, h, w, 3 * c], 0, 1, 'float32', 3 + c);
            const inputs = separate ? (tf.split(qkv, 3, 3) as tf.Tensor[]) : [qkv];
            const t = tf.randomUniform([heads, 1, 1], 0.5, 2, 'float32', 7);
            const a = await run('batched', inputs, t, heads);
            const m =
              other === 'matrices without wasm kernels'
                ? await withSettings({ wasmKernels: false }, () => run('matrices', inputs, t, heads))
                : await run(other, inputs, t, heads);
            expect(m.length).toBe(separate ? 5 : 3);
            for (let i = 0; i < a.length; i++) expect(worst(m[i]!, a[i]!), `output/gradient ${i}`).toBeLessThanOrEqual(1);
            tf.dispose([qkv, inputs, t]);
          }));

  for (const layout of ['batched', 'matrices', 'nhwc'] as const) {
    it(`${layout}: [q, k, v] gives what qkv gives, and consumeQkv frees all three`, () =>
      expectNoLeaks(async () => {
        const qkv = tf.randomNormal([1, 4, 4, 12], 0, 1, 'float32', 9);
        const [q, k, v] = tf.split(qkv, 3, 3) as [tf.Tensor, tf.Tensor, tf.Tensor];
        const t = tf.tensor3d([0.7, 1.3], [2, 1, 1]);
        const a = transposedAttention(qkv, t, 2, { layout });
        const b = transposedAttention([q, k, v], t, 2, { layout, consumeQkv: true });
        expect([q, k, v].every((x) => x.isDisposed)).toBe(true);
        expect(worst(await b.data(), await a.data())).toBeLessThanOrEqual(1);
        tf.dispose([qkv, t, a, b]);
      }));

    it(`${layout}: all-zero q and k (clamped norms) give finite values and gradients`, () =>
      expectNoLeaks(async () => {
        const qkv = tf.tidy(() => tf.concat([tf.zeros([1, 3, 5, 8]), tf.randomNormal([1, 3, 5, 4], 0, 1, 'float32', 2)], 3));
        const t = tf.tensor3d([1, 2], [2, 1, 1]);
        const [y, ...g] = await run(layout, [qkv], t, 2);
        for (const arr of [y!, ...g]) for (const e of arr) expect(Number.isFinite(e)).toBe(true);
        tf.dispose([qkv, t]);
      }));
  }

  // `project`: folded into the output product where H·W > C' (v·(Aᵀ·W)), run as a 1×1 conv after it otherwise; both
  // must equal the attention followed by the conv, in value and in the gradients of qkv, temperature, kernel and bias.
  // [B, H, W, C, heads, C', bias, kernel rank]: 35 > 10 and 36 > 24 pixels fold (one and several heads, a batch of 2),
  // 6 ≤ 8 and 16 ≤ 16 do not.
  const projected: [number, number, number, number, number, number, boolean, 2 | 4][] = [
    [1, 5, 7, 8, 1, 10, false, 4],
    [2, 6, 6, 12, 3, 24, true, 4],
    [1, 9, 11, 16, 4, 16, true, 2],
    [2, 2, 3, 6, 2, 8, true, 4],
    [1, 4, 4, 8, 2, 16, false, 2],
  ];
  for (const layout of ['batched', 'matrices', 'nhwc'] as const)
    for (const [b, h, w, c, heads, cOut, withBias, rank] of projected)
      it(`${layout}: project (${h * w > cOut ? 'folded' : 'after'}) equals the attention then a 1×1 conv, values and gradients (B=${b}, ${h}×${w}, C=${c}→${cOut}, ${heads} heads${withBias ? ', bias' : ''})`, () =>
        expectNoLeaks(async () => {
          const qkv = tf.randomNormal([b, h, w, 3 * c], 0, 1, 'float32', 5 + c);
          const t = tf.randomUniform([heads, 1, 1], 0.5, 2, 'float32', 7);
          const kernel = tf.randomNormal(rank === 4 ? [1, 1, c, cOut] : [c, cOut], 0, 0.3, 'float32', 8);
          const bias = withBias ? tf.randomNormal([cOut], 0, 1, 'float32', 9) : null;
          const weights = tf.randomUniform([b, h, w, cOut], -1, 1, 'float32', 11);
          const loss = (y: tf.Tensor) => tf.sum(tf.mul(y, weights));
          const viaOption = (x: tf.Tensor, tt: tf.Tensor, k: tf.Tensor, bb?: tf.Tensor) =>
            loss(transposedAttention(x, tt, heads, { layout, project: { kernel: k, bias: bb ?? null } }));
          const separately = (x: tf.Tensor, tt: tf.Tensor, k: tf.Tensor, bb?: tf.Tensor) => {
            // the 1×1 conv as a product of [B·H·W, C] rows (tf.conv2d's filter gradient has no wasm kernel)
            const rows = tf.reshape(transposedAttention(x, tt, heads, { layout }), [b * h * w, c]) as tf.Tensor2D;
            const y = tf.reshape(tf.matMul(rows, tf.reshape(k, [c, cOut]) as tf.Tensor2D), [b, h, w, cOut]);
            return loss(bb ? tf.add(y, bb) : y);
          };
          const args = [qkv, t, kernel, ...(bias ? [bias] : [])];
          const results: Float32Array[][] = [];
          for (const f of [viaOption, separately]) {
            const { value, grads } = tf.valueAndGrads(f as (...xs: tf.Tensor[]) => tf.Scalar)(args);
            results.push([await value.data(), ...(await Promise.all(grads.map((g) => g.data())))] as Float32Array[]);
            tf.dispose([value, grads]);
          }
          const y = transposedAttention(qkv, t, heads, { layout, project: { kernel, bias } });
          expect(y.shape).toEqual([b, h, w, cOut]);
          expect(results[0]!.length).toBe(args.length + 1);
          // to float rounding, relative to each array's largest entry: the two orders of the sums (over N and over C) round
          // differently (1e-5 of an entry, where terms of both signs cancel, on webgl/webgpu); a wrong term is O(1)
          for (let i = 0; i < results[0]!.length; i++) {
            const [a, r] = [results[0]![i]!, results[1]![i]!];
            const scale = r.reduce((m, e) => Math.max(m, Math.abs(e)), 0);
            expect(Math.max(...a.map((e, j) => Math.abs(e - r[j]!))), `value/gradient ${i}`).toBeLessThanOrEqual(1e-6 + 1e-5 * scale);
          }
          tf.dispose([qkv, t, kernel, weights, y, ...(bias ? [bias] : [])]);
        }));

  it('project: a kernel or bias that does not fit is a ShapeError, and nothing leaks', () =>
    expectNoLeaks(() => {
      const qkv = tf.zeros([1, 4, 4, 12]);
      const t = tf.ones([2, 1, 1]);
      const bad = [tf.zeros([1, 1, 5, 6]), tf.zeros([3, 3, 4, 6]), tf.zeros([5, 6]), tf.zeros([4])];
      for (const kernel of bad) expect(() => transposedAttention(qkv, t, 2, { project: { kernel } })).toThrow(/project\.kernel must be \[1, 1, 4, C'\]/);
      const kernel = tf.zeros([1, 1, 4, 6]);
      const bias = tf.zeros([5]);
      expect(() => transposedAttention(qkv, t, 2, { project: { kernel, bias } })).toThrow(ShapeError);
      expect(() => transposedAttention(qkv, t, 2, { project: { kernel, bias } })).toThrow(/project\.bias must hold 6 values/);
      expect(qkv.isDisposed).toBe(false);
      tf.dispose([qkv, t, bad, kernel, bias]);
    }));

  it('rejects [q, k, v] of different shapes or not three tensors', () =>
    expectNoLeaks(() => {
      const a = tf.zeros([1, 2, 2, 4]);
      const b = tf.zeros([1, 2, 2, 6]);
      const t = tf.ones([2, 1, 1]);
      expect(() => transposedAttention([a, b, a], t, 2)).toThrow(ShapeError);
      expect(() => transposedAttention([a, a] as never, t, 2)).toThrow(/three/);
      tf.dispose([a, b, t]);
    }));
});
