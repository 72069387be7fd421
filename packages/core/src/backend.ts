import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from './errors.js';
import { prepareWasmKernels } from './wasm/kernels.js';

export type BackendName = 'cpu' | 'wasm' | 'webgl' | 'webgpu' | 'tensorflow';

const loaders: Record<Exclude<BackendName, 'tensorflow'>, { pkg: string; load: () => Promise<unknown> }> = {
  cpu: { pkg: '@tensorflow/tfjs-backend-cpu', load: () => import('@tensorflow/tfjs-backend-cpu') },
  wasm: { pkg: '@tensorflow/tfjs-backend-wasm', load: () => import('@tensorflow/tfjs-backend-wasm') },
  webgl: { pkg: '@tensorflow/tfjs-backend-webgl', load: () => import('@tensorflow/tfjs-backend-webgl') },
  webgpu: { pkg: '@tensorflow/tfjs-backend-webgpu', load: () => import('@tensorflow/tfjs-backend-webgpu') },
};

/**
 * Registers (by importing its package, which the user installs) and activates a backend.
 * For 'tensorflow' (tfjs-node / tfjs-node-gpu) restorekit never imports the package itself:
 * the user imports `@tensorflow/tfjs-node` (or -gpu) first, which registers the backend, or
 * passes `register` to do so. Throws `BackendError` saying what to install otherwise.
 */
export async function useBackend(name: BackendName, opts: { register?: () => Promise<unknown> | unknown } = {}): Promise<void> {
  if (!tf.findBackendFactory(name)) {
    if (opts.register) await opts.register();
    else if (name === 'tensorflow')
      throw new BackendError(
        "backend 'tensorflow' is not registered: install @tensorflow/tfjs-node (or @tensorflow/tfjs-node-gpu) yourself and `import '@tensorflow/tfjs-node'` before calling useBackend('tensorflow'); restorekit never depends on it",
      );
    else {
      const l = loaders[name as Exclude<BackendName, 'tensorflow'>];
      if (!l) throw new BackendError(`unknown backend '${name}' (cpu, wasm, webgl, webgpu, tensorflow)`);
      try {
        await l.load();
      } catch (e) {
        throw new BackendError(`backend '${name}' needs the package ${l.pkg}: install it (same version as @tensorflow/tfjs-core). ${(e as Error).message}`);
      }
    }
  }
  const ok = await tf.setBackend(name);
  if (!ok)
    throw new BackendError(
      `backend '${name}' failed to initialise here (${name === 'webgpu' ? 'no WebGPU adapter' : name === 'webgl' ? 'no WebGL context' : 'see console'})`,
    );
  await tf.ready();
  // restorekit's wasm kernels, compiled the way a browser's main thread allows (see wasm/kernels.ts)
  if (name === 'wasm') await prepareWasmKernels(tf.backend());
}
