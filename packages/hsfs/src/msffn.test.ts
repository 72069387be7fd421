import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { compareArrays, expectNoLeaks } from '@restorekit/core/testing';
import { MSFFN } from './index.js';

/** The official MSFFN op by op: split u₃ and u₅ in halves, concat them crosswise, two grouped convs, SimpleGates, concat. */
function officialMSFFN(f: MSFFN, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const q = f.hidden / 4;
    const sg = (t: tf.Tensor) => {
      const [a, b] = tf.split(t, 2, 3);
      return tf.mul(a!, b!);
    };
    const p = f.projectIn.apply(x) as tf.Tensor;
    const u3 = sg(f.dw[0].apply(p) as tf.Tensor);
    const u5 = sg(f.dw[1].apply(p) as tf.Tensor);
    const [u3a, u3b] = tf.split(u3, [q, q], 3);
    const [u5a, u5b] = tf.split(u5, [q, q], 3);
    const q3 = sg(f.gconv[0].apply(tf.concat([u3a!, u5a!], 3)) as tf.Tensor);
    const q5 = sg(f.gconv[1].apply(tf.concat([u3b!, u5b!], 3)) as tf.Tensor);
    return f.projectOut.apply(tf.concat([q3, q5], 3)) as tf.Tensor;
  });
}

describe('MSFFN: the split-free form (grouped-conv filters regrouped by input) = the official computation', () => {
  // Where H·W ≥ 8·C (the first three) the split-free form runs on cpu and tensorflow, its form in channel halves on wasm
  // (multiplier-1 depth-wise convs); the split form otherwise.
  for (const [what, opts, hw] of [
    ['kernels 3, 5, no bias', { channels: 8 }, [9, 10]],
    ['kernels 5, 3, with bias, expansion 3', { channels: 4, kernelSizes: [5, 3], bias: true, expansion: 3 }, [7, 9]],
    ['kernels 3, 7', { channels: 6, kernelSizes: [3, 7] }, [8, 8]],
    ['a small map (the split form)', { channels: 16 }, [3, 4]],
  ] as const)
    it(`${what}: output and every gradient`, async () => {
      const f = new MSFFN(opts as never);
      const c = (opts as { channels: number }).channels;
      const shape = [2, hw[0], hw[1], c];
      const x = tf.randomNormal(shape, 0.1, 1, 'float32', 3);
      const probe = tf.randomNormal(shape, 0, 1, 'float32', 4);
      f.apply(x); // build (and, outside a tape, cache the regrouped filters)
      tf.dispose(officialMSFFN(f, x)); // the official path's convs cache their own forms of the filters (7×7 tiles on wasm)
      let seed = 30;
      for (const v of f.trainableWeights) v.write(tf.randomNormal(v.shape as number[], 0, 0.4, 'float32', seed++));
      const vars = f.trainableWeights.map((v) => v.read() as tf.Variable);
      await expectNoLeaks(async () => {
        const y1 = f.apply(x) as tf.Tensor;
        const y0 = officialMSFFN(f, x);
        const o = compareArrays('output', await y1.data(), await y0.data(), 1e-5, 1e-4);
        expect(o.ok, `output max |diff| ${o.maxAbsDiff}`).toBe(true);
        const mine = tf.variableGrads(() => tf.sum(tf.mul(f.apply(x, { training: true }) as tf.Tensor, probe)) as tf.Scalar, vars);
        const ref = tf.variableGrads(() => tf.sum(tf.mul(officialMSFFN(f, x), probe)) as tf.Scalar, vars);
        for (const v of vars) {
          const g = compareArrays(v.name, await mine.grads[v.name]!.data(), await ref.grads[v.name]!.data(), 1e-4, 1e-3);
          expect(g.ok, `${v.name}: max |diff| ${g.maxAbsDiff}`).toBe(true);
        }
        tf.dispose([y0, y1, mine.value, ref.value, Object.values(mine.grads), Object.values(ref.grads)]);
      }, what);
      tf.dispose([x, probe]);
      f.dispose();
    });
});
