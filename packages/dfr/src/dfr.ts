import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  Conv2d,
  ConfigError,
  ShapeError,
  fmtShape,
  free,
  consume,
  opt,
  registerBlock,
  simam,
  type BlockArgs,
  type OptionSpec,
  type OptionsInput,
  type ResolvedOptions,
  leakyRelu,
  DerivedWeights,
  conv2d,
  prefers,
  concatChannels,
  splitChannels,
} from '@restorekit/core';
import { RegionNorm } from './region-norm.js';
import { reluSlope } from './options.js';

const OPTIONS = {
  inChannels: opt.posInt(),
  /** Output width, even: RN_L normalises the first half. */
  outChannels: opt.custom<number>(
    'an even positive integer',
    (v) => (Number.isInteger(v) && (v as number) >= 2 && (v as number) % 2 === 0) || 'RN_L normalises half of the channels',
  ) as OptionSpec<number, false>,
  /** 4×4 stride-2 pad-1 downsample conv (no bias) after the block; outputs [down, out]. Default true. */
  downsample: opt.bool(true),
  /** Cross-stage feature fusion: inputs [x, enc, dec], out += csff_enc(enc) + csff_dec(dec). Needs `downsample`. Default false. */
  useCsff: opt.bool(false),
  /**
   * Apply RN_L (region normalisation) to the first half of conv_1's output (official `use_HIN` / `use_sf`; DRCNet turns it
   * on at levels hin_position_left ≤ i ≤ hin_position_right). Default true.
   */
  regionNorm: opt.bool(true),
  /** LeakyReLU negative slope (official relu_slope 0.2). */
  reluSlope: reluSlope(),
  /** RN_L mask threshold, in (0, 1) (official 0.8). */
  threshold: RegionNorm.optionsSchema.threshold,
};
export type DFROptions = OptionsInput<typeof OPTIONS>;

/**
 * DRCNet's Dynamic Filter Restoration block (official `UNetConvBlock` in `drcnet_arch.py`):
 * spatial-filter branch P = LReLU([RN_L(s_a), s_b]) with s = conv_1(x) split in channel halves;
 * energy branch Q = LReLU(SimAM(conv_2(x))); y = P·Q + identity(x) (+ csff_enc(enc) + csff_dec(dec));
 * returns [downsample(y), y] with downsample, else y.
 *
 * The RN_L weights (`norm.*`) are always created, as in the official constructor, so checkpoints load
 * at every level; with `regionNorm: false` they are unused and receive no gradient.
 */
