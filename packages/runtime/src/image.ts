import { ConfigError, DTypeError, ShapeError } from '@restorekit/core';

/** Pixel samples, interleaved HWC: 8-bit (`Uint8Array`, `Uint8ClampedArray`), 16-bit (`Uint16Array`) or float (`Float32Array`, nominally in [0, 1]). */
export type PixelData = Uint8Array | Uint8ClampedArray | Uint16Array | Float32Array;

/**
 * An image as plain data, the same in Node and browsers: `data` holds `height` rows of `width` pixels of
 * `channels` samples each (1 = gray, 3 = RGB, 4 = RGBA, not premultiplied), row-major, interleaved.
 */
export interface ImageBuffer<D extends PixelData = PixelData> {
  data: D;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** Bits per sample of integer data (8 or 16), or 32 for float. */
export type Depth = 8 | 16 | 32;

const TYPE_NAMES = 'Uint8Array, Uint8ClampedArray, Uint16Array or Float32Array';

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an Array';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return typeof v;
}

export function isPixelData(v: unknown): v is PixelData {
  return v instanceof Uint8Array || v instanceof Uint8ClampedArray || v instanceof Uint16Array || v instanceof Float32Array;
}

/** 8, 16 or 32 (float) for a pixel array. */
export function depthOf(data: PixelData): Depth {
  return data instanceof Float32Array ? 32 : data instanceof Uint16Array ? 16 : 8;
}

/** The largest sample value of an integer depth (255, 65535), or 1 for float. */
export function maxValueOf(depth: Depth): number {
  return depth === 8 ? 255 : depth === 16 ? 65535 : 1;
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * Checks an `ImageBuffer` and names what is wrong: a missing or unsupported `data` array → `DTypeError`; a width or
 * height that is not a positive integer, channels other than 1, 3 or 4, or a data length other than
 * width·height·channels → `ShapeError`.
 */
export function checkImage(image: unknown, what = 'image'): asserts image is ImageBuffer {
  if (image === null || typeof image !== 'object' || Array.isArray(image))
    throw new ConfigError(`${what} must be an object { data, width, height, channels }, got ${typeName(image)}`);
  const im = image as Record<string, unknown>;
  if (!isPixelData(im.data)) throw new DTypeError(`${what}.data must be a ${TYPE_NAMES}, got ${typeName(im.data)}`);
  for (const k of ['width', 'height'] as const)
    if (!isPosInt(im[k])) throw new ShapeError(`${what}.${k} must be a positive integer, got ${JSON.stringify(im[k]) ?? String(im[k])}`);
  if (im.channels !== 1 && im.channels !== 3 && im.channels !== 4)
    throw new ShapeError(`${what}.channels must be 1 (gray), 3 (RGB) or 4 (RGBA), got ${JSON.stringify(im.channels) ?? String(im.channels)}`);
  const want = (im.width as number) * (im.height as number) * im.channels;
  if (im.data.length !== want)
    throw new ShapeError(
      `${what}.data has ${im.data.length} values, but width·height·channels = ${im.width}·${im.height}·${im.channels} = ${want} (samples are interleaved HWC)`,
    );
}

/** A new pixel array of the same type as `like`. */
export function allocLike(like: PixelData, length: number): PixelData {
  if (like instanceof Uint8ClampedArray) return new Uint8ClampedArray(length);
  if (like instanceof Uint16Array) return new Uint16Array(length);
  if (like instanceof Float32Array) return new Float32Array(length);
  return new Uint8Array(length);
}

/**
 * Converts samples to another depth: to an integer depth, values are scaled, clamped to [0, max] and rounded half
 * up (`Math.round`), NaN becoming 0; 8 → 16 bits is exact (·257) and 16 → 8 bits rounds (v·255/65535). To float,
 * integers are divided by their maximum.
 */
export function convertDepth(data: PixelData, to: Depth): PixelData {
  const from = depthOf(data);
  if (from === to) return data;
  const n = data.length;
  if (to === 32) {
    const out = new Float32Array(n);
    const k = 1 / maxValueOf(from);
    for (let i = 0; i < n; i++) out[i] = data[i]! * k;
    return out;
  }
  const max = maxValueOf(to);
  const out = to === 16 ? new Uint16Array(n) : new Uint8Array(n);
  if (from === 8 && to === 16) {
    for (let i = 0; i < n; i++) out[i] = data[i]! * 257;
    return out;
  }
  const k = max / maxValueOf(from);
  for (let i = 0; i < n; i++) out[i] = toInt(data[i]! * k, max);
  return out;
}

/** `v` (already scaled to [0, max]) clamped and rounded half up; NaN → 0. */
export function toInt(v: number, max: number): number {
  return v > 0 ? (v < max ? Math.round(v) : max) : 0;
}

/**
 * An `ImageBuffer` viewing an `ImageData`'s pixels (RGBA, 8-bit; no copy: writing to one changes the other).
 * Only the `data`, `width` and `height` of the argument are used, so anything of that layout will do.
 */
export function fromImageData(imageData: Pick<ImageData, 'data' | 'width' | 'height'>): ImageBuffer<Uint8ClampedArray> {
  const image = { data: imageData.data, width: imageData.width, height: imageData.height, channels: 4 as const };
  checkImage(image, 'fromImageData: imageData');
  return image;
}

/** A constructor of `ImageData` (the DOM's, or any with its signature). */
export type ImageDataConstructor = new (data: Uint8ClampedArray<ArrayBuffer>, width: number, height: number) => ImageData;

/**
 * An `ImageData` (RGBA, 8-bit) of an image, for `putImageData` on a canvas: gray is replicated to RGB, RGB gets an
 * opaque alpha, 16-bit and float samples are converted as by `convertDepth` (clamped, rounded half up).
 * Uses the global `ImageData` (browsers, workers) unless a constructor is given; throws `ConfigError` if there is none.
 */
export function toImageData(image: ImageBuffer, ImageDataCtor?: ImageDataConstructor): ImageData {
  checkImage(image, 'toImageData: image');
  const Ctor = ImageDataCtor ?? (globalThis as { ImageData?: ImageDataConstructor }).ImageData;
  if (!Ctor) throw new ConfigError('toImageData: there is no global ImageData here (not a browser); pass its constructor as the second argument');
  const { width, height, channels } = image;
  const src = convertDepth(image.data, 8);
  const n = width * height;
  const out = new Uint8ClampedArray(n * 4);
  if (channels === 4) out.set(src);
  else
    for (let p = 0; p < n; p++) {
      const o = p * 4;
      if (channels === 1) out[o] = out[o + 1] = out[o + 2] = src[p]!;
      else {
        out[o] = src[p * 3]!;
        out[o + 1] = src[p * 3 + 1]!;
        out[o + 2] = src[p * 3 + 2]!;
      }
      out[o + 3] = 255;
    }
  return new Ctor(out, width, height);
}
