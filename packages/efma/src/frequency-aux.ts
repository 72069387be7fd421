import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Conv2d, GELU, consume, free, opt, registerBlock, type BlockArgs, type OptionsInput, type ResolvedOptions, concatChannels } from '@restorekit/core';
import { FFTBlock, amplitude, fromPolar, irfft2, phase, rfft2, type Complex } from '@restorekit/fft';
import { firstShape, withChannels } from './common.js';

const OPTIONS = {
  /** Channels C of the frequency stream (at least 2: the guidance head halves them). */
  channels: opt.int({ min: 2 }),
};
export type FrequencyAuxOptions = OptionsInput<typeof OPTIONS>;

/**
 * 0/1 masks [1, h, ⌊w/2⌋+1, 1] of the rfft2 bins that are real by Hermitian symmetry (self-conjugate): (0, 0); (h/2, 0)
 * for even h; (0, w/2) for even w; (h/2, w/2) for both. Returned as [selfConjugate, others].
 */
function selfConjugateMasks(h: number, w: number): [tf.Tensor, tf.Tensor] {
  const bins = Math.floor(w / 2) + 1;
  const m = new Float32Array(h * bins);
  for (const r of h % 2 === 0 ? [0, h / 2] : [0]) for (const c of w % 2 === 0 ? [0, w / 2] : [0]) m[r * bins + c] = 1;
  const self = tf.tensor4d(m, [1, h, bins, 1]);
  return [self, tf.sub(1, self)];
}

/**
 * Amplitude and phase of a half spectrum as the FSDRNet reference reads them (RECONSTRUCTIONS.md, FSDRNet point 1):
 * the self-conjugate bins are exactly real, so their imaginary part is taken as exactly +0 and their phase is the
 * principal value of atan2(+0, Re): 0 for Re ≥ 0 and **+π** for Re < 0 (an FFT's ±1e-8 there would flip it to −π).
 * Elsewhere phase = atan2(Im, Re) ∈ (−π, π]. The phase at those bins is set explicitly (not left to atan2's handling
 * of a signed zero, which GPU shaders do not promise), and carries no gradient there, as in the reference.
 */
export function polarOfHalfSpectrum(z: Complex, size: readonly [number, number]): { amp: tf.Tensor; pha: tf.Tensor } {
  const [self, others] = selfConjugateMasks(size[0], size[1]);
  const im = tf.mul(z.im, others);
  const amp = amplitude({ re: z.re, im });
  const principal = phase({ re: z.re, im });
  // +π where a self-conjugate bin is negative: step(−Re) is 1 for Re < 0, else 0 (and has a zero gradient).
  const pha = tf.tidy(() => tf.add(tf.mul(principal, others), tf.mul(tf.mul(self, tf.step(tf.neg(z.re))), Math.PI)));
  tf.dispose([self, others, im, principal]);
  return { amp, pha };
}

/**
 * FSDRNet's frequency auxiliary module (the reference's `FrequencyAux`) [PAPER: "a frequency-domain auxiliary module
 * extracts global structural patterns via Fourier transforms and sends key information to the spatial module as
 * degradation guidance signals", one-way coupling, Fig. 1 guidance maps in [0, 1]; RECON: everything below, spec §3.4].
 * It reads only its own feature stream f [B, H, W, C] — never the spatial stream — and returns `[f′, G]`:
 * 1. Z = rfft2(f, 'ortho'); amplitude 𝒜 = |Z|, phase 𝒫 = atan2(Im, Re) (`polarOfHalfSpectrum`);
 * 2. 𝒜′ = amp_conv2(GELU(amp_conv1(𝒜))), 𝒫′ = pha_conv2(GELU(pha_conv1(𝒫))) (1×1 convs, bias);
 * 3. s = irfft2(𝒜′·(cos 𝒫′ + i·sin 𝒫′), size (H, W), 'ortho');
 * 4. f′ = f + fuse([f, s]) (1×1, 2C → C);
 * 5. G = sigmoid(guide_conv2(GELU(guide_conv1(f′)))) ∈ [0, 1]^{B×H×W×1} (3×3 convs C → ⌊C/2⌋ → 1).
 * Any H, W (odd widths included). Differentiable on every backend (@restorekit/fft's transforms are real matrix products).
 */
