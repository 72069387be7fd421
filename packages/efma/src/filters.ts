import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  Conv2d,
  ShapeError,
  consume,
  dataMovement,
  depthwiseConv2dValid,
  prelu,
  constant,
  fmtShape,
  free,
  opt,
  registerBlock,
  type BlockArgs,
  type OptionSpec,
  type OptionsInput,
  type ResolvedOptions,
  spatialMean,
  splitChannels,
  softmax,
  dotLastAxis,
} from '@restorekit/core';
import { firstShape, floorOption, oddKernelSize, sameGrid, withChannels } from './common.js';

const TRUNK_OPTIONS = {
  /** Channels C (input and output). */
  channels: opt.posInt(),
};
export type FilterTrunkOptions = OptionsInput<typeof TRUNK_OPTIONS>;

/**
 * The trunk T of every FSDRNet filter [RECON, spec §3.4]: Conv3×3(C→C, bias) → PReLU (one shared slope, init 0.25) →
 * ResBlock (r + Conv3×3(ReLU(Conv3×3(r))), biases). PyTorch keys `conv`, `prelu.weight` [1], `res.conv1`, `res.conv2`.
 */
export class FilterTrunk extends Block<ResolvedOptions<typeof TRUNK_OPTIONS>> {
  static className = 'restorekit>FilterTrunk';
  static override optionsSchema = TRUNK_OPTIONS;
  readonly conv: Conv2d;
  readonly resConv1: Conv2d;
  readonly resConv2: Conv2d;
  slope!: tfl.LayerVariable;

  constructor(opts: FilterTrunkOptions & BlockArgs) {
    super(opts as never);
    const c = this.options.channels;
    const conv3 = () => new Conv2d({ inChannels: c, outChannels: c, kernelSize: 3, padding: 1 });
    this.conv = this.addChild('conv', conv3());
    this.resConv1 = this.addChild('res.conv1', conv3());
    this.resConv2 = this.addChild('res.conv2', conv3());
  }

