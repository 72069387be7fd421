import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, ShapeError, fmtShape, opt, resolveOptions, type OptionSpec } from '@restorekit/core';
import type { Complex, FFTNorm, FFTPath } from './types.js';

/** torch.fft's normalisations (option `norm`, of the functions and the layers). */
export const normOption = (dflt: FFTNorm): OptionSpec<FFTNorm, true> => opt.enum(['backward', 'ortho', 'forward'] as const, dflt);

/** Two integers (the transformed axes; negative counts from the end). */
const axesPair = opt.custom<readonly [number, number]>(
  'two integer axes',
  (v) => (Array.isArray(v) && v.length === 2 && v.every((a) => Number.isInteger(a))) || 'e.g. [1, 2]',
);
/** A list of integer axes (the shifted ones). */
const axesList = opt.custom<readonly number[]>('a list of integer axes', (v) => (Array.isArray(v) && v.every((a) => Number.isInteger(a))) || 'e.g. [1, 2]');

/** Options of rfft2 / fft2 / ifft2 (see `FFTOptions`). */
export const FFT_OPTIONS = {
  norm: normOption('backward'),
  axes: opt.optional(axesPair),
  path: opt.enum(['auto', 'matmul', 'fourstep', 'kernel'] as const satisfies readonly FFTPath[], 'auto'),
};
/** Options of irfft2 (see `IRFFTOptions`). */
export const IRFFT_OPTIONS = {
  ...FFT_OPTIONS,
  size: opt.optional(
    opt.custom<readonly [number, number]>(
      'two positive integers [H, W]',
      (v) => (Array.isArray(v) && v.length === 2 && v.every((a) => Number.isInteger(a) && a >= 1)) || 'the output size along the two axes',
    ),
  ),
};
/** Options of fftshift / ifftshift. */
export const SHIFT_OPTIONS = { axes: opt.optional(axesList) };

export function defaultAxes(rank: number): [number, number] {
  return rank === 2 ? [0, 1] : [rank - 3, rank - 2];
}

/** Negative axes counted from the end, each in range for `rank`, no axis twice. */
export function resolveAxes(op: string, rank: number, axes: readonly number[]): number[] {
  const out = axes.map((a) => (a < 0 ? a + rank : a));
  out.forEach((a, i) => {
    if (a < 0 || a >= rank) throw new ConfigError(`${op}: axis ${axes[i]} (of axes ${JSON.stringify(axes)}) is out of range for a rank-${rank} tensor`);
  });
  if (new Set(out).size !== out.length) throw new ConfigError(`${op}: axes ${JSON.stringify(axes)} name the same axis twice`);
  return out;
}

/** A tensor of any real dtype (not complex64: complex values are { re, im } pairs); anything else is a DTypeError. */
export function checkTensor(op: string, x: unknown, what = 'input'): tf.Tensor {
  if (!(x instanceof tf.Tensor)) throw new DTypeError(`${op}: ${what} must be a tf.Tensor, got ${describe(x)}`);
  if (x.dtype === 'complex64')
    throw new DTypeError(`${op}: ${what} is complex64; restorekit complex values are { re, im } pairs of float32 tensors (use tf.real / tf.imag to split)`);
  return x;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'object'
    ? `an object (${
        Object.keys(x as object)
          .slice(0, 4)
          .join(', ') || 'no keys'
      })`
    : typeof x;
}

export function checkReal(op: string, x: unknown, what = 'input', minRank = 2): tf.Tensor {
  if (!(x instanceof tf.Tensor)) throw new DTypeError(`${op}: ${what} must be a float32 tf.Tensor, got ${describe(x)}`);
  checkTensor(op, x, what);
  if (x.dtype !== 'float32') throw new DTypeError(`${op}: ${what} must be float32, got ${x.dtype}`);
  if (x.rank < minRank)
    throw new ShapeError(`${op}: ${what} must have rank ≥ ${minRank}${minRank === 2 ? ' (two transformed axes)' : ''}, got shape ${fmtShape(x.shape)}`);
  return x;
}

export function checkComplex(op: string, z: unknown, minRank = 2): Complex {
  if (z instanceof tf.Tensor) {
    if (z.dtype === 'complex64') throw new DTypeError(`${op}: input is complex64; pass { re, im } float32 tensors instead (tf.real(z), tf.imag(z))`);
    throw new DTypeError(`${op}: input must be a { re, im } pair of float32 tensors, got a single ${z.dtype} tensor`);
  }
  if (typeof z !== 'object' || z === null || !('re' in z) || !('im' in z))
    throw new DTypeError(`${op}: input must be a { re, im } pair of float32 tensors, got ${describe(z)}`);
  const { re, im } = z as { re: unknown; im: unknown };
  checkReal(op, re, 're', minRank);
  checkReal(op, im, 'im', minRank);
  const r = re as tf.Tensor;
  const i = im as tf.Tensor;
  if (r.rank !== i.rank || r.shape.some((d, k) => d !== i.shape[k]))
    throw new ShapeError(`${op}: re and im must have the same shape, got re ${fmtShape(r.shape)} and im ${fmtShape(i.shape)}`);
  return { re: r, im: i };
}

/** The resolved options of a transform over a rank-`rank` tensor (unknown options and bad values: ConfigError). */
export function commonOptions(op: string, rank: number, opts: unknown) {
  const o = resolveOptions(op, FFT_OPTIONS, opts);
  return { norm: o.norm, path: o.path, axes: transformAxes(op, rank, o.axes) };
}

/** The two transformed axes: the given ones resolved for `rank`, or the default (H, W of NHWC / HWC). */
export function transformAxes(op: string, rank: number, axes: readonly [number, number] | undefined): [number, number] {
  return (axes === undefined ? defaultAxes(rank) : resolveAxes(op, rank, axes)) as [number, number];
}
