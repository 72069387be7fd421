import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, fmtShape } from '../errors.js';
import { getSettings, prefers } from '../settings.js';
import type { DerivedWeights } from '../derived.js';
import { needTensor, spatialSum } from './basic.js';
import { transpose2d } from './matmul.js';
import { depthwiseFilterGradKernel, depthwiseKernel, productKernel, windowKernel, winogradFilterGradKernel, winogradKernel } from '../wasm/kernels.js';
import { headGrams, headGramsKernelRuns } from './gram.js';
import '../cpu/kernels.js'; // windowKernel's cpu form

/**
 * How convolution filter/input gradients are computed.
 * - 'auto': use the backend's backprop kernels where they exist and are fast, otherwise express them with forward
 *   ops (products of windows, depthwise convs, forward convs of the dilated gradient) that every backend has — on
 *   wasm the filter gradients (no kernel) and the input gradients (a scalar Conv2DBackpropInput, `transposedConvAsConv`).
 * - 'native' / 'forward': force one path (tests compare them).
 */
export type ConvGradientMode = 'auto' | 'native' | 'forward';
function native(kernel: string): boolean {
  const gradientMode = getSettings().convGradient;
  if (gradientMode === 'native') return true;
  if (gradientMode === 'forward') return false;
  if (kernel.endsWith('BackpropFilter') && prefers('filterGradFromForwardOps')) return false;
  return tf.getKernel(kernel, tf.getBackend()) != null;
}

type Pair = [number, number];
const pair = (v: number | readonly number[]): Pair => (typeof v === 'number' ? [v, v] : [v[0]!, v[1]!]);

/**
 * dL/dW of a valid conv from forward ops: one [Cin×N]·[N×Cout] matMul per kernel offset. x is transposed once to
 * [Cin, B, H, W] so that each offset's window is already the left operand, untransposed: tfjs-backend-wasm runs a
 * product with a transposed operand as a scalar loop (3.3 GFLOP/s against 25–38 this way for 3×3 and 1×1 convs of
 * 48–192 channels at 64²–128², its forward conv reaching 28–44; benchmarks/results/train.md has the whole backward).
 */
function conv2dFilterGradForward(x: tf.Tensor4D, dy: tf.Tensor4D, [kh, kw]: Pair, [sh, sw]: Pair): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, oh, ow, cout] = dy.shape;
    const cin = x.shape[3];
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && headGramsKernelRuns(x, cin, cout)) {
      // xᵀ·dy read as they are by restorekit's wasm kernel (core headGrams): no transpose of x or dy, and not XNNPACK's
      // product of a Cin×N by an N×Cout matrix (a third to half of its peak for these long sums)
      const n = b * oh * ow;
      return tf.reshape(headGrams(tf.reshape(x, [n, cin]) as tf.Tensor2D, tf.reshape(dy, [n, cout]) as tf.Tensor2D, 1), [1, 1, cin, cout]) as tf.Tensor4D;
    }
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && cout > cin) {
      // One product, and XNNPACK packs its right operand on every call (a fresh dy each step): pack the smaller one,
      // x [N, Cin] as it is, with dyᵀ on the left: dWᵀ = dyᵀ·x.
      const n = b * oh * ow;
      const dwt = tf.matMul(transpose2d(tf.reshape(dy, [n, cout]) as tf.Tensor2D), tf.reshape(x, [n, cin]) as tf.Tensor2D);
      return tf.reshape(tf.transpose(dwt), [1, 1, cin, cout]) as tf.Tensor4D;
    }
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1) {
      // Cout ≤ Cin: xᵀ·dy with dy [N, Cout] packed. x transposed as a 2-D matrix (core transpose2d), not to
      // [Cin, B, H, W] and sliced as below (for one tap that slice is a full copy: AnyIR's 128² training step spent
      // 30 ms in it)
      const n = b * oh * ow;
      return tf.reshape(tf.matMul(transpose2d(tf.reshape(x, [n, cin]) as tf.Tensor2D), tf.reshape(dy, [n, cout]) as tf.Tensor2D), [
        1,
        1,
        cin,
        cout,
      ]) as tf.Tensor4D;
    }
    const dy2 = tf.reshape(dy, [b * oh * ow, cout]);
    const xt = tf.transpose(x, [3, 0, 1, 2]);
    const taps: tf.Tensor2D[] = [];
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) {
        // restorekit's wasm kernel where it runs (tfjs-backend-wasm's Slice and StridedSlice are JavaScript copies: 0.8 s
        // of DRCNet's 5 s training step at 128²)
        const w =
          windowKernel(xt, [i, j], [sh, sw], [oh, ow]) ??
          (sh === 1 && sw === 1
            ? tf.slice(xt, [0, 0, i, j], [cin, b, oh, ow])
            : tf.stridedSlice(xt, [0, 0, i, j], [cin, b, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1], [1, 1, sh, sw]));
        taps.push(tf.matMul(tf.reshape(w, [cin, b * oh * ow]), dy2));
      }
    return tf.reshape(tf.stack(taps), [kh, kw, cin, cout]) as tf.Tensor4D;
  });
}

