/**
 * Degradations of the scene and the sensor: rain streaks (additive layer), haze (atmospheric scattering) and low
 * light (gamma, scale, Poisson–Gaussian noise). Seeded by `Rng`; transcendental math through `detExp` / `detLog` /
 * `detCos`, so every engine gives the same bits.
 */
import { ConfigError, ShapeError, opt, resolveOptions, type OptionsInput } from '@restorekit/core';
import { checkImage, type Degradation, type HostImage } from './degrade.js';
import { clamp01, drawRange, rangeOpt, type NumberOrRange } from './degrade-options.js';
import { detCos, detExp, detLog, detSin } from './rng.js';

const PI = Math.PI;

/**
 * One rain streak as a k×k kernel (row-major, rows = y, peak 1): a segment of `length` pixels through the centre,
 * `angle` degrees clockwise from vertical (positive: falling towards the bottom right), `width` pixels wide, with
 * anti-aliased ends and sides (a 1-pixel-wide streak has a tent profile across).
 */
export function streakKernel(length: number, angle: number, width: number): { kernel: Float64Array; kernelSize: number } {
  const th = (angle * PI) / 180;
  const sn = detSin(th);
  const cs = detCos(th);
  const half = Math.max((length / 2) * Math.abs(sn) + (width / 2) * Math.abs(cs), (length / 2) * Math.abs(cs) + (width / 2) * Math.abs(sn)) + 1;
  const c = Math.ceil(half);
  const k = 2 * c + 1;
  const kernel = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      const dx = j - c;
      const dy = i - c;
      const along = dx * sn + dy * cs;
      const across = dx * cs - dy * sn;
      const a = Math.min(1, Math.max(0, length / 2 + 0.5 - Math.abs(along)));
      const p = Math.min(1, Math.max(0, width / 2 + 0.5 - Math.abs(across)));
      kernel[i * k + j] = a * p;
    }
  return { kernel, kernelSize: k };
}

const RAIN = {
  /** Streaks per pixel (the rate of streak centres; ≤ 1), e.g. 0.002 (light) to 0.01 (heavy). */
  density: rangeOpt('density', { min: 0, max: 1 }),
  /** Streak length in pixels (≥ 1), e.g. 10–40. */
  length: rangeOpt('length', { min: 1 }),
  /** Degrees clockwise from vertical, in [−90, 90] (positive: falling towards the bottom right). */
  angle: rangeOpt('angle', { min: -90, max: 90 }),
  /** Streak width in pixels (> 0). Default 1. */
  width: rangeOpt('width', { min: 0, exclusiveMin: true }, 1),
  /** Brightness a streak adds at its core, in [0, 1] (overlapping streaks add up). */
  intensity: rangeOpt('intensity', { min: 0, max: 1 }),
};
export type RainStreaksOptions = OptionsInput<typeof RAIN>;

/**
 * Synthetic rain by the additive model of rain-removal data sets (Yang et al. 2017, Rain100L/H): O = clip(B + S, 0, 1),
 * where the rain layer S has Poisson(density · area) streak centres at uniformly random places (over the image plus a
 * margin of half a streak, so streaks also enter from the borders), each stamped with `streakKernel(length, angle,
 * width) · intensity`; the same S is added to every channel (white rain). It only brightens. Label `{ type: 'rain',
 * density, length, angle, width, intensity, streaks, kernelSize }` (`streaks`: how many centres were drawn).
 */
