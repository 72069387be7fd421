import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  Conv2d,
  LayerNorm2d,
  ShapeError,
  depthwiseConv2dValid,
  fmtShape,
  free,
  mirrorPad2d,
  opt,
  registerBlock,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
  spatialMean,
  concatChannels,
  splitChannels,
  softmax,
} from '@restorekit/core';
import { LCD_LN_EPS, kernelSizesOption, withChannels } from './common.js';

/** How the two band weights of the selection are normalised (spec §2.14). */
export type SelectionSoftmax = 'branches' | 'channels';

const BRANCH_OPTIONS = {
  /** Channels c of this branch (a part of the MSFM's C). */
  channels: opt.posInt(),
  /** Filter groups G (must divide `channels`): one k×k low-pass kernel per group and sample. Default 8 [SIBLING]. */
  groups: opt.posInt(8),
  /** Odd kernel size k ≥ 3 of the dynamic low-pass filter. Default 3. */
  kernelSize: opt.int({ min: 3 }, 3),
  /** Selection hidden width d = max(⌊c / reduction⌋, minHidden). Default 2 [SIBLING SFNet `SFconv`]. */
  reduction: opt.posInt(2),
  /** Default 32 [SIBLING SFNet `SFconv`]. */
  minHidden: opt.posInt(32),
  /**
   * 'branches' (default, the spec's SK-style reading): a_H, a_L = softmax over {high, low} per channel; 'channels':
   * SFNet's released `SFconv`, one softmax over the 2c concatenated channels [high, low].
   */
  selectionSoftmax: opt.enum(['branches', 'channels'] as const, 'branches'),
};
export type MSFMBranchOptions = OptionsInput<typeof BRANCH_OPTIONS>;

/**
 * One MSFM branch (spec §2.5, from the author's MSFSNet `dfs` [SIBLING] and SFNet's `dynamic_filter`/`SFconv`):
 * 1. f = softmax_taps(reshape(LayerNorm2d(G·k²)(Conv1×1(c → G·k², no bias)(GAP(Z))), [B, G, k²])) — one k×k kernel
 *    per sample and channel group (channel ch is in group ⌊ch / (c/G)⌋, tap p = u·k + v);
 * 2. X_L = that kernel applied depth-wise to the reflect-padded Z (cross-correlation); X_H = Z − X_L;
 * 3. SK selection: z = fc(GAP(X_L + X_H)); a_H = fc_high(z), a_L = fc_low(z), normalised by `selectionSoftmax`;
 *    Y = out(a_H ⊙ X_H + a_L ⊙ X_L).
 * PyTorch keys `filter_conv`, `filter_norm`, `fc`, `fc_high`, `fc_low`, `out`.
 *
 * The per-sample filter runs without a per-sample loop on every backend (the grouped-batch trick of spec §2.13): the
 * padded batch [B, h', w', c] is laid out as one image with B·c channels, [1, h', w', B·c], and convolved depth-wise
 * with a [k, k, B·c, 1] kernel built from f, so one conv (and its gradients, filter included) serves the batch.
 * Any batch size and any spatial size larger than ⌊k/2⌋ (reflect padding needs it).
 */
export class MSFMBranch extends Block<ResolvedOptions<typeof BRANCH_OPTIONS>> {
  static className = 'restorekit>MSFMBranch';
  static override optionsSchema = BRANCH_OPTIONS;
  readonly hidden: number;
  readonly filterConv: Conv2d;
  readonly filterNorm: LayerNorm2d;
  readonly fc: Conv2d;
  readonly fcHigh: Conv2d;
  readonly fcLow: Conv2d;
  readonly out: Conv2d;

