import { metrics } from '@restorekit/core';
import { Metric, type MetricType } from './metric.js';
import type { MetricOptions } from './options.js';

const DESCRIPTIONS: Record<MetricType, string> = {
  psnr: 'PSNR as BasicSR calculate_psnr (options cropBorder, testYChannel, dataRange, outOfRange)',
  ssim: 'SSIM as BasicSR calculate_ssim / MATLAB ssim_index: 11×11 Gaussian σ 1.5 (Restormer protocol)',
  ssim_skimage: 'SSIM as scikit-image structural_similarity: 7×7 uniform window, sample covariance (AnyIR / FSDerain protocol)',
};

/** Registers 'psnr', 'ssim' and 'ssim_skimage' in core's `metrics` registry (idempotent). */
export function registerMetrics(): void {
  for (const type of Object.keys(DESCRIPTIONS) as MetricType[])
    if (!metrics.has(type))
      metrics.register(type, {
        create: (options) => new Metric(type, options as MetricOptions),
        toOptions: (m) => ({ ...(m as Metric).options }),
        description: DESCRIPTIONS[type],
      });
}
