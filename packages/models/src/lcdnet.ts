import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Conv2d,
  PixelShuffle,
  cropTo,
  free,
  opt,
  registerBlock,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
  concatChannels,
} from '@restorekit/core';
import { FFTBlock } from '@restorekit/fft';
import { HSFSBlock, MSFM, SFE } from '@restorekit/hsfs';
import { SCAM } from '@restorekit/scam';
import { registerModel, type ModelPreset } from './registry.js';

const LEVELS = 4;

const OPTIONS = {
  /** Image channels (input and the four outputs). Default 3. */
  inChannels: opt.posInt(3),
  /** Width C of level 0; level l has C·2ˡ channels, the middle block 16C. Default 32 [SIBLING ALGNet/FDTANet]. */
  channels: opt.posInt(32),
  /** MSSFBlocks N in each encoder level's HSFSBlock. Default [1, 1, 1, 1] (the paper's N is not known; spec §2.12). */
  numBlocks: opt.ints(4, { min: 0 }, [1, 1, 1, 1]),
  /** MSSFBlocks in the middle HSFSBlock. Default 1. */
  middleBlocks: opt.int({ min: 0 }, 1),
  /** MSSFBlocks in each decoder level's HSFSBlock (levels 0 … 3). Default [1, 1, 1, 1]. */
  decoderBlocks: opt.ints(4, { min: 0 }, [1, 1, 1, 1]),
  /** MSFM filter groups G; must divide C/2 (C/(number of kernel sizes)). Default 8 [SIBLING]. */
  groups: opt.posInt(8),
  /** MSFM kernel sizes, one branch each. Default [3, 5] [SIBLING]. */
  kernelSizes: MSFM.optionsSchema.kernelSizes,
  /** MSSFBlock residual scales β_L, β_G, γ. Default true [SIBLING]. */
  residualScales: opt.bool(true),
  /** MSFM selection normalisation. Default 'branches' (spec §2.14). */
  selectionSoftmax: MSFM.optionsSchema.selectionSoftmax,
  /** SCAM variant. Default (and only) 'A' [RECON]. */
  scamVariant: SCAM.optionsSchema.variant,
  /** H and W are zero-padded (bottom/right) to a multiple of this, a multiple of 16 (four stride-2 levels). Default 16. */
  sizeMultiple: opt.custom<number>(
    'a positive multiple of 16',
    (v) => (Number.isInteger(v) && (v as number) >= 16 && (v as number) % 16 === 0) || 'the four stride-2 levels need a multiple of 16',
    16,
  ),
};
export type LCDNetOptions = OptionsInput<typeof OPTIONS>;

/**
 * Nearest ½ downsampling, pixel (2i, 2j) (PyTorch `interpolate(scale_factor=0.5)`), with gradients on every backend:
 * tfjs's stridedSlice has none, so two rank-4 reshape + slice steps take every other row, then every other column.
 */
export function nearestHalf(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => {
    const rows = tf.slice(tf.reshape(x, [b * (h / 2), 2, w, c]), [0, 0, 0, 0], [b * (h / 2), 1, w, c]);
    const cols = tf.slice(tf.reshape(rows, [b * (h / 2), w / 2, 2, c]), [0, 0, 0, 0], [b * (h / 2), w / 2, 1, c]);
    return tf.reshape(cols, [b, h / 2, w / 2, c]);
  });
}

/**
 * LCDNet (Hu Gao, Depeng Dang, "Enhancing Image Restoration through Learning Context-Rich and Detail-Accurate
 * Features", arXiv 2504.10558) as reconstructed in drcnet-lcdnet-fsdrnet.md §2: **the authors' code is not public**;
 * every part not tagged [SUMMARY] there is a labelled reconstruction from the same authors' released networks, and
 * the reference fixtures fix one reading of every open point (RECONSTRUCTIONS.md).
 *
 * A multi-input multi-output U-Net: Conv3×3 → four encoder levels of `HSFSBlock`s (level l at C·2ˡ), each followed by a
 * 2×2 stride-2 conv; levels 1–3 fuse `SFE` features of the nearest-downsampled image (FAM: 1×1 conv of
 * [x, SFE(I_s)]); a middle `HSFSBlock` at 16C; `SCAM` skip selection from the deepest level up; four decoder levels
 * (1×1 conv + PixelShuffle up, 1×1 reduce of [up, skip], `HSFSBlock`); side outputs Conv3×3 + I_s at levels 3, 2, 1 and
 * the final Conv3×3 + I. NHWC in; outputs `[Out8, Out4, Out2, Out1]` (coarse → fine, the order of the multi-scale
 * loss). H and W are zero-padded at the bottom/right to a multiple of `sizeMultiple` — and to at least the size the
 * middle block's reflect padding needs (48 for kernel 5) — and every output is cropped to ⌈H/s⌉ × ⌈W/s⌉.
 * PyTorch keys: `intro`, `encoders.{l}`, `downs.{l}`, `sfes.{1,2,3}`, `fams.{1,2,3}`, `middle`, `scams.{l}`, `ups.{l}`,
 * `reduces.{l}`, `decoders.{l}`, `side_outs.{1,2,3}`, `ending`.
 */