export function rainStreaks(options: RainStreaksOptions): Degradation {
  const o = resolveOptions('rainStreaks', RAIN, options);
  return (image, rng) => {
    const [h, w, ch] = checkImage('rainStreaks', image);
    const density = drawRange(rng, o.density);
    const length = drawRange(rng, o.length);
    const angle = drawRange(rng, o.angle);
    const width = drawRange(rng, o.width);
    const intensity = drawRange(rng, o.intensity);
    const { kernel, kernelSize: k } = streakKernel(length, angle, width);
    const c = (k - 1) / 2;
    const ch0 = h + k - 1;
    const cw0 = w + k - 1;
    const streaks = rng.poisson(density * ch0 * cw0);
    const layer = new Float64Array(h * w);
    for (let s = 0; s < streaks; s++) {
      const cy = rng.int(ch0) - c;
      const cx = rng.int(cw0) - c;
      for (let i = 0; i < k; i++) {
        const y = cy + i - c;
        if (y < 0 || y >= h) continue;
        for (let j = 0; j < k; j++) {
          const x = cx + j - c;
          const v = kernel[i * k + j]!;
          if (x >= 0 && x < w && v > 0) layer[y * w + x] += intensity * v;
        }
      }
    }
    const src = image.data;
    const out = new Float32Array(src.length);
    for (let p = 0; p < h * w; p++) for (let q = 0; q < ch; q++) out[p * ch + q] = clamp01(src[p * ch + q]! + layer[p]!);
    return {
      image: { data: out, shape: [h, w, ch] },
      label: { type: 'rain', density, length, angle, width, intensity, streaks, kernelSize: k },
    };
  };
}

const HAZE = {
  /** Scattering coefficient β ≥ 0 (per unit of depth; the depth is in [0, 1]), e.g. 0.5–3. */
  beta: rangeOpt('beta', { min: 0 }),
  /** Atmospheric light A in [0, 1] (the colour of the haze, grey), e.g. 0.7–1. */
  airlight: rangeOpt('airlight', { min: 0, max: 1 }),
};
export type HazeOptions = OptionsInput<typeof HAZE> & {
  /** A depth map [H, W, 1] with values in [0, 1] (far = 1), of the images' size. Default: a seeded smooth proxy. */
  depth?: HostImage;
};

/** Components of the proxy's random field: [fx, fy, phase, amplitude] each, fx and fy in cycles per image. */
const FIELD_WAVES = 4;

/**
 * The seeded depth proxy of `haze`: 0.6·(1 − y/(H − 1)) (the top of a photo is usually far) plus 0.4·F, where F is a
 * low-frequency random field — four plane waves a·cos(2π(fx·x/W + fy·y/H) + φ) with fx, fy ∈ [−2, 2) cycles per
 * image, φ ∈ [0, 2π), a ∈ [0, 1) — rescaled to [0, 1]; the sum is rescaled to [0, 1] too (constant 0.5 if flat).
 * Returns the depth and the drawn wave parameters.
 */
export function depthProxy(h: number, w: number, rng: { float(): number }): { depth: Float64Array; field: number[] } {
  const field: number[] = [];
  for (let k = 0; k < FIELD_WAVES; k++) field.push(4 * rng.float() - 2, 4 * rng.float() - 2, 2 * PI * rng.float(), rng.float());
  const f = new Float64Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (let k = 0; k < 4 * FIELD_WAVES; k += 4) v += field[k + 3]! * detCos(2 * PI * ((field[k]! * x) / w + (field[k + 1]! * y) / h) + field[k + 2]!);
      f[y * w + x] = v;
    }
  rescale01(f);
  const d = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    const g = h > 1 ? 1 - y / (h - 1) : 0.5;
    for (let x = 0; x < w; x++) d[y * w + x] = 0.6 * g + 0.4 * f[y * w + x]!;
  }
  rescale01(d);
  return { depth: d, field };
}

function rescale01(a: Float64Array): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of a) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi - lo;
  for (let i = 0; i < a.length; i++) a[i] = span > 1e-12 ? (a[i]! - lo) / span : 0.5;
}

/**
 * Haze through the atmospheric scattering model (Koschmieder; RESIDE's synthesis): I = J·t + A·(1 − t) with
 * transmission t = exp(−β·d), d ∈ [0, 1] the given depth map or `depthProxy`. Label `{ type: 'haze', beta, airlight,
 * meanTransmission, depth: 'proxy' | 'given', field }` (`field`: the proxy's wave parameters, empty for a given map).
 */
