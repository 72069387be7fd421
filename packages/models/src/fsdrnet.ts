import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  ConfigError,
  Conv2d,
  ShapeError,
  consume,
  fmtShape,
  free,
  opt,
  pixelShuffle,
  pixelUnshuffle,
  registerBlock,
  type BlockArgs,
  type OptionSpec,
  type OptionsInput,
  type ResolvedOptions,
  concatChannels,
} from '@restorekit/core';
import { FFTBlock } from '@restorekit/fft';
import { DynamicProcessing, EFMABlock, FrequencyAux } from '@restorekit/efma';
import { registerModel, type ModelPreset } from './registry.js';

/** Encoder levels with a frequency module and a dynamic processing stage (the fourth level is the latent). */
const LEVELS = 3;

const OPTIONS = {
  /** Image channels in. Default 3. */
  inChannels: opt.posInt(3),
  /** Image channels out; must equal inChannels (the output adds the input). Default 3. */
  outChannels: opt.posInt(3),
  /** Width C of level 0 (level l has C·2ˡ channels, the latent 8C); even. Default 40 [RECON: sized to the paper's 15.68 M]. */
  channels: opt.custom<number>(
    'an even positive integer',
    (v) => (Number.isInteger(v) && (v as number) >= 2 && (v as number) % 2 === 0) || 'each Down halves the width before PixelUnshuffle',
    40,
  ) as OptionSpec<number, true>,
  /** EFMA blocks per level [level 0, level 1, level 2, latent]; decoder levels mirror levels 0–2. Default [2, 3, 3, 4] [RECON: IDR's counts]. */
  numBlocks: opt.ints(4, { min: 0 }, [2, 3, 3, 4]),
  /** EFMA blocks of the refinement stage (at 2C). Default 2 [RECON: IDR]. */
  numRefinementBlocks: opt.int({ min: 0 }, 2),
  /** Attention heads per level [0, 1, 2, latent] (decoder level 0 and refinement use heads[0]). Default [1, 2, 4, 8] [RECON: Restormer/IDR]. */
  heads: opt.ints(4, { min: 1 }, [1, 2, 4, 8]),
  /** GDFN expansion (hidden = trunc(C·γ)). Default 2.66 [RECON]. */
  expansion: opt.number({ min: 0, exclusiveMin: true }, 2.66),
  /** LayerNorm of the EFMA blocks. Default 'WithBias' [RECON]. */
  normKind: opt.enum(['WithBias', 'BiasFree'] as const, 'WithBias'),
  /** K filter kernel size (odd). Default 5 [RECON]. */
  kernelSize: DynamicProcessing.optionsSchema.kernelSize,
  /** Mix filter transmission floor. Default 0.1 [RECON]. */
  tFloor: DynamicProcessing.optionsSchema.tFloor,
  /** I filter illumination floor. Default 0.05 [RECON]. */
  lFloor: DynamicProcessing.optionsSchema.lFloor,
};
export type FSDRNetOptions = OptionsInput<typeof OPTIONS>;

/** Everything a forward pass computes that a user may want to look at. */
export interface FSDRNetOutputs {
  /** The restored image [B, H, W, outChannels]. */
  image: tf.Tensor;
  /** The degradation selector's probabilities of encoder levels 0, 1, 2: [B, 4] each, order (S, Mix, I, K). */
  probabilities: tf.Tensor[];
  /** The frequency module's guidance maps of encoder levels 0, 1, 2: [B, H/2ˡ, W/2ˡ, 1] each, values in [0, 1]. */
  guidance: tf.Tensor[];
}

