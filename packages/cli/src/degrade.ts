/**
 * Seeded synthetic degradations of image files (@restorekit/train's `gaussianBlur`, `defocusBlur`, `motionBlur`,
 * `haze`, `rainStreaks`, `lowLight` and `gaussianNoise`, plus a JPEG round trip through sharp), applied in a BasicSR-like
 * order: blur (Gaussian, defocus, motion), then haze, rain, low light, then noise, then JPEG.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import {
  Rng,
  compose,
  defocusBlur,
  gaussianBlur,
  gaussianNoise,
  haze,
  lowLight,
  motionBlur,
  rainStreaks,
  type Degradation,
  type HostImage,
} from '@restorekit/train';
import { convertDepth, type ImageBuffer } from '@restorekit/runtime';
import { readImage, writeImage } from '@restorekit/runtime/node';
import { UsageError } from './errors.js';

/** A number, or a `lo..hi` range drawn per image (from the seed and the file name). */
export type NumOrRange = number | [number, number];

export interface RainSpec {
  density: NumOrRange;
  length: NumOrRange;
  angle: NumOrRange;
  width: NumOrRange;
  intensity: NumOrRange;
}
export interface HazeSpec {
  beta: NumOrRange;
  airlight: NumOrRange;
}
export interface LowLightSpec {
  gamma: NumOrRange;
  scale: NumOrRange;
  a: NumOrRange;
  b: NumOrRange;
}
export interface MotionBlurSpec {
  size: number;
  length: NumOrRange;
  expl: NumOrRange;
  exposure: NumOrRange;
}

export interface DegradeSpec {
  /** Gaussian blur (BasicSR isotropic kernel applied as cv2.filter2D): σ in pixels, odd kernel size. */
  blur?: { sigma: number; kernelSize: number };
  /** Defocus blur: radius of the disk kernel in pixels. */
  defocus?: number;
  /** Camera-shake motion blur (random trajectory): kernel size, path length, anxiety, exposure. */
  motionBlur?: MotionBlurSpec;
  /** Haze through the atmospheric scattering model. */
  haze?: HazeSpec;
  /** Rain streaks added to the image. */
  rain?: RainSpec;
  /** Low light: scale · x^γ, then Poisson–Gaussian noise (a, b on [0, 1] values). */
  lowLight?: LowLightSpec;
  /** Additive white Gaussian noise σ on the 8-bit scale (25 = "σ 25"; σ/255 on [0, 1] images). */
  noise?: number;
  /** JPEG quality (1–100) of a compression round trip. */
  jpeg?: number;
}

const num = (text: string) => (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim()) ? Number(text) : Number.NaN);

/** `--noise <sigma>`: σ ≥ 0 on the 0–255 scale. */
export function parseNoise(text: string): number {
  const v = num(text);
  if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError('the noise σ is a number ≥ 0 on the 0–255 scale (e.g. 25).');
  return v;
}

/** `--blur <sigma>[:<kernel size>]`: σ > 0 in pixels; the kernel is odd, by default 2·⌈3σ⌉ + 1. */
export function parseBlur(text: string): { sigma: number; kernelSize: number } {
  const [s = '', k, ...rest] = text.split(':');
  const sigma = num(s);
  if (rest.length || !Number.isFinite(sigma) || sigma <= 0)
    throw new InvalidArgumentError('the blur is <sigma>[:<kernel size>], σ > 0 pixels (e.g. 2 or 2:21).');
  if (sigma > 100) throw new InvalidArgumentError('the blur σ is at most 100 pixels.');
  const kernelSize = k === undefined ? 2 * Math.ceil(3 * sigma) + 1 : num(k);
  if (!Number.isInteger(kernelSize) || kernelSize < 1 || kernelSize % 2 === 0 || kernelSize > 601)
    throw new InvalidArgumentError('the blur kernel size is an odd integer from 1 to 601.');
  return { sigma, kernelSize };
}

