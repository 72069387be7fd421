import { ConfigError } from './errors.js';

/**
 * One option schema for every restorekit block, model, loss and metric.
 *
 * A schema maps option names to specs (`opt.int()`, `opt.enum(...)`, ...). `resolveOptions` validates a
 * user's options against it once, at construction:
 * - unknown keys are errors, with a suggestion (the camelCase form of a snake_case spelling — the PyTorch
 *   constructor's names — or the closest known name);
 * - every default is filled in, so the resolved object is the block's complete configuration, and
 *   `getConfig()` can save all of it (a model saved today reloads the same after a default changes);
 * - values are canonical: enum strings come back in their one spelling whatever case/underscore variant
 *   was given. tfjs-layers snake_cases every string value when it saves a model and camelCases it on load
 *   ('WithBias' → 'with_bias' → 'withBias'); resolving maps the variant back, so string values survive
 *   save/load unchanged without any encoding in model.json.
 */
export interface OptionSpec<T, HasDefault extends boolean = boolean> {
  /** What the value must be, for error messages ("a positive integer"). */
  readonly expects: string;
  readonly hasDefault: HasDefault;
  /** The default (a fresh copy is made per use for arrays and objects). */
  readonly defaultValue?: T;
  /** Validates and canonicalises a given value; returns an error message (what is wrong) or the value. */
  parse(value: unknown): { ok: true; value: T } | { ok: false; why?: string };
}

// biome-ignore lint/suspicious/noExplicitAny: schemas hold specs of any value type
export type OptionSchema = Record<string, OptionSpec<any>>;

/** The resolved options of a schema: every key present (optional ones may be `undefined`), read-only. */
export type ResolvedOptions<S extends OptionSchema> = { readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never };

type Required_<S extends OptionSchema> = { [K in keyof S]: S[K] extends OptionSpec<unknown, false> ? K : never }[keyof S];
type Optional_<S extends OptionSchema> = Exclude<keyof S, Required_<S>>;
/** What a user passes: options without a default are required, the rest optional. */
export type OptionsInput<S extends OptionSchema> = { [K in Required_<S>]: S[K] extends OptionSpec<infer T> ? T : never } & {
  [K in Optional_<S>]?: S[K] extends OptionSpec<infer T> ? T | undefined : never;
};

const ok = <T>(value: T) => ({ ok: true as const, value });
const bad = (why?: string) => ({ ok: false as const, why });
const json = (v: unknown) => (v === undefined ? 'undefined' : JSON.stringify(v));
const copy = <T>(v: T): T => (v !== null && typeof v === 'object' ? (JSON.parse(JSON.stringify(v)) as T) : v);

