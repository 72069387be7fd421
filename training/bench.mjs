// Speed of the compact model: `node training/bench.mjs [backend] [preset|json-config] [mode]`
//   mode 'forward': one 512×512 RGB forward (after a warm-up), extrapolated linearly to 12 MP (4000×3000);
//   mode 'train': seconds per training step (batch 8 × 64×64, forward + backward + AdamW) on that backend.
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import path from 'node:path';
import { HERE, rk, pickBackend } from './common.mjs';

const [backendArg = 'wasm', which = 'default', mode = 'forward', sizeArg = '512'] = process.argv.slice(2);
const { backend } = await pickBackend(backendArg);
const config = which.startsWith('{') ? { ...rk.compactPresets.default.config, ...JSON.parse(which) } : rk.compactPresets[which].config;
const model = new rk.Compact(config);
model.buildFromOptions();
const params = rk.core.countParams(model);
console.log(
  JSON.stringify({ backend, threads: backend === 'wasm' ? (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount?.() : undefined, config, params }),
);
if (mode === 'forward') {
  const s = Number(sizeArg);
  const x = tf.randomUniform([1, s, s, 3]);
  let last;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const y = model.apply(x);
    await y.data();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    y.dispose();
    // Wall time suffers from other processes on a shared machine; CPU time is what one uncontended thread needs.
    const k = 12e6 / (s * s);
    last = {
      run: i,
      size: s,
      wallMs: Math.round(ms),
      cpuMs: Math.round(cpuMs),
      est12MP_wall_s: +((ms / 1000) * k).toFixed(1),
      est12MP_cpu_s: +((cpuMs / 1000) * k).toFixed(1),
    };
    console.log(JSON.stringify(last));
  }
  // The last (warm) run of the default preset on wasm is what the model card quotes.
  if (which === 'default' && backend === 'wasm' && s === 512)
    fs.writeFileSync(
      path.join(HERE, 'logs', 'speed.json'),
      JSON.stringify(
        { wasm512: { ...last, threads: 1, date: new Date().toISOString(), command: `node training/bench.mjs wasm default forward 512` } },
        null,
        2,
      ),
    );
} else {
  const trainer = new rk.train.Trainer({ model, loss: new rk.losses.L1Loss(), optimizer: new rk.train.AdamW({ lr: 1e-3 }), clipGradNorm: 1, ema: 0.999 });
  const b = Number(process.env.BATCH ?? 8),
    p = Number(process.env.PATCH ?? 64);
  const input = tf.randomUniform([b, p, p, 3]),
    target = tf.randomUniform([b, p, p, 3]);
  for (let i = 0; i < 8; i++) {
    const c0 = process.cpuUsage();
    const r = await trainer.step({ input, target });
    const cpu = process.cpuUsage(c0);
    console.log(
      JSON.stringify({
        step: r.step,
        ms: Math.round(r.stepMs),
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
        loss: +r.loss.toFixed(4),
        tensors: tf.memory().numTensors,
      }),
    );
  }
}