/**
 * FSDRNet — "A Dynamic Recovery Network Based on Frequency-Spatial Collaborative Processing" (repository
 * zhangxiwen999/FSDRNet). **The authors released no code**: only an abstract, a concept figure and a results table.
 * This is the labelled reconstruction of drcnet-lcdnet-fsdrnet.md §3.4 on the IDR/Restormer code base, reproducing the
 * reference fixtures of that spec (RECONSTRUCTIONS.md). What the paper states [PAPER]: an EFMA spatial module, a
 * Fourier-domain auxiliary module sending degradation guidance one way to it, and a dynamic stage of physics-guided
 * filters of types S, Mix, I, K; 15.68 M parameters. Everything else is [RECON].
 *
 * A 4-level U-Net: image → patch_embed (spatial stream x) and freq_embed (frequency stream f). Encoder level l = 0, 1, 2
 * at C·2ˡ: (f, G) = FrequencyAux(f); x = EFMABlock(x, G) × numBlocks[l]; (x, p_l) = DynamicProcessing(x, G); skip = x;
 * x = Down(x) (Conv3×3 c → c/2 + PixelUnshuffle₂); f = Conv2×2/2(f) for l < 2. Latent EFMA blocks at 8C; Restormer's
 * decoder (Up = Conv3×3 c → 2c + PixelShuffle₂, concat [up, skip], 1×1 reduce at levels 2 and 1, none at level 0),
 * refinement at 2C, output Conv3×3 + the input. The frequency stream never reads the spatial one.
 *
 * NHWC in; outputs `[image, p₀, p₁, p₂]` (selector probabilities [B, 4] per level, order S, Mix, I, K — train them with
 * @restorekit/losses' `RoutingCrossEntropyLoss`). `forwardWithGuidance(x)` also returns the three guidance maps.
 * H and W must be multiples of 8 (the reference raises otherwise and does not pad; the model registry's `sizeMultiple`
 * is 8 for wrappers that pad). PyTorch keys: `patch_embed`, `freq_embed`, `faux{1,2,3}`, `encoder_level{1,2,3}.{i}`,
 * `dps{1,2,3}`, `down1_2.conv`, `down2_3.conv`, `down3_4.conv`, `freq_down1_2`, `freq_down2_3`, `latent.{i}`,
 * `up4_3.conv`, `reduce_chan_level3`, `decoder_level3.{i}`, `up3_2.conv`, `reduce_chan_level2`, `decoder_level2.{i}`,
 * `up2_1.conv`, `decoder_level1.{i}`, `refinement.{i}`, `output`.
 */
