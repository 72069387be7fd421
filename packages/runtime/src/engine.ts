import { ConfigError, ShapeError } from '@restorekit/core';
import { abortErrorOf } from './errors.js';
import { allocLike, checkImage, depthOf, maxValueOf, toInt, type ImageBuffer } from './image.js';
import type { TileOutput } from './model.js';
import type { ResolvedRestore } from './options.js';
import { axisWeights, makePlan, type TilePlan, type TileRect } from './plan.js';

/** One tile's model input: `height × width × channels` float32 samples in [0, 1], padded to the size multiple. */
export interface TileTask {
  rect: TileRect;
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/** Runs tiles through a model: on this thread's tfjs backend, or on worker threads. */
export interface TileExecutor {
  /** How many tiles may be in flight at once (results are still blended in tile order). */
  readonly concurrency: number;
  run(task: TileTask): Promise<TileOutput>;
  /** Stops queued work (abort or error); tiles in flight may reject. */
  cancel?(): void;
}

/** Index of a padded position along an axis of `length` samples (positions ≥ length are padding), or −1 for zeros. */
export function padIndex(i: number, length: number, mode: ResolvedRestore['padMode']): number {
  if (i < length) return i;
  switch (mode) {
    case 'reflect': {
      if (length === 1) return 0;
      const period = 2 * length - 2;
      const j = i % period;
      return j < length ? j : period - j;
    }
    case 'symmetric': {
      const j = i % (2 * length);
      return j < length ? j : 2 * length - 1 - j;
    }
    case 'replicate':
      return length - 1;
    case 'zeros':
      return -1;
  }
}

/** Copies a tile out of the image as the model's input: normalised to [0, 1], gray replicated to RGB if the model wants 3 channels, alpha left out. */
export function extractTile(
  image: ImageBuffer,
  rect: TileRect,
  paddedHeight: number,
  paddedWidth: number,
  modelChannels: 1 | 3,
  padMode: ResolvedRestore['padMode'],
): Float32Array {
  const { data, width, height, channels } = image;
  const k = 1 / maxValueOf(depthOf(data));
  const mc = modelChannels;
  const out = new Float32Array(paddedHeight * paddedWidth * mc);
  // Columns inside the image are copied in one run per row; padding columns (right of the image) by index.
  const inside = Math.min(paddedWidth, width - rect.x);
  const cols = new Int32Array(paddedWidth - inside);
  for (let tx = inside; tx < paddedWidth; tx++) cols[tx - inside] = padIndex(rect.x + tx, width, padMode);
  const same = channels === mc;
  for (let ty = 0; ty < paddedHeight; ty++) {
    const sy = padIndex(rect.y + ty, height, padMode);
    if (sy < 0) continue;
    const o0 = ty * paddedWidth * mc;
    const s0 = (sy * width + rect.x) * channels;
    if (same) {
      const n = inside * mc;
      for (let i = 0; i < n; i++) out[o0 + i] = data[s0 + i]! * k;
    } else if (channels === 1) {
      for (let tx = 0, o = o0; tx < inside; tx++, o += 3) out[o] = out[o + 1] = out[o + 2] = data[s0 + tx]! * k;
    } else {
      for (let tx = 0, o = o0, i = s0; tx < inside; tx++, o += 3, i += channels) {
        out[o] = data[i]! * k;
        out[o + 1] = data[i + 1]! * k;
        out[o + 2] = data[i + 2]! * k;
      }
    }
    for (let tx = inside; tx < paddedWidth; tx++) {
      const sx = cols[tx - inside]!;
      if (sx < 0) continue;
      const i = (sy * width + sx) * channels;
      const o = o0 + tx * mc;
      for (let c = 0; c < mc; c++) out[o + c] = data[i + (channels === 1 ? 0 : c)]! * k;
    }
  }
  return out;
}

/** The output image being assembled: a float accumulator for the rows that tiles still write to, flushed in strips. */
class Assembler {
  readonly out: ImageBuffer;
  private readonly acc: Float32Array;
  private base = 0;
  private readonly rowLen: number;
  private readonly colWeights: Float32Array[];
  private readonly rowWeights: Float32Array[];
  private readonly max: number;
  private readonly integer: boolean;

