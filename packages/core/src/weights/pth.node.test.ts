/**
 * PyTorch checkpoint reading: the real torch.save files in shared/fixtures/pth (manifest.json says
 * what each holds and whether it must load or be refused), hand-built pickles and torch files for
 * the opcodes, the allow-list and the tensor layouts no fixture has, a fuzzer, and loadCheckpoint's
 * sources.
 *
 * Comparison rule: every loaded tensor must equal its fixture tensor BIT FOR BIT after the same
 * dtype conversion torch applied when the file was made. F32 files are compared as stored; F16
 * and BF16 files against the fixture rounded to that type with round-to-nearest-even (what
 * `tensor.half()` / `.bfloat16()` do), then widened back to float32, which is exact; int64
 * buffers (num_batches_tracked) against the fixture's float32 copy. No tolerance is needed, so
 * none is allowed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import {
  CheckpointError,
  PickleGlobal,
  PickleObject,
  RestorekitError,
  SafetensorsError,
  checkpointStateDict,
  loadCheckpoint,
  parseSafetensors,
  readTorchCheckpoint,
} from '../index.js';
import { readShared } from '../testing/fixtures.js';
import { unpickle } from './pickle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    sharedDir: string; // provided by vitest.shared.ts (and declared in test-setup/backend.ts, outside this package's tsconfig)
  }
}
const sharedDir = inject('sharedDir');

interface ManifestEntry {
  fixture: string | null;
  format: 'zip' | 'legacy';
  holds: string;
  expect: 'load' | 'refuse';
}
const manifest = JSON.parse(new TextDecoder().decode(await readShared('fixtures/pth/manifest.json'))) as Record<string, ManifestEntry>;
const pth = async (file: string) => (await readShared(`fixtures/pth/${file}`)).slice();

// ---------------------------------------------------------------------------------------------
// Helpers: float rounding as torch does it, bitwise comparison

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** Rounds half to even; exact for the doubles that float32 values scaled by powers of two are. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}
/** float32 → float16 (round to nearest even, overflow to ±inf) → float32. */
function roundToHalf(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  f32[0] = a;
  const e = ((u32[0]! >>> 23) & 0xff) - 127;
  const ulp = 2 ** (Math.max(e, -14) - 10); // subnormal halves have a fixed 2^-24 spacing
  const r = roundHalfEven(a / ulp) * ulp;
  return Math.sign(x) * (r >= 65520 ? Infinity : r);
}
/** float32 → bfloat16 (round to nearest even) → float32. */
function roundToBF16(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  if (Number.isNaN(x)) return x;
  u32[0] = (((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16) >>> 0;
  return f32[0]!;
}
function firstBitMismatch(got: Float32Array, want: Float32Array): number {
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** The fixture's weights (its `__`-prefixed inputs/outputs are not weights), rounded to `dtype`. */
async function fixtureWeights(fixture: string, dtype: 'F32' | 'F16' | 'BF16') {
  const { tensors } = parseSafetensors(await readShared(`fixtures/${fixture}`), fixture);
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('__')) continue;
    const round = dtype === 'F16' ? roundToHalf : dtype === 'BF16' ? roundToBF16 : null;
    out[k] = { shape: t.shape, data: round && !k.endsWith('num_batches_tracked') ? Float32Array.from(t.data, round) : t.data };
  }
  return out;
}

function expectSameWeights(
  got: Record<string, { shape: number[]; data: Float32Array }>,
  want: Record<string, { shape: number[]; data: Float32Array }>,
  file: string,
) {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [k, w] of Object.entries(want)) {
    const g = got[k]!;
    expect(g.shape, `${file}: ${k} shape`).toEqual(w.shape);
    const i = firstBitMismatch(g.data, w.data);
    expect(i, `${file}: ${k}[${i}] is ${g.data[i]} but the fixture has ${w.data[i]}`).toBe(-1);
  }
}

/** What a malicious fixture's payload would create if it ran (`touch /tmp/...`). */
function payloadFiles(bytes: Uint8Array): string[] {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return [...text.matchAll(/touch (\/tmp\/[\w.-]+)/g)].map((m) => m[1]!);
}

