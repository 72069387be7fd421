import { ConfigError } from '@restorekit/core';
import { gaussianKernel1d } from './host-metrics.js';

/** What `psnr`, `ssim` and `ssimSkimage` do with values outside `[0, dataRange]`. */
export type OutOfRangePolicy = 'error' | 'clip' | 'ignore';

export interface MetricOptions {
  /** Pixels removed from each border before measuring (BasicSR `crop_border`). Default 0. */
  cropBorder?: number;
  /**
   * Measure on the luma Y of ITU-R BT.601 (MATLAB `rgb2ycbcr`, BasicSR `to_y_channel`):
   * Y = 16 + 65.481 R + 128.553 G + 24.966 B for R, G, B in [0, 1], on the [0, 255] scale.
   * Three-channel inputs are RGB; one-channel inputs are measured as they are. Default false.
   */
  testYChannel?: boolean;
  /** The inputs lie in `[0, dataRange]`: 1 (default, float images) or 255 (8-bit values). */
  dataRange?: number;
  /**
   * Values outside `[0, dataRange]` (beyond a 1e-6·dataRange slack): 'error' (default) throws
   * `ValueRangeError`, 'clip' clamps them first (what BasicSR's `tensor2img` does), 'ignore'
   * measures them as they are. The tensor-op functions (`psnrTensor`, `ssimTensor`, ...) never
   * read the data, so for them 'error' and 'ignore' both mean "as they are"; 'clip' still clamps.
   */
  outOfRange?: OutOfRangePolicy;
}

/**
 * The window and constants of the tensor SSIM (`ssimMap`, `ssimTensor`, and the losses built on
 * them). The defaults are BasicSR's / MATLAB's; `window: 'uniform'` switches every default to
 * scikit-image's `structural_similarity` (7×7, sample covariance), so one option selects a protocol.
 */
export interface SSIMWindowOptions {
  /** 'gaussian' (Wang et al. 2004, BasicSR `calculate_ssim`) or 'uniform' (scikit-image's box window). Default 'gaussian'. */
  window?: 'gaussian' | 'uniform';
  /** Odd window side (skimage `win_size`). Default 11 for 'gaussian', 7 for 'uniform'. */
  windowSize?: number;
  /** σ of the Gaussian window (ignored by 'uniform'). Default 1.5. */
  sigma?: number;
  /** Scale the (co)variances by N/(N−1), N = windowSize² (skimage `use_sample_covariance`). Default true for 'uniform', false for 'gaussian'. */
  sampleCovariance?: boolean;
  /** K1 of C1 = (K1·dataRange)². Default 0.01. */
  k1?: number;
  /** K2 of C2 = (K2·dataRange)². Default 0.03. */
  k2?: number;
}

/** Options of the tensor SSIM: the metric options (crop, Y, range) plus the window. */
export interface SSIMOptions extends MetricOptions, SSIMWindowOptions {}

export interface ResolvedMetricOptions {
  cropBorder: number;
  testYChannel: boolean;
  dataRange: number;
  outOfRange: OutOfRangePolicy;
}

export interface ResolvedSSIMOptions extends ResolvedMetricOptions {
  window: 'gaussian' | 'uniform';
  windowSize: number;
  /** The separable 1-D window (sums to 1). */
  kernel: Float64Array;
  /** Multiplies the (co)variances: 1, or N/(N−1) for the sample covariance. */
  covNorm: number;
  k1: number;
  k2: number;
}

const METRIC_KEYS = ['cropBorder', 'testYChannel', 'dataRange', 'outOfRange'] as const;
const SSIM_KEYS = [...METRIC_KEYS, 'window', 'windowSize', 'sigma', 'sampleCovariance', 'k1', 'k2'] as const;
/** What to suggest for spellings of the reference code (BasicSR, scikit-image) and of restorekit 0.1. */
const HINTS: Record<string, string> = {
  crop_border: "'cropBorder'",
  test_y_channel: "'testYChannel'",
  data_range: "'dataRange'",
  win_size: "'windowSize'",
  gaussian_weights: "window: 'gaussian'",
  use_sample_covariance: "'sampleCovariance'",
  K1: "'k1'",
  K2: "'k2'",
  clamp: "outOfRange: 'clip'",
};

function checkKeys(fn: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new ConfigError(`${fn}: options must be an object, got ${JSON.stringify(options)}`);
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    const hint = HINTS[k] ? ` (did you mean ${HINTS[k]}?)` : '';
    throw new ConfigError(`${fn}: unknown option '${k}'${hint}; known options: ${known.join(', ')}`);
  }
  return o;
}

