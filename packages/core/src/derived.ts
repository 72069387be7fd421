import * as tf from '@tensorflow/tfjs-core';

/**
 * Tensors a block derives from its weights (a permuted, sliced or folded kernel), kept from one inference call to
 * the next instead of being recomputed on every forward. An entry is valid while every weight it was computed from
 * still holds the same data: `Variable.assign` (optimizer updates, `loadWeights`, `LayerVariable.write`) gives a
 * weight new data, and the next call recomputes it. While a gradient tape is recording (`tf.grad`, `variableGrads`,
 * training) nothing is cached or served from the cache: the derivation must be on the tape for the weights to get
 * their gradients.
 *
 * The owner disposes it when the block is disposed (from `releaseResources`); until then its tensors count in
 * `tf.memory()` like the FFT's basis cache.
 */
export class DerivedWeights {
  private readonly entries = new Map<string, { ids: unknown[]; value: tf.Tensor }>();

  /** `compute()` (run in a tidy), or its cached value when `weights` are unchanged since it was cached. */
  get(key: string, weights: readonly tf.Tensor[], compute: () => tf.Tensor): tf.Tensor {
    if (tf.engine().isTapeOn()) return compute();
    const ids = weights.map((w) => w.dataId);
    const hit = this.entries.get(key);
    if (hit && !hit.value.isDisposed && hit.ids.length === ids.length && hit.ids.every((d, i) => d === ids[i])) return hit.value;
    hit?.value.dispose();
    const computed = tf.tidy(compute);
    // A derivation may return one of its weights as it is (a bias with nothing to add): keep a clone (the same data,
    // its own reference), so that invalidating or disposing the cache never disposes the weight.
    const value = tf.keep(weights.some((w) => w === computed || w.dataId === computed.dataId) ? tf.clone(computed) : computed);
    this.entries.set(key, { ids, value });
    return value;
  }

  /** How many derived tensors are cached. */
  get size(): number {
    return this.entries.size;
  }

  /** Frees every cached tensor; returns how many. */
  dispose(): number {
    const n = this.entries.size;
    for (const { value } of this.entries.values()) value.dispose();
    this.entries.clear();
    return n;
  }
}
