import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  Conv2d,
  Sequential,
  consuming,
  opt,
  padToMultiple,
  cropTo,
  registerBlock,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
} from '@restorekit/core';
import { Downsample, OverlapPatchEmbed, Upsample } from '@restorekit/restormer';
import { DAB } from '@restorekit/gated-da';
import { registerModel, type ModelPreset } from './registry.js';
import { evenChannels, transformerOfficialArgs } from './options.js';

const OPTIONS = {
  /** Input channels. */
  inChannels: opt.posInt(3),
  /** Output channels (must equal inChannels: the output adds the input image). */
  outChannels: opt.posInt(3),
  /** Width of level 1 (levels use C, 2C, 4C, 8C; official `dim`; every DAB needs an even width whose half its heads divide). */
  channels: evenChannels(28),
  /** DABs per level [level1, level2, level3, latent]; the decoder mirrors the encoder. */
  numBlocks: opt.ints(4, { min: 1 }, [3, 5, 5, 7]),
  /** DABs in the refinement stage (at 2C, heads[0]). */
  numRefinementBlocks: opt.int({ min: 0 }, 4),
  /** Attention heads per level (acting on half of each level's channels). */
  heads: opt.ints(4, { min: 1 }, [1, 2, 4, 8]),
  /** GDFN expansion (hidden = trunc(C·expansion); official `ffn_expansion_factor`). */
  expansion: opt.number({ min: 0, exclusiveMin: true }, 2),
  /** Bias on the attention/FFN convs, the two 1×1 reductions at level 3, the one at level 2 and the output conv (patch embed, Down/Upsample and GatedDA never). */
  bias: opt.bool(false),
  /** Official `LayerNorm_type`. */
  normKind: opt.enum(['WithBias', 'BiasFree'] as const, 'WithBias'),
  /**
   * Frequency half of every DAB's fusion: 'identity' (default: F_att + F_gate, the official irfft2(rfft2(·)) round trip's
   * value without the transforms) or 'fft' (the transforms written out, as the official code does).
   */
  frequencyBranch: opt.enum(['fft', 'identity'] as const, 'identity'),
  /** Training behaviour of every GatedDA BatchNorm: 'batch' (PyTorch train()) or 'frozen' (running statistics). */
  batchNorm: opt.enum(['batch', 'frozen'] as const, 'batch'),
};
export type AnyIROptions = OptionsInput<typeof OPTIONS>;

/** Block-registry name of the DAB (registered by @restorekit/gated-da). */
const DAB_TYPE = DAB.className.split('>')[1]!;

/**
 * AnyIR (Ren et al., arXiv 2504.14249), the official `AnyIR` module of Amazingren/AnyIR (net/anyir.py,
 * Feb-2026 release) with its PyTorch state_dict names: a 4-level U-Net of Degradation Adaptation
 * Blocks (DAB: Skip-Split attention + GatedDA with spatial-frequency fusion, then GDFN γ = 2).
 * The decoder differs from Restormer: the latent goes through `reduce_dim_level3` (1×1, 8d → 4d)
 * BEFORE `up4_3 = Upsample(4d)`, so `reduce_chan_level3` takes 2d + 4d channels. Output = 3×3 conv + input.
 * NHWC in and out. H and W are reflect-padded (bottom/right) to multiples of 8 and cropped back
 * (the official test script crops images to multiples of 16 instead; padding keeps every pixel).
 * The official forward's unused `noise_emb` argument has no counterpart here.
 */
