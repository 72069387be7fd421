/**
 * JPEG compression artefacts through jpeg-js (a pure-JavaScript baseline codec: synchronous, and the same bytes in
 * Node and every browser, since it uses integer and IEEE-exact float arithmetic only).
 */
import { ShapeError, resolveOptions, type OptionsInput } from '@restorekit/core';
import { decode, encode } from 'jpeg-js';
import { checkImage, type Degradation, type HostImage } from './degrade.js';
import { clamp01, drawRange, rangeOpt } from './degrade-options.js';

/**
 * jpeg-js's encoder ends with `Buffer.from(bytes)` whenever `module` exists, which is also the case in a browser
 * bundle of it (where Node's Buffer does not). Where there is no Buffer, lend a minimal one for the duration of the
 * synchronous call (nothing else can run meanwhile) and take it back.
 */
function encodeBytes(rgba: Uint8Array, width: number, height: number, quality: number): Uint8Array {
  const g = globalThis as { Buffer?: unknown };
  const run = () => encode({ data: rgba, width, height }, quality).data as unknown as Uint8Array;
  if (g.Buffer !== undefined) return run();
  g.Buffer = { from: (a: ArrayLike<number>) => Uint8Array.from(a) };
  try {
    return run();
  } finally {
    delete g.Buffer;
  }
}

/**
 * Encodes an image as baseline JPEG at `quality` (1–100, IJG quantisation tables scaled as libjpeg does) and decodes it
 * again. Values are first quantised to 8 bits (round(clamp(x, 0, 1) · 255)) and come back as multiples of 1/255.
 * jpeg-js writes 3 components without chroma subsampling (4:4:4, like `sharp.jpeg({ chromaSubsampling: '4:4:4' })`);
 * a 1-channel image is encoded as R = G = B (its chroma is then exactly neutral) and read back from the decoded
 * channels' mean.
 */
export function jpegRoundTrip(image: HostImage, quality: number): HostImage {
  const [h, w, c] = checkImage('jpegRoundTrip', image);
  if (c !== 1 && c !== 3) throw new ShapeError(`jpegRoundTrip: JPEG needs 1 or 3 channels, the image has ${c}`);
  const src = image.data;
  const rgba = new Uint8Array(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    for (let q = 0; q < 3; q++) rgba[p * 4 + q] = Math.round(clamp01(src[p * c + (c === 3 ? q : 0)]!) * 255);
    rgba[p * 4 + 3] = 255;
  }
  const bytes = encodeBytes(rgba, w, h, quality);
  const rgb = decode(bytes, { useTArray: true, formatAsRGBA: false }).data;
  const out = new Float32Array(h * w * c);
  if (c === 3) for (let i = 0; i < out.length; i++) out[i] = rgb[i]! / 255;
  else for (let p = 0; p < h * w; p++) out[p] = Math.round((rgb[p * 3]! + rgb[p * 3 + 1]! + rgb[p * 3 + 2]!) / 3) / 255;
  return { data: out, shape: [h, w, c] };
}

const JPEG = {
  /** JPEG quality, an integer 1–100, or a [lo, hi] range of integers drawn per image. */
  quality: rangeOpt('quality', { min: 1, max: 100, integer: true }),
};
export type JpegCompressionOptions = OptionsInput<typeof JPEG>;

/** JPEG compression artefacts: `jpegRoundTrip` at the (drawn) quality. Label `{ type: 'jpeg', quality }`. */
export function jpegCompression(options: JpegCompressionOptions): Degradation {
  const o = resolveOptions('jpegCompression', JPEG, options);
  return (image, rng) => {
    checkImage('jpegCompression', image);
    const quality = drawRange(rng, o.quality, true);
    return { image: jpegRoundTrip(image, quality), label: { type: 'jpeg', quality } };
  };
}
