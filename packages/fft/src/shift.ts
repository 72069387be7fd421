import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, fmtShape, resolveOptions } from '@restorekit/core';
import type { Complex } from './types.js';
import { SHIFT_OPTIONS, checkComplex, checkTensor, defaultAxes, resolveAxes } from './validate.js';

/** Circular shift by `shift` along `axis` (out[i] = x[(i − shift) mod n]), as torch.roll. Any real dtype. */
export function roll(x: tf.Tensor, shift: number, axis: number): tf.Tensor {
  checkTensor('roll', x);
  if (x.rank < 1) throw new ShapeError(`roll: input must have rank ≥ 1, got shape ${fmtShape(x.shape)}`);
  if (!Number.isInteger(shift)) throw new ConfigError(`roll: shift must be an integer, got ${JSON.stringify(shift)}`);
  if (!Number.isInteger(axis)) throw new ConfigError(`roll: axis must be an integer, got ${JSON.stringify(axis)}`);
  const [a] = resolveAxes('roll', x.rank, [axis]) as [number];
  const n = x.shape[a]!;
  const s = ((shift % n) + n) % n;
  if (s === 0) return tf.clone(x);
  return tf.tidy(() => {
    const [head, tail] = tf.split(x, [n - s, s], a);
    return tf.concat([tail!, head!], a);
  });
}

function shiftAll<T extends tf.Tensor | Complex>(op: string, x: T, opts: unknown, dir: 1 | -1): T {
  const { axes } = resolveOptions(op, SHIFT_OPTIONS, opts);
  if (x instanceof tf.Tensor) {
    checkTensor(op, x);
    if (x.rank < 1) throw new ShapeError(`${op}: input must have rank ≥ 1, got shape ${fmtShape(x.shape)}`);
    if (axes === undefined && x.rank < 2)
      throw new ShapeError(`${op}: a rank-1 input needs 'axes' (the default is the two FFT axes), got shape ${fmtShape(x.shape)}`);
    const ax = axes === undefined ? defaultAxes(x.rank) : resolveAxes(op, x.rank, axes);
    return tf.tidy(() => {
      let y: tf.Tensor = x;
      for (const a of ax) y = roll(y, dir * Math.floor(x.shape[a]! / 2), a);
      return y === x ? tf.clone(x) : y;
    }) as T;
  }
  const z = checkComplex(op, x, 1);
  return { re: shiftAll(op, z.re, opts, dir), im: shiftAll(op, z.im, opts, dir) } as T;
}

/** Moves the zero-frequency bin to the centre (torch.fft.fftshift): roll by ⌊n/2⌋ along each axis (default: the two FFT axes). */
export function fftshift<T extends tf.Tensor | Complex>(x: T, opts: { axes?: readonly number[] } = {}): T {
  return shiftAll('fftshift', x, opts, 1);
}

/** Inverse of fftshift (torch.fft.ifftshift): roll by −⌊n/2⌋ (differs from fftshift for odd n). */
export function ifftshift<T extends tf.Tensor | Complex>(x: T, opts: { axes?: readonly number[] } = {}): T {
  return shiftAll('ifftshift', x, opts, -1);
}