/**
 * dL/dW of a valid depthwise conv (filter [kh, kw, C, m]) as depthwise convs of x with dy as the filter (dilated by
 * the stride), one per batch item: dW[i, j, c, t] = Σ_{p,q} x[i + s·p, j + s·q, c]·dy[p, q, c·m + t]. On wasm 7–13×
 * faster than per-offset products and sums (a 3×3 over 144 channels at 128²: 34 ms against 365 ms).
 */
function depthwiseFilterGradForward(x: tf.Tensor4D, dy: tf.Tensor4D, [kh, kw]: Pair, m: number, [sh, sw]: Pair): tf.Tensor4D {
  return tf.tidy(() => {
    const b = dy.shape[0];
    const c = x.shape[3];
    let acc: tf.Tensor4D | null = null;
    for (let n = 0; n < b; n++) {
      const xi = b === 1 ? x : (tf.slice(x, [n, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D);
      const dyi = (b === 1 ? dy : tf.slice(dy, [n, 0, 0, 0], [1, -1, -1, -1])) as tf.Tensor4D;
      // libtensorflow's DepthwiseConv2dNative takes no dilations (only its oneDNN build, which TF turns on by default on
      // AVX-512 CPUs alone: "Current kernel implementation does not support dilations"): there dy gets the stride's
      // zeros instead (an undilated filter of the same taps; s² the multiply-adds, on that one path)
      const undilated = tf.getBackend() === 'tensorflow' && (sh > 1 || sw > 1);
      const fi = undilated ? dilate(dyi, [sh, sw]) : dyi;
      const f = tf.reshape(fi, [fi.shape[1], fi.shape[2], c, m]) as tf.Tensor4D;
      const r = undilated ? tf.depthwiseConv2d(xi, f, 1, 'valid') : tf.depthwiseConv2d(xi, f, 1, 'valid', 'NHWC', [sh, sw]);
      // tfjs-backend-wasm keeps an XNNPACK operator (its packed filter: ~20 MB for a 64² filter of 144 channels) per
      // filter tensor until that tensor is disposed: free each sample's filter now, not at the end of the tidy.
      f.dispose();
      acc = acc ? (tf.add(acc, r) as tf.Tensor4D) : r;
    }
    // The input may have rows/cols past the last window (a strided conv's remainder): the first kh × kw are the taps.
    const full = acc!.shape[1] === kh && acc!.shape[2] === kw ? acc! : tf.slice(acc!, [0, 0, 0, 0], [1, kh, kw, c * m]);
    return tf.reshape(full, [kh, kw, c, m]) as tf.Tensor4D;
  });
}

/**
 * dL/dW of a valid conv with input `x` and output gradient `dy`: the backend's Conv2DBackpropFilter kernel where it
 * has one (and the settings allow it), else products of shifted windows (`conv2dFilterGradForward`).
 */
function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: readonly number[], stride: Pair): tf.Tensor4D {
  if (native('Conv2DBackpropFilter'))
    return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: stride, pad: 'valid', dataFormat: 'NHWC', filterShape } as never) as tf.Tensor4D;
  return conv2dFilterGradForward(x, dy, [filterShape[0]!, filterShape[1]!], stride);
}

/**
 * Inserts (s-1) zeros between the rows/cols of dy (the spacing of a strided conv's transpose).
 * Rank-4 ops only: webgl cannot compile rank-6 pads.
 */
function dilate(dy: tf.Tensor4D, [sh, sw]: Pair): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [b, oh, ow, c] = dy.shape;
  let y: tf.Tensor4D = dy;
  if (sh > 1) {
    const r = tf.reshape(y, [b, oh, 1, ow * c]);
    y = tf.reshape(tf.concat([r, tf.zeros([b, oh, sh - 1, ow * c])], 2), [b, oh * sh, ow, c]);
  }
  if (sw > 1) {
    const h = y.shape[1];
    const r = tf.reshape(y, [b * h, ow, 1, c]);
    y = tf.reshape(tf.concat([r, tf.zeros([b * h, ow, sw - 1, c])], 2), [b, h, ow * sw, c]);
  }
  return tf.slice(y, [0, 0, 0, 0], [b, (oh - 1) * sh + 1, (ow - 1) * sw + 1, c]) as tf.Tensor4D;
}

/**
 * A filter [kh, kw, …] rotated by 180° (`tf.reverse(w, [0, 1])`) as its kh·kw taps in reverse order: tfjs-backend-wasm's
 * Reverse is a slow generic loop (71 ms for a 3×3×384×768 filter against 9 ms this way).
 */
function flipTaps(w: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, a, b] = w.shape;
  if (kh * kw === 1) return w;
  return tf.tidy(() => tf.reshape(tf.concat(tf.unstack(tf.reshape(w, [kh * kw, a * b])).reverse(), 0), [kh, kw, a, b]));
}

