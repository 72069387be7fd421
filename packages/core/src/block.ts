import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, DTypeError, ShapeError, fmtShape } from './errors.js';
import { resolveOptions, type OptionSchema } from './options.js';
import { blocks } from './registries.js';
import { checkpointed, shouldCheckpoint } from './recompute.js';

type LayerVariable = tfl.LayerVariable;
export type Initializer = ReturnType<typeof tfl.initializers.zeros>;
type Kwargs = Record<string, unknown>;

/**
 * How a weight maps to its PyTorch tensor.
 * - 'conv': OIHW (also depthwise [C·m, 1, k, k]) ↔ HWIO; 'convTranspose': [in, out, kh, kw] ↔ [kh, kw, out, in]
 *   (both are the permutation [2, 3, 1, 0]); 'linear': [out, in] ↔ [in, out]; 'identity': same shape.
 */
export type TorchLayout = 'conv' | 'convTranspose' | 'linear' | 'identity';

export interface TorchParam {
  /** Full PyTorch state_dict key (relative to the object asked). */
  name: string;
  variable: LayerVariable;
  layout: TorchLayout;
  /** PyTorch buffer (running statistics), not a parameter: excluded from parameter counts. */
  buffer: boolean;
  /** Shape of the tensor in PyTorch. */
  torchShape: number[];
}

interface OwnTorchWeight {
  key: string;
  variable: LayerVariable;
  layout: TorchLayout;
  buffer: boolean;
}

export function torchShapeOf(shape: number[], layout: TorchLayout): number[] {
  switch (layout) {
    case 'conv':
    case 'convTranspose':
      return [shape[3]!, shape[2]!, shape[0]!, shape[1]!];
    case 'linear':
      return [shape[1]!, shape[0]!];
    default:
      return [...shape];
  }
}

export interface BlockArgs {
  name?: string;
  trainable?: boolean;
  dtype?: 'float32';
  inputShape?: (number | null)[];
  batchInputShape?: (number | null)[];
  batchSize?: number;
}

/** Options of a block: JSON values only, so configs round-trip. */
export type BlockOptions = Record<string, unknown>;

/** tfjs layer arguments a block accepts besides its own options (they are not part of the option schema). */
const LAYER_ARGS = ['name', 'trainable', 'dtype', 'inputShape', 'batchInputShape', 'batchSize', 'customObjects'] as const;

/**
 * Base class of every restorekit layer: a `tf.layers.Layer` that
 * - validates its options against the class's `static optionsSchema` (see `resolveOptions`: unknown keys are
 *   errors, defaults are filled once) and returns the complete resolved options from `getConfig()`, so
 *   `new Cls(block.getConfig())` rebuilds it and `model.save`/`tf.loadLayersModel` work;
 * - owns child layers (`addChild`), builds them, and exposes all their weights (trainable and not)
 *   under stable names `<block>/<child>/.../<weight>`;
 * - knows the PyTorch state_dict name and layout of every weight (`torchParameters()`).
 *
 * Subclasses implement `forward(inputs, training)` on concrete tensors and `computeOutputShape`.
 */
const BLOCK_BRAND = Symbol.for('restorekit.Block');

/**
 * True for restorekit blocks, also across two copies of @restorekit/core (an `instanceof` check is not: a second
 * copy installed next to the first would make every block of the other copy look like a plain layer).
 */
export function isBlock(x: unknown): x is Block {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[BLOCK_BRAND] === true;
}

