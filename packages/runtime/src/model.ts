import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { ConfigError, DTypeError, RegistryError, ShapeError, exportTorchStateDict, fmtShape, isBlock, loadTorchStateDict } from '@restorekit/core';

/** A model as a function of an NHWC float32 batch in [0, 1]. */
export type ModelFunction = (x: tf.Tensor4D) => tf.Tensor | tf.Tensor[];
/** Anything with `apply(x)`: a tfjs layer, a restorekit block, a LayersModel. */
export interface ApplyModel {
  apply(x: tf.Tensor4D): unknown;
}
/** What `restore` runs: NHWC float32 in [0, 1] in, the same layout out (possibly scaled by a whole factor). */
export type RestoreModel = ModelFunction | ApplyModel;

/**
 * A model in a module, for threads that cannot receive a function: the module is imported (`module` is a URL, an
 * absolute path or a package name) and `export` (default: 'default') is the model, or a function that returns it
 * (or a promise of it) when called with no arguments.
 */
export interface ModuleModel {
  module: string | URL;
  export?: string;
}

/** A serialisable (structured-clonable) description of a model, from which another thread rebuilds it. */
export type ModelDescription =
  | {
      kind: 'layer';
      /** Registered tfjs class name ('restorekit>Sequential', 'Conv2D', ...). */
      className: string;
      config: tf.serialization.ConfigDict;
      /** Weights by PyTorch name (restorekit blocks). */
      stateDict?: Record<string, { shape: number[]; data: Float32Array }>;
      /** Weights in `getWeights()` order (other tfjs layers). */
      weights?: { shape: number[]; dtype: tf.DataType; data: Float32Array | Int32Array | Uint8Array }[];
      /** Input channels the layer is built for when it cannot build from its options. */
      channels: number;
    }
  | { kind: 'layers-model'; artifacts: tf.io.ModelArtifacts }
  | { kind: 'module'; module: string; export?: string };

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return typeof v;
}

/** Throws `ConfigError` unless `model` can be run by `restore`. */
export function checkModel(model: unknown, owner = 'restore'): asserts model is RestoreModel {
  if (typeof model === 'function') return;
  if (typeof model === 'object' && model !== null && typeof (model as ApplyModel).apply === 'function') return;
  throw new ConfigError(
    `${owner}: model must be a function (x: Tensor4D) => Tensor4D or an object with apply(x) (a tfjs layer, restorekit block or LayersModel), got ${typeName(model)}`,
  );
}

function isTensor(v: unknown): v is tf.Tensor {
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray((v as tf.Tensor).shape) &&
    typeof (v as tf.Tensor).dtype === 'string' &&
    typeof (v as tf.Tensor).data === 'function' &&
    'dataId' in v
  );
}

function flatten(v: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(v)) for (const e of v) flatten(e, out);
  else out.push(v);
  return out;
}

/** Runs the model on x and returns the output tensor `outputIndex` (the others are freed by the caller's tidy). */
function callModel(model: RestoreModel, x: tf.Tensor4D, outputIndex: number): tf.Tensor {
  const y = typeof model === 'function' ? model(x) : model.apply(x);
  const outs = flatten(y);
  const bad = outs.find((t) => !isTensor(t));
  if (bad !== undefined || outs.length === 0)
    throw new DTypeError(`restore: the model must return a tf.Tensor (or an array of them), got ${outs.length === 0 ? 'an empty array' : typeName(bad)}`);
  if (outputIndex >= outs.length) throw new ConfigError(`restore: outputIndex ${outputIndex} is out of range: the model returned ${outs.length} tensor(s)`);
  return outs[outputIndex] as tf.Tensor;
}

