import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, fmtShape } from '../errors.js';

function need4(op: string, x: tf.Tensor): asserts x is tf.Tensor4D {
  if (x.rank !== 4) throw new ShapeError(`${op}: input must be rank 4 [B, H, W, C] (NHWC), got shape ${fmtShape(x.shape)}`);
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)) (PyTorch's default, not the tanh approximation). */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))))) as T;
}

/** NAFNet SimpleGate: split channels in halves and multiply. */
export function simpleGate(x: tf.Tensor4D): tf.Tensor4D {
  need4('simpleGate', x);
  if (x.shape[3] % 2) throw new ShapeError(`simpleGate: channel count must be even, got shape ${fmtShape(x.shape)}`);
  return tf.tidy(() => {
    const [a, b] = tf.split(x, 2, 3);
    return tf.mul(a!, b!);
  });
}

/** PyTorch PixelUnshuffle(r) in NHWC: output channel c·r² + r·i + j holds input channel c at offset (i, j). */
export function pixelUnshuffle(x: tf.Tensor4D, r = 2): tf.Tensor4D {
  need4('pixelUnshuffle', x);
  const [b, h, w, c] = x.shape;
  if (h % r || w % r) throw new ShapeError(`pixelUnshuffle: height and width must be multiples of ${r}, got shape ${fmtShape(x.shape)}`);
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(x, [b, h / r, r, w / r, r, c]), [0, 1, 3, 5, 2, 4]), [b, h / r, w / r, c * r * r]));
}

/** PyTorch PixelShuffle(r) in NHWC: input channel c·r² + r·i + j goes to output channel c, pixel (r·h + i, r·w + j). */
export function pixelShuffle(x: tf.Tensor4D, r = 2): tf.Tensor4D {
  need4('pixelShuffle', x);
  const [b, h, w, c] = x.shape;
  if (c % (r * r)) throw new ShapeError(`pixelShuffle: channels must be a multiple of ${r * r}, got shape ${fmtShape(x.shape)}`);
  const co = c / (r * r);
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(x, [b, h, w, co, r, r]), [0, 1, 4, 2, 5, 3]), [b, h * r, w * r, co]));
}

/**
 * SimAM energy attention (parameter-free): x · sigmoid((x−μ)² / (4·(Σ(x−μ)²/(n−1) + λ)) + 0.5)
 * with μ and the sum over H·W per sample and channel, n = H·W (as the official simam_module).
 */
export function simam(x: tf.Tensor4D, lambda = 1e-4): tf.Tensor4D {
  need4('simam', x);
  const n = x.shape[1] * x.shape[2] - 1;
  if (n < 1) throw new ShapeError(`simam: needs at least 2 pixels, got shape ${fmtShape(x.shape)}`);
  // Full-size intermediates are freed as soon as consumed (at most three of x's size live at once).
  const d = tf.tidy(() => tf.square(tf.sub(x, tf.mean(x, [1, 2], true))));
  const e = tf.tidy(() => tf.sigmoid(tf.add(tf.div(d, tf.mul(tf.add(tf.div(tf.sum(d, [1, 2], true), n), lambda), 4)), 0.5)));
  d.dispose();
  const y = tf.mul(x, e);
  e.dispose();
  return y as tf.Tensor4D;
}

/** Channel LayerNorm (Restormer): normalise over C per pixel, biased variance. BiasFree does not centre the numerator. */
export function channelLayerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const inv = tf.rsqrt(tf.add(variance, eps));
    const y = bias ? tf.mul(tf.sub(x, mean), inv) : tf.mul(x, inv);
    return bias ? tf.add(tf.mul(y, weight), bias) : tf.mul(y, weight);
  });
}

export type PadMode = 'reflect' | 'symmetric' | 'zeros';

export interface PaddedToMultiple {
  x: tf.Tensor4D;
  /** Original height and width, for `cropTo`. */
  height: number;
  width: number;
}

/**
 * Pads the bottom and right edges so H and W become multiples of `multiple` (reflect by
 * default, like the official Restormer test code). Use `cropTo` to undo.
 */
export function padToMultiple(x: tf.Tensor4D, multiple: number, mode: PadMode = 'reflect'): PaddedToMultiple {
  need4('padToMultiple', x);
  if (!Number.isInteger(multiple) || multiple < 1) throw new ConfigError(`padToMultiple: multiple must be a positive integer, got ${multiple}`);
  const [, h, w] = x.shape;
  const ph = (multiple - (h % multiple)) % multiple;
  const pw = (multiple - (w % multiple)) % multiple;
  if (mode === 'reflect' && (ph >= h || pw >= w))
    throw new ShapeError(`padToMultiple: reflect padding of ${ph}×${pw} needs an input larger than that, got shape ${fmtShape(x.shape)}`);
  if (ph === 0 && pw === 0) return { x: tf.clone(x), height: h, width: w };
  const y = mode === 'zeros' ? (tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]]) as tf.Tensor4D) : mirrorPad2d(x, [0, ph], [0, pw], mode);
  return { x: y, height: h, width: w };
}

/**
 * Mirror padding of H and W (NHWC), PyTorch `F.pad(..., mode='reflect')` (edge not repeated) or 'symmetric' (edge
 * repeated), with the right gradient. tfjs's `mirrorPad` computes the same values, but its gradient (tfjs-core 4.22
 * `MirrorPad_grad`) only slices the centre out of dy and drops what the mirrored borders received; built from slices,
 * reversals and concats, every pixel gets its full gradient. Each pad must be smaller than the side ('reflect') or at
 * most the side ('symmetric').
 */
export function mirrorPad2d(x: tf.Tensor4D, [top, bottom]: [number, number], [left, right]: [number, number], mode: 'reflect' | 'symmetric' = 'reflect'): tf.Tensor4D {
  need4('mirrorPad2d', x);
  const e = mode === 'reflect' ? 1 : 0;
  const [, h, w] = x.shape;
  if (Math.max(top, bottom) > h - e || Math.max(left, right) > w - e)
    throw new ShapeError(`mirrorPad2d: ${mode} padding of (${top}, ${bottom}) × (${left}, ${right}) does not fit shape ${fmtShape(x.shape)}`);
  if (top + bottom + left + right === 0) return tf.clone(x);
  return tf.tidy(() => {
    const mirrored = (t: tf.Tensor4D, axis: 1 | 2, start: number, n: number) => {
      const begin = [0, 0, 0, 0];
      const size = [...t.shape];
      begin[axis] = start;
      size[axis] = n;
      return tf.reverse(tf.slice(t, begin, size), axis);
    };
    const rowParts = [top ? mirrored(x, 1, e, top) : null, x, bottom ? mirrored(x, 1, h - e - bottom, bottom) : null].filter((t): t is tf.Tensor4D => t !== null);
    const rows = rowParts.length > 1 ? (tf.concat(rowParts, 1) as tf.Tensor4D) : x;
    const colParts = [left ? mirrored(rows, 2, e, left) : null, rows, right ? mirrored(rows, 2, w - e - right, right) : null].filter((t): t is tf.Tensor4D => t !== null);
    return (colParts.length > 1 ? tf.concat(colParts, 2) : tf.clone(rows)) as tf.Tensor4D;
  });
}

/** Crops the top-left H×W window (undoes `padToMultiple`). */
export function cropTo(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  need4('cropTo', x);
  if (height > x.shape[1] || width > x.shape[2]) throw new ShapeError(`cropTo: cannot crop ${height}×${width} from shape ${fmtShape(x.shape)}`);
  return tf.slice(x, [0, 0, 0, 0], [x.shape[0], height, width, x.shape[3]]);
}