/** `--jpeg <quality>`: an integer 1–100. */
export function parseJpeg(text: string): number {
  const v = num(text);
  if (!Number.isInteger(v) || v < 1 || v > 100) throw new InvalidArgumentError('the JPEG quality is an integer from 1 to 100.');
  return v;
}

/** `--seed <n>`: an integer in [0, 2^53). */
export function parseSeed(text: string): number {
  const v = num(text);
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError('the seed is an integer ≥ 0.');
  return v;
}

/** `--defocus <radius>`: the disk radius in pixels, > 0 and at most 100. */
export function parseDefocus(text: string): number {
  const v = num(text);
  if (!Number.isFinite(v) || v <= 0 || v > 100) throw new InvalidArgumentError('the defocus radius is a number of pixels > 0 and ≤ 100 (e.g. 3).');
  return v;
}

/** A value of a `key=value` spec: a number or a `lo..hi` range (drawn per image). */
function parseValue(kind: string, key: string, text: string): NumOrRange {
  const m = /^(.+?)\.\.(.+)$/.exec(text);
  const v = m ? ([num(m[1]!), num(m[2]!)] as [number, number]) : num(text);
  if (Array.isArray(v) ? !v.every(Number.isFinite) || v[0] > v[1] : !Number.isFinite(v))
    throw new InvalidArgumentError(`${kind}: ${key}=${text} is not a number or a lo..hi range (e.g. ${key}=10 or ${key}=10..20).`);
  return v;
}
const fmtValue = (v: NumOrRange) => (Array.isArray(v) ? `${v[0]}..${v[1]}` : `${v}`);

interface KeyedKind<T extends object> {
  presets: Record<'light' | 'medium' | 'heavy', T>;
  /** Builds the @restorekit/train degradation (which checks the values). */
  build(spec: T): Degradation;
}

const RAIN: KeyedKind<RainSpec> = {
  presets: {
    light: { density: 0.002, length: [10, 20], angle: [-10, 10], width: 1, intensity: 0.5 },
    medium: { density: 0.005, length: [15, 30], angle: [-20, 20], width: 1, intensity: 0.6 },
    heavy: { density: 0.01, length: [20, 40], angle: [-30, 30], width: 1.5, intensity: 0.7 },
  },
  build: (s) => rainStreaks(s),
};
const HAZE: KeyedKind<HazeSpec> = {
  presets: { light: { beta: 0.6, airlight: 0.8 }, medium: { beta: 1.2, airlight: 0.85 }, heavy: { beta: 2, airlight: 0.9 } },
  build: (s) => haze(s),
};
const LOW_LIGHT: KeyedKind<LowLightSpec> = {
  presets: {
    light: { gamma: 1.5, scale: 0.6, a: 0, b: 0 },
    medium: { gamma: 2, scale: 0.35, a: 0.002, b: 0.005 },
    heavy: { gamma: 2.5, scale: 0.2, a: 0.005, b: 0.01 },
  },
  build: ({ gamma, scale, a, b }) => lowLight({ gamma, scale, noise: { a, b }, clip: true }),
};
const MOTION: KeyedKind<MotionBlurSpec> = {
  presets: {
    light: { size: 11, length: 10, expl: [0.001, 0.01], exposure: 1 },
    medium: { size: 21, length: 20, expl: [0.001, 0.01], exposure: 1 },
    heavy: { size: 31, length: 30, expl: [0.001, 0.01], exposure: 1 },
  },
  build: ({ size, ...rest }) => motionBlur({ kernelSize: size, ...rest }),
};

/**
 * A `[<preset>][,<key>=<value>]...` spec: a preset (light, medium, heavy; default medium) with keys overridden, each
 * value a number or a lo..hi range. For motion blur a bare odd integer is the kernel size, and the path length
 * follows the size (size − 1) unless given.
 */