async function caught(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Builders: pickles, stored zips and legacy files

type Part = number | string | Uint8Array | Part[];
/** Concatenates opcodes: numbers are bytes, strings raw latin-1 bytes. */
function bytesOf(...parts: Part[]): Uint8Array {
  const out: number[] = [];
  const add = (p: Part) => {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else if (p instanceof Uint8Array) for (const x of p) out.push(x);
    else p.forEach(add);
  };
  parts.forEach(add);
  return Uint8Array.from(out);
}
const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const str = (s: string): Part => {
  const b = new TextEncoder().encode(s);
  return ['X', le32(b.length), b];
};
const int = (n: number): Part => ['J', le32(n)];
const glob = (m: string, n: string): Part => `c${m}\n${n}\n`;
const tup = (...items: Part[]): Part => ['(', items, 't'];
const pickle = (...body: Part[]) => bytesOf(0x80, 2, body, '.');
const FALSE = 0x89;
const emptyOrderedDict: Part = [glob('collections', 'OrderedDict'), ')', 'R'];
/** `torch._utils._rebuild_tensor_v2((storage pid), offset, size, stride, False, OrderedDict())`. */
function tensor(key: string, storage: string, numel: number, offset: number, size: number[], stride: number[], extraPid: Part[] = []): Part {
  const pid = tup(str('storage'), glob('torch', storage), str(key), str('cpu'), int(numel), ...extraPid);
  return [
    glob('torch._utils', '_rebuild_tensor_v2'),
    tup([pid, 'Q'], int(offset), tup(...size.map(int)), tup(...stride.map(int)), FALSE, emptyOrderedDict),
    'R',
  ];
}
function dict(entries: [string, Part][]): Part {
  return ['}', '(', entries.map(([k, v]) => [str(k), v]), 'u'];
}

const CRC = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  return c;
});
/** Plain table CRC-32 (the reader's slicing-by-8 version is checked against it through every fixture). */
function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) c = CRC[(c ^ x) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
/**
 * A zip of STORED entries, as torch writes them (sizes in both headers here, which readers must not
 * rely on anyway). `zip64` writes what torch writes past 4 GiB: saturated 32-bit fields, the real
 * values in zip64 extra fields and a zip64 end record.
 */
function zipStored(files: [string, Uint8Array][], opts: { method?: number; badCrc?: string; zip64?: boolean } = {}): Uint8Array {
  const local: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const le16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff];
  const le64 = (n: number) => [le32(n % 2 ** 32), le32(Math.floor(n / 2 ** 32))];
  const FULL = 0xffffffff;
  for (const [name, data] of files) {
    const n = new TextEncoder().encode(name);
    const crc = opts.badCrc === name ? crc32(data) ^ 1 : crc32(data);
    const size = opts.zip64 ? FULL : data.length;
    const extra = opts.zip64 ? bytesOf(le16(1), le16(24), le64(data.length), le64(data.length), le64(offset)) : new Uint8Array(0);
    const common = (x: Uint8Array) => [
      le16(20),
      le16(0),
      le16(opts.method ?? 0),
      le16(0),
      le16(0),
      le32(crc),
      le32(size),
      le32(size),
      le16(n.length),
      le16(x.length),
    ];
    const lh = bytesOf(le32(0x04034b50), common(new Uint8Array(0)), n, data);
    central.push(bytesOf(le32(0x02014b50), le16(20), common(extra), le16(0), le16(0), le16(0), le32(0), le32(opts.zip64 ? FULL : offset), n, extra));
    local.push(lh);
    offset += lh.length;
  }
  const cd = bytesOf(...central);
  if (!opts.zip64)
    return bytesOf(...local, cd, le32(0x06054b50), le16(0), le16(0), le16(files.length), le16(files.length), le32(cd.length), le32(offset), le16(0));
  const rec = offset + cd.length;
  const z64 = bytesOf(le32(0x06064b50), le64(44), le16(45), le16(45), le32(0), le32(0), le64(files.length), le64(files.length), le64(cd.length), le64(offset));
  const locator = bytesOf(le32(0x07064b50), le32(0), le64(rec), le32(1));
  return bytesOf(...local, cd, z64, locator, le32(0x06054b50), le16(0), le16(0), le16(0xffff), le16(0xffff), le32(FULL), le32(FULL), le16(0));
}
function torchZip(body: Part, storages: Record<string, Uint8Array>, archive = 'archive', extra: [string, Uint8Array][] = []): Uint8Array {
  return zipStored([
    [`${archive}/data.pkl`, pickle(body)],
    ...extra,
    ...Object.entries(storages).map(([k, v]): [string, Uint8Array] => [`${archive}/data/${k}`, v]),
  ]);
}
const f32bytes = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

/** A legacy file: magic, protocol, sys info, object pickle, keys, then (int64 count, elements) per storage. */
function legacyFile(body: Part, storages: [string, number, Uint8Array][]): Uint8Array {
  const magic = bytesOf(0x80, 2, 0x8a, 10, [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19], '.');
  const proto = pickle('M', [0xe9, 0x03]);
  const sys = pickle(
    dict([
      ['protocol_version', ['M', [0xe9, 0x03]]],
      ['little_endian', 0x88],
    ]),
  );
  const keys = pickle(
    ']',
    '(',
    storages.map(([k]) => str(k)),
    'e',
  );
  const data = storages.map(([, n, b]) => bytesOf(le32(n), le32(0), b));
  return bytesOf(magic, proto, sys, pickle(body), keys, ...data);
}

// ---------------------------------------------------------------------------------------------

