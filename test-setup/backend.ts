/**
 * Selects the backend of the current vitest project (node-cpu, node-wasm, webgl, webgpu) and
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
    backend: 'cpu' | 'wasm' | 'webgl' | 'webgpu';
    sharedDir: string;
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
