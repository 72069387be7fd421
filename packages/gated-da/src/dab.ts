import { ConfigError, registerBlock, type BlockArgs, type LayerNormKind } from '@restorekit/core';
import { PreNormResidualBlock, type PreNormResidualOptions } from '@restorekit/restormer';
import type { BatchNormMode } from './gated-da.js';
import { SpatialFrequencyAttention, type FrequencyBranch } from './spatial-frequency-attention.js';

export interface DABOptions extends PreNormResidualOptions {
  /** Channels C (even). */
  dim: number;
  /** Heads of the attention half (C/2 divisible by heads). Default 1. */
  heads?: number;
  /** GDFN expansion γ, hidden = trunc(C·γ). AnyIR: 2 (the default here). */
  ffnExpansionFactor?: number;
  /** Bias on the attention and GDFN convs. AnyIR: false (default). */
  bias?: boolean;
  /** 'WithBias' (AnyIR, default) or 'BiasFree'. */
  layerNormType?: LayerNormKind;
  /** See SpatialFrequencyAttention (default 'fft'). */
  frequencyBranch?: FrequencyBranch;
  /** Training behaviour of GatedDA's BatchNorm (default 'batch'). */
  batchNorm?: BatchNormMode;
}

/**
 * AnyIR's Degradation Adaptation Block (official `TransformerBlock` in net/anyir.py): Restormer's
 * pre-norm wrapper with the spatial-frequency attention,
 * x ← x + Attn(LN₁(x)); x ← x + GDFN(LN₂(x)). PyTorch children `norm1`, `attn`, `norm2`, `ffn`.
 */
export class DAB extends PreNormResidualBlock<DABOptions & Record<string, unknown>, SpatialFrequencyAttention> {
  static className = 'restorekit>DAB';

  constructor(opts: DABOptions & BlockArgs) {
    super(opts as never, 2);
  }

  protected createAttention(dim: number, heads: number, bias: boolean): SpatialFrequencyAttention {
    if (dim % 2 || (dim / 2) % heads) throw new ConfigError(`DAB: dim=${dim} must be even and dim/2 divisible by heads=${heads}`);
    return new SpatialFrequencyAttention({ dim, heads, bias, frequencyBranch: this.options.frequencyBranch ?? 'fft', batchNorm: this.options.batchNorm ?? 'batch' });
  }
}
registerBlock(DAB);