export function haze(options: HazeOptions): Degradation {
  const { depth: given, ...rest } = (options ?? {}) as HazeOptions;
  const o = resolveOptions('haze', HAZE, rest, ['depth']);
  if (given !== undefined) {
    if (!given || typeof given !== 'object' || !(given.data instanceof Float32Array) || !Array.isArray(given.shape) || given.shape[2] !== 1)
      throw new ConfigError("haze: option 'depth' must be a depth map { data: Float32Array, shape: [H, W, 1] }");
    checkImage('haze (depth)', given);
    if (!given.data.every((v) => v >= 0 && v <= 1)) throw new ConfigError("haze: option 'depth' must have values in [0, 1]");
  }
  return (image, rng) => {
    const [h, w, c] = checkImage('haze', image);
    const beta = drawRange(rng, o.beta);
    const airlight = drawRange(rng, o.airlight);
    let d: ArrayLike<number>;
    let field: number[] = [];
    if (given) {
      if (given.shape[0] !== h || given.shape[1] !== w) throw new ShapeError(`haze: the depth map is ${given.shape[0]}×${given.shape[1]}, the image ${h}×${w}`);
      d = given.data;
    } else ({ depth: d, field } = depthProxy(h, w, rng));
    const src = image.data;
    const out = new Float32Array(src.length);
    let tSum = 0;
    for (let p = 0; p < h * w; p++) {
      const t = detExp(-beta * d[p]!);
      tSum += t;
      for (let q = 0; q < c; q++) out[p * c + q] = src[p * c + q]! * t + airlight * (1 - t);
    }
    return {
      image: { data: out, shape: [h, w, c] },
      label: { type: 'haze', beta, airlight, meanTransmission: tSum / (h * w), depth: given ? 'given' : 'proxy', field },
    };
  };
}

const SENSOR_NOISE = {
  /** Shot-noise scale a (Poisson–Gaussian, as `poissonGaussianNoise`). Default 0. */
  a: rangeOpt('a', { min: 0 }, 0),
  /** Read-noise σ b. Default 0. */
  b: rangeOpt('b', { min: 0 }, 0),
};

const LOW_LIGHT = {
  /** Exponent γ > 0 of the tone curve (γ > 1 darkens the mid-tones), e.g. 1.5–3. */
  gamma: rangeOpt('gamma', { min: 0, exclusiveMin: true }),
  /** Exposure scale ≥ 0 (e.g. 0.05–0.5). */
  scale: rangeOpt('scale', { min: 0 }),
  /** Sensor noise after darkening: `{ a?, b? }` Poisson–Gaussian (a = 0: Gaussian of σ b). Default: none. */
  noise: opt.optional(
    opt.custom<{ a?: NumberOrRange; b?: NumberOrRange }>(
      'an object { a?, b? }',
      (v) => (v !== null && typeof v === 'object' && !Array.isArray(v)) || 'noise must be an object { a?, b? }',
    ),
  ),
  /** Clamp the result to [0, 1]. */
  clip: opt.bool(false),
};
export type LowLightOptions = OptionsInput<typeof LOW_LIGHT>;

/**
 * Low light: y = scale · x^γ (x clamped at 0; the power as detExp(γ·detLog x)), then optional Poisson–Gaussian noise
 * a·P(y/a) + b·n (as `poissonGaussianNoise`). Label `{ type: 'lowLight', gamma, scale, a, b }` (a = b = 0 without noise).
 */
export function lowLight(options: LowLightOptions): Degradation {
  const o = resolveOptions('lowLight', LOW_LIGHT, options);
  const noise = o.noise === undefined ? undefined : resolveOptions("lowLight: option 'noise'", SENSOR_NOISE, o.noise);
  return (image, rng) => {
    const [h, w, c] = checkImage('lowLight', image);
    const gamma = drawRange(rng, o.gamma);
    const scale = drawRange(rng, o.scale);
    const a = noise ? drawRange(rng, noise.a) : 0;
    const b = noise ? drawRange(rng, noise.b) : 0;
    const src = image.data;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const x = src[i]!;
      let v = x > 0 ? scale * detExp(gamma * detLog(x)) : 0;
      if (a > 0) v = a * rng.poisson(v / a);
      if (b > 0) v += b * rng.normal();
      out[i] = o.clip ? clamp01(v) : v;
    }
    return { image: { data: out, shape: [h, w, c] }, label: { type: 'lowLight', gamma, scale, a, b } };
  };
}
