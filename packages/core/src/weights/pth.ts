/**
 * Reads PyTorch checkpoints (`torch.save` files: .pth, .pt, .ckpt) without Python and without
 * running anything in them. Two container formats exist:
 *
 * - zip (the default since PyTorch 1.6): `<archive>/data.pkl` is a pickle of the saved object in
 *   which every storage is a persistent id `('storage', torch.FloatStorage, '<key>', 'cpu', numel)`,
 *   and `<archive>/data/<key>` holds that storage's raw bytes as a STORED (uncompressed) entry.
 *   `<archive>` is any folder name (the file's stem in 1.x, `archive` later); an optional
 *   `<archive>/byteorder` says 'little' or 'big'.
 * - legacy (before 1.6, or `_use_new_zipfile_serialization=False`): five things back to back: a
 *   magic-number pickle, a protocol-version pickle, a sys-info pickle (endianness), the object
 *   pickle (persistent ids as above plus an optional view of a root storage), a pickle listing the
 *   storage keys, then for each key an int64 element count and the raw elements.
 *
 * The pickles go through ./pickle.ts, which calls nothing but inert constructors; the tensor
 * rebuilders torch writes (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`, ...) are
 * implemented here as data: they record (storage, offset, sizes, strides) and the elements are
 * gathered from the storage bytes afterwards, honouring offsets and strides, so views into a
 * shared storage and non-contiguous tensors come out as torch would give them.
 */
import { CheckpointError } from '../errors.js';
import { PickleGlobal, PickleObject, describe, setKey, unpickle, type CallContext, type InertCallable } from './pickle.js';

/** Element type of a checkpoint tensor's storage (the names follow safetensors). */
export type TorchDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** A tensor read from a checkpoint: values converted to float32, `dtype` is what the file stored. */
export interface TorchTensor {
  shape: number[];
  data: Float32Array;
  dtype: TorchDType;
}

export interface ReadTorchOptions {
  /** Names the file in error messages (default 'checkpoint'). */
  fileName?: string;
}

