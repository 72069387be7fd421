/**
 * A pickle reader that never runs code.
 *
 * Python's `pickle.load` resolves every `module.name` a file mentions (GLOBAL / STACK_GLOBAL)
 * by importing it, and REDUCE then calls the result with arguments from the file: a checkpoint
 * from a stranger can call `os.system`. This reader is a small stack machine that interprets the
 * opcodes as data only:
 *
 * - GLOBAL / STACK_GLOBAL push an inert {@link PickleGlobal} (a module and a name, nothing more).
 *   Naming something is harmless; only calling it would not be.
 * - The opcodes that CALL (REDUCE, INST, OBJ) are allowed only for names on an allow-list of
 *   inert data constructors, each implemented here in plain TypeScript (an `OrderedDict` becomes
 *   an object, `_codecs.encode` of latin-1 text becomes bytes, ...), plus the ones a caller adds
 *   ({@link UnpickleOptions.callables}: the torch tensor rebuilders live in pth.ts). A call of
 *   anything else (`os.system`, `posix.system`, `builtins.eval`, `subprocess.Popen`, `getattr`, a
 *   class such as `argparse.Namespace` called with arguments ...) throws a {@link CheckpointError}
 *   that names the file and the global; nothing has been executed, because nothing here can be.
 * - The opcodes that only ALLOCATE an instance and set its state (NEWOBJ, NEWOBJ_EX, BUILD) build
 *   an inert {@link PickleObject} `{ __class__, args, state }` for classes that are not known
 *   containers: this is how protocol 2 pickles plain objects such as `argparse.Namespace` (in
 *   Lightning's hyper-parameters) or a whole `nn.Module`, and they are data we can carry.
 * - Extension-registry codes (EXT1/2/4) and out-of-band buffers (NEXT_BUFFER) are refused: they
 *   resolve to objects this reader cannot see.
 *
 * It is also bounded, because a malformed file must fail fast: every opcode consumes at least one
 * byte (so the loop ends), every length is checked against the bytes that are left before anything
 * is allocated, and the stack, the mark stack, the memo, text lines and integers have caps.
 */
import { CheckpointError } from '../errors.js';

/** A `module.name` reference from a pickle. It is never imported or called. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * Inert stand-in for an instance of a class the reader does not model (built by NEWOBJ / BUILD, or
 * by an allow-listed placeholder constructor such as numpy's `_reconstruct`). `args` are the
 * constructor arguments as pickled, `state` what BUILD set (usually the instance `__dict__`), and
 * `dictitems` / `listitems` what SETITEM(S) / APPEND(S) added to it. Nothing of the class runs.
 */
export class PickleObject {
  state: unknown = undefined;
  dictitems?: Record<string, unknown>;
  listitems?: unknown[];
  constructor(
    readonly __class__: string,
    public args: unknown[] = [],
    public kwargs?: Record<string, unknown>,
  ) {}
}

/** What an allow-listed constructor gets besides its arguments. */
export interface CallContext {
  /** Where we are, for error messages: `file (entry) at byte N`. */
  where: string;
  /** Applies the allow-list to a nested call (e.g. torch's `_rebuild_from_type_v2(func, type, args)`). */
  call(fn: unknown, args: unknown[]): unknown;
}
/** An inert implementation of an allow-listed constructor: pure data in, pure data out. */
export type InertCallable = (args: unknown[], ctx: CallContext) => unknown;

export interface UnpickleOptions {
  /** Names the source in every error message (a file, optionally with the zip entry). */
  where: string;
  /** Byte offset to start at (a legacy torch file is several pickles back to back). */
  start?: number;
  /** Resolves persistent ids (PERSID / BINPERSID); without it they are refused. */
  persistentLoad?: (pid: unknown, ctx: CallContext) => unknown;
  /** Extra allow-listed callables by qualified name (`torch._utils._rebuild_tensor_v2`). */
  callables?: Readonly<Record<string, InertCallable>>;
}

export interface UnpickleResult {
  value: unknown;
  /** Offset of the byte after STOP. */
  end: number;
}