export class AnyIR extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>AnyIR';
  static override optionsSchema = OPTIONS;
  private readonly patchEmbed: OverlapPatchEmbed;
  private readonly encoders: Sequential[] = [];
  private readonly downs: Downsample[] = [];
  private readonly ups: Upsample[] = [];
  private readonly reduceDim3: Conv2d;
  private readonly reduce3: Conv2d;
  private readonly reduce2: Conv2d;
  private readonly decoders: Sequential[] = [];
  private readonly refinement: Sequential | null;
  private readonly outputConv: Conv2d;

  constructor(opts: AnyIROptions & BlockArgs = {}) {
    super(opts as never);
    const cfg = this.options;
    if (cfg.inChannels !== cfg.outChannels)
      throw new ConfigError(`AnyIR: the output adds the input image, so inChannels (${cfg.inChannels}) must equal outChannels (${cfg.outChannels})`);
    const { channels: dim, heads, bias, numBlocks } = cfg;
    const [d1, d2, d3, d4] = [dim, dim * 2, dim * 4, dim * 8];
    // Every DAB splits its width in halves, and each half is split into heads.
    const checkWidth = (where: string, c: number, h: number) => {
      if (c % 2 || (c / 2) % h) throw new ConfigError(`AnyIR: ${where} width ${c} must be even with ${c / 2} divisible by its heads (${h})`);
    };
    checkWidth('level 1', d1, heads[0]);
    checkWidth('level 2', d2, heads[1]);
    checkWidth('level 3', d3, heads[2]);
    checkWidth('latent', d4, heads[3]);
    checkWidth('decoder level 1 / refinement', d2, heads[0]);
    const stage = (key: string, n: number, c: number, h: number): Sequential =>
      this.addChild(
        key,
        new Sequential({
          layers: Array.from({ length: n }, () => ({
            type: DAB_TYPE,
            channels: c,
            attention: { heads: h, bias, frequencyBranch: cfg.frequencyBranch, gate: { batchNorm: cfg.batchNorm } },
            ffn: { expansion: cfg.expansion, bias },
            norm: { normKind: cfg.normKind },
          })),
        }),
      );
    // Children in the order of the official __init__ (torchParameters() lists keys as the state_dict does).
    // Official: OverlapPatchEmbed(inp_channels, dim) — its bias stays False whatever `bias` is.
    this.patchEmbed = this.addChild('patch_embed', new OverlapPatchEmbed({ inChannels: cfg.inChannels, outChannels: d1, bias: false }));
    this.encoders.push(stage('encoder_level1', numBlocks[0], d1, heads[0]));
    this.downs.push(this.addChild('down1_2', new Downsample({ channels: d1 })));
    this.encoders.push(stage('encoder_level2', numBlocks[1], d2, heads[1]));
    this.downs.push(this.addChild('down2_3', new Downsample({ channels: d2 })));
    this.encoders.push(stage('encoder_level3', numBlocks[2], d3, heads[2]));
    this.downs.push(this.addChild('down3_4', new Downsample({ channels: d3 })));
    this.encoders.push(stage('latent', numBlocks[3], d4, heads[3]));
    this.ups.push(this.addChild('up4_3', new Upsample({ channels: d3 })));
    this.reduce3 = this.addChild('reduce_chan_level3', new Conv2d({ inChannels: d2 + d3, outChannels: d3, kernelSize: 1, bias }));
    this.reduceDim3 = this.addChild('reduce_dim_level3', new Conv2d({ inChannels: d4, outChannels: d3, kernelSize: 1, bias }));
    this.decoders.push(stage('decoder_level3', numBlocks[2], d3, heads[2]));
    this.ups.push(this.addChild('up3_2', new Upsample({ channels: d3 })));
    this.reduce2 = this.addChild('reduce_chan_level2', new Conv2d({ inChannels: d3, outChannels: d2, kernelSize: 1, bias }));
    this.decoders.push(stage('decoder_level2', numBlocks[1], d2, heads[1]));
    this.ups.push(this.addChild('up2_1', new Upsample({ channels: d2 })));
    // Level 1 of the decoder keeps the concatenated 2·dim channels (no reduction), with heads[0].
    this.decoders.push(stage('decoder_level1', numBlocks[0], d2, heads[0]));
    this.refinement = cfg.numRefinementBlocks > 0 ? stage('refinement', cfg.numRefinementBlocks, d2, heads[0]) : null;
    this.outputConv = this.addChild('output', new Conv2d({ inChannels: d2, outChannels: cfg.outChannels, kernelSize: 3, padding: 1, bias }));
  }

  override build(s: tfl.Shape): void {
    const d = this.options.channels;
    const at = (c: number, f: number): tfl.Shape => [
      s[0]!,
      s[1] == null ? null : (Math.ceil(s[1] / 8) * 8) / f,
      s[2] == null ? null : (Math.ceil(s[2] / 8) * 8) / f,
      c,
    ];
    const widths = [d, 2 * d, 4 * d, 8 * d];
    this.buildChild(this.patchEmbed, at(this.options.inChannels, 1));
    for (let l = 0; l < 4; l++) {
      this.buildChild(this.encoders[l]!, at(widths[l]!, 2 ** l));
      if (l < 3) this.buildChild(this.downs[l]!, at(widths[l]!, 2 ** l));
    }
    this.buildChild(this.reduceDim3, at(8 * d, 8));
    this.buildChild(this.ups[0]!, at(4 * d, 8));
    this.buildChild(this.reduce3, at(6 * d, 4));
    this.buildChild(this.decoders[0]!, at(4 * d, 4));
    this.buildChild(this.ups[1]!, at(4 * d, 4));
    this.buildChild(this.reduce2, at(4 * d, 2));
    this.buildChild(this.decoders[1]!, at(2 * d, 2));
    this.buildChild(this.ups[2]!, at(2 * d, 2));
    this.buildChild(this.decoders[2]!, at(2 * d, 1));
    if (this.refinement) this.buildChild(this.refinement, at(2 * d, 1));
    this.buildChild(this.outputConv, at(2 * d, 1));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.inChannels];
  }

  forward(input: tf.Tensor, training: boolean): tf.Tensor {
    // Intermediates are freed as soon as consumed (peak memory; see core's tensors.ts); never the caller's input.
    const { run, eat, join } = consuming((l, t) => this.run(l, t, training));
    const { x, height, width } = padToMultiple(input as tf.Tensor4D, 8, 'reflect');
    const enc1 = eat(this.encoders[0]!, run(this.patchEmbed, x));
    const enc2 = eat(this.encoders[1]!, run(this.downs[0]!, enc1));
    const enc3 = eat(this.encoders[2]!, run(this.downs[1]!, enc2));
    // AnyIR: reduce the latent to 4·dim first, then Upsample(4·dim) → 2·dim; concat [upsampled, skip].
    const latent = eat(this.reduceDim3, eat(this.encoders[3]!, run(this.downs[2]!, enc3)));
    const dec3 = eat(this.decoders[0]!, eat(this.reduce3, join(eat(this.ups[0]!, latent), enc3)));
    const dec2 = eat(this.decoders[1]!, eat(this.reduce2, join(eat(this.ups[1]!, dec3), enc2)));
    const dec1 = eat(this.refinement, eat(this.decoders[2]!, join(eat(this.ups[2]!, dec2), enc1)));
    const o = eat(this.outputConv, dec1);
    const y = tf.add(o, x);
    o.dispose();
    return cropTo(y as tf.Tensor4D, height, width);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return [s[0]!, s[1]!, s[2]!, this.options.outChannels];
  }
}
registerBlock(AnyIR);