function parseKeyed<T extends object>(kind: string, def: KeyedKind<T>, text: string): T {
  const tokens = text
    .split(',')
    .map((t) => t.trim())
    .filter((t, i) => t !== '' || i > 0);
  const keys = Object.keys(def.presets.medium);
  const usage = `${kind} is [light|medium|heavy][,key=value]... with keys ${keys.join(', ')} (numbers or lo..hi ranges)`;
  let spec = { ...def.presets.medium } as Record<string, NumOrRange>;
  const first = tokens[0] ?? '';
  const isMotion = def === (MOTION as unknown);
  if (first in def.presets) {
    spec = { ...(def.presets as Record<string, T>)[first]! } as Record<string, NumOrRange>;
    tokens.shift();
  } else if (isMotion && first !== '' && !first.includes('=')) {
    tokens[0] = `size=${first}`;
  } else if (first !== '' && !first.includes('=')) throw new InvalidArgumentError(`unknown ${kind} preset '${first}': ${usage}.`);
  else if (first === '') tokens.shift();
  const given = new Set<string>();
  for (const t of tokens) {
    const eq = t.indexOf('=');
    const key = eq < 0 ? t : t.slice(0, eq);
    if (eq < 0 || !keys.includes(key)) throw new InvalidArgumentError(`${kind}: unknown key '${key}': ${usage}.`);
    if (given.has(key)) throw new InvalidArgumentError(`${kind}: '${key}' is given twice.`);
    given.add(key);
    spec[key] = parseValue(kind, key, t.slice(eq + 1));
  }
  if (isMotion) {
    const size = spec.size!;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 3 || size % 2 === 0 || size > 201)
      throw new InvalidArgumentError(`${kind}: the size is an odd integer from 3 to 201, got ${fmtValue(size)}.`);
    if (!given.has('length')) spec.length = size - 1;
  }
  try {
    def.build(spec as T);
  } catch (e) {
    throw new InvalidArgumentError(
      `${kind}: ${e instanceof Error ? e.message.replace(/^\w+: /, '').replaceAll('[lo, hi] range', 'lo..hi range') : String(e)} (${usage}).`,
    );
  }
  return spec as T;
}

/** `--rain <spec>`: `light|medium|heavy` and/or `density=…,length=…,angle=…,width=…,intensity=…`. */
export const parseRain = (text: string): RainSpec => parseKeyed('rain', RAIN, text);
/** `--haze <spec>`: `light|medium|heavy` and/or `beta=…,airlight=…`. */
export const parseHaze = (text: string): HazeSpec => parseKeyed('haze', HAZE, text);
/** `--low-light <spec>`: `light|medium|heavy` and/or `gamma=…,scale=…,a=…,b=…`. */
export const parseLowLight = (text: string): LowLightSpec => parseKeyed('low-light', LOW_LIGHT, text);
/** `--motion-blur <spec>`: `light|medium|heavy` or an odd kernel size, and/or `size=…,length=…,expl=…,exposure=…`. */
export const parseMotionBlur = (text: string): MotionBlurSpec => parseKeyed('motion-blur', MOTION, text);

const KINDS = ['blur', 'defocus', 'motion-blur', 'haze', 'rain', 'low-light', 'noise', 'jpeg'] as const;
type Kind = (typeof KINDS)[number];
const FIELD: Record<Kind, keyof DegradeSpec> = {
  blur: 'blur',
  defocus: 'defocus',
  'motion-blur': 'motionBlur',
  haze: 'haze',
  rain: 'rain',
  'low-light': 'lowLight',
  noise: 'noise',
  jpeg: 'jpeg',
};
const KEYED = new Set<Kind>(['motion-blur', 'haze', 'rain', 'low-light']);

/**
 * `eval --degrade <spec>`: comma-separated steps `noise:<sigma>`, `blur:<sigma>[:<kernel size>]`, `defocus:<radius>`,
 * `motion-blur:<spec>`, `haze:<spec>`, `rain:<spec>`, `low-light:<spec>`, `jpeg:<quality>`, each at most once, where
 * a keyed `<spec>` is a preset and/or key=value pairs (a `key=value` after a comma continues the step before it:
 * `rain:heavy,angle=20,noise:10`). Applied in the order of `DEGRADE_ORDER`, whatever the order written.
 */
