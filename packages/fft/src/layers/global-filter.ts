import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { registerBlock, opt, free, ShapeError, fmtShape, type BlockArgs, type OptionsInput, type ResolvedOptions } from '@restorekit/core';
import { rfft2, irfft2 } from '../fft.js';
import { complexMul } from '../polar.js';
import { normOption } from '../validate.js';
import { FFTBlock } from './fft-user.js';

const OPTIONS = {
  channels: opt.posInt(),
  /** Input height H (the filter has one value per bin: fixed H, W). */
  height: opt.posInt(),
  /** Input width W. */
  width: opt.posInt(),
  /** torch.fft normalisation. Default 'ortho' (as GFNet). */
  norm: normOption('ortho'),
};
export type GlobalFilterOptions = OptionsInput<typeof OPTIONS>;

/**
 * GFNet's global filter layer (Rao et al., NeurIPS 2021): y = irfft2(rfft2(x) ⊙ K, s = (H, W)) with a
 * learnable complex filter K per bin and channel. PyTorch key `complex_weight`, shape [H, ⌊W/2⌋+1, C, 2]
 * (last axis re/im), initialised N(0, 0.02²) like the official code. Fixed H, W.
 */
export class GlobalFilter extends FFTBlock<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>GlobalFilter';
  static override optionsSchema = OPTIONS;
  private weight: tfl.LayerVariable | null = null;
  constructor(opts: GlobalFilterOptions & BlockArgs) {
    super(opts as never);
  }
  protected override expectedChannels(): (number | undefined)[] {
    return [this.options.channels];
  }
  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const { height: H, width: W, channels: C } = this.options;
    this.weight = this.addTorchWeight('complex_weight', [H, Math.floor(W / 2) + 1, C, 2], tfl.initializers.randomNormal({ mean: 0, stddev: 0.02 }));
    super.build(inputShape);
  }
  forward(x: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const t = (Array.isArray(x) ? x[0]! : x) as tf.Tensor4D;
    const { height: H, width: W, norm } = this.options;
    if (t.shape[1] !== H || t.shape[2] !== W) throw new ShapeError(`GlobalFilter '${this.name}': built for H×W = ${H}×${W}, got input ${fmtShape(t.shape)}`);
    const z = rfft2(t, { norm });
    const [kr, ki] = tf.unstack(this.weight!.read(), 3) as [tf.Tensor, tf.Tensor];
    const y = complexMul(z, { re: kr, im: ki });
    tf.dispose([z.re, z.im, kr, ki]);
    return free(irfft2(y, { norm, size: [H, W] }), y.re, y.im);
  }
  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(s[0]) ? s[0] : s) as tfl.Shape;
  }
}
registerBlock(GlobalFilter);