export class LCDNet extends FFTBlock<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>LCDNet';
  static override optionsSchema = OPTIONS;
  readonly intro: Conv2d;
  readonly encoders: HSFSBlock[] = [];
  readonly downs: Conv2d[] = [];
  /** Indexed by the level they feed (index 0 unused). */
  readonly sfes: SFE[] = [];
  readonly fams: Conv2d[] = [];
  readonly middle: HSFSBlock;
  readonly scams: SCAM[] = [];
  readonly ups: Conv2d[] = [];
  readonly shuffle: PixelShuffle;
  readonly reduces: Conv2d[] = [];
  readonly decoders: HSFSBlock[] = [];
  /** Indexed by level (index 0 unused). */
  readonly sideOuts: Conv2d[] = [];
  readonly ending: Conv2d;

  constructor(opts: LCDNetOptions & BlockArgs = {}) {
    super(opts as never);
    const o = this.options;
    const width = (l: number) => o.channels * 2 ** l;
    const hsfs = (l: number, n: number) =>
      new HSFSBlock({
        channels: width(l),
        numBlocks: n,
        groups: o.groups,
        kernelSizes: o.kernelSizes,
        residualScales: o.residualScales,
        selectionSoftmax: o.selectionSoftmax,
      });
    const conv = (i: number, out: number, k: number, extra: { stride?: number; bias?: boolean } = {}) =>
      new Conv2d({
        inChannels: i,
        outChannels: out,
        kernelSize: k,
        padding: extra.stride ? 0 : Math.floor(k / 2),
        stride: extra.stride ?? 1,
        bias: extra.bias ?? true,
      });
    this.intro = this.addChild('intro', conv(o.inChannels, width(0), 3));
    for (let l = 0; l < LEVELS; l++) this.encoders.push(this.addChild(`encoders.${l}`, hsfs(l, o.numBlocks[l]!)));
    for (let l = 0; l < LEVELS; l++) this.downs.push(this.addChild(`downs.${l}`, conv(width(l), width(l + 1), 2, { stride: 2 })));
    for (let l = 1; l < LEVELS; l++) this.sfes[l] = this.addChild(`sfes.${l}`, new SFE({ inChannels: o.inChannels, outChannels: width(l) }));
    for (let l = 1; l < LEVELS; l++) this.fams[l] = this.addChild(`fams.${l}`, conv(2 * width(l), width(l), 1));
    this.middle = this.addChild('middle', hsfs(LEVELS, o.middleBlocks));
    for (let l = 0; l < LEVELS; l++) this.scams.push(this.addChild(`scams.${l}`, new SCAM({ channels: width(l), variant: o.scamVariant })));
    for (let l = 0; l < LEVELS; l++) this.ups.push(this.addChild(`ups.${l}`, conv(width(l + 1), width(l + 2), 1, { bias: false })));
    this.shuffle = this.addChild('shuffle', new PixelShuffle({ factor: 2 }));
    for (let l = 0; l < LEVELS; l++) this.reduces.push(this.addChild(`reduces.${l}`, conv(2 * width(l), width(l), 1)));
    for (let l = 0; l < LEVELS; l++) this.decoders.push(this.addChild(`decoders.${l}`, hsfs(l, o.decoderBlocks[l]!)));
    for (let l = 1; l < LEVELS; l++) this.sideOuts[l] = this.addChild(`side_outs.${l}`, conv(width(l), o.inChannels, 3));
    this.ending = this.addChild('ending', conv(width(0), o.inChannels, 3));
  }

  /**
   * The smallest padded H (and W): the middle block runs at H/16 and its MSFM reflect-pads by ⌊k/2⌋ for its largest
   * kernel k, which needs H/16 > ⌊k/2⌋ (RECONSTRUCTIONS.md, LCDNet point 10: 48 for k = 5); rounded up to `sizeMultiple`.
   */
  get minSize(): number {
    const m = this.options.sizeMultiple;
    const need = 16 * (Math.floor(Math.max(...this.options.kernelSizes) / 2) + 1);
    return Math.ceil(need / m) * m;
  }

  /** The padded size of an input side: a multiple of `sizeMultiple`, at least `minSize`. */
  paddedSize(n: number): number {
    const m = this.options.sizeMultiple;
    return Math.max(Math.ceil(n / m) * m, this.minSize);
  }

  override build(s: tfl.Shape): void {
    const o = this.options;
    const width = (l: number) => o.channels * 2 ** l;
    const at = (c: number): tfl.Shape => [s[0] ?? null, null, null, c];
    this.buildChild(this.intro, at(o.inChannels));
    for (let l = 0; l < LEVELS; l++) {
      this.buildChild(this.encoders[l]!, at(width(l)));
      this.buildChild(this.downs[l]!, at(width(l)));
      if (l > 0) {
        this.buildChild(this.sfes[l]!, at(o.inChannels));
        this.buildChild(this.fams[l]!, at(2 * width(l)));
        this.buildChild(this.sideOuts[l]!, at(width(l)));
      }
      this.buildChild(this.scams[l]!, [at(width(l)), at(width(l + 1))]);
      this.buildChild(this.ups[l]!, at(width(l + 1)));
      this.buildChild(this.reduces[l]!, at(2 * width(l)));
      this.buildChild(this.decoders[l]!, at(width(l)));
    }
    this.buildChild(this.middle, at(width(LEVELS)));
    this.buildChild(this.shuffle, at(width(2)));
    this.buildChild(this.ending, at(width(0)));
    super.build(s); // FFTBlock: a user of the DFT-basis cache until disposed (disposing the model frees the bases)
  }

  protected override expectedChannels() {
    return [this.options.inChannels];
  }

  forward(input: tf.Tensor, training: boolean): tf.Tensor[] {
    const run = (l: tfl.layers.Layer, x: tf.Tensor | tf.Tensor[]) => this.run(l, x, training);
    const x = input as tf.Tensor4D;
    const [, h, w] = x.shape;
    const [hp, wp] = [this.paddedSize(h), this.paddedSize(w)];
    // Zero padding at the bottom/right (RECONSTRUCTIONS.md, LCDNet point 9); images[l] is I at scale 2^l.
    const image =
      hp === h && wp === w
        ? x
        : (tf.pad(x, [
            [0, 0],
            [0, hp - h],
            [0, wp - w],
            [0, 0],
          ]) as tf.Tensor4D);
    const images: tf.Tensor4D[] = [image];
    for (let l = 1; l < LEVELS; l++) images.push(nearestHalf(images[l - 1]!));

    // Encoder.
    let t = run(this.intro, image);
    const skips: tf.Tensor[] = [];
    for (let l = 0; l < LEVELS; l++) {
      const e = free(run(this.encoders[l]!, t), t);
      skips.push(e);
      const d = run(this.downs[l]!, e);
      if (l + 1 < LEVELS) {
        const s = run(this.sfes[l + 1]!, images[l + 1]!);
        const cat = free(concatChannels([d, s]), d, s);
        t = free(run(this.fams[l + 1]!, cat), cat);
      } else t = d;
    }
    t = free(run(this.middle, t), t);

    // Skip selection, deepest level first: (S_l, M_l) = SCAM_l(E_l, M_{l+1}), M_4 = the middle output.
    const selected: tf.Tensor[] = [];
    let below = t;
    for (let l = LEVELS - 1; l >= 0; l--) {
      const [r, m] = run(this.scams[l]!, [skips[l]!, below]) as unknown as [tf.Tensor, tf.Tensor];
      free(r, skips[l]!, below === t ? null : below);
      selected[l] = r;
      below = m;
    }
    below.dispose();

    // Decoder with side outputs at levels 3, 2, 1 and the final output.
    const outs: tf.Tensor[] = [];
    const crop = (y: tf.Tensor, l: number) => free(cropTo(y as tf.Tensor4D, Math.ceil(h / 2 ** l), Math.ceil(w / 2 ** l)), y);
    for (let l = LEVELS - 1; l >= 0; l--) {
      const u = free(run(this.ups[l]!, t), t);
      const up = free(run(this.shuffle, u), u);
      const cat = free(concatChannels([up, selected[l]!]), up, selected[l]!);
      const reduced = free(run(this.reduces[l]!, cat), cat);
      t = free(run(this.decoders[l]!, reduced), reduced);
      if (l > 0) {
        const side = run(this.sideOuts[l]!, t);
        outs.push(crop(free(tf.add(side, images[l]!), side), l));
      }
    }
    const last = free(run(this.ending, t), t);
    outs.push(crop(free(tf.add(last, image), last), 0));
    for (const im of images) if (im !== x) im.dispose();
    return outs;
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape[] {
    const c = this.options.inChannels;
    const side = (n: number | null, l: number) => (n == null ? null : Math.ceil(n / 2 ** l));
    return [3, 2, 1, 0].map((l) => [s[0]!, side(s[1]!, l), side(s[2]!, l), c]);
  }
}
registerBlock(LCDNet);

