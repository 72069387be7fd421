/**
 * Blur kernels beyond the Gaussian: the defocus disk (MATLAB's `fspecial('disk', r)`) and random camera-shake motion
 * (Boracchi & Foi 2012, as DeblurGAN's `motion_blur` code), both applied as `cv2.filter2D` by `filter2d`.
 */
import { ConfigError, opt, resolveOptions, type OptionsInput } from '@restorekit/core';
import { checkImage, filter2d, type Degradation } from './degrade.js';
import { drawRange, rangeMax, rangeOpt } from './degrade-options.js';
import { type Rng, detCos, detSin } from './rng.js';

const PI = Math.PI;

/** arctan x from +, −, ×, ÷ and √ only (IEEE-exact everywhere), so every engine gives the same bits. Accurate to a few ulp. */
export function detAtan(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const sign = x < 0 ? -1 : 1;
  let a = Math.abs(x);
  const invert = a > 1;
  if (invert) a = 1 / a;
  // Two half-angle steps, atan a = 2 atan(a / (1 + √(1 + a²))), bring a ≤ tan(π/16) ≈ 0.199 for a short series.
  a = a / (1 + Math.sqrt(1 + a * a));
  a = a / (1 + Math.sqrt(1 + a * a));
  const a2 = a * a;
  let sum = 1 / 31;
  for (let k = 14; k >= 0; k--) sum = 1 / (2 * k + 1) - a2 * sum;
  const r = 4 * a * sum;
  return sign * (invert ? PI / 2 - r : r);
}

/** arcsin u for |u| ≤ 1, deterministic across engines (`detAtan(u / √(1 − u²))`). */
export function detAsin(u: number): number {
  if (!(Math.abs(u) <= 1)) return NaN;
  return detAtan(u / Math.sqrt((1 - u) * (1 + u)));
}

/** Area of the disk of radius r (centred at 0) inside [0, a] × [0, b], for a, b ≥ 0. */
function quarterArea(a: number, b: number, r: number): number {
  if (a <= 0 || b <= 0) return 0;
  // ∫₀^min(a, r) min(b, √(r² − t²)) dt: the height is b up to t = x_c = √(r² − b²), the arc after.
  const S = (t: number) => 0.5 * (t * Math.sqrt(Math.max(0, r * r - t * t)) + r * r * detAsin(Math.min(1, t / r)));
  const xc = b >= r ? 0 : Math.sqrt(r * r - b * b);
  const a1 = Math.min(a, xc);
  const a2 = Math.min(a, r);
  return b * a1 + (a2 > a1 ? S(a2) - S(a1) : 0);
}

/** Signed area of the disk inside the rectangle between (0, 0) and (x, y) (the disk is symmetric in both axes). */
const cornerArea = (x: number, y: number, r: number) => Math.sign(x) * Math.sign(y) * quarterArea(Math.abs(x), Math.abs(y), r);

/**
 * The defocus (pillbox) kernel of radius r: each cell of the (2⌈r⌉ + 1)² grid weighted by the exact area of the
 * pixel square that the disk covers, normalised to sum 1, as MATLAB's `fspecial('disk', r)` (whose grid is
 * 2⌈r − ½⌉ + 1 wide: the outer ring here is then zero). Exactly symmetric under flips and transposes. Row-major.
 */
export function diskKernel(radius: number): { kernel: Float64Array; kernelSize: number } {
  if (!(radius > 0) || !Number.isFinite(radius)) throw new ConfigError(`diskKernel: radius must be a finite number > 0, got ${radius}`);
  const c = Math.ceil(radius);
  const k = 2 * c + 1;
  const kernel = new Float64Array(k * k);
  // One octant (0 ≤ j ≤ i), mirrored to the other seven so the symmetry is exact.
  for (let i = 0; i <= c; i++)
    for (let j = 0; j <= i; j++) {
      const y0 = i - 0.5;
      const y1 = i + 0.5;
      const x0 = j - 0.5;
      const x1 = j + 0.5;
      const area = Math.max(0, cornerArea(x1, y1, radius) - cornerArea(x0, y1, radius) - cornerArea(x1, y0, radius) + cornerArea(x0, y0, radius));
      for (const [di, dj] of [
        [i, j],
        [j, i],
      ] as const)
        for (const si of [-1, 1]) for (const sj of [-1, 1]) kernel[(c + si * di) * k + (c + sj * dj)] = area;
    }
  let sum = 0;
  for (let i = 0; i < kernel.length; i++) sum += kernel[i]!;
  for (let i = 0; i < kernel.length; i++) kernel[i] = kernel[i]! / sum;
  return { kernel, kernelSize: k };
}

