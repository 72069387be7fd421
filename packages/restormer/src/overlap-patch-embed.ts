import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, Conv2d, opt, registerBlock, type BlockArgs, type OptionsInput, type ResolvedOptions } from '@restorekit/core';

const OPTIONS = {
  /** Input channels (3 for RGB, 1 grey, 6 dual-pixel). Default 3. */
  inChannels: opt.posInt(3),
  /** Embedding width (the official `embed_dim`). Default 48. */
  outChannels: opt.posInt(48),
  /** Conv bias. Default false. */
  bias: opt.bool(false),
};
export type OverlapPatchEmbedOptions = OptionsInput<typeof OPTIONS>;

/** Restormer's `OverlapPatchEmbed`: a 3×3 conv (stride 1, padding 1) inChannels → outChannels. PyTorch key `proj.weight`. */
export class OverlapPatchEmbed extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>OverlapPatchEmbed';
  static override optionsSchema = OPTIONS;
  readonly proj: Conv2d;

  constructor(opts: OverlapPatchEmbedOptions & BlockArgs = {}) {
    super(opts as never);
    const { inChannels, outChannels, bias } = this.options;
    this.proj = this.addChild('proj', new Conv2d({ inChannels, outChannels, kernelSize: 3, padding: 1, bias }));
  }

  override build(s: tfl.Shape): void {
    this.buildChild(this.proj, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.inChannels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    return this.run(this.proj, x, training);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return this.proj.computeOutputShape(s);
  }
}
registerBlock(OverlapPatchEmbed);
