import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, type BlockArgs } from '../block.js';
import { opt, type OptionsInput, type ResolvedOptions } from '../options.js';
import { spatialMean } from '../ops/basic.js';
import { ones, zeros } from './init.js';

const OPTIONS = {
  channels: opt.posInt(),
  eps: opt.number({ min: 0, exclusiveMin: true }, 1e-5),
  /** Learnable per-channel weight and bias (PyTorch default false). */
  affine: opt.bool(false),
};
export type InstanceNorm2dOptions = OptionsInput<typeof OPTIONS>;

/**
 * Instance normalisation of NHWC `x` over H, W per sample and channel (biased variance, two passes), then
 * `· weight + bias` when given. Written out rather than with `tf.moments` (which casts x — a full copy — and
 * subtracts the mean once more than needed): x − μ is made once and serves the variance and the output, and the
 * affine weight is folded into the per-channel scale, 4 full-size results instead of 7.
 */
export function instanceNorm(x: tf.Tensor, weight: tf.Tensor | null, bias: tf.Tensor | null, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const mean = (t: tf.Tensor) => (t.rank === 4 ? spatialMean(t as tf.Tensor4D) : tf.mean(t, [1, 2], true));
    const xc = tf.sub(x, mean(x));
    const inv = tf.rsqrt(tf.add(mean(tf.square(xc)), eps));
    const y = tf.mul(xc, weight ? tf.mul(inv, weight) : inv);
    return bias ? tf.add(y, bias) : y;
  });
}

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
    return instanceNorm(x, this.gamma?.read() ?? null, this.beta?.read() ?? null, this.options.eps);
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(InstanceNorm2d);