describe('PyTorch checkpoint fixtures (shared/fixtures/pth)', () => {
  for (const [file, entry] of Object.entries(manifest)) {
    if (entry.expect === 'load') {
      it(`${file}: loads exactly the weights of ${entry.fixture} (${entry.format})`, async () => {
        const bytes = await pth(file);
        const dtype = /bf16/.test(file) ? 'BF16' : /fp16/.test(file) ? 'F16' : 'F32';
        const want = await fixtureWeights(entry.fixture!, dtype);
        const sd = checkpointStateDict(bytes, { fileName: file });
        expectSameWeights(sd, want, file);
        for (const [k, t] of Object.entries(sd)) expect(t.dtype, k).toBe(k.endsWith('num_batches_tracked') ? 'I64' : dtype);
        // The raw reader returns the whole saved object with every tensor gathered.
        const raw = readTorchCheckpoint(bytes, { fileName: file });
        expect(typeof raw).toBe('object');
      });
    } else {
      it(`${file}: is refused with a CheckpointError naming the file and the reason, running nothing`, async () => {
        const bytes = await pth(file);
        const sideEffects = payloadFiles(bytes);
        for (const f of sideEffects) expect(existsSync(f), `${f} exists before the test`).toBe(false);
        for (const read of [
          () => readTorchCheckpoint(bytes, { fileName: file }),
          () => checkpointStateDict(bytes, { fileName: file }),
          () => loadCheckpoint(join(sharedDir, 'fixtures/pth', file)),
        ]) {
          const err = await caught(read);
          expect(err).toBeInstanceOf(CheckpointError);
          const msg = (err as Error).message;
          expect(msg).toContain(file);
          const reason: Record<string, RegExp> = {
            'malicious_os_system.pth': /refusing to call posix\.system .*nothing was executed/,
            'malicious_eval_legacy.pth': /refusing to call __builtin__\.eval .*nothing was executed/,
            'truncated.pth': /truncated/,
            'short_storage.pth': /storage '0' is too short for tensor '.*project_out\.weight'.*needs 256 F32 elements but the storage holds 128/,
          };
          expect(msg).toMatch(reason[file] ?? /./);
        }
        for (const f of sideEffects) expect(existsSync(f), `${f} was created: the payload ran`).toBe(false);
        if (file.startsWith('malicious')) expect(sideEffects.length).toBeGreaterThan(0);
      });
    }
  }

  it('keeps the containers around the state dict: BasicSR params, Lightning state with optimizer and an inert argparse.Namespace', async () => {
    const basicsr = readTorchCheckpoint(await pth('restormer_params.pth'), { fileName: 'restormer_params.pth' });
    expect(Object.keys(basicsr)).toEqual(['params']);
    const lightning = readTorchCheckpoint(await pth('anyir_lightning.ckpt'), { fileName: 'anyir_lightning.ckpt' }) as Record<string, any>;
    expect(lightning.epoch).toBe(3);
    expect(lightning.global_step).toBe(1200);
    expect(Object.keys(lightning.state_dict).every((k) => k.startsWith('net.'))).toBe(true);
    // Optimizer moments are tensors too, keyed by parameter index.
    const adam = lightning.optimizer_states[0];
    expect(adam.param_groups[0].betas).toEqual([0.9, 0.999]);
    expect(adam.state['0'].exp_avg.data).toBeInstanceOf(Float32Array);
    const opt = lightning.hyper_parameters.opt;
    expect(opt).toBeInstanceOf(PickleObject);
    expect(opt.__class__).toBe('argparse.Namespace');
    expect(opt.state.epochs).toBe(120);
    expect(opt.state.de_type).toEqual(['denoise_15', 'denoise_25', 'denoise_50', 'derain', 'dehaze']);
    const legacy = readTorchCheckpoint(await pth('restormer_params_legacy.pth'));
    expect(Object.keys(legacy)).toEqual(['params']);
  });

  it('gathers views into one shared storage, including the transposed-stride tensor, as independent arrays', async () => {
    const raw = readTorchCheckpoint(await pth('restormer_shared_storage.pth')) as Record<string, Record<string, { shape: number[]; data: Float32Array }>>;
    const params = raw.params!;
    const buffers = new Set(Object.values(params).map((t) => t.data.buffer));
    expect(buffers.size).toBe(Object.keys(params).length);
    const want = await fixtureWeights(manifest['restormer_shared_storage.pth']!.fixture!, 'F32');
    const k = 'decoder_level1.0.attn.qkv.weight';
    expect(firstBitMismatch(params[k]!.data, want[k]!.data)).toBe(-1);
  });
});