  constructor(
    private readonly image: ImageBuffer,
    plan: TilePlan,
    private readonly scale: number,
    private readonly mc: number,
    o: ResolvedRestore,
  ) {
    const outW = image.width * scale;
    const outH = image.height * scale;
    this.rowLen = outW * mc;
    try {
      this.out = { data: allocLike(image.data, outW * outH * image.channels), width: outW, height: outH, channels: image.channels };
      this.acc = new Float32Array(plan.tileHeight * scale * this.rowLen);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      throw new ShapeError(
        `restore: the ${outW}×${outH} output (${outW * outH * image.channels} samples, plus a ${plan.tileHeight * scale}-row float accumulator) cannot be allocated here: ${e.message}`,
      );
    }
    this.colWeights = axisWeights(plan.columnStarts, plan.tileWidth, image.width, scale, o.overlap, o.margin, o.blend);
    this.rowWeights = axisWeights(plan.rowStarts, plan.tileHeight, image.height, scale, o.overlap, o.margin, o.blend);
    const depth = depthOf(image.data);
    this.integer = depth !== 32;
    this.max = maxValueOf(depth);
  }

  /** Adds a tile's output (its top-left rect.h·s × rect.w·s part; the rest is padding) with its blending weights. */
  add(rect: TileRect, y: TileOutput): void {
    const s = this.scale;
    const mc = this.mc;
    const th = rect.h * s;
    const tw = rect.w * s;
    const wx = this.colWeights[rect.column]!;
    const wy = this.rowWeights[rect.row]!;
    const x0 = rect.x * s * mc;
    const srcRow = y.width * mc;
    const src = y.data;
    const acc = this.acc;
    for (let r = 0; r < th; r++) {
      const a = wy[r]!;
      if (a === 0) continue;
      let d = (rect.y * s + r - this.base) * this.rowLen + x0;
      let i = r * srcRow;
      if (mc === 3)
        for (let c = 0; c < tw; c++, d += 3, i += 3) {
          const w = a * wx[c]!;
          if (w === 0) continue;
          acc[d] += w * src[i]!;
          acc[d + 1] += w * src[i + 1]!;
          acc[d + 2] += w * src[i + 2]!;
        }
      else
        for (let c = 0; c < tw; c++, d++, i++) {
          const w = a * wx[c]!;
          if (w !== 0) acc[d] += w * src[i]!;
        }
    }
  }

