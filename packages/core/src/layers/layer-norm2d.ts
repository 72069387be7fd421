import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, ensurePositiveInt, type BlockArgs } from '../block.js';
import { ConfigError } from '../errors.js';
import { channelLayerNorm } from '../ops/basic.js';
import { ones, zeros } from './init.js';

export type LayerNormKind = 'WithBias' | 'BiasFree';
export interface LayerNorm2dOptions {
  channels: number;
  /** Restormer's LayerNorm_type. BiasFree has no bias and does not centre the numerator. */
  kind?: LayerNormKind;
  /** PyTorch default 1e-5 (tfjs LayerNormalization defaults to 1e-3). */
  eps?: number;
}

/** LayerNorm over channels per pixel (Restormer's `WithBias_LayerNorm` / `BiasFree_LayerNorm`). */
export class LayerNorm2d extends Block<LayerNorm2dOptions & Record<string, unknown>> {
  static className = 'restorekit>LayerNorm2d';
  gamma!: tfl.LayerVariable;
  beta: tfl.LayerVariable | null = null;

  constructor(opts: LayerNorm2dOptions & BlockArgs) {
    super(opts as never);
    ensurePositiveInt('LayerNorm2d', 'channels', this.options.channels);
    const k = this.options.kind ?? 'WithBias';
    if (k !== 'WithBias' && k !== 'BiasFree') throw new ConfigError(`LayerNorm2d: kind must be 'WithBias' or 'BiasFree', got '${k}'`);
  }
  override build(_inputShape?: unknown): void {
    this.gamma = this.addTorchWeight('weight', [this.options.channels], ones());
    if ((this.options.kind ?? 'WithBias') === 'WithBias') this.beta = this.addTorchWeight('bias', [this.options.channels], zeros());
    this.built = true;
  }
  protected override expectedChannels() {
    return [this.options.channels];
  }
  forward(x: tf.Tensor): tf.Tensor {
    return channelLayerNorm(x, this.gamma.read(), this.beta ? this.beta.read() : null, this.options.eps ?? 1e-5);
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(LayerNorm2d);
