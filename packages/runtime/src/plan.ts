import { ShapeError } from '@restorekit/core';
import { RESTORE_OPTIONS, resolveRestoreOptions, type RestoreOptions } from './options.js';

/** One tile: its place in the input image, row-major index, and grid position. */
export interface TileRect {
  x: number;
  y: number;
  w: number;
  h: number;
  index: number;
  column: number;
  row: number;
}

/** How an image is cut into tiles. */
export interface TilePlan {
  width: number;
  height: number;
  /** Left edges of the tile columns and top edges of the tile rows (increasing). */
  columnStarts: number[];
  rowStarts: number[];
  /** Size of every tile (the image size along an axis that one tile covers). */
  tileWidth: number;
  tileHeight: number;
  /** Size of the model input per tile: tile size padded up to the size multiple. */
  paddedWidth: number;
  paddedHeight: number;
  overlap: number;
  margin: number;
  tiles: TileRect[];
}

/**
 * Tile starts along one axis: one tile if the axis fits, else the fewest tiles of size `tile` whose neighbours
 * overlap by at least `overlap`, spread evenly from 0 to `length − tile` (every tile has the full size, so the
 * model sees one input shape, and edge tiles are not thin slivers).
 */
export function axisStarts(length: number, tile: number, overlap: number): number[] {
  if (length <= tile) return [0];
  const n = Math.ceil((length - overlap) / (tile - overlap));
  return Array.from({ length: n }, (_, i) => Math.round((i * (length - tile)) / (n - 1)));
}

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

/** The tiles `restore` would use for an image of this size with these options (same defaults). */
export function planTiles(width: number, height: number, options: RestoreOptions = {}): TilePlan {
  const o = resolveRestoreOptions('planTiles', RESTORE_OPTIONS, options);
  return makePlan(width, height, o.tileSize, o.overlap, o.margin, o.sizeMultiple);
}

export function makePlan(width: number, height: number, tileSize: number, overlap: number, margin: number, sizeMultiple: number): TilePlan {
  for (const [k, v] of [
    ['width', width],
    ['height', height],
  ] as const)
    if (!Number.isInteger(v) || v < 1) throw new ShapeError(`planTiles: ${k} must be a positive integer, got ${v}`);
  const columnStarts = axisStarts(width, tileSize, overlap);
  const rowStarts = axisStarts(height, tileSize, overlap);
  const tileWidth = Math.min(width, tileSize);
  const tileHeight = Math.min(height, tileSize);
  const tiles: TileRect[] = [];
  rowStarts.forEach((y, row) => {
    columnStarts.forEach((x, column) => {
      tiles.push({ x, y, w: tileWidth, h: tileHeight, index: tiles.length, column, row });
    });
  });
  return {
    width,
    height,
    columnStarts,
    rowStarts,
    tileWidth,
    tileHeight,
    paddedWidth: roundUp(tileWidth, sizeMultiple),
    paddedHeight: roundUp(tileHeight, sizeMultiple),
    overlap,
    margin,
    tiles,
  };
}

function ramp(t: number, blend: 'cosine' | 'linear'): number {
  if (t <= 0) return 0;
  if (t >= 1) return 1;
  return blend === 'cosine' ? 0.5 - 0.5 * Math.cos(Math.PI * t) : t;
}

/**
 * Blending weights of one tile along one axis, per output pixel (`length·scale` of them). An edge that is an image
 * border keeps full weight; an inner edge gets weight 0 over its first `margin` input pixels, then rises over
 * `overlap − 2·margin` pixels to 1. 2D weights are products of the two axes' weights.
 */
export function tileWindow(
  length: number,
  scale: number,
  rampStart: boolean,
  rampEnd: boolean,
  overlap: number,
  margin: number,
  blend: 'cosine' | 'linear',
): Float64Array {
  const out = new Float64Array(length * scale).fill(1);
  const width = overlap - 2 * margin;
  if (width <= 0) return out;
  for (let p = 0; p < out.length; p++) {
    const d = (p + 0.5) / scale;
    let w = 1;
    if (rampStart) w *= ramp((d - margin) / width, blend);
    if (rampEnd) w *= ramp((length - d - margin) / width, blend);
    out[p] = w;
  }
  return out;
}

/**
 * Normalised weights of every tile along an axis (output pixels): each tile's window divided by the sum of the
 * windows of all tiles covering the pixel, so overlapping tiles' weights add up to 1 (weights of a tile = product of
 * its column's and its row's weights, whose sums are products too: the grid is separable).
 */
export function axisWeights(
  starts: number[],
  tile: number,
  length: number,
  scale: number,
  overlap: number,
  margin: number,
  blend: 'cosine' | 'linear',
): Float32Array[] {
  const windows = starts.map((s) => tileWindow(tile, scale, s > 0, s + tile < length, overlap, margin, blend));
  const sum = new Float64Array(length * scale);
  starts.forEach((s, i) => {
    const w = windows[i]!;
    for (let p = 0; p < w.length; p++) sum[s * scale + p] += w[p]!;
  });
  return starts.map((s, i) => {
    const w = windows[i]!;
    const out = new Float32Array(w.length);
    for (let p = 0; p < w.length; p++) {
      const total = sum[s * scale + p]!;
      if (!(total > 0)) throw new Error(`internal: no tile covers output pixel ${s * scale + p} with a non-zero weight`);
      out[p] = w[p]! / total;
    }
    return out;
  });
}