  /** Writes finished output rows [base, upTo) to the output image and moves the accumulator window to `upTo`. */
  flush(upTo: number): void {
    const rows = upTo - this.base;
    if (rows <= 0) return;
    const out = this.out;
    const image = this.image;
    const acc = this.acc;
    const mc = this.mc;
    const max = this.max;
    const integer = this.integer;
    const s = this.scale;
    const outW = out.width;
    const C = out.channels;
    const dst = out.data;
    const alpha = image.data;
    for (let r = 0; r < rows; r++) {
      const oy = this.base + r;
      const a0 = r * this.rowLen;
      const o0 = oy * outW * C;
      if (C === mc) {
        // RGB through an RGB model, gray through a gray model: sample for sample.
        const n = outW * C;
        if (!integer) dst.set(acc.subarray(a0, a0 + n), o0);
        else
          for (let i = 0; i < n; i++) {
            const v = acc[a0 + i]! * max;
            dst[o0 + i] = v > 0 ? (v < max ? Math.round(v) : max) : 0; // toInt, inlined
          }
      } else if (C === 1) {
        // Gray through an RGB model: the mean of the three outputs.
        for (let x = 0, a = a0; x < outW; x++, a += 3) {
          const v = (acc[a]! + acc[a + 1]! + acc[a + 2]!) / 3;
          dst[o0 + x] = integer ? toInt(v * max, max) : v;
        }
      } else {
        // RGBA: RGB from the model, alpha copied from the input pixel this output pixel comes from.
        const alphaRow = Math.floor(oy / s) * image.width;
        for (let x = 0, a = a0, o = o0; x < outW; x++, a += 3, o += 4) {
          for (let c = 0; c < 3; c++) {
            const v = acc[a + c]!;
            dst[o + c] = integer ? toInt(v * max, max) : v;
          }
          dst[o + 3] = alpha[(alphaRow + Math.floor(x / s)) * 4 + 3]!;
        }
      }
    }
    // Keep the rows still being written (the next tile row's overlap) at the start of the window.
    const keep = acc.length - rows * this.rowLen;
    if (keep > 0) acc.copyWithin(0, rows * this.rowLen);
    acc.fill(0, Math.max(0, keep));
    this.base = upTo;
  }
}

/**
 * The tiling engine: cuts the image into tiles, feeds them to `executor` (up to its concurrency in flight),
 * blends the outputs in tile order into a host-side accumulator and returns the assembled image.
 */
export async function assemble(image: ImageBuffer, o: ResolvedRestore, executor: TileExecutor): Promise<ImageBuffer> {
  checkImage(image);
  const mc = o.modelChannels;
  if (image.channels !== 1 && mc === 1)
    throw new ConfigError(`restore: modelChannels is 1 (a gray model) but the image has ${image.channels} channels: gray models take gray images only`);
  const plan = makePlan(image.width, image.height, o.tileSize, o.overlap, o.margin, o.sizeMultiple);
  const { tiles } = plan;
  const signal = o.signal;
  if (signal?.aborted) throw abortErrorOf(signal);

  const pending = new Map<number, Promise<TileOutput>>();
  let next = 0;
  const dispatch = () => {
    while (next < tiles.length && pending.size < executor.concurrency) {
      const rect = tiles[next++]!;
      const data = extractTile(image, rect, plan.paddedHeight, plan.paddedWidth, mc, o.padMode);
      const p = executor.run({ rect, data, height: plan.paddedHeight, width: plan.paddedWidth, channels: mc });
      p.catch(() => undefined); // observed below, in order; never an unhandled rejection
      pending.set(rect.index, p);
    }
  };
  const onAbort = () => executor.cancel?.();
  signal?.addEventListener('abort', onAbort);
  let asm: Assembler | undefined;
  let scale = o.scale;
  try {
    for (let i = 0; i < tiles.length; i++) {
      dispatch();
      const rect = tiles[i]!;
      const y = await pending.get(i)!;
      pending.delete(i);
      if (signal?.aborted) throw abortErrorOf(signal);
      const s = y.height / plan.paddedHeight;
      if (scale === undefined) scale = s;
      if (s !== scale)
        throw new ShapeError(
          `restore: the model scaled tile ${i} by ${s}, but ${o.scale !== undefined ? 'the scale option says' : 'it scaled the first tile by'} ${scale}`,
        );
      asm ??= new Assembler(image, plan, scale, mc, o);
      asm.add(rect, y);
      // The last tile of a row of tiles: every output row above the next tile row is final.
      if (rect.column === plan.columnStarts.length - 1) {
        const nextRow = plan.rowStarts[rect.row + 1];
        asm.flush(nextRow === undefined ? image.height * scale : nextRow * scale);
      }
      if (o.onProgress) await o.onProgress({ x: rect.x, y: rect.y, w: rect.w, h: rect.h, index: i, total: tiles.length, fraction: (i + 1) / tiles.length });
      if (signal?.aborted) throw abortErrorOf(signal);
    }
  } catch (e) {
    executor.cancel?.();
    await Promise.allSettled(pending.values());
    if (signal?.aborted) throw abortErrorOf(signal);
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return asm!.out;
}
