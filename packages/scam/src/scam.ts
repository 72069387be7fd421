import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  Conv2d,
  PixelShuffle,
  ShapeError,
  SimpleGate,
  canonicalName,
  fmtShape,
  free,
  opt,
  registerBlock,
  type BlockArgs,
  type OptionSpec,
  type OptionsInput,
  type ResolvedOptions,
  spatialMean,
  softmax,
} from '@restorekit/core';

/** SCAM variants: 'A' is the single-scale skip attention of spec §2.7 (the only one implemented). */
export type SCAMVariant = 'A';

/** 'A' in any case (tfjs re-cases string options when it saves a model); 'B' is refused with the reason. */
const variantOption: OptionSpec<SCAMVariant, true> = {
  expects: "'A'",
  hasDefault: true,
  defaultValue: 'A',
  parse: (v) =>
    typeof v === 'string' && canonicalName(v) === 'a'
      ? { ok: true, value: 'A' }
      : {
          ok: false,
          why:
            typeof v === 'string' && canonicalName(v) === 'b'
              ? "variant 'B' (MSFSNet's full cross-scale SFF, spec §2.7 option B) is not implemented"
              : undefined,
        },
};

const OPTIONS = {
  /** Channels c of the encoder skip E (M, from the level below, has 2c). */
  channels: opt.posInt(),
  /**
   * 'A' (default): single-scale SK-style skip attention [RECON from the author's MSFSNet `SFF`]. Option B of the spec
   * (the full cross-scale SFF, several million parameters more at C = 64) is not implemented and is refused.
   */
  variant: variantOption,
  /** Hidden width d = max(⌊c / reduction⌋, minHidden), which must be even (SimpleGate halves it). Default 8 [SIBLING]. */
  reduction: opt.posInt(8),
  /** Default 4 [SIBLING]. */
  minHidden: opt.posInt(4),
};
export type SCAMOptions = OptionsInput<typeof OPTIONS>;

/**
 * LCDNet's skip connection attention mechanism (spec §2.7, variant A; [RECON] from the author's MSFSNet `SFF`).
 * Inputs `[E, M]`: the encoder skip E `[B, h, w, c]` and the selected feature of the level below M `[B, h/2, w/2, 2c]`.
 * f_m = PixelShuffle₂(up(M)); f_r = conv_r(E); u = GAP(f_r + f_m); z = SG(fc(u)) (d → d/2);
 * a_r = softmax_channels(fc_r(z)), a_m = softmax_channels(fc_m(z)) (each over its own c channels);
 * m = f_m ⊙ a_m + f_m; r = f_r ⊙ a_r + f_r + m. Outputs `[r, m]` (r is the decoder's skip, m goes to the level above).
 * PyTorch keys `up` (1×1, 2c → 4c, no bias), `conv_r` (1×1, bias), `fc` (c → d), `fc_r`, `fc_m` (d/2 → c; no biases).
 * 9c² + c + 2dc parameters.
 */
export class SCAM extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>SCAM';
  static override optionsSchema = OPTIONS;
  readonly hidden: number;
  readonly up: Conv2d;
  readonly shuffle: PixelShuffle;
  readonly convR: Conv2d;
  readonly fc: Conv2d;
  readonly sg: SimpleGate;
  readonly fcR: Conv2d;
  readonly fcM: Conv2d;

  constructor(opts: SCAMOptions & BlockArgs) {
    super(opts as never);
    const { channels: c, reduction, minHidden } = this.options;
    const d = Math.max(Math.floor(c / reduction), minHidden);
    if (d % 2) throw new ConfigError(`SCAM: hidden width d = max(⌊${c}/${reduction}⌋, ${minHidden}) = ${d} must be even (SimpleGate halves it)`);
    this.hidden = d;
    const conv = (i: number, o: number, bias: boolean) => new Conv2d({ inChannels: i, outChannels: o, kernelSize: 1, bias });
    this.up = this.addChild('up', conv(2 * c, 4 * c, false));
    this.shuffle = this.addChild('shuffle', new PixelShuffle({ factor: 2 }));
    this.convR = this.addChild('conv_r', conv(c, c, true));
    this.fc = this.addChild('fc', conv(c, d, false));
    this.sg = this.addChild('sg', new SimpleGate());
    this.fcR = this.addChild('fc_r', conv(d / 2, c, false));
    this.fcM = this.addChild('fc_m', conv(d / 2, c, false));
  }

  override build(s: tfl.Shape | tfl.Shape[]): void {
    const c = this.options.channels;
    const [e, m] = (Array.isArray(s[0]) ? s : [s, s]) as [tfl.Shape, tfl.Shape];
    const b = e[0]!;
    this.buildChild(this.up, [b, m[1]!, m[2]!, 2 * c]);
    this.buildChild(this.shuffle, [b, m[1]!, m[2]!, 4 * c]);
    this.buildChild(this.convR, [b, e[1]!, e[2]!, c]);
    this.buildChild(this.fc, [b, 1, 1, c]);
    this.buildChild(this.sg, [b, 1, 1, this.hidden]);
    this.buildChild(this.fcR, [b, 1, 1, this.hidden / 2]);
    this.buildChild(this.fcM, [b, 1, 1, this.hidden / 2]);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels, 2 * this.options.channels];
  }

  protected override validateInputs(xs: tf.Tensor | tf.Tensor[]): void {
    if (!Array.isArray(xs) || xs.length !== 2) throw new ShapeError(`SCAM '${this.name}': expects 2 inputs [E, M] (encoder skip, feature of the level below)`);
    super.validateInputs(xs);
    const [e, m] = xs as [tf.Tensor, tf.Tensor];
    if (m.shape[0] !== e.shape[0] || 2 * m.shape[1]! !== e.shape[1] || 2 * m.shape[2]! !== e.shape[2])
      throw new ShapeError(`SCAM '${this.name}': M must have E's batch and half its height and width, got E ${fmtShape(e.shape)} and M ${fmtShape(m.shape)}`);
  }

  forward(inputs: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor[] {
    const [e, m] = inputs as [tf.Tensor, tf.Tensor];
    const run = (l: tfl.layers.Layer, t: tf.Tensor) => this.run(l, t, training);
    const u4 = run(this.up, m);
    const fm = free(run(this.shuffle, u4), u4);
    const fr = run(this.convR, e);
    const sum = tf.add(fr, fm);
    const u = free(spatialMean(sum as tf.Tensor4D), sum);
    const h = free(run(this.fc, u), u);
    const z = free(run(this.sg, h), h);
    const lr = run(this.fcR, z);
    const lm = free(run(this.fcM, z), z);
    const ar = free(softmax(lr), lr);
    const am = free(softmax(lm), lm);
    const mOut = free(tf.add(tf.mul(fm, am), fm), am);
    const rPart = free(tf.add(tf.mul(fr, ar), fr), ar);
    const r = free(tf.add(rPart, mOut), rPart, fm, fr);
    return [r, mOut];
  }

  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape[] {
    const e = (Array.isArray(s[0]) ? s[0] : s) as tfl.Shape;
    return [[...e], [...e]];
  }
}
registerBlock(SCAM);