export abstract class Block<O extends BlockOptions = BlockOptions> extends tfl.layers.Layer {
  /** The option schema of this class. Blocks without one keep their options as given (third-party blocks of 0.1). */
  static optionsSchema?: OptionSchema;
  /** A repeated unit of a model (a transformer block, a residual block): `setRecompute(model)` marks the blocks of such classes. */
  static recomputeUnit?: boolean;
  /**
   * Gradient checkpointing: when set, a call in training (`training: true`) while a gradient tape records keeps only
   * this block's inputs for the backward and runs its forward again there (see `setRecompute`: less memory, about
   * 1.3× the compute of a training step, the same outputs and gradients). Not an option: never saved in the config.
   */
  recompute = false;
  /** The resolved options: every option of the schema, defaults filled in, read-only. */
  readonly options: O;
  private readonly children_ = new Map<string, tfl.layers.Layer>();
  private readonly own_: OwnTorchWeight[] = [];
  /** Path of this block inside the root block, used to name weights uniquely. */
  private weightPath_ = '';
  /** See `isBlock`. */
  readonly [BLOCK_BRAND] = true;

  constructor(options: O & BlockArgs) {
    const given = (options ?? {}) as BlockArgs & Record<string, unknown>;
    const { name, trainable, dtype, inputShape, batchInputShape, batchSize, rkOptions, ...rest } = given;
    const cls = new.target as unknown as { className?: string; optionsSchema?: OptionSchema };
    super({ name: name ?? Block.defaultName(cls), trainable, dtype, inputShape, batchInputShape, batchSize } as never);
    // Models saved by restorekit 0.1 carry their exact options hex-encoded in `rkOptions` (next to a readable copy
    // that tfjs had re-cased); those options are the ones to use, so such files still load.
    const raw = typeof rkOptions === 'string' ? decodeOptions(rkOptions) : rest;
    const owner = (cls.className ?? 'Block').split('>').pop()!;
    try {
      this.options = (cls.optionsSchema ? resolveOptions(owner, cls.optionsSchema, raw, LAYER_ARGS) : raw) as O;
    } catch (e) {
      if (typeof rkOptions !== 'string' || !(e instanceof ConfigError)) throw e;
      throw new ConfigError(
        `${e.message}. This layer was saved by restorekit 0.1 (its config has 'rkOptions'), and 0.2 renamed some options (CONTRIBUTING.md, "Option names"): ` +
          'load the weights by name instead — export them with 0.1 (exportTorchStateDict → serializeSafetensors), build the model with 0.2 and loadCheckpoint/loadTorchStateDict them, then save it again',
      );
    }
  }

  private static uid = new Map<string, number>();
  /** tfjs derives default names from the className, whose 'restorekit>' prefix is not a valid tensor name. */
  private static defaultName(cls: { className?: string }): string {
    const bare = (cls.className ?? 'block').split('>').pop()!;
    const snake = bare.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
    const n = (Block.uid.get(snake) ?? 0) + 1;
    Block.uid.set(snake, n);
    return `${snake}_${n}`;
  }

  /** Registers a child layer under its PyTorch attribute name (e.g. 'qkv_dwconv', 'body.0'). */
  protected addChild<T extends tfl.layers.Layer>(torchName: string, layer: T): T {
    if (this.children_.has(torchName)) throw new ConfigError(`${this.name}: duplicate child '${torchName}'`);
    this.children_.set(torchName, layer);
    return layer;
  }

  get childLayers(): ReadonlyMap<string, tfl.layers.Layer> {
    return this.children_;
  }

  /** Builds a child with the given input shape, naming its weights under this block's path. */
  protected buildChild(child: tfl.layers.Layer, inputShape: tfl.Shape | tfl.Shape[]): void {
    if (child.built) return;
    let key: string | undefined;
    for (const [k, v] of this.children_) if (v === child) key = k;
    if (key === undefined) throw new ConfigError(`${this.name}: buildChild called with a layer that is not a child`);
    if (isBlock(child)) child.weightPath_ = `${this.weightPath_}${key}/`;
    child.build(inputShape);
    child.built = true;
  }