export function parseDegradeSpec(text: string): DegradeSpec {
  const spec: DegradeSpec = {};
  const steps: [Kind, string][] = [];
  for (const token of text.split(',').map((s) => s.trim())) {
    const i = token.indexOf(':');
    if (i < 0 && token.includes('=') && steps.length) {
      const last = steps[steps.length - 1]!;
      if (!KEYED.has(last[0])) throw new InvalidArgumentError(`'${token}' follows ${last[0]}, which takes no key=value settings.`);
      last[1] = last[1] === '' ? token : `${last[1]},${token}`;
      continue;
    }
    const kind = i < 0 ? token : token.slice(0, i);
    if (!(KINDS as readonly string[]).includes(kind))
      throw new InvalidArgumentError(
        `unknown degradation '${kind}': the spec is comma-separated ${KINDS.join(', ')} steps — noise:<sigma>, blur:<sigma>[:<kernel size>], defocus:<radius>, motion-blur:<preset|size>[,key=value…], haze:<preset>[,key=value…], rain:<preset>[,key=value…], low-light:<preset>[,key=value…], jpeg:<quality> (e.g. noise:25, blur:2,jpeg:40 or rain:heavy,noise:10).`,
      );
    if (steps.some(([k]) => k === kind)) throw new InvalidArgumentError(`'${kind}' is given twice.`);
    steps.push([kind as Kind, i < 0 ? '' : token.slice(i + 1)]);
  }
  for (const [kind, arg] of steps) {
    if (kind === 'noise') spec.noise = parseNoise(arg);
    else if (kind === 'blur') spec.blur = parseBlur(arg);
    else if (kind === 'jpeg') spec.jpeg = parseJpeg(arg);
    else if (kind === 'defocus') spec.defocus = parseDefocus(arg);
    else if (kind === 'motion-blur') spec.motionBlur = parseMotionBlur(arg);
    else if (kind === 'haze') spec.haze = parseHaze(arg);
    else if (kind === 'rain') spec.rain = parseRain(arg);
    else spec.lowLight = parseLowLight(arg);
  }
  return spec;
}

/** The order the steps are applied in (BasicSR-like: blurs, then the scene and the exposure, then noise, then JPEG). */
export const DEGRADE_ORDER: readonly Kind[] = KINDS;

