import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, ShapeError, fmtShape } from '@restorekit/core';
import type { Complex, FFTNorm, FFTOptions, FFTPath } from './types.js';

const NORMS: readonly FFTNorm[] = ['backward', 'ortho', 'forward'];
const PATHS: readonly FFTPath[] = ['auto', 'matmul', 'fourstep', 'kernel'];

export function checkNorm(op: string, norm: unknown): FFTNorm {
  if (norm === undefined) return 'backward';
  if (typeof norm !== 'string' || !NORMS.includes(norm as FFTNorm))
    throw new ConfigError(`${op}: unknown norm ${JSON.stringify(norm)}; expected one of 'backward', 'ortho', 'forward'`);
  return norm as FFTNorm;
}

export function checkPath(op: string, path: unknown): FFTPath {
  if (path === undefined) return 'auto';
  if (typeof path !== 'string' || !PATHS.includes(path as FFTPath))
    throw new ConfigError(`${op}: unknown path ${JSON.stringify(path)}; expected one of 'auto', 'matmul', 'fourstep', 'kernel'`);
  return path as FFTPath;
}

export function defaultAxes(rank: number): [number, number] {
  return rank === 2 ? [0, 1] : [rank - 3, rank - 2];
}

export function checkAxes(op: string, rank: number, axes: unknown): [number, number] {
  if (axes === undefined) return defaultAxes(rank);
  if (!Array.isArray(axes) || axes.length !== 2 || !axes.every((a) => Number.isInteger(a)))
    throw new ConfigError(`${op}: option 'axes' must be two integers, got ${JSON.stringify(axes)}`);
  const [a, b] = (axes as number[]).map((v) => (v < 0 ? v + rank : v)) as [number, number];
  if (a < 0 || a >= rank || b < 0 || b >= rank)
    throw new ConfigError(`${op}: axes ${JSON.stringify(axes)} are out of range for a rank-${rank} tensor`);
  if (a === b) throw new ConfigError(`${op}: axes ${JSON.stringify(axes)} name the same axis twice`);
  return [a, b];
}

export function checkReal(op: string, x: unknown, what = 'input', minRank = 2): tf.Tensor {
  if (!(x instanceof tf.Tensor)) throw new DTypeError(`${op}: ${what} must be a float32 tf.Tensor, got ${x === null ? 'null' : typeof x}`);
  if (x.dtype === 'complex64')
    throw new DTypeError(`${op}: ${what} is complex64; restorekit complex values are { re, im } pairs of float32 tensors (use tf.real / tf.imag to split)`);
  if (x.dtype !== 'float32') throw new DTypeError(`${op}: ${what} must be float32, got ${x.dtype}`);
  if (x.rank < minRank) throw new ShapeError(`${op}: ${what} must have rank ≥ 2 (two transformed axes), got shape ${fmtShape(x.shape)}`);
  return x;
}

export function checkComplex(op: string, z: unknown, minRank = 2): Complex {
  if (z instanceof tf.Tensor) {
    if (z.dtype === 'complex64')
      throw new DTypeError(`${op}: input is complex64; pass { re, im } float32 tensors instead (tf.real(z), tf.imag(z))`);
    throw new DTypeError(`${op}: input must be a { re, im } pair of float32 tensors, got a single ${z.dtype} tensor`);
  }
  if (typeof z !== 'object' || z === null || !('re' in z) || !('im' in z))
    throw new DTypeError(`${op}: input must be a { re, im } pair of float32 tensors`);
  const { re, im } = z as { re: unknown; im: unknown };
  checkReal(op, re, 're', minRank);
  checkReal(op, im, 'im', minRank);
  const r = re as tf.Tensor;
  const i = im as tf.Tensor;
  if (r.rank !== i.rank || r.shape.some((d, k) => d !== i.shape[k]))
    throw new ShapeError(`${op}: re and im must have the same shape, got re ${fmtShape(r.shape)} and im ${fmtShape(i.shape)}`);
  return { re: r, im: i };
}

export function commonOptions(op: string, rank: number, opts: FFTOptions | undefined) {
  if (opts !== undefined && (typeof opts !== 'object' || opts === null)) throw new ConfigError(`${op}: options must be an object`);
  return { norm: checkNorm(op, opts?.norm), path: checkPath(op, opts?.path), axes: checkAxes(op, rank, opts?.axes) };
}
