import { opt, resolveOptions } from '@restorekit/core';
import { assemble, type TileExecutor } from './engine.js';
import type { ImageBuffer } from './image.js';
import { checkModel, runModelOnTile, type RestoreModel } from './model.js';
import { RESTORE_OPTIONS, modelSizeMultiple, resolveRestoreOptions, type RestoreOptions } from './options.js';

/** Runs tiles one at a time on this thread's tfjs backend. */
export function deviceExecutor(model: RestoreModel, outputIndex: number): TileExecutor {
  return {
    concurrency: 1,
    run: (t) => runModelOnTile(model, t.data, t.height, t.width, t.channels, outputIndex),
  };
}

/**
 * Restores an image of any size with `model`, tile by tile: each tile (padded to the size multiple) goes to the
 * device, its output is read back and blended into the output on the host with a smooth window, so device memory
 * is bounded by the tile size, not the image size, and overlaps leave no seams.
 *
 * - RGB images go through the model as they are; RGBA images' alpha is passed through untouched (nearest-neighbour
 *   enlarged for a scaling model); gray images go to a gray model (`modelChannels: 1`) or are replicated to RGB and
 *   the model's output averaged back to gray (`modelChannels: 3`, the default).
 * - The output has the input's sample type: 8-bit in → 8-bit out, 16-bit → 16-bit, float → float (unclamped);
 *   integer outputs are clamped to [0, 1]·max and rounded half up (`Math.round`), NaN → 0.
 * - Scaling models (super-resolution) are supported: the output is `scale` times larger (a whole factor, read from
 *   the model's output or given as `scale`).
 *
 * Errors are typed (`ShapeError`, `DTypeError`, `ConfigError` from @restorekit/core; `AbortError` on cancel) and
 * leave no tensors behind.
 */
export async function restore(model: RestoreModel, image: ImageBuffer, options: RestoreOptions = {}): Promise<ImageBuffer> {
  checkModel(model);
  const o = resolveRestoreOptions('restore', RESTORE_OPTIONS, options, model);
  return assemble(image, o, deviceExecutor(model, o.outputIndex));
}

const WARMUP_OPTIONS = {
  /** Side of the square input the model is run on (rounded up to sizeMultiple); use restore's tileSize. */
  tileSize: RESTORE_OPTIONS.tileSize,
  modelChannels: RESTORE_OPTIONS.modelChannels,
  sizeMultiple: RESTORE_OPTIONS.sizeMultiple,
  outputIndex: RESTORE_OPTIONS.outputIndex,
  /** Runs of the model (the first compiles shaders / allocates; later ones show the steady-state time). */
  runs: opt.posInt(1),
};

/** What `warmup` saw. */
export interface WarmupReport {
  /** The model's scale factor (output size / input size). */
  scale: number;
  /** Wall time of each run, including upload and read-back, in ms. */
  milliseconds: number[];
}

/**
 * Runs the model on a blank tile of restore's tile size so that shader compilation, weight upload and memory
 * allocation happen before the first real image; resolves once the output has been read back. Leaves no tensors.
 */
export async function warmup(
  model: RestoreModel,
  options: { tileSize?: number; modelChannels?: 1 | 3; sizeMultiple?: number; outputIndex?: number; runs?: number } = {},
): Promise<WarmupReport> {
  checkModel(model, 'warmup');
  const o = resolveOptions('warmup', WARMUP_OPTIONS, options);
  const m = o.sizeMultiple ?? modelSizeMultiple(model) ?? 1;
  const side = Math.ceil(o.tileSize / m) * m;
  const input = new Float32Array(side * side * o.modelChannels);
  const milliseconds: number[] = [];
  let scale = 1;
  for (let r = 0; r < o.runs; r++) {
    const t0 = performance.now();
    const y = await runModelOnTile(model, input, side, side, o.modelChannels, o.outputIndex);
    milliseconds.push(performance.now() - t0);
    scale = y.height / side;
  }
  return { scale, milliseconds };
}
