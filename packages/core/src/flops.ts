/**
 * FLOPs counted from the tfjs kernels a computation runs — the one definition of `restorekit bench` (@restorekit/cli)
 * and of the repository's benchmark suite, which is also that of their PyTorch reference count (a TorchDispatchMode
 * over convolutions and matrix products): GFLOP/s then compare across engines.
 */
import * as tf from '@tensorflow/tfjs-core';

/** FLOPs (2 per multiply-add) of one call, counted from its kernels. */
export interface FlopCount {
  /** Convolutions (incl. depthwise, transposed, and the filter/input gradients of training) and matrix products outside @restorekit/fft. */
  flops: number;
  /** Matrix products run by @restorekit/fft's own code (its DFT as a product, on backends without FFT kernels): not in `flops`. */
  fftFlops: number;
  /** Convolutions and products that only move data (a 0/1 filter gathering patches, see `dataMovement`): not in `flops`. */
  movementFlops: number;
  /** Kernels that ran, counted or not. */
  kernels: number;
}

type RunKernel = (name: string, inputs: Record<string, tf.Tensor>, attrs?: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

const prod = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/**
 * FLOPs of one kernel call from its input and output shapes and attributes: 2 × multiply-adds of Conv2D,
 * FusedConv2D, DepthwiseConv2dNative, FusedDepthwiseConv2D, Conv2DBackpropInput (a transposed convolution or a
 * convolution's input gradient), Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropInput/Filter, BatchMatMul and
 * _FusedMatMul, and restorekit's wasm kernels RestorekitDepthwiseConv2d and RestorekitDepthwiseFilterGrad (the same
 * counts as tfjs's depth-wise conv and its filter gradient), RestorekitWinogradConv3x3 and RestorekitWinogradFilterGrad3x3 (as
 * the 3×3 conv and filter gradient they compute: a Winograd conv's GFLOP/s are those of the direct sum it replaces), RestorekitGram (as its per-head products) and RestorekitMatMul (as the product it is); 0 for every other kernel (norms, element-wise ops, FFTs are not counted).
 */
export function kernelFlops(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> | undefined, output: tf.Tensor): number {
  switch (name) {
    case 'Conv2D':
    case 'FusedConv2D': {
      const w = inputs.filter!.shape; // [fh, fw, inC, outC]
      return 2 * prod(output.shape) * w[0]! * w[1]! * w[2]!;
    }
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D':
    case 'RestorekitDepthwiseConv2d': {
      const w = inputs.filter!.shape; // [fh, fw, inC, multiplier]
      return 2 * prod(output.shape) * w[0]! * w[1]!;
    }
    case 'Conv2DBackpropInput': {
      const w = inputs.filter!.shape; // [fh, fw, outC of the transposed conv, its inC]
      return 2 * prod(inputs.dy!.shape) * w[0]! * w[1]! * w[2]!;
    }
    case 'Conv2DBackpropFilter': {
      const w = attrs!.filterShape as number[]; // [fh, fw, inC, outC]
      return 2 * prod(inputs.dy!.shape) * w[0]! * w[1]! * w[2]!;
    }
    case 'DepthwiseConv2dNativeBackpropInput':
    case 'DepthwiseConv2dNativeBackpropFilter': {
      const w = (attrs?.filterShape ?? inputs.filter?.shape) as number[]; // [fh, fw, inC, multiplier]
      return 2 * prod(inputs.dy!.shape) * w[0]! * w[1]!;
    }
    case 'RestorekitDepthwiseFilterGrad': {
      const a = attrs as { kh: number; kw: number }; // restorekit's wasm kernel (wasm/kernels.ts)
      return 2 * prod(inputs.dy!.shape) * a.kh * a.kw;
    }
    case 'RestorekitWinogradConv3x3': {
      // restorekit's wasm kernel (wasm/kernels.ts), filter [16, inC, outC] transformed from a 3×3 one: counted as the
      // direct conv it computes (as PyTorch's count does), not as the fewer multiply-adds it runs
      return 2 * prod(output.shape) * 9 * inputs.filter!.shape[1]!;
    }
    case 'RestorekitWinogradFilterGrad3x3': {
      // restorekit's wasm kernel: the filter gradient of a 3×3 conv, counted as Conv2DBackpropFilter is
      return 2 * prod(inputs.dy!.shape) * 9 * inputs.x!.shape[3]!;
    }
    case 'RestorekitGram': {
      const n = inputs.a!.shape[0]!; // restorekit's wasm kernel: [heads, d, d] sums over the N rows (ops/gram.ts)
      return 2 * prod(output.shape) * n;
    }
    case 'RestorekitMatMul': {
      // restorekit's wasm kernel (wasm/kernels.ts): a plain [M, K]·[K, N] product (a 1×1 conv or a 2-D matMul)
      return 2 * prod(output.shape) * inputs.a!.shape[1]!;
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

/** A stack frame inside @restorekit/fft (its workspace folder or its installed package). */
const FFT_FRAME = /[/\\](?:packages[/\\]fft|@restorekit[/\\]fft)[/\\]/;
/** Frames of tfjs itself and of this counter, skipped when looking for the caller. */
const ENGINE_FRAME = /@tensorflow|tfjs-core|tfjs-backend|[/\\]flops\.[jt]s|[/\\]core[/\\]dist[/\\]|node:internal/;

/**
 * Whether a call stack's innermost frame outside tfjs is in @restorekit/fft: the product was called by fft's own
 * code. (Any fft frame further out is not enough: blocks that extend fft's FFTBlock, such as AnyIR's attention, have
 * its apply() in their stack for every product they run.)
 */
export function calledFromFft(stack: string): boolean {
  const first = stack
    .split('\n')
    .slice(1)
    .find((l) => !ENGINE_FRAME.test(l));
  return first !== undefined && FFT_FRAME.test(first);
}

let movementDepth = 0;

/**
 * Runs `fn`, whose convolutions and products only move data (a depth-wise conv with a 0/1 filter that gathers shifted
 * copies, as @restorekit/efma's `applyPixelKernels` does): `countFlops` puts their FLOPs in `movementFlops`, not in
 * `flops`, so that GFLOP/s stay a measure of the model's own arithmetic (the definition of the PyTorch reference count).
 */
export function dataMovement<T>(fn: () => T): T {
  movementDepth++;
  try {
    return fn();
  } finally {
    movementDepth--;
  }
}

/**
 * Runs `fn` with every kernel call through tfjs's engine counted (see `kernelFlops`); matrix products called by
 * @restorekit/fft's code go to `fftFlops`. `onKernel` runs after each kernel (e.g. to sample memory). Nothing else may
 * run tfjs kernels while `fn` runs (the count is of the whole engine).
 */
export async function countFlops<T>(fn: () => Promise<T>, onKernel?: () => void): Promise<{ result: T; count: FlopCount }> {
  const engine = tf.engine() as unknown as { runKernel: RunKernel };
  const original = engine.runKernel;
  const count: FlopCount = { flops: 0, fftFlops: 0, movementFlops: 0, kernels: 0 };
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
  engine.runKernel = function (this: unknown, name, inputs, attrs) {
    const out = original.call(this, name, inputs, attrs);
    count.kernels++;
    const f = kernelFlops(name, inputs, attrs, Array.isArray(out) ? out[0]! : out);
    if (f > 0) {
      if (movementDepth > 0) count.movementFlops += f;
      else if ((name === 'BatchMatMul' || name === '_FusedMatMul') && calledFromFft(new Error().stack ?? '')) count.fftFlops += f;
      else count.flops += f;
    }
    onKernel?.();
    return out;
  };
  try {
    return { result: await fn(), count };
  } finally {
    engine.runKernel = original;
    Error.stackTraceLimit = stackLimit;
  }
}
