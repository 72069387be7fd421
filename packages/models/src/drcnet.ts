import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  Conv2d,
  cropTo,
  opt,
  padToMultiple,
  registerBlock,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
  concatChannels,
} from '@restorekit/core';
import { DFR, SAM, UNetUpBlock } from '@restorekit/dfr';
import { registerModel, type ModelPreset } from './registry.js';

const OPTIONS = {
  /** Image channels (official in_chn). */
  inChannels: opt.posInt(3),
  /** Width of level 0; level i has channels·2^i (official wf). Must be even (RN_L normalises half of each level's channels). */
  channels: opt.custom<number>(
    'an even positive integer',
    (v) => (Number.isInteger(v) && (v as number) > 0 && (v as number) % 2 === 0) || "RN_L normalises half of each level's channels",
    64,
  ),
  /** Number of U-Net levels per stage (official depth). */
  depth: opt.posInt(4),
  /** LeakyReLU negative slope (official relu_slope). */
  reluSlope: opt.number({}, 0.2),
  /**
   * Levels i with hinPositionLeft ≤ i ≤ hinPositionRight use RN_L in their DFR blocks (official
   * hin_position_left / hin_position_right); every level by default. The RN_L weights exist at every
   * level regardless (official state_dict); at other levels they are unused.
   */
  hinPositionLeft: opt.int({ min: 0 }, 0),
  hinPositionRight: opt.int({ min: 0 }, 4),
};
export type DRCNetOptions = OptionsInput<typeof OPTIONS>;

/**
 * DRCNet (Li, Shen, Mi, Li, ECCV 2022), the official `DRCNet` module of leefly072/DRCNet with its
 * PyTorch state_dict names: two U-Net stages of DFR blocks joined by a supervised attention module
 * (`sam12`) and cross-stage feature fusion, stage 2 starting from cat12([conv_02(I), SAM features]).
 * NHWC in; outputs [stage-1 image, stage-2 image] (both supervised in training; the second is the
 * restored image). H and W are reflect-padded (bottom/right) to a multiple of 2^(depth−1) and both
 * outputs are cropped back to the input size.
 */
