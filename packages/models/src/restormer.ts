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
import { registerModel, type ModelPreset } from './registry.js';
import { evenChannels, transformerOfficialArgs } from './options.js';

const OPTIONS = {
  /** Input channels: 3 (RGB), 1 (grey denoising), 6 (dual-pixel defocus). */
  inChannels: opt.posInt(3),
  /** Output channels. */
  outChannels: opt.posInt(3),
  /** Width of level 1 (levels use C, 2C, 4C, 8C; official `dim`). Even: Downsample halves it before PixelUnshuffle. */
  channels: evenChannels(48),
  /** Transformer blocks per level [level1, level2, level3, latent] (decoder levels mirror the encoder). */
  numBlocks: opt.ints(4, { min: 0 }, [4, 6, 6, 8]),
  /** Transformer blocks in the refinement stage (at 2C). */
  numRefinementBlocks: opt.int({ min: 0 }, 4),
  /** MDTA heads per level. */
  heads: opt.ints(4, { min: 1 }, [1, 2, 4, 8]),
  /** GDFN expansion (hidden = trunc(C·expansion); official `ffn_expansion_factor`). */
  expansion: opt.number({ min: 0, exclusiveMin: true }, 2.66),
  /** Bias on patch embed, attention/FFN convs, channel reductions, skip and output convs (Down/Upsample never). */
  bias: opt.bool(false),
  /** 'WithBias' (deraining, deblurring) or 'BiasFree' (denoising); official `LayerNorm_type`. */
  normKind: opt.enum(['WithBias', 'BiasFree'] as const, 'WithBias'),
  /** Dual-pixel defocus deblurring: adds `skip_conv` (C → 2C) and drops the input residual. */
  dualPixelTask: opt.bool(false),
};
export type RestormerOptions = OptionsInput<typeof OPTIONS>;

/**
 * Restormer (Zamir et al., CVPR 2022), the official `Restormer` module of swz30/Restormer with its
 * PyTorch state_dict names: a 4-level U-Net of Transformer blocks (MDTA + GDFN), decoder concat
 * [upsampled, skip] with 1×1 reductions at levels 3 and 2 only, level 1 and refinement at 2·dim,
 * a 3×3 output conv and the global input residual (dual-pixel: `skip_conv` instead).
 * NHWC in and out. Inputs whose H or W are not multiples of 8 are reflect-padded at the bottom/right
 * and cropped back, as in the official test scripts, so the output always has the input's size.
 */
