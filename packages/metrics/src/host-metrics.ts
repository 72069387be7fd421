import type { HostImage } from './image-array.js';

/** BasicSR `calculate_psnr` on prepared [0, 255] images: 10·log10(255² / MSE), +Infinity when equal. */
export function psnrHost(a: HostImage, b: HostImage): number {
  let s = 0;
  const n = a.data.length;
  for (let i = 0; i < n; i++) {
    const d = a.data[i]! - b.data[i]!;
    s += d * d;
  }
  const mse = s / n;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** OpenCV `getGaussianKernel(n, sigma)` for sigma > 0 (float64, normalised to sum 1). */
export function gaussianKernel1d(n: number, sigma: number): Float64Array {
  const k = new Float64Array(n);
  const scale2X = -0.5 / (sigma * sigma);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = i - (n - 1) * 0.5;
    k[i] = Math.exp(scale2X * x * x);
    sum += k[i]!;
  }
  sum = 1 / sum;
  for (let i = 0; i < n; i++) k[i]! *= sum;
  return k;
}

/** Valid separable correlation of one channel (plane h×w) with k⊗k: (h−n+1)×(w−n+1). */
function filterValid(plane: Float64Array, h: number, w: number, k: Float64Array): Float64Array {
  const n = k.length;
  const oh = h - n + 1;
  const ow = w - n + 1;
  const tmp = new Float64Array(oh * w);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += k[i]! * plane[(y + i) * w + x]!;
      tmp[y * w + x] = s;
    }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += k[j]! * tmp[y * w + x + j]!;
      out[y * ow + x] = s;
    }
  return out;
}

function channel(img: HostImage, ch: number): Float64Array {
  const p = new Float64Array(img.h * img.w);
  for (let i = 0; i < p.length; i++) p[i] = img.data[i * img.c + ch]!;
  return p;
}

interface SsimKernelSpec {
  kernel: Float64Array;
  /** Multiplies the (co)variances: 1 for BasicSR, N/(N−1) for skimage's sample covariance. */
  covNorm: number;
  c1: number;
  c2: number;
}

function ssimChannel(x: Float64Array, y: Float64Array, h: number, w: number, s: SsimKernelSpec): number {
  const k = s.kernel;
  const xx = new Float64Array(x.length);
  const yy = new Float64Array(x.length);
  const xy = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    xx[i] = x[i]! * x[i]!;
    yy[i] = y[i]! * y[i]!;
    xy[i] = x[i]! * y[i]!;
  }
  const mu1 = filterValid(x, h, w, k);
  const mu2 = filterValid(y, h, w, k);
  const e11 = filterValid(xx, h, w, k);
  const e22 = filterValid(yy, h, w, k);
  const e12 = filterValid(xy, h, w, k);
  let sum = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i]!;
    const m2 = mu2[i]!;
    const s1 = s.covNorm * (e11[i]! - m1 * m1);
    const s2 = s.covNorm * (e22[i]! - m2 * m2);
    const s12 = s.covNorm * (e12[i]! - m1 * m2);
    sum += ((2 * m1 * m2 + s.c1) * (2 * s12 + s.c2)) / ((m1 * m1 + m2 * m2 + s.c1) * (s1 + s2 + s.c2));
  }
  return sum / mu1.length;
}

function ssimChannels(a: HostImage, b: HostImage, s: SsimKernelSpec): number {
  let total = 0;
  for (let ch = 0; ch < a.c; ch++) total += ssimChannel(channel(a, ch), channel(b, ch), a.h, a.w, s);
  return total / a.c;
}

export const GAUSSIAN_WINDOW = 11;
export const GAUSSIAN_SIGMA = 1.5;
export const SKIMAGE_WINDOW = 7;

/** BasicSR `calculate_ssim` / `_ssim` (MATLAB ssim_index): 11×11 Gaussian σ 1.5, valid region, per-channel mean. */
export function ssimHost(a: HostImage, b: HostImage): number {
  return ssimChannels(a, b, { kernel: gaussianKernel1d(GAUSSIAN_WINDOW, GAUSSIAN_SIGMA), covNorm: 1, c1: (0.01 * 255) ** 2, c2: (0.03 * 255) ** 2 });
}

/** scikit-image `structural_similarity` (7×7 uniform, sample covariance, crop (7−1)/2) on [0, 255] images with data_range 255. */
export function ssimSkimageHost(a: HostImage, b: HostImage): number {
  const n = SKIMAGE_WINDOW;
  return ssimChannels(a, b, { kernel: new Float64Array(n).fill(1 / n), covNorm: (n * n) / (n * n - 1), c1: (0.01 * 255) ** 2, c2: (0.03 * 255) ** 2 });
}