const ELEMENT_BYTES: Record<TorchDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** `torch.<Name>Storage` → dtype. UntypedStorage holds bytes; `_rebuild_tensor_v3` then says how to read them. */
const STORAGE_TYPES: Record<string, TorchDType> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
  UntypedStorage: 'U8',
};
/** `torch.<dtype>` globals (as `_rebuild_tensor_v3` passes them) → dtype. */
const TORCH_DTYPES: Record<string, TorchDType> = {
  float32: 'F32',
  float: 'F32',
  float16: 'F16',
  half: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  double: 'F64',
  int64: 'I64',
  long: 'I64',
  int32: 'I32',
  int: 'I32',
  int16: 'I16',
  short: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

/** Largest rank and element count of one tensor (2^31 − 1 elements is also tf.js's limit). */
const MAX_RANK = 64;
const MAX_NUMEL = 2 ** 31 - 1;
/**
 * A stride-0 view can describe far more elements than its storage holds (`expand`). We allow
 * that for tensors up to 2^24 elements; beyond, and in total beyond a few times the stored data,
 * it is treated as a hostile file that wants us to allocate without bound.
 */
const MAX_BROADCAST_NUMEL = 2 ** 24;
const BUDGET_FACTOR = 8;

/** Raw storage bytes once known (at the end of a legacy file, so later than the pickle that declares them). */
class Storage {
  bytes: Uint8Array | null = null;
  constructor(
    readonly key: string,
    readonly dtype: TorchDType,
    /** Element count the pickle declares. */
    readonly numel: number,
    readonly littleEndian: boolean,
    /** Legacy view storages: a window of `numel` elements at `baseOffset` into `base`. */
    readonly base: Storage | null = null,
    readonly baseOffset = 0,
  ) {}
}

/** Shared per file: how many more elements may be materialized (see BUDGET_FACTOR). */
interface Budget {
  left: number;
}

/**
 * A tensor as the pickle describes it, before its elements are gathered. checkpoint.ts picks the
 * state dict first and loads only those (a Lightning file also holds optimizer moments).
 */
export class TorchTensorRef {
  private loaded: TorchTensor | null = null;
  constructor(
    private readonly file: string,
    private readonly storage: Storage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
    /** Set by `_rebuild_tensor_v3` (untyped storages); otherwise the storage's dtype. */
    private readonly dtypeOverride: TorchDType | null,
    private readonly budget: Budget,
  ) {}

  get dtype(): TorchDType {
    return this.dtypeOverride ?? this.storage.dtype;
  }

  /** Gathers the elements (once). `name` is the tensor's key path, for error messages. */
  load(name: string): TorchTensor {
    if (this.loaded) return this.loaded;
    const { shape, stride, dtype } = this;
    const file = this.file;
    let root = this.storage;
    let offset = this.offset;
    let limit = Infinity;
    if (root.base) {
      limit = root.numel;
      offset += root.baseOffset;
      root = root.base;
    }
    const key = root.key;
    if (!root.bytes) throw new CheckpointError(`${file}: tensor '${name}' uses storage '${key}', whose data is not in the file`);
    const size = ELEMENT_BYTES[dtype];
    const available = Math.floor(root.bytes.length / size);
    let numel = 1;
    let last = offset;
    for (let i = 0; i < shape.length; i++) {
      numel *= shape[i]!;
      last += (shape[i]! - 1) * stride[i]!;
    }
    if (numel > MAX_NUMEL) throw new CheckpointError(`${file}: tensor '${name}' has ${numel} elements, more than ${MAX_NUMEL}`);
    if (numel > 0 && (last >= available || (this.storage.base && last - this.storage.baseOffset >= limit))) {
      throw new CheckpointError(
        `${file}: storage '${key}' is too short for tensor '${name}': shape [${shape.join(', ')}], stride [${stride.join(', ')}] at offset ${offset} ` +
          `needs ${last + 1} ${dtype} elements but the storage holds ${this.storage.base ? Math.min(available, limit) : available}`,
      );
    }
    if (numel > available && numel > MAX_BROADCAST_NUMEL)
      throw new CheckpointError(`${file}: tensor '${name}' is a ${numel}-element view of a ${available}-element storage; refusing to expand it`);
    if (numel > this.budget.left)
      throw new CheckpointError(
        `${file}: tensor '${name}' would take the elements read past ${BUDGET_FACTOR}× the stored data; refusing to expand views further`,
      );
    this.budget.left -= numel;
    const data = new Float32Array(numel);
    if (numel > 0) gather(root.bytes, dtype, root.littleEndian, offset, shape, stride, data);
    this.loaded = { shape: [...shape], data, dtype };
    return this.loaded;
  }
}

// ---------------------------------------------------------------------------------------------
// Element decoding

const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
let halfTable: Float32Array | null = null;
/** All 65536 float16 values, so decoding F16 is one lookup per element. */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    t[h] = e === 0 ? s * 2 ** -14 * (f / 1024) : e === 31 ? (f ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
  }
  halfTable = t;
  return t;
}

/**
 * Writes `count` elements starting at element `start`, `step` elements apart, into `out` from
 * `at`. Contiguous little-endian float32 is a memory copy; everything else goes through DataView,
 * which also copes with unaligned entries and big-endian files.
 */
