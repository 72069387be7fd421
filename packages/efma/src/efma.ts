import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  Conv2d,
  DerivedWeights,
  LayerNorm2d,
  ShapeError,
  consume,
  free,
  opt,
  prefers,
  registerBlock,
  zeros,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
} from '@restorekit/core';
import { GDFN, qkvThirds, transposedAttention, weightSlicesPay } from '@restorekit/restormer';
import { firstShape, perChannel, sameGrid, withChannels } from './common.js';

/** Inputs [x] or [x, G]: the guidance map G [B, H, W, 1] must share x's batch and spatial size (`base`: the Block's checks). */
function validateGuided(owner: string, list: tf.Tensor[], base: (l: tf.Tensor[]) => void): void {
  if (list.length !== 1 && list.length !== 2)
    throw new ShapeError(`${owner}: expects x or [x, G] (features, guidance map [B, H, W, 1]), got ${list.length} inputs`);
  base(list);
  sameGrid(owner, list, ['G']);
}

const ATTN_OPTIONS = {
  /** Channels C. */
  channels: opt.posInt(),
  /** Heads of the global (transposed) attention; C must be divisible by it. Default 1. */
  heads: opt.posInt(1),
  /** Bias on the convs (qkv, qkv_dwconv, local_dwconv, project_out). Default false [RECON, as Restormer/IDR]. */
  bias: opt.bool(false),
};
export type EFMAOptions = OptionsInput<typeof ATTN_OPTIONS>;

/**
 * EFMA — "balanced feature mixing attention" (the reference's `EFMABlock.attn`) [PAPER: the name and its role,
 * characterising local textures in the spatial module and receiving the frequency module's degradation guidance;
 * RECON: everything below, spec §3.4]:
 * 1. q, k, v = chunk₃(DW3×3(Conv1×1(C → 3C)(x)));
 * 2. global path Y_g: Restormer's transposed attention over channels (`transposedAttention` of @restorekit/restormer:
 *    heads split head-outer, q and k L2-normalised over H·W, softmax(q̂k̂ᵀ·temperature)·v);
 * 3. local path Y_l = DW3×3(v);
 * 4. balanced mixing Y = α ⊙ Y_g + (1 − α) ⊙ Y_l, α = sigmoid(balance) per channel (balance init 0: ½/½);
 * 5. one-way guidance (inputs [x, G]): Y ⊙ (1 + G), G [B, H, W, 1] ∈ [0, 1] broadcast over channels;
 * 6. project_out Conv1×1.
 * Inputs x or [x, G]. PyTorch keys `qkv`, `qkv_dwconv`, `temperature` [heads,1,1], `local_dwconv`, `balance` [1,C,1,1],
 * `project_out`.
 */
export class EFMA extends Block<ResolvedOptions<typeof ATTN_OPTIONS>> {
  static className = 'restorekit>EFMA';
  static override optionsSchema = ATTN_OPTIONS;
  readonly qkv: Conv2d;
  readonly qkvDwconv: Conv2d;
  readonly localDwconv: Conv2d;
  readonly projectOut: Conv2d;
  /** The weight thirds of `qkvThirds`, kept between inference calls. */
  private readonly derived = new DerivedWeights();
  temperature!: tfl.LayerVariable;
  balance!: tfl.LayerVariable;

  constructor(opts: EFMAOptions & BlockArgs) {
    super(opts as never);
    const { channels: c, heads, bias } = this.options;
    if (c % heads) throw new ConfigError(`EFMA: channels = ${c} must be divisible by heads = ${heads}`);
    this.qkv = this.addChild('qkv', new Conv2d({ inChannels: c, outChannels: 3 * c, kernelSize: 1, bias }));
    this.qkvDwconv = this.addChild('qkv_dwconv', new Conv2d({ inChannels: 3 * c, outChannels: 3 * c, kernelSize: 3, padding: 1, groups: 3 * c, bias }));
    this.localDwconv = this.addChild('local_dwconv', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 3, padding: 1, groups: c, bias }));
    this.projectOut = this.addChild('project_out', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 1, bias }));
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const { channels: c, heads } = this.options;
    const s = withChannels(firstShape(inputShape), c);
    this.temperature = this.addTorchWeight('temperature', [heads, 1, 1], tfl.initializers.ones());
    this.buildChild(this.qkv, s);
    this.buildChild(this.qkvDwconv, withChannels(s, 3 * c));
    this.buildChild(this.localDwconv, s);
    this.balance = this.addTorchWeight('balance', [1, c, 1, 1], zeros());
    this.buildChild(this.projectOut, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels, 1];
  }

  protected override validateInputs(xs: tf.Tensor | tf.Tensor[]): void {
    const list = Array.isArray(xs) ? xs : [xs];
    validateGuided(`EFMA '${this.name}'`, list, (l) => super.validateInputs(l));
  }

  forward(inputs: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor {
    const [x, g] = (Array.isArray(inputs) ? inputs : [inputs]) as [tf.Tensor, tf.Tensor?];
    const c = this.options.channels;
    const [b, h, w] = x.shape as [number, number, number, number];
    let global: tf.Tensor;
    let local: tf.Tensor;
    if (prefers('xnnpackForms') && weightSlicesPay(b * h * w, 3 * c * c)) {
      // As MDTA: q, k, v from thirds of the weights (no 3C-channel qkv to slice v from and, on wasm, to transpose and
      // slice in the attention: 250 ms of FSDRNet's 8.2 s at 256²).
      const qkv = qkvThirds(x, this.qkv, this.qkvDwconv, this.derived);
      local = this.run(this.localDwconv, qkv[2], training);
      global = transposedAttention(qkv, this.temperature.read(), this.options.heads, { consumeQkv: true });
    } else {
      const qkv = consume(this.run(this.qkv, x, training), (t) => this.run(this.qkvDwconv, t, training));
      const v = tf.slice(qkv, [0, 0, 0, 2 * c], [b, h, w, c]);
      global = transposedAttention(qkv, this.temperature.read(), this.options.heads, { consumeQkv: true });
      local = consume(v, (t) => this.run(this.localDwconv, t, training));
    }
    let y = tf.tidy(() => {
      const alpha = tf.sigmoid(perChannel(this.balance));
      return tf.add(tf.mul(alpha, global), tf.mul(tf.sub(1, alpha), local));
    });
    tf.dispose([global, local]);
    if (g) y = consume(y, (t) => tf.tidy(() => tf.mul(t, tf.add(1, g))));
    return consume(y, (t) => this.run(this.projectOut, t, training));
  }

  protected override releaseResources(): void {
    this.derived.dispose();
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return withChannels(firstShape(inputShape), this.options.channels);
  }
}
registerBlock(EFMA);