export class DRCNet extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>DRCNet';
  static override optionsSchema = OPTIONS;
  private readonly down1: DFR[] = [];
  private readonly down2: DFR[] = [];
  private readonly conv01: Conv2d;
  private readonly conv02: Conv2d;
  private readonly up1: UNetUpBlock[] = [];
  private readonly up2: UNetUpBlock[] = [];
  private readonly skip1: Conv2d[] = [];
  private readonly skip2: Conv2d[] = [];
  private readonly sam12: SAM;
  private readonly cat12: Conv2d;
  private readonly last: Conv2d;

  constructor(opts: DRCNetOptions & BlockArgs = {}) {
    super(opts as never);
    const cfg = this.options;
    const { channels: wf, depth, reluSlope } = cfg;
    const width = (i: number) => wf * 2 ** i;
    // Children in the order of the official state_dict.
    let prev = wf;
    for (let i = 0; i < depth; i++) {
      const regionNorm = cfg.hinPositionLeft <= i && i <= cfg.hinPositionRight;
      const downsample = i + 1 < depth;
      this.down1.push(this.addChild(`down_path_1.${i}`, new DFR({ inChannels: prev, outChannels: width(i), downsample, regionNorm, reluSlope })));
      prev = width(i);
    }
    prev = wf;
    for (let i = 0; i < depth; i++) {
      const regionNorm = cfg.hinPositionLeft <= i && i <= cfg.hinPositionRight;
      const downsample = i + 1 < depth;
      this.down2.push(
        this.addChild(`down_path_2.${i}`, new DFR({ inChannels: prev, outChannels: width(i), downsample, useCsff: downsample, regionNorm, reluSlope })),
      );
      prev = width(i);
    }
    const conv = (i: number, o: number, k: number) => new Conv2d({ inChannels: i, outChannels: o, kernelSize: k, padding: (k - 1) / 2, bias: true });
    this.conv01 = this.addChild('conv_01', conv(cfg.inChannels, wf, 3));
    this.conv02 = this.addChild('conv_02', conv(cfg.inChannels, wf, 3));
    for (const [stage, list] of [
      [1, this.up1],
      [2, this.up2],
    ] as const)
      for (let j = 0, i = depth - 2; i >= 0; j++, i--)
        list.push(this.addChild(`up_path_${stage}.${j}`, new UNetUpBlock({ inChannels: width(i + 1), outChannels: width(i), reluSlope })));
    for (const [stage, list] of [
      [1, this.skip1],
      [2, this.skip2],
    ] as const)
      for (let j = 0, i = depth - 2; i >= 0; j++, i--) list.push(this.addChild(`skip_conv_${stage}.${j}`, conv(width(i), width(i), 3)));
    this.sam12 = this.addChild('sam12', new SAM({ channels: wf, imageChannels: cfg.inChannels, kernelSize: 3, bias: true }));
    this.cat12 = this.addChild('cat12', conv(2 * wf, wf, 1));
    this.last = this.addChild('last', conv(wf, cfg.inChannels, 3));
  }

  /** H and W are padded to a multiple of this (2^(depth−1)). */
  get sizeMultiple(): number {
    return 2 ** (this.options.depth - 1);
  }

  override build(s: tfl.Shape): void {
    const m = this.sizeMultiple;
    const { channels: wf, depth, inChannels } = this.options;
    const at = (c: number, i: number): tfl.Shape => [
      s[0]!,
      s[1] == null ? null : (Math.ceil(s[1] / m) * m) / 2 ** i,
      s[2] == null ? null : (Math.ceil(s[2] / m) * m) / 2 ** i,
      c,
    ];
    const width = (i: number) => wf * 2 ** i;
    for (let i = 0; i < depth; i++) {
      const inC = i === 0 ? wf : width(i - 1);
      this.buildChild(this.down1[i]!, at(inC, i));
      this.buildChild(this.down2[i]!, i + 1 < depth ? [at(inC, i), at(width(i), i), at(width(i), i)] : at(inC, i));
    }
    this.buildChild(this.conv01, at(inChannels, 0));
    this.buildChild(this.conv02, at(inChannels, 0));
    for (let j = 0, i = depth - 2; i >= 0; j++, i--) {
      for (const up of [this.up1[j]!, this.up2[j]!]) this.buildChild(up, [at(width(i + 1), i + 1), at(width(i), i)]);
      for (const sk of [this.skip1[j]!, this.skip2[j]!]) this.buildChild(sk, at(width(i), i));
    }
    this.buildChild(this.sam12, [at(wf, 0), at(inChannels, 0)]);
    this.buildChild(this.cat12, at(2 * wf, 0));
    this.buildChild(this.last, at(wf, 0));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.inChannels];
  }

  forward(input: tf.Tensor, training: boolean): tf.Tensor[] {
    const run = (l: tfl.layers.Layer, x: tf.Tensor | tf.Tensor[]) => this.run(l, x, training) as tf.Tensor | tf.Tensor[];
    const one = (l: tfl.layers.Layer, x: tf.Tensor | tf.Tensor[]) => run(l, x) as tf.Tensor;
    const two = (l: tfl.layers.Layer, x: tf.Tensor | tf.Tensor[]) => run(l, x) as tf.Tensor[];
    const { depth } = this.options;
    const { x: image, height, width } = padToMultiple(input as tf.Tensor4D, this.sizeMultiple, 'reflect');
    // Intermediates are freed as soon as their last consumer has run (peak memory; the stage-1 encoder and decoder
    // features live until stage 2 has fused them). `free` spares the image (possibly the caller's input) and any
    // tensor a child handed back unchanged.
    const free = (used: tf.Tensor[], ...outputs: tf.Tensor[]) => {
      for (const t of used) if (t !== image && !outputs.includes(t)) t.dispose();
    };
    // Stage 1.
    let x1 = one(this.conv01, image);
    const encs: tf.Tensor[] = [];
    const decs: tf.Tensor[] = [];
    for (let i = 0; i < depth; i++) {
      const prev = x1;
      if (i + 1 < depth) {
        const [down, skip] = two(this.down1[i]!, prev);
        encs.push(skip!);
        x1 = down!;
        free([prev], down!, skip!);
      } else {
        x1 = one(this.down1[i]!, prev);
        free([prev], x1);
      }
    }
    for (let j = 0; j < depth - 1; j++) {
      const prev = x1;
      const bridge = one(this.skip1[j]!, encs[encs.length - 1 - j]!);
      x1 = one(this.up1[j]!, [prev, bridge]);
      // The bottleneck output is consumed here; each decoder output (prev for j > 0) waits for stage 2.
      free(j === 0 ? [prev, bridge] : [bridge], x1);
      decs.push(x1);
    }
    const [samFeature, out1] = two(this.sam12, [x1, image]);
    // Stage 2, with cross-stage fusion of the stage-1 encoder and decoder features of each level.
    const c02 = one(this.conv02, image);
    const joined = concatChannels([c02, samFeature!]);
    free([c02, samFeature!]);
    let x2 = one(this.cat12, joined);
    free([joined], x2);
    const blocks: tf.Tensor[] = [];
    for (let i = 0; i < depth; i++) {
      const prev = x2;
      if (i + 1 < depth) {
        const [enc, dec] = [encs[i]!, decs[decs.length - 1 - i]!];
        const [down, skip] = two(this.down2[i]!, [prev, enc, dec]);
        blocks.push(skip!);
        x2 = down!;
        free([prev, enc, dec], down!, skip!);
      } else {
        x2 = one(this.down2[i]!, prev);
        free([prev], x2);
      }
    }
    for (let j = 0; j < depth - 1; j++) {
      const [prev, skip] = [x2, blocks[blocks.length - 1 - j]!];
      const bridge = one(this.skip2[j]!, skip);
      x2 = one(this.up2[j]!, [prev, bridge]);
      free([prev, skip, bridge], x2);
    }
    const last = one(this.last, x2);
    free([x2], last);
    const out2 = tf.add(last, image);
    free([last]);
    const outs = [cropTo(out1 as tf.Tensor4D, height, width), cropTo(out2 as tf.Tensor4D, height, width)];
    free([out1!, out2], ...outs);
    return outs;
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape[] {
    const out: tfl.Shape = [s[0]!, s[1]!, s[2]!, this.options.inChannels];
    return [out, [...out]];
  }
}
registerBlock(DRCNet);

