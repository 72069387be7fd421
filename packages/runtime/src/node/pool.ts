import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, opt, resolveOptions } from '@restorekit/core';
import { assemble, type TileExecutor, type TileTask } from '../engine.js';
import { AbortError } from '../errors.js';
import type { ImageBuffer } from '../image.js';
import { describeModel, isModuleModel, type ModelDescription, type ModuleModel, type RestoreModel, type TileOutput } from '../model.js';
import { RESTORE_OPTIONS, instanceOpt, modelSizeMultiple, resolveRestoreOptions, type RestoreOptions } from '../options.js';
import { deserializeError, type TileMessage, type WorkerInit, type WorkerMessage } from './protocol.js';

const BACKENDS = ['cpu', 'wasm', 'tensorflow'] as const;
type WorkerBackend = (typeof BACKENDS)[number];

/** Options of `createWorkerPool` (and the worker options of the Node `restore`). */
export const WORKER_OPTIONS = {
  /** Worker threads: a positive integer, or 'auto' for one per core (`os.availableParallelism()`). */
  workers: opt.optional(
    opt.custom<number | 'auto'>("a positive integer or 'auto'", (v) => v === 'auto' || (Number.isInteger(v) && (v as number) > 0) || 'not a worker count'),
  ),
  /** The tfjs backend of each worker. Default: this thread's backend if it is cpu, wasm or tensorflow, else cpu. */
  backend: opt.optional(
    opt.custom<WorkerBackend>(
      `one of ${BACKENDS.map((b) => `'${b}'`).join(', ')}`,
      (v) => BACKENDS.includes(v as WorkerBackend) || 'backends a worker thread can run',
    ),
  ),
  /**
   * Modules each worker imports before rebuilding the model: the packages that register its classes
   * ('@restorekit/models', ..., or `import.meta.resolve('@restorekit/models')` where the package manager keeps
   * dependencies apart), and '@tensorflow/tfjs-node' for the tensorflow backend. Absolute paths are accepted.
   */
  imports: opt.custom<string[]>('a list of module specifiers', (v) => (Array.isArray(v) && v.every((s) => typeof s === 'string')) || 'strings only', []),
  /** The worker script, for bundled apps; default: worker.js next to this module (dist/worker.js). */
  workerUrl: instanceOpt<string | URL>('a file path or URL', (v) => typeof v === 'string' || v instanceof URL),
  /** Input channels of the model, to build an unbuilt layer before its weights are sent. */
  modelChannels: RESTORE_OPTIONS.modelChannels,
};

type Input<S> = { [K in keyof S]?: S[K] extends { defaultValue?: infer T } ? T : never };
export type WorkerPoolOptions = Input<typeof WORKER_OPTIONS>;

/** A model for a worker pool: a layer/block/LayersModel (its description is sent), a module that exports one, or a description. */
export type PoolModel = RestoreModel | ModuleModel | ModelDescription;

interface Job {
  id: number;
  task: TileTask;
  outputIndex: number;
  session: object;
  resolve: (y: TileOutput) => void;
  reject: (e: unknown) => void;
}
interface Slot {
  worker: Worker;
  index: number;
  job: Job | null;
}

const toHref = (s: string): string =>
  isAbsolute(s) ? pathToFileURL(s).href : s.startsWith('./') || s.startsWith('../') ? pathToFileURL(resolvePath(s)).href : s;

function defaultBackend(): WorkerBackend {
  if (tf.engine().backendNames().length === 0) return 'cpu';
  const b = tf.getBackend();
  return (BACKENDS as readonly string[]).includes(b) ? (b as WorkerBackend) : 'cpu';
}

/**
 * Tiles on every core: `size` worker threads, each with its own tfjs backend and its own copy of the model, run
 * the tiles; this thread cuts and blends (`restore` gives the same result as on one thread: the same blending, in
 * the same order). Create it once, restore many images, then `close()` it.
 */
export class WorkerPool {
  readonly size: number;
  readonly backend: string;
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private failure: Error | null = null;
  private closing = false;

  private constructor(
    slots: Slot[],
    backend: string,
    private readonly sizeMultiple: number | undefined,
  ) {
    this.slots = slots;
    this.size = slots.length;
    this.backend = backend;
    for (const s of slots) {
      s.worker.on('message', (m: WorkerMessage) => this.onMessage(s, m));
      s.worker.on('error', (e) => this.fail(new BackendError(`worker ${s.index} failed: ${e.message}`)));
      s.worker.on('exit', (code) => {
        if (!this.closing) this.fail(new BackendError(`worker ${s.index} exited unexpectedly (code ${code})`));
      });
    }
  }