export class DFR extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>DFR';
  /** A repeated unit: `setRecompute(model)` checkpoints it (see @restorekit/core's setRecompute). */
  static override recomputeUnit = true;
  static override optionsSchema = OPTIONS;
  readonly identity: Conv2d;
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly norm: RegionNorm;
  readonly csffEnc: Conv2d | null = null;
  readonly csffDec: Conv2d | null = null;
  readonly down: Conv2d | null = null;
  /** conv_1's weight halves, kept between inference calls. */
  private readonly derived = new DerivedWeights();

  constructor(opts: DFROptions & BlockArgs) {
    super(opts as never);
    const { inChannels: cin, outChannels: cout, useCsff, downsample, threshold } = this.options;
    if (useCsff && !downsample) throw new ConfigError(`DFR: 'useCsff' needs 'downsample' (the official block only fuses at downsampling levels)`);
    // Child order = official state_dict order.
    this.identity = this.addChild('identity', new Conv2d({ inChannels: cin, outChannels: cout, kernelSize: 1 }));
    this.conv1 = this.addChild('conv_1', new Conv2d({ inChannels: cin, outChannels: cout, kernelSize: 3, padding: 1 }));
    // Official conv_2 reads x (in → out), not conv_1's output.
    this.conv2 = this.addChild('conv_2', new Conv2d({ inChannels: cin, outChannels: cout, kernelSize: 3, padding: 1 }));
    this.norm = this.addChild('norm', new RegionNorm({ channels: cout / 2, threshold }));
    if (useCsff) {
      this.csffEnc = this.addChild('csff_enc', new Conv2d({ inChannels: cout, outChannels: cout, kernelSize: 3, padding: 1 }));
      this.csffDec = this.addChild('csff_dec', new Conv2d({ inChannels: cout, outChannels: cout, kernelSize: 3, padding: 1 }));
    }
    if (downsample)
      this.down = this.addChild('downsample', new Conv2d({ inChannels: cout, outChannels: cout, kernelSize: 4, stride: 2, padding: 1, bias: false }));
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const cout = this.options.outChannels;
    const sh = (c: number): tfl.Shape => [s[0]!, s[1]!, s[2]!, c];
    this.buildChild(this.identity, s);
    this.buildChild(this.conv1, s);
    this.buildChild(this.conv2, s);
    this.buildChild(this.norm, sh(cout / 2));
    if (this.csffEnc) this.buildChild(this.csffEnc, sh(cout));
    if (this.csffDec) this.buildChild(this.csffDec, sh(cout));
    if (this.down) this.buildChild(this.down, sh(cout));
    this.built = true;
  }

  protected override expectedChannels() {
    const o = this.options;
    return o.useCsff ? [o.inChannels, o.outChannels, o.outChannels] : [o.inChannels];
  }

  protected override validateInputs(xs: tf.Tensor | tf.Tensor[]): void {
    const list = Array.isArray(xs) ? xs : [xs];
    const want = this.options.useCsff ? 3 : 1;
    if (list.length !== want)
      throw new ShapeError(`DFR '${this.name}': expects ${want === 3 ? '3 inputs [x, enc, dec] (useCsff)' : '1 input'}, got ${list.length}`);
    super.validateInputs(xs);
    if (want === 3) {
      const [x, e, d] = list as [tf.Tensor, tf.Tensor, tf.Tensor];
      for (const [n, t] of [
        ['enc', e],
        ['dec', d],
      ] as const)
        if (t.shape[0] !== x.shape[0] || t.shape[1] !== x.shape[1] || t.shape[2] !== x.shape[2])
          throw new ShapeError(`DFR '${this.name}': ${n} must have the batch and spatial size of x ${fmtShape(x.shape)}, got ${fmtShape(t.shape)}`);
    }
  }

  forward(inputs: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor | tf.Tensor[] {
    const [x, enc, dec] = (Array.isArray(inputs) ? inputs : [inputs]) as [tf.Tensor, tf.Tensor?, tf.Tensor?];
    const { regionNorm, reluSlope: slope } = this.options;
    const run = (l: tfl.layers.Layer, t: tf.Tensor) => this.run(l, t, training);
    // Every intermediate is freed once consumed (peak memory: at 512² every full-width intermediate of DRCNet's
    // first level is 64 MiB); never x, enc or dec, which belong to the caller.
    let s: tf.Tensor;
    if (regionNorm && prefers('weightHalves')) {
      // conv_1's output halves from halves of its weight (kept between inference calls): the same convs' work without
      // the channel split of a full-size tensor (on wasm 17 ms at 256² × 64; two half-width 3×3 convs cost what one does).
      const w = this.conv1.kernel.read();
      const bias = this.conv1.biasVar?.read() ?? null;
      const half = this.options.outChannels / 2;
      const [a, b] = [0, 1].map((i) =>
        tf.tidy(() => {
          const wi = this.derived.get(`conv_1/half-${i}`, [w], () => tf.slice(w, [0, 0, 0, i * half], [-1, -1, -1, half]));
          const t = conv2d(x as tf.Tensor4D, wi as tf.Tensor4D, { padding: this.conv1.padding });
          return bias ? tf.add(t, tf.slice(bias, [i * half], [half])) : t;
        }),
      ) as [tf.Tensor, tf.Tensor];
      s = free(concatChannels([consume(a, (t) => run(this.norm, t)), b]), b);
    } else {
      s = run(this.conv1, x);
      if (regionNorm) {
        const [a, b] = splitChannels(s, 2) as [tf.Tensor, tf.Tensor];
        s.dispose();
        s = free(concatChannels([consume(a, (t) => run(this.norm, t)), b]), b);
      }
    }
    const p = consume(s, (t) => leakyRelu(t, slope));
    const q = consume(
      consume(run(this.conv2, x), (t) => simam(t as tf.Tensor4D)),
      (t) => leakyRelu(t, slope),
    );
    const pq = free(tf.mul(p, q), p, q);
    let y = consume(pq, (t) => consume(run(this.identity, x), (i) => tf.add(t, i)));
    if (this.csffEnc && this.csffDec) {
      y = consume(y, (t) => consume(run(this.csffEnc!, enc!), (e) => tf.add(t, e)));
      y = consume(y, (t) => consume(run(this.csffDec!, dec!), (d) => tf.add(t, d)));
    }
    return this.down ? [run(this.down, y), y] : y;
  }

  protected override releaseResources(): void {
    this.derived.dispose();
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const out: tfl.Shape = [s[0]!, s[1]!, s[2]!, this.options.outChannels];
    if (!this.down) return out;
    const half = (n: number | null) => (n == null ? null : Math.floor(n / 2));
    return [[s[0]!, half(s[1]!), half(s[2]!), this.options.outChannels], out];
  }
}
registerBlock(DFR);
