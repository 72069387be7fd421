import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, Conv2d, ConfigError, ShapeError, ensurePositiveInt, fmtShape, registerBlock, simam, type BlockArgs } from '@restorekit/core';
import { RegionNorm } from './region-norm.js';

export interface DFROptions {
  inChannels: number;
  /** Output width (even: RN_L normalises the first half). */
  outChannels: number;
  /** 4×4 stride-2 pad-1 downsample conv (no bias) after the block; outputs [down, out]. Default true. */
  downsample?: boolean;
  /** Cross-stage feature fusion: inputs [x, enc, dec], out += csff_enc(enc) + csff_dec(dec). Default false. */
  useCsff?: boolean;
  /** Apply RN_L (region normalisation) to the first half of conv_1's output (official `use_HIN`/`use_sf`). Default true. */
  regionNorm?: boolean;
  /** LeakyReLU negative slope (official relu_slope 0.2). */
  reluSlope?: number;
  /** RN_L mask threshold (official 0.8). */
  threshold?: number;
}

/**
 * DRCNet's Dynamic Filter Restoration block (official `UNetConvBlock` in `drcnet_arch.py`):
 * spatial-filter branch P = LReLU([RN_L(s_a), s_b]) with s = conv_1(x) split in channel halves;
 * energy branch Q = LReLU(SimAM(conv_2(x))); y = P·Q + identity(x) (+ csff_enc(enc) + csff_dec(dec));
 * returns [downsample(y), y] with downsample, else y.
 *
 * The RN_L weights (`norm.*`) are always created, as in the official constructor, so checkpoints load
 * at every level; with `regionNorm: false` they are unused and receive no gradient.
 */
export class DFR extends Block<DFROptions & Record<string, unknown>> {
  static className = 'restorekit>DFR';
  readonly identity: Conv2d;
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly norm: RegionNorm;
  readonly csffEnc: Conv2d | null = null;
  readonly csffDec: Conv2d | null = null;
  readonly down: Conv2d | null = null;

  constructor(opts: DFROptions & BlockArgs) {
    super(opts as never);
    const o = this.options;
    const cin = ensurePositiveInt('DFR', 'inChannels', o.inChannels);
    const cout = ensurePositiveInt('DFR', 'outChannels', o.outChannels);
    if (cout % 2) throw new ConfigError(`DFR: option 'outChannels' must be even (RN_L normalises half of the channels), got ${cout}`);
    const slope = o.reluSlope ?? 0.2;
    if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new ConfigError(`DFR: option 'reluSlope' must be a finite number, got ${JSON.stringify(slope)}`);
    if (o.useCsff && o.downsample === false) throw new ConfigError(`DFR: 'useCsff' needs 'downsample' (the official block only fuses at downsampling levels)`);
    // Child order = official state_dict order.
    this.identity = this.addChild('identity', new Conv2d({ inChannels: cin, outChannels: cout, kernelSize: 1 }));
    this.conv1 = this.addChild('conv_1', new Conv2d({ inChannels: cin, outChannels: cout, kernelSize: 3, padding: 1 }));
    // Official conv_2 reads x (in → out), not conv_1's output.
    this.conv2 = this.addChild('conv_2', new Conv2d({ inChannels: cin, outChannels: cout, kernelSize: 3, padding: 1 }));
    this.norm = this.addChild('norm', new RegionNorm({ channels: cout / 2, threshold: o.threshold ?? 0.8 }));
    if (o.useCsff) {
      this.csffEnc = this.addChild('csff_enc', new Conv2d({ inChannels: cout, outChannels: cout, kernelSize: 3, padding: 1 }));
      this.csffDec = this.addChild('csff_dec', new Conv2d({ inChannels: cout, outChannels: cout, kernelSize: 3, padding: 1 }));
    }
    if (o.downsample ?? true) this.down = this.addChild('downsample', new Conv2d({ inChannels: cout, outChannels: cout, kernelSize: 4, stride: 2, padding: 1, bias: false }));
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
      for (const [n, t] of [['enc', e], ['dec', d]] as const)
        if (t.shape[0] !== x.shape[0] || t.shape[1] !== x.shape[1] || t.shape[2] !== x.shape[2])
          throw new ShapeError(`DFR '${this.name}': ${n} must have the batch and spatial size of x ${fmtShape(x.shape)}, got ${fmtShape(t.shape)}`);
    }
  }

  forward(inputs: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor | tf.Tensor[] {
    const [x, enc, dec] = (Array.isArray(inputs) ? inputs : [inputs]) as [tf.Tensor, tf.Tensor?, tf.Tensor?];
    const o = this.options;
    const slope = o.reluSlope ?? 0.2;
    // Each step in its own tidy and its inputs freed once consumed (peak memory: at 512² every full-width
    // intermediate of DRCNet's first level is 64 MiB); never x, enc or dec, which belong to the caller.
    const p = tf.tidy(() => {
      let s = this.run(this.conv1, x, training);
      if (o.regionNorm ?? true) {
        const [a, b] = tf.split(s, 2, 3) as [tf.Tensor, tf.Tensor];
        s.dispose();
        s = tf.concat([this.run(this.norm, a, training), b], 3);
      }
      return tf.leakyRelu(s, slope);
    });
    const q = tf.tidy(() => tf.leakyRelu(simam(this.run(this.conv2, x, training) as tf.Tensor4D), slope));
    const pq = tf.mul(p, q);
    tf.dispose([p, q]);
    let y = tf.tidy(() => tf.add(pq, this.run(this.identity, x, training)));
    pq.dispose();
    if (this.csffEnc && this.csffDec && enc && dec) {
      const y0 = y;
      y = tf.tidy(() => tf.add(tf.add(y0, this.run(this.csffEnc!, enc, training)), this.run(this.csffDec!, dec, training)));
      y0.dispose();
    }
    return this.down ? [this.run(this.down, y, training), y] : y;
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
