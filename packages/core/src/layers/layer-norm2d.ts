import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, type BlockArgs } from '../block.js';
import { opt, type OptionsInput, type ResolvedOptions } from '../options.js';
import { channelLayerNorm } from '../ops/basic.js';
import { ones, zeros } from './init.js';

export type LayerNormKind = 'WithBias' | 'BiasFree';
const OPTIONS = {
  channels: opt.posInt(),
  /** Restormer's LayerNorm_type. BiasFree has no bias and does not centre the numerator. Default 'WithBias'. */
  normKind: opt.enum(['WithBias', 'BiasFree'] as const, 'WithBias'),
  /** PyTorch default 1e-5 (tfjs LayerNormalization defaults to 1e-3). */
  eps: opt.number({ min: 0, exclusiveMin: true }, 1e-5),
};
export type LayerNorm2dOptions = OptionsInput<typeof OPTIONS>;

/** LayerNorm over channels per pixel (Restormer's `WithBias_LayerNorm` / `BiasFree_LayerNorm`). */
export class LayerNorm2d extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>LayerNorm2d';
  static override optionsSchema = OPTIONS;
  gamma!: tfl.LayerVariable;
  beta: tfl.LayerVariable | null = null;

  constructor(opts: LayerNorm2dOptions & BlockArgs) {
    super(opts as never);
  }
  override build(_inputShape?: unknown): void {
    this.gamma = this.addTorchWeight('weight', [this.options.channels], ones());
    if (this.options.normKind === 'WithBias') this.beta = this.addTorchWeight('bias', [this.options.channels], zeros());
    this.built = true;
  }
  protected override expectedChannels() {
    return [this.options.channels];
  }
  forward(x: tf.Tensor): tf.Tensor {
    return channelLayerNorm(x, this.gamma.read(), this.beta ? this.beta.read() : null, this.options.eps);
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(LayerNorm2d);
