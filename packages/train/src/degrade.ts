import { ConfigError, DTypeError, ShapeError, opt, resolveOptions, type OptionsInput } from '@restorekit/core';
import { type Rng, detCos, detExp, detSin } from './rng.js';

/** An image on the host: row-major HWC float32 values (usually in [0, 1]). */
export interface HostImage {
  data: Float32Array;
  shape: [number, number, number];
}

/** What a degradation reports: its kind and the parameters it drew (σ per channel, kernel, …). */
export type DegradationLabel = { type: string } & Record<string, number | number[] | string | DegradationLabel[]>;

/**
 * A seeded degradation: a pure function of the image and the generator's state, returning a new image and the label
 * of what it did. The same image and generator state give the same result in Node and every browser (all randomness
 * comes from `Rng`, all transcendental math from its deterministic `detLog` / `detExp` / `detCos`).
 */
export type Degradation = (image: HostImage, rng: Rng) => { image: HostImage; label: DegradationLabel };

/** Checks a host image and returns its [H, W, C]. */
export function checkImage(where: string, img: HostImage): [number, number, number] {
  if (!img || typeof img !== 'object' || !(img.data instanceof Float32Array))
    throw new DTypeError(`${where}: an image is { data: Float32Array, shape: [H, W, C] }`);
  const s = img.shape;
  if (!Array.isArray(s) || s.length !== 3 || s.some((d) => !Number.isInteger(d) || d < 1))
    throw new ShapeError(`${where}: image shape must be [H, W, C] of positive integers, got ${JSON.stringify(s)}`);
  if (img.data.length !== s[0] * s[1] * s[2])
    throw new ShapeError(`${where}: image shape ${JSON.stringify(s)} needs ${s[0] * s[1] * s[2]} values, data has ${img.data.length}`);
  return [s[0], s[1], s[2]];
}

/** A number, or a [lo, hi] range sampled uniformly. */
type NumberOrRange = number | [number, number];
const numberOrRange = (what: string, min: number, ...dflt: [NumberOrRange?]) => {
  const check = (v: unknown) =>
    (typeof v === 'number' && Number.isFinite(v) && v >= min) ||
    (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= min) && v[0] <= v[1]) ||
    `${what} must be ≥ ${min} (a [lo, hi] range needs lo ≤ hi)`;
  const e = `a number ≥ ${min} or a [lo, hi] range of them`;
  return dflt.length ? opt.custom<NumberOrRange>(e, check, dflt[0]) : opt.custom<NumberOrRange>(e, check);
};
const draw = (rng: Rng, v: NumberOrRange) => (typeof v === 'number' ? v : v[0] === v[1] ? v[0] : rng.uniform(v[0], v[1]));

const NOISE = {
  /** σ on the image's scale (σ = 25/255 for "σ 25" on [0, 1] images): one value, one per channel, or a [lo, hi] range. */
  sigma: opt.custom<number | number[] | [number, number]>(
    'a number ≥ 0, a list of one per channel, or a [lo, hi] range (with range: true)',
    (v) =>
      (typeof v === 'number' && v >= 0 && Number.isFinite(v)) ||
      (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && x >= 0 && Number.isFinite(x))) ||
      'σ must be ≥ 0',
  ),
  /** `sigma` is a [lo, hi] range to draw σ from (uniformly, per image). */
  range: opt.bool(false),
  /** With a range: draw one σ per channel instead of one for all channels. */
  perChannel: opt.bool(false),
  /** Clamp the result to [0, 1]. */
  clip: opt.bool(false),
};
export type GaussianNoiseOptions = OptionsInput<typeof NOISE>;

/** Additive white Gaussian noise, σ per channel: y = x + σ_c·n, n ~ N(0, 1). Label `{ type: 'gaussianNoise', sigma: [σ_c …] }`. */
export function gaussianNoise(options: GaussianNoiseOptions): Degradation {
  const o = resolveOptions('gaussianNoise', NOISE, options);
  if (o.range && (!Array.isArray(o.sigma) || o.sigma.length !== 2 || o.sigma[0]! > o.sigma[1]!))
    throw new ConfigError(`gaussianNoise: with range: true, sigma must be a [lo, hi] pair with lo ≤ hi, got ${JSON.stringify(o.sigma)}`);
  if (o.perChannel && !o.range)
    throw new ConfigError('gaussianNoise: perChannel draws σ per channel from a range; set range: true (or give one σ per channel as a list)');
  return (image, rng) => {
    const [h, w, c] = checkImage('gaussianNoise', image);
    let sigma: number[];
    if (o.range) {
      const [lo, hi] = o.sigma as [number, number];
      if (o.perChannel) sigma = Array.from({ length: c }, () => rng.uniform(lo, hi));
      else sigma = new Array<number>(c).fill(rng.uniform(lo, hi));
    } else if (Array.isArray(o.sigma)) {
      if (o.sigma.length !== c && o.sigma.length !== 1) throw new ShapeError(`gaussianNoise: ${o.sigma.length} σ values for an image of ${c} channels`);
      sigma = o.sigma.length === 1 ? new Array<number>(c).fill(o.sigma[0]!) : [...o.sigma];
    } else sigma = new Array<number>(c).fill(o.sigma);
    const out = new Float32Array(h * w * c);
    const x = image.data;
    for (let i = 0; i < out.length; i++) {
      const v = x[i]! + sigma[i % c]! * rng.normal();
      out[i] = o.clip ? Math.min(1, Math.max(0, v)) : v;
    }
    return { image: { data: out, shape: [h, w, c] }, label: { type: 'gaussianNoise', sigma } };
  };
}