/**
 * A transposed conv whose kernel is a multiple of its stride (m·s) as one conv of g itself and a depth-to-space: output
 * row s·P + i takes the taps s·a + i of rows P − a (a < m), so each of the s² phases (i, j) is an m×m conv of g padded
 * by m − 1, and the phases are the output channels of one conv whose filter holds tap (s(m − 1 − a) + i,
 * s(m − 1 − b) + j) at (a, b). With m = 1 (DRCNet's 2×2 upsampling, a 2×2 stride-2 conv's input gradient) that conv is
 * a 1×1 one, a product. The dilated form's conv computes s² times the taps, all but one in s² on zeros (a 2×2
 * upsampling of 32² × 512 into 256 channels: 200 ms that way, ~30 ms this one; a 4×4 stride-2 conv's input gradient at
 * 32² × 256 in DRCNet's 128² training step: 64 → 16 ms). The depth-to-space is a rank-4 transpose (tfjs-backend-wasm's
 * DepthToSpace is a scalar loop, 20× slower). Rows/cols of `outShape` past the taps are zeros.
 */
function phasesAsConv(g: tf.Tensor4D, w: tf.Tensor4D, outShape: [number, number, number, number], [sh, sw]: Pair): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, wd] = g.shape;
    const [kh, kw, cout, cin] = w.shape;
    const [mh, mw] = [kh / sh, kw / sw];
    const taps = tf.unstack(tf.reshape(tf.transpose(w, [0, 1, 3, 2]), [kh * kw, cin, cout])) as tf.Tensor2D[];
    const sub: tf.Tensor[] = [];
    for (let a = 0; a < mh; a++)
      for (let c = 0; c < mw; c++) {
        const phases: tf.Tensor2D[] = [];
        for (let i = 0; i < sh; i++) for (let j = 0; j < sw; j++) phases.push(taps[(sh * (mh - 1 - a) + i) * kw + sw * (mw - 1 - c) + j]!);
        sub.push(tf.concat(phases, 1));
      }
    const filter = tf.reshape(tf.stack(sub), [mh, mw, cin, sh * sw * cout]) as tf.Tensor4D;
    const y = conv2dForward(g, filter, [1, 1], [mh - 1, mw - 1]); // [b, h + mh − 1, wd + mw − 1, (i, j, c)]
    const [ph, pw] = [h + mh - 1, wd + mw - 1];
    const full = tf.reshape(tf.transpose(tf.reshape(y, [b * ph, pw, sh, sw * cout]), [0, 2, 1, 3]), [b, ph * sh, pw * sw, cout]) as tf.Tensor4D;
    const [rh, rw] = [outShape[1] - ph * sh, outShape[2] - pw * sw];
    return rh || rw
      ? tf.pad(full, [
          [0, 0],
          [0, rh],
          [0, rw],
          [0, 0],
        ])
      : full;
  });
}

/**
 * `tf.conv2dTranspose(g, w, outShape, s, 'valid')` — a valid conv's input gradient, and ConvTranspose2d's forward — with
 * `w` [kh, kw, C_out, C_in] (a conv's HWIO filter, read backwards). Where core `prefers('transposedConvAsConv')` (wasm,
 * whose Conv2DBackpropInput is a scalar loop: 47 % of an official Restormer training step at 32²) or the settings ask
 * for forward ops (`convGradient: 'forward'`), it is a forward conv (XNNPACK) of the dilated g, padded by the kernel,
 * with the flipped filter, in and out swapped.
 */
function transposedConvValid(g: tf.Tensor4D, w: tf.Tensor4D, outShape: [number, number, number, number], s: Pair): tf.Tensor4D {
  const mode = getSettings().convGradient;
  if (mode === 'native' || (mode === 'auto' && !prefers('transposedConvAsConv'))) return tf.conv2dTranspose(g, w, outShape, s, 'valid');
  if (w.shape[0] % s[0] === 0 && w.shape[1] % s[1] === 0 && s[0] * s[1] > 1) return phasesAsConv(g, w, outShape, s);
  return tf.tidy(() => {
    const [kh, kw] = w.shape;
    const d = dilate(g, s);
    // rows/cols of the output past the last window (a strided conv's remainder) get nothing: extra padding at the end
    const rh = outShape[1] - (d.shape[1] + kh - 1);
    const rw = outShape[2] - (d.shape[2] + kw - 1);
    const wt = tf.transpose(flipTaps(w), [0, 1, 3, 2]) as tf.Tensor4D;
    const pads: Pads = [
      [0, 0],
      [kh - 1, kh - 1 + rh],
      [kw - 1, kw - 1 + rw],
      [0, 0],
    ];
    if (kh === 1 && kw === 1 && !rh && !rw) return pointwiseKernel(d, wt) ?? tf.conv2d(d, wt, 1, 'valid');
    return tf.conv2d(d, wt, 1, pads as never);
  });
}

/**
 * dL/dx of a valid depthwise conv as a depthwise conv of the (dilated) dy, padded by k − 1, with the flipped filter; on
 * backends taking `depthwiseTiles` a large kernel (7×7) runs as 5×5 tiles, as in the forward.
 */
