/**
 * `restorekit train` end to end (`node dist/cli.js train ...` in a temporary folder): the denoise recipe on three
 * tiny PNGs, its JSONL log, checkpoints and final weights; exact resume through the CLI (3 steps, then on to 6, gives
 * the bytes of 6 straight); a JSON config extending a recipe; FSDerain's fine-tuning with its trainable encoder; SIGINT;
 * and the error paths with their exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { exportTorchStateDict, parseSafetensors, serializeSafetensors } from '@restorekit/core';
import { createModel } from '@restorekit/models';
import { readImage } from '@restorekit/runtime/node';
import { decodeCheckpoint } from '@restorekit/train';
import { cli, cliPath, ensureBuilt, writeTestImage } from './test-helpers.js';

let dir: string;
const at = (...p: string[]) => join(dir, ...p);
const records = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const base = ['--steps', '6', '--patch', '16', '--batch', '2'];

/** Weights of a model (random, but fixed: runs that start from them can be compared). */
async function initWeights(family: string, preset: string, file: string) {
  const net = await createModel(family, { preset });
  tf.tidy(() => void net.apply(tf.zeros([1, 16, 16, 3])));
  writeFileSync(file, serializeSafetensors(await exportTorchStateDict(net)));
  net.dispose();
}

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'restorekit-train-'));
  mkdirSync(at('data'));
  await writeTestImage(at('data', 'a.png'), 24, 20, 3);
  await writeTestImage(at('data', 'b.png'), 20, 20, 1); // grey: replicated to RGB, listed once
  await writeTestImage(at('data', 'c.png'), 32, 18, 3);
  mkdirSync(at('val'));
  await writeTestImage(at('val', 'v.png'), 21, 19, 3);
  mkdirSync(at('empty'));
  mkdirSync(at('broken'));
  writeFileSync(at('broken', 'x.png'), 'not a png');
  // Paired rain-like data: gt/ and lq/ with the same names.
  for (const sub of ['gt', 'lq']) mkdirSync(at('pairs', sub), { recursive: true });
  for (const [n, w, h] of [
    ['p1', 24, 24],
    ['p2', 20, 28],
  ] as const) {
    await writeTestImage(at('pairs', 'gt', `${n}.png`), w, h, 3);
    await writeTestImage(at('pairs', 'lq', `${n}.png`), w, h, 4); // alpha: dropped
  }
  await initWeights('compact', 'default', at('compact-default.safetensors'));
  await initWeights('restormer', 'tiny', at('restormer-tiny.safetensors'));
  writeFileSync(
    at('tiny.json'),
    JSON.stringify({ extends: 'denoise', model: { name: 'compact', preset: 'tiny' }, checkpointEvery: 2, validateEvery: 3, keepCheckpoints: 0 }),
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('restorekit train denoise', () => {
  it('trains 6 steps: one JSONL line per step (loss terms, lr, grad norm, step time), checkpoints, EMA weights that restore loads', async () => {
    const r = await cli(['train', 'denoise', '--data', 'data', '--out', 'run', ...base, '--backend', 'wasm'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('data: 3 training images (37 sampler entries)'); // 2 colour × 6 channel orders × 3 + 1 grey
    expect(r.stdout).toMatch(/^trained compact:default \(recipe 'denoise'\) at step 6\/6 in .*; loss \d/);
    const log = records(at('run', 'train.jsonl'));
    expect(log.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const [i, l] of log.entries()) {
      expect(Object.keys(l)).toEqual(['kind', 'step', 'lr', 'loss', 'terms', 'gradNorm', 'stepMs']);
      expect(l.kind).toBe('train');
      // BasicSR's warm-up over 500 iterations of lr 1e-3: lr·(step + 1)/500 for the update of step `step`.
      expect(l.lr).toBeCloseTo((1e-3 * (i + 1)) / 500, 15);
      expect(Object.keys(l.terms as object)).toEqual(['CharbonnierLoss']);
      expect(l.loss).toBe((l.terms as Record<string, number>).CharbonnierLoss);
      expect(l.loss).toBeGreaterThan(0);
      expect(l.gradNorm).toBeGreaterThan(0);
      expect(l.stepMs).toBeGreaterThan(0);
    }
    // checkpointEvery 2000: only the end of the run is checkpointed.
    expect(readdirSync(at('run')).sort()).toEqual(['ckpt-0000006.safetensors', 'model.safetensors', 'recipe.json', 'train.jsonl']);
    const ckpt = decodeCheckpoint(new Uint8Array(readFileSync(at('run', 'ckpt-0000006.safetensors'))));
    expect(ckpt.step).toBe(6);
    expect(ckpt.settings).toEqual({ accumulate: 1, clipGradNorm: 0.5, ema: 0.999, optimizer: 'AdamW' });
    expect((ckpt.data as { epoch: number; order: number[] }).order).toHaveLength(37);
    // model.safetensors: the EMA weights of the checkpoint, by PyTorch name.
    const model = parseSafetensors(readFileSync(at('run', 'model.safetensors'))).tensors;
    const ema = parseSafetensors(ckpt.ema!).tensors;
    expect(Object.keys(model).sort()).toEqual(Object.keys(ema).sort());
    for (const k of Object.keys(model)) expect(Buffer.from(model[k]!.data.buffer).equals(Buffer.from(ema[k]!.data.buffer))).toBe(true);
    const recipe = JSON.parse(readFileSync(at('run', 'recipe.json'), 'utf8')) as { steps: number; patchSize: number; model: { id: string } };
    expect([recipe.steps, recipe.patchSize, recipe.model.id]).toEqual([6, 16, 'compact:default']);
    const restored = await cli(['restore', 'val/v.png', '-o', 'restored.png', '--model', 'compact:default', '--weights', 'run/model.safetensors'], dir);
    expect(restored.code, restored.stderr).toBe(0);
    expect((await readImage(at('restored.png'))).width).toBe(21);
  });

  it('exact resume through the CLI: 3 steps, then on to 6, writes the bytes of 6 straight (--weights fixes the start)', async () => {
    const w = ['--weights', 'compact-default.safetensors', '--backend', 'wasm', '--patch', '16', '--batch', '2'];
    const straight = await cli(['train', 'denoise', '--data', 'data', '--out', 'straight', '--steps', '6', ...w], dir);
    expect(straight.code, straight.stderr).toBe(0);
    const first = await cli(['train', 'denoise', '--data', 'data', '--out', 'resumed', '--steps', '3', ...w], dir);
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(at('resumed', 'ckpt-0000003.safetensors'))).toBe(true);
    const second = await cli(['train', 'denoise', '--data', 'data', '--out', 'resumed', '--steps', '6', ...w], dir);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('resumed from resumed/ckpt-0000003.safetensors at step 3 (its weights, not those of --weights / model.weights)');
    expect(second.stderr).not.toContain('warning');
    expect(readFileSync(at('resumed', 'model.safetensors')).equals(readFileSync(at('straight', 'model.safetensors')))).toBe(true);
    expect(readFileSync(at('resumed', 'ckpt-0000006.safetensors')).equals(readFileSync(at('straight', 'ckpt-0000006.safetensors')))).toBe(true);
    const strip = (l: Record<string, unknown>) => ({ ...l, stepMs: 0 });
    expect(records(at('resumed', 'train.jsonl')).map(strip)).toEqual(records(at('straight', 'train.jsonl')).map(strip));
    // keepCheckpoints 2: ckpt-3 and ckpt-6.
    expect(readdirSync(at('resumed')).filter((f) => f.startsWith('ckpt-'))).toEqual(['ckpt-0000003.safetensors', 'ckpt-0000006.safetensors']);
    // Nothing left to train: exit 0, the same model written again.
    const again = await cli(
      ['train', 'denoise', '--data', 'data', '--out', 'resumed', '--steps', '6', '--backend', 'wasm', '--patch', '16', '--batch', '2', '--json'],
      dir,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ steps: { from: 6, to: 6, of: 6 }, interrupted: false, loss: null });
    expect(readFileSync(at('resumed', 'model.safetensors')).equals(readFileSync(at('straight', 'model.safetensors')))).toBe(true);
    // --no-resume starts over.
    const over = await cli(['train', 'denoise', '--data', 'data', '--out', 'resumed', '--steps', '2', '--no-resume', ...w], dir);
    expect(over.code, over.stderr).toBe(0);
    expect(over.stderr).toContain('--no-resume: removed 2 checkpoints of an earlier run in resumed');
    expect(records(at('resumed', 'train.jsonl')).map((l) => l.step)).toEqual([1, 2]);
    expect(readdirSync(at('resumed')).filter((f) => f.startsWith('ckpt-'))).toEqual(['ckpt-0000002.safetensors']);
  });
});

describe('restorekit train --recompute', () => {
  it("reaches the Trainer (compact:default's 8 NAFBlocks recomputed) and trains the same: the bytes of the run without it", async () => {
    const w = ['--weights', 'compact-default.safetensors', '--backend', 'wasm', '--patch', '16', '--batch', '2', '--steps', '2'];
    const plain = await cli(['train', 'denoise', '--data', 'data', '--out', 'no-recompute', ...w], dir);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).not.toContain('gradient checkpointing');
    const marked = await cli(['train', 'denoise', '--data', 'data', '--out', 'recompute', '--recompute', ...w], dir);
    expect(marked.code, marked.stderr).toBe(0);
    expect(marked.stderr).toContain('gradient checkpointing: 8 blocks recomputed in the backward');
    expect(JSON.parse(readFileSync(at('recompute', 'recipe.json'), 'utf8')).recompute).toBe(true);
    expect(readFileSync(at('recompute', 'model.safetensors')).equals(readFileSync(at('no-recompute', 'model.safetensors')))).toBe(true);
    const strip = (l: Record<string, unknown>) => ({ ...l, stepMs: 0 });
    expect(records(at('recompute', 'train.jsonl')).map(strip)).toEqual(records(at('no-recompute', 'train.jsonl')).map(strip));
  });
});

