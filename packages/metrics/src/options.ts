import { ConfigError } from '@restorekit/core';

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
   * measures them as they are. The tensor-op functions (`psnrTensor`, ...) never check.
   */
  outOfRange?: OutOfRangePolicy;
}

export interface ResolvedMetricOptions {
  cropBorder: number;
  testYChannel: boolean;
  dataRange: number;
  outOfRange: OutOfRangePolicy;
}

const KNOWN = ['cropBorder', 'testYChannel', 'dataRange', 'outOfRange'] as const;
const ALIASES: Record<string, string> = { crop_border: 'cropBorder', test_y_channel: 'testYChannel', data_range: 'dataRange' };

/** Validates metric options; unknown keys (and snake_case spellings) throw `ConfigError`. */
export function resolveMetricOptions(fn: string, options: unknown): ResolvedMetricOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ConfigError(`${fn}: options must be an object, got ${JSON.stringify(options)}`);
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if ((KNOWN as readonly string[]).includes(k)) continue;
    const hint = ALIASES[k] ? ` (did you mean '${ALIASES[k]}'?)` : '';
    throw new ConfigError(`${fn}: unknown option '${k}'${hint}; known options: ${KNOWN.join(', ')}`);
  }
  const cropBorder = o.cropBorder ?? 0;
  if (typeof cropBorder !== 'number' || !Number.isInteger(cropBorder) || cropBorder < 0) throw new ConfigError(`${fn}: cropBorder must be a non-negative integer, got ${JSON.stringify(o.cropBorder)}`);
  const testYChannel = o.testYChannel ?? false;
  if (typeof testYChannel !== 'boolean') throw new ConfigError(`${fn}: testYChannel must be a boolean, got ${JSON.stringify(o.testYChannel)}`);
  const dataRange = o.dataRange ?? 1;
  if (typeof dataRange !== 'number' || !Number.isFinite(dataRange) || dataRange <= 0) throw new ConfigError(`${fn}: dataRange must be a positive number (1 for [0, 1] images, 255 for [0, 255]), got ${JSON.stringify(o.dataRange)}`);
  const outOfRange = o.outOfRange ?? 'error';
  if (outOfRange !== 'error' && outOfRange !== 'clip' && outOfRange !== 'ignore') throw new ConfigError(`${fn}: outOfRange must be 'error', 'clip' or 'ignore', got ${JSON.stringify(o.outOfRange)}`);
  return { cropBorder, testYChannel, dataRange, outOfRange };
}

/** The slack allowed above `dataRange` / below 0 before `outOfRange: 'error'` throws. */
export function rangeSlack(dataRange: number): number {
  return 1e-6 * dataRange;
}
