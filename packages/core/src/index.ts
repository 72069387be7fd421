export * from './errors.js';
export { Block, registerBlock, torchShapeOf, ensurePositiveInt, isBlock } from './block.js';
export { setRecompute, isRecomputing, isRecomputeUnit, releaseAbandonedTape } from './recompute.js';
export { opt, resolveOptions, optionDefaults, suggestOption, canonicalName, snakeToCamel } from './options.js';
export type { OptionSpec, OptionSchema, OptionsInput, ResolvedOptions } from './options.js';
export { configure, getSettings, withSettings, onSettingsChange, prefers, backendsPreferring } from './settings.js';
export type { Settings, BackendChoice } from './settings.js';
export { free, consume, consuming, detach } from './tensors.js';
export { DerivedWeights } from './derived.js';
export type { BlockArgs, BlockOptions, TorchLayout, TorchParam } from './block.js';
export { Registry } from './registry.js';
export type { ComponentConfig, RegistryEntry } from './registry.js';
export { blocks, models, losses, metrics } from './registries.js';
export { matMul } from './ops/matmul.js';
export { splitChannels, concatChannels, evenOddChannels, evenOddKernelRuns } from './ops/channels.js';
export { headGrams, headGramsKernelRuns, blockDiagonal } from './ops/gram.js';
export {
  type DftPassOptions,
  dftPassKernel,
  fftKernel,
  prepareWasmKernels,
  productKernel,
  useWasmKernels,
  wasmKernelsActive,
  winogradFilterGradKernel,
  winogradKernel,
} from './wasm/kernels.js';
export { useWebGpuKernels } from './webgpu/kernels.js';
export { conv2d, conv2dValid, depthwiseConv2dValid, convTranspose2d, convTranspose2dValid } from './ops/conv.js';
export type { Conv2dOpOptions, ConvGradientMode } from './ops/conv.js';
export {
  gelu,
  geluOfHalved,
  leakyRelu,
  prelu,
  simpleGate,
  pixelShuffle,
  pixelUnshuffle,
  simam,
  channelLayerNorm,
  softmax,
  dotLastAxis,
  padToMultiple,
  mirrorPad2d,
  cropTo,
  needTensor,
  spatialMean,
  spatialSum,
  channelMax,
} from './ops/basic.js';
export type { PadMode, PaddedToMultiple } from './ops/basic.js';
export { torchUniform, ones, zeros, constant } from './layers/init.js';
export { Conv2d } from './layers/conv2d.js';
export type { Conv2dOptions } from './layers/conv2d.js';
export { ConvTranspose2d } from './layers/conv-transpose2d.js';
export type { ConvTranspose2dOptions } from './layers/conv-transpose2d.js';
export { LayerNorm2d } from './layers/layer-norm2d.js';
export type { LayerNorm2dOptions, LayerNormKind } from './layers/layer-norm2d.js';
export { BatchNorm2d } from './layers/batch-norm2d.js';
export type { BatchNorm2dOptions } from './layers/batch-norm2d.js';
export { InstanceNorm2d, instanceNorm } from './layers/instance-norm2d.js';
export type { InstanceNorm2dOptions } from './layers/instance-norm2d.js';
export { PixelShuffle, PixelUnshuffle } from './layers/pixel-shuffle.js';
export type { PixelShuffleOptions } from './layers/pixel-shuffle.js';
export { Sequential } from './layers/sequential.js';
export type { SequentialOptions } from './layers/sequential.js';
export { GELU, SimpleGate, SimAM, SimplifiedChannelAttention, gatedConvs } from './layers/gates.js';
export type { SimAMOptions, SimplifiedChannelAttentionOptions } from './layers/gates.js';
export { parseSafetensors, serializeSafetensors } from './weights/safetensors.js';
export type { SafeTensor, SafetensorsFile, SafetensorsDType } from './weights/safetensors.js';
export { loadTorchStateDict, exportTorchStateDict, countParams, torchParameters, unwrapCheckpoint } from './weights/torch.js';
export type { LoadOptions, LoadReport, StateTensor, TorchTarget } from './weights/torch.js';
export { useBackend } from './backend.js';
export type { BackendName } from './backend.js';
export { readTorchCheckpoint } from './weights/pth.js';
export type { TorchTensor, TorchDType, ReadTorchOptions } from './weights/pth.js';
export { PickleObject, PickleGlobal } from './weights/pickle.js';
export { loadCheckpoint, checkpointStateDict } from './weights/checkpoint.js';
export type { CheckpointSource, CheckpointTensor, LoadCheckpointOptions } from './weights/checkpoint.js';
export { countFlops, kernelFlops, calledFromFft, dataMovement } from './flops.js';
export type { FlopCount } from './flops.js';