export class FSDRNet extends FFTBlock<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>FSDRNet';
  static override optionsSchema = OPTIONS;
  readonly patchEmbed: Conv2d;
  readonly freqEmbed: Conv2d;
  readonly faux: FrequencyAux[] = [];
  readonly encoders: EFMABlock[][] = [];
  readonly dps: DynamicProcessing[] = [];
  readonly downs: Conv2d[] = [];
  readonly freqDowns: Conv2d[] = [];
  readonly latent: EFMABlock[];
  /** Up convs from the latent: up4_3, up3_2, up2_1. */
  readonly ups: Conv2d[] = [];
  /** reduce_chan_level3, reduce_chan_level2. */
  readonly reduces: Conv2d[] = [];
  /** decoder_level3, decoder_level2, decoder_level1. */
  readonly decoders: EFMABlock[][] = [];
  readonly refinement: EFMABlock[];
  readonly outputConv: Conv2d;

  constructor(opts: FSDRNetOptions & BlockArgs = {}) {
    super(opts as never);
    const o = this.options;
    if (o.inChannels !== o.outChannels)
      throw new ConfigError(`FSDRNet: the output adds the input image, so inChannels (${o.inChannels}) must equal outChannels (${o.outChannels})`);
    const C = o.channels;
    const width = (l: number) => C * 2 ** l;
    for (let l = 0; l < 4; l++)
      if (width(l) % o.heads[l]!) throw new ConfigError(`FSDRNet: level ${l} width ${width(l)} is not divisible by heads[${l}] = ${o.heads[l]}`);
    const conv = (i: number, out: number, k: number, bias: boolean, stride = 1) =>
      new Conv2d({ inChannels: i, outChannels: out, kernelSize: k, stride, padding: stride === 1 ? (k - 1) / 2 : 0, bias });
    const efmas = (key: string, n: number, c: number, heads: number) =>
      Array.from({ length: n }, (_, i) => this.addChild(`${key}.${i}`, new EFMABlock({ channels: c, heads, expansion: o.expansion, normKind: o.normKind })));

    this.patchEmbed = this.addChild('patch_embed', conv(o.inChannels, C, 3, false));
    this.freqEmbed = this.addChild('freq_embed', conv(o.inChannels, C, 3, true));
    const downKeys = ['down1_2', 'down2_3', 'down3_4'];
    for (let l = 0; l < LEVELS; l++) {
      const c = width(l);
      this.faux.push(this.addChild(`faux${l + 1}`, new FrequencyAux({ channels: c })));
      this.encoders.push(efmas(`encoder_level${l + 1}`, o.numBlocks[l]!, c, o.heads[l]!));
      this.dps.push(this.addChild(`dps${l + 1}`, new DynamicProcessing({ channels: c, kernelSize: o.kernelSize, tFloor: o.tFloor, lFloor: o.lFloor })));
      this.downs.push(this.addChild(`${downKeys[l]}.conv`, conv(c, c / 2, 3, false)));
      if (l < LEVELS - 1) this.freqDowns.push(this.addChild(`freq_down${l + 1}_${l + 2}`, conv(c, 2 * c, 2, true, 2)));
    }
    this.latent = efmas('latent', o.numBlocks[3]!, width(3), o.heads[3]!);
    // Decoder, deepest first (Restormer's order): level 2 (4C), level 1 (2C), level 0 (kept at 2C, no reduction).
    this.ups.push(this.addChild('up4_3.conv', conv(width(3), 2 * width(3), 3, false)));
    this.reduces.push(this.addChild('reduce_chan_level3', conv(width(3), width(2), 1, false)));
    this.decoders.push(efmas('decoder_level3', o.numBlocks[2]!, width(2), o.heads[2]!));
    this.ups.push(this.addChild('up3_2.conv', conv(width(2), 2 * width(2), 3, false)));
    this.reduces.push(this.addChild('reduce_chan_level2', conv(width(2), width(1), 1, false)));
    this.decoders.push(efmas('decoder_level2', o.numBlocks[1]!, width(1), o.heads[1]!));
    this.ups.push(this.addChild('up2_1.conv', conv(width(1), 2 * width(1), 3, false)));
    this.decoders.push(efmas('decoder_level1', o.numBlocks[0]!, width(1), o.heads[0]!));
    this.refinement = efmas('refinement', o.numRefinementBlocks, width(1), o.heads[0]!);
    this.outputConv = this.addChild('output', conv(width(1), o.outChannels, 3, false));
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const o = this.options;
    const width = (l: number) => o.channels * 2 ** l;
    const at = (c: number): tfl.Shape => [s[0] ?? null, null, null, c];
    this.buildChild(this.patchEmbed, at(o.inChannels));
    this.buildChild(this.freqEmbed, at(o.inChannels));
    for (let l = 0; l < LEVELS; l++) {
      this.buildChild(this.faux[l]!, at(width(l)));
      for (const b of this.encoders[l]!) this.buildChild(b, [at(width(l)), at(1)]);
      this.buildChild(this.dps[l]!, [at(width(l)), at(1)]);
      this.buildChild(this.downs[l]!, at(width(l)));
      if (l < LEVELS - 1) this.buildChild(this.freqDowns[l]!, at(width(l)));
    }
    for (const b of this.latent) this.buildChild(b, at(width(3)));
    for (let i = 0; i < 3; i++) this.buildChild(this.ups[i]!, at(width(3 - i)));
    this.buildChild(this.reduces[0]!, at(width(3)));
    this.buildChild(this.reduces[1]!, at(width(2)));
    const decoderWidths = [width(2), width(1), width(1)];
    for (const [i, level] of this.decoders.entries()) for (const b of level) this.buildChild(b, at(decoderWidths[i]!));
    for (const b of this.refinement) this.buildChild(b, at(width(1)));
    this.buildChild(this.outputConv, at(width(1)));
    super.build(inputShape);
  }

  protected override expectedChannels() {
    return [this.options.inChannels];
  }

  protected override validateInputs(xs: tf.Tensor | tf.Tensor[]): void {
    super.validateInputs(xs);
    const x = (Array.isArray(xs) ? xs[0] : xs)!;
    if (x.shape[1]! % 8 || x.shape[2]! % 8)
      throw new ShapeError(
        `FSDRNet '${this.name}': H and W must be multiples of 8 (three 2× downsamplings), got shape ${fmtShape(x.shape)}; pad the image first (e.g. padToMultiple(x, 8) from @restorekit/core, then cropTo)`,
      );
  }

  /** The whole forward pass; guidance maps are kept only when asked for. */
  private compute(input: tf.Tensor, training: boolean, keepGuidance: boolean): FSDRNetOutputs {
    const run = (l: tfl.layers.Layer, t: tf.Tensor | tf.Tensor[]) => this.run(l, t, training);
    const chain = (blocks: EFMABlock[], t: tf.Tensor, g?: tf.Tensor) => blocks.reduce((h, b) => free(run(b, g ? [h, g] : h), h === t ? null : h), t);
    let x = run(this.patchEmbed, input);
    let f = run(this.freqEmbed, input);
    const skips: tf.Tensor[] = [];
    const probabilities: tf.Tensor[] = [];
    const guidance: tf.Tensor[] = [];
    for (let l = 0; l < LEVELS; l++) {
      // The frequency stream: its own input only (one-way coupling).
      const [f2, g] = run(this.faux[l]!, f) as unknown as [tf.Tensor, tf.Tensor];
      f.dispose();
      const e = free(chain(this.encoders[l]!, x, g), x);
      const [y, p] = run(this.dps[l]!, [e, g]) as unknown as [tf.Tensor, tf.Tensor];
      if (e !== y) e.dispose();
      if (keepGuidance) guidance.push(g);
      else g.dispose();
      probabilities.push(p);
      skips.push(y);
      x = consume(run(this.downs[l]!, y), (t) => pixelUnshuffle(t as tf.Tensor4D, 2));
      if (l < LEVELS - 1) f = free(run(this.freqDowns[l]!, f2), f2);
      else f2.dispose();
    }
    x = free(chain(this.latent, x), x);
    // Decoder: deepest level first.
    for (let i = 0; i < 3; i++) {
      const up = consume(free(run(this.ups[i]!, x), x), (t) => pixelShuffle(t as tf.Tensor4D, 2));
      const skip = skips[LEVELS - 1 - i]!;
      x = free(concatChannels([up, skip]), up, skip);
      if (i < 2) x = consume(x, (t) => run(this.reduces[i]!, t));
      x = free(chain(this.decoders[i]!, x), x);
    }
    x = free(chain(this.refinement, x), x);
    const image = consume(
      consume(x, (t) => run(this.outputConv, t)),
      (t) => tf.add(t, input),
    );
    return { image, probabilities, guidance };
  }

  forward(input: tf.Tensor, training: boolean): tf.Tensor[] {
    const { image, probabilities } = this.compute(input, training, false);
    return [image, ...probabilities];
  }

  /**
   * One forward pass returning the image, the selector probabilities and the frequency module's guidance maps of
   * the three encoder levels (G ∈ [0, 1], [B, H/2ˡ, W/2ˡ, 1]): the "degradation guidance maps" of the paper's Fig. 1.
   * Inference mode; the caller frees the returned tensors.
   */
  forwardWithGuidance(input: tf.Tensor): FSDRNetOutputs {
    if (!this.built) this.build(input.shape);
    this.validateInputs(input);
    const all = tf.tidy(() => {
      const r = this.compute(input, false, true);
      return [r.image, ...r.probabilities, ...r.guidance];
    });
    return { image: all[0]!, probabilities: all.slice(1, 1 + LEVELS), guidance: all.slice(1 + LEVELS) };
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape[] {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [[s[0]!, s[1]!, s[2]!, this.options.outChannels], ...Array.from({ length: LEVELS }, (): tfl.Shape => [s[0]!, 4])];
  }
}
registerBlock(FSDRNet);

