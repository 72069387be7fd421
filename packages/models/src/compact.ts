import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  Conv2d,
  DerivedWeights,
  LayerNorm2d,
  Sequential,
  SimpleGate,
  SimplifiedChannelAttention,
  consuming,
  cropTo,
  free,
  gatedConvs,
  opt,
  pixelShuffle,
  pixelUnshuffle,
  registerBlock,
  zeros,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
} from '@restorekit/core';
import { registerModel, type ModelPreset } from './registry.js';

/** NAFNet's LayerNorm2d epsilon (`LayerNorm2d(c, eps=1e-6)` in megvii-research/NAFNet). */
const NAF_LN_EPS = 1e-6;

const shapeWith = (s: tfl.Shape, c: number): tfl.Shape => [s[0] ?? null, s[1] ?? null, s[2] ?? null, c];

const BLOCK_OPTIONS = {
  /** Width C of the block (input and output). */
  channels: opt.posInt(),
  /** Width ratio of the depth-wise branch (NAFNet `DW_Expand`): conv1 maps C → C·dwExpansion; must give an even width. */
  dwExpansion: opt.posInt(2),
  /** Width ratio of the feed-forward (NAFNet `FFN_Expand`): conv4 maps C → C·expansion; must give an even width. */
  expansion: opt.posInt(2),
};
export type NAFBlockOptions = OptionsInput<typeof BLOCK_OPTIONS>;

/**
 * NAFNet's `NAFBlock` (Chen et al., "Simple Baselines for Image Restoration", ECCV 2022; megvii-research/NAFNet,
 * `basicsr/models/archs/NAFNet_arch.py`), built from core's blocks, with its PyTorch keys:
 *
 *     x = conv3(SCA(SimpleGate(conv2(conv1(norm1(inp))))));   y = inp + β·x
 *     out = y + γ·conv5(SimpleGate(conv4(norm2(y))))
 *
 * conv1/conv4 are 1×1 (C → 2C), conv2 a depth-wise 3×3, conv3/conv5 1×1 (C → C), `sca.1` the 1×1 conv of the
 * simplified channel attention; β and γ (`beta`, `gamma`, PyTorch shape [1, C, 1, 1]) start at zero, so a fresh block
 * is the identity. Dropout (0 in every NAFNet config) is left out. NHWC in and out.
 */
export class NAFBlock extends Block<ResolvedOptions<typeof BLOCK_OPTIONS>> {
  static className = 'restorekit>NAFBlock';
  /** A repeated unit: `setRecompute(model)` checkpoints it (see @restorekit/core's setRecompute). */
  static override recomputeUnit = true;
  static override optionsSchema = BLOCK_OPTIONS;
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly conv3: Conv2d;
  readonly sca: SimplifiedChannelAttention;
  readonly sg: SimpleGate;
  readonly conv4: Conv2d;
  readonly conv5: Conv2d;
  readonly norm1: LayerNorm2d;
  readonly norm2: LayerNorm2d;
  /** Weight halves for `gatedConvs`, kept between inference calls. */
  private readonly derived = new DerivedWeights();
  beta!: tfl.LayerVariable;
  gamma!: tfl.LayerVariable;

  constructor(opts: NAFBlockOptions & BlockArgs) {
    super(opts as never);
    const { channels: c, dwExpansion, expansion } = this.options;
    const dw = c * dwExpansion;
    const ffn = c * expansion;
    if (dw % 2 || ffn % 2) throw new ConfigError(`NAFBlock: SimpleGate halves the widths C·dwExpansion = ${dw} and C·expansion = ${ffn}; both must be even`);
    // Children in the order of the official __init__, so torchParameters() lists keys as the state_dict does.
    this.conv1 = this.addChild('conv1', new Conv2d({ inChannels: c, outChannels: dw, kernelSize: 1 }));
    this.conv2 = this.addChild('conv2', new Conv2d({ inChannels: dw, outChannels: dw, kernelSize: 3, padding: 1, groups: dw }));
    this.conv3 = this.addChild('conv3', new Conv2d({ inChannels: dw / 2, outChannels: c, kernelSize: 1 }));
    this.sca = this.addChild('sca', new SimplifiedChannelAttention({ channels: dw / 2 }));
    this.sg = this.addChild('sg', new SimpleGate());
    this.conv4 = this.addChild('conv4', new Conv2d({ inChannels: c, outChannels: ffn, kernelSize: 1 }));
    this.conv5 = this.addChild('conv5', new Conv2d({ inChannels: ffn / 2, outChannels: c, kernelSize: 1 }));
    this.norm1 = this.addChild('norm1', new LayerNorm2d({ channels: c, eps: NAF_LN_EPS }));
    this.norm2 = this.addChild('norm2', new LayerNorm2d({ channels: c, eps: NAF_LN_EPS }));
  }

