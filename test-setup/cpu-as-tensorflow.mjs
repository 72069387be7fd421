/**
 * A stand-in for `import '@tensorflow/tfjs-node'` on machines where tfjs-node cannot be installed:
 * registers tfjs's cpu backend and kernels a second time under the name 'tensorflow'. It exists to
 * check the node-tensorflow wiring of the tests and benchmarks (vitest.shared.ts):
 *   RESTOREKIT_TFJS_NODE=./test-setup/cpu-as-tensorflow.mjs RESTOREKIT_NO_BROWSER=1 pnpm --filter @restorekit/fft test
 * Results under it are the cpu backend's, not tfjs-node's: the benchmarks refuse to run under it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

globalThis.__RESTOREKIT_TFJS_STANDIN__ = true;
if (!tf.findBackendFactory('tensorflow')) {
  tf.registerBackend('tensorflow', () => new MathBackendCPU(), 0);
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'tensorflow' });
}
