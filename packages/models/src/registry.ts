import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  RegistryError,
  loadCheckpoint,
  loadTorchStateDict,
  models,
  suggestOption,
  type CheckpointSource,
  type LoadReport,
} from '@restorekit/core';

/** A named configuration of a model: data, not code (BasicSR / timm style). */
export interface ModelPreset {
  description: string;
  /** Constructor options of the model class. */
  config: Record<string, unknown>;
  /** Exact PyTorch parameter count of this configuration, where known. */
  params?: number;
  /** Where this preset's shipped trained weights are (`createModel(name, { preset, pretrained: true })`), if it has any. */
  pretrained?: () => CheckpointSource;
}

/**
 * The official PyTorch constructor's keyword arguments, mapped to restorekit options: `rename` maps a kwarg to an option
 * name (`dim` → `channels`), `values` converts a kwarg's value where the spellings differ. Kwargs the official class
 * takes but that change nothing restorekit models (e.g. a training-only flag) are listed in `ignore`.
 */
export interface OfficialArgs {
  rename: Record<string, string>;
  values?: Record<string, (v: unknown) => unknown>;
  ignore?: string[];
}

export interface ModelSpec<M extends Block = Block> {
  name: string;
  paper: string;
  citation: string;
  /** Expected input value range. */
  inputRange: [number, number];
  /** H and W are padded (reflect) to a multiple of this and cropped back. */
  sizeMultiple: number;
  defaultPreset: string;
  presets: Record<string, ModelPreset>;
  /** How the official PyTorch constructor's kwargs map to options (`fromOfficialConfig`). */
  official?: OfficialArgs;
  create: (config: Record<string, unknown>) => M;
}

/**
 * Model classes by family name, for typed `createModel` results. Each family file adds its own entry:
 * `declare module './registry.js' { interface ModelClasses { restormer: Restormer } }`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in each family's file
export interface ModelClasses {}
/** The class `createModel(name)` returns. */
export type ModelOf<N extends string> = N extends keyof ModelClasses ? ModelClasses[N] : Block;

const specs = new Map<string, ModelSpec>();

/** Registers a model family (each family's file calls this; the package index imports them all). */
export function registerModel<M extends Block>(spec: ModelSpec<M>): void {
  if (specs.has(spec.name)) throw new RegistryError(`model '${spec.name}' is already registered`);
  if (!spec.presets[spec.defaultPreset]) throw new ConfigError(`model '${spec.name}': default preset '${spec.defaultPreset}' is not among its presets`);
  specs.set(spec.name, spec as unknown as ModelSpec);
  models.register(spec.name, { create: (o) => createModel(spec.name, o as CreateModelOptions), description: spec.paper });
}

export interface CreateModelOptions {
  /** Preset name (default: the family's default, usually 'official'). */
  preset?: string;
  /**
   * Weights to load, strictly, by their PyTorch names: a path or URL of a `.pth` / `.ckpt` / `.safetensors` file, its
   * bytes, a File/Blob, or a state dict. Release wrappers (`params`, `params_ema`, `state_dict`, `net.`, `module.`)
   * are unwrapped. A checkpoint that does not fit the model throws `WeightsError` listing every problem.
   */
  weights?: CheckpointSource | Record<string, unknown>;
  /**
   * Load the trained weights that ship with the preset (e.g. `compact`'s `default`: @restorekit/models'
   * weights/compact-default.safetensors). A preset without shipped weights is a `ConfigError` naming those that have
   * them; `weights` and `pretrained` together are one too. Without either, the weights are the random initialisation.
   */
  pretrained?: boolean;
  /** Options overriding the preset's config (e.g. { name: 'my_restormer' }); unknown ones are errors. */
  [override: string]: unknown;
}

function isStateDict(w: unknown): w is Record<string, unknown> {
  return (
    typeof w === 'object' &&
    w !== null &&
    !(w instanceof Uint8Array) &&
    !(w instanceof ArrayBuffer) &&
    !ArrayBuffer.isView(w) &&
    !(w instanceof URL) &&
    !(typeof Blob !== 'undefined' && w instanceof Blob)
  );
}

/**
 * `await createModel('restormer', { preset: 'official', weights: 'real_denoising.pth' })`: builds the family's model from
 * a preset plus overrides, and loads `weights` strictly when given (`pretrained: true`: the preset's shipped weights,
 * e.g. `createModel('compact', { pretrained: true })`). Async because reading a checkpoint is; the model
 * classes themselves (`new Restormer({...})`) are there for synchronous construction. A failed load disposes the model.
 */