function depthwiseInputGradForward(xShape: number[], dy: tf.Tensor4D, w: tf.Tensor4D, stride: Pair): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, c, m] = w.shape;
    const [b, hp, wp] = xShape as [number, number, number, number];
    const d = dilate(dy, stride);
    const rh = hp - (d.shape[1] + kh - 1);
    const rw = wp - (d.shape[2] + kw - 1);
    const flipped = tf.reshape(flipTaps(w), [kh, kw, c * m, 1]) as tf.Tensor4D;
    const sum = (out: tf.Tensor4D) => (m === 1 ? out : (tf.sum(tf.reshape(out, [b, hp, wp, c, m]), 4) as tf.Tensor4D));
    // dy padded by k − 1 (+ the remainder rows/cols) in the kernel, not as a padded copy
    const pads: Pads = [
      [0, 0],
      [kh - 1, kh - 1 + rh],
      [kw - 1, kw - 1 + rw],
      [0, 0],
    ];
    // restorekit's wasm kernel; else a large kernel as 5×5 tiles (see depthwiseInTiles) where that is faster
    const own = m === 1 ? depthwiseKernel(d, flipped, [kh - 1, kh - 1 + rh, kw - 1, kw - 1 + rw]) : null;
    if (own) return own;
    const tiled = !rh && !rw && prefers('depthwiseTiles') ? depthwiseInTiles(d, flipped, [1, 1], [kh - 1, kw - 1]) : null;
    return sum(tiled ?? tf.depthwiseConv2d(d, flipped, 1, pads as never));
  });
}

/**
 * Output rows per band for a valid conv whose im2col matrix would not fit one texture, or null if it fits.
 * webgl computes a k×k (or strided) conv2d as im2col + matMul, with the im2col matrix
 * [B, kh·kw·Cin, OH·OW] in ONE packed texture (4 values per texel); above maxTextureSize² texels it throws
 * "Requested texture size … greater than WebGL maximum" (DRCNet at 512²: a 3×3 conv over 128 channels needs
 * 8689² texels, SwiftShader allows 8192²). Bands are sized to half the limit.
 */
export function im2colBandRows(xShape: readonly number[], wShape: readonly number[], stride: number | Pair, maxTextureSize: number): number | null {
  const [sh, sw] = pair(stride);
  const [kh, kw, cin] = wShape as [number, number, number, number];
  if (kh === 1 && kw === 1 && sh === 1 && sw === 1) return null; // a plain matMul there, no im2col
  const [b, h, w] = xShape as [number, number, number, number];
  const oh = Math.floor((h - kh) / sh) + 1;
  const ow = Math.floor((w - kw) / sw) + 1;
  const rowTexels = b * Math.ceil((kh * kw * cin) / 2) * (ow / 2);
  const max = maxTextureSize * maxTextureSize;
  if (rowTexels * oh <= max) return null;
  return Math.max(1, Math.min(oh - 1, Math.floor(max / 2 / rowTexels)));
}

/** A valid conv2d computed in bands of `rows` output rows (each band reads its input rows plus the kernel's halo). */
export function conv2dInBands(x: tf.Tensor4D, w: tf.Tensor4D, stride: number | Pair, rows: number): tf.Tensor4D {
  const [sh, sw] = pair(stride);
  const [kh] = w.shape;
  const [b, h, wd, c] = x.shape;
  const oh = Math.floor((h - kh) / sh) + 1;
  return tf.tidy(() => {
    const parts: tf.Tensor4D[] = [];
    for (let r0 = 0; r0 < oh; r0 += rows) {
      const n = Math.min(rows, oh - r0);
      const band = tf.slice(x, [0, r0 * sh, 0, 0], [b, (n - 1) * sh + kh, wd, c]);
      parts.push(tf.conv2d(band, w, [sh, sw], 'valid'));
    }
    return parts.length === 1 ? parts[0]! : tf.concat(parts, 1);
  });
}

type Pads = [[number, number], [number, number], [number, number], [number, number]];
/** PyTorch's symmetric zero padding (rows, cols) as tfjs explicit padding, or 'valid' for none. */
const padArg = ([ph, pw]: Pair): 'valid' | Pads =>
  ph || pw
    ? [
        [0, 0],
        [ph, ph],
        [pw, pw],
        [0, 0],
      ]
    : 'valid';
const padInput = (x: tf.Tensor4D, [ph, pw]: Pair): tf.Tensor4D =>
  ph || pw
    ? tf.pad(x, [
        [0, 0],
        [ph, ph],
        [pw, pw],
        [0, 0],
      ])
    : x;
/** The rows/cols of a padded-space gradient that belong to the unpadded input. */
const crop = (dxp: tf.Tensor4D, [ph, pw]: Pair, shape: readonly number[]): tf.Tensor4D =>
  ph || pw ? tf.slice(dxp, [0, ph, pw, 0], shape as [number, number, number, number]) : dxp;

/**
 * tf.conv2d with the padding done by the kernel (no padded copy of the input: at 512² a Restormer decoder's
 * 3×3 convs would copy 300–540 MB tensors), in row bands on webgl where its im2col matrix would exceed the
 * maximum texture size (the bands then read a padded copy).
 */
