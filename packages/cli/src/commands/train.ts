/**
 * `restorekit train <recipe|config.json>`: trains a model of @restorekit/models with a recipe of @restorekit/train
 * (`RECIPES`, or a JSON file that is a recipe or `{ "extends": "<recipe>", ... }` changes to one) on folders of
 * images. Writes `<out>/train.jsonl` (a line per step: loss terms, lr, grad norm, step time; a line per validation),
 * `<out>/ckpt-<step>.safetensors` checkpoints (exact resume: the run continues from the newest one in `--out`), and
 * at the end `<out>/model.safetensors`: the EMA weights (the trained ones without EMA) with PyTorch keys, loadable by
 * `restorekit restore --model <family>:<preset> --weights`. SIGINT / SIGTERM finish the step, write a checkpoint and
 * exit 130 / 143.
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from 'commander';
import { ConfigError, RegistryError, countParams, loadCheckpoint, type Block } from '@restorekit/core';
import '@restorekit/losses';
import { createModel, getModelSpec } from '@restorekit/models';
import type { ImageBuffer } from '@restorekit/runtime';
import { readImage } from '@restorekit/runtime/node';
import {
  Rng,
  Trainer,
  decodeCheckpoint,
  degradationFromSpec,
  encodeCheckpoint,
  fileSink,
  lossFromSpec,
  permuteChannels,
  RGB_PERMUTATIONS,
  resolveRecipe,
  trainerOptionsFromRecipe,
  type HostImage,
  type ImagePair,
  type Recipe,
  type RecipeOverrides,
  type ResolvedRecipe,
  type StepResult,
  type ValidationResult,
} from '@restorekit/train';
import { selectBackend, tensorflowCpuLine } from '../backend.js';
import { abs, seconds, shown, type Context } from '../context.js';
import { EXIT_OK, FailureError, UsageError, isWeightsProblem, reason } from '../errors.js';
import { listInputs, writeFileWhole } from '../files.js';
import { checkFile, describeWeightsError, modelInChannels, parseModel } from '../models.js';

export interface TrainFlags {
  data?: string[];
  val?: string[];
  out?: string;
  steps?: number;
  batch?: number;
  patch?: number;
  backend?: string;
  weights?: string;
  resume: boolean;
  /** `--recompute` / `--no-recompute`: the recipe's `recompute` (gradient checkpointing); undefined leaves it. */
  recompute?: boolean;
  json?: boolean;
  progress?: boolean;
}

/** Exit codes of an interrupted run (128 + the signal's number, as shells report it): its checkpoint is written. */
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

/** `--steps`, `--batch`, `--patch`: a positive integer. */
export function parseCount(text: string): number {
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError('expected a positive integer.');
  return v;
}

/** Repeatable folder flags (`--data a --data b`). */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const CHECKPOINT = /^ckpt-(\d+)\.safetensors$/;
const ckptName = (step: number) => `ckpt-${String(step).padStart(7, '0')}.safetensors`;

/** The checkpoints in `dir`, oldest first, by step. */
function listCheckpoints(dir: string): { step: number; file: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => ({ m: CHECKPOINT.exec(f), f }))
    .filter((x): x is { m: RegExpExecArray; f: string } => x.m !== null)
    .map(({ m, f }) => ({ step: Number(m[1]), file: join(dir, f) }))
    .sort((a, b) => a.step - b.step);
}

const isConfigFile = (arg: string) => arg.toLowerCase().endsWith('.json') || arg.includes('/') || arg.includes('\\');