export async function createModel<N extends string>(name: N, opts: CreateModelOptions = {}): Promise<ModelOf<N>> {
  const spec = getModelSpec(name);
  const { preset = spec.defaultPreset, weights: given, pretrained, ...overrides } = opts;
  const p = spec.presets[preset];
  if (!p) throw new RegistryError(`model '${name}' has no preset '${preset}' (presets: ${Object.keys(spec.presets).join(', ')})`);
  if (pretrained !== undefined && typeof pretrained !== 'boolean')
    throw new ConfigError(`createModel: pretrained must be true or false, got ${JSON.stringify(pretrained)}`);
  if (pretrained && given !== undefined) throw new ConfigError(`createModel('${name}'): give either weights or pretrained: true, not both`);
  if (pretrained && !p.pretrained) {
    const withWeights = [...specs.values()].flatMap((s) =>
      Object.entries(s.presets)
        .filter(([, q]) => q.pretrained)
        .map(([k]) => `${s.name}:${k}`),
    );
    throw new ConfigError(
      `createModel('${name}'): preset '${preset}' ships no trained weights (presets that do: ${withWeights.join(', ') || 'none'}); pass weights: <file or URL> instead`,
    );
  }
  const weights = pretrained ? p.pretrained!() : given;
  const model = spec.create({ ...p.config, ...overrides });
  if (weights !== undefined) {
    try {
      await loadModelWeights(model, weights);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  return model as ModelOf<N>;
}

/** Loads a checkpoint (any source `loadCheckpoint` reads, or a state dict) into a model, strictly, by PyTorch names. */
export async function loadModelWeights(model: Block | tfl.LayersModel, weights: CheckpointSource | Record<string, unknown>): Promise<LoadReport> {
  const sd = isStateDict(weights) ? weights : await loadCheckpoint(weights);
  return loadTorchStateDict(model, sd, { strict: true });
}

export function getModelSpec(name: string): ModelSpec {
  const spec = specs.get(name);
  if (!spec) {
    const hint = suggestOption(name, [...specs.keys()]);
    throw new RegistryError(
      `unknown model '${name}'${hint ? ` (did you mean '${hint}'?)` : ''} (registered: ${[...specs.keys()].sort().join(', ') || 'none'})`,
    );
  }
  return spec;
}

/** JSON with sorted keys, for comparing configs. */
const canonicalJson = (o: Record<string, unknown>) =>
  JSON.stringify(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );

/**
 * The createModel options for an official PyTorch constructor call: `fromOfficialConfig('restormer', { dim: 48,
 * num_blocks: [4, 6, 6, 8], LayerNorm_type: 'BiasFree', ... })` → `{ preset: 'official-biasfree' }` when the kwargs
 * equal a preset, else `{ preset: <default>, ...options }` with every given kwarg mapped. Unknown kwargs are errors.
 */
export function fromOfficialConfig(name: string, kwargs: Record<string, unknown>): CreateModelOptions {
  const spec = getModelSpec(name);
  const map = spec.official;
  if (!map) throw new ConfigError(`model '${name}' has no mapping of official constructor arguments`);
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(kwargs)) {
    if (map.ignore?.includes(k)) continue;
    const to = map.rename[k];
    if (!to) {
      const hint = suggestOption(k, Object.keys(map.rename));
      throw new ConfigError(
        `fromOfficialConfig('${name}'): unknown official argument '${k}'${hint ? ` (did you mean '${hint}'?)` : ''}; known: ${Object.keys(map.rename).join(', ')}`,
      );
    }
    options[to] = map.values?.[k] ? map.values[k](v) : v;
  }
  const base = spec.presets[spec.defaultPreset]!.config;
  const wanted = canonicalJson({ ...base, ...options });
  for (const [presetName, p] of Object.entries(spec.presets)) if (canonicalJson({ ...base, ...p.config }) === wanted) return { preset: presetName };
  return { preset: spec.defaultPreset, ...options };
}

export interface ModelListing {
  name: string;
  paper: string;
  sizeMultiple: number;
  inputRange: [number, number];
  presets: { name: string; description: string; params?: number }[];
}

/** All registered model families with their presets. */
export function listModels(): ModelListing[] {
  return [...specs.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => ({
      name: s.name,
      paper: s.paper,
      sizeMultiple: s.sizeMultiple,
      inputRange: s.inputRange,
      presets: Object.entries(s.presets).map(([n, p]) => ({ name: n, description: p.description, params: p.params })),
    }));
}
