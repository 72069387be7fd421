import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  Conv2d,
  ConfigError,
  InstanceNorm2d,
  opt,
  registerBlock,
  type BlockArgs,
  type OptionSpec,
  type OptionsInput,
  type ResolvedOptions,
} from '@restorekit/core';
import { oddKernelSize } from './options.js';
import { recordMask } from './region-masks.js';

const OPTIONS = {
  /** Channels C of the normalised feature (official `feature_channels`; DFR uses half of its width). */
  channels: opt.posInt(),
  /** Hard-mask threshold t on the importance map: foreground where M ≥ t (official 0.8). */
  threshold: opt.custom<number>('a number in (0, 1)', (v) => (typeof v === 'number' && v > 0 && v < 1) || 'a threshold on a sigmoid map', 0.8) as OptionSpec<
    number,
    true
  >,
  /** Kernel size of the three self-aware affine convs (official 7), odd. */
  kernelSize: oddKernelSize(7),
};
export type RegionNormOptions = OptionsInput<typeof OPTIONS>;

/**
 * The official `RN_L`: learned region normalisation (DRCNet's "dynamic spatial filter", from
 * "Region Normalization for Image Inpainting").
 *
 * - Self-aware affine (`sa`): M = sigmoid(conv7×7([mean_c z, max_c z])) (no bias); γ, β = conv7×7(M) (with bias).
 * - Hard mask R = 1[M ≥ 0.8], carrying no gradient (GreaterEqual's gradient is zero).
 * - For each region (R, 1 − R): the region mean is pooled over the whole batch and H, W
 *   (official `sum over dims 0, 2, 3`), substituted outside the region, normalised by one shared
 *   affine InstanceNorm2d (`rn.bn_norm`, eps 1e-5) and scaled by √(S_r / (B·H·W)), S_r = region size (0 → 1).
 * - Output (fg + bg)·(1 + γ) + β.
 *
 * PyTorch keys: `sa.conv1.weight`, `sa.gamma_conv.{weight,bias}`, `sa.beta_conv.{weight,bias}`, `rn.bn_norm.{weight,bias}`.
 */
export class RegionNorm extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>RegionNorm';
  static override optionsSchema = OPTIONS;
  readonly conv1: Conv2d;
  readonly gammaConv: Conv2d;
  readonly betaConv: Conv2d;
  readonly bnNorm: InstanceNorm2d;

  constructor(opts: RegionNormOptions & BlockArgs) {
    super(opts as never);
    const { channels, kernelSize: k } = this.options;
    const p = (k - 1) / 2;
    // Paper figure draws 3×3 convs here; the official code (followed) uses kernel_size 7.
    this.conv1 = this.addChild('sa.conv1', new Conv2d({ inChannels: 2, outChannels: 1, kernelSize: k, padding: p, bias: false }));
    this.gammaConv = this.addChild('sa.gamma_conv', new Conv2d({ inChannels: 1, outChannels: 1, kernelSize: k, padding: p, bias: true }));
    this.betaConv = this.addChild('sa.beta_conv', new Conv2d({ inChannels: 1, outChannels: 1, kernelSize: k, padding: p, bias: true }));
    this.bnNorm = this.addChild('rn.bn_norm', new InstanceNorm2d({ channels, affine: true, eps: 1e-5 }));
  }

  override build(s: tfl.Shape): void {
    const sh = (c: number): tfl.Shape => [s[0]!, s[1]!, s[2]!, c];
    this.buildChild(this.conv1, sh(2));
    this.buildChild(this.gammaConv, sh(1));
    this.buildChild(this.betaConv, sh(1));
    this.buildChild(this.bnNorm, sh(this.options.channels));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  /** Importance map M = sigmoid(conv1([mean_c, max_c])), [B, H, W, 1]. */
  private importance(z: tf.Tensor, training: boolean): tf.Tensor {
    const stats = tf.concat([tf.mean(z, 3, true), tf.max(z, 3, true)], 3);
    return tf.sigmoid(this.run(this.conv1, stats, training));
  }

  private hardMask(m: tf.Tensor): tf.Tensor {
    // Official: mask[sa_map.detach() >= threshold] = 1 (inclusive). No gradient reaches M through the
    // mask (GreaterEqual's gradient is zero). A float select rather than cast(bool): on webgpu a
    // bool → float32 cast aliases the bool buffer, and a kept copy of it read back wrong values.
    return tf.where(tf.greaterEqual(m, this.options.threshold), tf.onesLike(m), tf.zerosLike(m));
  }

  /** The hard foreground mask R = 1[M ≥ threshold] for an input z, [B, H, W, 1] (1 = foreground). Build the block first. */
  regionMask(z: tf.Tensor): tf.Tensor {
    if (!this.built) throw new ConfigError(`RegionNorm '${this.name}': build (or apply) the block before asking for its mask`);
    this.validateInputs(z);
    return tf.tidy(() => this.hardMask(this.importance(z, false)));
  }

  forward(z: tf.Tensor, training: boolean): tf.Tensor {
    const m = this.importance(z, training);
    const gamma = this.run(this.gammaConv, m, training);
    const beta = this.run(this.betaConv, m, training);
    const r = this.hardMask(m);
    recordMask(this, r);
    const [b, h, w] = z.shape as number[];
    const total = b! * h! * w!;
    const region = (rm: tf.Tensor): tf.Tensor => {
      // S_r is the same for every channel (the mask is broadcast over C); empty regions use S_r = 1.
      const sr = tf.maximum(tf.sum(rm), 1);
      const mu = tf.div(tf.sum(tf.mul(z, rm), [0, 1, 2]), sr); // [C], pooled over batch and space
      const filled = tf.add(tf.mul(z, rm), tf.mul(tf.sub(1, rm), mu));
      return tf.mul(this.run(this.bnNorm, filled, training), tf.sqrt(tf.div(sr, total)));
    };
    const n = tf.add(region(r), region(tf.sub(1, r)));
    return tf.add(tf.mul(n, tf.add(1, gamma)), beta);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(RegionNorm);
