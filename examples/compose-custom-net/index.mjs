// Compose a new restoration net from the blocks of four restorekit packages, put official Restormer weights into one
// of its blocks, train it a few steps, save it, reload it and check the reload gives the same output.
//   node index.mjs [--steps 4] [--backend cpu|wasm] [--out compose-out] [--weights restormer.pth]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  useBackend,
  Sequential,
  loadCheckpoint,
  loadTorchStateDict,
  exportTorchStateDict,
  serializeSafetensors,
  parseSafetensors,
  countParams,
} from '@restorekit/core';
import '@restorekit/restormer'; // registers TransformerBlock (MDTA + GDFN)
import '@restorekit/gated-da'; // registers GatedDA
import '@restorekit/dfr'; // registers DFR (region normalisation + SimAM)
import { AdamW, Trainer, Rng } from '@restorekit/train';

const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const steps = Number(arg('steps', '4'));
const backend = arg('backend', 'cpu');
const out = resolve(arg('out', 'compose-out'));
const shared = resolve(process.env.RESTOREKIT_SHARED ?? new URL('../../../shared', import.meta.url).pathname);
const pth = resolve(arg('weights', join(shared, 'fixtures/pth/restormer_params.pth')));
mkdirSync(out, { recursive: true });
await useBackend(backend);
console.log(`backend: ${tf.getBackend()}`);

// 1. The official checkpoint ({ params: state_dict }): its first encoder block sets our width.
const sd = await loadCheckpoint(pth);
const C = sd['encoder_level1.0.norm1.body.weight'].shape[0];
console.log(`checkpoint: ${pth.split('/').pop()} (${Object.keys(sd).length} tensors, encoder width ${C})`);

// 2. The net: core Conv2d → Restormer TransformerBlock → AnyIR GatedDA → DRCNet DFR → core Conv2d, plus a global residual.
//    Every layer is a registered block given as JSON, so the whole net saves and reloads from its config.
const spec = () => ({
  name: 'body',
  layers: [
    { type: 'Conv2d', inChannels: 3, outChannels: C, kernelSize: 3, padding: 1, seed: 1 }, // @restorekit/core
    { type: 'TransformerBlock', channels: C, attention: { heads: 1 }, norm: { normKind: 'WithBias' } }, // @restorekit/restormer
    { type: 'GatedDA', channels: C, batchNorm: 'frozen' }, // @restorekit/gated-da
    { type: 'DFR', inChannels: C, outChannels: C, downsample: false }, // @restorekit/dfr
    { type: 'Conv2d', inChannels: C, outChannels: 3, kernelSize: 3, padding: 1, seed: 2 }, // @restorekit/core
  ],
});
function build() {
  const body = new Sequential(spec());
  const x = tfl.input({ shape: [null, null, 3] });
  const model = tfl.model({ name: 'composed', inputs: x, outputs: tfl.layers.add().apply([x, body.apply(x)]) });
  return { body, model };
}
const { body, model } = build();
const report = await loadTorchStateDict(body.layersList[1], sd, { prefix: 'encoder_level1.0.' }); // strict inside that block
console.log(
  `net: ${countParams(body)} parameters; loaded ${report.loaded?.length ?? body.layersList[1].torchParameters().length} official tensors into layer 1 (TransformerBlock)`,
);

// The block holds exactly the checkpoint's numbers.
const key = 'encoder_level1.0.attn.qkv.weight';
const mine = (await exportTorchStateDict(body.layersList[1]))['attn.qkv.weight'];
const same = mine.data.every((v, i) => v === sd[key].data[i]);
console.log(`block weights equal the checkpoint's ${key}: ${same}`);
if (!same) {
  console.error('FAIL: the loaded block does not hold the checkpoint weights');
  process.exit(1);
}

// 3. A few training steps (AdamW, L1) on a seeded synthetic batch: smooth images plus Gaussian noise σ = 0.1.
const rng = new Rng(7);
const [B, H, W] = [2, 24, 24];
const clean = new Float32Array(B * H * W * 3);
for (let b = 0; b < B; b++)
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < 3; c++) clean[((b * H + y) * W + x) * 3 + c] = 0.5 + 0.35 * Math.sin((x + 2 * b) / 4 + c) * Math.cos((y - c) / 5);
const target = tf.tensor4d(clean, [B, H, W, 3]);
const input = tf.tensor4d(
  clean.map((v) => v + 0.1 * rng.normal()),
  [B, H, W, 3],
);
const trainer = new Trainer({
  model,
  loss: (pred, gt) => tf.mean(tf.abs(tf.sub(pred, gt))),
  optimizer: new AdamW({ lr: 1e-3, weightDecay: 1e-4 }),
  clipGradNorm: 1,
});
const losses = [];
for (let s = 0; s < steps; s++) {
  const r = await trainer.step({ input, target });
  losses.push(r.loss);
  console.log(`step ${r.step}  L1 ${r.loss.toFixed(5)}  grad norm ${r.gradNorm.toFixed(4)}  ${r.stepMs.toFixed(0)} ms`);
}

// 4. Save two ways: the tfjs model (model.json + weights.bin) and PyTorch-named safetensors.
await model.save(
  tf.io.withSaveHandler(async (a) => {
    writeFileSync(
      join(out, 'model.json'),
      JSON.stringify({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }),
    );
    writeFileSync(join(out, 'weights.bin'), Buffer.from(a.weightData));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }),
);
const st = serializeSafetensors(await exportTorchStateDict(body, { prefix: 'body.' }));
writeFileSync(join(out, 'composed.safetensors'), st);
console.log(`saved ${out}/{model.json, weights.bin, composed.safetensors} (${st.length} bytes of safetensors)`);

// 5. Reload both and compare outputs on a fresh input.
const probe = tf.randomUniform([1, 32, 40, 3], 0, 1, 'float32', 3);
const ref = await model.predict(probe).data();

const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
const bin = readFileSync(join(out, 'weights.bin'));
const reloaded = await tfl.loadLayersModel(
  tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest[0].weights,
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
  }),
);
const fromTfjs = await reloaded.predict(probe).data();

const fresh = build();
await loadTorchStateDict(fresh.body, parseSafetensors(readFileSync(join(out, 'composed.safetensors'))).tensors, { prefix: 'body.' });
const fromSafetensors = await fresh.model.predict(probe).data();

const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const d1 = maxDiff(ref, fromTfjs),
  d2 = maxDiff(ref, fromSafetensors);
console.log(`reloaded (tf.loadLayersModel) max |Δ| = ${d1}`);
console.log(`reloaded (safetensors → fresh net) max |Δ| = ${d2}`);
const ok = d1 === 0 && d2 === 0 && losses.every(Number.isFinite);
console.log(ok ? 'OK: same output after save and reload' : 'FAIL: outputs differ after reload');
process.exit(ok ? 0 : 1);
