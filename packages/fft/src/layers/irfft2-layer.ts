import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, ConfigError, ShapeError, fmtShape, type BlockArgs } from '@restorekit/core';
import { irfft2 } from '../fft.js';
import type { FFTNorm, FFTPath } from '../types.js';
import { checkNorm, checkPath } from '../validate.js';

export interface IRFFT2LayerOptions {
  norm?: FFTNorm;
  path?: FFTPath;
  /** Output width W (⌊W/2⌋+1 must equal the bin count); default 2·(bins − 1), PyTorch's default. Set it for odd W. */
  width?: number;
}

/** irfft2 as a layer: inputs [re, im] (NHWC half spectra [B, H, ⌊W/2⌋+1, C]) → real [B, H, W, C]. */
export class IRFFT2Layer extends Block<IRFFT2LayerOptions & Record<string, unknown>> {
  static className = 'restorekit>IRFFT2Layer';
  constructor(opts: IRFFT2LayerOptions & BlockArgs = {}) {
    super(opts as never);
    checkNorm('IRFFT2Layer', this.options.norm);
    checkPath('IRFFT2Layer', this.options.path);
    const w = this.options.width;
    if (w !== undefined && (typeof w !== 'number' || !Number.isInteger(w) || w < 1)) throw new ConfigError(`IRFFT2Layer: option 'width' must be a positive integer, got ${JSON.stringify(w)}`);
  }
  private widthFor(bins: number): number {
    return this.options.width ?? 2 * (bins - 1);
  }
  forward(x: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(x) || x.length !== 2) throw new ShapeError(`IRFFT2Layer '${this.name}': expects two inputs [re, im]`);
    const [re, im] = x as [tf.Tensor, tf.Tensor];
    if (re.rank !== 4) throw new ShapeError(`IRFFT2Layer '${this.name}': inputs must be NHWC [B, H, bins, C], got ${fmtShape(re.shape)}`);
    return irfft2({ re, im }, { norm: this.options.norm, path: this.options.path, size: [re.shape[1]!, this.widthFor(re.shape[2]!)] });
  }
  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
    if (!Array.isArray(s[0]) || s.length !== 2) throw new ShapeError(`IRFFT2Layer '${this.name}': expects two inputs [re, im], got ${JSON.stringify(s)}`);
    const shape = s[0] as tfl.Shape;
    const w = shape[2] == null ? (this.options.width ?? null) : this.widthFor(shape[2]);
    return [shape[0]!, shape[1]!, w, shape[3]!];
  }
}
registerBlock(IRFFT2Layer);