function decodeRun(
  bytes: Uint8Array,
  dv: DataView,
  dtype: TorchDType,
  le: boolean,
  start: number,
  step: number,
  count: number,
  out: Float32Array,
  at: number,
): void {
  const size = ELEMENT_BYTES[dtype];
  const byteStart = bytes.byteOffset + start * size;
  if (dtype === 'F32' && step === 1 && le && hostLittleEndian) {
    const src = byteStart % 4 === 0 ? new Float32Array(bytes.buffer, byteStart, count) : new Float32Array(bytes.slice(start * 4, (start + count) * 4).buffer);
    out.set(src, at);
    return;
  }
  const stepBytes = step * size;
  let p = start * size;
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++, p += stepBytes) out[at + i] = dv.getFloat32(p, le);
      break;
    case 'F64':
      for (let i = 0; i < count; i++, p += stepBytes) out[at + i] = dv.getFloat64(p, le);
      break;
    case 'F16': {
      const t = halfToFloatTable();
      for (let i = 0; i < count; i++, p += stepBytes) out[at + i] = t[dv.getUint16(p, le)]!;
      break;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shift the bits into place.
      const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
      for (let i = 0; i < count; i++, p += stepBytes) bits[at + i] = dv.getUint16(p, le) << 16;
      break;
    }
    case 'I64':
      // hi·2^32 + lo is exact before the one rounding to double, as Number(BigInt) would be.
      for (let i = 0; i < count; i++, p += stepBytes) {
        const lo = dv.getUint32(p + (le ? 0 : 4), le);
        const hi = dv.getInt32(p + (le ? 4 : 0), le);
        out[at + i] = hi * 4294967296 + lo;
      }
      break;
    case 'I32':
      for (let i = 0; i < count; i++, p += stepBytes) out[at + i] = dv.getInt32(p, le);
      break;
    case 'I16':
      for (let i = 0; i < count; i++, p += stepBytes) out[at + i] = dv.getInt16(p, le);
      break;
    case 'I8':
      for (let i = 0; i < count; i++, p += stepBytes) out[at + i] = dv.getInt8(p);
      break;
    case 'U8':
      for (let i = 0; i < count; i++, p += stepBytes) out[at + i] = dv.getUint8(p);
      break;
    case 'BOOL':
      for (let i = 0; i < count; i++, p += stepBytes) out[at + i] = dv.getUint8(p) ? 1 : 0;
      break;
  }
}

/**
 * Merges dimensions that are contiguous with the next one and drops size-1 dimensions, so a
 * contiguous [256, 64, 3, 3] tensor is one run rather than 16384 runs of 3.
 */
function coalesce(shape: number[], stride: number[]): { shape: number[]; stride: number[] } {
  const sh: number[] = [];
  const st: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = sh.length - 1;
    if (last >= 0 && st[last] === shape[d]! * stride[d]!) {
      sh[last] = sh[last]! * shape[d]!;
      st[last] = stride[d]!;
    } else {
      sh.push(shape[d]!);
      st.push(stride[d]!);
    }
  }
  return { shape: sh, stride: st };
}

/** Row-major gather of a strided view: one run per innermost row, an odometer over the outer dimensions. */
function gather(bytes: Uint8Array, dtype: TorchDType, le: boolean, offset: number, fullShape: number[], fullStride: number[], out: Float32Array): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { shape, stride } = coalesce(fullShape, fullStride);
  const rank = shape.length;
  if (rank === 0) {
    decodeRun(bytes, dv, dtype, le, offset, 1, 1, out, 0);
    return;
  }
  const inner = shape[rank - 1]!;
  const innerStep = stride[rank - 1]!;
  const rows = out.length / inner;
  const idx = new Array<number>(rank - 1).fill(0);
  let base = offset;
  for (let r = 0; r < rows; r++) {
    decodeRun(bytes, dv, dtype, le, base, innerStep, inner, out, r * inner);
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) {
        base += stride[d]!;
        break;
      }
      base -= (shape[d]! - 1) * stride[d]!;
      idx[d] = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The torch side of unpickling: persistent ids and tensor rebuilders

function nonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function storageDType(t: unknown, file: string): TorchDType {
  if (t instanceof PickleGlobal && (t.module === 'torch' || t.module === 'torch.cuda') && Object.hasOwn(STORAGE_TYPES, t.name)) return STORAGE_TYPES[t.name]!;
  throw new CheckpointError(
    `${file}: unsupported storage type ${describe(t)} (supported: ${Object.keys(STORAGE_TYPES)
      .map((n) => `torch.${n}`)
      .join(', ')})`,
  );
}