const OFFICIAL_PARAMS = 18_975_798;
const official = (hinPositionLeft: number, hinPositionRight: number) => ({
  inChannels: 3,
  channels: 64,
  depth: 4,
  reluSlope: 0.2,
  hinPositionLeft,
  hinPositionRight,
});

export const DRCNET_PRESETS: Record<string, ModelPreset> = {
  official: { description: 'Official constructor defaults (wf 64, depth 4, slope 0.2, RN_L at every level)', config: official(0, 4), params: OFFICIAL_PARAMS },
  rain13k: { description: 'options/train/Rain13k/DRCNet.yml (deraining): RN_L at levels 0–4 (all)', config: official(0, 4), params: OFFICIAL_PARAMS },
  sidd: { description: 'options/train/SIDD/DRCNet.yml (denoising): RN_L at levels 0–4 (all)', config: official(0, 4), params: OFFICIAL_PARAMS },
  gopro: { description: 'options/train/GoPro/DRCNet.yml (deblurring): RN_L at levels 2–3 only', config: official(2, 3), params: OFFICIAL_PARAMS },
  'gopro-test': {
    description: 'options/test/GoPro yml (the official test config): RN_L at levels 3–4, i.e. level 3 only',
    config: official(3, 4),
    params: OFFICIAL_PARAMS,
  },
  small: {
    description: 'Test size: wf 8, depth 4, RN_L everywhere (the drcnet_full_rain13k fixture config)',
    config: { inChannels: 3, channels: 8, depth: 4, reluSlope: 0.2, hinPositionLeft: 0, hinPositionRight: 4 },
    params: 300_470,
  },
  'small-gopro': {
    description: 'Test size: wf 4, depth 4, RN_L at levels 2–3 (the drcnet_full_gopro fixture config)',
    config: { inChannels: 3, channels: 4, depth: 4, reluSlope: 0.2, hinPositionLeft: 2, hinPositionRight: 3 },
    params: 76_998,
  },
  tiny: {
    description: 'Test size: wf 4, depth 3, RN_L at levels 1–2 (fast training-step tests)',
    config: { inChannels: 3, channels: 4, depth: 3, reluSlope: 0.2, hinPositionLeft: 1, hinPositionRight: 2 },
    params: 20_346,
  },
};

registerModel({
  name: 'drcnet',
  paper: 'Dynamic Image Restoration Contrastive Network (DRCNet), Li, Shen, Mi, Li, ECCV 2022',
  citation: `@inproceedings{li2022drcnet,
  title     = {Dynamic Image Restoration Contrastive Network},
  author    = {Li and Shen and Mi and Li},
  booktitle = {European Conference on Computer Vision (ECCV)},
  year      = {2022},
  url       = {https://openreview.net/forum?id=xAarSIFsnN}
}`,
  inputRange: [0, 1],
  sizeMultiple: 8,
  defaultPreset: 'official',
  presets: DRCNET_PRESETS,
  official: {
    rename: {
      in_chn: 'inChannels',
      wf: 'channels',
      depth: 'depth',
      relu_slope: 'reluSlope',
      hin_position_left: 'hinPositionLeft',
      hin_position_right: 'hinPositionRight',
    },
  },
  create: (config) => new DRCNet(config as DRCNetOptions),
});

declare module './registry.js' {
  interface ModelClasses {
    drcnet: DRCNet;
  }
}
