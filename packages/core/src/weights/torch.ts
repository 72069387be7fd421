import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { isBlock, torchShapeOf, type Block, type TorchParam, type TorchLayout } from '../block.js';
import { WeightsError, fmtShape } from '../errors.js';
import type { SafeTensor } from './safetensors.js';

/** Anything holding restorekit blocks: a Block, a LayersModel (functional or Sequential), or a list of blocks. */
export type TorchTarget = Block | tfl.LayersModel | { layers: tfl.layers.Layer[] } | (Block | tfl.layers.Layer)[];

/** A state dict tensor: a tf.Tensor, or raw data with a shape (as read from safetensors). */
export type StateTensor = tf.Tensor | { shape: number[]; data: Float32Array | ArrayLike<number> };

/** PyTorch names of the weights of tfjs's own layers that have a PyTorch twin (Conv2d, Linear). */
const TFJS_LAYER_WEIGHTS: Record<string, Record<string, TorchLayout>> = {
  Conv2D: { kernel: 'conv', bias: 'identity' },
  Dense: { kernel: 'linear', bias: 'identity' },
};
const TFJS_TORCH_NAME: Record<string, string> = { kernel: 'weight', bias: 'bias' };

function layerParameters(layer: tfl.layers.Layer, prefix: string): TorchParam[] {
  if (isBlock(layer)) return layer.torchParameters(prefix);
  const nested = (layer as unknown as { layers?: tfl.layers.Layer[] }).layers;
  if (Array.isArray(nested)) return nested.flatMap((l) => layerParameters(l, `${prefix}${l.name}.`));
  if (layer.weights.length === 0) return [];
  const cls = layer.getClassName();
  const names = TFJS_LAYER_WEIGHTS[cls];
  if (!names)
    throw new WeightsError(
      `layer '${layer.name}' (${cls}) has weights with no PyTorch name: use the restorekit block of the same kind (Conv2d, BatchNorm2d, ...) or a Block of your own, so its weights can be exported and loaded by name`,
    );
  return layer.weights.map((v) => {
    const short = v.originalName.split('/').pop()!;
    const layout = names[short];
    if (!layout) throw new WeightsError(`layer '${layer.name}' (${cls}): weight '${v.originalName}' has no PyTorch name`);
    return { name: `${prefix}${TFJS_TORCH_NAME[short]}`, variable: v, layout, buffer: false, torchShape: torchShapeOf(v.shape as number[], layout) };
  });
}

/**
 * All PyTorch-named weights of a target, each under a unique key:
 * - a Block: its own keys (as `state_dict()` of the PyTorch module);
 * - a LayersModel (functional or Sequential; also nested ones): each layer's keys prefixed by the layer's name, as
 *   PyTorch prefixes a submodule's keys by its attribute name — give layers names (`new TransformerBlock({ name:
 *   'block1', ... })`) for keys that do not depend on how many layers were created before;
 * - a list of blocks: their keys as they are (a union, like loading several modules from one checkpoint).
 * Two weights under one key are an error (`WeightsError` naming the key), never a silent overwrite.
 */
export function torchParameters(target: TorchTarget): TorchParam[] {
  const params = isBlock(target)
    ? target.torchParameters()
    : Array.isArray(target)
      ? target.flatMap((l) => layerParameters(l, ''))
      : target.layers.flatMap((l) => layerParameters(l, `${l.name}.`));
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const p of params) (seen.has(p.name) ? dup : seen).add(p.name);
  if (dup.size)
    throw new WeightsError(
      `torchParameters: ${dup.size} PyTorch key(s) name two weights each: ${[...dup].join(', ')} (give the layers that hold them distinct names)`,
    );
  return params;
}

const PERM: Record<TorchLayout, number[] | null> = { conv: [2, 3, 1, 0], convTranspose: [2, 3, 1, 0], linear: [1, 0], identity: null };
const INV: Record<TorchLayout, number[] | null> = { conv: [3, 2, 0, 1], convTranspose: [3, 2, 0, 1], linear: [1, 0], identity: null };

