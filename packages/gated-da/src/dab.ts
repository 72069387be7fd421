import { registerBlock, type OptionsInput } from '@restorekit/core';
import { releaseFFTCacheUse } from '@restorekit/fft';
import { TransformerBlock, partOption } from '@restorekit/restormer';
import './spatial-frequency-attention.js';

const OPTIONS = {
  ...TransformerBlock.optionsSchema,
  /** Default AnyIR's attention: `{ type: 'SpatialFrequencyAttention' }` (heads 1, no bias, frequencyBranch 'identity', gate GatedDA). */
  attention: partOption({ type: 'SpatialFrequencyAttention' }),
  /** Default AnyIR's feed-forward: `{ type: 'GDFN', expansion: 2 }`. */
  ffn: partOption({ type: 'GDFN', expansion: 2 }),
};
export type DABOptions = OptionsInput<typeof OPTIONS>;

/**
 * AnyIR's Degradation Adaptation Block (official `TransformerBlock` in net/anyir.py): Restormer's `TransformerBlock`
 * with AnyIR's defaults — attention `SpatialFrequencyAttention`, feed-forward GDFN with expansion 2 —
 * x ← x + attn(norm1(x)); x ← x + ffn(norm2(x)). The same options (`channels`, `attention`, `ffn`, `norm`) and the
 * same PyTorch children `norm1`, `attn`, `norm2`, `ffn`: `new DAB(o)` builds the block that
 * `new TransformerBlock({ attention: { type: 'SpatialFrequencyAttention' }, ffn: { expansion: 2 }, ...o })` builds.
 * Disposing it also ends its attention's use of the FFT basis cache (a parent's dispose does not dispose its children).
 */
export class DAB extends TransformerBlock {
  static override className = 'restorekit>DAB';
  static override optionsSchema = OPTIONS;

  override dispose(): { refCountAfterDispose: number; numDisposedVariables: number } {
    const r = super.dispose();
    if (r.refCountAfterDispose === 0) releaseFFTCacheUse(this);
    return r;
  }
}
registerBlock(DAB);
