import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, fmtShape } from '../errors.js';
import { needTensor } from './basic.js';
import { CONCAT_CHANNELS_KERNEL, EVEN_ODD_KERNEL, INTERLEAVE_KERNEL, SPLIT_CHANNELS_KERNEL, useCopyKernels, useWasmKernels } from '../wasm/kernels.js';
import '../cpu/kernels.js'; // the copy kernels on cpu

/**
 * Channel (last-axis) splits and concats: `tf.split(x, sizes, -1)` and `tf.concat(xs, -1)`, with their gradients. On
 * tfjs-backend-wasm with settings `wasmKernels` on, float32 tensors are copied by restorekit's kernel (rows of channels
 * in vectors of 4; tfjs-backend-wasm copies them in JavaScript one value at a time: a 256×129×64 split into halves
 * took 9.5 ms of LCDNet's 256² forward), on tfjs-backend-cpu by the same kernels in JavaScript (row copies; see
 * cpu/kernels.ts); elsewhere tfjs's own ops.
 */
export function splitChannels(x: tf.Tensor, sizes: number | readonly number[]): tf.Tensor[] {
  needTensor('splitChannels', 'the input', x, true);
  const c = x.shape[x.rank - 1] ?? 0;
  const parts = typeof sizes === 'number' ? splitEvenly(c, sizes) : [...sizes];
  if (parts.some((n) => !Number.isInteger(n) || n < 1) || parts.reduce((a, b) => a + b, 0) !== c)
    throw new ShapeError(`splitChannels: sizes ${JSON.stringify(sizes)} must be positive integers summing to the ${c} channels of ${fmtShape(x.shape)}`);
  if (parts.length === 1) return [tf.clone(x)];
  if (x.dtype !== 'float32' || !useCopyKernels(x)) return tf.split(x, parts, -1);
  return splitKernel(x, parts);
}

/** Concatenates tensors of equal leading dimensions along their last axis (`tf.concat(xs, -1)`); see `splitChannels`. */
export function concatChannels(xs: readonly tf.Tensor[]): tf.Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new ConfigError('concatChannels: needs a non-empty array of tensors');
  for (const [i, t] of xs.entries()) needTensor('concatChannels', `tensor ${i}`, t, true);
  const lead = xs[0]!.shape.slice(0, -1);
  for (const [i, t] of xs.entries())
    if (t.rank !== xs[0]!.rank || t.shape.slice(0, -1).some((d: number, k: number) => d !== lead[k]) || t.dtype !== xs[0]!.dtype)
      throw new ShapeError(
        `concatChannels: tensor ${i} ${fmtShape(t.shape)} (${t.dtype}) does not match tensor 0 ${fmtShape(xs[0]!.shape)} (${xs[0]!.dtype}) outside the last axis`,
      );
  if (xs.length === 1) return tf.clone(xs[0]!);
  if (xs[0]!.dtype !== 'float32' || !useCopyKernels(xs[0]!)) return tf.concat(xs as tf.Tensor[], -1);
  return concatKernel(xs);
}

/**
 * The even and odd channels of x, `[x[..., 0::2], x[..., 1::2]]` (AnyIR's Skip-Split), with their gradients. On
 * tfjs-backend-wasm (settings `wasmKernels`, float32, ≥ 8 channels) one pass of restorekit's kernel (two vectors of x
 * shuffled into one of each; its gradient the interleave): tfjs-backend-wasm's strided Slice is a scalar loop (34 ms
 * for one at 128² × 56). Elsewhere slices of x seen as [pixels, C/2, 2] (rank 3: the gradient of a rank-5 slice is a
 * rank-5 pad, which webgl cannot compile).
 */
export function evenOddChannels(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
  needTensor('evenOddChannels', 'the input', x, true);
  const c = x.shape[x.rank - 1] ?? 0;
  if (c < 2 || c % 2) throw new ShapeError(`evenOddChannels: needs an even number of channels, got ${fmtShape(x.shape)}`);
  if (evenOddKernelRuns(x)) return tf.engine().runKernel(EVEN_ODD_KERNEL, { x }) as unknown as [tf.Tensor, tf.Tensor];
  const lead = x.shape.slice(0, -1);
  return tf.tidy(() => {
    const pairs = tf.reshape(x, [tf.util.sizeFromShape(lead), c / 2, 2]);
    return [0, 1].map((i) => tf.reshape(tf.slice(pairs, [0, 0, i], [-1, c / 2, 1]), [...lead, c / 2]));
  }) as [tf.Tensor, tf.Tensor];
}

