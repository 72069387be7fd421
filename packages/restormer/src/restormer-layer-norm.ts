import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, LayerNorm2d, opt, registerBlock, type BlockArgs, type OptionsInput, type ResolvedOptions } from '@restorekit/core';

const OPTIONS = {
  /** Number of channels normalised per pixel. */
  channels: opt.posInt(),
  /** 'WithBias' (deraining/deblurring) or 'BiasFree' (denoising; numerator not mean-centred). Default 'WithBias'. */
  normKind: opt.enum(['WithBias', 'BiasFree'] as const, 'WithBias'),
};
export type RestormerLayerNormOptions = OptionsInput<typeof OPTIONS>;

/**
 * Restormer's `LayerNorm(dim, LayerNorm_type)`: a channel LayerNorm per pixel (biased variance,
 * eps 1e-5). The official module holds the norm as `body`, so its weights are `body.weight` (and
 * `body.bias` for WithBias).
 */
export class RestormerLayerNorm extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>RestormerLayerNorm';
  static override optionsSchema = OPTIONS;
  readonly body: LayerNorm2d;

  constructor(opts: RestormerLayerNormOptions & BlockArgs) {
    super(opts as never);
    this.body = this.addChild('body', new LayerNorm2d({ channels: this.options.channels, normKind: this.options.normKind }));
  }

  override build(s: tfl.Shape): void {
    this.buildChild(this.body, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    return this.run(this.body, x, training);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(RestormerLayerNorm);
