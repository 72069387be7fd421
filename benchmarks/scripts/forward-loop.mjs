#!/usr/bin/env node
/**
 * One process running the `compact` model's forward on a random side×side tile REPS times on tfjs-wasm (1 thread):
 * prints `{"msPerForward": …}`. runtime.bench starts one, then two at once, to measure what two independent
 * processes get out of this machine's two cores (the ceiling for a pool of two worker threads).
 *   node scripts/forward-loop.mjs <side> <reps>
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { createModel } from '@restorekit/models';

const side = Number(process.argv[2] ?? 320);
const reps = Number(process.argv[3] ?? 10);
await tf.setBackend('wasm');
const model = await createModel('compact', { preset: 'default' });
const x = tf.randomUniform([1, side, side, 3], 0, 1, 'float32', 1);
for (let i = 0; i < 2; i++) tf.dispose(model.apply(x));
const t = performance.now();
for (let i = 0; i < reps; i++) {
  const y = model.apply(x);
  await y.data();
  y.dispose();
}
console.log(JSON.stringify({ msPerForward: (performance.now() - t) / reps }));
