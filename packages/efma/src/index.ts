export { EFMA, EFMABlock } from './efma.js';
export type { EFMAOptions, EFMABlockOptions } from './efma.js';
export { FrequencyAux, polarOfHalfSpectrum } from './frequency-aux.js';
export type { FrequencyAuxOptions } from './frequency-aux.js';
export { FilterTrunk, SFilter, MixFilter, IFilter, KFilter, applyPixelKernels, replicatePad2d } from './filters.js';
export type { FilterTrunkOptions, SFilterOptions, MixFilterOptions, IFilterOptions, KFilterOptions } from './filters.js';
export { DegradationSelector, DynamicProcessing, DEGRADATION_TYPES } from './dynamic-processing.js';
export type { DegradationSelectorOptions, DynamicProcessingOptions, DegradationType } from './dynamic-processing.js';
