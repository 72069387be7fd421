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
export { Trainer, encodeCheckpoint, decodeCheckpoint, wasmHeapGuard } from './trainer.js';
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
export { defocusBlur, diskKernel, motionBlur, motionKernel, shakeTrajectory, detAtan, detAsin } from './degrade-kernels.js';
export type { DefocusBlurOptions, MotionBlurOptions, ShakeTrajectory } from './degrade-kernels.js';
export { rainStreaks, streakKernel, haze, depthProxy, lowLight } from './degrade-scene.js';
export type { RainStreaksOptions, HazeOptions, LowLightOptions } from './degrade-scene.js';
export { jpegCompression, jpegRoundTrip } from './degrade-jpeg.js';
export type { JpegCompressionOptions } from './degrade-jpeg.js';
export { oneOf, maybe, shuffled, DEGRADATION_TASK, degradationTasks } from './degrade-random.js';
export type { NumberOrRange } from './degrade-options.js';
export { PatchSampler, cropImage, augmentImage, permuteChannels, RGB_PERMUTATIONS } from './sampler.js';
export type { ImagePair, PatchInfo, PatchSamplerOptions, PatchSamplerState } from './sampler.js';
export {
  RECIPES,
  DEGRADATION_FACTORIES,
  SCHEDULE_FACTORIES,
  resolveRecipe,
  mergeRecipe,
  degradationFromSpec,
  scheduleFromSpec,
  optimizerFromSpec,
  lossFromSpec,
  labelsFromSpec,
  trainerOptionsFromRecipe,
  RecipeBatchSource,
} from './recipe.js';
export type {
  Recipe,
  ResolvedRecipe,
  RecipeOverrides,
  RecipeModel,
  RecipeData,
  ComponentSpec,
  DegradationSpec,
  DegradationFactory,
  ScheduleSpec,
  ScheduleFactory,
  OptimizerSpec,
  LossTermSpec,
  LabelSpec,
  ValidationSpec,
  BuiltLoss,
  BuiltLossTerm,
  RecipeLossObject,
  RecipeTraining,
} from './recipe.js';