describe('restorekit train <config.json>', () => {
  it('a config extending denoise (compact:tiny, validation every 3 steps): --json prints only the summary; validation lines in the log', async () => {
    const r = await cli(['train', 'tiny.json', '--data', 'data', '--val', 'val', '--out', 'tiny', ...base, '--backend', 'cpu', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const s = JSON.parse(r.stdout) as Record<string, unknown> & { validation: { step: number; psnr: number; ssim: number; count: number; ema: boolean } };
    expect(s).toMatchObject({
      recipe: 'tiny',
      model: 'compact:tiny',
      backend: 'cpu',
      out: 'tiny',
      steps: { from: 0, to: 6, of: 6 },
      interrupted: false,
      files: { log: 'tiny/train.jsonl', recipe: 'tiny/recipe.json', checkpoint: 'tiny/ckpt-0000006.safetensors', model: 'tiny/model.safetensors' },
    });
    expect(s.validation).toMatchObject({ step: 6, count: 1, ema: true });
    expect(s.validation.psnr).toBeGreaterThan(5);
    expect(s.validation.psnr).toBeLessThan(60);
    const log = records(at('tiny', 'train.jsonl'));
    expect(log.map((l) => `${l.kind}:${l.step}`)).toEqual(['train:1', 'train:2', 'train:3', 'validation:3', 'train:4', 'train:5', 'train:6', 'validation:6']);
    expect(log.find((l) => l.kind === 'validation')).toMatchObject({ count: 1, ema: true });
    // checkpointEvery 2 and keepCheckpoints 0 (keep all).
    expect(readdirSync(at('tiny')).filter((f) => f.startsWith('ckpt-'))).toEqual([
      'ckpt-0000002.safetensors',
      'ckpt-0000004.safetensors',
      'ckpt-0000006.safetensors',
    ]);
    const restored = await cli(
      ['restore', 'val/v.png', '-o', 'tiny-restored.png', '--model', 'compact:tiny', '--weights', 'tiny/model.safetensors', '--backend', 'cpu'],
      dir,
    );
    expect(restored.code, restored.stderr).toBe(0);
  });

  it('fsderain-finetune on paired folders (restormer:tiny, no VGG term): the FrequencyEncoder trains with the model; model.safetensors holds the restorer only', async () => {
    writeFileSync(
      at('fsd.json'),
      JSON.stringify({ extends: 'fsderain-finetune', model: { name: 'restormer', preset: 'tiny' }, loss: { weights: { percep: 0 }, requiresWeights: false } }),
    );
    const r = await cli(
      [
        'train',
        'fsd.json',
        '--data',
        'pairs',
        '--out',
        'fsd',
        '--steps',
        '2',
        '--patch',
        '16',
        '--batch',
        '2',
        '--backend',
        'wasm',
        '--weights',
        'restormer-tiny.safetensors',
      ],
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('data: 2 training images (2 sampler entries)');
    const ckpt = decodeCheckpoint(new Uint8Array(readFileSync(at('fsd', 'ckpt-0000002.safetensors'))));
    const keys = Object.keys(parseSafetensors(ckpt.weights).tensors);
    expect(keys.filter((k) => k.startsWith('loss.FSDerainLoss.encoder.'))).toHaveLength(8); // 3 convs + 1 linear, weight and bias
    expect(keys.filter((k) => k.startsWith('net.'))).toHaveLength(98);
    expect(ckpt.settings.optimizer).toBe('Adam');
    const model = Object.keys(parseSafetensors(readFileSync(at('fsd', 'model.safetensors'))).tensors);
    expect(model).toHaveLength(98);
    expect(model.every((k) => !k.startsWith('net.') && !k.startsWith('loss.'))).toBe(true);
    const restored = await cli(
      ['restore', 'val/v.png', '-o', 'fsd.png', '--model', 'restormer:tiny', '--weights', 'fsd/model.safetensors', '--backend', 'wasm'],
      dir,
    );
    expect(restored.code, restored.stderr).toBe(0);
  });
});

describe('restorekit train: SIGINT', () => {
  it('finishes the step, writes its checkpoint, exits 130 (no model.safetensors: the run is not finished)', async () => {
    const child = spawn(
      process.execPath,
      [cliPath, 'train', 'tiny.json', '--data', 'data', '--out', 'sig', '--steps', '100000', '--patch', '16', '--batch', '2', '--backend', 'cpu'],
      {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    const code = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    const log = at('sig', 'train.jsonl');
    const deadline = Date.now() + 60_000;
    while (!(existsSync(log) && readFileSync(log, 'utf8').split('\n').length > 3) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await code).toBe(130);
    const steps = records(log).map((l) => l.step as number);
    const lastStep = steps[steps.length - 1]!;
    expect(steps).toEqual(Array.from({ length: lastStep }, (_, i) => i + 1));
    expect(existsSync(at('sig', `ckpt-${String(lastStep).padStart(7, '0')}.safetensors`))).toBe(true);
    expect(existsSync(at('sig', 'model.safetensors'))).toBe(false);
    expect(stdout).toMatch(new RegExp(`^stopped compact:tiny \\(recipe 'tiny'\\) at step ${lastStep}/100000`));
  });
});

describe('restorekit train: errors and exit codes', () => {
  it.each([
    [['train', 'denoize', '--data', 'data'], 2, "unknown recipe 'denoize' (did you mean 'denoise'?) (recipes: denoise, all-in-one, fsderain-finetune)"],
    [['train', 'denoise', '--data', 'data', '--stpes', '3'], 2, "unknown option '--stpes'"],
    [['train', 'denoise'], 2, "no training images: pass --data <folder> (recipe 'denoise' names none)"],
    [['train', 'denoise', '--data', 'data', '--patch', '12'], 2, '--patch 12: compact:default needs patches of a multiple of 16 pixels'],
    [['train', 'denoise', '--data', 'data', '--steps', '0'], 2, "option '--steps <n>' argument '0' is invalid"],
    [['train', 'denoise', '--data', 'data', '--steps', '200000'], 2, "recipe 'denoise' schedule: ends before the last step (200000)"],
    [['train', 'denoise', '--data', 'data', '--backend', 'webgl'], 2, "backend 'webgl' runs in browsers only"],
    [['train', 'fsderain-finetune', '--data', 'pairs'], 2, "loss term 'FSDerainLoss' (FSDerainLoss) needs its weights"],
    [['train', 'bad-key.json', '--data', 'data'], 2, "recipe 'bad-key' data: unknown option 'agument' (did you mean 'augment'?)"],
    [['train', 'bad-loss.json', '--data', 'data'], 2, "recipe 'bad-loss' loss: unknown loss type 'CharbonierLoss' (did you mean 'CharbonnierLoss'?)"],
    [['train', 'bad-json.json', '--data', 'data'], 2, 'config file bad-json.json: not valid JSON'],
    [['train', 'denoise', '--data', 'data', '--recompute=yes'], 2, "unknown option '--recompute=yes'"],
    [['train', 'bad-recompute.json', '--data', 'data'], 2, "recipe 'bad-recompute': option 'recompute' must be a boolean, got \"yes\""],
    [['train', 'no-such.json', '--data', 'data'], 1, 'config file no-such.json: no such file'],
    [['train', 'denoise', '--data', 'nowhere'], 1, '--data nowhere: no such folder'],
    [['train', 'denoise', '--data', 'empty', '--backend', 'cpu'], 1, '--data empty: no image files'],
    [['train', 'denoise', '--data', 'broken', '--backend', 'cpu'], 1, 'broken/x.png: cannot read the image'],
    [['train', 'denoise', '--data', 'data', '--patch', '32', '--backend', 'cpu'], 1, 'data/a.png: 24×20, smaller than the 32×32 patches (--patch)'],
    [['train', 'denoise', '--data', 'data', '--weights', 'nope.safetensors'], 1, 'weights file nope.safetensors: no such file'],
    [
      ['train', 'denoise', '--data', 'data', '--weights', 'restormer-tiny.safetensors', '--backend', 'cpu', '--out', 'err-weights'],
      1,
      'does not fit compact:default',
    ],
  ] as [string[], number, string][])('%j → exit %i', async (args, code, message) => {
    writeFileSync(at('bad-key.json'), JSON.stringify({ extends: 'denoise', data: { agument: { channelPermutations: false } } }));
    writeFileSync(at('bad-loss.json'), JSON.stringify({ extends: 'denoise', loss: { type: 'CharbonierLoss' } }));
    writeFileSync(at('bad-json.json'), '{ "extends": ');
    writeFileSync(at('bad-recompute.json'), JSON.stringify({ extends: 'denoise', recompute: 'yes' }));
    const r = await cli(args, dir);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });
});