/** Caps that keep a hostile pickle from exhausting memory or time (all far above what torch.save writes). */
export const PICKLE_LIMITS = {
  /** Items on the current stack. */
  maxStack: 1 << 20,
  /** Nested MARKs. */
  maxMarks: 1 << 16,
  /** Memo entries. */
  maxMemo: 1 << 24,
  /** Bytes in one text-protocol line (GLOBAL, INT, PUT, ...). */
  maxLine: 1 << 16,
  /** Bytes of a LONG1/LONG4 integer, and digits of a text LONG (Python's own default cap is 4300 digits). */
  maxIntBytes: 1 << 10,
  maxIntDigits: 4300,
  /** Bytes of one string / bytes object (beyond the check that it fits in the file). */
  maxString: 1 << 30,
};

/** Python 2 module names, as Python 3's pickle maps them (fix_imports). */
const MODULE_ALIASES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

/** Dicts created by the VM are plain objects; tuples and sets are arrays remembered here so APPEND can tell them from lists. */
type Tuple = unknown[];

function isDict(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;
}

/** Sets a key without letting `__proto__` reach the prototype setter. */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** A short description of a value for error messages (never its contents). */
export function describe(x: unknown): string {
  if (x === null) return 'None';
  if (x === undefined) return 'nothing';
  if (x instanceof PickleGlobal) return x.qualname;
  if (x instanceof PickleObject) return `a ${x.__class__} object`;
  if (Array.isArray(x)) return `a ${x.length}-item sequence`;
  if (x instanceof Uint8Array) return `${x.length} bytes`;
  if (isDict(x)) return 'a dict';
  if (typeof x === 'object') return `a ${(x as object).constructor?.name ?? 'object'}`;
  if (typeof x === 'string') return `the string ${JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)}`;
  return `the ${typeof x} ${String(x)}`;
}

/** Python's dict keys become strings: ints as decimal, None/True/False by name, tuples as `(a, b)`. */
function dictKey(k: unknown, where: string): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'bigint') return String(k);
  if (typeof k === 'boolean') return k ? 'True' : 'False';
  if (k === null) return 'None';
  if (k instanceof PickleGlobal) return k.qualname;
  if (Array.isArray(k)) return `(${k.map((v) => dictKey(v, where)).join(', ')})`;
  throw new CheckpointError(`${where}: unsupported dict key (${describe(k)})`);
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The built-in allow-list: constructors of plain data that we implement ourselves. Container
 * constructors (OrderedDict, defaultdict, set, ...) only build empty or filled containers; a
 * defaultdict's factory is a reference that is never called.
 */
const BUILTIN_CALLABLES: Record<string, InertCallable> = {
  'collections.OrderedDict': (args, ctx) => dictFrom(args[0], ctx.where),
  'collections.defaultdict': () => ({}),
  'builtins.dict': (args, ctx) => dictFrom(args[0], ctx.where),
  'builtins.list': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
  'builtins.set': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
  'builtins.frozenset': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
  'builtins.bytearray': (args) => bytesFrom(args),
  'builtins.bytes': (args) => bytesFrom(args),
  // Protocol 2 has no bytes opcode: Python 3 pickles `b'..'` as _codecs.encode('..', 'latin1').
  '_codecs.encode': (args, ctx) => {
    const [text, enc = 'utf-8'] = args;
    if (typeof text !== 'string' || typeof enc !== 'string')
      throw new CheckpointError(`${ctx.where}: _codecs.encode expects (str, encoding), got (${args.map(describe).join(', ')})`);
    const e = enc.toLowerCase().replace(/[-_]/g, '');
    if (e === 'latin1' || e === 'iso88591') {
      const out = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c > 255) throw new CheckpointError(`${ctx.where}: _codecs.encode: character U+${c.toString(16)} is not latin-1`);
        out[i] = c;
      }
      return out;
    }
    if (e === 'utf8') return new TextEncoder().encode(text);
    throw new CheckpointError(`${ctx.where}: _codecs.encode with encoding ${JSON.stringify(enc)} is not supported`);
  },
  // Protocols 0/1 pickle plain instances as copyreg._reconstructor(cls, base, state): an allocation, like NEWOBJ.
  'copyreg._reconstructor': (args, ctx) => {
    const [cls, base, arg] = args;
    if (!(cls instanceof PickleGlobal) || !(base instanceof PickleGlobal))
      throw new CheckpointError(`${ctx.where}: copyreg._reconstructor expects classes, got (${args.map(describe).join(', ')})`);
    return newInstance(cls, base.qualname === 'builtins.object' ? [] : [arg]);
  },
  'copyreg.__newobj__': (args, ctx) => {
    const [cls, ...rest] = args;
    if (!(cls instanceof PickleGlobal)) throw new CheckpointError(`${ctx.where}: copyreg.__newobj__ expects a class, got ${describe(cls)}`);
    return newInstance(cls, rest);
  },
};