const keyed = (o: object) =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${fmtValue(v as NumOrRange)}`)
    .join(',');

/** The spec in the `eval --degrade` syntax, every setting written out, in the order applied (for reports). */
export function formatDegradeSpec(spec: DegradeSpec): string {
  const parts: string[] = [];
  if (spec.blur) parts.push(`blur:${spec.blur.sigma}:${spec.blur.kernelSize}`);
  if (spec.defocus !== undefined) parts.push(`defocus:${spec.defocus}`);
  if (spec.motionBlur) parts.push(`motion-blur:${keyed(spec.motionBlur)}`);
  if (spec.haze) parts.push(`haze:${keyed(spec.haze)}`);
  if (spec.rain) parts.push(`rain:${keyed(spec.rain)}`);
  if (spec.lowLight) parts.push(`low-light:${keyed(spec.lowLight)}`);
  if (spec.noise !== undefined) parts.push(`noise:${spec.noise}`);
  if (spec.jpeg !== undefined) parts.push(`jpeg:${spec.jpeg}`);
  return parts.join(',');
}

export function isEmptySpec(spec: DegradeSpec): boolean {
  return Object.values(FIELD).every((f) => spec[f] === undefined);
}

/** The synthetic steps of a spec (all but JPEG, which goes through sharp), in `DEGRADE_ORDER`. */
function stepsOf(spec: DegradeSpec): Degradation[] {
  const steps: Degradation[] = [];
  if (spec.blur) steps.push(gaussianBlur({ kernelSize: spec.blur.kernelSize, sigmaX: spec.blur.sigma }));
  if (spec.defocus !== undefined) steps.push(defocusBlur({ radius: spec.defocus }));
  if (spec.motionBlur) steps.push(MOTION.build(spec.motionBlur));
  if (spec.haze) steps.push(HAZE.build(spec.haze));
  if (spec.rain) steps.push(RAIN.build(spec.rain));
  if (spec.lowLight) steps.push(LOW_LIGHT.build(spec.lowLight));
  if (spec.noise !== undefined && spec.noise > 0) steps.push(gaussianNoise({ sigma: spec.noise / 255 }));
  return steps;
}

/** The spec syntax, for `restorekit degrade --help` and `eval --help`. */
export const DEGRADE_HELP = `
Degradations (applied in this order, whatever the order of the flags):
  --blur <sigma>[:<k>]     Gaussian blur, σ in pixels (BasicSR kernel, cv2.filter2D)
  --defocus <radius>       defocus blur: a disk of this radius in pixels (MATLAB fspecial('disk'))
  --motion-blur <spec>     camera-shake motion blur (Boracchi & Foi random trajectory, as DeblurGAN)
  --haze <spec>            haze: I = J·t + A·(1 − t), t = exp(−beta·depth), seeded smooth depth in [0, 1]
  --rain <spec>            rain streaks added to the image (clamped to [0, 1])
  --low-light <spec>       scale · x^gamma, then Poisson–Gaussian noise a·P(y/a) + b·n (a, b on 0–1 values)
  --noise <sigma>          additive white Gaussian noise, σ on the 0–255 scale
  --jpeg <quality>         JPEG round trip (sharp, 4:4:4)