describe('pickle reader: opcodes', () => {
  const read = (b: Uint8Array) => unpickle(b, { where: 'test.pkl' }).value;

  it('reads protocol 2 scalars, strings, containers and the memo', () => {
    const b = pickle(
      '}',
      'q',
      0,
      '(',
      str('ints'),
      tup(int(-5), ['K', 200], ['M', 0xe8, 0x03], [0x8a, 1, 0xff], [0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
      str('float'),
      'G',
      [0x3f, 0xf8, 0, 0, 0, 0, 0, 0],
      str('flags'),
      tup(0x88, FALSE, ['N', 0x85]),
      str('list'),
      [']', 'q', 1, '(', str('a'), str('b'), 'e', str('c'), 'a'],
      str('again'),
      ['h', 1],
      str('pairs'),
      [int(1), int(2), 0x86, int(3), int(4), int(5), 0x87, 0x86],
      str('odict'),
      [emptyOrderedDict, int(7), str('seven'), 's'],
      str('bytes'),
      [glob('_codecs', 'encode'), tup(str('\u00ff\u0001'), str('latin1')), 'R'],
      str('binbytes'),
      ['C', 3, 1, 2, 3],
      'u',
    );
    const v = read(b) as Record<string, any>;
    expect(v.ints).toEqual([-5, 200, 1000, -1, 2n ** 64n]);
    expect(v.float).toBe(1.5);
    expect(v.flags).toEqual([true, false, [null]]);
    expect(v.list).toEqual(['a', 'b', 'c']);
    expect(v.again).toBe(v.list);
    expect(v.pairs).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    expect(v.odict).toEqual({ '7': 'seven' });
    expect(Array.from(v.bytes)).toEqual([255, 1]);
    expect(Array.from(v.binbytes)).toEqual([1, 2, 3]);
  });

  it('reads protocol 4/5 framing, short strings, MEMOIZE, STACK_GLOBAL, sets and frozensets', () => {
    const body = bytesOf(
      0x8c,
      1,
      'k',
      0x94, // SHORT_BINUNICODE 'k', MEMOIZE → 0
      0x8d,
      [2, 0, 0, 0, 0, 0, 0, 0],
      'hi',
      0x94, // BINUNICODE8 'hi' → 1
      0x8f,
      '(',
      ['K', 1],
      ['K', 2],
      0x90, // EMPTY_SET, ADDITEMS
      '(',
      ['K', 3],
      0x91, // FROZENSET
      0x8c,
      11,
      'collections',
      0x8c,
      11,
      'OrderedDict',
      0x93,
      ')',
      'R', // STACK_GLOBAL + REDUCE
      ['h', 1],
      ['j', le32(0)],
      's', // odict['hi'] = 'k'
      0x87,
      0x98,
    );
    const b = bytesOf(0x80, 5, 0x95, le32(body.length + 1), le32(0), body, '.');
    expect(read(b)).toEqual([[1, 2], [3], { hi: 'k' }]);
  });

  it('reads the text protocol 0 (INT, LONG, FLOAT, STRING, UNICODE, PUT/GET, DICT, LIST, TUPLE)', () => {
    const b = bytesOf('(dp0\n', "S'a\\n\\x41'\n", '(I1\nI01\nL123456789012345678901L\nF-2.5\ntp1\n', 's', 'Vcaf\\u00e9\n', '(lp2\ng1\na', 's.');
    expect(read(b)).toEqual({ 'a\nA': [1, true, 123456789012345678901n, -2.5], café: [[1, true, 123456789012345678901n, -2.5]] });
  });

  it('turns NEWOBJ + BUILD of an unknown class into an inert placeholder, and SETITEMS/APPENDS on it into data', () => {
    const b = pickle(
      glob('argparse', 'Namespace'),
      ')',
      0x81,
      dict([['lr', int(2)]]),
      'b',
      glob('mylib', 'Thing'),
      tup(int(1)),
      0x81,
      str('k'),
      int(3),
      's',
      ']',
      'a',
      0x86,
    );
    const [ns, thing] = read(b) as [PickleObject, PickleObject];
    expect(ns).toBeInstanceOf(PickleObject);
    expect(ns.__class__).toBe('argparse.Namespace');
    expect(ns.state).toEqual({ lr: 2 });
    expect(thing.args).toEqual([1]);
    expect(thing.dictitems).toEqual({ k: 3 });
    expect(thing.listitems).toEqual([[]]);
    // A global that is only named (never called) is an inert reference.
    expect(read(pickle(glob('os', 'system')))).toEqual(new PickleGlobal('os', 'system'));
  });

  it("never lets a '__proto__' key reach an object's prototype", () => {
    const v = read(pickle(dict([['__proto__', dict([['polluted', int(1)]])]]))) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect((v as { polluted?: number }).polluted).toBeUndefined();
    expect(Object.keys(v)).toEqual(['__proto__']);
  });
});

describe('pickle reader: allow-list (nothing named in a file is ever called)', () => {
  // Each one inside a real torch zip, next to a tensor, as an attacker would ship it.
  const callers: [string, (m: string, n: string, arg: Part) => Part][] = [
    ['REDUCE', (m, n, arg) => [glob(m, n), tup(arg), 'R']],
    ['STACK_GLOBAL + REDUCE', (m, n, arg) => [str(m), str(n), 0x93, tup(arg), 'R']],
    ['INST', (m, n, arg) => ['(', arg, `i${m}\n${n}\n`]],
    ['OBJ', (m, n, arg) => ['(', glob(m, n), arg, 'o']],
    [
      '_rebuild_from_type_v2',
      (m, n, arg) => [glob('torch._tensor', '_rebuild_from_type_v2'), tup(glob(m, n), glob('torch', 'Tensor'), tup(arg), dict([])), 'R'],
    ],
  ];
  const targets = [
    'os.system',
    'posix.system',
    'nt.system',
    'builtins.eval',
    'builtins.exec',
    '__builtin__.eval',
    'builtins.getattr',
    'builtins.__import__',
    'subprocess.Popen',
    'subprocess.check_output',
    'argparse.Namespace',
    'torch.load',
    'numpy.load',
    'webbrowser.open',
    'pickle.loads',
  ];
  for (const [via, make] of callers)
    it(`refuses ${via} of ${targets.length} dangerous or unknown callables, naming the file and the global`, () => {
      for (const t of targets) {
        const dot = t.lastIndexOf('.');
        const body = dict([
          ['w', tensor('0', 'FloatStorage', 1, 0, [1], [1])],
          ['x', make(t.slice(0, dot), t.slice(dot + 1), str('touch /tmp/never'))],
        ]);
        let err: unknown;
        try {
          readTorchCheckpoint(torchZip(body, { '0': f32bytes(1) }), { fileName: 'evil.pth' });
        } catch (e) {
          err = e;
        }
        expect(err, `${via} ${t}`).toBeInstanceOf(CheckpointError);
        expect((err as Error).message).toMatch(
          new RegExp(`^evil\\.pth \\(archive/data\\.pkl\\): refusing to call ${t.replace(/\./g, '\\.')} \\(.*nothing was executed`),
        );
      }
    });

  it('refuses calls of non-globals, extension codes and out-of-band buffers', () => {
    const cases: [Uint8Array, RegExp][] = [
      [pickle(str('os.system'), tup(), 'R'), /REDUCE would call the string "os\.system"/],
      [pickle(0x82, 1), /extension-registry/],
      [bytesOf(0x80, 5, 0x97, '.'), /NEXT_BUFFER/],
      [pickle(glob('mylib', 'Thing'), ')', 0x81, tup(), 'R'), /REDUCE would call a mylib\.Thing object/],
    ];
    for (const [b, msg] of cases) expect(() => unpickle(b, { where: 'x.pkl' })).toThrow(msg);
  });

  it('calls only the inert implementations of allow-listed constructors', () => {
    const b = pickle(
      glob('collections', 'OrderedDict'),
      tup(']', '(', tup(str('a'), int(1)), tup(str('b'), int(2)), 'e'),
      'R',
      glob('builtins', 'set'),
      tup(']', int(9), 'a'),
      'R',
      0x86,
    );
    expect(unpickle(b, { where: 'x.pkl' }).value).toEqual([{ a: 1, b: 2 }, [9]]);
    // numpy arrays and scalars (Lightning callback state) become placeholders, not calls.
    const np = pickle(glob('numpy.core.multiarray', 'scalar'), tup(glob('numpy', 'dtype'), ['C', 1, 0]), 'R');
    expect((unpickle(np, { where: 'x.pkl' }).value as PickleObject).__class__).toBe('numpy.core.multiarray.scalar');
  });
});

describe('pickle reader: malformed input fails fast with CheckpointError', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty input', new Uint8Array(0), /ends before STOP/],
    ['no STOP', bytesOf(0x80, 2, 'N'), /ends before STOP/],
    ['stack underflow', bytesOf(0x80, 2, 's'), /stack underflow/],
    ['unknown opcode', bytesOf(0x80, 2, 0xff), /unknown pickle opcode 0xff/],
    ['protocol 6', bytesOf(0x80, 6), /protocol 6/],
    ['memo key never stored', bytesOf(0x80, 2, 'h', 7, '.'), /memo key 7/],
    ['string longer than the input', bytesOf(0x80, 2, 'X', le32(0xfffffff0), 'abc'), /truncated pickle: BINUNICODE needs 4294967280 bytes/],
    ['8-byte length beyond 2^53', bytesOf(0x80, 4, 0x8d, [0, 0, 0, 0, 0, 0, 0, 0xff]), /truncated pickle/],
    ['invalid UTF-8', bytesOf(0x80, 2, 'X', le32(1), 0xff, '.'), /not valid UTF-8/],
    ['SETITEM on a list', bytesOf(0x80, 2, ']', 'N', 'N', 's', '.'), /SETITEM on a 0-item sequence, not a dict/],
    ['APPEND to a tuple', bytesOf(0x80, 2, ')', 'N', 'a', '.'), /APPEND on a 0-item sequence, not a list/],
    ['TUPLE without MARK', bytesOf(0x80, 2, 't', '.'), /without a MARK/],
    ['GLOBAL that is not a name', bytesOf(0x80, 2, 'cos system\nfoo\n'), /not a Python module and name/],
    ['huge LONG4', bytesOf(0x80, 2, 0x8b, le32(1 << 20)), /limit/],
    ['text integer with too many digits', bytesOf('I', '1'.repeat(5000), '\n.'), /more than 4300 digits/],
    ['persistent id without a loader', bytesOf(0x80, 2, 'N', 'Q', '.'), /persistent id/],
  ];
  for (const [what, b, msg] of cases)
    it(what, () => {
      let err: unknown;
      try {
        unpickle(b, { where: 'bad.pkl' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(/^bad\.pkl/);
      expect((err as Error).message).toMatch(msg);
    });

  it('rejects structures nested deeper than the limit instead of overflowing the JS stack', () => {
    const n = 200_000;
    const b = bytesOf(0x80, 2, '}', '(', str('x'), new Array(n).fill(']'), new Array(n - 1).fill('a'), 'u', '.');
    expect(() => readTorchCheckpoint(zipStored([['a/data.pkl', b]]), { fileName: 'deep.pth' })).toThrow(/deep\.pth: objects nested deeper than 1000 levels/);
  });
});

describe('torch files built by hand: dtypes, strides, offsets, layouts', () => {
  it('honours storage offsets, transposed strides, stride-0 expansion, scalars and empty tensors', () => {
    const body = dict([
      ['t', tensor('0', 'FloatStorage', 6, 0, [3, 2], [1, 3])], // the transpose of [[0,1,2],[3,4,5]]
      ['row', tensor('0', 'FloatStorage', 6, 3, [3], [1])],
      ['col', tensor('0', 'FloatStorage', 6, 1, [2], [3])],
      ['expand', tensor('0', 'FloatStorage', 6, 2, [2, 3], [0, 1])],
      ['scalar', tensor('0', 'FloatStorage', 6, 5, [], [])],
      ['empty', tensor('0', 'FloatStorage', 6, 0, [0, 4], [4, 1])],
    ]);
    const sd = readTorchCheckpoint(torchZip(body, { '0': f32bytes(0, 1, 2, 3, 4, 5) })) as Record<string, { shape: number[]; data: Float32Array }>;
    expect(Array.from(sd.t!.data)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(sd.t!.shape).toEqual([3, 2]);
    expect(Array.from(sd.row!.data)).toEqual([3, 4, 5]);
    expect(Array.from(sd.col!.data)).toEqual([1, 4]);
    expect(Array.from(sd.expand!.data)).toEqual([2, 3, 4, 2, 3, 4]);
    expect(sd.scalar!.shape).toEqual([]);
    expect(Array.from(sd.scalar!.data)).toEqual([5]);
    expect(sd.empty!.data.length).toBe(0);
  });

  it('reads F64, I64, I32, I16, I8, U8 and BOOL storages, a big-endian file, Parameters and _rebuild_tensor_v3', () => {
    const body = dict([
      ['f64', tensor('a', 'DoubleStorage', 2, 0, [2], [1])],
      ['i64', tensor('b', 'LongStorage', 2, 0, [2], [1])],
      ['i32', tensor('c', 'IntStorage', 2, 0, [2], [1])],
      ['i16', tensor('d', 'ShortStorage', 2, 0, [2], [1])],
      ['i8', tensor('e', 'CharStorage', 2, 0, [2], [1])],
      ['u8', tensor('f', 'ByteStorage', 2, 0, [2], [1])],
      ['bool', tensor('g', 'BoolStorage', 2, 0, [2], [1])],
      ['param', [glob('torch._utils', '_rebuild_parameter'), tup(tensor('h', 'HalfStorage', 2, 0, [2], [1]), 0x88, emptyOrderedDict), 'R']],
      [
        'v3',
        [
          glob('torch._utils', '_rebuild_tensor_v3'),
          tup(
            [tup(str('storage'), glob('torch', 'UntypedStorage'), str('i'), str('cpu'), int(4)), 'Q'],
            int(0),
            tup(int(2)),
            tup(int(1)),
            FALSE,
            emptyOrderedDict,
            glob('torch', 'bfloat16'),
          ),
          'R',
        ],
      ],
    ]);
    const storages = {
      a: new Uint8Array(new Float64Array([Math.PI, -1e300]).buffer),
      b: new Uint8Array(new BigInt64Array([-7n, 2n ** 53n + 2n]).buffer),
      c: new Uint8Array(new Int32Array([-2147483648, 7]).buffer),
      d: new Uint8Array(new Int16Array([-300, 300]).buffer),
      e: new Uint8Array(new Int8Array([-128, 127]).buffer),
      f: Uint8Array.from([0, 255]),
      g: Uint8Array.from([0, 2]),
      h: new Uint8Array(new Uint16Array([0x3c00, 0xfc00]).buffer), // 1, -inf
      i: new Uint8Array(new Uint16Array([0x3f80, 0xc040]).buffer), // 1, -3
    };
    const sd = readTorchCheckpoint(torchZip(body, storages)) as Record<string, { dtype: string; data: Float32Array }>;
    expect(Array.from(sd.f64!.data)).toEqual([Math.fround(Math.PI), -Infinity]);
    expect(Array.from(sd.i64!.data)).toEqual([-7, 2 ** 53]);
    expect(Array.from(sd.i32!.data)).toEqual([-2147483648, 7]);
    expect(Array.from(sd.i16!.data)).toEqual([-300, 300]);
    expect(Array.from(sd.i8!.data)).toEqual([-128, 127]);
    expect(Array.from(sd.u8!.data)).toEqual([0, 255]);
    expect(Array.from(sd.bool!.data)).toEqual([0, 1]);
    expect(Array.from(sd.param!.data)).toEqual([1, -Infinity]);
    expect([sd.param!.dtype, sd.v3!.dtype, sd.i64!.dtype, sd.bool!.dtype]).toEqual(['F16', 'BF16', 'I64', 'BOOL']);
    expect(Array.from(sd.v3!.data)).toEqual([1, -3]);

    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    new DataView(be.buffer).setFloat32(4, -2, false);
    const big = readTorchCheckpoint(
      torchZip(dict([['w', tensor('0', 'FloatStorage', 2, 0, [2], [1])]]), { '0': be }, 'any_name', [['any_name/byteorder', new TextEncoder().encode('big')]]),
    );
    expect(Array.from((big.w as { data: Float32Array }).data)).toEqual([1.5, -2]);
  });

  it('reads zip64 archives (what torch writes for files over 4 GiB)', () => {
    const body = pickle(dict([['w', tensor('0', 'FloatStorage', 3, 0, [3], [1])]]));
    const sd = readTorchCheckpoint(
      zipStored(
        [
          ['archive/data.pkl', body],
          ['archive/data/0', f32bytes(1, 2, 3)],
        ],
        { zip64: true },
      ),
    );
    expect(Array.from((sd.w as { data: Float32Array }).data)).toEqual([1, 2, 3]);
  });

  it('reads a legacy file with a storage view (view_metadata)', () => {
    const view = tup(str('v'), int(2), int(3));
    const body = dict([
      ['w', tensor('root', 'FloatStorage', 6, 1, [2], [1], [view])],
      ['all', tensor('root', 'FloatStorage', 6, 0, [6], [1], ['N'])],
    ]);
    const sd = readTorchCheckpoint(legacyFile(body, [['root', 6, f32bytes(0, 1, 2, 3, 4, 5)]]), { fileName: 'old.pth' }) as Record<
      string,
      { data: Float32Array }
    >;
    expect(Array.from(sd.w!.data)).toEqual([3, 4]);
    expect(Array.from(sd.all!.data)).toEqual([0, 1, 2, 3, 4, 5]);
    const tooFar = dict([['w', tensor('root', 'FloatStorage', 6, 2, [2], [1], [view])]]);
    expect(() => readTorchCheckpoint(legacyFile(tooFar, [['root', 6, f32bytes(0, 1, 2, 3, 4, 5)]]), { fileName: 'old.pth' })).toThrow(
      /old\.pth: storage 'root' is too short for tensor 'w'/,
    );
    const cut = legacyFile(body, [['root', 6, f32bytes(0, 1, 2, 3, 4, 5)]]);
    expect(() => readTorchCheckpoint(cut.subarray(0, cut.length - 3), { fileName: 'old.pth' })).toThrow(/old\.pth: truncated: storage 'root' needs 24 bytes/);
  });

  const refusals: [string, () => Uint8Array, RegExp][] = [
    [
      'a storage shorter than its tensor',
      () => torchZip(dict([['w', tensor('0', 'FloatStorage', 4, 1, [2, 2], [2, 1])]]), { '0': f32bytes(1, 2, 3, 4) }),
      /storage '0' is too short for tensor 'w'.*needs 5 F32 elements but the storage holds 4/,
    ],
    [
      'a storage with no zip entry',
      () => torchZip(dict([['w', tensor('7', 'FloatStorage', 1, 0, [1], [1])]]), {}),
      /storage '7' has no entry archive\/data\/7/,
    ],
    [
      'an unknown storage type',
      () => torchZip(dict([['w', tensor('0', 'ComplexFloatStorage', 1, 0, [1], [1])]]), { '0': f32bytes(1, 2) }),
      /unsupported storage type torch\.ComplexFloatStorage/,
    ],
    ['negative strides', () => torchZip(dict([['w', tensor('0', 'FloatStorage', 1, 0, [1], [-1])]]), { '0': f32bytes(1) }), /sizes\/strides are not/],
    [
      'a CRC mismatch',
      () =>
        zipStored(
          [
            ['a/data.pkl', pickle(dict([['w', tensor('0', 'FloatStorage', 1, 0, [1], [1])]]))],
            ['a/data/0', f32bytes(1)],
          ],
          { badCrc: 'a/data/0' },
        ),
      /'a\/data\/0' is corrupt \(CRC-32 mismatch\)/,
    ],
    ['a compressed entry', () => zipStored([['a/data.pkl', pickle('N')]], { method: 8 }), /compressed \(method 8\)/],
    ['a zip without data.pkl', () => zipStored([['a/other', pickle('N')]]), /no <archive>\/data\.pkl/],
    [
      'a huge stride-0 expansion',
      () => torchZip(dict([['w', tensor('0', 'FloatStorage', 1, 0, [1 << 15, 1 << 15], [0, 0])]]), { '0': f32bytes(1) }),
      /refusing to expand/,
    ],
    ['neither zip nor pickle', () => new TextEncoder().encode('hello world'), /not a PyTorch checkpoint/],
  ];
  for (const [what, make, msg] of refusals)
    it(`refuses ${what}`, () => {
      let err: unknown;
      try {
        readTorchCheckpoint(make(), { fileName: 'hand.pth' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(/^hand\.pth/);
      expect((err as Error).message).toMatch(msg);
    });

  it('picks the state dict out of its container and strips wrapper prefixes only when every key has them', () => {
    const w = tensor('0', 'FloatStorage', 1, 0, [1], [1]);
    const pick = (body: Part, opts = {}) => Object.keys(checkpointStateDict(torchZip(body, { '0': f32bytes(1) }), opts)).sort();
    expect(
      pick(
        dict([
          ['params', dict([['a.w', w]])],
          ['params_ema', dict([['b.w', w]])],
        ]),
      ),
    ).toEqual(['b.w']);
    expect(
      pick(
        dict([
          ['params', dict([['a.w', w]])],
          ['params_ema', dict([['b.w', w]])],
        ]),
        { key: 'params' },
      ),
    ).toEqual(['a.w']);
    expect(
      pick(
        dict([
          ['epoch', int(1)],
          [
            'state_dict',
            dict([
              ['module.net.x', w],
              ['module.net.y', w],
            ]),
          ],
          ['optimizer_states', [']', dict([['state', dict([['0', w]])]]), 'a']],
        ]),
      ),
    ).toEqual(['x', 'y']);
    expect(
      pick(
        dict([
          ['net.x', w],
          ['head.y', w],
        ]),
      ),
    ).toEqual(['head.y', 'net.x']);
    expect(pick(dict([['module.x', w]]), { stripPrefix: false })).toEqual(['module.x']);
    expect(
      pick(
        dict([
          ['g', dict([['x', w]])],
          ['other', int(1)],
        ]),
      ),
    ).toEqual(['x']);
    expect(() =>
      pick(
        dict([
          ['g', dict([['x', w]])],
          ['d', dict([['y', w]])],
        ]),
      ),
    ).toThrow(/several dicts of tensors \(g, d\).*pass \{ key \}/);
    expect(() => pick(dict([['epoch', int(1)]]))).toThrow(/no state dict/);
    // torch.save(model): the pickled module's parameters and buffers, as model.state_dict() names them.
    const mod = (cls: string, state: Part): Part => [glob('mymodels', cls), ')', 0x81, state, 'b'];
    const child = mod(
      'Conv',
      dict([
        [
          '_parameters',
          dict([
            ['weight', w],
            ['bias', 'N'],
          ]),
        ],
        ['_buffers', dict([])],
        ['_modules', dict([])],
      ]),
    );
    const net = mod(
      'Net',
      dict([
        ['_parameters', dict([])],
        [
          '_buffers',
          dict([
            ['scale', w],
            ['tmp', w],
          ]),
        ],
        ['_non_persistent_buffers_set', [glob('builtins', 'set'), tup(']', str('tmp'), 'a'), 'R']],
        ['_modules', dict([['conv', child]])],
      ]),
    );
    expect(pick(net)).toEqual(['conv.weight', 'scale']);
  });
});

describe('fuzz: mutated torch files parse or throw a RestorekitError', () => {
  it('10,000 byte flips, truncations and insertions on zip and legacy fixtures', async () => {
    const t0 = performance.now();
    let seed = 20240607;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pick = (n: number) => Math.floor(rand() * n);
    const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    /** Byte ranges where a flip changes structure rather than weights: the pickles and the zip's headers. */
    const hotRanges = (b: Uint8Array): [number, number][] => {
      if (b[0] === 0x80) {
        // legacy: the five pickles before the storages
        let end = 0;
        try {
          for (let k = 0; k < 5; k++)
            end = unpickle(b, { where: 'scan', start: end, persistentLoad: () => null, callables: { 'torch._utils._rebuild_tensor_v2': () => null } }).end;
        } catch {
          end = b.length;
        }
        return [[0, end]];
      }
      // zip: the first entry (data.pkl: local header and pickle) and the central directory
      const d = dv(b);
      let eocd = b.length - 22;
      while (d.getUint32(eocd, true) !== 0x06054b50) eocd--;
      const cd = d.getUint32(eocd + 16, true);
      const pklEnd = 30 + d.getUint16(26, true) + d.getUint16(28, true) + d.getUint32(cd + 20, true);
      return [
        [0, pklEnd],
        [cd, b.length],
      ];
    };
    /** For a zip: where data.pkl's bytes are and where the central directory keeps its CRC. */
    const pklSpan = (b: Uint8Array): [number, number, number] | undefined => {
      if (b[0] !== 0x50) return undefined;
      const d = dv(b);
      let eocd = b.length - 22;
      while (d.getUint32(eocd, true) !== 0x06054b50) eocd--;
      const cd = d.getUint32(eocd + 16, true);
      const start = 30 + d.getUint16(26, true) + d.getUint16(28, true);
      return [start, start + d.getUint32(cd + 20, true), cd + 16];
    };
    const sources: { name: string; bytes: Uint8Array; hot: [number, number][]; pkl?: [number, number, number] }[] = [];
    const add = (name: string, bytes: Uint8Array) => sources.push({ name, bytes, hot: hotRanges(bytes), pkl: pklSpan(bytes) });
    for (const name of [
      'restormer_params_legacy.pth',
      'anyir_lightning.ckpt',
      'restormer_shared_storage.pth',
      'restormer_bf16.pth',
      'malicious_eval_legacy.pth',
    ])
      add(name, (await pth(name)).slice());
    add(
      'small.pth',
      torchZip(
        dict([
          ['w', tensor('0', 'FloatStorage', 6, 1, [2, 2], [1, 2])],
          ['b', tensor('1', 'LongStorage', 1, 0, [], [])],
        ]),
        { '0': f32bytes(0, 1, 2, 3, 4, 5), '1': new Uint8Array(8) },
      ),
    );
    add('small_legacy.pth', legacyFile(dict([['w', tensor('r', 'HalfStorage', 4, 0, [2, 2], [1, 2])]]), [['r', 4, new Uint8Array(8)]]));

    const counts = { parsed: 0, rejected: 0 };
    const kinds = new Map<string, number>();
    const N = 10_000;
    for (let i = 0; i < N; i++) {
      const src = sources[i % sources.length]!;
      const b = src.bytes;
      const inHot = () => {
        const [lo, hi] = src.hot[pick(src.hot.length)]!;
        return lo + pick(Math.max(1, hi - lo));
      };
      const mode = pick(4);
      let input: Uint8Array;
      const restore: [number, number][] = [];
      if (mode <= 1) {
        // byte flips (in place, undone below: the fixtures are large)
        const flips = 1 + pick(4);
        for (let j = 0; j < flips; j++) {
          const p = rand() < 0.8 ? inHot() : pick(b.length);
          restore.push([p, b[p]!]);
          b[p] = mode === 0 ? pick(256) : b[p]! ^ (1 << pick(8));
        }
        // A zip checks the pickle's CRC, so most pickle flips would stop there; an attacker writes a
        // matching CRC, and so do we half of the time, to reach the pickle reader.
        if (src.pkl && rand() < 0.5) {
          const [start, end, crcAt] = src.pkl;
          const crc = crc32(b.subarray(start, end));
          for (let j = 0; j < 4; j++) {
            restore.push([crcAt + j, b[crcAt + j]!]);
            b[crcAt + j] = (crc >>> (8 * j)) & 0xff;
          }
        }
        input = b;
      } else if (mode === 2) {
        input = b.subarray(0, rand() < 0.7 ? inHot() : pick(b.length));
      } else {
        const p = rand() < 0.8 ? inHot() : pick(b.length);
        const ins = Uint8Array.from({ length: 1 + pick(8) }, () => pick(256));
        input = new Uint8Array(b.length + ins.length);
        input.set(b.subarray(0, p));
        input.set(ins, p);
        input.set(b.subarray(p), p + ins.length);
      }
      try {
        const out = i % 2 ? readTorchCheckpoint(input, { fileName: src.name }) : checkpointStateDict(input, { fileName: src.name });
        expect(typeof out).toBe('object');
        counts.parsed++;
      } catch (e) {
        if (!(e instanceof RestorekitError)) throw new Error(`fuzz case ${i} (${src.name}, mode ${mode}): ${(e as Error).name}: ${(e as Error).message}`);
        counts.rejected++;
        // Group messages by their wording, without the names and numbers taken from the mutated bytes.
        const kind = (e as Error).message
          .replace(/^[^:]*: /, '')
          .replace(/'[^']*'|"[^"]*"|\d+/g, '_')
          .slice(0, 40);
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      } finally {
        for (let j = restore.length - 1; j >= 0; j--) b[restore[j]![0]] = restore[j]![1];
      }
    }
    expect(counts.parsed + counts.rejected).toBe(N);
    // Most mutations land in structure (pickles, zip headers) and must be rejected; some still parse
    // (a flipped float, an unused byte), and the rejections come from many different checks.
    expect(counts.rejected).toBeGreaterThan(N / 2);
    expect(counts.parsed).toBeGreaterThan(N / 50);
    expect(kinds.size, [...kinds.keys()].join('\n')).toBeGreaterThan(40);
    expect(performance.now() - t0).toBeLessThan(60_000);
  }, 120_000);
});

describe('loadCheckpoint: one door for paths, URLs, bytes, Blobs and safetensors', () => {
  const file = 'drcnet_module_prefix.pth';
  const path = join(sharedDir, 'fixtures/pth', file);
  let want: Record<string, { shape: number[]; data: Float32Array }>;
  const check = (sd: Record<string, { shape: number[]; data: Float32Array }>) => expectSameWeights(sd, want, file);

  it('reads a path, a file: URL, bytes, an ArrayBuffer, a Blob and a File to the same state dict', async () => {
    want = await fixtureWeights(manifest[file]!.fixture!, 'F32');
    const bytes = await pth(file);
    check(await loadCheckpoint(path));
    check(await loadCheckpoint(pathToFileURL(path)));
    check(await loadCheckpoint(bytes));
    check(await loadCheckpoint(bytes.slice().buffer));
    check(await loadCheckpoint(new Blob([bytes])));
    check(await loadCheckpoint(new File([bytes], file)));
  });

  it('downloads http(s) URLs with the given fetch and reports HTTP failures naming the URL', async () => {
    const bytes = await pth(file);
    const ok = async () => new Response(bytes);
    check(await loadCheckpoint('https://example.test/weights.pth', { fetch: ok }));
    check(await loadCheckpoint(new URL('https://example.test/weights.pth'), { fetch: ok }));
    const err = await caught(() =>
      loadCheckpoint('https://example.test/missing.pth', { fetch: async () => new Response('no', { status: 404, statusText: 'Not Found' }) }),
    );
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toBe('https://example.test/missing.pth: download failed with HTTP 404 Not Found');
  });

  it('reads .safetensors through the same door', async () => {
    const rel = 'restormer/restormer_full_withbias.safetensors';
    const sd = await loadCheckpoint(join(sharedDir, 'fixtures', rel));
    const direct = parseSafetensors(await readShared(`fixtures/${rel}`)).tensors;
    expect(Object.keys(sd).sort()).toEqual(Object.keys(direct).sort());
    for (const [k, t] of Object.entries(direct)) expect(firstBitMismatch(sd[k]!.data, t.data), k).toBe(-1);
    const err = await caught(() => loadCheckpoint(new File([new Uint8Array([16, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d])], 'cut.safetensors')));
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as Error).message).toMatch(/^cut\.safetensors: /);
  });

  it('names the file in errors for missing paths, unknown content and refused pickles', async () => {
    const missing = await caught(() => loadCheckpoint('/nonexistent/dir/model.pth'));
    expect(missing).toBeInstanceOf(CheckpointError);
    expect((missing as Error).message).toMatch(/^\/nonexistent\/dir\/model\.pth: cannot read the file/);
    const junk = await caught(() => loadCheckpoint(new File([new TextEncoder().encode('<html>not found</html>')], 'page.pth')));
    expect((junk as Error).message).toMatch(/^page\.pth: not a safetensors or PyTorch checkpoint \(the file starts with 3c 68/);
    const evil = await caught(async () => loadCheckpoint(new Blob([await pth('malicious_os_system.pth')]), { fileName: 'upload.pth' }));
    expect((evil as Error).message).toMatch(/^upload\.pth \(malicious_os_system\/data\.pkl\): refusing to call posix\.system/);
  });
});