/** Builds the `torch.*` allow-list for one file. Each entry records data; none calls anything. */
function torchCallables(file: string, budget: Budget): Record<string, InertCallable> {
  const rebuild =
    (v3: boolean): InertCallable =>
    (args, ctx) => {
      const [storage, offset, size, stride] = args;
      if (!(storage instanceof Storage)) throw new CheckpointError(`${ctx.where}: tensor rebuild without a storage (got ${describe(storage)})`);
      if (!nonNegInt(offset)) throw new CheckpointError(`${ctx.where}: tensor storage offset is ${describe(offset)}, not a non-negative integer`);
      if (
        !Array.isArray(size) ||
        !Array.isArray(stride) ||
        size.length !== stride.length ||
        size.length > MAX_RANK ||
        !size.every(nonNegInt) ||
        !stride.every(nonNegInt)
      )
        throw new CheckpointError(
          `${ctx.where}: tensor sizes/strides are not two equal-length lists of non-negative integers (got ${describe(size)} and ${describe(stride)})`,
        );
      let override: TorchDType | null = null;
      if (v3) {
        const dt = args[6];
        if (!(dt instanceof PickleGlobal) || dt.module !== 'torch' || !Object.hasOwn(TORCH_DTYPES, dt.name))
          throw new CheckpointError(`${ctx.where}: unsupported tensor dtype ${describe(dt)}`);
        override = TORCH_DTYPES[dt.name]!;
        if (storage.dtype !== 'U8' && storage.dtype !== override)
          throw new CheckpointError(`${ctx.where}: tensor of dtype ${override} on a ${storage.dtype} storage '${storage.key}'`);
        if (override === storage.dtype) override = null;
      }
      return new TorchTensorRef(file, storage, offset, size as number[], stride as number[], override, budget);
    };
  return {
    'torch._utils._rebuild_tensor': rebuild(false),
    'torch._utils._rebuild_tensor_v2': rebuild(false),
    'torch._utils._rebuild_tensor_v3': rebuild(true),
    // A Parameter is its tensor; requires_grad and hooks are training state.
    'torch._utils._rebuild_parameter': (args) => args[0],
    'torch._utils._rebuild_parameter_with_state': (args) => args[0],
    // Tensor subclasses: (func, type, args, state). func goes through the allow-list again.
    'torch._tensor._rebuild_from_type_v2': (args, ctx) => {
      const [fn, , fnArgs] = args;
      if (!Array.isArray(fnArgs)) throw new CheckpointError(`${ctx.where}: _rebuild_from_type_v2 arguments are ${describe(fnArgs)}, not a tuple`);
      return ctx.call(fn, fnArgs);
    },
    'torch.device': (args) => args.filter((a) => a !== null && a !== undefined).join(':'),
    'torch.Size': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
  };
}

interface Parsed {
  root: unknown;
  /** Elements actually stored, for the expansion budget. */
  storedElements: number;
}

// ---------------------------------------------------------------------------------------------
// zip