const POISSON_GAUSSIAN = {
  /** Signal-dependent (shot) noise scale a: y = a·Poisson(x/a) + …; a number or a [lo, hi] range. */
  a: numberOrRange('a', 0),
  /** Signal-independent (read) noise σ b: … + b·n; a number or a [lo, hi] range. Default 0. */
  b: numberOrRange('b', 0, 0),
  /** Clamp the result to [0, 1]. */
  clip: opt.bool(false),
};
export type PoissonGaussianOptions = OptionsInput<typeof POISSON_GAUSSIAN>;

/**
 * Poisson–Gaussian noise (Foi et al. 2008): y = a·P(x/a) + b·n with P a Poisson count of mean x/a (x clamped at 0)
 * and n ~ N(0, 1), so E[y] = x and Var[y] = a·x + b². Label `{ type: 'poissonGaussianNoise', a, b }`.
 */
export function poissonGaussianNoise(options: PoissonGaussianOptions): Degradation {
  const o = resolveOptions('poissonGaussianNoise', POISSON_GAUSSIAN, options);
  return (image, rng) => {
    const [h, w, c] = checkImage('poissonGaussianNoise', image);
    const a = draw(rng, o.a);
    const b = draw(rng, o.b);
    const x = image.data;
    const out = new Float32Array(x.length);
    for (let i = 0; i < out.length; i++) {
      const shot = a > 0 ? a * rng.poisson(Math.max(0, x[i]!) / a) : x[i]!;
      const v = b > 0 ? shot + b * rng.normal() : shot;
      out[i] = o.clip ? Math.min(1, Math.max(0, v)) : v;
    }
    return { image: { data: out, shape: [h, w, c] }, label: { type: 'poissonGaussianNoise', a, b } };
  };
}

/**
 * BasicSR's `bivariate_Gaussian(kernel_size, sig_x, sig_y, theta, isotropic)` (basicsr/data/degradations.py): the
 * kernel exp(−½ [x y] Σ⁻¹ [x y]ᵀ) on the grid −⌊k/2⌋…⌊k/2⌋ (x along columns, y along rows), normalised to sum 1,
 * with Σ = R(θ) diag(σx², σy²) R(θ)ᵀ. Row-major k×k, float64.
 */
export function gaussianKernel2d(kernelSize: number, sigmaX: number, sigmaY = sigmaX, theta = 0): Float64Array {
  if (!Number.isInteger(kernelSize) || kernelSize < 1 || kernelSize % 2 === 0)
    throw new ConfigError(`gaussianKernel2d: kernelSize must be an odd positive integer, got ${kernelSize}`);
  if (!(sigmaX > 0) || !(sigmaY > 0)) throw new ConfigError(`gaussianKernel2d: sigmas must be > 0, got ${sigmaX}, ${sigmaY}`);
  const ct = detCos(theta);
  const st = detSin(theta);
  // Σ = U D Uᵀ, U = [[cos, −sin], [sin, cos]].
  const sx2 = sigmaX * sigmaX;
  const sy2 = sigmaY * sigmaY;
  const s00 = ct * ct * sx2 + st * st * sy2;
  const s01 = ct * st * (sx2 - sy2);
  const s11 = st * st * sx2 + ct * ct * sy2;
  const det = s00 * s11 - s01 * s01;
  const i00 = s11 / det;
  const i01 = -s01 / det;
  const i11 = s00 / det;
  const r = (kernelSize - 1) / 2;
  const k = new Float64Array(kernelSize * kernelSize);
  let sum = 0;
  for (let i = 0; i < kernelSize; i++) {
    const y = i - r;
    for (let j = 0; j < kernelSize; j++) {
      const x = j - r;
      const v = detExp(-0.5 * (x * x * i00 + 2 * x * y * i01 + y * y * i11));
      k[i * kernelSize + j] = v;
      sum += v;
    }
  }
  for (let i = 0; i < k.length; i++) k[i] = k[i]! / sum;
  return k;
}

/** OpenCV's BORDER_REFLECT_101 index (gfedcb|abcdefgh|gfedcba). */
function reflect101(p: number, n: number): number {
  if (n === 1) return 0;
  while (p < 0 || p >= n) p = p < 0 ? -p : 2 * (n - 1) - p;
  return p;
}

