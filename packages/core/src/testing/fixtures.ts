import * as tf from '@tensorflow/tfjs-core';
import { RestorekitError, ShapeError, fmtShape } from '../errors.js';
import { parseSafetensors, type SafeTensor } from '../weights/safetensors.js';
import { loadTorchStateDict, torchParameters, type TorchTarget, type LoadReport } from '../weights/torch.js';

/** Reads a file of the shared ground truth (path relative to the `shared/` folder). */
export type FixtureReader = (relPath: string) => Promise<Uint8Array>;

let reader: FixtureReader | null = null;
let sharedDir: string | null = null;

/** Where `shared/` is (Node). Default: $RESTOREKIT_SHARED, else the first `shared/` or `../shared/` with a `fixtures/manifest.json` walking up from the working directory. */
export function setSharedDir(dir: string): void {
  sharedDir = dir;
}
/** Overrides how fixture files are read (the browser test setup fetches them from the dev server). */
export function setFixtureReader(r: FixtureReader | null): void {
  reader = r;
}

async function nodeReader(): Promise<FixtureReader> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  let dir = sharedDir ?? (typeof process !== 'undefined' ? process.env.RESTOREKIT_SHARED : undefined) ?? null;
  if (!dir) {
    let d = process.cwd();
    for (;;) {
      for (const cand of [path.join(d, 'shared'), path.join(d, '..', 'shared')])
        if (fs.existsSync(path.join(cand, 'fixtures', 'manifest.json'))) {
          dir = cand;
          break;
        }
      if (dir) break;
      const up = path.dirname(d);
      if (up === d) throw new RestorekitError(`fixtures: no shared/fixtures/manifest.json found above ${process.cwd()}; set RESTOREKIT_SHARED`);
      d = up;
    }
  }
  const root = dir;
  sharedDir = root;
  return async (rel) => {
    const file = path.join(root, rel);
    if (!fs.existsSync(file)) throw new RestorekitError(`fixtures: file not found: ${file}`);
    return new Uint8Array(fs.readFileSync(file));
  };
}

/** A test runner may configure fixtures without importing restorekit (one module instance): globalThis.__RESTOREKIT_FIXTURES__ = { reader?, sharedDir? }. */
interface GlobalFixtureConfig {
  reader?: FixtureReader;
  sharedDir?: string;
}
export async function readShared(relPath: string): Promise<Uint8Array> {
  const g = (globalThis as { __RESTOREKIT_FIXTURES__?: GlobalFixtureConfig }).__RESTOREKIT_FIXTURES__;
  if (!reader && g?.reader) reader = g.reader;
  if (!sharedDir && g?.sharedDir) sharedDir = g.sharedDir;
  if (!reader) reader = await nodeReader();
  return reader(relPath);
}

export interface FixtureOutputInfo {
  shape: number[];
  max_abs?: number;
  fp32_vs_fp64_max_abs_diff?: number;
  rtol: number;
  atol: number;
}
export interface FixtureManifestEntry {
  name: string;
  file: string;
  module?: string;
  config: Record<string, unknown>;
  mode?: string;
  outputs: Record<string, FixtureOutputInfo>;
  tolerance: { rtol: number; atol: number };
  [k: string]: unknown;
}

let manifest: Promise<FixtureManifestEntry[]> | null = null;
export function fixtureManifest(): Promise<FixtureManifestEntry[]> {
  manifest ??= readShared('fixtures/manifest.json').then((b) => JSON.parse(new TextDecoder().decode(b)).fixtures as FixtureManifestEntry[]);
  return manifest;
}

export interface Fixture {
  file: string;
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
  config: Record<string, unknown>;
  entry: FixtureManifestEntry | undefined;
}

/** Opens `fixtures/<file>` (e.g. 'restormer/downsample.safetensors') with its manifest entry. */
export async function loadFixture(file: string): Promise<Fixture> {
  const bytes = await readShared(`fixtures/${file}`);
  const { tensors, metadata } = parseSafetensors(bytes, file);
  const entry = (await fixtureManifest()).find((e) => e.file === file);
  return { file, tensors, metadata, config: JSON.parse(metadata.config ?? '{}'), entry };
}

/** A stored tensor as a tf tensor; rank-4 NCHW tensors become NHWC. */
export function fixtureTensor(fx: Fixture, name: string, opts: { nchw?: boolean } = {}): tf.Tensor {
  const t = fx.tensors[name];
  if (!t)
    throw new RestorekitError(
      `${fx.file}: no tensor '${name}' (has ${Object.keys(fx.tensors)
        .filter((k) => k.startsWith('__'))
        .join(', ')})`,
    );
  const x = tf.tensor(t.data, t.shape, 'float32');
  if ((opts.nchw ?? true) && t.shape.length === 4) {
    const y = tf.transpose(x, [0, 2, 3, 1]);
    x.dispose();
    return y;
  }
  return x;
}