/** CRC-32 tables for slicing-by-8 (eight bytes per step: checkpoints are hundreds of MB). */
const CRC_TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) for (let k = 1; k < 8; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n]! >>> 8) ^ t[t[(k - 1) * 256 + n]! & 0xff]!;
  return t;
})();
function crc32(b: Uint8Array): number {
  const t = CRC_TABLES;
  let c = 0xffffffff;
  let i = 0;
  for (const n8 = b.length - 7; i < n8; i += 8) {
    const lo = (c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))) >>> 0;
    c =
      t[1792 + (lo & 0xff)]! ^
      t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^
      t[768 + b[i + 4]!]! ^
      t[512 + b[i + 5]!]! ^
      t[256 + b[i + 6]!]! ^
      t[b[i + 7]!]!;
  }
  for (; i < b.length; i++) c = t[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface ZipEntry {
  name: string;
  /** The stored bytes (a view into the file). */
  data: Uint8Array;
  crc: number;
  verified: boolean;
}

/**
 * Reads a zip's central directory (zip64 included) and locates each entry's data. Only STORED
 * entries are accepted: torch writes nothing else, and it keeps the reader small and synchronous.
 * Local headers of torch files carry zero sizes (data descriptors), so sizes come from the
 * central directory. CRCs are checked when an entry is first used, as torch's reader does.
 */
function readZip(bytes: Uint8Array, file: string): Map<string, ZipEntry> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  const bad = (msg: string): never => {
    throw new CheckpointError(`${file}: ${msg}`);
  };
  let eocd = -1;
  for (let p = len - 22; p >= Math.max(0, len - 22 - 0xffff); p--) {
    if (dv.getUint32(p, true) === 0x06054b50 && p + 22 + dv.getUint16(p + 20, true) <= len) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) bad('truncated or not a zip: no end-of-central-directory record (the file may have been cut short)');
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (dv.getUint16(eocd + 4, true) !== 0 || dv.getUint16(eocd + 6, true) !== 0) bad('multi-disk zip archives are not supported');
  const u64 = (p: number, what: string): number => {
    const v = dv.getBigUint64(p, true);
    if (v > BigInt(len)) bad(`zip64 ${what} ${v} is beyond the end of the ${len}-byte file`);
    return Number(v);
  };
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) bad('zip64 end-of-central-directory locator is missing');
    const rec = u64(loc + 8, 'record offset');
    if (rec + 56 > len || dv.getUint32(rec, true) !== 0x06064b50) bad('zip64 end-of-central-directory record is missing');
    count = u64(rec + 32, 'entry count');
    cdSize = u64(rec + 40, 'directory size');
    cdOffset = u64(rec + 48, 'directory offset');
  }
  if (cdOffset + cdSize > len) bad(`central directory [${cdOffset}, ${cdOffset + cdSize}) runs past the end of the ${len}-byte file (truncated?)`);
  if (count * 46 > cdSize) bad(`central directory of ${cdSize} bytes cannot hold ${count} entries`);
  const names = new TextDecoder('utf-8');
  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOffset + cdSize || dv.getUint32(p, true) !== 0x02014b50) bad(`central directory entry ${i} is corrupt`);
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let csize = dv.getUint32(p + 20, true);
    let usize = dv.getUint32(p + 24, true);
    const nlen = dv.getUint16(p + 28, true);
    const xlen = dv.getUint16(p + 30, true);
    const clen = dv.getUint16(p + 32, true);
    let local = dv.getUint32(p + 42, true);
    const end = p + 46 + nlen + xlen + clen;
    if (end > cdOffset + cdSize) bad(`central directory entry ${i} runs past the directory`);
    const name = names.decode(bytes.subarray(p + 46, p + 46 + nlen));
    // zip64 extended information: 8-byte values for the fields saturated at 0xffffffff, in this order.
    for (let x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen; ) {
      const id = dv.getUint16(x, true);
      const size = dv.getUint16(x + 2, true);
      if (x + 4 + size > p + 46 + nlen + xlen) bad(`entry '${name}' has a corrupt extra field`);
      if (id === 0x0001) {
        let q = x + 4;
        const next = (what: string): number => {
          if (q + 8 > x + 4 + size) bad(`entry '${name}' has a short zip64 extra field`);
          const v = u64(q, what);
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = next('size');
        if (csize === 0xffffffff) csize = next('compressed size');
        if (local === 0xffffffff) local = next('offset');
      }
      x += 4 + size;
    }
    if (flags & 1) bad(`entry '${name}' is encrypted`);
    if (method !== 0) bad(`entry '${name}' is compressed (method ${method}); torch.save writes stored entries, and only those are read`);
    if (csize !== usize) bad(`stored entry '${name}' has different compressed (${csize}) and uncompressed (${usize}) sizes`);
    if (local + 30 > len || dv.getUint32(local, true) !== 0x04034b50) bad(`entry '${name}' has no local header at byte ${local} (truncated or corrupt)`);
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    if (start + csize > len) bad(`entry '${name}' data [${start}, ${start + csize}) runs past the end of the ${len}-byte file (truncated?)`);
    if (entries.has(name)) bad(`duplicate zip entry '${name}'`);
    entries.set(name, { name, data: bytes.subarray(start, start + csize), crc, verified: false });
    p = end;
  }
  return entries;
}