/** The recipe argument: a built-in name, or a JSON config file whose relative paths are relative to the file. */
function loadRecipeArg(ctx: Context, arg: string): { base: string | Recipe; label: string } {
  if (!isConfigFile(arg)) return { base: arg, label: arg };
  const file = abs(ctx, arg);
  if (!existsSync(file)) throw new FailureError(`config file ${arg}: no such file`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    if (e instanceof SyntaxError) throw new UsageError(`config file ${arg}: not valid JSON (${e.message})`);
    throw new FailureError(`config file ${arg}: ${reason(e)}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new UsageError(`config file ${arg}: a recipe is a JSON object ({ "extends": "denoise", ... } or a whole recipe)`);
  const r = json as Recipe & Record<string, unknown>;
  const dir = dirname(file);
  const at = (p: unknown) => (typeof p === 'string' ? resolve(dir, p) : p);
  if (r.data && typeof r.data === 'object') {
    if (Array.isArray(r.data.train)) r.data.train = r.data.train.map(at) as string[];
    if (Array.isArray(r.data.val)) r.data.val = r.data.val.map(at) as string[];
  }
  if (r.model && typeof r.model === 'object' && typeof r.model.weights === 'string') r.model.weights = at(r.model.weights) as string;
  for (const t of Array.isArray(r.loss) ? r.loss : r.loss ? [r.loss] : [])
    if (t && typeof t === 'object' && typeof t.weightsFile === 'string') t.weightsFile = at(t.weightsFile) as string;
  const label = basename(file, extname(file));
  if (r.name === undefined) r.name = label;
  return { base: r, label };
}

/** Host float image in [0, 1] (alpha dropped) with the model's channels, or null for a grey image that `gray: 'skip'` drops. */
function toHost(img: ImageBuffer, channels: number, file: string, gray: ResolvedRecipe['data']['gray']): { image: HostImage; grey: boolean } | null {
  const { width: w, height: h } = img;
  const c = img.channels === 4 ? 3 : img.channels;
  const scale = img.data instanceof Uint16Array ? 65535 : 255;
  const grey = c === 1;
  if (grey && channels === 3) {
    if (gray === 'skip') return null;
    if (gray === 'error') throw new FailureError(`${file}: a grey image, and the recipe's data.gray is 'error' (the model takes RGB)`);
  }
  if (!grey && channels === 1) throw new FailureError(`${file}: an RGB image, and the model takes grey (1-channel) images`);
  const out = new Float32Array(h * w * channels);
  const src = img.data;
  const stride = img.channels;
  for (let p = 0; p < h * w; p++) for (let k = 0; k < channels; k++) out[p * channels + k] = (src[p * stride + (grey ? 0 : k)] as number) / scale;
  return { image: { data: out, shape: [h, w, channels] }, grey };
}

async function readHost(ctx: Context, path: string, channels: number, gray: ResolvedRecipe['data']['gray']) {
  const img = await readImage(abs(ctx, path)).catch((e) => {
    throw new FailureError(`${path}: cannot read the image: ${reason(e)}`);
  });
  return toHost(img, channels, path, gray);
}

const stem = (name: string) => name.slice(0, name.length - extname(name).length);

/** The images of the folders (sorted), as files; a missing or empty folder is a failure naming it. */
function imagesOf(ctx: Context, dirs: string[], what: string): string[] {
  const files: string[] = [];
  for (const d of dirs.map((x) => shown(ctx, abs(ctx, x)))) {
    const p = abs(ctx, d);
    if (!existsSync(p)) throw new FailureError(`${what} ${d}: no such folder`);
    if (!statSync(p).isDirectory()) throw new FailureError(`${what} ${d}: not a folder`);
    const list = listInputs([d], ctx.cwd);
    const bad = list.items.find((it) => it.error !== undefined);
    if (bad) throw new FailureError(`${what} ${d}: ${bad.error}`);
    files.push(...list.items.map((it) => it.path));
  }
  return files;
}

/** Paired folders: `<dir>/gt/<name>` with `<dir>/lq/<stem>.*` (or `<dir>/input/`). */
function pairsOf(ctx: Context, dirs: string[], what: string): { gt: string; lq: string }[] {
  const out: { gt: string; lq: string }[] = [];
  for (const d of dirs.map((x) => shown(ctx, abs(ctx, x)))) {
    const lqDir = ['lq', 'input'].map((s) => join(d, s)).find((p) => existsSync(abs(ctx, p)));
    if (!existsSync(abs(ctx, join(d, 'gt'))) || !lqDir)
      throw new FailureError(`${what} ${d}: paired data needs the folders ${join(d, 'gt')} and ${join(d, 'lq')} (or ${join(d, 'input')})`);
    const gts = imagesOf(ctx, [join(d, 'gt')], what);
    const lqs = new Map<string, string[]>();
    for (const f of imagesOf(ctx, [lqDir], what)) lqs.set(stem(basename(f)), [...(lqs.get(stem(basename(f))) ?? []), f]);
    for (const g of gts) {
      const m = lqs.get(stem(basename(g))) ?? [];
      if (m.length !== 1)
        throw new FailureError(
          `${g}: ${m.length ? `several degraded images match it: ${m.join(', ')}` : `no degraded image ${stem(basename(g))}.* in ${lqDir}`}`,
        );
      out.push({ gt: g, lq: m[0]! });
    }
  }
  return out;
}

/** The training images of the recipe: grey replicated (or skipped), colour images in all channel orders when asked, each listed `repeats` times. */
async function loadTraining(ctx: Context, recipe: ResolvedRecipe, channels: number): Promise<{ images: ImagePair[]; files: number }> {
  const images: ImagePair[] = [];
  const { repeats, augment, gray } = recipe.data;
  const p = recipe.patchSize;
  const add = (gt: HostImage, lq: HostImage | undefined, grey: boolean, file: string) => {
    const [h, w] = gt.shape;
    if (h < p || w < p) throw new FailureError(`${file}: ${w}×${h}, smaller than the ${p}×${p} patches (--patch)`);
    const perms = !grey && channels === 3 && augment.channelPermutations ? RGB_PERMUTATIONS : [null];
    for (const perm of perms) {
      const pair: ImagePair = perm ? { gt: permuteChannels(gt, perm), ...(lq ? { lq: permuteChannels(lq, perm) } : {}) } : { gt, ...(lq ? { lq } : {}) };
      for (let r = 0; r < (grey ? repeats.gray : repeats.color); r++) images.push(pair);
    }
  };
  let files = 0;
  if (recipe.data.paired) {
    for (const { gt, lq } of pairsOf(ctx, recipe.data.train, '--data')) {
      const g = await readHost(ctx, gt, channels, gray);
      const l = await readHost(ctx, lq, channels, 'replicate');
      if (!g || !l) continue;
      if (g.image.shape[0] !== l.image.shape[0] || g.image.shape[1] !== l.image.shape[1])
        throw new FailureError(`${lq}: ${l.image.shape[1]}×${l.image.shape[0]}, its ground truth ${gt} ${g.image.shape[1]}×${g.image.shape[0]}`);
      add(g.image, l.image, g.grey, gt);
      files++;
    }
  } else
    for (const f of imagesOf(ctx, recipe.data.train, '--data')) {
      const g = await readHost(ctx, f, channels, gray);
      if (!g) continue;
      add(g.image, undefined, g.grey, f);
      files++;
    }
  if (!images.length) throw new FailureError(`no training images left in ${recipe.data.train.join(', ')} (data.gray is 'skip' and every image is grey)`);
  return { images, files };
}

/** Validation pairs (host): the images cropped to a multiple of the model's size multiple, degraded with `validation.seed + i`. */
async function loadValidation(
  ctx: Context,
  recipe: ResolvedRecipe,
  channels: number,
  multiple: number,
): Promise<{ name: string; input: HostImage; gt: HostImage }[]> {
  const crop = (img: HostImage, file: string): HostImage => {
    const [h, w, c] = img.shape;
    const [ch, cw] = [h - (h % multiple), w - (w % multiple)];
    if (!ch || !cw) throw new FailureError(`${file}: ${w}×${h}, smaller than the model's size multiple ${multiple}`);
    if (ch === h && cw === w) return img;
    const out = new Float32Array(ch * cw * c);
    for (let y = 0; y < ch; y++) out.set(img.data.subarray(y * w * c, (y * w + cw) * c), y * cw * c);
    return { data: out, shape: [ch, cw, c] };
  };
  const out: { name: string; input: HostImage; gt: HostImage }[] = [];
  if (recipe.data.paired) {
    for (const { gt, lq } of pairsOf(ctx, recipe.data.val, '--val')) {
      const g = await readHost(ctx, gt, channels, 'replicate');
      const l = await readHost(ctx, lq, channels, 'replicate');
      out.push({ name: gt, gt: crop(g!.image, gt), input: crop(l!.image, lq) });
    }
    return out;
  }
  const spec = recipe.validation.degradation ?? recipe.degradation!;
  const degrade = degradationFromSpec(spec);
  for (const [i, f] of imagesOf(ctx, recipe.data.val, '--val').entries()) {
    const g = crop((await readHost(ctx, f, channels, 'replicate'))!.image, f);
    out.push({ name: f, gt: g, input: degrade(g, new Rng(recipe.validation.seed + i)).image });
  }
  return out;
}

/**
 * The part of a recipe that must not change when a run resumes (everything but its length, where its files are, and
 * `recompute`, which changes memory and time but not the training).
 */
const trainingPart = (r: ResolvedRecipe) =>
  canonical({ ...r, steps: 0, data: { ...r.data, train: [], val: [] }, model: { ...r.model, weights: null, id: null }, name: '', recompute: undefined });
/** JSON with sorted keys. */
const canonical = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(',')}]`
    : v !== null && typeof v === 'object'
      ? `{${Object.keys(v)
          .sort()
          .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
          .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : JSON.stringify(v);

const fmtLr = (lr: number) => lr.toExponential(2);
const fmtEta = (ms: number) => {
  const s = Math.round(ms / 1000);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
};

export async function trainCommand(ctx: Context, recipeArg: string, flags: TrainFlags): Promise<number> {
  const t0 = performance.now();
  // ---- the recipe and everything that can be checked before any work: usage errors (exit 2) ----
  const { base, label } = loadRecipeArg(ctx, recipeArg);
  const overrides: RecipeOverrides = {};
  const data: Record<string, unknown> = {};
  if (flags.data) data.train = flags.data.map((d) => abs(ctx, d));
  if (flags.val) data.val = flags.val.map((d) => abs(ctx, d));
  if (Object.keys(data).length) overrides.data = data;
  if (flags.steps !== undefined) overrides.steps = flags.steps;
  if (flags.batch !== undefined) overrides.batchSize = flags.batch;
  if (flags.patch !== undefined) overrides.patchSize = flags.patch;
  if (flags.recompute !== undefined) overrides.recompute = flags.recompute;
  if (flags.weights !== undefined) overrides.model = { weights: abs(ctx, flags.weights) } as Recipe['model'];
  let recipe: ResolvedRecipe;
  try {
    recipe = resolveRecipe(base, overrides);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  const choice = parseModel(recipe.model.preset !== undefined ? `${recipe.model.name}:${recipe.model.preset}` : recipe.model.name);
  const spec = getModelSpec(choice.family);
  if (!recipe.data.train.length)
    throw new UsageError(`no training images: pass --data <folder> (recipe '${recipe.name}' names none${typeof base === 'string' ? '' : ' in data.train'})`);
  if (recipe.patchSize % spec.sizeMultiple !== 0)
    throw new UsageError(
      `--patch ${recipe.patchSize}: ${choice.id} needs patches of a multiple of ${spec.sizeMultiple} pixels (e.g. ${Math.max(spec.sizeMultiple, Math.round(recipe.patchSize / spec.sizeMultiple) * spec.sizeMultiple)})`,
    );
  for (const t of recipe.loss)
    if (t.requiresWeights && t.weightsFile === undefined)
      throw new UsageError(
        `recipe '${recipe.name}': loss term '${t.name}' (${t.type}) needs its weights: write a config.json { "extends": "${recipe.name}", "loss": { "weightsFile": "<file>" } } (paths relative to it)`,
      );
  // The loss objects are built once here: unknown loss types (RegistryError, exit 2) and bad loss options surface now.
  try {
    lossFromSpec(recipe.loss).dispose();
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`recipe '${recipe.name}' loss: ${e.message}`);
    if (e instanceof RegistryError) throw new RegistryError(`recipe '${recipe.name}' loss: ${e.message}`);
    throw e;
  }
  const out = abs(ctx, flags.out ?? `train-${label.replace(/[^\w.-]+/g, '-')}`);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out ${flags.out}: not a folder`);
  const existing = listCheckpoints(out);
  const resumeFrom = flags.resume && existing.length ? existing[existing.length - 1]! : null;
  if (recipe.model.requiresWeights && recipe.model.weights === undefined && !resumeFrom)
    throw new UsageError(`recipe '${recipe.name}' fine-tunes a pretrained ${choice.id}: pass --weights <.pth|.ckpt|.safetensors>`);
  if (recipe.model.weights !== undefined && !resumeFrom) checkFile(recipe.model.weights, 'weights file', flags.weights ?? recipe.model.weights);
  for (const t of recipe.loss) if (t.weightsFile !== undefined) checkFile(t.weightsFile, `loss term '${t.name}' weights file`);

  for (const [what, dirs] of [
    ['--data', recipe.data.train],
    ['--val', recipe.data.val],
  ] as const)
    for (const d of dirs) if (!existsSync(abs(ctx, d))) throw new FailureError(`${what} ${shown(ctx, abs(ctx, d))}: no such folder`);
  const say = (line: string) => {
    if (!flags.json) ctx.ui.log(line);
  };
  const backend = await selectBackend(flags.backend, ctx.cwd, (l) => ctx.ui.log(l));
  say(`backend: ${backend.name} (${backend.why})`);
  if (backend.tensorflowCpu) say(tensorflowCpuLine(backend.tensorflowCpu));

  // ---- the model, the data, the loss weights: failures (exit 1) name the file ----
  let model: Block;
  try {
    model = (await createModel(choice.family, {
      preset: choice.preset,
      ...recipe.model.options,
      ...(recipe.model.weights !== undefined && !resumeFrom ? { weights: recipe.model.weights } : {}),
    })) as Block;
  } catch (e) {
    if (recipe.model.weights !== undefined && isWeightsProblem(e)) throw new FailureError(describeWeightsError(e, shown(ctx, recipe.model.weights), choice.id));
    if (e instanceof ConfigError) throw new UsageError(`recipe '${recipe.name}' model.options: ${e.message}`);
    throw e;
  }
  const cleanup: (() => void)[] = [() => model.dispose()];
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  // Set by the signal handler (an object, so that the checks below see its changes).
  const state: { stopping: NodeJS.Signals | null; validation: ValidationResult | null } = { stopping: null, validation: null };
  const onSignal = (sig: NodeJS.Signals) => {
    if (state.stopping) {
      // A second signal: stop now, the default way.
      for (const s of signals) process.off(s, onSignal);
      process.kill(process.pid, sig);
      return;
    }
    state.stopping = sig;
    ctx.ui.log(`${sig}: finishing this step, then writing a checkpoint (again to stop at once)`);
  };
  try {
    const channels = modelInChannels(model) ?? 3;
    const { images, files } = await loadTraining(ctx, recipe, channels);
    const val = recipe.data.val.length ? await loadValidation(ctx, recipe, channels, spec.sizeMultiple) : [];
    say(
      `data: ${files} training images (${images.length} sampler entries)${val.length ? `, ${val.length} validation image${val.length === 1 ? '' : 's'}` : ''}; ${choice.id}: ${countParams(model).toLocaleString('en-US')} parameters`,
    );
    await mkdir(out, { recursive: true });
    const logFile = join(out, 'train.jsonl');
    const recipeFile = join(out, 'recipe.json');
    if (!flags.resume) {
      for (const c of existing) rmSync(c.file);
      rmSync(logFile, { force: true });
      if (existing.length) say(`--no-resume: removed ${existing.length} checkpoint${existing.length === 1 ? '' : 's'} of an earlier run in ${shown(ctx, out)}`);
    }
    if (resumeFrom && existsSync(recipeFile)) {
      try {
        if (trainingPart(JSON.parse(readFileSync(recipeFile, 'utf8')) as ResolvedRecipe) !== trainingPart(recipe))
          ctx.ui.log(`warning: ${shown(ctx, recipeFile)} differs from this recipe (beyond steps and folders): the run continues with this one`);
      } catch {
        // an unreadable recipe.json is rewritten below
      }
    }
    writeFileSync(recipeFile, `${JSON.stringify({ ...recipe, model: { ...recipe.model, id: choice.id } }, null, 2)}\n`);

    const run = trainerOptionsFromRecipe(recipe, { model, images, log: fileSink(logFile) });
    cleanup.unshift(() => run.dispose());
    for (const t of run.loss.terms)
      if (t.spec.weightsFile !== undefined) {
        try {
          if (typeof t.object.loadWeights !== 'function') throw new Error(`${t.spec.type} takes no weights`);
          await t.object.loadWeights(await loadCheckpoint(t.spec.weightsFile));
        } catch (e) {
          throw new FailureError(`loss term '${t.name}' weights ${shown(ctx, t.spec.weightsFile)}: ${reason(e)}`);
        }
      }
    let trainer: Trainer;
    if (resumeFrom) {
      try {
        trainer = await Trainer.resume(decodeCheckpoint(new Uint8Array(readFileSync(resumeFrom.file)), shown(ctx, resumeFrom.file)), run.options);
      } catch (e) {
        throw new FailureError(
          `${shown(ctx, resumeFrom.file)}: cannot resume from it: ${reason(e)}${isWeightsProblem(e) ? ` (a checkpoint of another model or recipe? --no-resume starts over)` : ''}`,
        );
      }
      say(
        `resumed from ${shown(ctx, resumeFrom.file)} at step ${trainer.globalStep}${recipe.model.weights !== undefined ? ' (its weights, not those of --weights / model.weights)' : ''}`,
      );
    } else trainer = new Trainer(run.options);
    cleanup.unshift(() => trainer.dispose());
    if (recipe.recompute) say(`gradient checkpointing: ${trainer.recomputed} blocks recomputed in the backward (less memory, ~1.3× the compute)`);

    const start = trainer.globalStep;
    const target = recipe.steps;
    let last: StepResult | null = null;
    let lastCheckpoint = resumeFrom?.file ?? null;
    let checkpointStep = resumeFrom?.step ?? -1;

    const validate = async () => {
      const pairs = val.map((v) => ({ input: tf.tensor4d(v.input.data, [1, ...v.input.shape]), target: tf.tensor4d(v.gt.data, [1, ...v.gt.shape]) }));
      try {
        state.validation = await trainer.validate(pairs, {
          cropBorder: recipe.validation.cropBorder,
          testYChannel: recipe.validation.testYChannel,
          ssim: recipe.validation.ssim,
        });
      } finally {
        tf.dispose(pairs.flatMap((p) => [p.input, p.target]));
      }
      const v = state.validation;
      say(
        `validation at step ${v.step}: PSNR ${v.psnr.toFixed(3)} dB${recipe.validation.ssim ? `, SSIM ${v.ssim.toFixed(4)}` : ''} (${v.count} image${v.count === 1 ? '' : 's'}${v.ema ? ', EMA weights' : ''})`,
      );
    };
    const checkpoint = async () => {
      const step = trainer.globalStep;
      const file = join(out, ckptName(step));
      await writeFileWhole(file, encodeCheckpoint(await trainer.saveCheckpoint()));
      lastCheckpoint = file;
      checkpointStep = step;
      const all = listCheckpoints(out);
      if (recipe.keepCheckpoints > 0) for (const c of all.slice(0, Math.max(0, all.length - recipe.keepCheckpoints))) rmSync(c.file, { force: true });
      say(`checkpoint ${shown(ctx, file)}`);
    };

    for (const s of signals) process.on(s, onSignal);
    if (start >= target) say(`the checkpoint is at step ${start}, the recipe runs ${target} steps: nothing to train`);
    else say(`training ${choice.id} with recipe '${recipe.name}' from step ${start} to ${target} → ${shown(ctx, out)}`);
    const bar = !flags.json && start < target ? ctx.ui.bar('train', target) : null;
    bar?.update(start);
    const every = Math.max(1, Math.ceil((target - start) / 10));
    const tRun = performance.now();
    try {
      while (trainer.globalStep < target && !state.stopping) {
        const r = await trainer.step();
        last = r;
        if (!Number.isFinite(r.loss))
          throw new FailureError(
            `the loss is ${r.loss} at step ${r.step} (${Object.entries(r.terms)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}): stopped${lastCheckpoint ? `; the last checkpoint is ${shown(ctx, lastCheckpoint)}` : ''}`,
          );
        const done = r.step - start;
        const eta = ((performance.now() - tRun) / done) * (target - r.step);
        bar?.update(r.step, `train loss ${r.loss.toPrecision(4)} lr ${fmtLr(r.lr)}`);
        if (!ctx.ui.barsEnabled && (done % every === 0 || r.step === target))
          say(
            `step ${r.step}/${target}  loss ${r.loss.toPrecision(5)}  lr ${fmtLr(r.lr)}  |g| ${r.gradNorm.toPrecision(3)}  ${r.stepMs.toFixed(0)} ms/step  ETA ${fmtEta(eta)}`,
          );
        if (val.length && r.step % recipe.validateEvery === 0) await validate();
        if (r.step % recipe.checkpointEvery === 0) await checkpoint();
      }
    } finally {
      bar?.done();
    }
    const stopping = state.stopping;
    // The end (or an interruption): a validation of the last step (not when interrupted) and its checkpoint.
    if (!stopping && val.length && trainer.globalStep > start && state.validation?.step !== trainer.globalStep) await validate();
    if (checkpointStep !== trainer.globalStep) await checkpoint();
    const modelFile = join(out, 'model.safetensors');
    if (!stopping) {
      await writeFileWhole(modelFile, await run.exportModel(trainer));
      say(
        `wrote ${shown(ctx, modelFile)} (${trainer.ema ? 'EMA weights' : 'weights'} at step ${trainer.globalStep}; restorekit restore --model ${choice.id} --weights ${shown(ctx, modelFile)})`,
      );
    }
    for (const s of signals) process.off(s, onSignal);
    const seconds_ = (performance.now() - t0) / 1000;
    const lv = state.validation;
    const summary = {
      recipe: recipe.name,
      model: choice.id,
      backend: backend.name,
      out: shown(ctx, out),
      steps: { from: start, to: trainer.globalStep, of: target },
      interrupted: stopping !== null,
      loss: last ? { value: last.loss, terms: last.terms, lr: last.lr, gradNorm: last.gradNorm, stepMs: last.stepMs } : null,
      validation: lv ? { step: lv.step, psnr: lv.psnr, ssim: recipe.validation.ssim ? lv.ssim : null, count: lv.count, ema: lv.ema } : null,
      files: {
        log: shown(ctx, logFile),
        recipe: shown(ctx, recipeFile),
        checkpoint: lastCheckpoint ? shown(ctx, lastCheckpoint) : null,
        model: stopping ? null : shown(ctx, modelFile),
      },
      seconds: Math.round(seconds_ * 1000) / 1000,
    };
    if (flags.json) ctx.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else
      ctx.stdout.write(
        `${stopping ? 'stopped' : 'trained'} ${choice.id} (recipe '${recipe.name}') at step ${trainer.globalStep}/${target} in ${seconds(seconds_ * 1000)}` +
          `${last ? `; loss ${last.loss.toPrecision(5)}` : ''}${lv ? `; validation PSNR ${lv.psnr.toFixed(2)} dB at step ${lv.step}` : ''}` +
          `; ${summary.files.model ? `model ${summary.files.model}, ` : ''}checkpoint ${summary.files.checkpoint}, log ${summary.files.log}\n`,
      );
    if (stopping === 'SIGINT') return EXIT_SIGINT;
    if (stopping === 'SIGTERM') return EXIT_SIGTERM;
    return EXIT_OK;
  } finally {
    for (const s of signals) process.off(s, onSignal);
    for (const f of cleanup) f();
  }
}