const reconstruction = 'a labelled reconstruction (drcnet-lcdnet-fsdrnet.md §2): the authors have not released code, width and blocks per level are not known';
/** The spec's first configuration; the other presets change only what they name. */
const SPEC_DEFAULTS = {
  inChannels: 3,
  channels: 32,
  numBlocks: [1, 1, 1, 1],
  middleBlocks: 1,
  decoderBlocks: [1, 1, 1, 1],
  groups: 8,
  kernelSizes: [3, 5],
  residualScales: true,
  selectionSoftmax: 'branches',
  scamVariant: 'A',
  sizeMultiple: 16,
};
export const LCDNET_PRESETS: Record<string, ModelPreset> = {
  default: {
    description: `C = 32, N = [1, 1, 1, 1]; 1; [1, 1, 1, 1], G = 8, MSFM kernels [3, 5] (the spec's first configuration; ${reconstruction})`,
    config: { ...SPEC_DEFAULTS },
    params: 13_448_012,
  },
  large: {
    description: "C = 32, N = [1, 1, 2, 4]; 4; [1, 1, 1, 1] (the spec's second configuration, deeper encoder)",
    config: { ...SPEC_DEFAULTS, numBlocks: [1, 1, 2, 4], middleBlocks: 4 },
    params: 33_881_548,
  },
  small: {
    description: 'C = 16, N = [1, 1, 1, 1]; 1; [1, 1, 1, 1], G = 8 (a quarter of the default width², for experiments)',
    config: { ...SPEC_DEFAULTS, channels: 16 },
    params: 3_501_436,
  },
  tiny: {
    description: 'C = 8, G = 4, N = 1 everywhere: the configuration of the lcdnet_full / lcdnet_backward reference fixtures (tests, training smoke runs)',
    config: { ...SPEC_DEFAULTS, channels: 8, groups: 4 },
    params: 925_860,
  },
};