function conv2dForward(x: tf.Tensor4D, w: tf.Tensor4D, s: Pair, p: Pair = [0, 0], bias?: tf.Tensor): tf.Tensor4D {
  // restorekit's wasm product kernel for 1×1 stride-1 convs, the bias added as it stores (AnyIR's forward 1.19× on wasm)
  const pointwise = s[0] === 1 && s[1] === 1 && !p[0] && !p[1] ? pointwiseKernel(x, w, bias as tf.Tensor1D | undefined) : null;
  if (pointwise) return pointwise;
  const withBias = (y: tf.Tensor4D | null) => (y && bias ? tf.tidy(() => tf.add(y, bias) as tf.Tensor4D) : y);
  // restorekit's wasm kernel for 3×3 stride-1 convs (Winograd F(2×2, 3×3): 1.6–2.2× XNNPACK's direct sum)
  const own = s[0] === 1 && s[1] === 1 ? winogradKernel(x, w, [p[0], p[0], p[1], p[1]]) : null;
  if (own) return withBias(own)!;
  if (tf.getBackend() === 'webgl') {
    const [b, h, wd, c] = x.shape;
    const rows = im2colBandRows([b, h + 2 * p[0], wd + 2 * p[1], c], w.shape, s, tf.env().getNumber('WEBGL_MAX_TEXTURE_SIZE'));
    if (rows !== null) return withBias(tf.tidy(() => conv2dInBands(padInput(x, p), w, s, rows)))!;
  }
  // the bias inside the conv kernel where the backend fuses it (XNNPACK on wasm, the webgl/webgpu shaders; cpu and
  // tfjs-node add it as a second op, as before)
  if (bias) return tf.fused.conv2d({ x, filter: w, strides: s, pad: padArg(p) as never, bias });
  return tf.conv2d(x, w, s, padArg(p) as never);
}

/**
 * A 1×1 stride-1 unpadded conv of x [B, H, W, C] with w [1, 1, C, D] (+ bias [D]) as restorekit's wasm product kernel
 * on x as a [B·H·W, C] matrix (`productKernel`); null where that kernel does not apply.
 */
function pointwiseKernel(x: tf.Tensor4D, w: tf.Tensor4D, bias?: tf.Tensor1D): tf.Tensor4D | null {
  const [b, h, wd, c] = x.shape;
  const [kh, kw, , d] = w.shape;
  if (kh !== 1 || kw !== 1) return null;
  const pixels = b * h * wd;
  const x2 = tf.reshape(x, [pixels, c]) as tf.Tensor2D;
  const w2 = tf.reshape(w, [c, d]) as tf.Tensor2D;
  const y = productKernel(x2, w2, bias);
  x2.dispose();
  w2.dispose();
  if (!y) return null;
  const y4 = tf.reshape(y, [b, h, wd, d]) as tf.Tensor4D;
  y.dispose();
  return y4;
}

/**
 * dL/dx [B, H, W, C] of a stride-1 3×3 conv with padding p as restorekit's wasm Winograd kernel: the conv of dy with the
 * flipped filter, in and out swapped, padded so that its output has x's shape (no padded dx to crop). Null where the
 * kernel does not apply (see `winogradKernel`: padding above 2 among others).
 */
function winogradInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: readonly number[], p: Pair): tf.Tensor4D | null {
  const [top, left] = [2 - p[0], 2 - p[1]];
  return winogradKernel(dy, w, [top, xShape[1]! - dy.shape[1] - top + 2, left, xShape[2]! - dy.shape[2] - left + 2], true);
}

/**
 * A bias's gradient, dy summed over batch, H and W: as the spatial sum (a global average pool) where the backend prefers
 * that (tfjs-backend-wasm reduces over non-innermost axes by transposing first: 0.66 ms for 128² × 32), else tf.sum.
 */
function biasGrad(dy: tf.Tensor4D): tf.Tensor {
  if (!prefers('poolForSpatialMean')) return tf.sum(dy, [0, 1, 2]);
  return tf.reshape(tf.sum(spatialSum(dy), 0), [dy.shape[3]]);
}

/**
 * conv2d with symmetric zero padding `p`, filter HWIO, with gradients on every backend. The forward pads in
 * the kernel; the backward works on a padded copy (gradients of a valid conv) and crops dL/dx back.
 */
function conv2dPadded(x: tf.Tensor4D, w: tf.Tensor4D, s: Pair, p: Pair, bias?: tf.Tensor): tf.Tensor4D {
  const f = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor | tf.GradSaveFunc, saveArg?: tf.GradSaveFunc) => {
    const x4 = xi as tf.Tensor4D;
    const w4 = wi as tf.Tensor4D;
    const b = bias ? (bi as tf.Tensor) : undefined;
    const save = (bias ? saveArg : bi) as tf.GradSaveFunc;
    save([x4, w4]);
    return {
      value: conv2dForward(x4, w4, s, p, b),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
          const g = dy as tf.Tensor4D;
          // restorekit's wasm Winograd kernels (null where they do not run) read x unpadded; the other forms take a
          // padded copy
          const winograd = s[0] === 1 && s[1] === 1 && ws.shape[0] === 3 && ws.shape[1] === 3 && getSettings().convGradient !== 'native';
          const dw = winograd ? winogradFilterGradKernel(xs, g, p) : null;
          const dx = winograd ? winogradInputGrad(g, ws, xs.shape, p) : null;
          const xp = dw ? null : padInput(xs, p);
          const xpShape = [xs.shape[0], xs.shape[1] + 2 * p[0], xs.shape[2] + 2 * p[1], xs.shape[3]] as [number, number, number, number];
          const grads = [dx ?? crop(transposedConvValid(g, ws, xpShape, s), p, xs.shape), dw ?? filterGrad(xp!, g, ws.shape, s)];
          return bias ? [...grads, biasGrad(g)] : grads;
        }),
    };
  }) as never);
  return (bias ? f(x, w, bias) : f(x, w)) as tf.Tensor4D;
}