export interface LoadOptions {
  /**
   * Load the subtree under this key prefix: `{ prefix: 'encoder_level1.0.' }` loads one block out of a full
   * checkpoint (keys outside the prefix are not looked at; strict still applies inside it). When omitted, a
   * wrapper prefix shared by every key ('net.', 'module.', 'model.', 'net_g.', 'generator.') is removed.
   */
  prefix?: string;
  /** Throw listing every missing, unexpected and mis-shaped key (default true). */
  strict?: boolean;
  /** Keys to ignore in the state dict (e.g. fixture inputs). Keys starting with '__' are always ignored. */
  ignore?: (key: string) => boolean;
}

export interface LoadReport {
  loaded: string[];
  missing: string[];
  unexpected: string[];
}

/**
 * Unwraps common checkpoint containers: BasicSR `{ params }` / `{ params_ema }` (EMA preferred, as
 * BasicSR's test scripts), Lightning `{ state_dict, epoch, optimizer_states, ... }`, `{ model }`.
 * A dict that holds tensors at its top level is already a state dict.
 */
export function unwrapCheckpoint(sd: Record<string, unknown>): Record<string, StateTensor> {
  const isTensorLike = (v: unknown) => isStateTensor(v);
  if (Object.values(sd).some(isTensorLike)) return sd as Record<string, StateTensor>;
  for (const k of ['params_ema', 'params', 'state_dict', 'model']) {
    const v = sd[k];
    if (v && typeof v === 'object' && Object.values(v as object).some(isTensorLike)) return v as Record<string, StateTensor>;
  }
  return sd as Record<string, StateTensor>;
}

function detectPrefix(keys: string[], want: Set<string>): string {
  for (const p of ['net.', 'module.', 'model.', 'net_g.', 'generator.']) {
    if (keys.length && keys.every((k) => k.startsWith(p)) && !keys.some((k) => want.has(k))) return p;
  }
  return '';
}

function isStateTensor(v: unknown): v is StateTensor {
  return v instanceof tf.Tensor || (typeof v === 'object' && v !== null && Array.isArray((v as SafeTensor).shape) && 'data' in (v as object));
}

/**
 * Loads a PyTorch state_dict into a target by official key names, converting layouts
 * (OIHW→HWIO, depthwise, transposed conv, linear). With `strict` (default) nothing is written
 * unless every key matches: a `WeightsError` lists every missing, unexpected and mis-shaped key,
 * and NaN/Inf values are rejected, so a failed load leaves the target's weights as they were.
 * Async because values given as tf.Tensors are read back first (GPU backends read asynchronously); host arrays
 * (`loadCheckpoint`, `parseSafetensors`) are used as they are.
 */
export async function loadTorchStateDict(target: TorchTarget, stateDict: Record<string, unknown>, opts: LoadOptions = {}): Promise<LoadReport> {
  const host: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(unwrapCheckpoint(stateDict))) {
    if (!(v instanceof tf.Tensor)) {
      host[k] = v;
      continue;
    }
    const f = v.dtype === 'float32' ? v : tf.cast(v, 'float32');
    host[k] = { shape: [...v.shape], data: (await f.data()) as Float32Array };
    if (f !== v) f.dispose();
  }
  return applyStateDict(target, host, opts);
}

