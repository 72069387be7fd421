export { RegionNorm } from './region-norm.js';
export type { RegionNormOptions } from './region-norm.js';
export { DFR } from './dfr.js';
export type { DFROptions } from './dfr.js';
export { PlainConvBlock } from './plain-conv-block.js';
export type { PlainConvBlockOptions } from './plain-conv-block.js';
export { UNetUpBlock } from './unet-up-block.js';
export type { UNetUpBlockOptions } from './unet-up-block.js';
export { SAM } from './sam.js';
export type { SAMOptions } from './sam.js';
export { recordRegionMasks, regionNormPaths } from './region-masks.js';
// SimAM (DRCNet's `simam_module`) is the core primitive; re-exported for convenience.
export { SimAM, simam } from '@restorekit/core';
