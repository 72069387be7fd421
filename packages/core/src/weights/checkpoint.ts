/**
 * One door for weight files: `loadCheckpoint(source)` takes a path, URL, bytes or File, tells
 * safetensors from torch.save files by their content (not their extension: `.pth`, `.pt`, `.ckpt`
 * and `.bin` are all used for both torch formats), and returns the model's state dict as
 * `{ key: { shape, data, dtype } }`, ready for `loadTorchStateDict`.
 *
 * Official releases wrap the state dict in different containers; this picks it out the way the
 * projects' own loading code does (BasicSR's `params_ema` before `params`, Lightning's
 * `state_dict`, ...) and removes a wrapper prefix that every key shares (`module.` from
 * DataParallel, `net.` from a LightningModule attribute, ...), so the keys match the model's own
 * parameter names.
 */
import { CheckpointError } from '../errors.js';
import { PickleObject, describe, setKey } from './pickle.js';
import { TorchTensorRef, isLegacyTorch, isZip, openTorchCheckpoint } from './pth.js';
import { parseSafetensors } from './safetensors.js';

/** What `loadCheckpoint` reads: a path (Node) or URL string, a URL, bytes, or a Blob / File. */
export type CheckpointSource = string | URL | Uint8Array | ArrayBuffer | ArrayBufferView | Blob;

/** A state dict entry: values as float32; `dtype` is what the file stored ('F32', 'F16', 'BF16', 'I64', ...). */
export interface CheckpointTensor {
  shape: number[];
  data: Float32Array;
  dtype: string;
}

export interface LoadCheckpointOptions {
  /** Names the file in error messages (default: the path, URL or File name). */
  fileName?: string;
  /** Take the state dict from this top-level key instead of choosing one (e.g. 'params' to skip 'params_ema'). */
  key?: string;
  /**
   * Remove a wrapper prefix shared by every key: `true` (default) removes those in
   * {@link WRAPPER_PREFIXES}, repeatedly (`module._orig_mod.`); a string removes that prefix from
   * the keys that have it; `false` keeps the keys as stored.
   */
  stripPrefix?: boolean | string;
  /** The fetch used for URLs (default: globalThis.fetch), e.g. one that adds credentials. */
  fetch?: (input: string | URL, init?: RequestInit) => Promise<Response>;
  signal?: AbortSignal;
}

/** Top-level keys that hold the state dict, most preferred first (BasicSR, Lightning, common training scripts). */
export const STATE_DICT_KEYS = ['params_ema', 'params', 'state_dict', 'model_state_dict', 'model', 'net', 'network', 'net_g', 'generator'];
/** Prefixes that wrappers add to every key: DataParallel / DDP, a LightningModule's attribute, torch.compile, BasicSR's net_g. */
export const WRAPPER_PREFIXES = ['module.', 'net.', 'model.', '_orig_mod.', 'net_g.', 'generator.'];

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * Reads a weight file and returns its state dict (tensors only; epochs, optimizer state and other
 * entries are dropped once the state dict is chosen). Formats: safetensors, torch.save zip and
 * legacy files (read by {@link readTorchCheckpoint}'s safe pickle reader: nothing in the file is
 * executed; files that try are refused with a {@link CheckpointError}).
 *
 * Errors name the file: `CheckpointError` for torch files and sources that cannot be read,
 * `SafetensorsError` for malformed safetensors.
 */
export async function loadCheckpoint(source: CheckpointSource, opts: LoadCheckpointOptions = {}): Promise<Record<string, CheckpointTensor>> {
  const { bytes, name } = await readSource(source, opts);
  return checkpointStateDict(bytes, { ...opts, fileName: opts.fileName ?? name });
}