/** One tile through the model, read back to the host. */
export interface TileOutput {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/**
 * Uploads one NHWC tile, runs the model, checks and reads back its output (await `data()`, no sync read, so any
 * backend works) and disposes every tensor it made, whatever happens.
 */
export async function runModelOnTile(
  model: RestoreModel,
  input: Float32Array,
  height: number,
  width: number,
  channels: number,
  outputIndex: number,
): Promise<TileOutput> {
  let x: tf.Tensor4D | undefined;
  let y: tf.Tensor | undefined;
  try {
    x = tf.tensor4d(input, [1, height, width, channels], 'float32');
    const xin = x;
    y = tf.tidy(() => callModel(model, xin, outputIndex));
    checkOutput(y, xin.shape);
    const data = (await y.data()) as Float32Array;
    return { data, height: y.shape[1]!, width: y.shape[2]!, channels: y.shape[3]! };
  } finally {
    if (y && y !== x) y.dispose();
    x?.dispose();
  }
}

function checkOutput(y: tf.Tensor, inShape: number[]): void {
  if (y.dtype !== 'float32') throw new DTypeError(`restore: the model's output must be float32, got ${y.dtype}`);
  const [, h, w, c] = inShape as [number, number, number, number];
  if (y.rank !== 4 || y.shape[0] !== 1)
    throw new ShapeError(`restore: the model's output must be NHWC [1, H, W, C] for an input of shape ${fmtShape(inShape)}, got shape ${fmtShape(y.shape)}`);
  if (y.shape[3] !== c)
    throw new ShapeError(
      `restore: the model must return as many channels as it takes (modelChannels = ${c}), got shape ${fmtShape(y.shape)} for an input of shape ${fmtShape(inShape)}`,
    );
  const [oh, ow] = [y.shape[1]!, y.shape[2]!];
  if (oh % h !== 0 || ow % w !== 0 || oh / h !== ow / w || oh === 0)
    throw new ShapeError(`restore: the model's output ${fmtShape(y.shape)} is not its input ${fmtShape(inShape)} scaled by one whole factor`);
}

/**
 * Resolves a `ModuleModel` to the model it names (imports the module; calls the export if it is a factory).
 * `created` says whether the model was made by a factory for this call (then the caller owns it and disposes it).
 */
export async function importModuleModel(spec: ModuleModel | Extract<ModelDescription, { kind: 'module' }>): Promise<{ model: RestoreModel; created: boolean }> {
  const href = typeof spec.module === 'string' ? spec.module : spec.module.href;
  const mod = (await import(/* @vite-ignore */ href)) as Record<string, unknown>;
  const name = spec.export ?? 'default';
  if (!(name in mod)) throw new ConfigError(`model module ${href} has no export '${name}' (exports: ${Object.keys(mod).join(', ') || 'none'})`);
  let m = mod[name];
  const created = typeof m === 'function';
  if (created) m = await (m as () => unknown)();
  checkModel(m, `model module ${href} (export '${name}')`);
  return { model: m, created };
}

/** Disposes a model's weights if it has a `dispose()` (a layer or LayersModel this package built). */
export function disposeModel(model: RestoreModel): void {
  if (typeof model === 'function') return;
  const m = model as { dispose?: unknown; _refCount?: number | null };
  if (typeof m.dispose !== 'function') return;
  // tfjs layers refuse dispose() until they have been called symbolically (their reference count is null until
  // then); a layer built and run eagerly owns its weights all the same (core's Block.dispose does the same).
  if (m._refCount === null) m._refCount = 1;
  (m.dispose as () => unknown).call(m);
}

export function isModuleModel(m: unknown): m is ModuleModel {
  return typeof m === 'object' && m !== null && !('kind' in m) && (typeof (m as ModuleModel).module === 'string' || (m as ModuleModel).module instanceof URL);
}

export function isModelDescription(m: unknown): m is ModelDescription {
  const k = typeof m === 'object' && m !== null ? (m as { kind?: unknown }).kind : undefined;
  return k === 'layer' || k === 'layers-model' || k === 'module';
}

interface LayerLike {
  built: boolean;
  getClassName(): string;
  getConfig(): tf.serialization.ConfigDict;
  getWeights(): tf.Tensor[];
  setWeights(w: tf.Tensor[]): void;
  build(shape: (number | null)[]): void;
}
const isLayerLike = (m: unknown): m is LayerLike =>
  typeof m === 'object' &&
  m !== null &&
  ['getClassName', 'getConfig', 'getWeights', 'setWeights', 'build'].every((k) => typeof (m as Record<string, unknown>)[k] === 'function');
const isLayersModel = (m: unknown): m is { save: (h: tf.io.IOHandler) => Promise<tf.io.SaveResult> } =>
  typeof m === 'object' && m !== null && typeof (m as { save?: unknown }).save === 'function' && Array.isArray((m as { layers?: unknown }).layers);

function ensureBuilt(layer: LayerLike, channels: number): void {
  if (layer.built) return;
  if (isBlock(layer)) {
    try {
      layer.buildFromOptions();
      return;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
    }
  }
  layer.build([null, null, null, channels]);
}

/**
 * Describes a model as structured-clonable data (for worker threads): a restorekit block as its class name, config
 * and weights by PyTorch name; another tfjs layer as class name, config and weights; a LayersModel as its
 * `model.save` artifacts; a `ModuleModel` as is. A plain function cannot be described (`ConfigError`): put it in a
 * module and pass `{ module }`. An unbuilt layer is built first (for `channels` input channels).
 */
export async function describeModel(model: RestoreModel | ModuleModel | ModelDescription, options: { channels?: number } = {}): Promise<ModelDescription> {
  const channels = options.channels ?? 3;
  if (isModelDescription(model)) return model;
  if (isModuleModel(model)) return { kind: 'module', module: typeof model.module === 'string' ? model.module : model.module.href, export: model.export };
  if (typeof model === 'function')
    throw new ConfigError(
      'describeModel: a plain function cannot be sent to another thread; pass a tfjs layer, restorekit block or LayersModel, or { module, export } naming a module that exports the model (or a function returning it)',
    );
  if (isLayersModel(model)) {
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
      }),
    );
    return { kind: 'layers-model', artifacts: artifacts! };
  }
  if (isLayerLike(model)) {
    ensureBuilt(model, channels);
    const className = model.getClassName();
    const config = model.getConfig();
    if (isBlock(model)) return { kind: 'layer', className, config, stateDict: await exportTorchStateDict(model), channels };
    const weights: Extract<ModelDescription, { kind: 'layer' }>['weights'] = [];
    for (const w of model.getWeights()) weights.push({ shape: w.shape, dtype: w.dtype, data: (await w.data()) as Float32Array });
    return { kind: 'layer', className, config, weights, channels };
  }
  throw new ConfigError(`describeModel: cannot describe a ${typeName(model)}: pass a tfjs layer, restorekit block, LayersModel or { module }`);
}