export class FrequencyAux extends FFTBlock<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>FrequencyAux';
  /** A per-level unit of FSDRNet: `setRecompute(model)` checkpoints it (see @restorekit/core's setRecompute). */
  static override recomputeUnit = true;
  static override optionsSchema = OPTIONS;
  readonly ampConv1: Conv2d;
  readonly ampConv2: Conv2d;
  readonly phaConv1: Conv2d;
  readonly phaConv2: Conv2d;
  readonly fuse: Conv2d;
  readonly guideConv1: Conv2d;
  readonly guideConv2: Conv2d;
  readonly act: GELU;

  constructor(opts: FrequencyAuxOptions & BlockArgs) {
    super(opts as never);
    const c = this.options.channels;
    const half = Math.floor(c / 2);
    const conv = (i: number, o: number, k: number) => new Conv2d({ inChannels: i, outChannels: o, kernelSize: k, padding: (k - 1) / 2 });
    this.ampConv1 = this.addChild('amp_conv1', conv(c, c, 1));
    this.ampConv2 = this.addChild('amp_conv2', conv(c, c, 1));
    this.phaConv1 = this.addChild('pha_conv1', conv(c, c, 1));
    this.phaConv2 = this.addChild('pha_conv2', conv(c, c, 1));
    this.fuse = this.addChild('fuse', conv(2 * c, c, 1));
    this.guideConv1 = this.addChild('guide_conv1', conv(c, half, 3));
    this.guideConv2 = this.addChild('guide_conv2', conv(half, 1, 3));
    this.act = this.addChild('act', new GELU());
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const c = this.options.channels;
    const s = withChannels(firstShape(inputShape), c);
    const spec: tfl.Shape = [s[0]!, s[1]!, s[2] == null ? null : Math.floor(s[2] / 2) + 1, c];
    for (const l of [this.ampConv1, this.ampConv2, this.phaConv1, this.phaConv2]) this.buildChild(l, spec);
    this.buildChild(this.fuse, withChannels(s, 2 * c));
    this.buildChild(this.guideConv1, s);
    this.buildChild(this.guideConv2, withChannels(s, Math.floor(c / 2)));
    this.buildChild(this.act, s);
    super.build(inputShape);
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(f: tf.Tensor, training: boolean): tf.Tensor[] {
    const run = (l: tfl.layers.Layer, t: tf.Tensor) => this.run(l, t, training);
    const stack = (a: Conv2d, b: Conv2d, t: tf.Tensor) =>
      consume(
        consume(run(a, t), (u) => run(this.act, u)),
        (u) => run(b, u),
      );
    const [h, w] = [f.shape[1]!, f.shape[2]!];
    const z = rfft2(f, { norm: 'ortho' });
    const { amp, pha } = polarOfHalfSpectrum(z, [h, w]);
    tf.dispose([z.re, z.im]);
    const amp2 = consume(amp, (t) => stack(this.ampConv1, this.ampConv2, t));
    const pha2 = consume(pha, (t) => stack(this.phaConv1, this.phaConv2, t));
    const zz = fromPolar(amp2, pha2);
    tf.dispose([amp2, pha2]);
    const s = irfft2(zz, { norm: 'ortho', size: [h, w] });
    tf.dispose([zz.re, zz.im]);
    const cat = free(concatChannels([f, s]), s);
    const fOut = consume(
      consume(cat, (t) => run(this.fuse, t)),
      (t) => tf.add(f, t),
    );
    const g = consume(stack(this.guideConv1, this.guideConv2, fOut), (t) => tf.sigmoid(t));
    return [fOut, g];
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape[] {
    const s = firstShape(inputShape);
    return [withChannels(s, this.options.channels), withChannels(s, 1)];
  }
}
registerBlock(FrequencyAux);