function spec<T>(expects: string, parse: (v: unknown) => { ok: true; value: T } | { ok: false; why?: string }): OptionSpec<T, false>;
function spec<T>(expects: string, parse: (v: unknown) => { ok: true; value: T } | { ok: false; why?: string }, dflt: T): OptionSpec<T, true>;
function spec<T>(expects: string, parse: (v: unknown) => { ok: true; value: T } | { ok: false; why?: string }, ...dflt: [T?]): OptionSpec<T> {
  return dflt.length ? { expects, hasDefault: true, defaultValue: dflt[0], parse } : { expects, hasDefault: false, parse };
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The canonical key of an enum spelling: case and underscores ignored ('with_bias' = 'withBias' = 'WithBias'). */
export function canonicalName(s: string): string {
  return s.replace(/_/g, '').toLowerCase();
}

interface NumberBounds {
  min?: number;
  max?: number;
  /** Lower bound excluded (a positive number: `{ min: 0, exclusiveMin: true }`). */
  exclusiveMin?: boolean;
}
function boundsText(b: NumberBounds): string {
  const parts: string[] = [];
  if (b.min !== undefined) parts.push(b.exclusiveMin ? `> ${b.min}` : `≥ ${b.min}`);
  if (b.max !== undefined) parts.push(`≤ ${b.max}`);
  return parts.join(' and ');
}
function inBounds(v: number, b: NumberBounds): boolean {
  if (b.min !== undefined && (b.exclusiveMin ? !(v > b.min) : !(v >= b.min))) return false;
  return !(b.max !== undefined && v > b.max);
}

function intSpec(b: NumberBounds): [string, (v: unknown) => { ok: true; value: number } | { ok: false; why?: string }] {
  const expects = b.min === 1 && b.max === undefined ? 'a positive integer' : `an integer${boundsText(b) ? ` ${boundsText(b)}` : ''}`;
  return [expects, (v) => (isInt(v) && inBounds(v, b) ? ok(v) : bad())];
}
function numSpec(b: NumberBounds): [string, (v: unknown) => { ok: true; value: number } | { ok: false; why?: string }] {
  return [`a finite number${boundsText(b) ? ` ${boundsText(b)}` : ''}`, (v) => (isNum(v) && inBounds(v, b) ? ok(v) : bad())];
}

/** Spec constructors. Each takes its default last; without one the option is required. */
export const opt = {
  /** An integer within bounds. */
  int: ((bounds: NumberBounds, ...dflt: [number?]) => (dflt.length ? spec(...intSpec(bounds), dflt[0]!) : spec(...intSpec(bounds)))) as {
    (bounds: NumberBounds): OptionSpec<number, false>;
    (bounds: NumberBounds, dflt: number): OptionSpec<number, true>;
  },
  /** A positive integer. */
  posInt: ((...dflt: [number?]) => (dflt.length ? spec(...intSpec({ min: 1 }), dflt[0]!) : spec(...intSpec({ min: 1 })))) as {
    (): OptionSpec<number, false>;
    (dflt: number): OptionSpec<number, true>;
  },
  /** A finite number within bounds. */
  number: ((bounds: NumberBounds, ...dflt: [number?]) => (dflt.length ? spec(...numSpec(bounds), dflt[0]!) : spec(...numSpec(bounds)))) as {
    (bounds: NumberBounds): OptionSpec<number, false>;
    (bounds: NumberBounds, dflt: number): OptionSpec<number, true>;
  },
  bool(dflt: boolean): OptionSpec<boolean, true> {
    return spec('a boolean', (v) => (typeof v === 'boolean' ? ok(v) : bad()), dflt);
  },
  /** One of a fixed set of strings; case/underscore variants map to the canonical spelling. */
  enum<const V extends string>(values: readonly V[], dflt: V): OptionSpec<V, true> {
    const byCanon = new Map(values.map((v) => [canonicalName(v), v]));
    return spec(
      `one of ${values.map((v) => `'${v}'`).join(', ')}`,
      (v) => (typeof v === 'string' && byCanon.has(canonicalName(v)) ? ok(byCanon.get(canonicalName(v))!) : bad()),
      dflt,
    );
  },
  /** A fixed-length list of integers (e.g. blocks per level), each within bounds. */
  ints<N extends number>(length: N, bounds: NumberBounds, dflt: number[]): OptionSpec<number[], true> {
    return spec(
      `a list of ${length} integers ${boundsText(bounds)}`,
      (v) => (Array.isArray(v) && v.length === length && v.every((x) => isInt(x) && inBounds(x, bounds)) ? ok([...v] as number[]) : bad()),
      dflt,
    );
  },
  /** An integer or an [h, w] pair of integers within bounds (kernel sizes, strides, paddings). */
  intOrPair: ((bounds: NumberBounds, ...dflt: [(number | [number, number])?]) => {
    const good = (x: unknown) => isInt(x) && inBounds(x, bounds);
    const parse = (v: unknown) =>
      good(v) ? ok(v as number) : Array.isArray(v) && v.length === 2 && v.every(good) ? ok([v[0], v[1]] as [number, number]) : bad();
    const e = `an integer ${boundsText(bounds)} or an [h, w] pair of them`;
    return dflt.length ? spec<number | [number, number]>(e, parse, dflt[0]!) : spec<number | [number, number]>(e, parse);
  }) as {
    (bounds: NumberBounds): OptionSpec<number | [number, number], false>;
    (bounds: NumberBounds, dflt: number | [number, number]): OptionSpec<number | [number, number], true>;
  },
  /** A `{ type, ...options }` config of a registered component (validated by the registry when built). */
  component(dflt?: { type: string; [k: string]: unknown }): OptionSpec<{ type: string; [k: string]: unknown }, true> {
    return spec(
      "a component config { type: 'Name', ...options }",
      (v) =>
        v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as { type?: unknown }).type === 'string'
          ? ok(copy(v) as { type: string })
          : bad(),
      dflt as { type: string },
    );
  },
  /** Optional: `undefined` (or `null`, as tfjs saves an undefined value) stands for "not set". */
  optional<T>(inner: OptionSpec<T>): OptionSpec<T | undefined, true> {
    return spec(`${inner.expects} (or unset)`, (v) => (v === undefined || v === null ? ok(undefined) : inner.parse(v)), undefined);
  },
  /** A value checked by a custom rule (`check` returns true or an explanation). */
  custom<T>(expects: string, check: (v: unknown) => true | string, ...dflt: [T?]): OptionSpec<T> {
    const parse = (v: unknown) => {
      const r = check(v);
      return r === true ? ok(copy(v) as T) : bad(r);
    };
    return dflt.length ? spec<T>(expects, parse, dflt[0] as T) : spec<T>(expects, parse);
  },
};

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