const base = { inChannels: 3, outChannels: 3, heads: [1, 2, 4, 8], expansion: 2.66, normKind: 'WithBias', kernelSize: 5, tFloor: 0.1, lFloor: 0.05 };
const reconstruction = 'a labelled reconstruction (drcnet-lcdnet-fsdrnet.md §3.4): the authors have not released code';
export const FSDRNET_PRESETS: Record<string, ModelPreset> = {
  default: {
    description: `C = 40, blocks [2, 3, 3, 4], 2 refinement blocks, heads [1, 2, 4, 8]: 15,566,729 parameters, within 0.8 % of the paper's 15.68 M (${reconstruction}; C was chosen to match the count)`,
    config: { ...base, channels: 40, numBlocks: [2, 3, 3, 4], numRefinementBlocks: 2 },
    params: 15_566_729,
  },
  small: {
    description: 'C = 24, blocks [1, 2, 2, 2], 1 refinement block: for browsers and experiments (not a published size)',
    config: { ...base, channels: 24, numBlocks: [1, 2, 2, 2], numRefinementBlocks: 1 },
    params: 4_383_376,
  },
  tiny: {
    description:
      'C = 8, one block per level, 1 refinement block: the configuration of the fsdrnet_full / fsdrnet_backward reference fixtures (tests, training smoke runs)',
    config: { ...base, channels: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1 },
    params: 417_148,
  },
};

declare module './registry.js' {
  interface ModelClasses {
    fsdrnet: FSDRNet;
  }
}

registerModel({
  name: 'fsdrnet',
  paper:
    'A Dynamic Recovery Network Based on Frequency-Spatial Collaborative Processing (FSDRNet, github.com/zhangxiwen999/FSDRNet) — reconstruction, no official code',
  citation: `@misc{fsdrnet2025,
  title        = {A Dynamic Recovery Network Based on Frequency-Spatial Collaborative Processing (FSDRNet)},
  howpublished = {\\url{https://github.com/zhangxiwen999/FSDRNet}},
  note         = {Abstract, concept figure and results only; the architecture used here is a labelled reconstruction},
  year         = {2025}
}`,
  inputRange: [0, 1],
  sizeMultiple: 8,
  defaultPreset: 'default',
  presets: FSDRNET_PRESETS,
  // The reference implementation's constructor arguments (RECONSTRUCTIONS.md, "Constructor options").
  official: {
    rename: {
      in_channels: 'inChannels',
      out_channels: 'outChannels',
      width: 'channels',
      num_blocks: 'numBlocks',
      num_refinement_blocks: 'numRefinementBlocks',
      heads: 'heads',
      ffn_expansion_factor: 'expansion',
      kernel_size: 'kernelSize',
      t_floor: 'tFloor',
      l_floor: 'lFloor',
    },
  },
  create: (config) => new FSDRNet(config as FSDRNetOptions),
});
