import type * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, RegistryError, models } from '@restorekit/core';

/** A named configuration of a model: data, not code (BasicSR / timm style). */
export interface ModelPreset {
  description: string;
  /** Constructor options of the model class. */
  config: Record<string, unknown>;
  /** Exact PyTorch parameter count of this configuration, where known. */
  params?: number;
}

export interface ModelSpec {
  name: string;
  paper: string;
  citation: string;
  /** Expected input value range. */
  inputRange: [number, number];
  /** H and W are padded (reflect) to a multiple of this and cropped back. */
  sizeMultiple: number;
  defaultPreset: string;
  presets: Record<string, ModelPreset>;
  create: (config: Record<string, unknown>) => tfl.layers.Layer;
}

const specs = new Map<string, ModelSpec>();

/** Registers a model family (each family's file calls this; the package index imports them all). */
export function registerModel(spec: ModelSpec): void {
  if (specs.has(spec.name)) throw new RegistryError(`model '${spec.name}' is already registered`);
  if (!spec.presets[spec.defaultPreset]) throw new ConfigError(`model '${spec.name}': default preset '${spec.defaultPreset}' is not among its presets`);
  specs.set(spec.name, spec);
  models.register(spec.name, { create: (o) => createModel(spec.name, o as CreateModelOptions), description: spec.paper });
}

export interface CreateModelOptions {
  /** Preset name (default: the family's default, usually 'official'). */
  preset?: string;
  /** Options overriding the preset's config (e.g. { name: 'my_restormer' }). */
  [override: string]: unknown;
}

/** `createModel('restormer', { preset: 'official' })`: builds an (unbuilt) model block from a preset plus overrides. */
export function createModel(name: string, opts: CreateModelOptions = {}): tfl.layers.Layer {
  const spec = getModelSpec(name);
  const { preset = spec.defaultPreset, ...overrides } = opts;
  const p = spec.presets[preset];
  if (!p) throw new RegistryError(`model '${name}' has no preset '${preset}' (presets: ${Object.keys(spec.presets).join(', ')})`);
  return spec.create({ ...p.config, ...overrides });
}

export function getModelSpec(name: string): ModelSpec {
  const spec = specs.get(name);
  if (!spec) throw new RegistryError(`unknown model '${name}' (registered: ${[...specs.keys()].sort().join(', ') || 'none'})`);
  return spec;
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
