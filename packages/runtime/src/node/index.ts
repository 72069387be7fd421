/**
 * @restorekit/runtime/node: everything of the main entry, plus what needs Node — `restore` with `workers` (tiles on
 * worker_threads, each with its own tfjs backend), `createWorkerPool`, and image files through sharp
 * (`readImage`, `writeImage`).
 */
export * from '../index.js';
export { restore } from './restore.js';
export { WorkerPool, createWorkerPool, WORKER_OPTIONS } from './pool.js';
export type { WorkerPoolOptions, NodeRestoreOptions, PoolModel } from './pool.js';
export { readImage, writeImage } from './io.js';
export type { ReadImageOptions, WriteImageOptions } from './io.js';