function entryData(e: ZipEntry, file: string): Uint8Array {
  if (!e.verified) {
    if (crc32(e.data) !== e.crc) throw new CheckpointError(`${file}: zip entry '${e.name}' is corrupt (CRC-32 mismatch)`);
    e.verified = true;
  }
  return e.data;
}

function parseZip(bytes: Uint8Array, file: string, budget: Budget): Parsed {
  const entries = readZip(bytes, file);
  const pkls = [...entries.keys()].filter((n) => /^([^/]+\/)?data\.pkl$/.test(n));
  if (pkls.length === 0)
    throw new CheckpointError(
      `${file}: zip has no <archive>/data.pkl, so it is not a torch.save file (entries: ${[...entries.keys()].slice(0, 5).join(', ')})`,
    );
  if (pkls.length > 1) throw new CheckpointError(`${file}: zip has several data.pkl entries (${pkls.join(', ')})`);
  const pkl = pkls[0]!;
  const prefix = pkl.slice(0, -'data.pkl'.length);
  let littleEndian = true;
  const order = entries.get(`${prefix}byteorder`);
  if (order) {
    const text = new TextDecoder().decode(entryData(order, file)).trim();
    if (text !== 'little' && text !== 'big')
      throw new CheckpointError(`${file}: ${prefix}byteorder says ${JSON.stringify(text.slice(0, 20))}, not 'little' or 'big'`);
    littleEndian = text === 'little';
  }
  const storages = new Map<string, Storage>();
  let storedElements = 0;
  const persistentLoad = (pid: unknown, ctx: CallContext): unknown => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5)
      throw new CheckpointError(`${ctx.where}: persistent id ${describe(pid)} is not ('storage', type, key, location, numel)`);
    const [, type, key, , numel] = pid;
    const dtype = storageDType(type, file);
    if (typeof key !== 'string' || !nonNegInt(numel))
      throw new CheckpointError(`${ctx.where}: storage persistent id has key ${describe(key)} and size ${describe(numel)}`);
    const known = storages.get(key);
    if (known) {
      if (known.dtype !== dtype) throw new CheckpointError(`${ctx.where}: storage '${key}' is declared as both ${known.dtype} and ${dtype}`);
      return known;
    }
    const entry = entries.get(`${prefix}data/${key}`);
    if (!entry) throw new CheckpointError(`${file}: storage '${key}' has no entry ${prefix}data/${key} in the zip`);
    const s = new Storage(key, dtype, numel, littleEndian);
    s.bytes = entryData(entry, file);
    storedElements += Math.floor(s.bytes.length / ELEMENT_BYTES[dtype]);
    storages.set(key, s);
    return s;
  };
  const data = entryData(entries.get(pkl)!, file);
  const { value } = unpickle(data, { where: `${file} (${pkl})`, persistentLoad, callables: torchCallables(file, budget) });
  return { root: value, storedElements };
}