/**
 * Constructors of inert data we do not decode but must not refuse either (numpy arrays and scalars
 * turn up in Lightning callback state): a call becomes a {@link PickleObject} holding the arguments.
 */
const PLACEHOLDER_CALLABLES = new Set([
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray.scalar',
  'numpy.dtype',
]);

/** Classes whose instances are plain containers: NEWOBJ on them makes the container (their __new__ ignores arguments). */
const CONTAINER_CLASSES: Record<string, () => unknown> = {
  'collections.OrderedDict': () => ({}),
  'collections.defaultdict': () => ({}),
  'builtins.dict': () => ({}),
  'builtins.list': () => [],
  'builtins.set': () => [],
  'builtins.frozenset': () => [],
};

function dictFrom(pairs: unknown, where: string): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  if (pairs === undefined || pairs === null) return d;
  if (isDict(pairs)) return Object.assign(d, pairs);
  if (!Array.isArray(pairs)) throw new CheckpointError(`${where}: OrderedDict expects a list of pairs, got ${describe(pairs)}`);
  for (const p of pairs) {
    if (!Array.isArray(p) || p.length !== 2) throw new CheckpointError(`${where}: OrderedDict expects (key, value) pairs, got ${describe(p)}`);
    setKey(d, dictKey(p[0], where), p[1]);
  }
  return d;
}

function bytesFrom(args: unknown[]): Uint8Array {
  const a = args[0];
  if (a instanceof Uint8Array) return a.slice();
  if (Array.isArray(a) && a.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 256)) return Uint8Array.from(a as number[]);
  return new Uint8Array(0);
}

function newInstance(cls: PickleGlobal, args: unknown[], kwargs?: Record<string, unknown>): unknown {
  const container = CONTAINER_CLASSES[normalized(cls)];
  return container ? container() : new PickleObject(cls.qualname, args, kwargs);
}

function normalized(g: PickleGlobal): string {
  return `${MODULE_ALIASES[g.module] ?? g.module}.${g.name}`;
}

/** Opcodes, by the names Python's pickletools gives them. */
const OP = {
  MARK: 0x28,
  EMPTY_TUPLE: 0x29,
  STOP: 0x2e,
  POP: 0x30,
  POP_MARK: 0x31,
  DUP: 0x32,
  BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43,
  FLOAT: 0x46,
  BINFLOAT: 0x47,
  INT: 0x49,
  BININT: 0x4a,
  BININT1: 0x4b,
  LONG: 0x4c,
  BININT2: 0x4d,
  NONE: 0x4e,
  PERSID: 0x50,
  BINPERSID: 0x51,
  REDUCE: 0x52,
  STRING: 0x53,
  BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55,
  UNICODE: 0x56,
  BINUNICODE: 0x58,
  EMPTY_LIST: 0x5d,
  APPEND: 0x61,
  BUILD: 0x62,
  GLOBAL: 0x63,
  DICT: 0x64,
  APPENDS: 0x65,
  GET: 0x67,
  BINGET: 0x68,
  INST: 0x69,
  LONG_BINGET: 0x6a,
  LIST: 0x6c,
  OBJ: 0x6f,
  PUT: 0x70,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  SETITEM: 0x73,
  TUPLE: 0x74,
  SETITEMS: 0x75,
  EMPTY_DICT: 0x7d,
  PROTO: 0x80,
  NEWOBJ: 0x81,
  EXT1: 0x82,
  EXT2: 0x83,
  EXT4: 0x84,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
  BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97,
  READONLY_BUFFER: 0x98,
} as const;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * Reads one pickle (up to its STOP) from `bytes`. Throws {@link CheckpointError} for anything
 * malformed, truncated, over a limit, or that would call a non-allow-listed global.
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): UnpickleResult {
  return new Machine(bytes, opts).run();
}