  constructor(opts: MSFMBranchOptions & BlockArgs) {
    super(opts as never);
    const { channels: c, groups: g, kernelSize: k, reduction, minHidden } = this.options;
    if (c % g) throw new ConfigError(`MSFMBranch: groups G = ${g} must divide the branch channels c = ${c} (each filter group covers c/G channels)`);
    if (k % 2 === 0 || k < 3)
      throw new ConfigError(
        `MSFMBranch: kernelSize must be odd and at least 3 (reflect padding ⌊k/2⌋ keeps the size; k = 1 would make the low-pass the identity), got ${k}`,
      );
    const d = Math.max(Math.floor(c / reduction), minHidden);
    this.hidden = d;
    const conv = (i: number, o: number, bias = true) => new Conv2d({ inChannels: i, outChannels: o, kernelSize: 1, bias });
    this.filterConv = this.addChild('filter_conv', conv(c, g * k * k, false));
    this.filterNorm = this.addChild('filter_norm', new LayerNorm2d({ channels: g * k * k, eps: LCD_LN_EPS }));
    this.fc = this.addChild('fc', conv(c, d));
    this.fcHigh = this.addChild('fc_high', conv(d, c));
    this.fcLow = this.addChild('fc_low', conv(d, c));
    this.out = this.addChild('out', conv(c, c));
  }

