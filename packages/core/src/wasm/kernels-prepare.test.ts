import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { gelu } from '../ops/basic.js';
import { GELU_KERNEL, prepareWasmKernels, useWasmKernels } from './kernels.js';

/**
 * prepareWasmKernels (what core's useBackend('wasm') awaits) on the wasm backend of every test environment — in the
 * browser projects on the page's main thread, where Chrome refuses to compile or instantiate a module over 4 KB
 * synchronously, so only the asynchronous path can bring the kernels there. The file's own backend is restored after.
 */
describe('prepareWasmKernels', () => {
  it('compiles and instantiates the kernels asynchronously on the wasm backend, and GELU then runs through them', async () => {
    const own = tf.getBackend();
    const inBrowser = typeof window !== 'undefined';
    // in the browser the backend's .wasm files come from the dev server (Node reads them from the package)
    if (inBrowser) setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
    try {
      expect(await tf.setBackend('wasm')).toBe(true);
      expect(await prepareWasmKernels()).toBe(true);
      const x = tf.tensor1d([-3, -0.5, 0, 0.5, 3]);
      expect(useWasmKernels(x)).toBe(true);
      const info = await tf.profile(() => gelu(x));
      expect(info.kernels.map((k) => k.name)).toContain(GELU_KERNEL);
      const y = info.result as tf.Tensor;
      // x·Φ(x) in float64: Φ(3) = 0.99865010196837, Φ(0.5) = 0.69146246127401
      const want = [-3 * (1 - 0.99865010196837), -0.5 * (1 - 0.69146246127401), 0, 0.5 * 0.69146246127401, 3 * 0.99865010196837];
      const ys = await y.data();
      for (let i = 0; i < 5; i++) expect(Math.abs(ys[i]! - want[i]!), `gelu(${[-3, -0.5, 0, 0.5, 3][i]})`).toBeLessThan(5e-7);
      tf.dispose([x, y]);
    } finally {
      await tf.setBackend(own);
    }
  });
});
