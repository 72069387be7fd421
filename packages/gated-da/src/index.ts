export { GatedDA, gatedDAWidths } from './gated-da.js';
export type { GatedDAOptions, BatchNormMode } from './gated-da.js';
