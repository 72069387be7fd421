export { AdamW, Adam, createOptimizer, serializeOptimizerState, parseOptimizerState } from './optimizers.js';
export type { AdamOptions, AdamParamState, Optimizer, OptimizerStateDict, HostTensor } from './optimizers.js';
export { trainableParams, toTorchLayout, fromTorchLayout } from './params.js';
export type { NamedParam } from './params.js';
export { constantLR, warmupCosine, cosineAnnealingRestartLR, cosineAnnealingRestartCyclicLR } from './schedules.js';
export type { Schedule, WarmupCosineOptions, CosineAnnealingRestartOptions, CosineAnnealingRestartCyclicOptions } from './schedules.js';
export { clipGradNorm, globalNorm } from './clip.js';
export { EMA } from './ema.js';
export { memorySink, fileSink, callbackSink } from './log.js';
export type { LogSink } from './log.js';
export { Trainer, encodeCheckpoint, decodeCheckpoint } from './trainer.js';
export type {
  TrainModel,
  Batch,
  BatchSource,
  LossFunction,
  LossObject,
  LossSpec,
  TrainerOptions,
  StepResult,
  ValidationPair,
  ValidateOptions,
  ValidationResult,
  TrainerCheckpoint,
} from './trainer.js';
export { Rng, detLog, detExp, detCos, detSin, logGamma } from './rng.js';
export type { RngState } from './rng.js';
export { gaussianNoise, poissonGaussianNoise, gaussianBlur, gaussianKernel2d, filter2d, compose, checkImage } from './degrade.js';
export type { HostImage, Degradation, DegradationLabel, GaussianNoiseOptions, PoissonGaussianOptions, GaussianBlurOptions } from './degrade.js';
export { PatchSampler, cropImage, augmentImage } from './sampler.js';
export type { ImagePair, PatchInfo, PatchSamplerOptions, PatchSamplerState } from './sampler.js';
