export { GatedDA, gatedDAWidths } from './gated-da.js';
export type { GatedDAOptions, BatchNormMode } from './gated-da.js';
export { SpatialFrequencyAttention } from './spatial-frequency-attention.js';
export type { SpatialFrequencyAttentionOptions, FrequencyBranch } from './spatial-frequency-attention.js';
export { DAB } from './dab.js';
export type { DABOptions } from './dab.js';
/** The fft frequency branch caches its DFT bases (per backend and size); these control that cache. */
export { releaseFFTCache, setFFTCacheEnabled } from '@restorekit/fft';
