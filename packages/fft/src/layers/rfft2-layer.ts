import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { registerBlock, ShapeError, fmtShape, type BlockArgs, type OptionsInput, type ResolvedOptions } from '@restorekit/core';
import { rfft2 } from '../fft.js';
import { normOption } from '../validate.js';
import { FFTBlock } from './fft-user.js';

const OPTIONS = {
  /** torch.fft normalisation. Default 'backward' (PyTorch's). */
  norm: normOption('backward'),
};
export type RFFT2LayerOptions = OptionsInput<typeof OPTIONS>;

/**
 * rfft2 over H, W of NHWC [B, H, W, C] as a layer with two outputs [re, im], each [B, H, ⌊W/2⌋+1, C]. The
 * implementation (`path`) is chosen per backend ('auto'); it is not an option, so saved models load on any backend.
 */
export class RFFT2Layer extends FFTBlock<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>RFFT2Layer';
  static override optionsSchema = OPTIONS;
  constructor(opts: RFFT2LayerOptions & BlockArgs = {}) {
    super(opts as never);
  }
  forward(x: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    const t = Array.isArray(x) ? x[0]! : x;
    if (t.rank !== 4) throw new ShapeError(`RFFT2Layer '${this.name}': input must be NHWC [B, H, W, C], got ${fmtShape(t.shape)}`);
    const z = rfft2(t, { norm: this.options.norm });
    return [z.re, z.im];
  }
  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape[] {
    const shape = (Array.isArray(s[0]) ? s[0] : s) as tfl.Shape;
    if (shape.length !== 4) throw new ShapeError(`RFFT2Layer '${this.name}': input must be NHWC [B, H, W, C], got ${JSON.stringify(shape)}`);
    const w = shape[2] == null ? null : Math.floor(shape[2] / 2) + 1;
    const out = [shape[0]!, shape[1]!, w, shape[3]!] as tfl.Shape;
    return [out, [...out]];
  }
}
registerBlock(RFFT2Layer);