/** Loads the official weights stored in a fixture into a target (strict: every key must map). */
export function loadFixtureWeights(target: TorchTarget, fx: Fixture, opts: { prefix?: string; ignore?: (k: string) => boolean } = {}): Promise<LoadReport> {
  return loadTorchStateDict(target, fx.tensors as Record<string, unknown>, {
    strict: true,
    ...opts,
    ignore: (k) => k.startsWith('__') || (opts.ignore?.(k) ?? false),
  });
}

export interface Comparison {
  name: string;
  ok: boolean;
  maxAbsDiff: number;
  /** Largest |got − want| / (atol + rtol·|want|); ≤ 1 passes. */
  worstRatio: number;
  atol: number;
  rtol: number;
}

/** Elementwise `|got − want| ≤ atol + rtol·|want|` (tolerances from the manifest unless given). */
export async function compareWithFixture(
  actual: tf.Tensor,
  fx: Fixture,
  name = '__output__',
  opts: { nchw?: boolean; atol?: number; rtol?: number } = {},
): Promise<Comparison> {
  const want = fx.tensors[name];
  if (!want) throw new RestorekitError(`${fx.file}: no tensor '${name}'`);
  const info = fx.entry?.outputs?.[name];
  const atol = opts.atol ?? info?.atol ?? fx.entry?.tolerance.atol ?? 1e-5;
  const rtol = opts.rtol ?? info?.rtol ?? fx.entry?.tolerance.rtol ?? 1e-4;
  let got = (await actual.data()) as Float32Array;
  let shape = actual.shape;
  if ((opts.nchw ?? true) && actual.rank === 4) {
    const t = tf.transpose(actual, [0, 3, 1, 2]);
    got = (await t.data()) as Float32Array;
    shape = t.shape;
    t.dispose();
  }
  if (shape.length !== want.shape.length || shape.some((d, i) => d !== want.shape[i]))
    throw new ShapeError(`${fx.file}: ${name} has shape ${fmtShape(want.shape)} but the result has ${fmtShape(shape)}`);
  return compareArrays(name, got, want.data, atol, rtol);
}

export function compareArrays(name: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): Comparison {
  let maxAbsDiff = 0;
  let worstRatio = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    const r = Number.isNaN(d) ? Infinity : d / (atol + rtol * Math.abs(want[i]!));
    if (!(d <= maxAbsDiff)) maxAbsDiff = Number.isNaN(d) ? Infinity : d;
    if (r > worstRatio) worstRatio = r;
  }
  return { name, ok: worstRatio <= 1, maxAbsDiff, worstRatio, atol, rtol };
}

/**
 * The largest |got − want| and the scale it is judged against, the largest |want|: for comparing two computations of
 * the same values (a gradient by two routes) to a tolerance relative to the tensor's magnitude rather than per entry.
 */
export function diffToScale(got: ArrayLike<number>, want: ArrayLike<number>): { maxAbsDiff: number; scale: number } {
  let scale = 0;
  let maxAbsDiff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[i]! - want[i]!));
  }
  return { maxAbsDiff, scale };
}

/**
 * Checks buffers after a train-mode forward (BatchNorm running_mean / running_var / num_batches_tracked)
 * against the fixture's `__after__.<key>` tensors with the manifest's tolerances, and that the update
 * happened (statistics differ from the stored initial values; num_batches_tracked went up by one).
 * Throws `RestorekitError` listing every failure; returns how many buffers were compared and the largest |diff|.
 */
export async function checkBuffersAfter(target: TorchTarget, fx: Fixture): Promise<{ count: number; maxAbsDiff: number }> {
  const keys = Object.keys(fx.tensors).filter((k) => k.startsWith('__after__.'));
  const params = new Map(torchParameters(target).map((p) => [p.name, p]));
  const failures: string[] = [];
  if (keys.length === 0) failures.push('the fixture has no __after__.* tensors');
  let maxAbsDiff = 0;
  for (const k of keys) {
    const key = k.slice('__after__.'.length);
    const p = params.get(key);
    if (!p) {
      failures.push(`no weight for ${key}`);
      continue;
    }
    if (!p.buffer) failures.push(`${key} is not a buffer`);
    const got = await p.variable.read().data();
    const info = fx.entry?.outputs?.[k];
    const c = compareArrays(key, got, fx.tensors[k]!.data, info?.atol ?? 1e-5, info?.rtol ?? 1e-4);
    if (!c.ok) failures.push(`${key}: max |diff| ${c.maxAbsDiff}`);
    const initial = fx.tensors[key];
    if (!initial) failures.push(`the fixture has no initial value for ${key}`);
    else if (key.endsWith('num_batches_tracked')) {
      if (got[0] !== initial.data[0]! + 1) failures.push(`${key} is ${got[0]}, expected ${initial.data[0]! + 1}`);
    } else if (compareArrays(key, got, initial.data, 0, 0).ok) failures.push(`${key} was not updated`);
    maxAbsDiff = Math.max(maxAbsDiff, c.maxAbsDiff);
  }
  if (failures.length) throw new RestorekitError(`${fx.file}: __after__ buffers:\n  - ${failures.join('\n  - ')}`);
  return { count: keys.length, maxAbsDiff };
}
