/**
 * A worker thread of a `WorkerPool`: its own tfjs with its own backend. It imports the packages that register
 * the model's classes, rebuilds the model from its description, then runs the tiles it is sent and sends back
 * their outputs (the main thread blends them).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { useBackend, type BackendName } from '@restorekit/core';
import { loadModelDescription, runModelOnTile, type RestoreModel } from '../model.js';
import { serializeError, type TileMessage, type WorkerInit, type WorkerMessage } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('@restorekit/runtime worker: this script runs as a worker thread of a WorkerPool, not on its own');
const init = workerData as WorkerInit;
const post = (m: WorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

async function start(): Promise<RestoreModel> {
  for (const spec of init.imports) await import(/* @vite-ignore */ spec);
  await useBackend(init.backend as BackendName);
  // tfjs's cpu backend greets on its first write in Node ("Hi, looks like you are running TensorFlow.js in
  // Node.js..."); the main thread has said it already, n workers need not say it n more times.
  const cpu = tf.backend() as unknown as { firstUse?: boolean };
  if (init.backend === 'cpu' && cpu.firstUse === true) cpu.firstUse = false;
  return loadModelDescription(init.description);
}

const ready = start();
ready.then(
  () => post({ type: 'ready', backend: init.backend }),
  (e: unknown) => post({ type: 'error', id: -1, error: serializeError(e) }),
);

port.on('message', (m: TileMessage) => {
  if (m.type !== 'tile') return;
  void (async () => {
    try {
      const model = await ready;
      const y = await runModelOnTile(model, m.data, m.height, m.width, m.channels, m.outputIndex);
      // A copy: what data() returns may be the backend's own storage (cpu) or a view into its heap, never to be detached.
      const data = y.data.slice();
      post({ type: 'result', id: m.id, data, height: y.height, width: y.width, channels: y.channels }, [data.buffer as ArrayBuffer]);
    } catch (e) {
      post({ type: 'error', id: m.id, error: serializeError(e) });
    }
  })();
});
