import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  Conv2d,
  DerivedWeights,
  LayerNorm2d,
  SimpleGate,
  free,
  gatedConvs,
  opt,
  registerBlock,
  zeros,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
  spatialMean,
} from '@restorekit/core';
import { FFTBlock } from '@restorekit/fft';
import { FourierUnit } from './fourier-unit.js';
import { MSFFN } from './msffn.js';
import { LCD_LN_EPS, channelScale, kernelSizesOption, withChannels } from './common.js';

/** x ⊙ Conv1×1(GAP(x)): NAFNet's simplified channel attention, its conv held as `sca` (the reference's key, not core's `sca.1`). */
function channelAttention(run: (l: tfl.layers.Layer, t: tf.Tensor) => tf.Tensor, sca: Conv2d, x: tf.Tensor): tf.Tensor {
  const pooled = spatialMean(x as tf.Tensor4D);
  const w = free(run(sca, pooled), pooled);
  return free(tf.mul(x, w), w);
}

const LOCAL_OPTIONS = {
  channels: opt.posInt(),
  /** Depth-wise kernel size. Default 3 [SIBLING ECFNet `SCABlock`]. */
  kernelSize: opt.int({ min: 1 }, 3),
  bias: opt.bool(true),
};
export type MSSFLocalBranchOptions = OptionsInput<typeof LOCAL_OPTIONS>;

/**
 * MSSFBlock's local branch (NAFNet-style, ECFNet's `SCABlock` [SIBLING]): Conv1×1(C → 2C) → DW k×k(2C) → SimpleGate →
 * simplified channel attention → Conv1×1(C → C). PyTorch keys `conv1`, `dwconv`, `sca`, `conv2`.
 */
export class MSSFLocalBranch extends Block<ResolvedOptions<typeof LOCAL_OPTIONS>> {
  static className = 'restorekit>MSSFLocalBranch';
  static override optionsSchema = LOCAL_OPTIONS;
  readonly conv1: Conv2d;
  readonly dwconv: Conv2d;
  readonly sg: SimpleGate;
  /** Weight halves for `gatedConvs`, kept between inference calls. */
  private readonly derived = new DerivedWeights();
  readonly sca: Conv2d;
  readonly conv2: Conv2d;

