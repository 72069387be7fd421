import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@restorekit/core';
import type { Complex } from './types.js';
import { checkComplex, checkReal, defaultAxes } from './validate.js';

function normAxes(op: string, rank: number, axes: readonly number[] | undefined): number[] {
  const list = axes ?? defaultAxes(rank);
  if (!Array.isArray(list) || !list.every((a) => Number.isInteger(a))) throw new ConfigError(`${op}: option 'axes' must be a list of integers, got ${JSON.stringify(axes)}`);
  const out = list.map((a) => (a < 0 ? a + rank : a));
  out.forEach((a, i) => {
    if (a < 0 || a >= rank) throw new ConfigError(`${op}: axis ${list[i]} is out of range for a rank-${rank} tensor`);
  });
  if (new Set(out).size !== out.length) throw new ConfigError(`${op}: axes ${JSON.stringify(list)} repeat an axis`);
  return out;
}

/** Circular shift by `shift` along `axis` (out[i] = x[(i − shift) mod n]), as torch.roll. */
export function roll(x: tf.Tensor, shift: number, axis: number): tf.Tensor {
  const n = x.shape[axis]!;
  const s = ((shift % n) + n) % n;
  if (s === 0) return tf.clone(x);
  return tf.tidy(() => {
    const [head, tail] = tf.split(x, [n - s, s], axis);
    return tf.concat([tail!, head!], axis);
  });
}

function shiftAll<T extends tf.Tensor | Complex>(op: string, x: T, axes: readonly number[] | undefined, dir: 1 | -1): T {
  if (x instanceof tf.Tensor) {
    if (x.dtype === 'complex64') checkReal(op, x);
    const rank = x.rank;
    if (rank < 1) checkReal(op, x);
    const ax = normAxes(op, rank, axes);
    return tf.tidy(() => {
      let y: tf.Tensor = x;
      for (const a of ax) y = roll(y, dir * Math.floor(x.shape[a]! / 2), a);
      return y === x ? tf.clone(x) : y;
    }) as T;
  }
  const z = checkComplex(op, x);
  return { re: shiftAll(op, z.re, axes, dir), im: shiftAll(op, z.im, axes, dir) } as T;
}

/** Moves the zero-frequency bin to the centre (torch.fft.fftshift): roll by ⌊n/2⌋ along each axis (default: the two FFT axes). */
export function fftshift<T extends tf.Tensor | Complex>(x: T, opts: { axes?: readonly number[] } = {}): T {
  return shiftAll('fftshift', x, opts.axes, 1);
}

/** Inverse of fftshift (torch.fft.ifftshift): roll by −⌊n/2⌋ (differs from fftshift for odd n). */
export function ifftshift<T extends tf.Tensor | Complex>(x: T, opts: { axes?: readonly number[] } = {}): T {
  return shiftAll('ifftshift', x, opts.axes, -1);
}