  override build(s: tfl.Shape): void {
    const { channels: c, dwExpansion, expansion } = this.options;
    this.beta = this.addTorchWeight('beta', [1, c, 1, 1], zeros());
    this.gamma = this.addTorchWeight('gamma', [1, c, 1, 1], zeros());
    this.buildChild(this.conv1, shapeWith(s, c));
    this.buildChild(this.conv2, shapeWith(s, c * dwExpansion));
    this.buildChild(this.conv3, shapeWith(s, (c * dwExpansion) / 2));
    this.buildChild(this.sca, shapeWith(s, (c * dwExpansion) / 2));
    this.buildChild(this.sg, shapeWith(s, c * dwExpansion));
    this.buildChild(this.conv4, shapeWith(s, c));
    this.buildChild(this.conv5, shapeWith(s, (c * expansion) / 2));
    this.buildChild(this.norm1, shapeWith(s, c));
    this.buildChild(this.norm2, shapeWith(s, c));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(input: tf.Tensor, training: boolean): tf.Tensor {
    const c = this.options.channels;
    const run = (l: tfl.layers.Layer, t: tf.Tensor) => this.run(l, t, training);
    // Each intermediate is freed once consumed (never the caller's input).
    const n1 = run(this.norm1, input);
    const g = free(gatedConvs(n1, this.conv1, this.conv2, this.derived, run), n1);
    const s = free(run(this.sca, g), g);
    const x = free(run(this.conv3, s), s);
    const bx = free(tf.mul(x, tf.reshape(this.beta.read(), [c])), x);
    const y = free(tf.add(input, bx), bx);
    const n2 = run(this.norm2, y);
    const fg = free(gatedConvs(n2, this.conv4, null, this.derived, run), n2);
    const h = free(run(this.conv5, fg), fg);
    const gh = free(tf.mul(h, tf.reshape(this.gamma.read(), [c])), h);
    return free(tf.add(y, gh), y, gh);
  }

  protected override releaseResources(): void {
    this.derived.dispose();
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(NAFBlock);

const blockList = (what: string) =>
  opt.custom<number[]>(
    'a non-empty list of integers ≥ 0, one per level',
    (v) => (Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 0)) || `${what} must list one integer ≥ 0 per level`,
    [1, 1, 1],
  );

const OPTIONS = {
  /** Image channels (input and output: the model predicts a residual). Default 3 (RGB). */
  inChannels: opt.posInt(3),
  /** Width C after the intro conv; level l runs at C·2ˡ channels, the middle blocks at C·2ᴸ (L = numBlocks.length). */
  channels: opt.posInt(24),
  /** NAF blocks in each encoder level (NAFNet `enc_blk_nums`); its length L is the number of stride-2 levels. */
  numBlocks: blockList('numBlocks'),
  /** NAF blocks at the lowest resolution (NAFNet `middle_blk_num`). */
  middleBlocks: opt.int({ min: 0 }, 2),
  /** NAF blocks in each decoder level, shallowest first like `numBlocks` (NAFNet `dec_blk_nums` lists the deepest first). */
  decoderBlocks: blockList('decoderBlocks'),
  /** NAFBlock depth-wise branch width ratio (NAFNet `DW_Expand`). */
  dwExpansion: opt.posInt(2),
  /** NAFBlock feed-forward width ratio (NAFNet `FFN_Expand`). */
  expansion: opt.posInt(2),
  /**
   * PixelUnshuffle factor r of the input (FFDNet-style): the network runs on the r² sub-images at 1/r resolution
   * (r²·inChannels channels) and a PixelShuffle puts the output back; 1 = plain NAFNet.
   */
  unshuffle: opt.int({ min: 1, max: 4 }, 2),
};
export type CompactOptions = OptionsInput<typeof OPTIONS>;

/**
 * `compact`: restorekit's small default denoiser, a NAFNet (Chen et al., ECCV 2022) U-Net of `NAFBlock`s behind an
 * FFDNet-style PixelUnshuffle (Zhang et al., TIP 2018), so that every convolution runs at ≤ 1/r resolution:
 *
 *     x = PixelUnshuffle_r(pad(I));  intro 3×3 (r²·in → C)
 *     encoder level l: NAF blocks at C·2ˡ, then `downs.l` 2×2 stride-2 conv (C·2ˡ → C·2ˡ⁺¹)
 *     middle NAF blocks at C·2ᴸ
 *     decoder (deepest first): `ups.i` = 1×1 conv (no bias) + PixelShuffle(2), + skip (addition), NAF blocks
 *     ending 3×3 (C → r²·in), PixelShuffle_r, + I  (global residual), crop
 *
 * PyTorch keys are NAFNet's (`intro`, `encoders.l.k.*`, `downs.l`, `middle_blks.k.*`, `ups.i.0`, `decoders.i.k.*`,
 * `ending`), so with `unshuffle: 1` a state dict loads into the official `NAFNet(img_channel, width, middle_blk_num,
 * enc_blk_nums, dec_blk_nums)` and back. H and W are padded at the bottom/right to a multiple of `sizeMultiple`
 * (r·2ᴸ) — reflect where the image is large enough, zeros otherwise — and cropped back. NHWC in [0, 1].
 */
export class Compact extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>Compact';
  static override optionsSchema = OPTIONS;
  readonly intro: Conv2d;
  readonly encoders: (Sequential | null)[] = [];
  readonly downs: Conv2d[] = [];
  readonly middle: Sequential | null;
  /** Deepest first, as NAFNet's `ups` / `decoders`. */
  readonly ups: Sequential[] = [];
  readonly decoders: (Sequential | null)[] = [];
  readonly ending: Conv2d;

  constructor(opts: CompactOptions & BlockArgs = {}) {
    super(opts as never);
    const o = this.options;
    const levels = o.numBlocks.length;
    if (o.decoderBlocks.length !== levels)
      throw new ConfigError(
        `Compact: decoderBlocks has ${o.decoderBlocks.length} levels, numBlocks ${levels}; they must match (one decoder level per encoder level)`,
      );
    const width = (l: number) => o.channels * 2 ** l;
    const r2 = o.unshuffle * o.unshuffle;
    const stage = (key: string, n: number, c: number): Sequential | null =>
      n === 0
        ? null
        : this.addChild(
            key,
            new Sequential({
              layers: Array.from({ length: n }, () => ({ type: 'NAFBlock', channels: c, dwExpansion: o.dwExpansion, expansion: o.expansion })),
            }),
          );
    this.intro = this.addChild('intro', new Conv2d({ inChannels: r2 * o.inChannels, outChannels: width(0), kernelSize: 3, padding: 1 }));
    this.ending = this.addChild('ending', new Conv2d({ inChannels: width(0), outChannels: r2 * o.inChannels, kernelSize: 3, padding: 1 }));
    for (let l = 0; l < levels; l++) {
      this.encoders.push(stage(`encoders.${l}`, o.numBlocks[l]!, width(l)));
      this.downs.push(this.addChild(`downs.${l}`, new Conv2d({ inChannels: width(l), outChannels: width(l + 1), kernelSize: 2, stride: 2 })));
    }
    this.middle = stage('middle_blks', o.middleBlocks, width(levels));
    for (let i = 0; i < levels; i++) {
      const l = levels - 1 - i; // the level this decoder stage restores
      this.ups.push(
        this.addChild(
          `ups.${i}`,
          new Sequential({
            layers: [
              { type: 'Conv2d', inChannels: width(l + 1), outChannels: 2 * width(l + 1), kernelSize: 1, bias: false },
              { type: 'PixelShuffle', factor: 2 },
            ],
          }),
        ),
      );
      this.decoders.push(stage(`decoders.${i}`, o.decoderBlocks[l]!, width(l)));
    }
  }

  /** H and W are padded to a multiple of this: the unshuffle factor times 2 per level. */
  get sizeMultiple(): number {
    return this.options.unshuffle * 2 ** this.options.numBlocks.length;
  }

  override build(s: tfl.Shape): void {
    const o = this.options;
    const levels = o.numBlocks.length;
    const width = (l: number) => o.channels * 2 ** l;
    const at = (c: number): tfl.Shape => [s[0] ?? null, null, null, c];
    this.buildChild(this.intro, at(o.unshuffle * o.unshuffle * o.inChannels));
    this.buildChild(this.ending, at(width(0)));
    for (let l = 0; l < levels; l++) {
      const e = this.encoders[l];
      if (e) this.buildChild(e, at(width(l)));
      this.buildChild(this.downs[l]!, at(width(l)));
    }
    if (this.middle) this.buildChild(this.middle, at(width(levels)));
    for (let i = 0; i < levels; i++) {
      const l = levels - 1 - i;
      this.buildChild(this.ups[i]!, at(width(l + 1)));
      const d = this.decoders[i];
      if (d) this.buildChild(d, at(width(l)));
    }
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.inChannels];
  }

