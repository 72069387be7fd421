import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * Helpers for a U-Net forward that frees every intermediate it owns as soon as it has been consumed, instead of
 * at the end of the call (at 512² a Restormer's stale encoder/decoder tensors were ~0.5 GB). Only pass tensors the
 * forward created: the caller's input must never be eaten. tfjs keeps its own copies of what backprop needs, so
 * gradients are unaffected.
 * - `run(l, t)`: the child's output (`t` itself when `l` is null: an absent stage).
 * - `eat(l, t)`: the same, then frees `t` (unless the child returned it).
 * - `join(up, skip)`: concat [upsampled, skip] along channels (the official order), then frees both.
 */
export function consuming(runChild: (l: tfl.layers.Layer, t: tf.Tensor) => tf.Tensor) {
  const run = (l: tfl.layers.Layer | null, t: tf.Tensor): tf.Tensor => (l ? runChild(l, t) : t);
  const eat = (l: tfl.layers.Layer | null, t: tf.Tensor): tf.Tensor => {
    const y = run(l, t);
    if (y !== t) t.dispose();
    return y;
  };
  const join = (up: tf.Tensor, skip: tf.Tensor): tf.Tensor => {
    const c = tf.concat([up, skip], 3);
    tf.dispose([up, skip]);
    return c;
  };
  return { run, eat, join };
}