declare module './registry.js' {
  interface ModelClasses {
    lcdnet: LCDNet;
  }
}

registerModel({
  name: 'lcdnet',
  paper:
    'Enhancing Image Restoration through Learning Context-Rich and Detail-Accurate Features (LCDNet), Hu Gao and Depeng Dang, arXiv 2504.10558 — reconstruction, no official code',
  citation: `@article{gao2025lcdnet,
  title   = {Enhancing Image Restoration through Learning Context-Rich and Detail-Accurate Features},
  author  = {Gao, Hu and Dang, Depeng},
  journal = {arXiv preprint arXiv:2504.10558},
  year    = {2025}
}`,
  inputRange: [0, 1],
  sizeMultiple: 16,
  defaultPreset: 'default',
  presets: LCDNET_PRESETS,
  // No official code exists: these are the constructor arguments of the reference implementation that made the
  // fixtures (RECONSTRUCTIONS.md, "Constructor options"), so its configs (e.g. a fixture's) map to options.
  official: {
    rename: {
      in_channels: 'inChannels',
      width: 'channels',
      enc_blocks: 'numBlocks',
      middle_blocks: 'middleBlocks',
      dec_blocks: 'decoderBlocks',
      groups: 'groups',
      msfm_kernel_sizes: 'kernelSizes',
      residual_scales: 'residualScales',
      scam_variant: 'scamVariant',
      pad_multiple: 'sizeMultiple',
    },
  },
  create: (config) => new LCDNet(config as LCDNetOptions),
});
