export { GatedDA, gatedDAWidths } from './gated-da.js';
export type { GatedDAOptions, BatchNormMode } from './gated-da.js';
export { SpatialFrequencyAttention } from './spatial-frequency-attention.js';
export type { SpatialFrequencyAttentionOptions, FrequencyBranch } from './spatial-frequency-attention.js';
export { DAB } from './dab.js';
export type { DABOptions } from './dab.js';
