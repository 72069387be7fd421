// Trains the `compact` model's `default` preset for blind colour Gaussian denoising (σ ∈ [0, 50]) with
// @restorekit/train, on BSD400 (grey, replicated to RGB) + Kodak 1–20; validates on Kodak 21–24 (held out).
//
//   node training/build.mjs                       # once: the snapshot bundle of the sources
//   nohup nice -n 19 node training/train-default.mjs > training/logs/run.out 2>&1 &
//
// Resumes automatically from the newest training/checkpoints/ckpt-*.safetensors (optimizer, EMA, schedule step and
// the sampler's generator: the same batch sequence continues). Stop it with `kill <pid>` (training/logs/train.pid):
// SIGTERM/SIGINT finish the current step, write a checkpoint and exit. Checkpoints (with a validation) are written
// every CKPT_MINUTES and at the end of each cosine cycle (kept as cycle-<step>.safetensors). Environment: MAX_STEPS (stop after this many
// steps, default: end of the schedule), CKPT_MINUTES (default 10), RESTOREKIT_BACKEND (default: tensorflow if
// tfjs-node loads, else wasm), COMPACT_PRESET (default 'default').
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { HERE, PRESET, addNoise, makeModel, pickBackend, readImage, rk, trainFiles, valFiles } from './common.mjs';

const { Trainer, AdamW, cosineAnnealingRestartLR, PatchSampler, gaussianNoise, fileSink, encodeCheckpoint, decodeCheckpoint } = rk.train;

/** The recipe (also written into training/logs/recipe.json and the model card). */
export const RECIPE = {
  preset: PRESET,
  patchSize: 96,
  batchSize: 6,
  noise: { sigma255: [0, 50], perPatch: true, perChannel: false, clip: false },
  loss: 'CharbonnierLoss (eps 1e-3)',
  optimizer: { type: 'AdamW', lr: 1e-3, betas: [0.9, 0.99], weightDecay: 1e-4 },
  // BasicSR CosineAnnealingRestartLR: cycles ending at 4k, 16k, 48k and 148k steps (each end is a low-lr point).
  schedule: { type: 'cosineAnnealingRestartLR', periods: [4000, 12000, 32000, 100000], restartWeights: [1, 0.8, 0.6, 0.4], etaMin: 1e-6, warmupIter: 500 },
  clipGradNorm: 0.5,
  ema: 0.999,
  data: {
    train: 'BSD400 (400 grey PNGs replicated to RGB) + Kodak kodim01–kodim20 in all 6 RGB channel orders, each listed 3× (≈ half of the patches are colour)',
    validation: 'Kodak kodim21–kodim24, σ = 25, seeded noise, full images, EMA weights',
    kodakRepeats: 3,
  },
  samplerSeed: 2024,
  valSigma: 25,
  valSeed: 1234,
};

const CKPT_DIR = path.join(HERE, 'checkpoints');
const LOG_DIR = path.join(HERE, 'logs');
fs.mkdirSync(CKPT_DIR, { recursive: true });
fs.mkdirSync(LOG_DIR, { recursive: true });
const LOG = path.join(LOG_DIR, `train-${PRESET}.jsonl`);
const totalSteps = RECIPE.schedule.periods.reduce((a, b) => a + b, 0);
const cycleEnds = RECIPE.schedule.periods.map((_, i) => RECIPE.schedule.periods.slice(0, i + 1).reduce((a, b) => a + b, 0));
const MAX_STEPS = Number(process.env.MAX_STEPS ?? totalSteps);
const CKPT_MS = Number(process.env.CKPT_MINUTES ?? 10) * 60_000;
const say = (...a) => console.log(new Date().toISOString(), ...a);

const { backend, from } = await pickBackend();
say(`backend ${backend}${from ? ` (${from})` : ''}`);
fs.writeFileSync(path.join(LOG_DIR, 'train.pid'), String(process.pid));
fs.writeFileSync(path.join(LOG_DIR, `recipe-${PRESET}.json`), JSON.stringify({ ...RECIPE, config: rk.compactPresets[PRESET].config, backend }, null, 2));

// ---- data: everything preloaded as float32 HWC in [0, 1] ----
const t0 = Date.now();
const { kodak, bsd } = trainFiles();
const images = [];
for (const f of bsd) images.push({ gt: await readImage(f) });
for (const f of kodak) {
  const img = await readImage(f);
  for (const p of rk.train.RGB_PERMUTATIONS) {
    const gt = rk.train.permuteChannels(img, p);
    for (let r = 0; r < RECIPE.data.kodakRepeats; r++) images.push({ gt });
  }
}
const val = [];
for (const [i, f] of valFiles().entries()) {
  const gt = await readImage(f);
  val.push({ name: path.basename(f), gt, noisy: addNoise(gt, RECIPE.valSigma, RECIPE.valSeed + i) });
}
say(`loaded ${bsd.length} BSD400 + ${kodak.length} Kodak images (${images.length} sampler entries), ${val.length} validation images in ${Date.now() - t0} ms`);

const makeSampler = () =>
  new PatchSampler({
    images,
    patchSize: RECIPE.patchSize,
    batchSize: RECIPE.batchSize,
    seed: RECIPE.samplerSeed,
    degrade: gaussianNoise({ sigma: [RECIPE.noise.sigma255[0] / 255, RECIPE.noise.sigma255[1] / 255], range: true }),
  });