const citation = `@article{ren2025anyir,
  title   = {Any Image Restoration via Efficient Spatial-Frequency Degradation Adaptation},
  author  = {Ren, Bin and Zamfir, Eduard and Wu, Zongwei and Li, Yawei and Li, Yidi and Paudel, Danda Pani and Timofte, Radu and Yang, Ming-Hsuan and Van Gool, Luc and Sebe, Nicu},
  journal = {arXiv preprint arXiv:2504.14249},
  year    = {2025}
}`;

/** AnyIR presets: the official Feb-2026 release (dim 28), the Aug-2025 pre-release width (dim 32), and small test sizes. */
export const anyirPresets: Record<string, ModelPreset> = {
  official: {
    description:
      'Official release (net/anyir.py @098dcd1, constructor defaults used by train.py/test.py): dim 28, blocks [3,5,5,7], refinement 4, heads [1,2,4,8], GDFN γ 2, WithBias LayerNorm',
    config: { channels: 28, numBlocks: [3, 5, 5, 7], numRefinementBlocks: 4, heads: [1, 2, 4, 8], expansion: 2, bias: false, normKind: 'WithBias' },
    params: 5_736_376,
  },
  dim32: {
    description: 'Aug-2025 pre-release defaults (net/anyir.py @864b784): dim 32, blocks [4,6,6,8], refinement 4, heads [1,2,4,8], GDFN γ 2, WithBias',
    config: { channels: 32, numBlocks: [4, 6, 6, 8], numRefinementBlocks: 4, heads: [1, 2, 4, 8], expansion: 2, bias: false, normKind: 'WithBias' },
    params: 8_513_436,
  },
  small: {
    description: 'Small test size (the golden eval fixture): dim 16, one DAB per level, refinement 1',
    config: { channels: 16, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 2, 4, 8], expansion: 2, bias: false, normKind: 'WithBias' },
    params: 499_157,
  },
  tiny: {
    description: 'Tiny test size (the golden train-mode fixture): dim 8, one DAB per level, refinement 1',
    config: { channels: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 2, 4, 8], expansion: 2, bias: false, normKind: 'WithBias' },
    params: 132_201,
  },
};

registerModel({
  name: 'anyir',
  paper: 'Any Image Restoration via Efficient Spatial-Frequency Degradation Adaptation (Ren et al., arXiv 2504.14249)',
  citation,
  inputRange: [0, 1],
  sizeMultiple: 8,
  defaultPreset: 'official',
  presets: anyirPresets,
  official: transformerOfficialArgs(),
  create: (config) => new AnyIR(config as AnyIROptions),
});

declare module './registry.js' {
  interface ModelClasses {
    anyir: AnyIR;
  }
}