const DEFOCUS = {
  /** Disk radius in pixels (> 0), or a [lo, hi] range drawn per image. */
  radius: rangeOpt('radius', { min: 0, exclusiveMin: true }),
};
export type DefocusBlurOptions = OptionsInput<typeof DEFOCUS>;

/**
 * Defocus blur: the disk kernel of `diskKernel(radius)` applied as `cv2.filter2D` (reflect-101 borders).
 * Label `{ type: 'defocusBlur', radius, kernelSize, kernel }`.
 */
export function defocusBlur(options: DefocusBlurOptions): Degradation {
  const o = resolveOptions('defocusBlur', DEFOCUS, options);
  return (image, rng) => {
    checkImage('defocusBlur', image);
    const radius = drawRange(rng, o.radius);
    const { kernel, kernelSize } = diskKernel(radius);
    return { image: filter2d(image, kernel, kernelSize), label: { type: 'defocusBlur', radius, kernelSize, kernel: Array.from(kernel) } };
  };
}

/** A camera-shake trajectory: positions (x right, y down, pixels) and the parameters drawn for it. */
export interface ShakeTrajectory {
  x: Float64Array;
  y: Float64Array;
  /** Pull back towards the start (DeblurGAN's `centripetal`, drawn in [0, 0.7)). */
  centripetal: number;
  /** Probability factor of an impulsive shake (`prob_big_shake`, in [0, 0.2)). */
  probBigShake: number;
  /** Weight of the Gaussian change of direction (`gaussian_shake`, in [0, 10)). */
  gaussianShake: number;
  /** Initial direction, degrees in [0, 360). */
  angle: number;
  /** Number of impulsive shakes that happened. */
  bigShakes: number;
}

/**
 * DeblurGAN's `Trajectory(canvas, iters, max_len, expl).fit()` (after Boracchi & Foi 2012): a particle of constant
 * speed `length / (iters − 1)` per step whose velocity, at each step, gets a Gaussian kick (weight `gaussianShake`),
 * a pull towards its start (inertia, `centripetal`) and, with probability `probBigShake · expl`, an impulsive shake
 * that roughly reverses it; `expl` (the anxiety) scales the kicks. The path has length `length` exactly; the
 * positions start at the origin (DeblurGAN then moves them onto its canvas; `motionKernel` centres them instead).
 */
export function shakeTrajectory(rng: Rng, iters: number, length: number, expl: number): ShakeTrajectory {
  const centripetal = 0.7 * rng.float();
  const probBigShake = 0.2 * rng.float();
  const gaussianShake = 10 * rng.float();
  const angle = 360 * rng.float();
  const theta = (angle * PI) / 180;
  const step = length / (iters - 1);
  let vx = detCos(theta);
  let vy = detSin(theta);
  const v0 = expl > 0 ? expl : step;
  vx *= v0;
  vy *= v0;
  const x = new Float64Array(iters);
  const y = new Float64Array(iters);
  let bigShakes = 0;
  for (let t = 0; t < iters - 1; t++) {
    let nx = 0;
    let ny = 0;
    if (rng.float() < probBigShake * expl) {
      // 2v·e^{i(π + u − ½)}: a jump back, within ±½ rad of the reverse direction.
      const phi = PI + (rng.float() - 0.5);
      const c = detCos(phi);
      const s = detSin(phi);
      nx = 2 * (vx * c - vy * s);
      ny = 2 * (vx * s + vy * c);
      bigShakes++;
    }
    const gx = rng.normal();
    const gy = rng.normal();
    vx += nx + expl * (gaussianShake * gx - centripetal * x[t]!) * step;
    vy += ny + expl * (gaussianShake * gy - centripetal * y[t]!) * step;
    const n = Math.sqrt(vx * vx + vy * vy);
    const f = n > 0 ? step / n : 0;
    vx *= f;
    vy *= f;
    x[t + 1] = x[t]! + vx;
    y[t + 1] = y[t]! + vy;
  }
  return { x, y, centripetal, probBigShake, gaussianShake, angle, bigShakes };
}

/**
 * Rasterises the first `exposure` fraction of a trajectory into a k×k kernel (row-major, rows = y), as DeblurGAN's
 * `PSF.fit()`: every sample splats weight 1 (the last one the remaining fraction) bilinearly onto its four
 * neighbouring cells. The exposed part's bounding box is centred on the kernel; a path no longer than k − 1 stays
 * inside. Normalised to sum 1.
 */