/** 'ffn_expansion_factor' → 'ffnExpansionFactor'. */
export function snakeToCamel(s: string): string {
  return s.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Names that 0.1 and the official PyTorch constructors use for what the 0.2 naming table (CONTRIBUTING.md) calls
 * otherwise, each with its candidates in order; a suggestion is made only when the candidate is a known option.
 */
const RENAMED: Record<string, readonly string[]> = {
  dim: ['channels', 'outChannels'],
  embeddim: ['outChannels', 'channels'],
  nfeat: ['channels'],
  ffnexpansionfactor: ['expansion'],
  expansionratio: ['expansion'],
  layernormtype: ['normKind'],
  kind: ['normKind'],
  numheads: ['heads'],
  inpchannels: ['inChannels'],
  inchn: ['inChannels'],
  wf: ['channels'],
  ksize: ['kernelSize'],
};

/** The known option a mistyped key most likely meant, or null. */
export function suggestOption(key: string, known: readonly string[]): string | null {
  const renamed = RENAMED[canonicalName(key)]?.find((k) => known.includes(k));
  if (renamed) return renamed;
  const camel = snakeToCamel(key);
  const exact = known.find((k) => k === camel || canonicalName(k) === canonicalName(key));
  if (exact) return exact;
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const dist = editDistance(canonicalName(k), canonicalName(key));
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(key.length / 4)) ? best : null;
}

/**
 * Validates `raw` against `schema` for `owner` (a class or function name used in messages): unknown keys and
 * invalid values throw `ConfigError` naming the option, what it must be and what was given; defaults are filled.
 * `ignore` lists keys that belong to someone else (e.g. tfjs layer args) and are passed over.
 */
export function resolveOptions<S extends OptionSchema>(owner: string, schema: S, raw: unknown, ignore: readonly string[] = []): ResolvedOptions<S> {
  if (raw === undefined) raw = {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${owner}: options must be an object, got ${json(raw)}`);
  const given = raw as Record<string, unknown>;
  const known = Object.keys(schema);
  for (const k of Object.keys(given)) {
    if (k in schema || ignore.includes(k)) continue;
    const hint = suggestOption(k, known);
    throw new ConfigError(`${owner}: unknown option '${k}'${hint ? ` (did you mean '${hint}'?)` : ''}; known options: ${known.join(', ') || 'none'}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(schema)) {
    const v = given[k];
    if (v === undefined || (v === null && s.hasDefault)) {
      if (!s.hasDefault) throw new ConfigError(`${owner}: option '${k}' is required (${s.expects})`);
      out[k] = copy(s.defaultValue);
      continue;
    }
    const r = s.parse(v);
    if (!r.ok) throw new ConfigError(`${owner}: option '${k}' must be ${s.expects}${r.why ? ` (${r.why})` : ''}, got ${json(v)}`);
    out[k] = r.value;
  }
  return Object.freeze(out) as ResolvedOptions<S>;
}

/** The defaults of a schema (options without one are left out). */
export function optionDefaults(schema: OptionSchema): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([, s]) => s.hasDefault)
      .map(([k, s]) => [k, copy(s.defaultValue)]),
  );
}