  override build(s: tfl.Shape): void {
    const shape = withChannels(firstShape(s), this.options.channels);
    this.buildChild(this.conv, shape);
    // nn.PReLU() (num_parameters = 1), registered between conv and res as in the reference's state_dict.
    this.slope = this.addTorchWeight('prelu.weight', [1], constant(0.25));
    this.buildChild(this.resConv1, shape);
    this.buildChild(this.resConv2, shape);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(d: tf.Tensor, training: boolean): tf.Tensor {
    const r = consume(this.run(this.conv, d, training), (t) => prelu(t, this.slope.read()));
    const h = consume(
      consume(this.run(this.resConv1, r, training), (t) => tf.relu(t)),
      (t) => this.run(this.resConv2, t, training),
    );
    return free(tf.add(r, h), r, h);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(FilterTrunk);

/**
 * Base of the four physics-guided filters: inputs `[x, d]` — x the features being restored, d the context the filter's
 * parameters are predicted from (in `DynamicProcessing`, d = Conv1×1([x, x ⊙ G])) — both [B, H, W, C]; output the
 * restored x̂ [B, H, W, C]. Child `trunk` (`FilterTrunk`); subclasses add their `head` and the physical model.
 */
abstract class PhysicsFilter<O extends { channels: number }> extends Block<O> {
  readonly trunk: FilterTrunk;
  readonly head: Conv2d | null;

  /** `headChannels`: the head's output width from the resolved options (null: no head). */
  protected constructor(opts: O & BlockArgs, headChannels: (o: O) => number | null) {
    super(opts as never);
    const c = this.options.channels;
    this.trunk = this.addChild('trunk', new FilterTrunk({ channels: c }));
    const out = headChannels(this.options);
    this.head = out === null ? null : this.addChild('head', new Conv2d({ inChannels: c, outChannels: out, kernelSize: 1 }));
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const s = withChannels(firstShape(inputShape), this.options.channels);
    this.buildChild(this.trunk, s);
    if (this.head) this.buildChild(this.head, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels, this.options.channels];
  }

  protected override validateInputs(xs: tf.Tensor | tf.Tensor[]): void {
    const list = Array.isArray(xs) ? xs : [xs];
    if (list.length !== 2) throw new ShapeError(`${this.getClassName()} '${this.name}': expects 2 inputs [x, d] (features, context), got ${list.length}`);
    super.validateInputs(list);
    sameGrid(`${this.getClassName()} '${this.name}'`, list, ['d']);
  }

  /** The predicted parameter map(s) of the physical model: head(T(d)) (or T(d) for the S filter). */
  protected predict(d: tf.Tensor, training: boolean): tf.Tensor {
    const t = this.run(this.trunk, d, training);
    return this.head ? free(this.run(this.head, t, training), t) : t;
  }

  forward(inputs: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor {
    const [x, d] = inputs as [tf.Tensor, tf.Tensor];
    return this.restore(x, this.predict(d, training));
  }

  /** x̂ from x and the predicted map (which it frees). */
  protected abstract restore(x: tf.Tensor, predicted: tf.Tensor): tf.Tensor;

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return withChannels(firstShape(inputShape), this.options.channels);
  }
}

const S_OPTIONS = { channels: opt.posInt() };
export type SFilterOptions = OptionsInput<typeof S_OPTIONS>;

/**
 * S — superposition (y = x + n: noise, rain streaks) [RECON, spec §3.4, IDR's "addition" route]: x̂ = x − T(d).
 * PyTorch keys `trunk.*`.
 */
export class SFilter extends PhysicsFilter<ResolvedOptions<typeof S_OPTIONS>> {
  static className = 'restorekit>SFilter';
  static override optionsSchema = S_OPTIONS;
  constructor(opts: SFilterOptions & BlockArgs) {
    super(opts as never, () => null);
  }
  protected restore(x: tf.Tensor, layer: tf.Tensor): tf.Tensor {
    return free(tf.sub(x, layer), layer);
  }
}
registerBlock(SFilter);

const MIX_OPTIONS = {
  channels: opt.posInt(),
  /** Floor of the transmission t = max(sigmoid(t̃), tFloor): the filter never divides by less. Default 0.1 [RECON]. */
  tFloor: floorOption(0.1),
};
export type MixFilterOptions = OptionsInput<typeof MIX_OPTIONS>;

/**
 * Mix — scattering mixture (haze, y = t·x + A·(1 − t)) [RECON, spec §3.4, IDR's "point" route made explicit]:
 * [t̃, ã] = head(T(d)) (C → 2C; t̃ the first C channels), t = max(sigmoid(t̃), tFloor), airlight A = GAP(ã) per sample and
 * channel, x̂ = (x − A·(1 − t)) / t. PyTorch keys `trunk.*`, `head`.
 */
export class MixFilter extends PhysicsFilter<ResolvedOptions<typeof MIX_OPTIONS>> {
  static className = 'restorekit>MixFilter';
  static override optionsSchema = MIX_OPTIONS;
  constructor(opts: MixFilterOptions & BlockArgs) {
    super(opts as never, (o) => 2 * o.channels);
  }
  protected restore(x: tf.Tensor, head: tf.Tensor): tf.Tensor {
    const [tt, at] = splitChannels(head, 2) as [tf.Tensor, tf.Tensor];
    head.dispose();
    const t = consume(
      consume(tt, (v) => tf.sigmoid(v)),
      (v) => tf.maximum(v, this.options.tFloor),
    );
    const a = consume(at, (v) => spatialMean(v as tf.Tensor4D));
    const haze = tf.tidy(() => tf.mul(a, tf.sub(1, t)));
    a.dispose();
    const y = consume(tf.sub(x, haze), (v) => tf.div(v, t));
    return free(y, haze, t);
  }
}
registerBlock(MixFilter);

const I_OPTIONS = {
  channels: opt.posInt(),
  /** Floor of the illumination L = max(sigmoid(·), lFloor): the filter never divides by less. Default 0.05 [RECON]. */
  lFloor: floorOption(0.05),
};
export type IFilterOptions = OptionsInput<typeof I_OPTIONS>;

/**
 * I — illumination (low light, Retinex y = x ⊙ L) [RECON, spec §3.4]: L = max(sigmoid(head(T(d))), lFloor), x̂ = x / L.
 * PyTorch keys `trunk.*`, `head` (C → C).
 */
export class IFilter extends PhysicsFilter<ResolvedOptions<typeof I_OPTIONS>> {
  static className = 'restorekit>IFilter';
  static override optionsSchema = I_OPTIONS;
  constructor(opts: IFilterOptions & BlockArgs) {
    super(opts as never, (o) => o.channels);
  }
  protected restore(x: tf.Tensor, head: tf.Tensor): tf.Tensor {
    const l = consume(
      consume(head, (v) => tf.sigmoid(v)),
      (v) => tf.maximum(v, this.options.lFloor),
    );
    return free(tf.div(x, l), l);
  }
}
registerBlock(IFilter);

/**
 * PyTorch `F.pad(x, (p, p, p, p), mode='replicate')` in NHWC: edge rows, then edge columns, repeated p times (rank-4
 * slices and concats only, differentiable on every backend; tfjs's mirrorPad has no 'edge' mode).
 */
export function replicatePad2d(x: tf.Tensor4D, p: number): tf.Tensor4D {
  if (p === 0) return x;
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => {
    const top = tf.slice(x, [0, 0, 0, 0], [b, 1, w, c]);
    const bottom = tf.slice(x, [0, h - 1, 0, 0], [b, 1, w, c]);
    const rows = tf.concat([...Array<tf.Tensor4D>(p).fill(top), x, ...Array<tf.Tensor4D>(p).fill(bottom)], 1);
    const hp = h + 2 * p;
    const left = tf.slice(rows, [0, 0, 0, 0], [b, hp, 1, c]);
    const right = tf.slice(rows, [0, 0, w - 1, 0], [b, hp, 1, c]);
    return tf.concat([...Array<tf.Tensor4D>(p).fill(left), rows, ...Array<tf.Tensor4D>(p).fill(right)], 2);
  });
}

/**
 * A per-pixel, per-channel k×k filter (a kernel-prediction network's "dynamic local filter"):
 * y[b, i, j, ch] = Σ_{u,v} κ[b, i, j, ch·k² + u·k + v] · x_pad[b, i + u, j + v, ch], with x replicate-padded by ⌊k/2⌋.
 * `kernels` [B, H, W, C·k²] holds the taps channel-outer (PyTorch's reshape to [B, C, k², H, W]); they are used as given
 * (normalise them first). Rank ≤ 4 throughout; memory ≈ k² feature maps.
 */
export function applyPixelKernels(x: tf.Tensor4D, kernels: tf.Tensor4D, k: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (k < 1 || k % 2 !== 1) throw new ShapeError(`applyPixelKernels: the kernel size must be odd, got ${k}`);
  if (kernels.rank !== 4 || kernels.shape[0] !== b || kernels.shape[1] !== h || kernels.shape[2] !== w || kernels.shape[3] !== c * k * k)
    throw new ShapeError(
      `applyPixelKernels: kernels must be [${b}, ${h}, ${w}, ${c * k * k}] (C·k² taps per pixel for x ${fmtShape(x.shape)}), got ${fmtShape(kernels.shape)}`,
    );
  const n = b * h * w;
  const kk = k * k;
  return tf.tidy(() => {
    const xp = replicatePad2d(x, (k - 1) / 2);
    // The k² shifted copies of x, channel-outer like the kernels (ch·k² + tap), from ONE depth-wise conv with a 0/1
    // filter (channel multiplier k²; tap t reads offset (⌊t/k⌋, t mod k)): the sums add exact zeros, so the patches are
    // x's values. Gathering them as k² slices concatenated on the innermost axis took 570 ms on wasm at 128² × 40
    // (a strided copy per tap), this 61 ms; on tensorflow 57 → 22 ms. (x must be finite: 0·∞ is NaN.)
    const pick = new Float32Array(kk * c * kk);
    for (let t = 0; t < kk; t++) for (let ch = 0; ch < c; ch++) pick[(t * c + ch) * kk + t] = 1;
    const patches = dataMovement(() => depthwiseConv2dValid(xp, tf.tensor4d(pick, [k, k, c, kk])));
    // Σ over the taps of patch·kernel: on webgpu one kernel invocation per (pixel, channel) (core dotLastAxis)
    return tf.reshape(dotLastAxis(tf.reshape(patches, [n, c, kk]), tf.reshape(kernels, [n, c, kk])), [b, h, w, c]) as tf.Tensor4D;
  });
}

const K_OPTIONS = {
  channels: opt.posInt(),
  /** Size k of the per-pixel kernel (odd). Default 5 [RECON]. */
  kernelSize: oddKernelSize(5) as OptionSpec<number, true>,
};
export type KFilterOptions = OptionsInput<typeof K_OPTIONS>;

/**
 * K — kernel (blur, y = k ⊛ x) [RECON, spec §3.4, IDR's "convolve" route as a kernel-prediction network]: per pixel and
 * channel a k×k kernel κ = softmax over the k² taps of head(T(d)) (C → k²·C, channel ch·k² + tap, tap = u·k + v),
 * applied to x replicate-padded by ⌊k/2⌋ (`applyPixelKernels`). Any H, W (odd included). PyTorch keys `trunk.*`, `head`.
 */
export class KFilter extends PhysicsFilter<ResolvedOptions<typeof K_OPTIONS>> {
  static className = 'restorekit>KFilter';
  static override optionsSchema = K_OPTIONS;
  constructor(opts: KFilterOptions & BlockArgs) {
    super(opts as never, (o) => o.channels * o.kernelSize * o.kernelSize);
  }
  protected restore(x: tf.Tensor, head: tf.Tensor): tf.Tensor {
    const k = this.options.kernelSize;
    const c = this.options.channels;
    const [b, h, w] = x.shape as [number, number, number, number];
    const kappa = consume(head, (t) => tf.reshape(softmax(tf.reshape(t, [b * h * w, c, k * k])), [b, h, w, c * k * k]));
    return free(applyPixelKernels(x as tf.Tensor4D, kappa as tf.Tensor4D, k), kappa);
  }
}
registerBlock(KFilter);
