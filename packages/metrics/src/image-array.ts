import { DTypeError, ShapeError, fmtShape } from '@restorekit/core';
import { BT601_Y_OFFSET, BT601_Y_WEIGHTS } from './color.js';
import { ValueRangeError } from './errors.js';
import { rangeSlack, type ResolvedMetricOptions } from './options.js';

/** A plain image: row-major HWC values (`shape` [H, W] or [H, W, C]), e.g. a Uint8Array with `dataRange: 255`. */
export interface ImageArray {
  data: ArrayLike<number>;
  shape: readonly number[];
}

export function isImageArray(x: unknown): x is ImageArray {
  return x !== null && typeof x === 'object' && 'data' in x && 'shape' in x && !('dataSync' in x);
}

/** An image prepared for measuring: float64 HWC on the [0, 255] scale, cropped, Y if asked. */
export interface HostImage {
  data: Float64Array;
  h: number;
  w: number;
  c: number;
}

export function imageShape(fn: string, name: string, img: ImageArray): [number, number, number] {
  const s = img.shape;
  if (!Array.isArray(s) && !ArrayBuffer.isView(s)) throw new ShapeError(`${fn}: ${name}.shape must be [H, W] or [H, W, C], got ${JSON.stringify(s)}`);
  if ((s.length !== 2 && s.length !== 3) || s.some((d) => !Number.isInteger(d) || d < 1))
    throw new ShapeError(`${fn}: ${name}.shape must be [H, W] or [H, W, C] of positive integers, got ${JSON.stringify(Array.from(s))}`);
  const shape: [number, number, number] = [s[0]!, s[1]!, s.length === 3 ? s[2]! : 1];
  const n = shape[0] * shape[1] * shape[2];
  if (img.data === null || typeof img.data !== 'object' || typeof img.data.length !== 'number')
    throw new DTypeError(`${fn}: ${name}.data must be an array or typed array of numbers`);
  if (img.data.length !== n) throw new ShapeError(`${fn}: ${name}.data has ${img.data.length} values but shape ${fmtShape(shape)} needs ${n}`);
  return shape;
}

/** Checks the value range (or clips), crops, rescales to [0, 255] and converts to Y exactly as BasicSR does. */
export function prepareHost(fn: string, name: string, img: ImageArray, shape: [number, number, number], o: ResolvedMetricOptions): HostImage {
  const [H, W, C] = shape;
  const src = img.data;
  const slack = rangeSlack(o.dataRange);
  if (o.outOfRange === 'error') {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      if (!(v >= lo)) lo = Number.isNaN(v) ? NaN : Math.min(lo, v);
      if (!(v <= hi)) hi = Number.isNaN(v) ? NaN : Math.max(hi, v);
      if (Number.isNaN(v)) throw new ValueRangeError(`${fn}: ${name} contains NaN (index ${i})`);
    }
    if (lo < -slack || hi > o.dataRange + slack)
      throw new ValueRangeError(
        `${fn}: ${name} has values in [${lo}, ${hi}] but dataRange is ${o.dataRange}` +
          (hi > 1 + slack && o.dataRange === 1 ? ' (pass dataRange: 255 for images in [0, 255])' : '') +
          "; pass outOfRange: 'clip' to clamp them",
      );
  }
  const cb = o.cropBorder;
  const h = H - 2 * cb;
  const w = W - 2 * cb;
  if (h < 1 || w < 1) throw new ShapeError(`${fn}: cropBorder ${cb} leaves nothing of a ${H}×${W} image`);
  const scale = 255 / o.dataRange;
  const clip = o.outOfRange === 'clip';
  const get = (i: number): number => {
    const v = src[i]!;
    return (clip ? Math.min(Math.max(v, 0), o.dataRange) : v) * scale;
  };
  if (o.testYChannel && C !== 1 && C !== 3) throw new ShapeError(`${fn}: testYChannel needs 1 or 3 channels, ${name} has ${C}`);
  const toY = o.testYChannel;
  const c = toY ? 1 : C;
  const out = new Float64Array(h * w * c);
  const f = Math.fround;
  let k = 0;
  for (let y = cb; y < H - cb; y++)
    for (let x = cb; x < W - cb; x++) {
      const base = (y * W + x) * C;
      if (!toY) for (let ch = 0; ch < C; ch++) out[k++] = get(base + ch);
      else if (C === 1) out[k++] = f(f(f(get(base)) / 255) * 255);
      else {
        // BasicSR to_y_channel + bgr2ycbcr(y_only=True): float32 [0,1] image, float64 dot (B, G, R order, as
        // BasicSR's BGR matmul) + 16, /255 to float32, ×255 in float32 — bit for bit the reference's rounding.
        const r = f(f(get(base)) / 255);
        const g = f(f(get(base + 1)) / 255);
        const b = f(f(get(base + 2)) / 255);
        out[k++] = f(f((b * BT601_Y_WEIGHTS[2] + g * BT601_Y_WEIGHTS[1] + r * BT601_Y_WEIGHTS[0] + BT601_Y_OFFSET) / 255) * 255);
      }
    }
  return { data: out, h, w, c };
}
