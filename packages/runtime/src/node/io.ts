import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { ConfigError, opt, resolveOptions } from '@restorekit/core';
import sharp from 'sharp';
import { checkImage, convertDepth, depthOf, type ImageBuffer } from '../image.js';

const READ_OPTIONS = {
  /** Sample depth of the result: 8 or 16 bits, or 'auto' for the file's (16 for 16-bit PNG/TIFF, else 8). */
  depth: opt.custom<8 | 16 | 'auto'>("8, 16 or 'auto'", (v) => v === 8 || v === 16 || v === 'auto' || 'a depth in bits', 'auto'),
};
export type ReadImageOptions = { depth?: 8 | 16 | 'auto' };

/**
 * Reads a PNG, JPEG, WebP or TIFF file (anything sharp decodes) into an `ImageBuffer`, with its EXIF orientation
 * applied (pixels rotated/flipped upright, width and height swapped where needed). Gray files come back with
 * 1 channel, files with alpha with 4 (RGBA, gray + alpha included), others RGB; CMYK and other colour spaces are
 * converted to sRGB. 16-bit files give a `Uint16Array` (unless `depth: 8`), 8-bit ones a `Uint8Array`.
 */
export async function readImage(path: string, options: ReadImageOptions = {}): Promise<ImageBuffer<Uint8Array | Uint16Array>> {
  const o = resolveOptions('readImage', READ_OPTIONS, options);
  const meta = await sharp(path).metadata();
  const sixteen = o.depth === 16 || (o.depth === 'auto' && meta.depth !== 'uchar' && meta.depth !== 'char');
  const gray = meta.space === 'b-w' || meta.space === 'grey16';
  const channels: 1 | 3 | 4 = meta.hasAlpha ? 4 : gray ? 1 : 3;
  let s = sharp(path, { autoOrient: true }).toColourspace(channels === 1 ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb');
  s = channels === 4 ? s.ensureAlpha() : s.removeAlpha();
  const { data, info } = await s.raw(sixteen ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) throw new ConfigError(`readImage: ${path} decoded to ${info.channels} channels, expected ${channels}`);
  const n = info.width * info.height * channels;
  // Copies into arrays of their own (sharp's Buffer may be a view into a larger, shared allocation).
  const out = sixteen ? new Uint16Array(n) : new Uint8Array(n);
  if (sixteen) {
    const bytes = new Uint8Array(out.buffer);
    bytes.set(data.subarray(0, n * 2));
  } else out.set(data.subarray(0, n));
  return { data: out, width: info.width, height: info.height, channels };
}

const FORMATS: Record<string, 'png' | 'jpeg' | 'webp' | 'tiff'> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
};

const WRITE_OPTIONS = {
  /** Sample depth of the file: 8 or 16 (PNG and TIFF only). Default: 16 for 16-bit images and for float images going to PNG/TIFF, else 8. */
  depth: opt.optional(opt.custom<8 | 16>('8 or 16', (v) => v === 8 || v === 16 || 'a depth in bits')),
  /** File format; default: from the extension (.png, .jpg/.jpeg, .webp, .tif/.tiff). */
  format: opt.optional(
    opt.custom<'png' | 'jpeg' | 'webp' | 'tiff'>("'png', 'jpeg', 'webp' or 'tiff'", (v) => ['png', 'jpeg', 'webp', 'tiff'].includes(v as string) || 'a format'),
  ),
  /** JPEG/WebP quality, 1–100 (JPEG is written without chroma subsampling, 4:4:4). */
  quality: opt.int({ min: 1, max: 100 }, 92),
  /** WebP: lossless compression (PNG and TIFF, written with deflate, are always lossless). */
  lossless: opt.bool(false),
};
export type WriteImageOptions = { depth?: 8 | 16; format?: 'png' | 'jpeg' | 'webp' | 'tiff'; quality?: number; lossless?: boolean };

/**
 * Writes an `ImageBuffer` as PNG, JPEG, WebP or TIFF (format from the extension, or `format`), 8- or 16-bit.
 * Samples are converted to the file's depth as by `convertDepth` (clamped, rounded half up; 8 → 16 bits exactly).
 * The file is written under a temporary name in the same folder and renamed into place, so a reader never sees
 * a partial file and an existing file is replaced only by a complete one.
 */
export async function writeImage(path: string, image: ImageBuffer, options: WriteImageOptions = {}): Promise<void> {
  const o = resolveOptions('writeImage', WRITE_OPTIONS, options);
  checkImage(image, 'writeImage: image');
  const ext = extname(path).toLowerCase();
  const format = o.format ?? FORMATS[ext];
  if (!format)
    throw new ConfigError(
      `writeImage: cannot tell the format of '${path}' from its extension '${ext}': use .png, .jpg, .jpeg, .webp, .tif or .tiff, or pass format`,
    );
  const highDepth = format === 'png' || format === 'tiff';
  const depth = o.depth ?? (highDepth && depthOf(image.data) !== 8 ? 16 : 8);
  if (depth === 16 && !highDepth) throw new ConfigError(`writeImage: ${format.toUpperCase()} stores 8-bit samples only; write PNG or TIFF for depth 16`);
  if (format === 'jpeg' && image.channels === 4)
    throw new ConfigError('writeImage: JPEG has no alpha channel; write PNG, WebP or TIFF to keep transparency, or drop the alpha first');
  const data = convertDepth(image.data, depth);
  const { width, height, channels } = image;
  let s = sharp(data, { raw: { width, height, channels } }).toColourspace(channels === 1 ? (depth === 16 ? 'grey16' : 'b-w') : depth === 16 ? 'rgb16' : 'srgb');
  if (format === 'png') s = s.png();
  else if (format === 'jpeg')
    s = s.jpeg({ quality: o.quality, chromaSubsampling: '4:4:4' }); // no chroma halving of a restored image
  else if (format === 'webp') s = s.webp({ quality: o.quality, lossless: o.lossless });
  else s = s.tiff({ compression: 'deflate' });
  const bytes = await s.toBuffer();
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