/** Valid (unpadded) conv2d, filter HWIO, with gradients on every backend. */
export function conv2dValid(x: tf.Tensor4D, w: tf.Tensor4D, stride: number | Pair = 1): tf.Tensor4D {
  return conv2dPadded(x, w, pair(stride), [0, 0]);
}

/** The tile of a depthwise kernel that backends taking `depthwiseTiles` run fast (XNNPACK's 25-tap kernel). */
const DW_TILE = 5;

/**
 * Offsets of the DW_TILE-wide tiles covering k kernel taps: every DW_TILE, the last one moved back to end at k (its
 * taps already covered are zeroed), or null when one tile is enough.
 */
function tileOffsets(k: number): number[] {
  const offs: number[] = [];
  for (let o = 0; o < k; o += DW_TILE) offs.push(Math.min(o, Math.max(0, k - DW_TILE)));
  return offs;
}

/**
 * A stride-1 depthwise conv with symmetric padding `p` whose kernel XNNPACK has no fast path for (every size but 3×3
 * and 5×5 falls back to a generic loop on tfjs-backend-wasm: a 7×7 over 19 channels at 256² ran at 2.7 GFLOP/s, a
 * 5×5 at 9.7) as the sum of 5×5 depthwise convs, one per 5×5 tile of the kernel (taps covered by an earlier tile
 * zeroed in the later ones), each with its own padding so that it reads the same window. A 7×7: four 5×5 convs and
 * one AddN, 1.6× faster. Null where it does not apply (strided, a side of 3 or less, or a tile would need negative
 * padding). With `derived` (the calling block's cache) the masked tiles are kept between inference calls while w's data
 * is unchanged, instead of being sliced and masked from w on every call.
 */
export function depthwiseInTiles(x: tf.Tensor4D, w: tf.Tensor4D, s: Pair, p: Pair, derived?: DerivedWeights): tf.Tensor4D | null {
  const [kh, kw] = w.shape;
  if (s[0] !== 1 || s[1] !== 1 || kh <= 3 || kw <= 3 || (kh === DW_TILE && kw === DW_TILE)) return null;
  const rows = tileOffsets(kh);
  const cols = tileOffsets(kw);
  // tile (a, b) reads kernel rows a..a+T−1: padding top p − a, bottom p − kh + a + T (same output size); the
  // tiles that overhang the kernel get zero taps there, a later tile zeroes what an earlier one covers.
  for (const a of rows) if (p[0] - a < 0 || p[0] - kh + a + DW_TILE < 0) return null;
  for (const b of cols) if (p[1] - b < 0 || p[1] - kw + b + DW_TILE < 0) return null;
  const tiles = () => {
    const th = Math.max(kh, DW_TILE);
    const tw = Math.max(kw, DW_TILE);
    const wp =
      th > kh || tw > kw
        ? tf.pad(w, [
            [0, th - kh],
            [0, tw - kw],
            [0, 0],
            [0, 0],
          ])
        : w;
    const out: tf.Tensor[] = [];
    for (const [i, a] of rows.entries())
      for (const [j, b] of cols.entries()) {
        // rows [a, a+T) of which the first `skipR` were covered by the previous row tile (likewise columns)
        const skipR = i > 0 ? rows[i - 1]! + DW_TILE - a : 0;
        const skipC = j > 0 ? cols[j - 1]! + DW_TILE - b : 0;
        let tile = tf.slice(wp, [a, b, 0, 0], [DW_TILE, DW_TILE, -1, -1]);
        if (skipR > 0 || skipC > 0) {
          const mask = new Float32Array(DW_TILE * DW_TILE);
          for (let r = 0; r < DW_TILE; r++) for (let c = 0; c < DW_TILE; c++) mask[r * DW_TILE + c] = r < skipR || c < skipC ? 0 : 1;
          tile = tf.mul(tile, tf.tensor4d(mask, [DW_TILE, DW_TILE, 1, 1]));
        }
        out.push(tile);
      }
    // As one [n·T, T, C, m] tensor, so that one cache entry holds them all.
    return tf.concat(out, 0);
  };
  return tf.tidy(() => {
    const all = derived ? derived.get(`depthwise-tiles|${kh}x${kw}`, [w], tiles) : tiles();
    const parts: tf.Tensor[] = [];
    for (const [i, a] of rows.entries())
      for (const [j, b] of cols.entries()) {
        const tile = tf.slice(all, [(i * cols.length + j) * DW_TILE, 0, 0, 0], [DW_TILE, -1, -1, -1]);
        const pads: Pads = [
          [0, 0],
          [p[0] - a, p[0] - kh + a + DW_TILE],
          [p[1] - b, p[1] - kw + b + DW_TILE],
          [0, 0],
        ];
        parts.push(tf.depthwiseConv2d(x, tile as tf.Tensor4D, 1, pads as never));
      }
    return tf.addN(parts) as tf.Tensor4D;
  });
}

