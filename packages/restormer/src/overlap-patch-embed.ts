import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, Conv2d, ensurePositiveInt, registerBlock, type BlockArgs } from '@restorekit/core';

export interface OverlapPatchEmbedOptions {
  /** Input channels (3 for RGB, 1 grey, 6 dual-pixel). Default 3. */
  inChannels?: number;
  /** Embedding width. Default 48. */
  embedDim?: number;
  /** Conv bias. Default false. */
  bias?: boolean;
}

/** Restormer's `OverlapPatchEmbed`: a 3×3 conv (stride 1, padding 1) in → embedDim. PyTorch key `proj.weight`. */
export class OverlapPatchEmbed extends Block<OverlapPatchEmbedOptions & Record<string, unknown>> {
  static className = 'restorekit>OverlapPatchEmbed';
  readonly proj: Conv2d;

  constructor(opts: OverlapPatchEmbedOptions & BlockArgs = {}) {
    super(opts as never);
    const inChannels = ensurePositiveInt('OverlapPatchEmbed', 'inChannels', this.options.inChannels ?? 3);
    const embedDim = ensurePositiveInt('OverlapPatchEmbed', 'embedDim', this.options.embedDim ?? 48);
    this.proj = this.addChild('proj', new Conv2d({ inChannels, outChannels: embedDim, kernelSize: 3, padding: 1, bias: this.options.bias ?? false }));
  }

  override build(s: tfl.Shape): void {
    this.buildChild(this.proj, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.inChannels ?? 3];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    return this.run(this.proj, x, training);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return this.proj.computeOutputShape(s);
  }
}
registerBlock(OverlapPatchEmbed);