/** The synchronous part of {@link loadCheckpoint}, for bytes already in memory. */
export function checkpointStateDict(bytes: Uint8Array, opts: Omit<LoadCheckpointOptions, 'fetch' | 'signal'> = {}): Record<string, CheckpointTensor> {
  const file = opts.fileName ?? 'checkpoint';
  let sd: Record<string, CheckpointTensor>;
  if (isSafetensors(bytes)) {
    sd = parseSafetensors(bytes, file).tensors;
    if (opts.key !== undefined)
      throw new CheckpointError(`${file}: option key '${opts.key}' does not apply to a safetensors file (it holds one flat state dict)`);
  } else if (isZip(bytes) || isLegacyTorch(bytes)) {
    const { dict, path } = chooseStateDict(openTorchCheckpoint(bytes, { fileName: file }), file, opts.key);
    sd = {};
    for (const [k, v] of Object.entries(dict)) {
      if (v instanceof TorchTensorRef) setKey(sd, k, v.load(path ? `${path}/${k}` : k));
      else if (isHostTensor(v)) setKey(sd, k, v);
    }
  } else {
    const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new CheckpointError(`${file}: not a safetensors or PyTorch checkpoint (the file starts with ${head || 'nothing'})`);
  }
  return stripPrefix(sd, opts.stripPrefix ?? true);
}

/**
 * safetensors: a little-endian u64 header length, then a JSON object. The length is not required
 * to fit, so that a cut-off download is reported by the safetensors parser as truncated.
 */
function isSafetensors(b: Uint8Array): boolean {
  if (b.length < 9 || b[8] !== 0x7b) return false;
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true) >= 2n;
}

function isDict(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;
}
function isHostTensor(v: unknown): v is CheckpointTensor {
  return isDict(v) && Array.isArray(v.shape) && v.data instanceof Float32Array;
}
function holdsTensors(x: unknown): x is Record<string, unknown> {
  return isDict(x) && Object.values(x).some((v) => v instanceof TorchTensorRef);
}

/**
 * Finds the state dict in a checkpoint's object tree: the top level itself if it holds tensors
 * (a bare state dict), else the first of {@link STATE_DICT_KEYS} that leads to one (one or two
 * levels down), else a pickled `nn.Module`'s parameters and buffers, else the only dict that holds
 * tensors. Several candidates and no preferred key → an error listing them (use `opts.key`).
 */
function chooseStateDict(root: unknown, file: string, key: string | undefined): { dict: Record<string, unknown>; path: string } {
  if (key !== undefined) {
    const v = isDict(root) && Object.hasOwn(root, key) ? root[key] : undefined;
    const found = v === undefined ? null : find(v, key, 1);
    if (!found)
      throw new CheckpointError(
        `${file}: option key '${key}' ${v === undefined ? 'is not a top-level key' : `holds ${describe(v)}, not a state dict`}${isDict(root) ? ` (keys: ${Object.keys(root).join(', ')})` : ''}`,
      );
    return found;
  }
  const found = find(root, '', 0);
  if (found) return found;
  const what = isDict(root) ? `a dict with keys ${Object.keys(root).slice(0, 20).join(', ')}` : describe(root);
  throw new CheckpointError(`${file}: no state dict (a dict of tensors) found in the checkpoint, which holds ${what}`);

  function find(v: unknown, path: string, depth: number): { dict: Record<string, unknown>; path: string } | null {
    if (holdsTensors(v)) return { dict: v, path };
    if (v instanceof PickleObject) {
      const m = moduleStateDict(v, file);
      return m ? { dict: m, path } : null;
    }
    if (!isDict(v) || depth >= 3) return null;
    const at = (k: string) => (path ? `${path}/${k}` : k);
    for (const k of STATE_DICT_KEYS) {
      if (!Object.hasOwn(v, k)) continue;
      const r = find(v[k], at(k), depth + 1);
      if (r) return r;
    }
    const candidates = Object.keys(v).filter((k) => holdsTensors(v[k]));
    if (candidates.length > 1)
      throw new CheckpointError(
        `${file}: several dicts of tensors (${candidates.map(at).join(', ')}) and none of the usual state-dict keys; pass { key } to choose one`,
      );
    return candidates.length === 1 ? { dict: v[candidates[0]!] as Record<string, unknown>, path: at(candidates[0]!) } : null;
  }
}

/**
 * `torch.save(model)` pickles the module itself: an inert placeholder whose state holds
 * `_parameters`, `_buffers` and `_modules`. Its state dict is those, with dotted names, as
 * `model.state_dict()` would give (non-persistent buffers left out).
 */