function resolveCommon(fn: string, o: Record<string, unknown>): ResolvedMetricOptions {
  const cropBorder = o.cropBorder ?? 0;
  if (typeof cropBorder !== 'number' || !Number.isInteger(cropBorder) || cropBorder < 0)
    throw new ConfigError(`${fn}: cropBorder must be a non-negative integer, got ${JSON.stringify(o.cropBorder)}`);
  const testYChannel = o.testYChannel ?? false;
  if (typeof testYChannel !== 'boolean') throw new ConfigError(`${fn}: testYChannel must be a boolean, got ${JSON.stringify(o.testYChannel)}`);
  const dataRange = o.dataRange ?? 1;
  if (typeof dataRange !== 'number' || !Number.isFinite(dataRange) || dataRange <= 0)
    throw new ConfigError(`${fn}: dataRange must be a positive number (1 for [0, 1] images, 255 for [0, 255]), got ${JSON.stringify(o.dataRange)}`);
  const outOfRange = o.outOfRange ?? 'error';
  if (outOfRange !== 'error' && outOfRange !== 'clip' && outOfRange !== 'ignore')
    throw new ConfigError(`${fn}: outOfRange must be 'error', 'clip' or 'ignore', got ${JSON.stringify(o.outOfRange)}`);
  return { cropBorder, testYChannel, dataRange, outOfRange };
}

/** Validates metric options; unknown keys (and snake_case spellings) throw `ConfigError`. */
export function resolveMetricOptions(fn: string, options: unknown): ResolvedMetricOptions {
  return resolveCommon(fn, checkKeys(fn, options, METRIC_KEYS));
}

function positive(fn: string, name: string, v: unknown, def: number, min0 = false): number {
  const x = v ?? def;
  if (typeof x !== 'number' || !Number.isFinite(x) || (min0 ? x < 0 : x <= 0))
    throw new ConfigError(`${fn}: ${name} must be a ${min0 ? 'non-negative' : 'positive'} number, got ${JSON.stringify(v)}`);
  return x;
}

/**
 * Validates the tensor SSIM's options (metric options + window) and resolves the window once.
 * Exported for packages that wrap the tensor SSIM (e.g. @restorekit/losses' `SSIMLoss`), so that
 * a bad option is reported when the wrapper is constructed, with the same message.
 */
export function resolveSSIMOptions(fn: string, options: unknown): ResolvedSSIMOptions {
  const o = checkKeys(fn, options, SSIM_KEYS);
  const common = resolveCommon(fn, o);
  const window = o.window ?? 'gaussian';
  if (window !== 'gaussian' && window !== 'uniform') throw new ConfigError(`${fn}: window must be 'gaussian' or 'uniform', got ${JSON.stringify(o.window)}`);
  const windowSize = o.windowSize ?? (window === 'gaussian' ? 11 : 7);
  if (typeof windowSize !== 'number' || !Number.isInteger(windowSize) || windowSize < 1 || windowSize % 2 === 0)
    throw new ConfigError(`${fn}: windowSize must be an odd positive integer, got ${JSON.stringify(o.windowSize)}`);
  const sigma = positive(fn, 'sigma', o.sigma, 1.5);
  const sampleCovariance = o.sampleCovariance ?? window === 'uniform';
  if (typeof sampleCovariance !== 'boolean') throw new ConfigError(`${fn}: sampleCovariance must be a boolean, got ${JSON.stringify(o.sampleCovariance)}`);
  // A 1×1 window has no sample covariance (N − 1 = 0).
  if (sampleCovariance && windowSize === 1) throw new ConfigError(`${fn}: sampleCovariance needs a window larger than 1×1`);
  const k1 = positive(fn, 'k1', o.k1, 0.01, true);
  const k2 = positive(fn, 'k2', o.k2, 0.03, true);
  const n = windowSize * windowSize;
  const kernel = window === 'gaussian' ? gaussianKernel1d(windowSize, sigma) : new Float64Array(windowSize).fill(1 / windowSize);
  return { ...common, window, windowSize, kernel, covNorm: sampleCovariance ? n / (n - 1) : 1, k1, k2 };
}

/** The slack allowed above `dataRange` / below 0 before `outOfRange: 'error'` throws. */
export function rangeSlack(dataRange: number): number {
  return 1e-6 * dataRange;
}
