/**
 * `--model <family>[:<preset>]`: parsing against the registry of @restorekit/models, the default model, and building
 * a model with (or, said out loud, without) weights.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { WeightsError, suggestOption, type Block } from '@restorekit/core';
import { createModel, getModelSpec, listModels } from '@restorekit/models';
import { FailureError, UsageError, isWeightsProblem, reason } from './errors.js';

/**
 * The model `restore` and `eval` use without `--model`: the first of these that @restorekit/models registers. The
 * shipped `compact` denoiser comes first; until its family is registered, `restormer:small` (the smallest preset
 * meant for real use rather than tests) stands in. Change this one constant to change the default.
 */
export const DEFAULT_MODEL: readonly string[] = ['compact:default', 'restormer:small'];

export interface ModelChoice {
  family: string;
  preset: string;
  /** `family:preset`. */
  id: string;
}

const families = () => listModels().map((m) => m.name);

/** Parses `family[:preset]` (the family's default preset when none is given); unknown names are usage errors listing the valid ones. */
export function parseModel(text: string): ModelChoice {
  const [family = '', preset, ...rest] = text.split(':');
  const known = families();
  if (!family || rest.length) throw new UsageError(`--model '${text}': expected <family>[:<preset>], e.g. restormer:small (families: ${known.join(', ')})`);
  if (!known.includes(family)) {
    const hint = suggestOption(family, known);
    throw new UsageError(
      `unknown model '${family}'${hint ? ` (did you mean '${hint}'?)` : ''} (models: ${known.join(', ')}; 'restorekit models' lists their presets)`,
    );
  }
  const spec = getModelSpec(family);
  const p = preset === undefined || preset === '' ? spec.defaultPreset : preset;
  if (!spec.presets[p]) throw new UsageError(`model '${family}' has no preset '${p}' (presets: ${Object.keys(spec.presets).join(', ')})`);
  return { family, preset: p, id: `${family}:${p}` };
}

/** The default model: the first of {@link DEFAULT_MODEL} that is registered. */
export function defaultModel(): ModelChoice {
  const known = families();
  for (const id of DEFAULT_MODEL) {
    const [family] = id.split(':');
    if (family && known.includes(family)) return parseModel(id);
  }
  throw new UsageError(`none of the default models (${DEFAULT_MODEL.join(', ')}) is registered: pass --model (models: ${known.join(', ')})`);
}

/** Checks that a weights file exists and is a file (a failure, exit 1, naming it, when not). */
export function checkFile(path: string, what: string, shown = path): void {
  if (!existsSync(path)) throw new FailureError(`${what} ${shown}: no such file`);
  if (!statSync(path).isFile()) throw new FailureError(`${what} ${shown}: not a file`);
}

const LIST_AT_MOST = 12;
const some = (keys: string[]) => `${keys.slice(0, LIST_AT_MOST).join(', ')}${keys.length > LIST_AT_MOST ? `, … (${keys.length - LIST_AT_MOST} more)` : ''}`;

/** A weights problem in a few lines that name the keys (at most a dozen of each kind). */
export function describeWeightsError(e: unknown, file: string, model: string): string {
  if (e instanceof WeightsError && (e.missing.length || e.unexpected.length || e.mismatched.length)) {
    const lines = [`${file} does not fit ${model}:`];
    if (e.mismatched.length)
      lines.push(
        `  shape mismatches (${e.mismatched.length}): ${some(e.mismatched.map((m) => `${m.key} expected [${m.expected.join(', ')}] got [${m.got.join(', ')}]`))}`,
      );
    if (e.missing.length) lines.push(`  missing keys (${e.missing.length}): ${some(e.missing)}`);
    if (e.unexpected.length) lines.push(`  unexpected keys (${e.unexpected.length}): ${some(e.unexpected)}`);
    return lines.join('\n');
  }
  const msg = reason(e);
  return msg.includes(basename(file)) ? msg : `${file}: ${msg}`;
}

/** The folder of the installed @restorekit/models package, if it resolves. */
export function modelsPackageDir(): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve('@restorekit/models/package.json'));
  } catch {
    return null;
  }
}

/**
 * The weights @restorekit/models ships for a preset, if any: `weights/<family>-<preset>.safetensors` in the package
 * (e.g. weights/compact-default.safetensors for the shipped compact denoiser).
 */
export function shippedWeights(choice: ModelChoice, modelsDir: string | null = modelsPackageDir()): string | null {
  if (!modelsDir) return null;
  const file = join(modelsDir, 'weights', `${choice.family}-${choice.preset}.safetensors`);
  return existsSync(file) ? file : null;
}

export interface BuiltModel {
  model: Block;
  choice: ModelChoice;
  /** The weights file loaded (given, or shipped with the preset), or null (random weights). */
  weights: string | null;
}

/**
 * Builds the model and loads its weights strictly: `weights` (a path, relative to `cwd`), else the weights the preset
 * ships with (see {@link shippedWeights}). With neither it says on `say` that the weights are random. Missing,
 * corrupt or ill-fitting weights are failures (exit 1) naming the file and the reason.
 */
export async function buildModel(
  choice: ModelChoice,
  weights: string | undefined,
  cwd: string,
  say: (line: string) => void,
  modelsDir: string | null = modelsPackageDir(),
): Promise<BuiltModel> {
  const shipped = weights === undefined ? shippedWeights(choice, modelsDir) : null;
  const file = weights !== undefined ? resolve(cwd, weights) : shipped;
  const shown = weights ?? shipped;
  if (weights !== undefined) checkFile(file!, 'weights file', weights);
  let model: Block;
  try {
    model = (await createModel(choice.family, { preset: choice.preset, ...(file ? { weights: file } : {}) })) as Block;
  } catch (e) {
    if (shown && isWeightsProblem(e)) throw new FailureError(describeWeightsError(e, shown, choice.id));
    throw e;
  }
  if (shipped) say(`weights: ${choice.id}'s shipped weights (${shipped})`);
  else if (!file)
    say(
      `warning: no --weights given and ${choice.id} ships no weights: the model's weights are random, so its output is not a restoration (pass --weights <.pth|.ckpt|.safetensors>)`,
    );
  return { model, choice, weights: shown ?? null };
}

/** Input channels the model takes (from its resolved options), if it says. */
export function modelInChannels(model: Block): number | undefined {
  const c = (model.getConfig() as { inChannels?: unknown }).inChannels;
  return typeof c === 'number' ? c : undefined;
}

/** For a model with several outputs (DRCNet: [stage1, stage2]), the last one is the restored image. */
export function restoredOutputIndex(model: Block, channels: number): number {
  try {
    const s = model.computeOutputShape([1, 64, 64, channels]) as unknown[];
    return Array.isArray(s[0]) ? s.length - 1 : 0;
  } catch {
    return 0;
  }
}