// ---------------------------------------------------------------------------------------------
// legacy

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function parseLegacy(bytes: Uint8Array, file: string, budget: Budget): Parsed {
  const where = (what: string) => `${file} (${what} pickle)`;
  let pos = 0;
  const next = (what: string, extra: Partial<Parameters<typeof unpickle>[1]> = {}): unknown => {
    const r = unpickle(bytes, { where: where(what), start: pos, ...extra });
    pos = r.end;
    return r.value;
  };
  const magic = next('magic number');
  if (magic !== LEGACY_MAGIC) throw new CheckpointError(`${file}: not a PyTorch checkpoint: the first pickle is ${describe(magic)}, not torch's magic number`);
  const version = next('protocol version');
  if (version !== 1001) throw new CheckpointError(`${file}: legacy protocol version ${describe(version)} is not supported (expected 1001)`);
  const sysInfo = next('sys info');
  const littleEndian = !(typeof sysInfo === 'object' && sysInfo !== null && (sysInfo as Record<string, unknown>).little_endian === false);
  const declared = new Map<string, Storage>();
  const persistentLoad = (pid: unknown, ctx: CallContext): unknown => {
    if (!Array.isArray(pid)) throw new CheckpointError(`${ctx.where}: persistent id ${describe(pid)} is not a tuple`);
    // ('module', cls, source file, source): torch recorded a module's source; the class reference is all it yields.
    if (pid[0] === 'module') return pid[1];
    if (pid[0] !== 'storage' || pid.length < 6)
      throw new CheckpointError(`${ctx.where}: persistent id ${describe(pid)} is not ('storage', type, key, location, numel, view)`);
    const [, type, key, , numel, view] = pid;
    const dtype = storageDType(type, file);
    if (typeof key !== 'string' || !nonNegInt(numel))
      throw new CheckpointError(`${ctx.where}: storage persistent id has key ${describe(key)} and size ${describe(numel)}`);
    let root = declared.get(key);
    if (!root) {
      root = new Storage(key, dtype, numel, littleEndian);
      declared.set(key, root);
    } else if (root.dtype !== dtype) throw new CheckpointError(`${ctx.where}: storage '${key}' is declared as both ${root.dtype} and ${dtype}`);
    if (view === null || view === undefined) return root;
    if (!Array.isArray(view) || view.length !== 3 || typeof view[0] !== 'string' || !nonNegInt(view[1]) || !nonNegInt(view[2]))
      throw new CheckpointError(`${ctx.where}: storage view ${describe(view)} is not (key, offset, size)`);
    return new Storage(view[0], dtype, view[2], littleEndian, root, view[1]);
  };
  const root = next('object', { persistentLoad, callables: torchCallables(file, budget) });
  const keys = next('storage keys');
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))
    throw new CheckpointError(`${file}: the storage-key pickle is ${describe(keys)}, not a list of keys`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let storedElements = 0;
  for (const key of keys as string[]) {
    const s = declared.get(key);
    if (!s) throw new CheckpointError(`${file}: storage '${key}' has data in the file but no tensor declares it`);
    if (s.bytes) throw new CheckpointError(`${file}: storage '${key}' is written twice`);
    if (pos + 8 > bytes.length) throw new CheckpointError(`${file}: truncated: the element count of storage '${key}' is missing at byte ${pos}`);
    const n = dv.getBigInt64(pos, littleEndian);
    pos += 8;
    if (n !== BigInt(s.numel)) throw new CheckpointError(`${file}: storage '${key}' holds ${n} elements but its tensors declare ${s.numel}`);
    const size = s.numel * ELEMENT_BYTES[s.dtype];
    if (pos + size > bytes.length)
      throw new CheckpointError(`${file}: truncated: storage '${key}' needs ${size} bytes at byte ${pos} but the file has ${bytes.length - pos} left`);
    s.bytes = bytes.subarray(pos, pos + size);
    storedElements += s.numel;
    pos += size;
  }
  return { root, storedElements };
}

// ---------------------------------------------------------------------------------------------
// Entry points

/** A zip local-file header (or an empty zip's end record) at the start. */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}
/** A pickle PROTO opcode at the start, as torch's legacy format begins (`\x80\x02` + the magic number). */
export function isLegacyTorch(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5;
}

/**
 * Parses a checkpoint into its object tree with tensors left as {@link TorchTensorRef} (not yet
 * gathered). Plain dicts, OrderedDicts and lists are JS objects and arrays, unknown classes are
 * {@link PickleObject} placeholders. Throws {@link CheckpointError} naming the file.
 */