A <spec> is a preset and/or comma-separated key=value settings (unset keys take the preset's, default medium);
a value is a number or a lo..hi range drawn per image from --seed and the file name:
  --rain       light|medium|heavy, density (streaks per pixel), length (px), angle (degrees from vertical,
               + leans right), width (px), intensity (0–1)
               light   density=0.002,length=10..20,angle=-10..10,width=1,intensity=0.5
               medium  density=0.005,length=15..30,angle=-20..20,width=1,intensity=0.6
               heavy   density=0.01,length=20..40,angle=-30..30,width=1.5,intensity=0.7
  --haze       light (beta=0.6,airlight=0.8), medium (beta=1.2,airlight=0.85), heavy (beta=2,airlight=0.9)
  --low-light  light (gamma=1.5,scale=0.6,a=0,b=0), medium (gamma=2,scale=0.35,a=0.002,b=0.005),
               heavy (gamma=2.5,scale=0.2,a=0.005,b=0.01)
  --motion-blur  light (size=11), medium (size=21), heavy (size=31), or an odd size; keys size (odd kernel
               size), length (path length, ≤ size − 1; default size − 1), expl (shake, default 0.001..0.01),
               exposure (0–1, default 1)
Examples: --rain heavy   --rain density=0.004,length=25,angle=-15   --haze beta=1.5   --motion-blur 15,expl=0
eval --degrade takes the same as comma-separated <name>:<value> steps (names blur, defocus, motion-blur, haze,
rain, low-light, noise, jpeg), e.g. --degrade rain:heavy,angle=20,noise:10 or --degrade haze:beta=1.5,jpeg:40
`;

/**
 * The generator of one image: seeded by `--seed` and the image's file name, so an image is degraded the same
 * whichever folder it is in and whatever other files are there (and `eval --degrade` sees what `degrade` writes):
 * @restorekit/train's `Rng.forName`.
 */
export function rngFor(seed: number, name: string): Rng {
  return Rng.forName(seed, name);
}

type IntImage = ImageBuffer<Uint8Array | Uint16Array>;

/**
 * `eval --float`: the image as float in [0, 1] (alpha dropped), degraded, and left in float — not clipped, not rounded —
 * as the SwinIR / Restormer Gaussian-denoising test scripts feed their models (`img_gt + np.random.normal(0, σ/255)`).
 * The same generator draws as `degradeImage`, so the noise is the same before rounding. JPEG (8-bit by nature) is refused.
 */
export function degradeImageFloat(image: IntImage, spec: DegradeSpec, rng: Rng): ImageBuffer<Float32Array> {
  if (isEmptySpec(spec)) throw new UsageError('nothing to do: give --blur, --defocus, --motion-blur, --haze, --rain, --low-light, --noise or --jpeg');
  if (spec.jpeg !== undefined) throw new UsageError('--float keeps the degraded image in float, and a jpeg: step makes it 8-bit: drop one of them');
  const { width, height, channels } = image;
  const c = channels === 4 ? 3 : channels;
  const all = convertDepth(image.data, 32) as Float32Array;
  let color = all;
  if (channels === 4) {
    color = new Float32Array(width * height * 3);
    for (let p = 0; p < width * height; p++) color.set(all.subarray(p * 4, p * 4 + 3), p * 3);
  }
  const host = compose(...stepsOf(spec))({ data: color, shape: [height, width, c] }, rng).image;
  return { data: host.data, width, height, channels: c as 1 | 3 };
}

/** Degrades an 8- or 16-bit image (alpha passed through untouched); the result has the input's depth and channels. */
export async function degradeImage(image: IntImage, spec: DegradeSpec, rng: Rng): Promise<IntImage> {
  if (isEmptySpec(spec)) throw new UsageError('nothing to do: give --blur, --defocus, --motion-blur, --haze, --rain, --low-light, --noise or --jpeg');
  const { width, height, channels } = image;
  const depth = image.data instanceof Uint16Array ? 16 : 8;
  const c = channels === 4 ? 3 : channels;
  const all = convertDepth(image.data, 32) as Float32Array;
  const n = width * height;
  let color = all;
  if (channels === 4) {
    color = new Float32Array(n * 3);
    for (let p = 0; p < n; p++) color.set(all.subarray(p * 4, p * 4 + 3), p * 3);
  }
  const steps = stepsOf(spec);
  let host: HostImage = { data: color, shape: [height, width, c] };
  if (steps.length) host = compose(...steps)(host, rng).image;
  let out: IntImage = { data: convertDepth(host.data, depth) as Uint8Array | Uint16Array, width, height, channels: c as 1 | 3 };
  if (spec.jpeg !== undefined) out = await jpegRoundTrip(out, spec.jpeg);
  if (channels === 4) {
    const rgba = depth === 16 ? new Uint16Array(n * 4) : new Uint8Array(n * 4);
    const rgb = out.data;
    for (let p = 0; p < n; p++) {
      rgba[p * 4] = rgb[p * 3]!;
      rgba[p * 4 + 1] = rgb[p * 3 + 1]!;
      rgba[p * 4 + 2] = rgb[p * 3 + 2]!;
      rgba[p * 4 + 3] = image.data[p * 4 + 3]!;
    }
    out = { data: rgba, width, height, channels: 4 };
  }
  return out;
}

/** Compresses as JPEG (quality q, 4:4:4, through sharp) and decodes again; the depth is kept (16-bit through 8). */
async function jpegRoundTrip(image: IntImage, quality: number): Promise<IntImage> {
  const dir = await mkdtemp(join(tmpdir(), 'restorekit-jpeg-'));
  try {
    const file = join(dir, 'degraded.jpg');
    await writeImage(file, image.data instanceof Uint16Array ? { ...image, data: convertDepth(image.data, 8) } : image, { quality });
    const back = await readImage(file, { depth: 8 });
    const data = image.data instanceof Uint16Array ? (convertDepth(back.data, 16) as Uint16Array) : back.data;
    return { data, width: back.width, height: back.height, channels: back.channels };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
