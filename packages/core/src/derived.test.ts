import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { DerivedWeights } from './index.js';

describe('DerivedWeights: tensors derived from weights, cached between inference calls', () => {
  it('serves the cached value while the weight is unchanged, recomputes after assign, frees on dispose', async () => {
    const before = tf.memory().numTensors;
    const init = tf.tensor1d([1, 2, 3]);
    const w = tf.variable(init);
    init.dispose();
    const d = new DerivedWeights();
    let computed = 0;
    const twice = () =>
      d.get('twice', [w], () => {
        computed++;
        return tf.mul(w, 2);
      });
    const a = tf.tidy(() => twice());
    const b = tf.tidy(() => twice());
    expect(computed).toBe(1);
    expect(a).toBe(b);
    expect(Array.from(await a.data())).toEqual([2, 4, 6]);
    const next = tf.tensor1d([5, 6, 7]);
    w.assign(next);
    next.dispose();
    const c = tf.tidy(() => twice());
    expect(computed).toBe(2);
    expect(a.isDisposed).toBe(true); // the stale entry is freed
    expect(Array.from(await c.data())).toEqual([10, 12, 14]);
    expect(d.size).toBe(1);
    expect(d.dispose()).toBe(1);
    expect(c.isDisposed).toBe(true);
    w.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a derivation that returns a weight as it is caches a clone: disposing the cache leaves the weight intact', async () => {
    const before = tf.memory().numTensors;
    const init = tf.tensor1d([1, 2, 3]);
    const w = tf.variable(init);
    init.dispose();
    const d = new DerivedWeights();
    const same = d.get('same', [w], () => w);
    expect(same).not.toBe(w);
    expect(Array.from(await same.data())).toEqual([1, 2, 3]);
    expect(d.dispose()).toBe(1);
    expect(w.isDisposed).toBe(false);
    expect(Array.from(await w.data())).toEqual([1, 2, 3]);
    w.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('neither caches nor serves the cache under a gradient tape: the weight gets its gradient', async () => {
    const before = tf.memory().numTensors;
    const init = tf.tensor1d([1, 2, 3]);
    const w = tf.variable(init);
    init.dispose();
    const d = new DerivedWeights();
    tf.tidy(() => d.get('sq', [w], () => tf.square(w))); // cached outside the tape
    const { value, grads } = tf.variableGrads(() => tf.sum(d.get('sq', [w], () => tf.square(w))) as tf.Scalar, [w]);
    expect(Array.from(await grads[w.name]!.data())).toEqual([2, 4, 6]);
    expect(d.size).toBe(1);
    tf.dispose([value, grads[w.name]!]);
    d.dispose();
    w.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