export class Restormer extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>Restormer';
  static override optionsSchema = OPTIONS;
  private readonly encoders: (Sequential | null)[] = [];
  private readonly patchEmbed: OverlapPatchEmbed;
  private readonly downs: Downsample[];
  private readonly ups: Upsample[];
  private readonly reduce3: Conv2d;
  private readonly reduce2: Conv2d;
  private readonly decoders: (Sequential | null)[] = [];
  private readonly refinement: Sequential | null;
  private readonly skipConv: Conv2d | null = null;
  private readonly outputConv: Conv2d;

  constructor(opts: RestormerOptions & BlockArgs = {}) {
    super(opts as never);
    const cfg = this.options;
    if (!cfg.dualPixelTask && cfg.inChannels !== cfg.outChannels)
      throw new ConfigError(
        `Restormer: the global residual adds the input to the output, so inChannels (${cfg.inChannels}) must equal outChannels (${cfg.outChannels}) unless dualPixelTask is set`,
      );
    const { channels: dim, heads, bias, numBlocks } = cfg;
    const widths = [dim, dim * 2, dim * 4, dim * 8];
    for (const [l, c] of widths.entries())
      if (c % heads[l]!) throw new ConfigError(`Restormer: level ${l + 1} width ${c} is not divisible by heads[${l}] = ${heads[l]}`);
    if ((dim * 2) % heads[0]) throw new ConfigError(`Restormer: decoder level 1 width ${dim * 2} is not divisible by heads[0] = ${heads[0]}`);
    const level = (key: string, n: number, c: number, h: number): Sequential | null =>
      n === 0
        ? null
        : this.addChild(
            key,
            new Sequential({
              layers: Array.from({ length: n }, () => ({
                type: 'TransformerBlock',
                channels: c,
                attention: { heads: h, bias },
                ffn: { expansion: cfg.expansion, bias },
                norm: { normKind: cfg.normKind },
              })),
            }),
          );
    // Children in the order of the official __init__ (so torchParameters() lists keys as the state_dict does).
    this.patchEmbed = this.addChild('patch_embed', new OverlapPatchEmbed({ inChannels: cfg.inChannels, outChannels: dim, bias }));
    this.downs = [];
    this.encoders.push(level('encoder_level1', numBlocks[0], widths[0]!, heads[0]));
    this.downs.push(this.addChild('down1_2', new Downsample({ channels: widths[0]! })));
    this.encoders.push(level('encoder_level2', numBlocks[1], widths[1]!, heads[1]));
    this.downs.push(this.addChild('down2_3', new Downsample({ channels: widths[1]! })));
    this.encoders.push(level('encoder_level3', numBlocks[2], widths[2]!, heads[2]));
    this.downs.push(this.addChild('down3_4', new Downsample({ channels: widths[2]! })));
    this.encoders.push(level('latent', numBlocks[3], widths[3]!, heads[3]));
    this.ups = [];
    this.ups.push(this.addChild('up4_3', new Upsample({ channels: widths[3]! })));
    this.reduce3 = this.addChild('reduce_chan_level3', new Conv2d({ inChannels: widths[3]!, outChannels: widths[2]!, kernelSize: 1, bias }));
    this.decoders.push(level('decoder_level3', numBlocks[2], widths[2]!, heads[2]));
    this.ups.push(this.addChild('up3_2', new Upsample({ channels: widths[2]! })));
    this.reduce2 = this.addChild('reduce_chan_level2', new Conv2d({ inChannels: widths[2]!, outChannels: widths[1]!, kernelSize: 1, bias }));
    this.decoders.push(level('decoder_level2', numBlocks[1], widths[1]!, heads[1]));
    this.ups.push(this.addChild('up2_1', new Upsample({ channels: widths[1]! })));
    // Level 1 of the decoder keeps the concatenated 2·dim channels (no 1×1 reduction), as the official code.
    this.decoders.push(level('decoder_level1', numBlocks[0], widths[1]!, heads[0]));
    this.refinement = level('refinement', cfg.numRefinementBlocks, widths[1]!, heads[0]);
    if (cfg.dualPixelTask) this.skipConv = this.addChild('skip_conv', new Conv2d({ inChannels: dim, outChannels: dim * 2, kernelSize: 1, bias }));
    this.outputConv = this.addChild('output', new Conv2d({ inChannels: dim * 2, outChannels: cfg.outChannels, kernelSize: 3, padding: 1, bias }));
  }

  override build(s: tfl.Shape): void {
    const d = this.options.channels;
    const at = (c: number, f: number): tfl.Shape => [
      s[0]!,
      s[1] == null ? null : (Math.ceil(s[1] / 8) * 8) / f,
      s[2] == null ? null : (Math.ceil(s[2] / 8) * 8) / f,
      c,
    ];
    this.buildChild(this.patchEmbed, at(this.options.inChannels, 1));
    const widths = [d, 2 * d, 4 * d, 8 * d];
    for (let l = 0; l < 4; l++) {
      const e = this.encoders[l];
      if (e) this.buildChild(e, at(widths[l]!, 2 ** l));
      if (l < 3) this.buildChild(this.downs[l]!, at(widths[l]!, 2 ** l));
    }
    for (let i = 0; i < 3; i++) this.buildChild(this.ups[i]!, at(widths[3 - i]!, 2 ** (3 - i)));
    this.buildChild(this.reduce3, at(8 * d, 4));
    this.buildChild(this.reduce2, at(4 * d, 2));
    const decShapes = [at(4 * d, 4), at(2 * d, 2), at(2 * d, 1)];
    this.decoders.forEach((dec, i) => {
      dec && this.buildChild(dec, decShapes[i]!);
    });
    if (this.refinement) this.buildChild(this.refinement, at(2 * d, 1));
    if (this.skipConv) this.buildChild(this.skipConv, at(d, 1));
    this.buildChild(this.outputConv, at(2 * d, 1));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.inChannels];
  }

  forward(input: tf.Tensor, training: boolean): tf.Tensor {
    // Intermediates are freed as soon as consumed (peak memory; see core's tensors.ts); never the caller's input.
    const { run, eat, join } = consuming((l, t) => this.run(l, t, training));
    // Official test scripts: reflect-pad bottom/right to a multiple of 8, crop back at the end.
    const { x, height, width } = padToMultiple(input as tf.Tensor4D, 8, 'reflect');
    const inpEnc1 = run(this.patchEmbed, x);
    const e1 = this.skipConv ? run(this.encoders[0]!, inpEnc1) : eat(this.encoders[0]!, inpEnc1);
    const e2 = eat(this.encoders[1]!, run(this.downs[0]!, e1));
    const e3 = eat(this.encoders[2]!, run(this.downs[1]!, e2));
    const latent = eat(this.encoders[3]!, run(this.downs[2]!, e3));
    const d3 = eat(this.decoders[0]!, eat(this.reduce3, join(eat(this.ups[0]!, latent), e3)));
    const d2 = eat(this.decoders[1]!, eat(this.reduce2, join(eat(this.ups[1]!, d3), e2)));
    const d1 = eat(this.decoders[2]!, join(eat(this.ups[2]!, d2), e1));
    const r = eat(this.refinement, d1);
    let y: tf.Tensor;
    if (this.skipConv) {
      const s = eat(this.skipConv, inpEnc1);
      y = eat(this.outputConv, tf.add(r, s));
      tf.dispose([r, s]);
    } else {
      const o = eat(this.outputConv, r);
      y = tf.add(o, x);
      o.dispose();
    }
    return x.shape[1] === height && x.shape[2] === width ? y : cropTo(y as tf.Tensor4D, height, width);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return [s[0]!, s[1]!, s[2]!, this.options.outChannels];
  }
}
registerBlock(Restormer);

