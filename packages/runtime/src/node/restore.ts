import { resolveOptions } from '@restorekit/core';
import { abortErrorOf } from '../errors.js';
import type { ImageBuffer } from '../image.js';
import { disposeModel, importModuleModel, isModelDescription, isModuleModel, loadModelDescription, type ModelDescription, type ModuleModel } from '../model.js';
import { RESTORE_OPTIONS, type RestoreOptions } from '../options.js';
import { restore as restoreHere } from '../restore.js';
import { WORKER_OPTIONS, WorkerPool, type NodeRestoreOptions, type PoolModel } from './pool.js';

const NODE_RESTORE_OPTIONS = { ...RESTORE_OPTIONS, ...WORKER_OPTIONS };
const WORKER_KEYS = new Set(Object.keys(WORKER_OPTIONS).filter((k) => k !== 'modelChannels'));

/**
 * `restore` for Node: as the main entry's, plus `workers: n` (or 'auto') to run the tiles on n worker threads,
 * each with its own tfjs backend and copy of the model, while this thread cuts and blends; the result is the same as
 * on one thread. The model must then be describable (a tfjs layer, restorekit block or LayersModel) or a module
 * (`{ module, export }`); see `createWorkerPool` to reuse the workers across images.
 */
export async function restore(model: PoolModel, image: ImageBuffer, options: NodeRestoreOptions = {}): Promise<ImageBuffer> {
  resolveOptions('restore', NODE_RESTORE_OPTIONS, options); // every option checked, typos named, before any work
  const restoreOptions = Object.fromEntries(Object.entries(options).filter(([k]) => !WORKER_KEYS.has(k))) as RestoreOptions;
  const { workers } = options;
  if (workers === undefined) {
    if (!isModuleModel(model) && !isModelDescription(model)) return restoreHere(model, image, restoreOptions);
    // A model built here for this call is disposed after it.
    const spec = model as ModuleModel | ModelDescription;
    const fromModule = isModuleModel(spec) || (spec as ModelDescription).kind === 'module';
    const { model: m, created } = fromModule
      ? await importModuleModel(spec as ModuleModel)
      : { model: await loadModelDescription(spec as ModelDescription), created: true };
    try {
      return await restoreHere(m, image, restoreOptions);
    } finally {
      if (created) disposeModel(m);
    }
  }
  if (options.signal?.aborted) throw abortErrorOf(options.signal);
  const { backend, imports, workerUrl, modelChannels } = options;
  const pool = await WorkerPool.create(model, { workers, backend, imports, workerUrl, modelChannels });
  try {
    return await pool.restore(image, restoreOptions);
  } finally {
    await pool.close();
  }
}
