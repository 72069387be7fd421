import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, fmtShape } from '@restorekit/core';
import { amplitude, fft2, fftshift, type FFTNorm } from '@restorekit/fft';
import { Loss, noWeight, registerLoss, type LossInputs, type LossOptions } from './loss.js';
import { checkFloat, checkNumber, checkPair, checkReduction, type Reduction } from './reduction.js';
import { checkNorm } from './fft-loss.js';

/**
 * Which "high-frequency" mask FSDerain's spectra get:
 * - 'official-unshifted': what new-dual.py trains with — the mask is applied to the UNSHIFTED spectrum,
 *   so it removes a disk around the Nyquist bin (H//2, W//2) and keeps DC and the low frequencies;
 * - 'shifted': the intended high-pass (vis.py) — the spectrum is fftshift-ed first, so the disk around DC
 *   is removed; the result stays in the shifted (centred) layout, as vis.py shows it;
 * - 'none': no mask (the amplitude L1 term of the objective uses the full spectrum).
 */
export type FSDerainMaskMode = 'official-unshifted' | 'shifted' | 'none';

function checkMode(where: string, m: unknown, def: FSDerainMaskMode): FSDerainMaskMode {
  if (m === undefined) return def;
  if (m !== 'official-unshifted' && m !== 'shifted' && m !== 'none')
    throw new ConfigError(`${where}: mask must be 'official-unshifted', 'shifted' or 'none', got ${JSON.stringify(m)}`);
  return m;
}

/**
 * FSDerain's `extract_high_freq_component` mask [H, W] (1 = kept): dist((y, x), (H//2, W//2)) > radius·H,
 * strict, radius in units of H only (also for W ≠ H), distances rounded to float32 as torch computes them.
 */
export function fsderainHighFrequencyMask(h: number, w: number, radius = 0.1): tf.Tensor2D {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1)
    throw new ShapeError(`fsderainHighFrequencyMask: size must be positive integers, got ${h}×${w}`);
  checkNumber('fsderainHighFrequencyMask', 'radius', radius, 0.1, { min: 0 });
  const cy = Math.floor(h / 2);
  const cx = Math.floor(w / 2);
  const data = new Float32Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = Math.fround(Math.sqrt((x - cx) ** 2 + (y - cy) ** 2)) > radius * h ? 1 : 0;
  return tf.tensor2d(data, [h, w]);
}

/** |fft2(x, norm)| of an NHWC image over H, W (FSDerain: norm 'ortho', no log). */
export function fftAmplitude(x: tf.Tensor, opts: { norm?: FFTNorm } = {}): tf.Tensor4D {
  checkFloat('fftAmplitude', 'input', x);
  if (x.rank !== 4) throw new ShapeError(`fftAmplitude: input must be rank 4 [B, H, W, C], got ${fmtShape(x.shape)}`);
  const norm = checkNorm('fftAmplitude', opts.norm, 'ortho');
  return tf.tidy(() => amplitude(fft2(x, { norm })) as tf.Tensor4D);
}

/** FSDerain's "high-frequency" component of an amplitude spectrum [B, H, W, C] under the chosen mask mode. */
export function extractHighFrequency(amp: tf.Tensor, opts: { mask?: FSDerainMaskMode; radius?: number } = {}): tf.Tensor4D {
  const mode = checkMode('extractHighFrequency', opts.mask, 'official-unshifted');
  checkFloat('extractHighFrequency', 'amplitude', amp);
  if (amp.rank !== 4) throw new ShapeError(`extractHighFrequency: amplitude must be rank 4 [B, H, W, C], got ${fmtShape(amp.shape)}`);
  if (mode === 'none') return tf.clone(amp) as tf.Tensor4D;
  return tf.tidy(() => {
    const m = tf.reshape(fsderainHighFrequencyMask(amp.shape[1]!, amp.shape[2]!, opts.radius ?? 0.1), [1, amp.shape[1]!, amp.shape[2]!, 1]);
    const a = mode === 'shifted' ? fftshift(amp, { axes: [1, 2] }) : amp;
    return tf.mul(a, m) as tf.Tensor4D;
  });
}

export interface FSDerainAmplitudeOptions {
  /** Mask of both spectra before the L1 (default 'none': the objective's AmpL1 uses the full spectrum). */
  mask?: FSDerainMaskMode;
  radius?: number;
  /** Default 'ortho'. */
  norm?: FFTNorm;
  reduction?: Reduction;
}

/**
 * FSDerain's amplitude L1: mean | M(|fft2(pred, ortho)|) − M(|fft2(target, ortho)|) | over B·H·W·C
 * (masked bins count as zeros). Differentiable (amplitude gradient z/|z|, 0 at z = 0).
 */
export function fsderainAmplitudeLoss(pred: tf.Tensor, target: tf.Tensor, opts: FSDerainAmplitudeOptions = {}): tf.Tensor {
  const where = 'fsderainAmplitudeLoss';
  const mode = checkMode(where, opts.mask, 'none');
  const reduction = checkReduction(where, opts.reduction);
  checkPair(where, pred, target);
  return tf.tidy(() => {
    const f = (x: tf.Tensor) => extractHighFrequency(fftAmplitude(x, { norm: opts.norm }), { mask: mode, radius: opts.radius });
    const d = tf.abs(tf.sub(f(pred), f(target)));
    if (reduction === 'none') return d;
    return reduction === 'sum' ? tf.sum(d) : tf.mean(d);
  });
}

/** Registered FSDerain amplitude loss: `{ type: 'FSDerainAmplitudeLoss', mask: 'none' | 'official-unshifted' | 'shifted' }`. */
export class FSDerainAmplitudeLoss extends Loss<LossOptions & Omit<FSDerainAmplitudeOptions, 'reduction'>> {
  static readonly type = 'FSDerainAmplitudeLoss';
  constructor(options: LossOptions & Omit<FSDerainAmplitudeOptions, 'reduction'> = {}) {
    super(FSDerainAmplitudeLoss.type, options);
    checkMode(this.type, options.mask, 'none');
    checkNorm(this.type, options.norm, 'ortho');
    checkNumber(this.type, 'radius', options.radius, 0.1, { min: 0 });
  }
  protected compute(pred: tf.Tensor, target: tf.Tensor, inputs: LossInputs): tf.Tensor {
    noWeight(this.type, inputs);
    const { lossWeight: _w, reduction: _r, ...o } = this.options;
    return fsderainAmplitudeLoss(pred, target, { ...o, reduction: this.reduction });
  }
}
registerLoss(FSDerainAmplitudeLoss.type, (o) => new FSDerainAmplitudeLoss(o));
