// Official PyTorch checkpoint (.pth) → restorekit model → run → PyTorch-named safetensors → a fresh model → the same
// output; then the same conversion with the `restorekit convert` command, called from JavaScript.
//   node index.mjs [--weights restormer.pth] [--backend cpu|wasm] [--out convert-out]
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend, loadCheckpoint, exportTorchStateDict, serializeSafetensors, parseSafetensors, countParams } from '@restorekit/core';
import { createModel } from '@restorekit/models';
import { readImage } from '@restorekit/runtime/node';
import { run } from '@restorekit/cli';

const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const backend = arg('backend', 'wasm');
const out = resolve(arg('out', 'convert-out'));
const shared = resolve(process.env.RESTOREKIT_SHARED ?? new URL('../../../shared', import.meta.url).pathname);
const pth = resolve(arg('weights', join(shared, 'fixtures/pth/restormer_params.pth')));
mkdirSync(out, { recursive: true });
await useBackend(backend);
console.log(`backend: ${tf.getBackend()}`);

// 1. The official checkpoint, read without executing anything in it ({ params: state_dict } is unwrapped).
const sd = await loadCheckpoint(pth);
console.log(`${pth.split('/').pop()}: ${Object.keys(sd).length} tensors, e.g. ${Object.keys(sd)[0]} ${JSON.stringify(sd[Object.keys(sd)[0]].shape)}`);

// 2. A restorekit Restormer of the checkpoint's configuration (the narrow test model: dim 8, one block per level,
//    heads [1, 2, 4, 8]), loaded strictly by PyTorch names. For an official release it is
//    createModel('restormer', { preset: 'official', weights: 'deraining.pth' }).
const options = { preset: 'tiny', heads: [1, 2, 4, 8] };
const model = await createModel('restormer', { ...options, weights: pth });
console.log(`restormer (${JSON.stringify(options)}): ${countParams(model)} parameters, weights from ${pth.split('/').pop()}`);

// 3. Run it on a 64×64 crop of a Kodak image.
const kodak = await readImage(join(shared, 'datasets/kodak24/kodim23.png'));
const crop = new Float32Array(64 * 64 * 3);
for (let y = 0; y < 64; y++)
  for (let x = 0; x < 64; x++) for (let c = 0; c < 3; c++) crop[(y * 64 + x) * 3 + c] = kodak.data[((200 + y) * kodak.width + 300 + x) * 3 + c] / 255;
const input = tf.tensor4d(crop, [1, 64, 64, 3]);
const y1 = await model.apply(input).data();
console.log(`output on kodim23 [200:264, 300:364]: mean ${(y1.reduce((s, v) => s + v, 0) / y1.length).toFixed(6)}`);

// 4. Export PyTorch names and layouts → safetensors (loads in PyTorch with safetensors.torch.load_file).
const exported = await exportTorchStateDict(model);
const bytes = serializeSafetensors(exported);
writeFileSync(join(out, 'restormer.safetensors'), bytes);
console.log(`exported ${Object.keys(exported).length} tensors → ${out}/restormer.safetensors (${bytes.length} bytes)`);
const sameKeys = Object.keys(exported).sort().join() === Object.keys(sd).sort().join();
const sameValues = Object.keys(sd).every((k) => exported[k].data.every((v, i) => v === sd[k].data[i]));
console.log(`same keys as the .pth: ${sameKeys}; same values: ${sameValues}`);

// 5. A fresh model from the safetensors file: identical output.
const fresh = await createModel('restormer', { ...options, weights: readFileSync(join(out, 'restormer.safetensors')) });
const y2 = await fresh.apply(input).data();
const diff = y1.reduce((m, v, i) => Math.max(m, Math.abs(v - y2[i])), 0);
console.log(`fresh model from restormer.safetensors: max |Δ| = ${diff}`);

// 6. The CLI does the same conversion: `restorekit convert restormer.pth restormer-cli.safetensors`.
const cliOut = join(out, 'restormer-cli.safetensors');
let summary = '';
const code = await run(['convert', pth, cliOut], {
  stdout: {
    write: (s) => {
      summary += s;
    },
  },
  stderr: { write: () => {} },
});
console.log(`restorekit convert ${pth.split('/').pop()} restormer-cli.safetensors → exit code ${code}; ${summary.trim().split('\n')[0]}`);
const cliSd = parseSafetensors(readFileSync(cliOut)).tensors;
const fromCli = await createModel('restormer', { ...options, weights: cliSd });
const y3 = await fromCli.apply(input).data();
const diffCli = y1.reduce((m, v, i) => Math.max(m, Math.abs(v - y3[i])), 0);
console.log(`model from the CLI's file (${statSync(cliOut).size} bytes): max |Δ| = ${diffCli}`);

const ok = sameKeys && sameValues && diff === 0 && code === 0 && diffCli === 0;
console.log(ok ? 'OK: identical outputs from the .pth, the exported safetensors and the CLI conversion' : 'FAIL');
process.exit(ok ? 0 : 1);
