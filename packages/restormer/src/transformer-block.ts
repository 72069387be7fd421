import { ConfigError, registerBlock, type BlockArgs } from '@restorekit/core';
import { MDTA } from './mdta.js';
import { PreNormResidualBlock, type PreNormResidualOptions } from './pre-norm-residual-block.js';

/** Options of Restormer's TransformerBlock (MDTA heads must divide C; GDFN γ defaults to 2.66). */
export type TransformerBlockOptions = PreNormResidualOptions;

/**
 * Restormer's `TransformerBlock`: pre-norm with two residuals,
 * x ← x + MDTA(LN₁(x)); x ← x + GDFN(LN₂(x)).
 * PyTorch children: `norm1`, `attn`, `norm2`, `ffn`.
 */
export class TransformerBlock extends PreNormResidualBlock<TransformerBlockOptions & Record<string, unknown>, MDTA> {
  static className = 'restorekit>TransformerBlock';

  constructor(opts: TransformerBlockOptions & BlockArgs) {
    super(opts as never, 2.66);
  }

  protected createAttention(dim: number, heads: number, bias: boolean): MDTA {
    if (dim % heads) throw new ConfigError(`TransformerBlock: dim=${dim} must be divisible by heads=${heads}`);
    return new MDTA({ dim, heads, bias });
  }
}
registerBlock(TransformerBlock);
