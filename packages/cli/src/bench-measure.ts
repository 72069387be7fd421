/**
 * What `restorekit bench` measures per cell, the way the repository's benchmark suite does (benchmarks/src/measure.ts,
 * not imported: that package is private): FLOPs counted from the kernels a forward runs, the peak of
 * tf.memory().numBytes during a forward (tf.profile), and timing statistics.
 */
import * as tf from '@tensorflow/tfjs-core';

/** FLOPs (2 per multiply-add) of one call, counted from its kernels. */
export interface FlopCount {
  /** Convolutions (incl. depthwise and transposed) and matrix products outside @restorekit/fft. */
  flops: number;
  /** Matrix products run by @restorekit/fft (its DFT as a product, on backends without FFT kernels): not in `flops`. */
  fftFlops: number;
  /** Kernels that ran, counted or not. */
  kernels: number;
}

type RunKernel = (name: string, inputs: Record<string, tf.Tensor>, attrs?: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

const prod = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
/** A stack frame inside @restorekit/fft (its workspace folder or its installed package). */
const FFT_FRAME = /[/\\](?:packages[/\\]fft|@restorekit[/\\]fft)[/\\]/;

/**
 * FLOPs of one kernel call from its input and output shapes and attributes: 2 × multiply-adds of Conv2D,
 * FusedConv2D, DepthwiseConv2dNative, FusedDepthwiseConv2D, Conv2DBackpropInput (a transposed convolution),
 * BatchMatMul and _FusedMatMul; 0 for every other kernel (norms, elementwise ops, FFTs are not counted). The
 * definition of the benchmark suite and of its PyTorch reference count, so GFLOP/s compare across engines.
 */
export function kernelFlops(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> | undefined, output: tf.Tensor): number {
  switch (name) {
    case 'Conv2D':
    case 'FusedConv2D': {
      const w = inputs.filter!.shape; // [fh, fw, inC, outC]
      return 2 * prod(output.shape) * w[0]! * w[1]! * w[2]!;
    }
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D': {
      const w = inputs.filter!.shape; // [fh, fw, inC, multiplier]
      return 2 * prod(output.shape) * w[0]! * w[1]!;
    }
    case 'Conv2DBackpropInput': {
      const w = inputs.filter!.shape; // [fh, fw, outC of the transposed conv, its inC]
      return 2 * prod(inputs.dy!.shape) * w[0]! * w[1]! * w[2]!;
    }
    case 'BatchMatMul':
    case '_FusedMatMul': {
      const a = inputs.a!.shape;
      const k = attrs?.transposeA ? a[a.length - 2]! : a[a.length - 1]!;
      return 2 * prod(output.shape) * k;
    }
    default:
      return 0;
  }
}

const isMatMul = (name: string) => name === 'BatchMatMul' || name === '_FusedMatMul';

/**
 * Runs `fn` with every kernel call through tfjs's engine counted (see {@link kernelFlops}). Matrix products called
 * from @restorekit/fft are counted apart (`fftFlops`), found by the call stack. Nothing else may run tfjs kernels
 * while `fn` runs (the count is of the whole engine).
 */
export async function countFlops<T>(fn: () => Promise<T>): Promise<{ result: T; count: FlopCount }> {
  const engine = tf.engine() as unknown as { runKernel: RunKernel };
  const original = engine.runKernel;
  const count: FlopCount = { flops: 0, fftFlops: 0, kernels: 0 };
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
  engine.runKernel = function (this: unknown, name, inputs, attrs) {
    const out = original.call(this, name, inputs, attrs);
    count.kernels++;
    const f = kernelFlops(name, inputs, attrs, Array.isArray(out) ? out[0]! : out);
    if (f > 0) {
      if (isMatMul(name) && FFT_FRAME.test(new Error().stack ?? '')) count.fftFlops += f;
      else count.flops += f;
    }
    return out;
  };
  try {
    return { result: await fn(), count };
  } finally {
    engine.runKernel = original;
    Error.stackTraceLimit = stackLimit;
  }
}

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
