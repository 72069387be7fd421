import { describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors, SafetensorsError } from '../index.js';

const enc = new TextEncoder();
/** Builds a file from a header object and a data section, optionally lying about the header length. */
function build(header: unknown, data: Uint8Array, headerLen?: bigint): Uint8Array {
  const h = enc.encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

describe('safetensors reader and writer', () => {
  it('round-trips F32 tensors with metadata, sorted and 8-byte aligned', () => {
    const a = { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    const b = { shape: [], data: Float32Array.from([-0.5]) };
    const bytes = serializeSafetensors({ 'z.weight': a, 'a.bias': b }, { format: 'pt' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const f = parseSafetensors(bytes);
    expect(Object.keys(f.tensors)).toEqual(['a.bias', 'z.weight']);
    expect(f.tensors['z.weight']!.shape).toEqual([2, 3]);
    expect(Array.from(f.tensors['z.weight']!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(f.tensors['a.bias']!.data)).toEqual([-0.5]);
    expect(f.metadata).toEqual({ format: 'pt' });
  });

  it('reads F16, BF16, F64 and I64 as float32', () => {
    const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3555, 0x7c00]).buffer); // 1, -2, ~0.33325, +inf
    const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc040]).buffer); // 1, -3
    const f64 = new Uint8Array(new Float64Array([Math.PI, -1e-3]).buffer);
    const i64 = new Uint8Array(new BigInt64Array([7n, -42n]).buffer);
    const data = new Uint8Array([...f16, ...bf16, ...f64, ...i64]);
    let o = 0;
    const span = (len: number) => {
      o += len;
      return [o - len, o];
    };
    const header = {
      h: { dtype: 'F16', shape: [4], data_offsets: span(8) },
      b: { dtype: 'BF16', shape: [2], data_offsets: span(4) },
      d: { dtype: 'F64', shape: [2], data_offsets: span(16) },
      i: { dtype: 'I64', shape: [2], data_offsets: span(16) },
    };
    const f = parseSafetensors(build(header, data));
    expect(Array.from(f.tensors.h!.data)).toEqual([1, -2, Math.fround(0.333251953125), Infinity]);
    expect(Array.from(f.tensors.b!.data)).toEqual([1, -3]);
    expect(f.tensors.d!.data[0]).toBeCloseTo(Math.PI, 6);
    expect(f.tensors.d!.data[1]).toBeCloseTo(-1e-3, 9);
    expect(Array.from(f.tensors.i!.data)).toEqual([7, -42]);
  });

  const malformed: [string, () => Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', () => new Uint8Array(5), /shorter than the 8-byte header length/],
    ['header length past the end', () => build({}, new Uint8Array(0), 1000n), /header length 1000 runs past the end/],
    [
      'header not JSON',
      () => {
        const b = build({}, new Uint8Array(0));
        b[8] = 0x7b;
        b[9] = 0x7b;
        return b;
      },
      /not valid UTF-8 JSON/,
    ],
    ['header not an object', () => build([1, 2], new Uint8Array(0)), /not a JSON object/],
    ['unknown dtype', () => build({ x: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /'x' has unknown dtype "C64"/],
    ['offsets out of range', () => build({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32(1)), /'x' data_offsets \[0, 8\] are out of range/],
    ['begin after end', () => build({ x: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, f32(1)), /begin > end/],
    [
      'overlapping tensors',
      () => build({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(1, 2)),
      /overlap/,
    ],
    [
      'shape/size mismatch',
      () => build({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(1, 2)),
      /shape \[3\] × F32 needs 12 bytes but data_offsets span 8/,
    ],
    ['negative shape', () => build({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)), /invalid shape/],
    ['gap between tensors', () => build({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(1, 2)), /gap of 4 bytes/],
    ['trailing bytes', () => build({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1, 2)), /data section is 8 bytes but tensors cover 4/],
    ['metadata not strings', () => build({ __metadata__: { a: 1 } }, new Uint8Array(0)), /__metadata__.a is not a string/],
  ];
  for (const [what, make, msg] of malformed)
    it(`rejects a file with ${what} with a SafetensorsError naming the problem`, () => {
      let err: unknown;
      try {
        parseSafetensors(make(), 'model.safetensors');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SafetensorsError);
      expect((err as Error).message).toMatch(/^model\.safetensors: /);
      expect((err as Error).message).toMatch(msg);
    });

  it('fuzz: 10,000 random and mutated files either parse or throw SafetensorsError', () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const valid = serializeSafetensors(
      { 'a.weight': { shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }, b: { shape: [1], data: Float32Array.from([9]) } },
      { k: 'v' },
    );
    let parsed = 0,
      rejected = 0;
    for (let i = 0; i < 10_000; i++) {
      let buf: Uint8Array;
      const mode = i % 4;
      if (mode === 0) {
        buf = new Uint8Array(Math.floor(rand() * 64));
        for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rand() * 256);
      } else if (mode === 1) {
        buf = valid.slice();
        const flips = 1 + Math.floor(rand() * 4);
        for (let j = 0; j < flips; j++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
      } else if (mode === 2) {
        buf = valid.slice(0, Math.floor(rand() * valid.length));
      } else {
        // Structured header mutations: random dtype/shape/offsets.
        const dt = ['F32', 'F16', 'BF16', 'F64', 'I64', 'U8', 'X'][Math.floor(rand() * 7)];
        const shape = [Math.floor(rand() * 4) - (rand() < 0.1 ? 2 : 0)];
        const b0 = Math.floor(rand() * 12),
          b1 = Math.floor(rand() * 20);
        buf = build({ t: { dtype: dt, shape, data_offsets: [b0, b1] } }, new Uint8Array(Math.floor(rand() * 20)));
      }
      try {
        const f = parseSafetensors(buf);
        for (const t of Object.values(f.tensors)) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
        parsed++;
      } catch (e) {
        if (!(e instanceof SafetensorsError)) throw new Error(`fuzz case ${i}: non-SafetensorsError ${(e as Error).name}: ${(e as Error).message}`);
        rejected++;
      }
    }
    expect(parsed + rejected).toBe(10_000);
    expect(rejected).toBeGreaterThan(5_000);
    expect(parsed).toBeGreaterThan(50);
  });
});