/**
 * Depthwise conv with symmetric zero padding `p` (padded in the kernel), filter [kh, kw, C, multiplier], with gradients on
 * every backend. On wasm with settings `wasmKernels` on, 3×3, 5×5 and 7×7 stride-1 multiplier-1 convs (forward, and the
 * input gradient's conv of dy) run as restorekit's own kernel (wasm/kernels.ts `depthwiseKernel`: 1.2–3.5× XNNPACK's
 * at 256², a 7×7 6× its 5×5 tiles), and the filter gradient of any stride-1 multiplier-1 one as another
 * (`depthwiseFilterGradKernel`, 13× the form from forward ops).
 */
function depthwiseConv2dPadded(x: tf.Tensor4D, w: tf.Tensor4D, s: Pair, p: Pair, derived?: DerivedWeights): tf.Tensor4D {
  const f = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, save: tf.GradSaveFunc) => {
    const x4 = xi as tf.Tensor4D;
    const w4 = wi as tf.Tensor4D;
    save([x4, w4]);
    const own = s[0] === 1 && s[1] === 1 ? depthwiseKernel(x4, w4, [p[0], p[0], p[1], p[1]]) : null;
    return {
      value: own ?? (prefers('depthwiseTiles') ? depthwiseInTiles(x4, w4, s, p, derived) : null) ?? tf.depthwiseConv2d(x4, w4, s, padArg(p) as never),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
          const g = dy as tf.Tensor4D;
          const [kh, kw, , m] = ws.shape;
          // restorekit's wasm kernel reads x unpadded; the other forms take a padded copy
          const own = s[0] === 1 && s[1] === 1 && m === 1 ? depthwiseFilterGradKernel(xs, g, [kh, kw], p) : null;
          const xp = own ? null : padInput(xs, p);
          const xpShape = [xs.shape[0], xs.shape[1] + 2 * p[0], xs.shape[2] + 2 * p[1], xs.shape[3]];
          const dw = (fromKernel: tf.Tensor4D | null, padded: tf.Tensor4D | null) =>
            fromKernel ??
            (native('DepthwiseConv2dNativeBackpropFilter')
              ? (tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: padded!, dy: g }, {
                  strides: s,
                  pad: 'valid',
                  dilations: [1, 1],
                  filterShape: ws.shape,
                } as never) as tf.Tensor4D)
              : depthwiseFilterGradForward(padded!, g, [kh, kw], m, s));
          const attrs = { strides: s, pad: 'valid', dilations: [1, 1] };
          // restorekit's wasm kernel: dx straight from dy and the flipped filter, padded so that it has x's shape (no
          // padded dx to crop)
          const top = kh - 1 - p[0];
          const left = kw - 1 - p[1];
          const dxOwn =
            own && top >= 0 && left >= 0
              ? depthwiseKernel(g, flipTaps(ws), [top, xs.shape[1] - g.shape[1] - top + kh - 1, left, xs.shape[2] - g.shape[2] - left + kw - 1])
              : null;
          if (dxOwn) return [dxOwn, dw(own, xp)];
          const dxp = native('DepthwiseConv2dNativeBackpropInput')
            ? (tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: g, filter: ws }, { ...attrs, inputShape: xpShape } as never) as tf.Tensor4D)
            : depthwiseInputGradForward(xpShape, g, ws, s);
          return [crop(dxp, p, xs.shape), dw(own, xp)];
        }),
    };
  }) as never);
  return f(x, w) as tf.Tensor4D;
}

/** Valid depthwise conv, filter [kh, kw, C, multiplier], with gradients on every backend. */
export function depthwiseConv2dValid(x: tf.Tensor4D, w: tf.Tensor4D, stride: number | Pair = 1): tf.Tensor4D {
  return depthwiseConv2dPadded(x, w, pair(stride), [0, 0]);
}

export interface Conv2dOpOptions {
  stride?: number | Pair;
  /** Symmetric zero padding per side, PyTorch's `padding` (rows, cols). */
  padding?: number | Pair;
  groups?: number;
  /**
   * The calling block's cache of tensors derived from `w` (its `DerivedWeights`): forms that rearrange the filter on
   * every call (the 5×5 tiles of a large depthwise kernel on wasm) keep the rearranged filter there between inference
   * calls. Optional: without it they are recomputed per call.
   */
  derived?: DerivedWeights;
  /**
   * A bias [Cout] added to the output (with its gradient): for dense convs (groups 1) inside the conv kernel where the
   * backend fuses it (tfjs's fused conv: XNNPACK on wasm, the webgl/webgpu shaders), instead of a second pass over the
   * output; other convs add it after.
   */
  bias?: tf.Tensor1D;
}