export function motionKernel(traj: Pick<ShakeTrajectory, 'x' | 'y'>, kernelSize: number, exposure = 1): Float64Array {
  const iters = traj.x.length;
  const weight = (t: number) => Math.min(1, Math.max(0, exposure * iters - t));
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let t = 0; t < iters && weight(t) > 0; t++) {
    minX = Math.min(minX, traj.x[t]!);
    maxX = Math.max(maxX, traj.x[t]!);
    minY = Math.min(minY, traj.y[t]!);
    maxY = Math.max(maxY, traj.y[t]!);
  }
  const r = (kernelSize - 1) / 2;
  const ox = r - (minX + maxX) / 2;
  const oy = r - (minY + maxY) / 2;
  const kernel = new Float64Array(kernelSize * kernelSize);
  const last = kernelSize - 1;
  for (let t = 0; t < iters; t++) {
    const w = weight(t);
    if (w <= 0) break;
    const px = Math.min(last, Math.max(0, traj.x[t]! + ox));
    const py = Math.min(last, Math.max(0, traj.y[t]! + oy));
    const mx = Math.min(Math.floor(px), Math.max(0, last - 1));
    const my = Math.min(Math.floor(py), Math.max(0, last - 1));
    const fx = px - mx;
    const fy = py - my;
    if (kernelSize === 1) {
      kernel[0] = kernel[0]! + w;
      continue;
    }
    kernel[my * kernelSize + mx] += w * (1 - fx) * (1 - fy);
    kernel[my * kernelSize + mx + 1] += w * fx * (1 - fy);
    kernel[(my + 1) * kernelSize + mx] += w * (1 - fx) * fy;
    kernel[(my + 1) * kernelSize + mx + 1] += w * fx * fy;
  }
  let sum = 0;
  for (let i = 0; i < kernel.length; i++) sum += kernel[i]!;
  for (let i = 0; i < kernel.length; i++) kernel[i] = kernel[i]! / sum;
  return kernel;
}

const MOTION = {
  /** Odd size of the kernel (≥ 3). */
  kernelSize: opt.int({ min: 3 }),
  /** Path length in pixels (DeblurGAN's `max_len`), ≤ kernelSize − 1 so the path fits; default kernelSize − 1. */
  length: opt.optional(rangeOpt('length', { min: 0 })),
  /** Anxiety (DeblurGAN's `expl`): how much the path shakes; 0 gives a straight line. DeblurGAN draws from 0.001…0.01. */
  expl: rangeOpt('expl', { min: 0 }, [0.001, 0.01]),
  /** Fraction of the trajectory exposed (DeblurGAN's PSF `fraction`, it uses 1/1000, 1/10, 1/2 and 1). */
  exposure: rangeOpt('exposure', { min: 0, max: 1, exclusiveMin: true }, 1),
  /** Samples of the trajectory (DeblurGAN's `iters`). */
  iters: opt.int({ min: 2 }, 2000),
};
export type MotionBlurOptions = OptionsInput<typeof MOTION>;

/**
 * Camera-shake motion blur: a random `shakeTrajectory` rasterised by `motionKernel` and applied as `cv2.filter2D`
 * (correlation, as BasicSR applies kernels; for random paths the flip of convolution changes nothing). Label
 * `{ type: 'motionBlur', kernelSize, kernel, length, expl, exposure, iters, centripetal, probBigShake, gaussianShake,
 * angle, bigShakes }`.
 */
export function motionBlur(options: MotionBlurOptions): Degradation {
  const o = resolveOptions('motionBlur', MOTION, options);
  const k = o.kernelSize;
  if (k % 2 === 0) throw new ConfigError(`motionBlur: option 'kernelSize' must be odd, got ${k}`);
  const lengthOpt = o.length ?? k - 1;
  if (rangeMax(lengthOpt) > k - 1)
    throw new ConfigError(`motionBlur: option 'length' must be ≤ kernelSize − 1 = ${k - 1} so the path fits the kernel, got ${JSON.stringify(o.length)}`);
  return (image, rng) => {
    checkImage('motionBlur', image);
    const length = drawRange(rng, lengthOpt);
    const expl = drawRange(rng, o.expl);
    const exposure = drawRange(rng, o.exposure);
    const traj = shakeTrajectory(rng, o.iters, length, expl);
    const kernel = motionKernel(traj, k, exposure);
    return {
      image: filter2d(image, kernel, k),
      label: {
        type: 'motionBlur',
        kernelSize: k,
        kernel: Array.from(kernel),
        length,
        expl,
        exposure,
        iters: o.iters,
        centripetal: traj.centripetal,
        probBigShake: traj.probBigShake,
        gaussianShake: traj.gaussianShake,
        angle: traj.angle,
        bigShakes: traj.bigShakes,
      },
    };
  };
}