const official = {
  inChannels: 3,
  outChannels: 3,
  channels: 48,
  numBlocks: [4, 6, 6, 8],
  numRefinementBlocks: 4,
  heads: [1, 2, 4, 8],
  expansion: 2.66,
  bias: false,
  normKind: 'WithBias',
  dualPixelTask: false,
};

/** Presets: the official configurations (exact PyTorch parameter counts of the official module) plus small ones for tests and browsers. */
export const restormerPresets: Record<string, ModelPreset> = {
  official: {
    description: 'Official Restormer, WithBias LayerNorm (deraining, motion and single-image defocus deblurring checkpoints)',
    config: official,
    params: 26_126_644,
  },
  'official-biasfree': {
    description: 'Official Restormer, BiasFree LayerNorm (Gaussian colour and real (SIDD) denoising checkpoints)',
    config: { ...official, normKind: 'BiasFree' },
    params: 26_111_668,
  },
  'gray-denoise': {
    description: 'Official greyscale Gaussian denoising Restormer: 1 input/output channel, BiasFree',
    config: { ...official, inChannels: 1, outChannels: 1, normKind: 'BiasFree' },
    params: 26_109_076,
  },
  'dual-pixel': {
    description: 'Official dual-pixel defocus deblurring Restormer: 6 input channels (two DP views), skip_conv instead of the input residual',
    config: { ...official, inChannels: 6, dualPixelTask: true },
    params: 26_132_548,
  },
  small: {
    description: 'Small Restormer for browsers (dim 24, blocks [2,3,3,4], 2 refinement blocks); not an official checkpoint shape',
    config: { ...official, channels: 24, numBlocks: [2, 3, 3, 4], numRefinementBlocks: 2 },
    params: 3_813_230,
  },
  tiny: {
    description: 'Tiny Restormer for tests (dim 8, one block per level, heads [1,1,2,2]); not an official checkpoint shape',
    config: { ...official, channels: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 1, 2, 2] },
    params: 208_213,
  },
};

registerModel({
  name: 'restormer',
  paper: 'Restormer: Efficient Transformer for High-Resolution Image Restoration (Zamir et al., CVPR 2022)',
  citation: `@inproceedings{Zamir2021Restormer,
  title     = {Restormer: Efficient Transformer for High-Resolution Image Restoration},
  author    = {Syed Waqas Zamir and Aditya Arora and Salman Khan and Munawar Hayat and Fahad Shahbaz Khan and Ming-Hsuan Yang},
  booktitle = {CVPR},
  year      = {2022}
}`,
  inputRange: [0, 1],
  sizeMultiple: 8,
  defaultPreset: 'official',
  presets: restormerPresets,
  official: transformerOfficialArgs({ dual_pixel_task: 'dualPixelTask' }),
  create: (config) => new Restormer(config as RestormerOptions),
});

declare module './registry.js' {
  interface ModelClasses {
    restormer: Restormer;
  }
}