/**
 * PyTorch `F.conv2d` in NHWC: `w` is HWIO with I = Cin / groups (the layout `loadTorchStateDict`
 * produces from OIHW). groups = Cin is a depthwise conv (output channel c·m + j reads input c, as
 * in PyTorch); other groups split the channels.
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, opts: Conv2dOpOptions = {}): tf.Tensor4D {
  needTensor('conv2d', 'the input', x);
  needTensor('conv2d', 'the filter', w);
  const groups = opts.groups ?? 1;
  const [ph, pw] = pair(opts.padding ?? 0);
  const cin = x.shape[3];
  const [kh, kw, wi, cout] = w.shape;
  if (x.rank !== 4) throw new ShapeError(`conv2d: input must be rank 4 (NHWC), got shape ${fmtShape(x.shape)}`);
  if (!Number.isInteger(groups) || groups < 1 || cin % groups !== 0 || cout % groups !== 0)
    throw new ConfigError(`conv2d: groups=${groups} must divide input channels ${cin} and output channels ${cout}`);
  if (wi * groups !== cin)
    throw new ShapeError(`conv2d: input has ${cin} channels but the filter ${fmtShape(w.shape)} with groups=${groups} expects ${wi * groups}`);
  if (x.shape[1] + 2 * ph < kh || x.shape[2] + 2 * pw < kw)
    throw new ShapeError(
      `conv2d: padded input ${x.shape[1] + 2 * ph}×${x.shape[2] + 2 * pw} is smaller than the ${kh}×${kw} kernel (input ${fmtShape(x.shape)})`,
    );
  const s = pair(opts.stride ?? 1);
  const p: Pair = [ph, pw];
  const bias = opts.bias;
  if (bias !== undefined) {
    needTensor('conv2d', 'the bias', bias);
    if (bias.rank !== 1 || bias.shape[0] !== cout)
      throw new ShapeError(`conv2d: the bias must have shape [${cout}] (the output channels), got ${fmtShape(bias.shape)}`);
  }
  if (groups === 1) return conv2dPadded(x, w, s, p, bias);
  return tf.tidy(() => {
    let y: tf.Tensor4D;
    if (groups === cin) y = depthwiseConv2dPadded(x, tf.reshape(w, [kh, kw, cin, cout / cin]), s, p, opts.derived);
    else {
      const ws = tf.split(w, groups, 3);
      y = tf.concat(
        tf.split(x, groups, 3).map((xg, g) => conv2dPadded(xg as tf.Tensor4D, ws[g]! as tf.Tensor4D, s, p)),
        3,
      );
    }
    return bias ? (tf.add(y, bias) as tf.Tensor4D) : y;
  });
}

/** Valid transposed conv (output (h−1)·s + k), filter [kh, kw, out, in], with gradients on every backend. */
export function convTranspose2dValid(x: tf.Tensor4D, w: tf.Tensor4D, stride: number | Pair = 1): tf.Tensor4D {
  const s = pair(stride);
  const [kh, kw, cout] = w.shape;
  const outShape: [number, number, number, number] = [x.shape[0], (x.shape[1] - 1) * s[0] + kh, (x.shape[2] - 1) * s[1] + kw, cout];
  const f = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, save: tf.GradSaveFunc) => {
    const x4 = xi as tf.Tensor4D;
    const w4 = wi as tf.Tensor4D;
    save([x4, w4]);
    return {
      value: transposedConvValid(x4, w4, outShape, s),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const g = dy as tf.Tensor4D;
        // y = convT(x, w) is the input-gradient of a conv from y-space, so dx is that conv and
        // dw is that conv's filter gradient with the roles of input and output swapped.
        const dx = conv2dForward(g, ws, s);
        return [dx, filterGrad(g, xs, ws.shape, s)];
      },
    };
  }) as never);
  return f(x, w) as tf.Tensor4D;
}

/**
 * PyTorch `F.conv_transpose2d` (groups 1, no output_padding) in NHWC. `w` is [kh, kw, out, in]
 * (tfjs conv2dTranspose layout); PyTorch's `padding` crops that many rows/cols from each side.
 */
export function convTranspose2d(x: tf.Tensor4D, w: tf.Tensor4D, opts: { stride?: number | Pair; padding?: number | Pair } = {}): tf.Tensor4D {
  const [sh, sw] = pair(opts.stride ?? 1);
  const [ph, pw] = pair(opts.padding ?? 0);
  const [kh, kw, cout, cin] = w.shape;
  if (x.rank !== 4) throw new ShapeError(`convTranspose2d: input must be rank 4 (NHWC), got shape ${fmtShape(x.shape)}`);
  if (x.shape[3] !== cin) throw new ShapeError(`convTranspose2d: input has ${x.shape[3]} channels, filter ${fmtShape(w.shape)} expects ${cin}`);
  const oh = (x.shape[1] - 1) * sh + kh - 2 * ph;
  const ow = (x.shape[2] - 1) * sw + kw - 2 * pw;
  if (oh <= 0 || ow <= 0) throw new ShapeError(`convTranspose2d: output size ${oh}×${ow} is empty for input ${fmtShape(x.shape)}`);
  return tf.tidy(() => {
    const full = convTranspose2dValid(x, w, [sh, sw]);
    return ph || pw ? tf.slice(full, [0, ph, pw, 0], [x.shape[0], oh, ow, cout]) : full;
  });
}
