import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  Conv2d,
  ConfigError,
  InstanceNorm2d,
  opt,
  registerBlock,
  spatialMean,
  spatialSum,
  type BlockArgs,
  type OptionSpec,
  type OptionsInput,
  type ResolvedOptions,
  channelMax,
  concatChannels,
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
    const stats = concatChannels([tf.mean(z, 3, true), channelMax(z)]);
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
    const n = regionNormalise(z, r, this.bnNorm.gamma!.read(), this.bnNorm.beta!.read(), this.bnNorm.options.eps);
    return tf.add(tf.mul(n, tf.add(1, gamma)), beta);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(RegionNorm);

/**
 * RN's two-region normalisation, Σ over r ∈ {R, 1 − R} of IN_{w,b}(R_r·z + (1 − R_r)·μ_r)·√(S_r / (B·H·W)), in closed form.
 *
 * The official code fills each region's outside with the region mean μ_r (pooled over batch and space), instance-
 * normalises the filled map (shared affine w, b) and sums the two — 27 full-size tensors per call. Because R is
 * binary, the filled maps' per-sample means and variances follow from four sums of z' = z − c (c: z's mean over
 * batch and space; the result does not depend on c, which only keeps E[z'²] − m² free of cancellation): Σ z', Σ z'²,
 * Σ R z', Σ R z'². The output is then z'·a_bg + K_bg at background pixels and z'·a_fg + K_fg in the foreground with
 * per-sample, per-channel a, K: 12 full-size tensors. Equal to the official computation up to float rounding
 * (the fixtures hold), with the same gradients (R carries none, as `mask` in the official code).
 */
export function regionNormalise(z: tf.Tensor, r: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const [B, H, W] = z.shape as number[];
    const hw = H! * W!;
    const total = B! * hw;
    // Sums over H, W (core's spatialSum: a global average pool on wasm, no transposed copy)
    const sum = (t: tf.Tensor) => spatialSum(t as tf.Tensor4D);
    const c = tf.mean(spatialMean(z as tf.Tensor4D), 0, true);
    const zs = tf.sub(z, c);
    const rz = tf.mul(zs, r);
    const sumA = sum(zs); // [B,1,1,C]
    const sumQ = sum(tf.square(zs));
    const fgA = sum(rz);
    const fgQ = sum(tf.mul(rz, zs));
    const fgS = tf.sum(r, [1, 2], true); // [B,1,1,1] foreground pixels per sample (an exact count: a plain sum)
    // One region: per-sample sums (A = Σ R z', Q = Σ R z'², s = Σ R) → the scale a and the offset of its filled map.
    const region = (A: tf.Tensor, Q: tf.Tensor, s: tf.Tensor) => {
      const S = tf.sum(s); // pixels in the region, over the batch
      const Sc = tf.maximum(S, 1); // official: an empty region divides by 1 (μ = 0 before the shift)
      const mu = tf.sub(tf.div(tf.add(tf.sum(A, 0, true), tf.mul(c, S)), Sc), c); // μ_r − c
      const out = tf.sub(hw, s); // filled pixels per sample
      const mean = tf.div(tf.add(A, tf.mul(out, mu)), hw); // per-sample mean of the filled map (shifted)
      // Σ_region (z' − m)² + (outside)·(μ − m)², over H·W
      const dm = tf.sub(mu, mean);
      const inside = tf.add(tf.sub(Q, tf.mul(tf.mul(A, mean), 2)), tf.mul(tf.square(mean), s));
      const variance = tf.div(tf.add(inside, tf.mul(out, tf.square(dm))), hw);
      const scale = tf.sqrt(tf.div(Sc, total));
      const a = tf.mul(tf.mul(w, scale), tf.rsqrt(tf.add(tf.maximum(variance, 0), eps)));
      return { a, mean, mu, bias: tf.mul(b, scale) };
    };
    const fg = region(fgA, fgQ, fgS);
    const bg = region(tf.sub(sumA, fgA), tf.sub(sumQ, fgQ), tf.sub(hw, fgS));
    const bias = tf.add(fg.bias, bg.bias);
    // Foreground pixel: a_fg (z' − m_fg) + a_bg (μ_bg − m_bg); background: a_fg (μ_fg − m_fg) + a_bg (z' − m_bg).
    const kFg = tf.add(tf.sub(tf.mul(bg.a, tf.sub(bg.mu, bg.mean)), tf.mul(fg.a, fg.mean)), bias);
    const kBg = tf.add(tf.sub(tf.mul(fg.a, tf.sub(fg.mu, fg.mean)), tf.mul(bg.a, bg.mean)), bias);
    const scaleMap = tf.add(bg.a, tf.mul(r, tf.sub(fg.a, bg.a)));
    const offsetMap = tf.add(kBg, tf.mul(r, tf.sub(kFg, kBg)));
    return tf.add(tf.mul(zs, scaleMap), offsetMap);
  });
}
