import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Conv2d,
  DerivedWeights,
  LayerNorm2d,
  SimpleGate,
  channelLayerNorm,
  conv2d,
  free,
  opt,
  registerBlock,
  simpleGate,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
  concatChannels,
  splitChannels,
} from '@restorekit/core';
import { FFTBlock, irfft2, rfft2 } from '@restorekit/fft';
import { LCD_LN_EPS, withChannels } from './common.js';

const OPTIONS = {
  channels: opt.posInt(),
  /** Bias on the 2C → 4C spectral 1×1 conv. Default true. */
  bias: opt.bool(true),
  /** LayerNorm of the 4C spectral features. Default 'WithBias' (eps 1e-6). */
  normKind: opt.enum(['WithBias', 'BiasFree'] as const, 'WithBias'),
  /** torch.fft norm of rfft2 / irfft2. Default 'ortho' [RECON]. */
  fftNorm: opt.enum(['ortho', 'backward', 'forward'] as const, 'ortho'),
};
export type FourierUnitOptions = OptionsInput<typeof OPTIONS>;

/**
 * LCDNet's Fourier unit (global branch of MSSFBlock; [RECON] from the author's FDTANet `FourierUnit`):
 * Z = rfft2(g) ('ortho') → `[B, h, ⌊w/2⌋+1, C]` complex; real and imaginary parts interleaved as channels
 * (2k = Re of channel k, 2k+1 = Im) → Conv1×1(2C → 4C) → LayerNorm2d(4C) → SimpleGate → 2C → de-interleaved the
 * same way → irfft2 to (h, w). Returns FU(g) only (the global branch adds g). PyTorch keys `conv`, `norm`.
 * Any h, w (odd widths included: the inverse takes the output size). Differentiable on every backend
 * (@restorekit/fft's transforms are real matrix products with gradients).
 */
export class FourierUnit extends FFTBlock<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>FourierUnit';
  static override optionsSchema = OPTIONS;
  readonly conv: Conv2d;
  readonly norm: LayerNorm2d;
  readonly sg: SimpleGate;
  /** The permuted weights of the planar path, kept between inference calls. */
  private readonly derived = new DerivedWeights();

  constructor(opts: FourierUnitOptions & BlockArgs) {
    super(opts as never);
    const c = this.options.channels;
    this.conv = this.addChild('conv', new Conv2d({ inChannels: 2 * c, outChannels: 4 * c, kernelSize: 1, bias: this.options.bias }));
    this.norm = this.addChild('norm', new LayerNorm2d({ channels: 4 * c, normKind: this.options.normKind, eps: LCD_LN_EPS }));
    this.sg = this.addChild('sg', new SimpleGate());
  }

  override build(s: tfl.Shape): void {
    const c = this.options.channels;
    const spec: tfl.Shape = [s[0]!, s[1]!, s[2] == null ? null : Math.floor(s[2] / 2) + 1, 2 * c];
    this.buildChild(this.conv, spec);
    this.buildChild(this.norm, withChannels(spec, 4 * c));
    this.buildChild(this.sg, withChannels(spec, 4 * c));
    super.build(s); // FFTBlock: a user of the DFT-basis cache until disposed
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const c = this.options.channels;
    const [b, h, w] = x.shape as [number, number, number, number];
    const norm = this.options.fftNorm;
    const z = rfft2(x, { norm });
    const bins = z.re.shape[2]!;
    // The official unit interleaves Re and Im as channels (2k = Re_k, 2k+1 = Im_k) on the way in and out. Either the
    // spectrum is interleaved (a strided copy in, a strided split out) or it stays [Re | Im] and the weights are
    // permuted to match: the conv's input rows and output columns and the LayerNorm's weight and bias, so that
    // SimpleGate's output is [Re | Im] too (LayerNorm's statistics do not depend on channel order). Same numbers;
    // the smaller of the two is moved: the spectrum at LCDNet's first levels (on wasm the interleave and its split
    // took 140 ms of LCDNet's 650 ms at 128²), the 2C × 4C weights at its deepest — but only in training, where the
    // weights change every step: for inference the permuted weights are kept between calls, so the spectrum is never
    // interleaved (at LCDNet's 32 × 17 bins × 512 channels the interleave and its split took 39 ms). The choice follows
    // `training`, not the gradient tape, so that a recompute re-run takes the path its forward took (same rounding).
    if (!training || b * h * bins * 2 * c >= 8 * c * c) {
      const stacked = free(concatChannels([z.re, z.im]), z.re, z.im);
      const ln = this.norm;
      const d = this.derived;
      const y = tf.tidy(() => {
        // Weight [1, 1, 2C, 4C]: rows (k, t) → (t, k); columns (g, k, t) → (g, t, k) in each gate half g. Cached
        // between inference calls, recomputed in every training step: [c, 2, 2, c, 2] permuted by [1, 0, 2, 4, 3] as two
        // rank-3 transposes (tfjs-backend-wasm's rank-5 transpose is a JavaScript loop: 7.6 vs 0.4 ms for c = 128).
        const k = this.conv.kernel.read();
        const kernel = d.get('kernel', [k], () => {
          const rows = tf.transpose(tf.reshape(k, [c, 2, 4 * c]), [1, 0, 2]); // input (c, part) → (part, c)
          return tf.reshape(tf.transpose(tf.reshape(rows, [4 * c, c, 2]), [0, 2, 1]), [1, 1, 2 * c, 4 * c]); // output (c, part) → (part, c)
        });
        const cols = (key: string, v: tf.Tensor) => d.get(key, [v], () => tf.reshape(tf.transpose(tf.reshape(v, [2, c, 2]), [0, 2, 1]), [4 * c]));
        let t: tf.Tensor = conv2d(stacked as tf.Tensor4D, kernel as tf.Tensor4D);
        if (this.conv.biasVar) t = tf.add(t, cols('bias', this.conv.biasVar.read()));
        t = channelLayerNorm(t, cols('gamma', ln.gamma.read()), ln.beta ? cols('beta', ln.beta.read()) : null, ln.options.eps);
        return simpleGate(t as tf.Tensor4D);
      });
      stacked.dispose();
      const [re, im] = splitChannels(y, 2) as [tf.Tensor, tf.Tensor];
      y.dispose();
      return irfft2({ re, im }, { norm, size: [h, w] });
    }
    const n = b * h * bins;
    const pair = tf.concat([tf.reshape(z.re, [n, c, 1]), tf.reshape(z.im, [n, c, 1])], 2);
    free(pair, z.re, z.im);
    const stacked = tf.reshape(pair, [b, h, bins, 2 * c]);
    let y = this.run(this.conv, stacked, training);
    y = free(this.run(this.norm, y, training), y);
    y = free(this.run(this.sg, y, training), y);
    const [re, im] = splitChannels(tf.reshape(y, [n, c, 2]), 2) as [tf.Tensor, tf.Tensor];
    return irfft2({ re: tf.reshape(re, [b, h, bins, c]), im: tf.reshape(im, [b, h, bins, c]) }, { norm, size: [h, w] });
  }

  protected override releaseResources(): void {
    super.releaseResources();
    this.derived.dispose();
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(FourierUnit);
