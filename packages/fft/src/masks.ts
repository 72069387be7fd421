import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@restorekit/core';

export interface RadialMaskOptions {
  /** Spatial size [H, W] of the signal (not of the half spectrum). */
  size: readonly [number, number];
  /** true: the layout after fftshift (DC at [⌊H/2⌋, ⌊W/2⌋]); false (default): unshifted (DC at [0, 0]). */
  shifted?: boolean;
  /** true: rfft2 half spectrum (⌊W/2⌋+1 bins, never shifted along W); default false (full W). */
  half?: boolean;
  /** 'nhwc' (default): shape [1, H, W', 1]; 'hw': shape [H, W']. */
  layout?: 'nhwc' | 'hw';
}

/**
 * Radius of every bin, as a fraction of the largest radius on the grid: frequencies are the signed
 * integers of torch.fft.fftfreq(n)·n (−⌊n/2⌋ … ⌈n/2⌉−1), r = √(fy² + fx²) / √(⌊H/2⌋² + ⌊W/2⌋²).
 * Returned on the host (float64).
 */
export function radialFrequency(opts: RadialMaskOptions): { data: Float64Array; shape: [number, number] } {
  const size = opts?.size as unknown;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v >= 1))
    throw new ConfigError(`radial mask: option 'size' must be two positive integers [H, W], got ${JSON.stringify(size)}`);
  if (opts.layout !== undefined && opts.layout !== 'nhwc' && opts.layout !== 'hw') throw new ConfigError(`radial mask: unknown layout ${JSON.stringify(opts.layout)}; expected 'nhwc' or 'hw'`);
  const [H, W] = size as [number, number];
  const half = opts.half ?? false;
  const shifted = opts.shifted ?? false;
  const Wb = half ? Math.floor(W / 2) + 1 : W;
  const freq = (i: number, n: number, sh: boolean) => {
    if (sh) return i - Math.floor(n / 2);
    return i < Math.ceil(n / 2) ? i : i - n;
  };
  const rmax = Math.hypot(Math.floor(H / 2), Math.floor(W / 2)) || 1;
  const data = new Float64Array(H * Wb);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < Wb; x++) {
      const fy = freq(y, H, shifted);
      const fx = half ? x : freq(x, W, shifted);
      data[y * Wb + x] = Math.hypot(fy, fx) / rmax;
    }
  return { data, shape: [H, Wb] };
}

function checkCutoff(op: string, name: string, c: unknown): number {
  if (typeof c !== 'number' || !Number.isFinite(c) || c < 0) throw new ConfigError(`${op}: '${name}' must be a finite number ≥ 0 (fraction of the largest radius), got ${JSON.stringify(c)}`);
  return c;
}

function toMask(opts: RadialMaskOptions, keep: (r: number) => boolean): tf.Tensor {
  const { data, shape } = radialFrequency(opts);
  const m = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) m[i] = keep(data[i]!) ? 1 : 0;
  return (opts.layout ?? 'nhwc') === 'hw' ? tf.tensor2d(m, shape) : tf.tensor4d(m, [1, shape[0], shape[1], 1]);
}

// A small tolerance keeps bins exactly on the cutoff radius on the low-pass side despite rounding.
const EPS = 1e-12;

/** 1 where r ≤ cutoff (fraction of the largest radius), else 0. */
export function lowPassMask(opts: RadialMaskOptions & { cutoff: number }): tf.Tensor {
  const c = checkCutoff('lowPassMask', 'cutoff', opts?.cutoff);
  return toMask(opts, (r) => r <= c + EPS);
}

/** 1 where r > cutoff, else 0 (the complement of lowPassMask). */
export function highPassMask(opts: RadialMaskOptions & { cutoff: number }): tf.Tensor {
  const c = checkCutoff('highPassMask', 'cutoff', opts?.cutoff);
  return toMask(opts, (r) => r > c + EPS);
}

/** 1 where low < r ≤ high, else 0. */
export function bandPassMask(opts: RadialMaskOptions & { low: number; high: number }): tf.Tensor {
  const lo = checkCutoff('bandPassMask', 'low', opts?.low);
  const hi = checkCutoff('bandPassMask', 'high', opts?.high);
  if (hi < lo) throw new ConfigError(`bandPassMask: high (${hi}) must be ≥ low (${lo})`);
  return toMask(opts, (r) => r > lo + EPS && r <= hi + EPS);
}
