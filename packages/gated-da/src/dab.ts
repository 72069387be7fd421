import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, ConfigError, ensurePositiveInt, registerBlock, type BlockArgs, type LayerNormKind } from '@restorekit/core';
import { GDFN, RestormerLayerNorm } from '@restorekit/restormer';
import type { BatchNormMode } from './gated-da.js';
import { SpatialFrequencyAttention, type FrequencyBranch } from './spatial-frequency-attention.js';

export interface DABOptions {
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
export class DAB extends Block<DABOptions & Record<string, unknown>> {
  static className = 'restorekit>DAB';
  readonly norm1: RestormerLayerNorm;
  readonly attn: SpatialFrequencyAttention;
  readonly norm2: RestormerLayerNorm;
  readonly ffn: GDFN;

  constructor(opts: DABOptions & BlockArgs) {
    super(opts as never);
    const o = this.options;
    const dim = ensurePositiveInt('DAB', 'dim', o.dim);
    const heads = ensurePositiveInt('DAB', 'heads', o.heads ?? 1);
    if (dim % 2 || (dim / 2) % heads) throw new ConfigError(`DAB: dim=${dim} must be even and dim/2 divisible by heads=${heads}`);
    const layerNormType = o.layerNormType ?? 'WithBias';
    const bias = o.bias ?? false;
    this.norm1 = this.addChild('norm1', new RestormerLayerNorm({ dim, layerNormType }));
    this.attn = this.addChild('attn', new SpatialFrequencyAttention({ dim, heads, bias, frequencyBranch: o.frequencyBranch ?? 'fft', batchNorm: o.batchNorm ?? 'batch' }));
    this.norm2 = this.addChild('norm2', new RestormerLayerNorm({ dim, layerNormType }));
    this.ffn = this.addChild('ffn', new GDFN({ dim, ffnExpansionFactor: o.ffnExpansionFactor ?? 2, bias }));
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
registerBlock(DAB);
