import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, DerivedWeights, gatedConvs, prefers, simpleGate } from '../index.js';
import { compareArrays, expectNoLeaks } from '../testing/index.js';

describe('gatedConvs: SimpleGate(dw(pw(x))) from weight halves', () => {
  for (const withDw of [true, false])
    it(`equals the layers run one after another, value and gradients (biases on${withDw ? ', depth-wise 5×5' : ', no depth-wise conv'})`, async () => {
      const pw = new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 1, seed: 1 });
      const dw = withDw ? new Conv2d({ inChannels: 8, outChannels: 8, kernelSize: 5, padding: 2, groups: 8, seed: 3 }) : null;
      const x = tf.randomNormal([2, 6, 7, 3], 0, 1, 'float32', 5);
      pw.build(x.shape);
      dw?.build([2, 6, 7, 8]);
      const derived = new DerivedWeights();
      const vars = [...pw.trainableWeights, ...(dw?.trainableWeights ?? [])].map((w) => w.read() as tf.Variable);
      const run = (l: { apply: (t: tf.Tensor) => unknown }, t: tf.Tensor) => l.apply(t) as tf.Tensor;
      const mine = () => gatedConvs(x, pw, dw, derived, run);
      const plain = () => tf.tidy(() => simpleGate((dw ? dw.apply(pw.apply(x) as tf.Tensor) : pw.apply(x)) as tf.Tensor4D));
      mine().dispose(); // builds the cached weight halves (kept: they belong to `derived`)
      await expectNoLeaks(async () => {
        const a = mine();
        const b = plain();
        expect(a.shape).toEqual([2, 6, 7, 4]);
        const o = compareArrays('value', await a.data(), await b.data(), 1e-6, 1e-5);
        expect(o.ok, `max |diff| ${o.maxAbsDiff}`).toBe(true);
        const probe = tf.randomNormal(a.shape, 0, 1, 'float32', 7);
        const g1 = tf.variableGrads(() => tf.sum(tf.mul(mine(), probe)) as tf.Scalar, vars);
        const g2 = tf.variableGrads(() => tf.sum(tf.mul(plain(), probe)) as tf.Scalar, vars);
        for (const v of vars) {
          const c = compareArrays(v.name, await g1.grads[v.name]!.data(), await g2.grads[v.name]!.data(), 1e-5, 1e-4);
          expect(c.ok, `${v.name}: max |diff| ${c.maxAbsDiff}`).toBe(true);
        }
        tf.dispose([a, b, probe, g1.value, g2.value, Object.values(g1.grads), Object.values(g2.grads)]);
      }, 'gatedConvs');
      // the weight and bias halves are cached between inference calls exactly where the halves form runs
      expect(derived.size).toBe(prefers('weightHalves') ? (withDw ? 8 : 4) : 0);
      derived.dispose();
      tf.dispose(x);
      pw.dispose();
      dw?.dispose();
    });
});