/** Whether `evenOddChannels(x)` runs as restorekit's wasm kernel (float32, an even count of ≥ 8 channels, `useWasmKernels`). */
export function evenOddKernelRuns(x: tf.Tensor): boolean {
  const c = x.shape[x.rank - 1] ?? 0;
  return x.dtype === 'float32' && c >= 8 && c % 2 === 0 && useWasmKernels(x);
}

// The even/odd kernels' gradients: each other's (zeros for a half the loss does not use).
if (!tf.getGradient(EVEN_ODD_KERNEL))
  tf.registerGradient({
    kernelName: EVEN_ODD_KERNEL,
    inputsToSave: [],
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
      const [d0, d1] = dy as tf.Tensor[];
      const like = (d0 ?? d1)!;
      return {
        x: () => tf.engine().runKernel(INTERLEAVE_KERNEL, { even: d0 ?? tf.zerosLike(like), odd: d1 ?? tf.zerosLike(like) }) as tf.Tensor,
      };
    },
  });
if (!tf.getGradient(INTERLEAVE_KERNEL))
  tf.registerGradient({
    kernelName: INTERLEAVE_KERNEL,
    inputsToSave: [],
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
      let both: tf.Tensor[] | null = null;
      const halves = () => {
        both ??= tf.engine().runKernel(EVEN_ODD_KERNEL, { x: dy as tf.Tensor }) as unknown as tf.Tensor[];
        return both;
      };
      return { even: () => halves()[0]!, odd: () => halves()[1]! };
    },
  });

function splitEvenly(c: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1 || c % n !== 0) throw new ShapeError(`splitChannels: ${c} channels cannot be split into ${n} equal parts`);
  return Array<number>(n).fill(c / n);
}

/** Channels [start, start + Σ sizes) of x in parts of `sizes` (the rest of x's channels are not copied). */
function splitKernel(x: tf.Tensor, sizes: number[], start = 0): tf.Tensor[] {
  const attrs = { sizes, start, channels: x.shape[x.rank - 1]! };
  return tf.engine().runKernel(SPLIT_CHANNELS_KERNEL, { x }, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

function concatKernel(xs: readonly tf.Tensor[]): tf.Tensor {
  const named: tf.NamedTensorMap = {};
  xs.forEach((t, i) => {
    named[String(i)] = t;
  });
  return tf
    .engine()
    .runKernel(CONCAT_CHANNELS_KERNEL, named, { n: xs.length, sizes: xs.map((t) => t.shape[t.rank - 1]!) } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

// The kernels' gradients (tf.customGrad takes one output only, a split has several): a split's is the concat of its
// outputs' gradients (zeros for an output the loss does not use), a concat's the split of its output's gradient.
if (!tf.getGradient(SPLIT_CHANNELS_KERNEL))
  tf.registerGradient({
    kernelName: SPLIT_CHANNELS_KERNEL,
    inputsToSave: [],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], _saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const { sizes, start, channels } = attrs as unknown as { sizes: number[]; start: number; channels: number };
      const dys = Array.isArray(dy) ? dy : [dy];
      const shape = dys.find((d) => d != null)!.shape.slice(0, -1);
      const rest = channels - start - sizes.reduce((a, b) => a + b, 0);
      return {
        x: () =>
          concatChannels([
            ...(start > 0 ? [tf.zeros([...shape, start])] : []),
            ...dys.map((d, i) => d ?? tf.zeros([...shape, sizes[i]!])),
            ...(rest > 0 ? [tf.zeros([...shape, rest])] : []),
          ]),
      };
    },
  });
if (!tf.getGradient(CONCAT_CHANNELS_KERNEL))
  tf.registerGradient({
    kernelName: CONCAT_CHANNELS_KERNEL,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], _saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const sizes = (attrs as unknown as { sizes: number[] }).sizes;
      // each input's gradient is asked for in a tidy of its own: one copy of its channels each
      const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
      const d = dy as tf.Tensor;
      const part = (i: number) =>
        d.dtype === 'float32' && useCopyKernels(d)
          ? splitKernel(d, [sizes[i]!], starts[i])[0]!
          : tf.slice(
              d,
              d.shape.map((_, k) => (k === d.rank - 1 ? starts[i]! : 0)),
              [...d.shape.slice(0, -1), sizes[i]!],
            );
      return Object.fromEntries(sizes.map((_, i) => [String(i), () => part(i)]));
    },
  });