  forward(input: tf.Tensor, training: boolean): tf.Tensor {
    const o = this.options;
    const { run, eat } = consuming((l, t) => this.run(l, t, training));
    const [, h, w] = input.shape as [number, number, number, number];
    const m = this.sizeMultiple;
    const ph = (m - (h % m)) % m;
    const pw = (m - (w % m)) % m;
    const pads: [number, number][] = [
      [0, 0],
      [0, ph],
      [0, pw],
      [0, 0],
    ];
    // NAFNet pads with zeros (check_image_size); reflect avoids a dark border where the image allows it.
    const x = (ph || pw ? (ph < h && pw < w ? tf.mirrorPad(input, pads, 'reflect') : tf.pad(input, pads)) : tf.clone(input)) as tf.Tensor4D;
    const r = o.unshuffle;
    const sub = r > 1 ? pixelUnshuffle(x, r) : x;
    let y = run(this.intro, sub);
    if (sub !== x) sub.dispose();
    const skips: tf.Tensor[] = [];
    for (let l = 0; l < o.numBlocks.length; l++) {
      y = eat(this.encoders[l]!, y);
      skips.push(y);
      y = run(this.downs[l]!, y);
    }
    y = eat(this.middle, y);
    for (let i = 0; i < this.ups.length; i++) {
      const up = eat(this.ups[i]!, y);
      const skip = skips.pop()!;
      y = eat(this.decoders[i]!, free(tf.add(up, skip), up, skip));
    }
    let out = eat(this.ending, y);
    if (r > 1) out = free(pixelShuffle(out as tf.Tensor4D, r), out);
    const res = free(tf.add(out, x), out, x);
    return ph || pw ? free(cropTo(res as tf.Tensor4D, h, w), res) : res;
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return [s[0]!, s[1]!, s[2]!, this.options.inChannels];
  }
}
registerBlock(Compact);