class Machine {
  private pos: number;
  private stack: unknown[] = [];
  private readonly metastack: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly tuples = new WeakSet<Tuple>();
  private readonly sets = new WeakSet<unknown[]>();
  private readonly dv: DataView;
  /** Offset of the opcode being executed, for messages. */
  private op = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly opts: UnpickleOptions,
  ) {
    this.pos = opts.start ?? 0;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private get where(): string {
    return `${this.opts.where} at byte ${this.op}`;
  }
  private error(msg: string): CheckpointError {
    return new CheckpointError(`${this.where}: ${msg}`);
  }
  private fail(msg: string): never {
    throw this.error(msg);
  }

  // ---- input ----
  private need(n: number, what: string): void {
    if (n > this.bytes.length - this.pos) this.fail(`truncated pickle: ${what} needs ${n} bytes but only ${this.bytes.length - this.pos} are left`);
  }
  private u8(): number {
    this.need(1, 'an opcode argument');
    return this.bytes[this.pos++]!;
  }
  private u16(): number {
    this.need(2, 'a 2-byte argument');
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  private i32(): number {
    this.need(4, 'a 4-byte argument');
    const v = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private u32(): number {
    this.need(4, 'a 4-byte argument');
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** An 8-byte length; anything past the end of the input is reported as truncation. */
  private u64(): number {
    this.need(8, 'an 8-byte length');
    const lo = this.dv.getUint32(this.pos, true);
    const hi = this.dv.getUint32(this.pos + 4, true);
    this.pos += 8;
    return hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * 2 ** 32 + lo;
  }
  private take(n: number, what: string): Uint8Array {
    this.need(n, what);
    if (n > PICKLE_LIMITS.maxString) this.fail(`${what} of ${n} bytes exceeds the ${PICKLE_LIMITS.maxString}-byte limit`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  private line(what: string): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > PICKLE_LIMITS.maxLine)
      this.fail(end < 0 ? `truncated pickle: ${what} has no end of line` : `${what} is longer than ${PICKLE_LIMITS.maxLine} bytes`);
    const s = latin1(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s.endsWith('\r') ? s.slice(0, -1) : s;
  }
  private utf8(b: Uint8Array, what: string): string {
    try {
      return utf8.decode(b);
    } catch {
      return this.fail(`${what} is not valid UTF-8`);
    }
  }

  // ---- stack ----
  private push(v: unknown): void {
    if (this.stack.length >= PICKLE_LIMITS.maxStack) this.fail(`stack exceeds ${PICKLE_LIMITS.maxStack} items`);
    this.stack.push(v);
  }
  private pop(what: string): unknown {
    if (this.stack.length === 0) this.fail(`stack underflow (${what})`);
    return this.stack.pop();
  }
  private top(what: string): unknown {
    if (this.stack.length === 0) this.fail(`stack underflow (${what})`);
    return this.stack[this.stack.length - 1];
  }
  private mark(): void {
    if (this.metastack.length >= PICKLE_LIMITS.maxMarks) this.fail(`more than ${PICKLE_LIMITS.maxMarks} nested MARKs`);
    this.metastack.push(this.stack);
    this.stack = [];
  }
  private popMark(what: string): unknown[] {
    const items = this.stack;
    const prev = this.metastack.pop();
    if (!prev) this.fail(`${what} without a MARK`);
    this.stack = prev;
    return items;
  }
  private tuple(items: unknown[]): Tuple {
    this.tuples.add(items);
    return items;
  }
  private put(i: number, v: unknown): void {
    if (this.memo.size >= PICKLE_LIMITS.maxMemo && !this.memo.has(i)) this.fail(`memo exceeds ${PICKLE_LIMITS.maxMemo} entries`);
    this.memo.set(i, v);
  }
  private get(i: number): unknown {
    if (!this.memo.has(i)) this.fail(`memo key ${i} was never stored`);
    return this.memo.get(i);
  }

  // ---- semantics ----
  private readonly ctx: CallContext = {
    where: '',
    call: (fn, args) => this.call(fn, args, 'a nested call'),
  };
  private context(): CallContext {
    this.ctx.where = this.where;
    return this.ctx;
  }

  /** REDUCE / INST / OBJ: the only ways a pickle calls something. Allow-list or refuse. */
  private call(fn: unknown, args: unknown, via: string): unknown {
    if (!(fn instanceof PickleGlobal)) this.fail(`${via} would call ${describe(fn)}; only allow-listed constructors named by GLOBAL may be called`);
    if (!Array.isArray(args)) this.fail(`${via} of ${fn.qualname} has arguments that are ${describe(args)}, not a tuple`);
    const name = normalized(fn);
    const impl =
      (Object.hasOwn(this.opts.callables ?? {}, name) ? this.opts.callables![name] : undefined) ??
      (Object.hasOwn(BUILTIN_CALLABLES, name) ? BUILTIN_CALLABLES[name] : undefined);
    if (impl) return impl(args, this.context());
    if (PLACEHOLDER_CALLABLES.has(name)) return new PickleObject(fn.qualname, args);
    throw new CheckpointError(
      `${this.opts.where}: refusing to call ${fn.qualname} (${via} at byte ${this.op}): the pickle asks to run it, and only inert data constructors ` +
        `(torch tensor rebuilders, OrderedDict, ...) may be called; nothing was executed`,
    );
  }

  private setItems(target: unknown, items: unknown[], via: string): void {
    if (items.length % 2) this.fail(`${via} with an odd number of items`);
    let d: Record<string, unknown>;
    if (isDict(target)) d = target;
    else if (target instanceof PickleObject) d = target.dictitems ??= {};
    else throw this.error(`${via} on ${describe(target)}, not a dict`);
    for (let i = 0; i < items.length; i += 2) setKey(d, dictKey(items[i], this.where), items[i + 1]);
  }

  private append(target: unknown, items: unknown[], via: string): void {
    let list: unknown[];
    if (Array.isArray(target) && !this.tuples.has(target) && !this.sets.has(target)) list = target;
    else if (target instanceof PickleObject) list = target.listitems ??= [];
    else throw this.error(`${via} on ${describe(target)}, not a list`);
    for (const v of items) list.push(v);
  }

  /** BUILD sets instance state. Only placeholders keep it; on containers and tensors it would set Python attributes that we do not model. */
  private build(inst: unknown, state: unknown): void {
    if (!(inst instanceof PickleObject)) return;
    if (isDict(inst.state) && isDict(state)) Object.assign(inst.state, state);
    else inst.state = state;
  }

  private newObj(cls: unknown, args: unknown, kwargs: unknown, via: string): unknown {
    if (!(cls instanceof PickleGlobal)) this.fail(`${via} on ${describe(cls)}, not a class named by GLOBAL`);
    if (!Array.isArray(args)) this.fail(`${via} of ${cls.qualname} has arguments that are ${describe(args)}, not a tuple`);
    if (kwargs !== undefined && !isDict(kwargs)) this.fail(`${via} of ${cls.qualname} has keyword arguments that are ${describe(kwargs)}, not a dict`);
    return newInstance(cls, args, kwargs as Record<string, unknown> | undefined);
  }

  private global(module: string, name: string, via: string): PickleGlobal {
    if (!IDENT.test(module) || !IDENT.test(name))
      this.fail(`${via} names ${JSON.stringify(`${module} ${name}`.slice(0, 80))}, which is not a Python module and name`);
    return new PickleGlobal(module, name);
  }

  private persistent(pid: unknown): unknown {
    if (!this.opts.persistentLoad) this.fail(`persistent id (${describe(pid)}) in a pickle that must not have any`);
    return this.opts.persistentLoad(pid, this.context());
  }

  /** Python ints: numbers when exact, bigints beyond 2^53. */
  private intFromBytes(b: Uint8Array): number | bigint {
    if (b.length === 0) return 0;
    if (b.length > PICKLE_LIMITS.maxIntBytes) this.fail(`integer of ${b.length} bytes exceeds the ${PICKLE_LIMITS.maxIntBytes}-byte limit`);
    let hex = '';
    for (let i = b.length - 1; i >= 0; i--) hex += b[i]!.toString(16).padStart(2, '0');
    let v = BigInt(`0x${hex}`);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return narrow(v);
  }
  private intFromText(s: string, what: string): number | bigint {
    const t = s.endsWith('L') ? s.slice(0, -1) : s;
    if (!/^[+-]?\d+$/.test(t)) this.fail(`${what} ${JSON.stringify(s.slice(0, 40))} is not an integer`);
    if (t.length > PICKLE_LIMITS.maxIntDigits) this.fail(`${what} has more than ${PICKLE_LIMITS.maxIntDigits} digits`);
    return narrow(BigInt(t));
  }
  private floatFromText(s: string): number {
    const t = s.trim();
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
    const special: Record<string, number> = { inf: Infinity, '+inf': Infinity, '-inf': -Infinity, nan: NaN, '-nan': NaN, '+nan': NaN };
    const v = special[t.toLowerCase()];
    if (v === undefined) this.fail(`FLOAT ${JSON.stringify(t.slice(0, 40))} is not a number`);
    return v;
  }

  run(): UnpickleResult {
    const b = this.bytes;
    for (;;) {
      this.op = this.pos;
      if (this.pos >= b.length) this.fail('truncated pickle: the input ends before STOP');
      const code = b[this.pos++]!;
      switch (code) {
        // ---- framing and protocol ----
        case OP.PROTO: {
          const p = this.u8();
          if (p > 5) this.fail(`pickle protocol ${p} is newer than 5`);
          break;
        }
        case OP.FRAME: {
          // a length hint for buffered readers; we have the whole input.
          const n = this.u64();
          this.need(n, 'FRAME');
          break;
        }
        case OP.STOP:
          return { value: this.pop('STOP'), end: this.pos };

        // ---- stack and memo ----
        case OP.MARK:
          this.mark();
          break;
        case OP.POP:
          if (this.stack.length) this.stack.pop();
          else this.popMark('POP');
          break;
        case OP.POP_MARK:
          this.popMark('POP_MARK');
          break;
        case OP.DUP:
          this.push(this.top('DUP'));
          break;
        case OP.PUT:
          this.put(Number(this.intFromText(this.line('PUT'), 'PUT')), this.top('PUT'));
          break;
        case OP.BINPUT:
          this.put(this.u8(), this.top('BINPUT'));
          break;
        case OP.LONG_BINPUT:
          this.put(this.u32(), this.top('LONG_BINPUT'));
          break;
        case OP.MEMOIZE:
          this.put(this.memo.size, this.top('MEMOIZE'));
          break;
        case OP.GET:
          this.push(this.get(Number(this.intFromText(this.line('GET'), 'GET'))));
          break;
        case OP.BINGET:
          this.push(this.get(this.u8()));
          break;
        case OP.LONG_BINGET:
          this.push(this.get(this.u32()));
          break;

        // ---- scalars ----
        case OP.NONE:
          this.push(null);
          break;
        case OP.NEWTRUE:
          this.push(true);
          break;
        case OP.NEWFALSE:
          this.push(false);
          break;
        case OP.BININT:
          this.push(this.i32());
          break;
        case OP.BININT1:
          this.push(this.u8());
          break;
        case OP.BININT2:
          this.push(this.u16());
          break;
        case OP.LONG1:
          this.push(this.intFromBytes(this.take(this.u8(), 'LONG1')));
          break;
        case OP.LONG4: {
          const n = this.i32();
          if (n < 0) this.fail(`LONG4 with negative length ${n}`);
          if (n > PICKLE_LIMITS.maxIntBytes) this.fail(`integer of ${n} bytes exceeds the ${PICKLE_LIMITS.maxIntBytes}-byte limit`);
          this.push(this.intFromBytes(this.take(n, 'LONG4')));
          break;
        }
        case OP.INT: {
          // text; protocol 0 spells booleans I01 / I00
          const s = this.line('INT');
          this.push(s === '01' ? true : s === '00' ? false : this.intFromText(s, 'INT'));
          break;
        }
        case OP.LONG:
          this.push(this.intFromText(this.line('LONG'), 'LONG'));
          break;
        case OP.BINFLOAT: {
          // big-endian
          this.need(8, 'BINFLOAT');
          this.push(this.dv.getFloat64(this.pos, false));
          this.pos += 8;
          break;
        }
        case OP.FLOAT:
          this.push(this.floatFromText(this.line('FLOAT')));
          break;

        // ---- strings and bytes ----
        case OP.BINUNICODE:
          this.push(this.utf8(this.take(this.u32(), 'BINUNICODE'), 'BINUNICODE'));
          break;
        case OP.SHORT_BINUNICODE:
          this.push(this.utf8(this.take(this.u8(), 'SHORT_BINUNICODE'), 'SHORT_BINUNICODE'));
          break;
        case OP.BINUNICODE8:
          this.push(this.utf8(this.take(this.u64(), 'BINUNICODE8'), 'BINUNICODE8'));
          break;
        case OP.UNICODE:
          this.push(rawUnicodeEscape(this.line('UNICODE')));
          break;
        // Python 2 str: torch.load decodes it as UTF-8 (its default `encoding`); latin-1 if that fails.
        case OP.SHORT_BINSTRING:
          this.push(py2str(this.take(this.u8(), 'SHORT_BINSTRING')));
          break;
        case OP.BINSTRING: {
          const n = this.i32();
          if (n < 0) this.fail(`BINSTRING with negative length ${n}`);
          this.push(py2str(this.take(n, 'BINSTRING')));
          break;
        }
        case OP.STRING:
          this.push(this.reprString(this.line('STRING')));
          break;
        case OP.SHORT_BINBYTES:
          this.push(this.take(this.u8(), 'SHORT_BINBYTES').slice());
          break;
        case OP.BINBYTES:
          this.push(this.take(this.u32(), 'BINBYTES').slice());
          break;
        case OP.BINBYTES8:
          this.push(this.take(this.u64(), 'BINBYTES8').slice());
          break;
        case OP.BYTEARRAY8:
          this.push(this.take(this.u64(), 'BYTEARRAY8').slice());
          break;
        case OP.NEXT_BUFFER:
          return this.fail('NEXT_BUFFER: out-of-band buffers are not supported');
        case OP.READONLY_BUFFER:
          this.top('READONLY_BUFFER');
          break;

        // ---- containers ----
        case OP.EMPTY_TUPLE:
          this.push(this.tuple([]));
          break;
        case OP.TUPLE1:
          this.push(this.tuple([this.pop('TUPLE1')]));
          break;
        case OP.TUPLE2: {
          const y = this.pop('TUPLE2');
          this.push(this.tuple([this.pop('TUPLE2'), y]));
          break;
        }
        case OP.TUPLE3: {
          const z = this.pop('TUPLE3');
          const y = this.pop('TUPLE3');
          this.push(this.tuple([this.pop('TUPLE3'), y, z]));
          break;
        }
        case OP.TUPLE:
          this.push(this.tuple(this.popMark('TUPLE')));
          break;
        case OP.EMPTY_LIST:
          this.push([]);
          break;
        case OP.LIST:
          this.push(this.popMark('LIST'));
          break;
        case OP.EMPTY_DICT:
          this.push({});
          break;
        case OP.DICT: {
          const items = this.popMark('DICT');
          const d = {};
          this.setItems(d, items, 'DICT');
          this.push(d);
          break;
        }
        case OP.EMPTY_SET: {
          const s: unknown[] = [];
          this.sets.add(s);
          this.push(s);
          break;
        }
        case OP.FROZENSET: {
          const s = this.popMark('FROZENSET');
          this.sets.add(s);
          this.push(s);
          break;
        }
        case OP.ADDITEMS: {
          const items = this.popMark('ADDITEMS');
          const s = this.top('ADDITEMS');
          if (!Array.isArray(s) || !this.sets.has(s)) this.fail(`ADDITEMS on ${describe(s)}, not a set`);
          for (const v of items) s.push(v);
          break;
        }
        case OP.APPEND: {
          const v = this.pop('APPEND');
          this.append(this.top('APPEND'), [v], 'APPEND');
          break;
        }
        case OP.APPENDS: {
          const items = this.popMark('APPENDS');
          this.append(this.top('APPENDS'), items, 'APPENDS');
          break;
        }
        case OP.SETITEM: {
          const v = this.pop('SETITEM');
          const k = this.pop('SETITEM');
          this.setItems(this.top('SETITEM'), [k, v], 'SETITEM');
          break;
        }
        case OP.SETITEMS: {
          const items = this.popMark('SETITEMS');
          this.setItems(this.top('SETITEMS'), items, 'SETITEMS');
          break;
        }

        // ---- globals, calls and objects ----
        case OP.GLOBAL: {
          const module = this.line('GLOBAL module');
          this.push(this.global(module, this.line('GLOBAL name'), 'GLOBAL'));
          break;
        }
        case OP.STACK_GLOBAL: {
          const name = this.pop('STACK_GLOBAL');
          const module = this.pop('STACK_GLOBAL');
          if (typeof module !== 'string' || typeof name !== 'string')
            this.fail(`STACK_GLOBAL needs two strings, got ${describe(module)} and ${describe(name)}`);
          this.push(this.global(module, name, 'STACK_GLOBAL'));
          break;
        }
        case OP.REDUCE: {
          const args = this.pop('REDUCE');
          const fn = this.pop('REDUCE');
          this.push(this.call(fn, args, 'REDUCE'));
          break;
        }
        case OP.INST: {
          // calls module.name(*args)
          const module = this.line('INST module');
          const g = this.global(module, this.line('INST name'), 'INST');
          this.push(this.call(g, this.tuple(this.popMark('INST')), 'INST'));
          break;
        }
        case OP.OBJ: {
          // calls args[0](*args[1:])
          const items = this.popMark('OBJ');
          if (items.length === 0) this.fail('OBJ without a class');
          this.push(this.call(items[0], this.tuple(items.slice(1)), 'OBJ'));
          break;
        }
        case OP.NEWOBJ: {
          // cls.__new__(cls, *args), no __init__: an allocation
          const args = this.pop('NEWOBJ');
          this.push(this.newObj(this.pop('NEWOBJ'), args, undefined, 'NEWOBJ'));
          break;
        }
        case OP.NEWOBJ_EX: {
          const kwargs = this.pop('NEWOBJ_EX');
          const args = this.pop('NEWOBJ_EX');
          this.push(this.newObj(this.pop('NEWOBJ_EX'), args, kwargs, 'NEWOBJ_EX'));
          break;
        }
        case OP.BUILD: {
          const state = this.pop('BUILD');
          this.build(this.top('BUILD'), state);
          break;
        }
        case OP.PERSID:
          this.push(this.persistent(this.line('PERSID')));
          break;
        case OP.BINPERSID:
          this.push(this.persistent(this.pop('BINPERSID')));
          break;
        case OP.EXT1:
        case OP.EXT2:
        case OP.EXT4:
          return this.fail('extension-registry codes (EXT1/EXT2/EXT4) name objects outside the file and are refused');
        default:
          return this.fail(`unknown pickle opcode 0x${code.toString(16).padStart(2, '0')}`);
      }
    }
  }

  /** Protocol 0 STRING: a Python repr in quotes, with backslash escapes. */
  private reprString(s: string): string {
    const q = s[0];
    if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) this.fail('STRING argument is not a quoted string');
    const body = s.slice(1, -1);
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
    let out = '';
    for (let i = 0; i < body.length; i++) {
      const c = body[i]!;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const n = body[++i];
      if (n === undefined) this.fail('STRING ends with a backslash');
      if (n in simple) out += simple[n];
      else if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
        out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
        i += 2;
      } else if (/[0-7]/.test(n)) {
        const m = /^[0-7]{1,3}/.exec(body.slice(i))![0];
        out += String.fromCharCode(parseInt(m, 8) & 0xff);
        i += m.length - 1;
      } else out += `\\${n}`;
    }
    return out;
  }
}

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function py2str(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    return latin1(b);
  }
}

/** Python's raw-unicode-escape: latin-1 text where only \uXXXX and \UXXXXXXXX are escapes. */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (m, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt((u4 ?? u8)!, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
  });
}
