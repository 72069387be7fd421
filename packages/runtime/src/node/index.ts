/**
 * @restorekit/runtime/node: everything of the main entry, plus what needs Node — `restore` with `workers` (tiles on
 * worker_threads, each with its own tfjs backend), `createWorkerPool`, and image files through sharp
 * (`readImage`, `writeImage`), and `useFastestBackend` (tensorflow where the user installed tfjs-node, else wasm).
 */
export * from '../index.js';
export { restore } from './restore.js';
export { WorkerPool, createWorkerPool, WORKER_OPTIONS } from './pool.js';
export type { WorkerPoolOptions, NodeRestoreOptions, PoolModel } from './pool.js';
export { readImage, writeImage } from './io.js';
export {
  useFastestBackend,
  findTfjsNode,
  loadTfjsNode,
  tensorflowCpuState,
  loadedTensorflowCpu,
  oneDNNHazard,
  cpuFlags,
  TFJS_NODE_PACKAGES,
  ONEDNN_DEFAULT_FEATURES,
} from './backend.js';
export type { ChosenBackend, TensorflowCpuOptions, TensorflowCpuState } from './backend.js';
export type { ReadImageOptions, WriteImageOptions } from './io.js';
