import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { registerBlock, opt, ShapeError, fmtShape, type BlockArgs, type OptionsInput, type ResolvedOptions } from '@restorekit/core';
import { irfft2 } from '../fft.js';
import { normOption } from '../validate.js';
import { FFTBlock } from './fft-user.js';

const OPTIONS = {
  /** torch.fft normalisation. Default 'backward' (PyTorch's). */
  norm: normOption('backward'),
  /** Output width W (⌊W/2⌋+1 must equal the bin count); unset: 2·(bins − 1), PyTorch's default. Set it for odd W. */
  width: opt.optional(opt.posInt()),
};
export type IRFFT2LayerOptions = OptionsInput<typeof OPTIONS>;

/** irfft2 as a layer: inputs [re, im] (NHWC half spectra [B, H, ⌊W/2⌋+1, C]) → real [B, H, W, C]. The path is chosen per backend. */
export class IRFFT2Layer extends FFTBlock<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>IRFFT2Layer';
  static override optionsSchema = OPTIONS;
  constructor(opts: IRFFT2LayerOptions & BlockArgs = {}) {
    super(opts as never);
  }
  private widthFor(bins: number): number {
    return this.options.width ?? 2 * (bins - 1);
  }
  forward(x: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(x) || x.length !== 2) throw new ShapeError(`IRFFT2Layer '${this.name}': expects two inputs [re, im]`);
    const [re, im] = x as [tf.Tensor, tf.Tensor];
    if (re.rank !== 4) throw new ShapeError(`IRFFT2Layer '${this.name}': inputs must be NHWC [B, H, bins, C], got ${fmtShape(re.shape)}`);
    return irfft2({ re, im }, { norm: this.options.norm, size: [re.shape[1]!, this.widthFor(re.shape[2]!)] });
  }
  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
    if (!Array.isArray(s[0]) || s.length !== 2) throw new ShapeError(`IRFFT2Layer '${this.name}': expects two inputs [re, im], got ${JSON.stringify(s)}`);
    const shape = s[0] as tfl.Shape;
    const w = shape[2] == null ? (this.options.width ?? null) : this.widthFor(shape[2]);
    return [shape[0]!, shape[1]!, w, shape[3]!];
  }
}
registerBlock(IRFFT2Layer);