  constructor(opts: MSSFLocalBranchOptions & BlockArgs) {
    super(opts as never);
    const { channels: c, kernelSize: k, bias } = this.options;
    if (k % 2 === 0) throw new ConfigError(`MSSFLocalBranch: kernelSize must be odd (padding ⌊k/2⌋ keeps the size), got ${k}`);
    this.conv1 = this.addChild('conv1', new Conv2d({ inChannels: c, outChannels: 2 * c, kernelSize: 1, bias }));
    this.dwconv = this.addChild(
      'dwconv',
      new Conv2d({ inChannels: 2 * c, outChannels: 2 * c, kernelSize: k, padding: Math.floor(k / 2), groups: 2 * c, bias }),
    );
    this.sg = this.addChild('sg', new SimpleGate());
    this.sca = this.addChild('sca', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 1, bias }));
    this.conv2 = this.addChild('conv2', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 1, bias }));
  }

  override build(s: tfl.Shape): void {
    const c = this.options.channels;
    this.buildChild(this.conv1, s);
    this.buildChild(this.dwconv, withChannels(s, 2 * c));
    this.buildChild(this.sg, withChannels(s, 2 * c));
    this.buildChild(this.sca, [s[0]!, 1, 1, c]);
    this.buildChild(this.conv2, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const g = gatedConvs(x, this.conv1, this.dwconv, this.derived, (l, t) => this.run(l, t, training));
    const s = free(
      channelAttention((l, t) => this.run(l, t, training), this.sca, g),
      g,
    );
    return free(this.run(this.conv2, s, training), s);
  }

  protected override releaseResources(): void {
    this.derived.dispose();
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(MSSFLocalBranch);

const GLOBAL_OPTIONS = {
  channels: opt.posInt(),
  bias: opt.bool(true),
  /** LayerNorm of the Fourier unit. Default 'WithBias'. */
  normKind: opt.enum(['WithBias', 'BiasFree'] as const, 'WithBias'),
  /** torch.fft norm of the Fourier unit. Default 'ortho' [RECON]. */
  fftNorm: opt.enum(['ortho', 'backward', 'forward'] as const, 'ortho'),
};
export type MSSFGlobalBranchOptions = OptionsInput<typeof GLOBAL_OPTIONS>;

/**
 * MSSFBlock's global branch [RECON from FDTANet `SpectralTransform`]: g = SG(Conv1×1(C → 2C)(x)); g = g + FU(g);
 * simplified channel attention; Conv1×1(C → C). PyTorch keys `conv1`, `fu.*`, `sca`, `conv2`.
 */
export class MSSFGlobalBranch extends FFTBlock<ResolvedOptions<typeof GLOBAL_OPTIONS>> {
  static className = 'restorekit>MSSFGlobalBranch';
  static override optionsSchema = GLOBAL_OPTIONS;
  readonly conv1: Conv2d;
  readonly sg: SimpleGate;
  /** Weight halves for `gatedConvs`, kept between inference calls. */
  private readonly derived = new DerivedWeights();
  readonly fu: FourierUnit;
  readonly sca: Conv2d;
  readonly conv2: Conv2d;

  constructor(opts: MSSFGlobalBranchOptions & BlockArgs) {
    super(opts as never);
    const { channels: c, bias, normKind, fftNorm } = this.options;
    this.conv1 = this.addChild('conv1', new Conv2d({ inChannels: c, outChannels: 2 * c, kernelSize: 1, bias }));
    this.sg = this.addChild('sg', new SimpleGate());
    this.fu = this.addChild('fu', new FourierUnit({ channels: c, bias, normKind, fftNorm }));
    this.sca = this.addChild('sca', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 1, bias }));
    this.conv2 = this.addChild('conv2', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 1, bias }));
  }

  override build(s: tfl.Shape): void {
    const c = this.options.channels;
    this.buildChild(this.conv1, s);
    this.buildChild(this.sg, withChannels(s, 2 * c));
    this.buildChild(this.fu, s);
    this.buildChild(this.sca, [s[0]!, 1, 1, c]);
    this.buildChild(this.conv2, s);
    super.build(s); // FFTBlock: a user of the DFT-basis cache until disposed
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const g = gatedConvs(x, this.conv1, null, this.derived, (l, t) => this.run(l, t, training));
    const f = this.run(this.fu, g, training);
    const h = free(tf.add(g, f), g, f);
    const s = free(
      channelAttention((l, t) => this.run(l, t, training), this.sca, h),
      h,
    );
    return free(this.run(this.conv2, s, training), s);
  }

  protected override releaseResources(): void {
    super.releaseResources();
    this.derived.dispose();
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(MSSFGlobalBranch);

const OPTIONS = {
  channels: opt.posInt(),
  /**
   * Learnable per-channel residual scales β_L, β_G, γ (`[1, C, 1, 1]`, zero-initialised) as in all the author's blocks
   * [SIBLING]; false is the summary's plain sum X + X_L + X_G (no parameters). Default true.
   */
  residualScales: opt.bool(true),
  /** MSFFN hidden ratio. Default 2 [SIBLING]. */
  expansion: opt.number({ min: 0, exclusiveMin: true }, 2),
  /** Local branch depth-wise kernel. Default 3 [SIBLING]. */
  kernelSize: opt.int({ min: 1 }, 3),
  /** MSFFN's two depth-wise kernel sizes. Default [3, 5] [SUMMARY]. */
  ffnKernelSizes: kernelSizesOption([3, 5], { length: 2, distinct: true }),
  /** Kind of the block norms and the Fourier unit's norm (eps 1e-6). Default 'WithBias' [SIBLING NAFNet LayerNorm2d]. */
  normKind: opt.enum(['WithBias', 'BiasFree'] as const, 'WithBias'),
  /** Bias on the branch convs (MSFFN has none). Default true. */
  bias: opt.bool(true),
  /** torch.fft norm of the Fourier unit. Default 'ortho' [RECON]. */
  fftNorm: opt.enum(['ortho', 'backward', 'forward'] as const, 'ortho'),
};
export type MSSFBlockOptions = OptionsInput<typeof OPTIONS>;

/**
 * LCDNet's multi-scale spatial-frequency block (spec §2.4): X̂ = LN₁(X); X_S = X + β_L ⊙ Local(X̂) + β_G ⊙ Global(X̂);
 * X_C = X_S + γ ⊙ MSFFN(LN₂(X_S)). PyTorch keys `norm1`, `local.*`, `global.*`, `norm2`, `ffn.*`, `beta_l`, `beta_g`,
 * `gamma`. 20C² + 183C parameters (residual scales on, defaults).
 */
export class MSSFBlock extends FFTBlock<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>MSSFBlock';
  static override optionsSchema = OPTIONS;
  readonly norm1: LayerNorm2d;
  readonly local: MSSFLocalBranch;
  readonly global: MSSFGlobalBranch;
  readonly norm2: LayerNorm2d;
  readonly ffn: MSFFN;
  betaL: tfl.LayerVariable | null = null;
  betaG: tfl.LayerVariable | null = null;
  gamma: tfl.LayerVariable | null = null;

  constructor(opts: MSSFBlockOptions & BlockArgs) {
    super(opts as never);
    const { channels: c, normKind, bias, kernelSize, expansion, ffnKernelSizes, fftNorm } = this.options;
    this.norm1 = this.addChild('norm1', new LayerNorm2d({ channels: c, normKind, eps: LCD_LN_EPS }));
    this.local = this.addChild('local', new MSSFLocalBranch({ channels: c, kernelSize, bias }));
    this.global = this.addChild('global', new MSSFGlobalBranch({ channels: c, bias, normKind, fftNorm }));
    this.norm2 = this.addChild('norm2', new LayerNorm2d({ channels: c, normKind, eps: LCD_LN_EPS }));
    this.ffn = this.addChild('ffn', new MSFFN({ channels: c, expansion, kernelSizes: ffnKernelSizes }));
  }

  override build(s: tfl.Shape): void {
    const c = this.options.channels;
    for (const child of [this.norm1, this.local, this.global, this.norm2, this.ffn]) this.buildChild(child, withChannels(s, c));
    if (this.options.residualScales) {
      this.betaL = this.addTorchWeight('beta_l', [1, c, 1, 1], zeros());
      this.betaG = this.addTorchWeight('beta_g', [1, c, 1, 1], zeros());
      this.gamma = this.addTorchWeight('gamma', [1, c, 1, 1], zeros());
    }
    super.build(s); // FFTBlock: a user of the DFT-basis cache until disposed
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const c = this.options.channels;
    const scaled = (v: tfl.LayerVariable | null, t: tf.Tensor) => (v ? free(tf.mul(t, channelScale(v, c)), t) : t);
    const xn = this.run(this.norm1, x, training);
    const l = scaled(this.betaL, this.run(this.local, xn, training));
    const g = scaled(this.betaG, this.run(this.global, xn, training));
    xn.dispose();
    const xl = free(tf.add(x, l), l);
    const xs = free(tf.add(xl, g), xl, g);
    const yn = this.run(this.norm2, xs, training);
    const y = scaled(this.gamma, free(this.run(this.ffn, yn, training), yn));
    return free(tf.add(xs, y), xs, y);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(MSSFBlock);
