import { opt } from '@restorekit/core';
import type { OfficialArgs } from './registry.js';

/** The level-1 width of a U-Net whose Downsample halves the channels before PixelUnshuffle: an even positive integer. */
export const evenChannels = (dflt: number) =>
  opt.custom<number>('an even positive integer', (v) => (Number.isInteger(v) && (v as number) > 0 && (v as number) % 2 === 0) || 'Downsample halves it', dflt);

/** Official constructor arguments of the Restormer-style U-Nets (Restormer, AnyIR) and their restorekit names. */
export function transformerOfficialArgs(extra: Record<string, string> = {}): OfficialArgs {
  return {
    rename: {
      inp_channels: 'inChannels',
      out_channels: 'outChannels',
      dim: 'channels',
      num_blocks: 'numBlocks',
      num_refinement_blocks: 'numRefinementBlocks',
      heads: 'heads',
      ffn_expansion_factor: 'expansion',
      bias: 'bias',
      LayerNorm_type: 'normKind',
      ...extra,
    },
  };
}