/**
 * Rebuilds a model from `describeModel`'s description in this thread. Classes must be registered here: restorekit
 * core's blocks are; import the packages that define the others first (e.g. '@restorekit/models').
 */
export async function loadModelDescription(desc: ModelDescription): Promise<RestoreModel> {
  if (!isModelDescription(desc))
    throw new ConfigError(`loadModelDescription: not a model description (kind 'layer', 'layers-model' or 'module'), got ${typeName(desc)}`);
  if (desc.kind === 'module') return (await importModuleModel(desc)).model;
  if (desc.kind === 'layers-model') return loadLayersModel(tf.io.fromMemory(desc.artifacts));
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[desc.className];
  if (!entry)
    throw new RegistryError(
      `loadModelDescription: class '${desc.className}' is not registered in this thread: import the package that defines it first (worker option 'imports')`,
    );
  const [cls, fromConfig] = entry;
  const layer = fromConfig(cls, desc.config) as unknown as LayerLike;
  ensureBuilt(layer, desc.channels);
  if (desc.stateDict) await loadTorchStateDict(layer as never, desc.stateDict);
  if (desc.weights) {
    const ts = desc.weights.map((w) => tf.tensor(w.data, w.shape, w.dtype));
    try {
      layer.setWeights(ts);
    } finally {
      for (const t of ts) t.dispose();
    }
  }
  return layer as unknown as RestoreModel;
}