  /** Adds a weight with its PyTorch name and layout; buffers are non-trainable. */
  protected addTorchWeight(
    torchKey: string,
    shape: number[],
    initializer: Initializer,
    opts: { layout?: TorchLayout; buffer?: boolean; trainable?: boolean } = {},
  ): LayerVariable {
    const buffer = opts.buffer ?? false;
    const trainable = opts.trainable ?? !buffer;
    const v = this.addWeight(`${this.weightPath_}${torchKey}`, shape, 'float32', initializer, undefined, trainable);
    this.own_.push({ key: torchKey, variable: v, layout: opts.layout ?? 'identity', buffer });
    return v;
  }

  /**
   * Every weight with its PyTorch key, in registration order (own weights first, then children). An unbuilt block
   * is built first from its options (`buildFromOptions`), so counting or loading never sees an empty block.
   */
  torchParameters(prefix = ''): TorchParam[] {
    if (!this.built) this.buildFromOptions();
    return this.collectTorchParameters(prefix);
  }

  private collectTorchParameters(prefix: string): TorchParam[] {
    const out: TorchParam[] = this.own_.map((w) => ({
      name: prefix + w.key,
      variable: w.variable,
      layout: w.layout,
      buffer: w.buffer,
      torchShape: torchShapeOf(w.variable.shape as number[], w.layout),
    }));
    for (const [key, child] of this.children_) if (isBlock(child)) out.push(...child.collectTorchParameters(`${prefix}${key}.`));
    return out;
  }

  /**
   * Builds the block from its options alone — PyTorch creates weights in the constructor, and so can every block
   * whose options fix its input channels (`expectedChannels`). Spatial sizes never change a weight's shape.
   * Blocks whose weights depend on the input say so instead of pretending to have none.
   */
  buildFromOptions(): void {
    if (this.built) return;
    const channels = this.expectedChannels();
    if (channels.length === 0 && this.build === Block.prototype.build) {
      // A block that does not override build() creates no weights: any input shape builds it.
      this.build([null, null, null, null]);
      return;
    }
    if (channels.length === 0 || channels.some((c) => c === undefined))
      throw new ConfigError(
        `${this.getClassName()} '${this.name}' is not built and its options do not fix its input channels: call build(inputShape) or apply it to an input first`,
      );
    const shapes = channels.map((c) => [null, null, null, c as number]);
    this.build(shapes.length === 1 ? shapes[0]! : shapes);
    this.built = true;
  }

  override get trainableWeights(): LayerVariable[] {
    if (!this.trainable) return [];
    return [...super.trainableWeights, ...[...this.children_.values()].flatMap((c) => c.trainableWeights)];
  }
  override set trainableWeights(w: LayerVariable[]) {
    super.trainableWeights = w;
  }
  override get nonTrainableWeights(): LayerVariable[] {
    const kids = [...this.children_.values()];
    if (this.trainable) return [...super.nonTrainableWeights, ...kids.flatMap((c) => c.nonTrainableWeights)];
    return [...super.nonTrainableWeights, ...kids.flatMap((c) => c.weights)];
  }
  override set nonTrainableWeights(w: LayerVariable[]) {
    super.nonTrainableWeights = w;
  }
  override get trainable(): boolean {
    return super.trainable;
  }
  override set trainable(t: boolean) {
    super.trainable = t;
    for (const c of this.children_?.values() ?? []) c.trainable = t;
  }
  override setFastWeightInitDuringBuild(value: boolean): void {
    super.setFastWeightInitDuringBuild(value);
    for (const c of this.children_.values()) c.setFastWeightInitDuringBuild(value);
  }

  /** Disposes the weights (children's included). Unlike tf.layers.Layer, also works after eager use (`apply` on tensors). */
  /**
   * Disposes the weights (children's included) and then calls `releaseResources()` on this block and every child
   * block. Unlike tf.layers.Layer, also works after eager use (`apply` on tensors).
   */
  override dispose(): { refCountAfterDispose: number; numDisposedVariables: number } {
    if (!this.built) return { refCountAfterDispose: 0, numDisposedVariables: 0 };
    const self = this as unknown as { _refCount: number | null };
    if (self._refCount === null) self._refCount = 1;
    const r = super.dispose();
    if (r.refCountAfterDispose === 0) this.releaseTree();
    return r;
  }

