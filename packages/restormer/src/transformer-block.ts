import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, free, opt, registerBlock, type BlockArgs, type OptionsInput, type ResolvedOptions } from '@restorekit/core';
import { createPart, partConfig, partOption } from './parts.js';
import './mdta.js';
import './gdfn.js';
import './restormer-layer-norm.js';

const OPTIONS = {
  /** Channels C of the block; filled in for every part. */
  channels: opt.posInt(),
  /** The token mixer: a C → C block config. Default Restormer's MDTA (`{ type: 'MDTA', heads: 1, bias: false }`). */
  attention: partOption({ type: 'MDTA' }),
  /** The feed-forward: a C → C block config. Default Restormer's GDFN (`{ type: 'GDFN', expansion: 2.66, bias: false, activation: 'gelu' }`). */
  ffn: partOption({ type: 'GDFN' }),
  /** The two pre-norms (norm1, norm2): a C → C block config. Default `{ type: 'RestormerLayerNorm', normKind: 'WithBias' }`. */
  norm: partOption({ type: 'RestormerLayerNorm' }),
};
export type TransformerBlockOptions = OptionsInput<typeof OPTIONS>;

/**
 * Restormer's `TransformerBlock`: pre-norm with two residuals, x ← x + attn(norm1(x)); x ← x + ffn(norm2(x)),
 * with swappable parts (timm style): `attention`, `ffn` and `norm` are `{ type, ...options }` configs of registered
 * blocks, created through the block registry. The block fills in `channels` for each part (a part config need not
 * repeat it; one that gives another value is a ConfigError). A part config of the default's type starts from the
 * default's options; `type` may be left out. The defaults give Restormer's block; AnyIR's DAB
 * (@restorekit/gated-da) is the same block with `attention: { type: 'SpatialFrequencyAttention' }` and
 * `ffn: { type: 'GDFN', expansion: 2 }`.
 *
 * `getConfig()` returns each part's complete options (every default filled in), so a saved block reloads the same
 * after a default changes. PyTorch children: `norm1`, `attn`, `norm2`, `ffn`.
 */
export class TransformerBlock extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>TransformerBlock';
  /** A repeated unit: `setRecompute(model)` checkpoints it (see @restorekit/core's setRecompute). */
  static override recomputeUnit = true;
  static override optionsSchema = OPTIONS;
  readonly norm1: tfl.layers.Layer;
  readonly attn: tfl.layers.Layer;
  readonly norm2: tfl.layers.Layer;
  readonly ffn: tfl.layers.Layer;

  constructor(opts: TransformerBlockOptions & BlockArgs) {
    super(opts as never);
    const { channels, attention, ffn, norm } = this.options;
    const owner = this.getClassName().split('>').pop()!;
    this.norm1 = this.addChild('norm1', createPart(owner, 'norm', norm, channels));
    this.attn = this.addChild('attn', createPart(owner, 'attention', attention, channels));
    this.norm2 = this.addChild('norm2', createPart(owner, 'norm', norm, channels));
    this.ffn = this.addChild('ffn', createPart(owner, 'ffn', ffn, channels));
  }

  override build(s: tfl.Shape): void {
    for (const c of [this.norm1, this.attn, this.norm2, this.ffn]) this.buildChild(c, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    // Each residual branch in its own tidy: its normalised input and output are freed once added.
    const y = tf.tidy(() => tf.add(x, this.run(this.attn, this.run(this.norm1, x, training), training)));
    return free(
      tf.tidy(() => tf.add(y, this.run(this.ffn, this.run(this.norm2, y, training), training))),
      y,
    );
  }

  /** The resolved options, with each part's complete config (see `partConfig`). */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), attention: partConfig(this.attn), ffn: partConfig(this.ffn), norm: partConfig(this.norm1) } as tf.serialization.ConfigDict;
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(TransformerBlock);