function moduleStateDict(m: PickleObject, file: string): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  const seen = new Set<PickleObject>();
  const walk = (obj: PickleObject, prefix: string, depth: number) => {
    if (seen.has(obj)) return;
    if (depth > 256) throw new CheckpointError(`${file}: pickled modules nested deeper than 256 levels`);
    seen.add(obj);
    const st = obj.state;
    if (!isDict(st)) return;
    const skip = new Set(Array.isArray(st._non_persistent_buffers_set) ? st._non_persistent_buffers_set.filter((x): x is string => typeof x === 'string') : []);
    for (const group of ['_parameters', '_buffers'])
      if (isDict(st[group])) for (const [k, v] of Object.entries(st[group])) if (v instanceof TorchTensorRef && !skip.has(k)) setKey(out, prefix + k, v);
    if (isDict(st._modules)) for (const [k, v] of Object.entries(st._modules)) if (v instanceof PickleObject) walk(v, `${prefix}${k}.`, depth + 1);
  };
  walk(m, '', 0);
  return Object.keys(out).length ? out : null;
}

function stripPrefix(sd: Record<string, CheckpointTensor>, how: boolean | string): Record<string, CheckpointTensor> {
  if (how === false) return sd;
  const rename = (p: string, all: boolean) => {
    const out: Record<string, CheckpointTensor> = {};
    for (const [k, v] of Object.entries(sd)) setKey(out, k.startsWith(p) && (all || k.length > p.length) ? k.slice(p.length) : k, v);
    return out;
  };
  if (typeof how === 'string') return how ? rename(how, false) : sd;
  // Only when EVERY key has it (and keeps a name after it): a model whose parameters merely
  // include a 'net.' submodule among others keeps its keys.
  for (let round = 0; round < 4; round++) {
    const keys = Object.keys(sd);
    const p = WRAPPER_PREFIXES.find((q) => keys.length > 0 && keys.every((k) => k.startsWith(q) && k.length > q.length));
    if (!p) break;
    sd = rename(p, true);
  }
  return sd;
}

// ---------------------------------------------------------------------------------------------
// Sources

async function readSource(source: CheckpointSource, opts: LoadCheckpointOptions): Promise<{ bytes: Uint8Array; name: string }> {
  if (source instanceof Uint8Array) return { bytes: source, name: 'checkpoint' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), name: 'checkpoint' };
  if (ArrayBuffer.isView(source)) return { bytes: new Uint8Array(source.buffer, source.byteOffset, source.byteLength), name: 'checkpoint' };
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = opts.fileName ?? ((source as Blob & { name?: unknown }).name as string | undefined) ?? 'blob';
    try {
      return { bytes: new Uint8Array(await source.arrayBuffer()), name };
    } catch (e) {
      throw new CheckpointError(`${name}: cannot read the blob (${(e as Error).message})`);
    }
  }
  if (source instanceof URL) return source.protocol === 'file:' && isNode ? readPath(source, source.href) : fetchBytes(source, opts);
  if (typeof source === 'string') {
    if (/^(https?|blob|data):/i.test(source) || !isNode) return fetchBytes(source, opts);
    return source.startsWith('file:') ? readPath(new URL(source), source) : readPath(source, source);
  }
  throw new CheckpointError(`loadCheckpoint: unsupported source ${describe(source)} (expected a path, URL, bytes, ArrayBuffer or Blob)`);
}

async function readPath(path: string | URL, name: string): Promise<{ bytes: Uint8Array; name: string }> {
  // Imported on use so that browser bundles never need node:fs.
  const fs = await import('node:fs/promises');
  try {
    const buf = await fs.readFile(path);
    return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), name };
  } catch (e) {
    throw new CheckpointError(`${name}: cannot read the file (${(e as Error).message})`);
  }
}

async function fetchBytes(url: string | URL, opts: LoadCheckpointOptions): Promise<{ bytes: Uint8Array; name: string }> {
  const name = typeof url === 'string' ? url : url.href;
  const f = opts.fetch ?? globalThis.fetch;
  if (!f) throw new CheckpointError(`${name}: no fetch available to download it`);
  let res: Response;
  try {
    res = await f(url, opts.signal ? { signal: opts.signal } : undefined);
  } catch (e) {
    throw new CheckpointError(`${name}: download failed (${(e as Error).message})`);
  }
  if (!res.ok) throw new CheckpointError(`${name}: download failed with HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  try {
    return { bytes: new Uint8Array(await res.arrayBuffer()), name };
  } catch (e) {
    throw new CheckpointError(`${name}: download failed while reading the body (${(e as Error).message})`);
  }
}