  /** Starts the workers and waits until each has rebuilt the model; a worker's error (a missing import, a weight that does not fit) is rethrown here as its typed error. */
  static async create(model: PoolModel, options: WorkerPoolOptions = {}): Promise<WorkerPool> {
    const o = resolveOptions('createWorkerPool', WORKER_OPTIONS, options);
    const n = o.workers === undefined || o.workers === 'auto' ? Math.max(1, availableParallelism()) : o.workers;
    const backend = o.backend ?? defaultBackend();
    const description = await describeModel(
      isModuleModel(model) ? { module: toHref(typeof model.module === 'string' ? model.module : model.module.href), export: model.export } : model,
      { channels: o.modelChannels },
    );
    const url =
      o.workerUrl === undefined
        ? new URL('./worker.js', import.meta.url)
        : typeof o.workerUrl === 'string'
          ? pathToFileURL(resolvePath(o.workerUrl))
          : o.workerUrl;
    if (url.protocol === 'file:' && !existsSync(fileURLToPath(url)))
      throw new BackendError(
        `createWorkerPool: the worker script ${fileURLToPath(url)} does not exist (bundled app? copy @restorekit/runtime/dist/worker.js and pass its path as workerUrl)`,
      );
    const init: WorkerInit = { description, backend, imports: o.imports.map(toHref) };
    const slots: Slot[] = Array.from({ length: n }, (_, index) => ({ worker: new Worker(url, { workerData: init }), index, job: null }));
    try {
      await Promise.all(
        slots.map(
          (s) =>
            new Promise<void>((resolve, reject) => {
              const onMessage = (m: WorkerMessage) => {
                if (m.type === 'ready') done(null);
                else if (m.type === 'error' && m.id === -1) done(deserializeError(m.error, `worker ${s.index}`));
              };
              const onError = (e: Error) => done(new BackendError(`worker ${s.index} failed to start: ${e.message}`));
              const onExit = (code: number) => done(new BackendError(`worker ${s.index} exited while starting (code ${code})`));
              const done = (e: Error | null) => {
                s.worker.off('message', onMessage);
                s.worker.off('error', onError);
                s.worker.off('exit', onExit);
                if (e) reject(e);
                else resolve();
              };
              s.worker.on('message', onMessage);
              s.worker.on('error', onError);
              s.worker.on('exit', onExit);
            }),
        ),
      );
    } catch (e) {
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw e;
    }
    return new WorkerPool(slots, backend, isModuleModel(model) ? undefined : modelSizeMultiple(model));
  }

  /** `restore` with this pool's workers running the model (same options and result as the single-thread `restore`). */
  async restore(image: ImageBuffer, options: RestoreOptions = {}): Promise<ImageBuffer> {
    const o = resolveRestoreOptions('restore', RESTORE_OPTIONS, options, { sizeMultiple: this.sizeMultiple });
    this.check();
    const session = {};
    const executor: TileExecutor = {
      // Two tiles per worker in flight: a worker never waits for this thread to cut its next tile.
      concurrency: 2 * this.size,
      run: (task) =>
        new Promise<TileOutput>((resolve, reject) => {
          this.check();
          this.queue.push({ id: this.nextId++, task, outputIndex: o.outputIndex, session, resolve, reject });
          this.pump();
        }),
      cancel: () => this.cancel(session),
    };
    return assemble(image, o, executor);
  }

  /** Stops the workers (tiles in flight are rejected). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.rejectAll(new BackendError('the worker pool was closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.closing) throw new BackendError('the worker pool is closed');
  }

  private pump(): void {
    for (const s of this.slots) {
      if (s.job || this.queue.length === 0) continue;
      const job = this.queue.shift()!;
      s.job = job;
      const { data, height, width, channels } = job.task;
      const msg: TileMessage = { type: 'tile', id: job.id, data, height, width, channels, outputIndex: job.outputIndex };
      s.worker.postMessage(msg, [data.buffer as ArrayBuffer]);
    }
  }

  private onMessage(s: Slot, m: WorkerMessage): void {
    if (m.type === 'ready') return;
    const job = s.job;
    if (!job || job.id !== m.id) return;
    s.job = null;
    if (m.type === 'result') job.resolve({ data: m.data, height: m.height, width: m.width, channels: m.channels });
    else job.reject(deserializeError(m.error, `worker ${s.index}`));
    this.pump();
  }

  /** Rejects a restore's queued tiles and stops waiting for its running ones (their workers finish them and move on). */
  private cancel(session: object): void {
    const err = new AbortError('restore was cancelled');
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]!.session === session) this.queue.splice(i, 1)[0]!.reject(err);
    for (const s of this.slots) if (s.job?.session === session) s.job.reject(err);
  }

  private fail(e: Error): void {
    if (this.failure || this.closing) return;
    this.failure = e;
    this.rejectAll(e);
    for (const s of this.slots) void s.worker.terminate();
  }

  private rejectAll(e: Error): void {
    for (const job of this.queue.splice(0)) job.reject(e);
    for (const s of this.slots) {
      s.job?.reject(e);
      s.job = null;
    }
  }
}

/** Starts a pool of `workers` threads running `model` (see `WorkerPool`). */
export function createWorkerPool(model: PoolModel, options: WorkerPoolOptions = {}): Promise<WorkerPool> {
  return WorkerPool.create(model, options);
}

/** Options of the Node `restore`: those of the main `restore` plus the worker pool's. */
export type NodeRestoreOptions = RestoreOptions & WorkerPoolOptions;
