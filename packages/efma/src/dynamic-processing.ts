import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  Conv2d,
  GELU,
  ShapeError,
  consume,
  free,
  opt,
  registerBlock,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
  spatialMean,
  concatChannels,
  softmax,
} from '@restorekit/core';
import { firstShape, floorOption, oddKernelSize, sameGrid, withChannels } from './common.js';
import { IFilter, KFilter, MixFilter, SFilter } from './filters.js';

/** The degradation types of the reconstruction, in selector order (spec §3.4): superposition, scattering mixture, illumination, kernel. */
export const DEGRADATION_TYPES = ['S', 'Mix', 'I', 'K'] as const;
export type DegradationType = (typeof DEGRADATION_TYPES)[number];

const SELECTOR_OPTIONS = {
  /** Channels C of the features read. */
  channels: opt.posInt(),
  /** Number of degradation types K (outputs). Default 4 (S, Mix, I, K). */
  types: opt.posInt(4),
};
export type DegradationSelectorOptions = OptionsInput<typeof SELECTOR_OPTIONS>;

/**
 * The degradation selector [RECON, spec §3.4]: p = softmax(Conv1×1(C→K)(GELU(Conv1×1(C→C)(GAP(x))))), biases on both
 * convs; input [B, H, W, C], output the probabilities [B, K] (order S, Mix, I, K for K = 4). PyTorch keys `conv1`, `conv2`.
 */
export class DegradationSelector extends Block<ResolvedOptions<typeof SELECTOR_OPTIONS>> {
  static className = 'restorekit>DegradationSelector';
  static override optionsSchema = SELECTOR_OPTIONS;
  readonly conv1: Conv2d;
  readonly act: GELU;
  readonly conv2: Conv2d;

  constructor(opts: DegradationSelectorOptions & BlockArgs) {
    super(opts as never);
    const { channels: c, types } = this.options;
    this.conv1 = this.addChild('conv1', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 1 }));
    this.act = this.addChild('act', new GELU());
    this.conv2 = this.addChild('conv2', new Conv2d({ inChannels: c, outChannels: types, kernelSize: 1 }));
  }

  override build(s: tfl.Shape): void {
    const pooled: tfl.Shape = [firstShape(s)[0]!, 1, 1, this.options.channels];
    this.buildChild(this.conv1, pooled);
    this.buildChild(this.act, pooled);
    this.buildChild(this.conv2, pooled);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    let h = this.run(this.conv1, spatialMean(x as tf.Tensor4D), training);
    h = consume(
      consume(h, (t) => this.run(this.act, t, training)),
      (t) => this.run(this.conv2, t, training),
    );
    return consume(h, (t) => softmax(tf.reshape(t, [x.shape[0]!, this.options.types])));
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return [firstShape(s)[0]!, this.options.types];
  }
}
registerBlock(DegradationSelector);

const OPTIONS = {
  /** Channels C. */
  channels: opt.posInt(),
  /** Kernel size of the K filter (odd). Default 5 [RECON]. */
  kernelSize: oddKernelSize(5),
  /** Transmission floor of the Mix filter. Default 0.1 [RECON]. */
  tFloor: floorOption(0.1),
  /** Illumination floor of the I filter. Default 0.05 [RECON]. */
  lFloor: floorOption(0.05),
};
export type DynamicProcessingOptions = OptionsInput<typeof OPTIONS>;

/**
 * FSDRNet's dynamic processing stage (the reference's `DPS`) [PAPER: "parameters adapt to the degradation type",
 * "physically-guided specialised filters", Fig. 1 types S, Mix, I, K; RECON: everything below, spec §3.4]:
 * inputs `[x, G]` (features [B, H, W, C], guidance map [B, H, W, 1] in [0, 1]); outputs `[y, p]`:
 * 1. p = `DegradationSelector`(x) ∈ Δ⁴ [B, 4] (order S, Mix, I, K);
 * 2. context d = Conv1×1(2C → C, bias)([x, x ⊙ G]);
 * 3. y = p_S·SFilter(x, d) + p_Mix·MixFilter(x, d) + p_I·IFilter(x, d) + p_K·KFilter(x, d).
 * PyTorch keys `selector.*`, `context`, `s_filter.*`, `mix_filter.*`, `i_filter.*`, `k_filter.*`.
 * `filterOutputs(x, G)` returns the four restored maps separately.
 */
