import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, ensurePositiveInt, type BlockArgs } from '../block.js';
import { ones, zeros } from './init.js';

export interface InstanceNorm2dOptions {
  channels: number;
  eps?: number;
  /** Learnable per-channel weight and bias (PyTorch default false). */
  affine?: boolean;
}

/** PyTorch `nn.InstanceNorm2d` (no running stats): per-sample, per-channel statistics over H, W, biased variance. */
export class InstanceNorm2d extends Block<InstanceNorm2dOptions & Record<string, unknown>> {
  static className = 'restorekit>InstanceNorm2d';
  gamma: tfl.LayerVariable | null = null;
  beta: tfl.LayerVariable | null = null;

  constructor(opts: InstanceNorm2dOptions & BlockArgs) {
    super(opts as never);
    ensurePositiveInt('InstanceNorm2d', 'channels', this.options.channels);
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
    let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.options.eps ?? 1e-5)));
    if (this.gamma && this.beta) y = tf.add(tf.mul(y, this.gamma.read()), this.beta.read());
    return y;
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(InstanceNorm2d);
