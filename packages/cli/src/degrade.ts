/**
 * Seeded synthetic degradations of image files (@restorekit/train's `gaussianBlur` and `gaussianNoise`, plus a JPEG
 * round trip through sharp), applied in BasicSR's first-order order: blur, then noise, then JPEG.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { Rng, compose, gaussianBlur, gaussianNoise, type Degradation, type HostImage } from '@restorekit/train';
import { convertDepth, type ImageBuffer } from '@restorekit/runtime';
import { readImage, writeImage } from '@restorekit/runtime/node';
import { UsageError } from './errors.js';

export interface DegradeSpec {
  /** Gaussian blur (BasicSR isotropic kernel applied as cv2.filter2D): σ in pixels, odd kernel size. */
  blur?: { sigma: number; kernelSize: number };
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

/** `eval --degrade <spec>`: comma-separated steps `noise:<sigma>`, `blur:<sigma>[:<kernel size>]`, `jpeg:<quality>` (applied blur → noise → JPEG). */
export function parseDegradeSpec(text: string): DegradeSpec {
  const spec: DegradeSpec = {};
  const steps = text.split(',').map((s) => s.trim());
  for (const step of steps) {
    const i = step.indexOf(':');
    const kind = i < 0 ? step : step.slice(0, i);
    const arg = i < 0 ? '' : step.slice(i + 1);
    if (kind !== 'noise' && kind !== 'blur' && kind !== 'jpeg')
      throw new InvalidArgumentError(
        `unknown degradation '${kind}': the spec is comma-separated noise:<sigma>, blur:<sigma>[:<kernel size>], jpeg:<quality> (e.g. noise:25 or blur:2,jpeg:40).`,
      );
    if (spec[kind] !== undefined) throw new InvalidArgumentError(`'${kind}' is given twice.`);
    if (kind === 'noise') spec.noise = parseNoise(arg);
    else if (kind === 'blur') spec.blur = parseBlur(arg);
    else spec.jpeg = parseJpeg(arg);
  }
  return spec;
}

/** The spec in the `eval --degrade` syntax (for reports). */
export function formatDegradeSpec(spec: DegradeSpec): string {
  const parts: string[] = [];
  if (spec.blur) parts.push(`blur:${spec.blur.sigma}:${spec.blur.kernelSize}`);
  if (spec.noise !== undefined) parts.push(`noise:${spec.noise}`);
  if (spec.jpeg !== undefined) parts.push(`jpeg:${spec.jpeg}`);
  return parts.join(',');
}

export function isEmptySpec(spec: DegradeSpec): boolean {
  return spec.blur === undefined && spec.noise === undefined && spec.jpeg === undefined;
}

/** FNV-1a (32-bit) of a string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/**
 * The generator of one image: seeded by `--seed` and the image's file name, so an image is degraded the same
 * whichever folder it is in and whatever other files are there (and `eval --degrade` sees what `degrade` writes).
 */
export function rngFor(seed: number, name: string): Rng {
  const mixed = (BigInt(seed) * 0x9e3779b97f4a7c15n + BigInt(fnv1a(name))) % 2n ** 53n;
  return new Rng(Number(mixed));
}

type IntImage = ImageBuffer<Uint8Array | Uint16Array>;

/** Degrades an 8- or 16-bit image (alpha passed through untouched); the result has the input's depth and channels. */
export async function degradeImage(image: IntImage, spec: DegradeSpec, rng: Rng): Promise<IntImage> {
  if (isEmptySpec(spec)) throw new UsageError('nothing to do: give --noise, --blur or --jpeg');
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
  const steps: Degradation[] = [];
  if (spec.blur) steps.push(gaussianBlur({ kernelSize: spec.blur.kernelSize, sigmaX: spec.blur.sigma }));
  if (spec.noise !== undefined && spec.noise > 0) steps.push(gaussianNoise({ sigma: spec.noise / 255 }));
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
