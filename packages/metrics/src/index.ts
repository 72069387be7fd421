export { psnr } from './psnr.js';
export { ssim, ssimSkimage } from './ssim.js';
export { psnrTensor, ssimMap, ssimTensor, ssimSkimageTensor } from './tensor-metrics.js';
export { rgbToY } from './color.js';
export type { RgbToYOptions } from './color.js';
export { Metric } from './metric.js';
export type { MetricType } from './metric.js';
export { evaluate } from './evaluate.js';
export type { EvaluateModel, EvaluateImage, Degrade, EvaluateOptions, EvaluateRow, EvaluateResult } from './evaluate.js';
export { ValueRangeError } from './errors.js';
export { resolveSSIMOptions } from './options.js';
export type { MetricOptions, OutOfRangePolicy, SSIMOptions, SSIMWindowOptions, ResolvedSSIMOptions } from './options.js';
export type { ImageArray } from './image-array.js';
export { gaussianKernel1d } from './host-metrics.js';
export { registerMetrics } from './register.js';

import { registerMetrics } from './register.js';
registerMetrics();
