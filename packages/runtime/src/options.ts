import { ConfigError, opt, resolveOptions, type OptionSpec, type ResolvedOptions } from '@restorekit/core';

/** Where a tile lies in the input image (pixels), and how far the restore has come. */
export interface TileProgress {
  /** Left column, top row, width and height of the tile in the input image (before padding). */
  x: number;
  y: number;
  w: number;
  h: number;
  /** 0-based index of the tile (row-major), and the number of tiles. */
  index: number;
  total: number;
  /** Tiles done / total, in (0, 1]. */
  fraction: number;
}

export type ProgressCallback = (p: TileProgress) => void | Promise<void>;

const isAbortSignal = (v: unknown): v is AbortSignal =>
  typeof v === 'object' && v !== null && typeof (v as AbortSignal).aborted === 'boolean' && typeof (v as AbortSignal).addEventListener === 'function';

/** An option holding an object that must be kept as is (not copied as JSON, as `opt.custom` does). */
export function instanceOpt<T>(expects: string, test: (v: unknown) => boolean): OptionSpec<T | undefined, true> {
  return {
    expects: `${expects} (or unset)`,
    hasDefault: true,
    defaultValue: undefined,
    parse: (v) => (v === undefined || v === null ? { ok: true, value: undefined } : test(v) ? { ok: true, value: v as T } : { ok: false }),
  };
}

/** Options of `restore` (and of a worker pool's `restore`). */
export const RESTORE_OPTIONS = {
  /** Side of the square tiles the model sees, in input pixels (the last tiles of a row/column are shifted inwards, not shrunk). */
  tileSize: opt.posInt(512),
  /** Minimum overlap of neighbouring tiles, in input pixels. Must be at most tileSize / 2. */
  overlap: opt.int({ min: 0 }, 32),
  /**
   * Pixels at each inner tile edge that get zero weight (their values, next to the tile's artificial border, are
   * dropped); the weight then rises smoothly over the remaining overlap − 2·margin. Default: floor(overlap / 4).
   * Tiled output equals untiled output for a convolutional model whose receptive radius is ≤ margin.
   */
  margin: opt.optional(opt.int({ min: 0 })),
  /** Weight ramp across an overlap: raised cosine (smooth) or linear. */
  blend: opt.enum(['cosine', 'linear'], 'cosine'),
  /** Tile sides (and the image, when it is smaller than a tile) are padded to a multiple of this. Default: the model's `sizeMultiple` property, else 1. */
  sizeMultiple: opt.optional(opt.posInt()),
  /** How an image smaller than a tile is padded (bottom/right) to `sizeMultiple`; the padding is cropped from the output. */
  padMode: opt.enum(['reflect', 'symmetric', 'replicate', 'zeros'], 'reflect'),
  /** Channels the model takes and returns: 3 (RGB; gray images are replicated in and averaged out) or 1 (gray models, gray images only). */
  modelChannels: opt.custom<1 | 3>('1 or 3', (v) => v === 1 || v === 3 || 'a model takes 1 (gray) or 3 (RGB) channels', 3),
  /** The model's scale factor, if known (checked against its output); otherwise taken from the first tile. */
  scale: opt.optional(opt.posInt()),
  /** For a model that returns several tensors: which one is the restored image. */
  outputIndex: opt.int({ min: 0 }, 0),
  /** Called after each tile has been blended, in tile order; a returned promise is awaited. */
  onProgress: instanceOpt<ProgressCallback>('a function', (v) => typeof v === 'function'),
  /** Cancels the restore: it rejects with `AbortError` once the tile in flight is done, with every tensor it made freed. */
  signal: instanceOpt<AbortSignal>('an AbortSignal', isAbortSignal),
};

export type RestoreSchema = typeof RESTORE_OPTIONS;
type Input<S> = { [K in keyof S]?: S[K] extends OptionSpec<infer T> ? T | undefined : never };
/** Options of `restore`; every one has a default. */
export type RestoreOptions = Input<RestoreSchema>;

/** Resolved restore options with the derived values filled in. */
export interface ResolvedRestore extends Omit<ResolvedOptions<RestoreSchema>, 'margin' | 'sizeMultiple'> {
  margin: number;
  sizeMultiple: number;
}

/** The model's own size multiple (e.g. `Restormer.sizeMultiple`), if it declares one. */
export function modelSizeMultiple(model: unknown): number | undefined {
  if ((typeof model !== 'object' && typeof model !== 'function') || model === null) return undefined;
  const m = (model as { sizeMultiple?: unknown }).sizeMultiple;
  return typeof m === 'number' && Number.isInteger(m) && m > 0 ? m : undefined;
}

/**
 * Validates restore options (unknown keys and bad values → `ConfigError` naming the option, with a suggestion)
 * and the rules between them: overlap ≤ tileSize / 2, 2·margin < overlap, tileSize a multiple of sizeMultiple.
 */
export function resolveRestoreOptions<S extends RestoreSchema>(
  owner: string,
  schema: S,
  raw: unknown,
  model?: unknown,
): ResolvedRestore & Omit<ResolvedOptions<S>, keyof RestoreSchema> {
  const o = resolveOptions(owner, schema, raw) as ResolvedOptions<S>;
  const { tileSize, overlap } = o as ResolvedOptions<RestoreSchema>;
  if (tileSize < 2 * overlap)
    throw new ConfigError(`${owner}: tileSize (${tileSize}) must be at least 2·overlap (2·${overlap} = ${2 * overlap}): neighbouring overlaps would cross`);
  const margin = (o as ResolvedOptions<RestoreSchema>).margin ?? Math.floor(overlap / 4);
  if (overlap > 0 && 2 * margin >= overlap)
    throw new ConfigError(`${owner}: margin (${margin}) must be less than overlap / 2 (${overlap / 2}), so that every pixel keeps a tile with non-zero weight`);
  if (overlap === 0 && margin > 0) throw new ConfigError(`${owner}: margin (${margin}) needs an overlap (overlap is 0)`);
  const sizeMultiple = (o as ResolvedOptions<RestoreSchema>).sizeMultiple ?? modelSizeMultiple(model) ?? 1;
  if (tileSize % sizeMultiple !== 0)
    throw new ConfigError(
      `${owner}: tileSize (${tileSize}) must be a multiple of sizeMultiple (${sizeMultiple}), e.g. ${Math.max(sizeMultiple, Math.round(tileSize / sizeMultiple) * sizeMultiple)}`,
    );
  return { ...o, margin, sizeMultiple } as ResolvedRestore & Omit<ResolvedOptions<S>, keyof RestoreSchema>;
}
