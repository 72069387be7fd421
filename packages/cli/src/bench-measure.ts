/**
 * What `restorekit bench` measures per cell, the way the repository's benchmark suite does: FLOPs counted from the
 * kernels a forward runs (@restorekit/core's `countFlops`, which the suite uses too), the peak of
 * tf.memory().numBytes during a forward (tf.profile), and timing statistics.
 */
import * as tf from '@tensorflow/tfjs-core';
import { countFlops, kernelFlops, type FlopCount } from '@restorekit/core';

/** The FLOP count of @restorekit/core (one definition with the benchmark suite's). */
export { countFlops, kernelFlops, type FlopCount };

export interface TimingStats {
  /** Median of the timed runs, ms. */
  ms: number;
  minMs: number;
  maxMs: number;
  /** Every timed run, ms, in order. */
  times: number[];
}

/** Median, min and max of timed runs (at least one). */
export function timingStats(times: number[]): TimingStats {
  if (!times.length) throw new RangeError('timingStats: no timed runs');
  const s = [...times].sort((a, b) => a - b);
  const n = s.length;
  const ms = n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  return { ms, minMs: s[0]!, maxMs: s[n - 1]!, times: [...times] };
}

/** A model as bench runs it: a tf.layers layer (every restorekit model is one). */
export interface Forwardable {
  apply(x: tf.Tensor): tf.Tensor | tf.Tensor[] | unknown;
}

/**
 * One forward, read back: `apply` and `await data()` of the last output (the restored image of a model with several
 * outputs), so the time covers the whole computation on asynchronous backends too; every output is disposed.
 */
export async function forward(model: Forwardable, x: tf.Tensor): Promise<void> {
  const out = model.apply(x) as tf.Tensor | tf.Tensor[];
  const list = Array.isArray(out) ? out : [out];
  try {
    await list[list.length - 1]!.data();
  } finally {
    tf.dispose(list);
  }
}

export interface CountedForward {
  count: FlopCount;
  /** Highest tf.memory().numBytes at any kernel of the forward (weights, input and anything else alive included). */
  peakBytes: number;
  /** tf.memory().numBytes just before the forward. */
  baseBytes: number;
}

/** One forward under tf.profile and the kernel counter: its FLOPs and its peak tensor memory. */
export async function countedForward(model: Forwardable, x: tf.Tensor): Promise<CountedForward> {
  const baseBytes = tf.memory().numBytes;
  let peakBytes = baseBytes;
  const { count } = await countFlops(async () => {
    const profile = await tf.profile(() => forward(model, x) as unknown as tf.TensorContainer);
    if (profile.kernels.length) peakBytes = Math.max(baseBytes, profile.peakBytes);
  });
  return { count, peakBytes, baseBytes };
}