export function openTorchCheckpoint(bytes: Uint8Array, opts: ReadTorchOptions = {}): unknown {
  const file = opts.fileName ?? 'checkpoint';
  // Set once the stored element count is known; nothing is gathered before that.
  const budget: Budget = { left: Infinity };
  let parsed: Parsed;
  if (isZip(bytes)) parsed = parseZip(bytes, file, budget);
  else if (isLegacyTorch(bytes)) parsed = parseLegacy(bytes, file, budget);
  else if (bytes.length >= 262 && latin1Ascii(bytes.subarray(257, 262)) === 'ustar')
    throw new CheckpointError(`${file}: a tar checkpoint (PyTorch < 0.4) is not supported; re-save it with a recent torch`);
  else
    throw new CheckpointError(
      `${file}: not a PyTorch checkpoint (neither a zip nor a legacy pickle; the file starts with ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ') || 'nothing'})`,
    );
  budget.left = BUDGET_FACTOR * parsed.storedElements + MAX_BROADCAST_NUMEL;
  return parsed.root;
}

function latin1Ascii(b: Uint8Array): string {
  return String.fromCharCode(...b);
}

/** Deepest nesting that is converted (Python's own pickler gives up near its recursion limit of 1000). */
const MAX_DEPTH = 1000;

/**
 * Reads a `torch.save` file (zip or legacy format) without running anything in it and returns the
 * saved object with every tensor as `{ shape, data: Float32Array, dtype }` (dtype = what the file
 * stored; values converted to float32, int64 through double). Dicts and OrderedDicts come back as
 * plain objects (non-string keys as strings: optimizer state `{0: ...}` → `'0'`), lists and tuples as
 * arrays, ints as numbers (bigints beyond 2^53), instances of other classes (argparse.Namespace, a
 * pickled nn.Module) as inert {@link PickleObject} placeholders.
 *
 * Throws {@link CheckpointError} naming the file for truncated or malformed files, storages shorter
 * than their tensors, and pickles that would call anything not on the allow-list (`os.system`,
 * `eval`, ...): those are refused before anything could run.
 */
export function readTorchCheckpoint(bytes: Uint8Array, opts: ReadTorchOptions = {}): Record<string, unknown> {
  const file = opts.fileName ?? 'checkpoint';
  const root = openTorchCheckpoint(bytes, opts);
  if (typeof root !== 'object' || root === null || Array.isArray(root) || root instanceof TorchTensorRef)
    throw new CheckpointError(`${file}: the checkpoint holds ${root instanceof TorchTensorRef ? 'a single tensor' : describe(root)}, not a dict`);
  return materialize(root, '', new Map(), 0, file) as Record<string, unknown>;
}

/** Copies the tree with tensors gathered; shared and cyclic references stay shared. */
function materialize(v: unknown, path: string, seen: Map<object, unknown>, depth: number, file: string): unknown {
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array || v instanceof PickleGlobal || v instanceof Storage) return v;
  if (seen.has(v)) return seen.get(v);
  if (v instanceof TorchTensorRef) {
    const t = v.load(path || '<root>');
    seen.set(v, t);
    return t;
  }
  if (depth > MAX_DEPTH) throw new CheckpointError(`${file}: objects nested deeper than ${MAX_DEPTH} levels at '${path}'`);
  const at = (k: string) => (path ? `${path}/${k}` : k);
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    seen.set(v, out);
    for (let i = 0; i < v.length; i++) out.push(materialize(v[i], at(String(i)), seen, depth + 1, file));
    return out;
  }
  if (v instanceof PickleObject) {
    const out = new PickleObject(v.__class__);
    seen.set(v, out);
    out.args = materialize(v.args, at('args'), seen, depth + 1, file) as unknown[];
    if (v.kwargs) out.kwargs = materialize(v.kwargs, at('kwargs'), seen, depth + 1, file) as Record<string, unknown>;
    out.state = materialize(v.state, at('state'), seen, depth + 1, file);
    if (v.dictitems) out.dictitems = materialize(v.dictitems, path, seen, depth + 1, file) as Record<string, unknown>;
    if (v.listitems) out.listitems = materialize(v.listitems, path, seen, depth + 1, file) as unknown[];
    return out;
  }
  const out: Record<string, unknown> = {};
  seen.set(v, out);
  for (const [k, x] of Object.entries(v)) setKey(out, k, materialize(x, at(k), seen, depth + 1, file));
  return out;
}