const base = { inChannels: 3, channels: 24, numBlocks: [1, 1, 1], middleBlocks: 2, decoderBlocks: [1, 1, 1], dwExpansion: 2, expansion: 2, unshuffle: 2 };

/** Presets: `default` (the shipped blind colour denoiser, σ ∈ [0, 50]) and `tiny` for tests. */
export const compactPresets: Record<string, ModelPreset> = {
  default: {
    description:
      'Shipped blind colour Gaussian denoiser (σ ∈ [0, 50]): PixelUnshuffle 2, widths 24/48/96/192, one NAF block per encoder and decoder level at 1/2, 1/4, 1/8 resolution, two at 1/16',
    config: base,
    params: 908_292,
    pretrained: () => compactWeightsUrl(),
  },
  tiny: {
    description: 'Tiny compact net for tests (width 8, one NAF block per level and in the middle)',
    config: { ...base, channels: 8, numBlocks: [1, 1], middleBlocks: 1, decoderBlocks: [1, 1] },
    params: 21_204,
  },
};

/**
 * Where the `default` preset's trained weights are: `weights/compact-default.safetensors` in this package (see
 * weights/MODEL_CARD.md), as a URL next to this module — a file URL in Node, an asset URL under bundlers that follow
 * `new URL('…', import.meta.url)` (Vite, webpack 5), fetchable in browsers:
 * `await createModel('compact', { weights: compactWeightsUrl() })`, or simply `createModel('compact', { pretrained: true })`.
 */
export function compactWeightsUrl(): URL {
  if (import.meta.url) return new URL('../weights/compact-default.safetensors', import.meta.url);
  // The CommonJS build, where import.meta is empty: the same file relative to dist/.
  const dir = __dirname.replace(/\\/g, '/');
  return new URL(`file://${dir.startsWith('/') ? '' : '/'}${encodeURI(dir)}/../weights/compact-default.safetensors`);
}

registerModel({
  name: 'compact',
  paper:
    'restorekit compact denoiser: a NAFNet U-Net (Chen et al., Simple Baselines for Image Restoration, ECCV 2022) behind an FFDNet-style PixelUnshuffle (Zhang et al., TIP 2018)',
  citation: `@inproceedings{chen2022simple,
  title     = {Simple Baselines for Image Restoration},
  author    = {Chen, Liangyu and Chu, Xiaojie and Zhang, Xiangyu and Sun, Jian},
  booktitle = {ECCV},
  year      = {2022}
}
@article{zhang2018ffdnet,
  title   = {{FFDNet}: Toward a Fast and Flexible Solution for {CNN}-Based Image Denoising},
  author  = {Zhang, Kai and Zuo, Wangmeng and Zhang, Lei},
  journal = {IEEE Transactions on Image Processing},
  volume  = {27},
  number  = {9},
  pages   = {4608--4622},
  year    = {2018}
}`,
  inputRange: [0, 1],
  sizeMultiple: 16,
  defaultPreset: 'default',
  presets: compactPresets,
  create: (config) => new Compact(config as CompactOptions),
});

declare module './registry.js' {
  interface ModelClasses {
    compact: Compact;
  }
}
