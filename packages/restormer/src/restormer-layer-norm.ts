import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, ConfigError, LayerNorm2d, ensurePositiveInt, registerBlock, type BlockArgs, type LayerNormKind } from '@restorekit/core';

export interface RestormerLayerNormOptions {
  /** Number of channels normalised per pixel. */
  dim: number;
  /** 'WithBias' (deraining/deblurring) or 'BiasFree' (denoising; numerator not mean-centred). Default 'WithBias'. */
  layerNormType?: LayerNormKind;
}

/**
 * Restormer's `LayerNorm(dim, LayerNorm_type)`: a channel LayerNorm per pixel (biased variance,
 * eps 1e-5). The official module holds the norm as `body`, so its weights are `body.weight` (and
 * `body.bias` for WithBias).
 */
export class RestormerLayerNorm extends Block<RestormerLayerNormOptions & Record<string, unknown>> {
  static className = 'restorekit>RestormerLayerNorm';
  readonly body: LayerNorm2d;

  constructor(opts: RestormerLayerNormOptions & BlockArgs) {
    super(opts as never);
    const dim = ensurePositiveInt('RestormerLayerNorm', 'dim', this.options.dim);
    const kind = this.options.layerNormType ?? 'WithBias';
    if (kind !== 'WithBias' && kind !== 'BiasFree') throw new ConfigError(`RestormerLayerNorm: layerNormType must be 'WithBias' or 'BiasFree', got ${JSON.stringify(kind)}`);
    this.body = this.addChild('body', new LayerNorm2d({ channels: dim, kind }));
  }

  override build(s: tfl.Shape): void {
    this.buildChild(this.body, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.dim];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    return this.run(this.body, x, training);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(RestormerLayerNorm);