export class DynamicProcessing extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>DynamicProcessing';
  /** A per-level unit of FSDRNet: `setRecompute(model)` checkpoints it (see @restorekit/core's setRecompute). */
  static override recomputeUnit = true;
  static override optionsSchema = OPTIONS;
  readonly selector: DegradationSelector;
  readonly context: Conv2d;
  readonly sFilter: SFilter;
  readonly mixFilter: MixFilter;
  readonly iFilter: IFilter;
  readonly kFilter: KFilter;

  constructor(opts: DynamicProcessingOptions & BlockArgs) {
    super(opts as never);
    const { channels: c, kernelSize, tFloor, lFloor } = this.options;
    this.selector = this.addChild('selector', new DegradationSelector({ channels: c, types: DEGRADATION_TYPES.length }));
    this.context = this.addChild('context', new Conv2d({ inChannels: 2 * c, outChannels: c, kernelSize: 1 }));
    this.sFilter = this.addChild('s_filter', new SFilter({ channels: c }));
    this.mixFilter = this.addChild('mix_filter', new MixFilter({ channels: c, tFloor }));
    this.iFilter = this.addChild('i_filter', new IFilter({ channels: c, lFloor }));
    this.kFilter = this.addChild('k_filter', new KFilter({ channels: c, kernelSize }));
  }

  /** The four filters in selector order (S, Mix, I, K). */
  get filters(): [SFilter, MixFilter, IFilter, KFilter] {
    return [this.sFilter, this.mixFilter, this.iFilter, this.kFilter];
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const c = this.options.channels;
    const s = withChannels(firstShape(inputShape), c);
    this.buildChild(this.selector, s);
    this.buildChild(this.context, withChannels(s, 2 * c));
    for (const f of this.filters) this.buildChild(f, [s, s]);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels, 1];
  }

  protected override validateInputs(xs: tf.Tensor | tf.Tensor[]): void {
    const list = Array.isArray(xs) ? xs : [xs];
    if (list.length !== 2)
      throw new ShapeError(`DynamicProcessing '${this.name}': expects 2 inputs [x, G] (features, guidance map [B, H, W, 1]), got ${list.length}`);
    super.validateInputs(list);
    sameGrid(`DynamicProcessing '${this.name}'`, list, ['G']);
  }

  /** d = context([x, x ⊙ G]). */
  private contextOf(x: tf.Tensor, g: tf.Tensor, training: boolean): tf.Tensor {
    const guided = tf.mul(x, g);
    const cat = free(concatChannels([x, guided]), guided);
    return consume(cat, (t) => this.run(this.context, t, training));
  }

  forward(inputs: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor[] {
    const [x, g] = inputs as [tf.Tensor, tf.Tensor];
    const p = this.run(this.selector, x, training);
    const d = this.contextOf(x, g, training);
    const b = x.shape[0]!;
    let y: tf.Tensor | null = null;
    for (const [j, f] of this.filters.entries()) {
      const yj = this.run(f, [x, d], training);
      const pj = tf.reshape(tf.slice(p, [0, j], [b, 1]), [b, 1, 1, 1]);
      const term = free(tf.mul(pj, yj), pj, yj);
      y = y === null ? term : free(tf.add(y, term), y, term);
    }
    d.dispose();
    return [y!, p];
  }

  /** The four filters' restored maps [y_S, y_Mix, y_I, y_K] for inputs [x, G] (before the selector's mixing). */
  filterOutputs(x: tf.Tensor, g: tf.Tensor): tf.Tensor[] {
    if (!this.built) this.build(x.shape);
    this.validateInputs([x, g]);
    return tf.tidy(() => {
      const d = this.contextOf(x, g, false);
      return this.filters.map((f) => this.run(f, [x, d], false));
    });
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape[] {
    const s = firstShape(inputShape);
    return [withChannels(s, this.options.channels), [s[0]!, DEGRADATION_TYPES.length]];
  }
}
registerBlock(DynamicProcessing);
