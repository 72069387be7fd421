/**
 * What `restore` and `eval` share: the backend, the model (and its weights), the tile options, and worker threads
 * (`--workers`), restoring one image at a time with a progress bar over its tiles.
 */
import type { ImageBuffer } from '@restorekit/runtime';
import { createWorkerPool, restore, type WorkerPool } from '@restorekit/runtime/node';
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { selectBackend, tensorflowCpuLine, type ChosenBackend } from './backend.js';
import type { Context } from './context.js';
import { FailureError, UsageError } from './errors.js';
import { buildModel, checkFile, defaultModel, modelInChannels, parseModel, restoredOutputIndex, type BuiltModel, type ModelChoice } from './models.js';

export interface ModelFlags {
  model?: string;
  weights?: string;
  backend?: string;
  tile: number;
  overlap: number;
  workers?: number | 'auto';
}

export const DEFAULT_TILE = 512;
export const DEFAULT_OVERLAP = 32;

/** `--tile <px>`: a positive integer. */
export function parseTile(text: string): number {
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError('the tile size is a positive integer (pixels).');
  return v;
}

/** `--overlap <px>`: an integer ≥ 0. */
export function parseOverlap(text: string): number {
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(v)) throw new InvalidArgumentError('the overlap is an integer ≥ 0 (pixels).');
  return v;
}

/** `--workers <n>`: a positive integer or 'auto' (one per core). */
export function parseWorkers(text: string): number | 'auto' {
  if (text === 'auto') return 'auto';
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError("the worker count is a positive integer or 'auto'.");
  return v;
}

/** Checks the flags that need no model or backend (usage errors come before any work). */
export function resolveModelChoice(flags: ModelFlags): ModelChoice {
  const choice = flags.model !== undefined ? parseModel(flags.model) : defaultModel();
  if (flags.overlap * 2 > flags.tile) throw new UsageError(`--overlap ${flags.overlap} is more than half of --tile ${flags.tile}`);
  return choice;
}

export class Restorer {
  private constructor(
    readonly built: BuiltModel,
    readonly backend: ChosenBackend,
    private readonly flags: ModelFlags,
    private readonly modelChannels: 1 | 3,
    private readonly outputIndex: number,
    private readonly pool: WorkerPool | null,
  ) {}

  /** Starts the backend, builds the model (with its weights) and, with `--workers`, the worker threads. */
  static async create(ctx: Context, choice: ModelChoice, flags: ModelFlags): Promise<Restorer> {
    if (flags.weights !== undefined) checkFile(resolve(ctx.cwd, flags.weights), 'weights file', flags.weights);
    const backend = await selectBackend(flags.backend, ctx.cwd, (l) => ctx.ui.log(l));
    ctx.ui.log(`backend: ${backend.name} (${backend.why})`);
    if (backend.tensorflowCpu) ctx.ui.log(tensorflowCpuLine(backend.tensorflowCpu));
    const built = await buildModel(choice, flags.weights, ctx.cwd, (l) => ctx.ui.log(l));
    try {
      const inC = modelInChannels(built.model) ?? 3;
      if (inC !== 1 && inC !== 3) throw new UsageError(`${choice.id} takes ${inC} input channels; restorekit restore works with gray (1) and RGB (3) models`);
      const multiple = (built.model as { sizeMultiple?: unknown }).sizeMultiple;
      if (typeof multiple === 'number' && flags.tile % multiple !== 0)
        throw new UsageError(
          `--tile ${flags.tile}: ${choice.id} needs tiles of a multiple of ${multiple} pixels (e.g. ${Math.max(multiple, Math.round(flags.tile / multiple) * multiple)})`,
        );
      const outputIndex = restoredOutputIndex(built.model, inC);
      let pool: WorkerPool | null = null;
      if (flags.workers !== undefined) {
        const imports = [import.meta.resolve('@restorekit/models'), ...(backend.tfjsNode ? [backend.tfjsNode] : [])];
        pool = await createWorkerPool(built.model, { workers: flags.workers, backend: backend.name, imports, modelChannels: inC as 1 | 3 });
        ctx.ui.log(`workers: ${pool.size} threads on ${backend.name}`);
      }
      return new Restorer(built, backend, flags, inC as 1 | 3, outputIndex, pool);
    } catch (e) {
      built.model.dispose();
      throw e;
    }
  }

  /** Restores one image, with a bar over its tiles (labelled `label`) once it takes more than a second. */
  async restore(ctx: Context, image: ImageBuffer, label: string): Promise<ImageBuffer> {
    if (this.modelChannels === 1 && image.channels !== 1)
      throw new FailureError(`${this.built.choice.id} is a gray model; this image has ${image.channels} channels`);
    let bar: ReturnType<Context['ui']['bar']> | null = null;
    const options = {
      tileSize: this.flags.tile,
      overlap: this.flags.overlap,
      modelChannels: this.modelChannels,
      outputIndex: this.outputIndex,
      onProgress: ({ index, total }: { index: number; total: number }) => {
        bar ??= ctx.ui.bar(`${label} tiles`, total);
        bar.update(index + 1);
      },
    };
    try {
      return this.pool ? await this.pool.restore(image, options) : await restore(this.built.model, image, options);
    } finally {
      (bar as { done(): void } | null)?.done();
    }
  }

  async close(): Promise<void> {
    try {
      await this.pool?.close();
    } finally {
      this.built.model.dispose();
    }
  }
}