function applyStateDict(target: TorchTarget, stateDict: Record<string, unknown>, opts: LoadOptions): LoadReport {
  const strict = opts.strict ?? true;
  const params = torchParameters(target);
  const byName = new Map(params.map((p) => [p.name, p]));
  const sd = unwrapCheckpoint(stateDict as Record<string, unknown>);
  const all = Object.keys(sd).filter((k) => !k.startsWith('__') && !(opts.ignore?.(k) ?? false));
  const keys = opts.prefix ? all.filter((k) => k.startsWith(opts.prefix!)) : all;
  if (opts.prefix && keys.length === 0 && all.length)
    throw new WeightsError(
      `loadTorchStateDict: no key starts with the prefix '${opts.prefix}' (the state dict has ${all.length} keys, e.g. ${all.slice(0, 3).join(', ')})`,
      [...byName.keys()],
      [],
    );
  const prefix = opts.prefix ?? detectPrefix(keys, new Set(byName.keys()));
  const missing = new Set(byName.keys());
  const unexpected: string[] = [];
  const mismatched: { key: string; expected: number[]; got: number[] }[] = [];
  const nonFinite: string[] = [];
  const plan: { p: TorchParam; t: StateTensor; key: string }[] = [];
  for (const key of keys) {
    const name = prefix && key.startsWith(prefix) ? key.slice(prefix.length) : key;
    const p = byName.get(name);
    const t = sd[key];
    if (!p) {
      unexpected.push(key);
      continue;
    }
    missing.delete(name);
    if (!isStateTensor(t)) {
      mismatched.push({ key, expected: p.torchShape, got: [] });
      continue;
    }
    const shape = [...t.shape];
    const same = shape.length === p.torchShape.length && shape.every((d, i) => d === p.torchShape[i]);
    const sizeOk = shape.reduce((a, b) => a * b, 1) === p.torchShape.reduce((a, b) => a * b, 1);
    // num_batches_tracked is 0-d in PyTorch; scalars with one element are accepted for identity layouts.
    if (!same && !(p.layout === 'identity' && sizeOk && p.torchShape.length <= 1 && shape.length <= 1)) {
      mismatched.push({ key, expected: p.torchShape, got: shape });
      continue;
    }
    const data = (t as { data: ArrayLike<number> }).data;
    for (let i = 0; i < data.length; i++)
      if (!Number.isFinite(data[i]!)) {
        nonFinite.push(key);
        break;
      }
    plan.push({ p, t, key });
  }
  const missingList = [...missing];
  const problems: string[] = [];
  if (strict && missingList.length) problems.push(`missing keys (${missingList.length}): ${missingList.join(', ')}`);
  if (strict && unexpected.length) problems.push(`unexpected keys (${unexpected.length}): ${unexpected.join(', ')}`);
  if (mismatched.length)
    problems.push(
      `shape mismatches (${mismatched.length}): ${mismatched.map((m) => `${m.key} expected ${fmtShape(m.expected)} got ${fmtShape(m.got)}`).join('; ')}`,
    );
  if (nonFinite.length) problems.push(`NaN or Inf values in: ${nonFinite.join(', ')}`);
  if (problems.length) throw new WeightsError(`loadTorchStateDict: ${problems.join('. ')}`, missingList, unexpected, mismatched);
  for (const { p, t } of plan) {
    tf.tidy(() => {
      const src = tf.tensor(Float32Array.from((t as { data: ArrayLike<number> }).data), p.torchShape.length ? p.torchShape : [], 'float32');
      const shaped = tf.reshape(src, p.torchShape);
      const perm = PERM[p.layout];
      const v = perm ? tf.transpose(shaped, perm) : shaped;
      p.variable.write(tf.reshape(v, p.variable.shape as number[]));
    });
  }
  return { loaded: plan.map((x) => x.key), missing: missingList, unexpected };
}

/**
 * The target's weights as a PyTorch state dict (names, OIHW layouts): `{ key: { shape, data } }`, ready for
 * `serializeSafetensors`. Async because GPU backends (webgpu) can only be read asynchronously.
 */
export async function exportTorchStateDict(
  target: TorchTarget,
  opts: { prefix?: string } = {},
): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const p of torchParameters(target)) {
    const perm = INV[p.layout];
    const t = perm ? tf.transpose(p.variable.read(), perm) : tf.clone(p.variable.read());
    const data = (await t.data()) as Float32Array;
    t.dispose();
    out[(opts.prefix ?? '') + p.name] = { shape: p.torchShape, data: Float32Array.from(data) };
  }
  return out;
}

/** Number of PyTorch parameters (buffers such as BatchNorm running statistics excluded), as `sum(p.numel() for p in model.parameters())`. */
export function countParams(target: TorchTarget): number {
  return torchParameters(target)
    .filter((p) => !p.buffer)
    .reduce((n, p) => n + p.torchShape.reduce((a, b) => a * b, 1), 0);
}