  /**
   * Frees what the block holds besides its weights (a shared cache it registered with, ...). Called once when the
   * block, or a block that contains it, is disposed — a parent's dispose frees the children's weights itself, so this
   * hook is how a child learns that it is gone.
   */
  protected releaseResources(): void {}

  private releaseTree(): void {
    this.releaseResources();
    for (const c of this.children_.values()) if (isBlock(c)) c.releaseTree();
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    this.built = true;
    void inputShape;
  }

  /** The computation on concrete tensors. `training` selects train-mode behaviour (BatchNorm). */
  abstract forward(inputs: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor | tf.Tensor[];

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    return tf.tidy(() => {
      const xs = Array.isArray(inputs) && inputs.length === 1 ? inputs[0]! : inputs;
      this.validateInputs(xs);
      const training = kwargs?.training === true;
      if (this.recompute && shouldCheckpoint(training)) return checkpointed(this, (x, t) => this.forward(x, t), xs, training);
      return this.forward(xs, training);
    });
  }

  /** Runs a child on concrete tensors (no symbolic bookkeeping). */
  protected run(child: tfl.layers.Layer, x: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor {
    return child.call(x, { training }) as tf.Tensor;
  }

  /** Checks rank / channels / dtype of concrete inputs; override `expectedChannels` to declare them. */
  protected expectedChannels(): (number | undefined)[] {
    return [];
  }
  protected validateInputs(xs: tf.Tensor | tf.Tensor[]): void {
    const list = Array.isArray(xs) ? xs : [xs];
    const want = this.expectedChannels();
    list.forEach((x, i) => {
      if (x.dtype !== 'float32') throw new DTypeError(`${this.getClassName()} '${this.name}': input ${i} must be float32, got ${x.dtype}`);
      if (want.length === 0) return;
      if (x.rank !== 4)
        throw new ShapeError(`${this.getClassName()} '${this.name}': input ${i} must be rank 4 [B, H, W, C] (NHWC), got shape ${fmtShape(x.shape)}`);
      const c = want[i];
      if (c !== undefined && x.shape[3] !== c)
        throw new ShapeError(`${this.getClassName()} '${this.name}': input ${i} must have ${c} channels (last axis, NHWC), got shape ${fmtShape(x.shape)}`);
    });
  }

  /**
   * The complete resolved options (JSON) plus the base layer args. tfjs-layers re-cases string values when it
   * saves ('WithBias' → 'with_bias') and loads ('withBias'); the option schema maps such variants back to the
   * canonical spelling, so a saved model reloads with exactly these options, and editing a value in model.json
   * changes the reloaded model.
   */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...(JSON.parse(JSON.stringify(this.options)) as tf.serialization.ConfigDict), ...super.getConfig() };
  }
}

function decodeOptions(hex: string): Record<string, unknown> {
  if (!/^([0-9a-f]{2})*$/.test(hex)) throw new ConfigError(`rkOptions is not a hex-encoded options string`);
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

/**
 * Registers a block class for tfjs serialization under its project-prefixed className
 * ('restorekit>Name') and in the restorekit block registry under 'Name'.
 */
export function registerBlock<T extends { className: string; new (...a: never[]): tfl.layers.Layer }>(cls: T): T {
  const [pkg, name] = cls.className.split('>');
  if (pkg !== 'restorekit' || !name) throw new ConfigError(`registerBlock: className must look like 'restorekit>Name', got '${cls.className}'`);
  tf.serialization.registerClass(cls as never, pkg, name);
  if (!blocks.has(name))
    blocks.register(name, {
      create: (o) => new (cls as unknown as new (o: unknown) => tfl.layers.Layer)(o),
      toOptions: (b) => (b as tfl.layers.Layer).getConfig() as Record<string, unknown>,
    });
  return cls;
}

export function ensurePositiveInt(owner: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new ConfigError(`${owner}: option '${key}' must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}
