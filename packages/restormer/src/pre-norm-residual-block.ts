import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, ensurePositiveInt, type BlockArgs, type LayerNormKind } from '@restorekit/core';
import { GDFN } from './gdfn.js';
import { RestormerLayerNorm } from './restormer-layer-norm.js';

export interface PreNormResidualOptions {
  /** Channels C. */
  dim: number;
  /** Attention heads. Default 1. */
  heads?: number;
  /** GDFN expansion γ (hidden = trunc(C·γ)). Default: the subclass's paper value. */
  ffnExpansionFactor?: number;
  /** Bias on the attention and GDFN convs. Default false. */
  bias?: boolean;
  /** 'WithBias' or 'BiasFree'. Default 'WithBias'. */
  layerNormType?: LayerNormKind;
  /** The GDFN's `maxHiddenBytes` (hidden activations above it run in channel chunks; 0 never chunks). Default: GDFN's, 128 MiB. */
  ffnMaxHiddenBytes?: number;
}

/**
 * Restormer's transformer-block wrapper, x ← x + Attn(LN₁(x)); x ← x + GDFN(LN₂(x)), with the
 * attention left to subclasses (Restormer: MDTA; AnyIR's DAB swaps in its spatial-frequency
 * attention and keeps the rest). PyTorch children: `norm1`, `attn`, `norm2`, `ffn`.
 */
export abstract class PreNormResidualBlock<O extends PreNormResidualOptions & Record<string, unknown>, A extends tfl.layers.Layer> extends Block<O> {
  readonly norm1: RestormerLayerNorm;
  readonly attn: A;
  readonly norm2: RestormerLayerNorm;
  readonly ffn: GDFN;

  constructor(opts: O & BlockArgs, defaultFfnExpansion: number) {
    super(opts as never);
    const o = this.options;
    const dim = ensurePositiveInt(this.blockName(), 'dim', o.dim);
    const heads = ensurePositiveInt(this.blockName(), 'heads', o.heads ?? 1);
    const layerNormType = o.layerNormType ?? 'WithBias';
    const bias = o.bias ?? false;
    this.norm1 = this.addChild('norm1', new RestormerLayerNorm({ dim, layerNormType }));
    this.attn = this.addChild('attn', this.createAttention(dim, heads, bias));
    this.norm2 = this.addChild('norm2', new RestormerLayerNorm({ dim, layerNormType }));
    this.ffn = this.addChild('ffn', new GDFN({ dim, ffnExpansionFactor: o.ffnExpansionFactor ?? defaultFfnExpansion, bias, maxHiddenBytes: o.ffnMaxHiddenBytes }));
  }

  /** Builds the attention module (validating the options it needs). Called from the constructor. */
  protected abstract createAttention(dim: number, heads: number, bias: boolean): A;

  private blockName(): string {
    return (this.constructor as unknown as { className: string }).className.split('>').pop()!;
  }

  override build(s: tfl.Shape): void {
    for (const c of [this.norm1, this.attn, this.norm2, this.ffn]) this.buildChild(c, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.dim];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    // Each residual branch in its own tidy: its normalised input and output are freed once added.
    const y = tf.tidy(() => tf.add(x, this.run(this.attn, this.run(this.norm1, x, training), training)));
    const out = tf.tidy(() => tf.add(y, this.run(this.ffn, this.run(this.norm2, y, training), training)));
    y.dispose();
    return out;
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