const BLOCK_OPTIONS = {
  /** Channels C. */
  channels: opt.posInt(),
  /** Heads of EFMA's global attention. Default 1. */
  heads: opt.posInt(1),
  /** GDFN expansion γ (hidden = trunc(C·γ)). Default 2.66 [RECON, Restormer/IDR]. */
  expansion: opt.number({ min: 0, exclusiveMin: true }, 2.66),
  /** Bias on the attention and feed-forward convs. Default false [RECON]. */
  bias: opt.bool(false),
  /** The two LayerNorms (eps 1e-5). Default 'WithBias' [RECON]. */
  normKind: opt.enum(['WithBias', 'BiasFree'] as const, 'WithBias'),
};
export type EFMABlockOptions = OptionsInput<typeof BLOCK_OPTIONS>;

/**
 * FSDRNet's spatial block (the reference's `EFMABlock`) [RECON, spec §3.4]: a pre-norm transformer block
 * x ← x + EFMA(LN₁(x), G); x ← x + GDFN(LN₂(x)), LN = channel LayerNorm (eps 1e-5; core `LayerNorm2d`), GDFN =
 * Restormer's gated-Dconv feed-forward (@restorekit/restormer). Inputs x (no guidance) or [x, G] (G [B, H, W, 1] in
 * [0, 1], the frequency module's guidance map; only the attention reads it). PyTorch keys `norm1`, `attn.*` (`EFMA`),
 * `norm2`, `ffn.*` (`GDFN`).
 */
export class EFMABlock extends Block<ResolvedOptions<typeof BLOCK_OPTIONS>> {
  static className = 'restorekit>EFMABlock';
  /** A repeated unit: `setRecompute(model)` checkpoints it (see @restorekit/core's setRecompute). */
  static override recomputeUnit = true;
  static override optionsSchema = BLOCK_OPTIONS;
  readonly norm1: LayerNorm2d;
  readonly attn: EFMA;
  readonly norm2: LayerNorm2d;
  readonly ffn: GDFN;

  constructor(opts: EFMABlockOptions & BlockArgs) {
    super(opts as never);
    const { channels, heads, expansion, bias, normKind } = this.options;
    if (channels % heads) throw new ConfigError(`EFMABlock: channels = ${channels} must be divisible by heads = ${heads}`);
    this.norm1 = this.addChild('norm1', new LayerNorm2d({ channels, normKind }));
    this.attn = this.addChild('attn', new EFMA({ channels, heads, bias }));
    this.norm2 = this.addChild('norm2', new LayerNorm2d({ channels, normKind }));
    this.ffn = this.addChild('ffn', new GDFN({ channels, expansion, bias }));
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const s = withChannels(firstShape(inputShape), this.options.channels);
    for (const c of [this.norm1, this.attn, this.norm2, this.ffn]) this.buildChild(c, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels, 1];
  }

  protected override validateInputs(xs: tf.Tensor | tf.Tensor[]): void {
    const list = Array.isArray(xs) ? xs : [xs];
    validateGuided(`EFMABlock '${this.name}'`, list, (l) => super.validateInputs(l));
  }

  forward(inputs: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor {
    const [x, g] = (Array.isArray(inputs) ? inputs : [inputs]) as [tf.Tensor, tf.Tensor?];
    const n1 = this.run(this.norm1, x, training);
    const a = consume(n1, (t) => this.run(this.attn, g ? [t, g] : t, training));
    const y = free(tf.add(x, a), a);
    const f = consume(this.run(this.norm2, y, training), (t) => this.run(this.ffn, t, training));
    return free(tf.add(y, f), y, f);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return withChannels(firstShape(inputShape), this.options.channels);
  }
}
registerBlock(EFMABlock);
