import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * Early freeing: a forward that disposes each intermediate as soon as it has been consumed, instead of at the end of
 * its tidy scope, holds two activations at a time instead of all of them (at 512² a Restormer's stale encoder and
 * decoder tensors were ~0.5 GB). tfjs keeps its own references to what backprop needs, so gradients are unaffected
 * (models/src/early-frees.test.ts checks it bit for bit). Only pass tensors the forward created: never the caller's
 * input, never a tensor a child returned unchanged.
 */

/** Returns `keep` after disposing `done` (any of them that is `keep` itself survives): `free(tf.add(a, b), a, b)`. */
export function free<T extends tf.Tensor>(keep: T, ...done: (tf.Tensor | null | undefined)[]): T {
  for (const t of done) if (t && t !== keep && !t.isDisposed) t.dispose();
  return keep;
}

/** `f(t)`, then frees `t` unless `f` returned it. */
export function consume<T extends tf.Tensor>(t: T, f: (t: T) => tf.Tensor): tf.Tensor {
  return free(f(t), t);
}

/** The value of x with no gradient flowing back (PyTorch `.detach()`; tfjs-core has no stopGradient op). */
export function detach<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((xi: tf.Tensor) => ({ value: tf.clone(xi), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as never);
  return f(x) as T;
}

/**
 * Helpers for a U-Net forward that frees every intermediate it owns once consumed:
 * - `run(l, t)`: the child's output (`t` itself when `l` is null: an absent stage);
 * - `eat(l, t)`: the same, then frees `t` (unless the child returned it);
 * - `join(up, skip)`: concat [upsampled, skip] along channels (the official order), then frees both.
 */
export function consuming(runChild: (l: tfl.layers.Layer, t: tf.Tensor) => tf.Tensor) {
  const run = (l: tfl.layers.Layer | null, t: tf.Tensor): tf.Tensor => (l ? runChild(l, t) : t);
  const eat = (l: tfl.layers.Layer | null, t: tf.Tensor): tf.Tensor => free(run(l, t), t);
  const join = (up: tf.Tensor, skip: tf.Tensor): tf.Tensor => free(tf.concat([up, skip], 3), up, skip);
  return { run, eat, join };
}
