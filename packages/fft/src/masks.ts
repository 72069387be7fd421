import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, opt, resolveOptions, type OptionSpec, type OptionsInput, type ResolvedOptions } from '@restorekit/core';

const RADIAL_OPTIONS = {
  /** Spatial size [H, W] of the signal (not of the half spectrum). */
  size: opt.custom<readonly [number, number]>(
    'two positive integers [H, W]',
    (v) => (Array.isArray(v) && v.length === 2 && v.every((a) => Number.isInteger(a) && a >= 1)) || 'the signal size',
  ) as OptionSpec<readonly [number, number], false>,
  /** true: the layout after fftshift (DC at [⌊H/2⌋, ⌊W/2⌋]); false (default): unshifted (DC at [0, 0]). */
  shifted: opt.bool(false),
  /** true: rfft2 half spectrum (⌊W/2⌋+1 bins, never shifted along W); default false (full W). */
  half: opt.bool(false),
  /** 'nhwc' (default): shape [1, H, W', 1]; 'hw': shape [H, W']. */
  layout: opt.enum(['nhwc', 'hw'] as const, 'nhwc'),
};
/** A cutoff radius: a fraction of the largest radius on the grid. */
const radius = () => opt.number({ min: 0 });

export type RadialMaskOptions = OptionsInput<typeof RADIAL_OPTIONS>;
type Radial = ResolvedOptions<typeof RADIAL_OPTIONS>;

/**
 * Radius of every bin, as a fraction of the largest radius on the grid: frequencies are the signed
 * integers of torch.fft.fftfreq(n)·n (−⌊n/2⌋ … ⌈n/2⌉−1), r = √(fy² + fx²) / √(⌊H/2⌋² + ⌊W/2⌋²).
 * Returned on the host (float64).
 */
export function radialFrequency(opts: RadialMaskOptions): { data: Float64Array; shape: [number, number] } {
  return radial(resolveOptions('radialFrequency', RADIAL_OPTIONS, opts));
}

function radial(o: Radial): { data: Float64Array; shape: [number, number] } {
  const [H, W] = o.size;
  const { half, shifted } = o;
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

function toMask(o: Radial, keep: (r: number) => boolean): tf.Tensor {
  const { data, shape } = radial(o);
  const m = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) m[i] = keep(data[i]!) ? 1 : 0;
  return o.layout === 'hw' ? tf.tensor2d(m, shape) : tf.tensor4d(m, [1, shape[0], shape[1], 1]);
}

// A small tolerance keeps bins exactly on the cutoff radius on the low-pass side despite rounding.
const EPS = 1e-12;

/** 1 where r ≤ cutoff (fraction of the largest radius), else 0. */
export function lowPassMask(opts: RadialMaskOptions & { cutoff: number }): tf.Tensor {
  const o = resolveOptions('lowPassMask', { ...RADIAL_OPTIONS, cutoff: radius() }, opts);
  return toMask(o, (r) => r <= o.cutoff + EPS);
}

/** 1 where r > cutoff, else 0 (the complement of lowPassMask). */
export function highPassMask(opts: RadialMaskOptions & { cutoff: number }): tf.Tensor {
  const o = resolveOptions('highPassMask', { ...RADIAL_OPTIONS, cutoff: radius() }, opts);
  return toMask(o, (r) => r > o.cutoff + EPS);
}

/** 1 where low < r ≤ high, else 0. */
export function bandPassMask(opts: RadialMaskOptions & { low: number; high: number }): tf.Tensor {
  const o = resolveOptions('bandPassMask', { ...RADIAL_OPTIONS, low: radius(), high: radius() }, opts);
  if (o.high < o.low) throw new ConfigError(`bandPassMask: high (${o.high}) must be ≥ low (${o.low})`);
  return toMask(o, (r) => r > o.low + EPS && r <= o.high + EPS);
}