  override build(s: tfl.Shape): void {
    const { channels: c, groups: g, kernelSize: k } = this.options;
    const pooled = (ch: number): tfl.Shape => [s[0]!, 1, 1, ch];
    this.buildChild(this.filterConv, pooled(c));
    this.buildChild(this.filterNorm, pooled(g * k * k));
    this.buildChild(this.fc, pooled(c));
    this.buildChild(this.fcHigh, pooled(this.hidden));
    this.buildChild(this.fcLow, pooled(this.hidden));
    this.buildChild(this.out, withChannels(s, c));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  /** The per-sample low-pass kernels, `[B, G, k²]` (softmax over the taps; tap p = u·k + v). */
  filters(z: tf.Tensor, training = false): tf.Tensor3D {
    const { groups: g, kernelSize: k } = this.options;
    return tf.tidy(() => {
      const f = this.run(this.filterNorm, this.run(this.filterConv, spatialMean(z as tf.Tensor4D), training), training);
      return softmax(tf.reshape(f, [z.shape[0]!, g, k * k])) as tf.Tensor3D;
    });
  }

  /** X_L: the per-sample, per-group k×k low-pass filter applied to Z with reflect padding. */
  lowPass(z: tf.Tensor4D, f: tf.Tensor3D): tf.Tensor4D {
    const { channels: c, groups: g, kernelSize: k } = this.options;
    const [b, h, w] = z.shape;
    const p = Math.floor(k / 2);
    if (h <= p || w <= p)
      throw new ShapeError(`MSFMBranch '${this.name}': reflect padding by ${p} (kernel ${k}) needs H and W > ${p}, got input ${fmtShape(z.shape)}`);
    return tf.tidy(() => {
      // Kernel [k, k, B·c, 1]: depth-wise channel b·c + ch uses f[b, ⌊ch/(c/G)⌋, :].
      const perChannel = tf.reshape(tf.tile(tf.reshape(f, [b, g, 1, k * k]), [1, 1, c / g, 1]), [b * c, k * k]);
      const kernel = tf.reshape(tf.transpose(perChannel), [k, k, b * c, 1]) as tf.Tensor4D;
      const zp = mirrorPad2d(z, [p, p], [p, p]); // not tf.mirrorPad: its gradient drops the borders (see core's mirrorPad2d)
      const [hp, wp] = [h + 2 * p, w + 2 * p];
      const folded = b === 1 ? zp : (tf.reshape(tf.transpose(zp, [1, 2, 0, 3]), [1, hp, wp, b * c]) as tf.Tensor4D);
      const low = depthwiseConv2dValid(folded, kernel);
      return b === 1 ? low : (tf.transpose(tf.reshape(low, [h, w, b, c]), [2, 0, 1, 3]) as tf.Tensor4D);
    });
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const c = this.options.channels;
    const z = x as tf.Tensor4D;
    const f = this.filters(z, training);
    const low = this.lowPass(z, f);
    f.dispose();
    const high = tf.sub(z, low);
    // Selection: s = GAP(X_L + X_H) as written (equal to GAP(Z) up to rounding).
    const sum = tf.add(low, high);
    const s = free(spatialMean(sum as tf.Tensor4D), sum);
    const zz = free(this.run(this.fc, s, training), s);
    const aHigh = this.run(this.fcHigh, zz, training);
    const aLow = free(this.run(this.fcLow, zz, training), zz);
    let wHigh: tf.Tensor;
    let wLow: tf.Tensor;
    const b = z.shape[0];
    if (this.options.selectionSoftmax === 'branches') {
      // Softmax over the two bands, per sample and channel (rank 3: [B, c, 2]).
      const both = softmax(tf.concat([tf.reshape(aHigh, [b, c, 1]), tf.reshape(aLow, [b, c, 1])], 2));
      const [h2, l2] = splitChannels(both, 2);
      [wHigh, wLow] = [tf.reshape(h2!, [b, 1, 1, c]), tf.reshape(l2!, [b, 1, 1, c])];
    } else {
      const both = softmax(concatChannels([aHigh, aLow]));
      [wHigh, wLow] = splitChannels(both, 2) as [tf.Tensor, tf.Tensor];
    }
    tf.dispose([aHigh, aLow]);
    const mixed = tf.add(tf.mul(wHigh, high), tf.mul(wLow, low));
    free(mixed, high, low);
    return free(this.run(this.out, mixed, training), mixed);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(MSFMBranch);

const OPTIONS = {
  channels: opt.posInt(),
  /** Filter groups G per branch; must divide C / (number of branches). Default 8 [SIBLING]. */
  groups: opt.posInt(8),
  /** One branch per kernel size, each on an equal, contiguous part of the channels (first part → first size). Default [3, 5] [SIBLING MSFSNet `MD`]. */
  kernelSizes: kernelSizesOption([3, 5]),
  /** Selection hidden width d = max(⌊c / reduction⌋, minHidden), c the branch channels. Defaults 2 and 32 [SIBLING SFNet]. */
  reduction: opt.posInt(2),
  minHidden: opt.posInt(32),
  /** See `MSFMBranch`. Default 'branches' (spec §2.14). */
  selectionSoftmax: opt.enum(['branches', 'channels'] as const, 'branches'),
};
export type MSFMOptions = OptionsInput<typeof OPTIONS>;

/**
 * LCDNet's multi-branch selective frequency module (spec §2.5): Z = conv_in(X) split into one part per kernel size,
 * each part through an `MSFMBranch` (dynamic low-pass / residual high-pass, SK-style selection), then
 * conv_out(concat). PyTorch keys `conv_in`, `branches.{i}.*`, `conv_out`. With C, c = C/2, d = max(c/2, 32):
 * 2C² + 2C + 2c² + 6cd + 2d + 278c + 544 parameters (defaults).
 */
export class MSFM extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>MSFM';
  static override optionsSchema = OPTIONS;
  readonly convIn: Conv2d;
  readonly branches: MSFMBranch[] = [];
  readonly convOut: Conv2d;
  readonly branchChannels: number;

  constructor(opts: MSFMOptions & BlockArgs) {
    super(opts as never);
    const { channels: c, groups, kernelSizes, reduction, minHidden, selectionSoftmax } = this.options;
    const n = kernelSizes.length;
    if (c % n) throw new ConfigError(`MSFM: channels C = ${c} must split evenly into ${n} branches (one per kernel size ${JSON.stringify(kernelSizes)})`);
    const part = c / n;
    if (part % groups)
      throw new ConfigError(
        `MSFM: groups G = ${groups} must divide the branch channels C/${n} = ${part} (C = ${c}); G = 8 needs C to be a multiple of ${8 * n}`,
      );
    this.branchChannels = part;
    this.convIn = this.addChild('conv_in', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 1 }));
    for (const [i, k] of kernelSizes.entries())
      this.branches.push(this.addChild(`branches.${i}`, new MSFMBranch({ channels: part, groups, kernelSize: k, reduction, minHidden, selectionSoftmax })));
    this.convOut = this.addChild('conv_out', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 1 }));
  }

  override build(s: tfl.Shape): void {
    const c = this.options.channels;
    this.buildChild(this.convIn, withChannels(s, c));
    for (const b of this.branches) this.buildChild(b, withChannels(s, this.branchChannels));
    this.buildChild(this.convOut, withChannels(s, c));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const z = this.run(this.convIn, x, training);
    const parts = this.branches.length === 1 ? [z] : splitChannels(z, this.branches.length);
    if (parts.length > 1) z.dispose();
    const ys = parts.map((p, i) => free(this.run(this.branches[i]!, p, training), p));
    const cat = ys.length === 1 ? ys[0]! : free(concatChannels(ys), ...ys);
    return free(this.run(this.convOut, cat, training), cat);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(MSFM);
