import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@restorekit/core';
import { compareArrays, expectNoLeaks } from '@restorekit/core/testing';
import { MSFM, MSFMBranch } from './index.js';

/** Reflect index (PyTorch 'reflect': the edge is not repeated). */
const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);

/** X_L by the definition (spec §2.5 step 2), on the host: Σ_{u,v} f[b, g(ch), u·k + v] · Zpad[b, y + u, x + v, ch]. */
function lowPassReference(z: Float32Array, [B, H, W, C]: number[], f: Float32Array, G: number, k: number): Float32Array {
  const out = new Float32Array(B * H * W * C);
  const p = (k - 1) / 2;
  for (let b = 0; b < B; b++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let ch = 0; ch < C; ch++) {
          const g = Math.floor(ch / (C / G));
          let s = 0;
          for (let u = 0; u < k; u++)
            for (let v = 0; v < k; v++) s += f[(b * G + g) * k * k + u * k + v]! * z[((b * H + reflect(y + u - p, H)) * W + reflect(x + v - p, W)) * C + ch]!;
          out[((b * H + y) * W + x) * C + ch] = s;
        }
  return out;
}

describe('MSFM: per-sample dynamic low-pass filter (grouped-batch depth-wise conv)', () => {
  it('lowPass equals the definition for batch 3, odd sizes and both kernel sizes', async () => {
    for (const [k, shape] of [
      [3, [3, 5, 7, 6]],
      [5, [2, 3, 9, 4]],
    ] as [number, [number, number, number, number]][]) {
      const G = 2;
      const branch = new MSFMBranch({ channels: shape[3]!, groups: G, kernelSize: k });
      await expectNoLeaks(async () => {
        const z = tf.randomNormal(shape, 0.25, 1, 'float32', 7) as tf.Tensor4D;
        const f = tf.tidy(() => tf.softmax(tf.randomNormal([shape[0]!, G, k * k], 0, 2, 'float32', 8))) as tf.Tensor3D;
        const low = branch.lowPass(z, f);
        const want = lowPassReference((await z.data()) as Float32Array, shape, (await f.data()) as Float32Array, G, k);
        const c = compareArrays('low', await low.data(), want, 1e-6, 1e-5);
        expect(c.ok, `max |diff| ${c.maxAbsDiff}`).toBe(true);
        tf.dispose([z, f, low]);
      }, 'lowPass');
      branch.dispose();
    }
  });

  it('batched output and gradients equal per-sample runs (batch 3, 7×9)', async () => {
    const msfm = new MSFM({ channels: 16, groups: 4 });
    const x = tf.randomNormal([3, 7, 9, 16], 0.25, 1, 'float32', 3);
    const r = tf.randomNormal([3, 7, 9, 16], 0, 1, 'float32', 4);
    msfm.apply(tf.zeros([1, 7, 9, 16])); // build
    const vars = msfm.trainableWeights.map((w) => w.read() as tf.Variable);
    await expectNoLeaks(async () => {
      const batched = tf.variableGrads(() => tf.sum(tf.mul(msfm.apply(x) as tf.Tensor, r)) as tf.Scalar, vars);
      const dxB = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(msfm.apply(xi) as tf.Tensor, r)))(x);
      const yB = msfm.apply(x) as tf.Tensor;
      const ys: tf.Tensor[] = [];
      const dxs: tf.Tensor[] = [];
      const gradSums: Record<string, tf.Tensor> = {};
      for (let b = 0; b < 3; b++) {
        const xb = tf.slice(x, [b, 0, 0, 0], [1, 7, 9, 16]);
        const rb = tf.slice(r, [b, 0, 0, 0], [1, 7, 9, 16]);
        ys.push(msfm.apply(xb) as tf.Tensor);
        dxs.push(tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(msfm.apply(xi) as tf.Tensor, rb)))(xb));
        const g = tf.variableGrads(() => tf.sum(tf.mul(msfm.apply(xb) as tf.Tensor, rb)) as tf.Scalar, vars);
        for (const [n, t] of Object.entries(g.grads)) {
          const prev = gradSums[n];
          gradSums[n] = prev ? tf.add(prev, t) : tf.clone(t);
          prev?.dispose();
        }
        tf.dispose([xb, rb, g.value, Object.values(g.grads)]);
      }
      const yS = tf.concat(ys);
      const dxS = tf.concat(dxs);
      expect(compareArrays('y', await yB.data(), await yS.data(), 1e-5, 1e-4).ok).toBe(true);
      expect(compareArrays('dx', await dxB.data(), await dxS.data(), 1e-5, 1e-4).ok).toBe(true);
      expect(Object.keys(batched.grads).sort()).toEqual(Object.keys(gradSums).sort());
      for (const [n, g] of Object.entries(batched.grads)) {
        const c = compareArrays(n, await g.data(), await gradSums[n]!.data(), 1e-4, 1e-3);
        expect(c.ok, `${n}: max |diff| ${c.maxAbsDiff}`).toBe(true);
      }
      // The dynamic filter does depend on the sample: the per-sample kernels differ.
      const part = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 8]);
      const f = msfm.branches[0]!.filters(part);
      const fd = (await f.data()) as Float32Array;
      const per = fd.length / 3;
      expect(compareArrays('f', fd.subarray(0, per), fd.subarray(per, 2 * per), 1e-6, 0).ok).toBe(false);
      tf.dispose([batched.value, Object.values(batched.grads), dxB, yB, ys, dxs, Object.values(gradSums), yS, dxS, part, f]);
    }, 'MSFM batch vs per-sample');
    tf.dispose([x, r]);
    msfm.dispose();
  });

  it('works at any spatial size the reflect padding allows (3×3 with k = 5), and says why below that', async () => {
    const msfm = new MSFM({ channels: 16, groups: 8 });
    const ok = tf.randomNormal([2, 3, 3, 16]);
    const y = msfm.apply(ok) as tf.Tensor;
    expect(y.shape).toEqual([2, 3, 3, 16]);
    const small = tf.randomNormal([1, 2, 5, 16]);
    expect(() => msfm.apply(small)).toThrow(ShapeError);
    expect(() => msfm.apply(small)).toThrow(/reflect padding by 2 \(kernel 5\) needs H and W > 2/);
    tf.dispose([ok, y, small]);
    msfm.dispose();
  });

  it("selectionSoftmax 'channels' (SFNet's SFconv) normalises over all 2c weights, 'branches' per channel pair", async () => {
    // Same weights, different normalisation → different outputs; both finite.
    const a = new MSFM({ channels: 16, groups: 4 });
    const b = new MSFM({ channels: 16, groups: 4, selectionSoftmax: 'channels' });
    const x = tf.randomNormal([2, 6, 5, 16], 0.25, 1, 'float32', 11);
    a.apply(x);
    b.apply(x);
    b.setWeights(a.getWeights());
    const ya = a.apply(x) as tf.Tensor;
    const yb = b.apply(x) as tf.Tensor;
    const da = await ya.data();
    const db = await yb.data();
    expect(Array.from(db).every(Number.isFinite)).toBe(true);
    expect(compareArrays('y', da, db, 1e-3, 0).ok).toBe(false);
    tf.dispose([x, ya, yb]);
    a.dispose();
    b.dispose();
  });
});
