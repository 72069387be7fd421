// Exports the EMA weights of a training checkpoint (default: training/checkpoints/best.safetensors, the best by
// validation PSNR) as a PyTorch-named safetensors state dict for the `compact` model's `default` preset:
//
//   node training/export-default.mjs [--ckpt FILE] [--out packages/models/weights/compact-default.safetensors]
//
// float32 (908 292 parameters, 3.6 MB), loadable with createModel('compact', { weights: bytes }) and, in PyTorch, with
// safetensors.torch.load_file (keys and layouts of NAFNet's modules). The metadata records where it came from.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { HERE, ROOT, makeModel, rk } from './common.mjs';

const args = process.argv.slice(2);
const arg = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const ckptFile = path.resolve(arg('--ckpt', path.join(HERE, 'checkpoints', 'best.safetensors')));
const out = path.resolve(arg('--out', path.join(ROOT, 'packages', 'models', 'weights', 'compact-default.safetensors')));
await tf.setBackend('cpu');

const ckpt = rk.train.decodeCheckpoint(new Uint8Array(fs.readFileSync(ckptFile)), ckptFile);
if (!ckpt.ema) throw new Error(`${ckptFile} has no EMA weights`);
const { tensors } = rk.core.parseSafetensors(ckpt.ema, 'EMA weights');
// Strict load into a fresh default model: every key and shape must fit.
const model = makeModel('default');
await rk.loadModelWeights(model, tensors);
const sd = await rk.core.exportTorchStateDict(model);
const bestFile = path.join(HERE, 'checkpoints', 'best.json');
const best = fs.existsSync(bestFile) ? JSON.parse(fs.readFileSync(bestFile, 'utf8')) : {};
const meta = {
  format: 'pt',
  'restorekit.model': 'compact',
  'restorekit.preset': 'default',
  'restorekit.config': JSON.stringify(rk.compactPresets.default.config),
  'restorekit.weights': 'EMA (decay 0.999)',
  'restorekit.step': String(ckpt.step),
  'restorekit.checkpoint': path.relative(ROOT, ckptFile),
  'restorekit.task': 'blind colour Gaussian denoising, sigma in [0, 50] (of 255), inputs in [0, 1], NHWC RGB',
  'restorekit.training_data': 'BSD400 + Kodak kodim01-20 (validation: kodim21-24); never CBSD68 / BSD68',
  ...(best.step === ckpt.step ? { 'restorekit.val_psnr_kodak21_24_sigma25': best.psnr.toFixed(3) } : {}),
};
const bytes = rk.core.serializeSafetensors(sd, meta);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, bytes);
console.log(
  `wrote ${path.relative(ROOT, out)}: ${Object.keys(sd).length} tensors, ${rk.core.countParams(model)} parameters, ${(bytes.length / 1e6).toFixed(2)} MB, step ${ckpt.step}`,
);