/**
 * `cv2.filter2D(img, -1, kernel)`: correlation with a k×k kernel, borders BORDER_REFLECT_101, per channel. Zero taps
 * are skipped (sparse motion kernels run faster); the other products are summed in row-major tap order as before, so
 * the result is the same to the bit for finite images.
 */
export function filter2d(image: HostImage, kernel: Float64Array | Float32Array, kernelSize: number): HostImage {
  const [h, w, c] = checkImage('filter2d', image);
  if (kernel.length !== kernelSize * kernelSize)
    throw new ShapeError(`filter2d: a ${kernelSize}×${kernelSize} kernel needs ${kernelSize * kernelSize} values, got ${kernel.length}`);
  const r = (kernelSize - 1) / 2;
  const x = image.data;
  const out = new Float32Array(x.length);
  const taps: number[] = [];
  for (let i = 0; i < kernelSize * kernelSize; i++) if (kernel[i] !== 0) taps.push(i);
  const tapRow = Int32Array.from(taps, (t) => Math.floor(t / kernelSize));
  const tapCol = Int32Array.from(taps, (t) => t % kernelSize);
  const tapW = Float64Array.from(taps, (t) => kernel[t]!);
  // Reflected source offsets: rowAt[y·k + i] = (row of y + i − r)·w·c, colAt[x·k + j] = (column of x + j − r)·c.
  const rowAt = new Int32Array(h * kernelSize);
  for (let y = 0; y < h; y++) for (let i = 0; i < kernelSize; i++) rowAt[y * kernelSize + i] = reflect101(y + i - r, h) * w * c;
  const colAt = new Int32Array(w * kernelSize);
  for (let xx = 0; xx < w; xx++) for (let j = 0; j < kernelSize; j++) colAt[xx * kernelSize + j] = reflect101(xx + j - r, w) * c;
  const n = taps.length;
  for (let y = 0; y < h; y++)
    for (let xx = 0; xx < w; xx++)
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let t = 0; t < n; t++) acc += tapW[t]! * x[rowAt[y * kernelSize + tapRow[t]!]! + colAt[xx * kernelSize + tapCol[t]!]! + ch]!;
        out[(y * w + xx) * c + ch] = acc;
      }
  return { data: out, shape: [h, w, c] };
}

const BLUR = {
  /** Odd kernel size (BasicSR `kernel_size`, e.g. 21). */
  kernelSize: opt.int({ min: 1 }),
  /** σ along x, or a [lo, hi] range (BasicSR `sigma_x`). */
  sigmaX: numberOrRange('sigmaX', Number.MIN_VALUE),
  /** σ along y (anisotropic); default: equal to σx (isotropic). */
  sigmaY: opt.optional(numberOrRange('sigmaY', Number.MIN_VALUE)),
  /** Rotation θ in radians, or a [lo, hi] range (only meaningful with sigmaY). Default 0. */
  theta: numberOrRange('theta', -Infinity, 0),
};
export type GaussianBlurOptions = OptionsInput<typeof BLUR>;

/**
 * Gaussian blur with a BasicSR bivariate Gaussian kernel (`gaussianKernel2d`) applied as `cv2.filter2D` does.
 * Label `{ type: 'gaussianBlur', kernelSize, sigmaX, sigmaY, theta, kernel }` (the kernel row-major).
 */
export function gaussianBlur(options: GaussianBlurOptions): Degradation {
  const o = resolveOptions('gaussianBlur', BLUR, options);
  if (o.kernelSize % 2 === 0) throw new ConfigError(`gaussianBlur: kernelSize must be odd, got ${o.kernelSize}`);
  return (image, rng) => {
    checkImage('gaussianBlur', image);
    const sigmaX = draw(rng, o.sigmaX);
    const sigmaY = o.sigmaY === undefined ? sigmaX : draw(rng, o.sigmaY);
    const theta = o.sigmaY === undefined ? 0 : draw(rng, o.theta);
    const kernel = gaussianKernel2d(o.kernelSize, sigmaX, sigmaY, theta);
    return {
      image: filter2d(image, kernel, o.kernelSize),
      label: { type: 'gaussianBlur', kernelSize: o.kernelSize, sigmaX, sigmaY, theta, kernel: Array.from(kernel) },
    };
  };
}

/** Applies degradations in order; the label lists each one's label (`{ type: 'compose', steps: [...] }`). */
export function compose(...steps: Degradation[]): Degradation {
  if (steps.some((s) => typeof s !== 'function')) throw new ConfigError('compose: every step must be a degradation function');
  return (image, rng) => {
    let img = image;
    const labels: DegradationLabel[] = [];
    for (const s of steps) {
      const r = s(img, rng);
      img = r.image;
      labels.push(r.label);
    }
    return { image: img, label: { type: 'compose', steps: labels } };
  };
}
