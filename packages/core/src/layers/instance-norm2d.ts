import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, type BlockArgs } from '../block.js';
import { opt, type OptionsInput, type ResolvedOptions } from '../options.js';
import { ones, zeros } from './init.js';

const OPTIONS = {
  channels: opt.posInt(),
  eps: opt.number({ min: 0, exclusiveMin: true }, 1e-5),
  /** Learnable per-channel weight and bias (PyTorch default false). */
  affine: opt.bool(false),
};
export type InstanceNorm2dOptions = OptionsInput<typeof OPTIONS>;

/** PyTorch `nn.InstanceNorm2d` (no running stats): per-sample, per-channel statistics over H, W, biased variance. */
export class InstanceNorm2d extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>InstanceNorm2d';
  static override optionsSchema = OPTIONS;
  gamma: tfl.LayerVariable | null = null;
  beta: tfl.LayerVariable | null = null;

  constructor(opts: InstanceNorm2dOptions & BlockArgs) {
    super(opts as never);
  }
  override build(_inputShape?: unknown): void {
    if (this.options.affine) {
      this.gamma = this.addTorchWeight('weight', [this.options.channels], ones());
      this.beta = this.addTorchWeight('bias', [this.options.channels], zeros());
    }
    this.built = true;
  }
  protected override expectedChannels() {
    return [this.options.channels];
  }
  forward(x: tf.Tensor): tf.Tensor {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.options.eps)));
    if (this.gamma && this.beta) y = tf.add(tf.mul(y, this.gamma.read()), this.beta.read());
    return y;
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(InstanceNorm2d);