// ---- trainer (new, or resumed from the newest checkpoint) ----
const ckptName = (step) => `ckpt-${String(step).padStart(7, '0')}.safetensors`;
const listCkpts = () =>
  fs
    .readdirSync(CKPT_DIR)
    .filter((f) => /^ckpt-\d+\.safetensors$/.test(f))
    .sort();
const model = makeModel();
const options = {
  model,
  loss: new rk.losses.CharbonnierLoss({ eps: 1e-3 }),
  schedule: (({ type, ...o }) => cosineAnnealingRestartLR({ lr: RECIPE.optimizer.lr, ...o }))(RECIPE.schedule),
  clipGradNorm: RECIPE.clipGradNorm,
  ema: RECIPE.ema,
  data: makeSampler(),
  log: fileSink(LOG),
  logEvery: 10,
};
let trainer;
const existing = listCkpts();
if (existing.length) {
  const file = path.join(CKPT_DIR, existing[existing.length - 1]);
  const ckpt = decodeCheckpoint(new Uint8Array(fs.readFileSync(file)), file);
  trainer = await Trainer.resume(ckpt, options);
  say(`resumed from ${path.basename(file)} at step ${trainer.globalStep}`);
} else {
  const { lr, betas, weightDecay } = RECIPE.optimizer;
  trainer = new Trainer({ ...options, optimizer: new AdamW({ lr, betas, weightDecay }) });
  say(`new run: ${rk.core.countParams(model)} parameters, ${totalSteps} scheduled steps`);
}

// ---- validation, checkpoints (last 2 + best by validation PSNR) ----
const bestFile = path.join(CKPT_DIR, 'best.json');
let best = fs.existsSync(bestFile) ? JSON.parse(fs.readFileSync(bestFile, 'utf8')) : { psnr: -Infinity, step: -1 };

async function validate() {
  const t = Date.now();
  const pairs = val.map((v) => ({ input: tf.tensor4d(v.noisy.data, [1, ...v.noisy.shape]), target: tf.tensor4d(v.gt.data, [1, ...v.gt.shape]) }));
  try {
    const r = await trainer.validate(pairs);
    say(`validation step ${r.step}: PSNR ${r.psnr.toFixed(3)} dB, SSIM ${r.ssim.toFixed(4)} (Kodak 21–24, σ 25, EMA) in ${Date.now() - t} ms`);
    return r;
  } finally {
    tf.dispose(pairs.flatMap((p) => [p.input, p.target]));
  }
}

async function checkpoint() {
  const v = await validate();
  const step = trainer.globalStep;
  const bytes = encodeCheckpoint(await trainer.saveCheckpoint());
  const file = path.join(CKPT_DIR, ckptName(step));
  fs.writeFileSync(`${file}.tmp`, bytes);
  fs.renameSync(`${file}.tmp`, file);
  if (v.psnr > best.psnr) {
    best = { psnr: v.psnr, ssim: v.ssim, step, file: 'best.safetensors', time: new Date().toISOString() };
    fs.copyFileSync(file, path.join(CKPT_DIR, 'best.safetensors.tmp'));
    fs.renameSync(path.join(CKPT_DIR, 'best.safetensors.tmp'), path.join(CKPT_DIR, 'best.safetensors'));
    fs.writeFileSync(bestFile, JSON.stringify(best, null, 2));
  }
  // Cycle ends are kept for good (cycle-<step>.safetensors): the candidates for export.
  if (cycleEnds.includes(step)) fs.copyFileSync(file, path.join(CKPT_DIR, `cycle-${String(step).padStart(7, '0')}.safetensors`));
  const all = listCkpts();
  for (const f of all.slice(0, Math.max(0, all.length - 2))) fs.rmSync(path.join(CKPT_DIR, f));
  say(`checkpoint ${path.basename(file)} (${(bytes.length / 1e6).toFixed(1)} MB); best step ${best.step} at ${best.psnr.toFixed(3)} dB`);
}

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'])
  process.on(sig, () => {
    say(`${sig}: checkpointing and stopping after this step`);
    stopping = true;
  });

if (trainer.globalStep === 0) await validate(); // the starting point of the curve
let last = Date.now();
let window = [];
while (trainer.globalStep < MAX_STEPS && !stopping) {
  const r = await trainer.step();
  window.push(r);
  if (r.step % 50 === 0) {
    const mean = (k) => window.reduce((a, x) => a + x[k], 0) / window.length;
    say(
      `step ${r.step} lr ${r.lr.toExponential(2)} loss ${mean('loss').toFixed(5)} |g| ${mean('gradNorm').toFixed(3)} ${mean('stepMs').toFixed(0)} ms/step tensors ${tf.memory().numTensors}`,
    );
    window = [];
  }
  if (!Number.isFinite(r.loss)) throw new Error(`loss is ${r.loss} at step ${r.step}`);
  // Also at the end of each cosine cycle (the low-lr points of the schedule), where the weights are at their best.
  if (Date.now() - last > CKPT_MS || cycleEnds.includes(r.step)) {
    await checkpoint();
    last = Date.now();
  }
}
await checkpoint();
say(stopping ? 'stopped' : `reached ${trainer.globalStep} steps`);
process.exit(0);
