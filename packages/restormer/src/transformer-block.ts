import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, ConfigError, ensurePositiveInt, registerBlock, type BlockArgs, type LayerNormKind } from '@restorekit/core';
import { GDFN } from './gdfn.js';
import { MDTA } from './mdta.js';
import { RestormerLayerNorm } from './restormer-layer-norm.js';

export interface TransformerBlockOptions {
  /** Channels C. */
  dim: number;
  /** MDTA heads (C divisible by heads). Default 1. */
  heads?: number;
  /** GDFN expansion γ (hidden = trunc(C·γ)). Default 2.66. */
  ffnExpansionFactor?: number;
  /** Bias on the convs. Default false. */
  bias?: boolean;
  /** 'WithBias' (deraining/deblurring) or 'BiasFree' (denoising). Default 'WithBias'. */
  layerNormType?: LayerNormKind;
}

/**
 * Restormer's `TransformerBlock`: pre-norm with two residuals,
 * x ← x + MDTA(LN₁(x)); x ← x + GDFN(LN₂(x)).
 * PyTorch children: `norm1`, `attn`, `norm2`, `ffn`.
 */
export class TransformerBlock extends Block<TransformerBlockOptions & Record<string, unknown>> {
  static className = 'restorekit>TransformerBlock';
  readonly norm1: RestormerLayerNorm;
  readonly attn: MDTA;
  readonly norm2: RestormerLayerNorm;
  readonly ffn: GDFN;

  constructor(opts: TransformerBlockOptions & BlockArgs) {
    super(opts as never);
    const o = this.options;
    const dim = ensurePositiveInt('TransformerBlock', 'dim', o.dim);
    const heads = ensurePositiveInt('TransformerBlock', 'heads', o.heads ?? 1);
    if (dim % heads) throw new ConfigError(`TransformerBlock: dim=${dim} must be divisible by heads=${heads}`);
    const layerNormType = o.layerNormType ?? 'WithBias';
    const bias = o.bias ?? false;
    this.norm1 = this.addChild('norm1', new RestormerLayerNorm({ dim, layerNormType }));
    this.attn = this.addChild('attn', new MDTA({ dim, heads, bias }));
    this.norm2 = this.addChild('norm2', new RestormerLayerNorm({ dim, layerNormType }));
    this.ffn = this.addChild('ffn', new GDFN({ dim, ffnExpansionFactor: o.ffnExpansionFactor ?? 2.66, bias }));
  }

  override build(s: tfl.Shape): void {
    for (const c of [this.norm1, this.attn, this.norm2, this.ffn]) this.buildChild(c, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.dim];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const y = tf.add(x, this.run(this.attn, this.run(this.norm1, x, training), training));
    return tf.add(y, this.run(this.ffn, this.run(this.norm2, y, training), training));
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(TransformerBlock);
