import { SafetensorsError } from '../errors.js';

/** Element types the reader understands. Everything is converted to float32 on read except I64 (kept as float64 numbers in a Float64Array). */
export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64';
const BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8 };

export interface SafeTensor {
  dtype: SafetensorsDType;
  shape: number[];
  /** Values converted to float32 (I64 values beyond 2^24 lose precision, as they would as tf float32). */
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** Largest header the reader accepts (the reference implementation uses 100 MB). */
const MAX_HEADER = 100_000_000;

function toBytes(input: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new SafetensorsError(`safetensors: expected an ArrayBuffer or typed array, got ${typeof input}`);
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Parses a safetensors buffer. Validates everything the format promises: header length within
 * the file, valid JSON object, known dtypes, integer non-negative shapes, offsets inside the data
 * section whose size equals prod(shape)·bytes, no overlaps, and no gaps (as the reference parser).
 * Throws `SafetensorsError` naming the file (via `source`) and the tensor.
 */
export function parseSafetensors(input: ArrayBuffer | ArrayBufferView, source = 'safetensors'): SafetensorsFile {
  const bytes = toBytes(input);
  const where = source;
  if (bytes.byteLength < 8) throw new SafetensorsError(`${where}: file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(bytes.byteLength - 8)) throw new SafetensorsError(`${where}: header length ${n} runs past the end of the file (${bytes.byteLength} bytes)`);
  const headerLen = Number(n);
  if (headerLen > MAX_HEADER) throw new SafetensorsError(`${where}: header length ${headerLen} exceeds ${MAX_HEADER}`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new SafetensorsError(`${where}: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new SafetensorsError(`${where}: header is not a JSON object`);
  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) throw new SafetensorsError(`${where}: __metadata__ is not an object`);
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError(`${where}: __metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (info === null || typeof info !== 'object' || Array.isArray(info)) throw new SafetensorsError(`${where}: tensor '${name}' has no info object`);
    const { dtype, shape, data_offsets: off } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in BYTES))
      throw new SafetensorsError(`${where}: tensor '${name}' has unknown dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(BYTES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new SafetensorsError(`${where}: tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new SafetensorsError(`${where}: tensor '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    const [begin, end] = off as [number, number];
    if (begin > end) throw new SafetensorsError(`${where}: tensor '${name}' has data_offsets [${begin}, ${end}] with begin > end`);
    if (end > dataLen)
      throw new SafetensorsError(`${where}: tensor '${name}' data_offsets [${begin}, ${end}] are out of range (data section is ${dataLen} bytes)`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const want = count * BYTES[dtype as SafetensorsDType];
    if (end - begin !== want)
      throw new SafetensorsError(
        `${where}: tensor '${name}' shape ${JSON.stringify(shape)} × ${dtype} needs ${want} bytes but data_offsets span ${end - begin}`,
      );
    entries.push({ name, dtype: dtype as SafetensorsDType, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    if (e.begin < cursor) throw new SafetensorsError(`${where}: tensor '${e.name}' data_offsets [${e.begin}, ${e.end}] overlap the previous tensor`);
    if (e.begin > cursor) throw new SafetensorsError(`${where}: gap of ${e.begin - cursor} bytes before tensor '${e.name}' (offsets must be contiguous)`);
    cursor = e.end;
  }
  if (cursor !== dataLen) throw new SafetensorsError(`${where}: data section is ${dataLen} bytes but tensors cover ${cursor}`);
  const tensors: Record<string, SafeTensor> = {};
  for (const e of entries) {
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data: decode(bytes, dataStart + e.begin, e.end - e.begin, e.dtype) };
  }
  return { tensors, metadata };
}

function decode(bytes: Uint8Array, at: number, len: number, dtype: SafetensorsDType): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + at, len);
  const n = len / BYTES[dtype];
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      // Copy into a fresh aligned buffer (the source may be an unaligned pooled Buffer).
      out.set(new Float32Array(bytes.slice(at, at + len).buffer));
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
      break;
    case 'BF16':
      for (let i = 0; i < n; i++) {
        const u = new Uint32Array([dv.getUint16(i * 2, true) << 16]);
        out[i] = new Float32Array(u.buffer)[0]!;
      }
      break;
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, true));
      break;
  }
  return out;
}

/**
 * Writes float32 tensors as a safetensors buffer: keys sorted, data contiguous in that order,
 * header padded with spaces to a multiple of 8 (like the reference writer).
 */
export function serializeSafetensors(
  tensors: Record<string, { shape: readonly number[]; data: Float32Array | ArrayLike<number> }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length)
      throw new SafetensorsError(`serializeSafetensors: tensor '${name}' has shape ${JSON.stringify(t.shape)} (${count} values) but ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }
  const json = JSON.stringify(header);
  const enc = new TextEncoder();
  let hbytes = enc.encode(json);
  const pad = (8 - ((8 + hbytes.length) % 8)) % 8;
  if (pad) hbytes = enc.encode(json + ' '.repeat(pad));
  const out = new Uint8Array(8 + hbytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let at = 8 + hbytes.length;
  for (const name of names) {
    const t = tensors[name]!;
    const f = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
    out.set(new Uint8Array(f.buffer, f.byteOffset, f.byteLength), at);
    at += f.byteLength;
  }
  return out;
}
