/**
 * Selects the backend of the current vitest project (node-cpu, node-wasm, node-tensorflow, webgl, webgpu) and
 * points fixture reads at ../shared (the browser fetches them through the dev server's /@fs/).
 */
import { beforeAll, beforeEach, inject } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';

declare module 'vitest' {
  export interface TaskMeta {
    backend?: string;
  }
  export interface ProvidedContext {
    backend: 'cpu' | 'wasm' | 'webgl' | 'webgpu' | 'tensorflow';
    sharedDir: string;
    /** node-tensorflow only: file URL of the module that registers the 'tensorflow' backend (vitest.shared.ts). */
    tfjsNode?: string;
  }
}

const backend = inject('backend');
const sharedDir = inject('sharedDir');
const isBrowser = typeof window !== 'undefined' && typeof (globalThis as { process?: unknown }).process === 'undefined';

// Recorded in test-results/vitest.json so scripts/test-summary.mjs can count per backend.
beforeEach((ctx) => {
  ctx.task.meta.backend = backend;
});

beforeAll(async () => {
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (backend === 'webgl') await import('@tensorflow/tfjs-backend-webgl');
  if (backend === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  if (backend === 'tensorflow') {
    const mod = inject('tfjsNode')!;
    const node = (await import(/* @vite-ignore */ mod)) as { Tensor?: unknown };
    // tfjs-node registers its backend in the tfjs-core copy it resolves; a different version of
    // @tensorflow/tfjs-core than ours (4.22.0) means a second engine that our tensors never see, and a second
    // copy of the same version (tfjs-node re-exports its tfjs-core, so its Tensor is not ours) means two module
    // instances: scripts/tfjs-node.sh links .tfjs-node's tfjs-core to the workspace's to have one.
    if (!tf.findBackendFactory('tensorflow'))
      throw new Error(
        `${mod} did not register the 'tensorflow' backend with this @tensorflow/tfjs-core (${tf.version_core}): install @tensorflow/tfjs-node@${tf.version_core}`,
      );
    if (node.Tensor !== undefined && node.Tensor !== tf.Tensor)
      throw new Error(`${mod} loads another copy of @tensorflow/tfjs-core than the tests: make its tfjs-core the workspace's (scripts/tfjs-node.sh does)`);
  }
  // webgl: shaders that read tensor shapes from uniforms, so that one compiled program serves every shape of an op
  // (tfjs's flag; off by default). SwiftShader compiles each program on the CPU, and with shapes compiled in, shader
  // compiling was most of the webgl tests' time: restormer's webgl suite 105 s → 60 s, LCDNet's full-model fixture
  // 22 s → 12 s, same results. The math is tfjs's either way; the default shaders (shapes compiled in) stay covered
  // by models' Restormer, AnyIR and DRCNet tests, which turn the flag off again (models' test-helpers.ts).
  if (backend === 'webgl') tf.env().set('WEBGL_USE_SHAPES_UNIFORMS', true);
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to initialise`);
  await tf.ready();
  // Read by @restorekit/core/testing's fixture loader (no import here, so no second module instance).
  (globalThis as Record<string, unknown>).__RESTOREKIT_FIXTURES__ = isBrowser
    ? {
        sharedDir,
        reader: async (rel: string) => {
          const res = await fetch(`/@fs${sharedDir}/${rel}`);
          if (!res.ok) throw new Error(`fixtures: ${rel}: HTTP ${res.status}`);
          return new Uint8Array(await res.arrayBuffer());
        },
      }
    : { sharedDir };
});
