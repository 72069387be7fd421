import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, ensurePositiveInt, ShapeError, fmtShape, type BlockArgs } from '@restorekit/core';
import { rfft2, irfft2 } from '../fft.js';
import type { FFTNorm, FFTPath } from '../types.js';
import { checkNorm, checkPath } from '../validate.js';

export interface GlobalFilterOptions {
  channels: number;
  height: number;
  width: number;
  /** Default 'ortho' (as GFNet). */
  norm?: FFTNorm;
  path?: FFTPath;
}

/**
 * GFNet's global filter layer (Rao et al., NeurIPS 2021): y = irfft2(rfft2(x) ⊙ K, s = (H, W)) with a
 * learnable complex filter K per bin and channel. PyTorch key `complex_weight`, shape [H, ⌊W/2⌋+1, C, 2]
 * (last axis re/im), initialised N(0, 0.02²) like the official code. Fixed H, W.
 */
export class GlobalFilter extends Block<GlobalFilterOptions & Record<string, unknown>> {
  static className = 'restorekit>GlobalFilter';
  private weight: tfl.LayerVariable | null = null;
  constructor(opts: GlobalFilterOptions & BlockArgs) {
    super(opts as never);
    ensurePositiveInt('GlobalFilter', 'channels', this.options.channels);
    ensurePositiveInt('GlobalFilter', 'height', this.options.height);
    ensurePositiveInt('GlobalFilter', 'width', this.options.width);
    checkNorm('GlobalFilter', this.options.norm);
    checkPath('GlobalFilter', this.options.path);
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
    const { height: H, width: W, norm = 'ortho', path } = this.options;
    if (t.shape[1] !== H || t.shape[2] !== W) throw new ShapeError(`GlobalFilter '${this.name}': built for H×W = ${H}×${W}, got input ${fmtShape(t.shape)}`);
    const z = rfft2(t, { norm, path });
    const [kr, ki] = tf.unstack(this.weight!.read(), 3);
    const re = tf.sub(tf.mul(z.re, kr!), tf.mul(z.im, ki!));
    const im = tf.add(tf.mul(z.re, ki!), tf.mul(z.im, kr!));
    return irfft2({ re, im }, { norm, path, size: [H, W] });
  }
  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(s[0]) ? s[0] : s) as tfl.Shape;
  }
}
registerBlock(GlobalFilter);
