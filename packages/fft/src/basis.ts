/**
 * DFT bases computed on the host in float64 (angles from (n·k mod N), so no precision is lost for
 * large n·k) and uploaded once per (backend, kind, size, scale), while core's setting `fftCache` is on
 * (`configure({ fftCache: false })` makes every call create and dispose its own bases, and frees the cache).
 *
 * Ownership: the cached bases are tf tensors, so they must belong to someone. Blocks that run FFTs register as
 * users of the cache (`retainFFTCache(this)` when built or first run — `FFTBlock` does it on the first run —,
 * `releaseFFTCacheUse(this)` when disposed); bases built
 * while any user is registered belong to the users and are disposed when the last one is released, so building,
 * running and disposing a block leaves `tf.memory()` as it was. Bases built by plain function calls with no user
 * registered stay until `releaseFFTCache()`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getSettings, isBlock, onSettingsChange } from '@restorekit/core';

interface Entry {
  tensor: tf.Tensor;
  /** Built while a user was registered: disposed when the last user is released. */
  owned: boolean;
}
const cache = new Map<string, Entry>();
const users = new Set<object>();

function disposeEntries(which: (e: Entry) => boolean): number {
  let n = 0;
  for (const [k, e] of cache)
    if (which(e)) {
      if (!e.tensor.isDisposed) {
        e.tensor.dispose();
        n++;
      }
      cache.delete(k);
    }
  return n;
}

/** Disposes every cached basis tensor (all backends, whoever built them). Returns how many tensors were released. */
export function releaseFFTCache(): number {
  return disposeEntries(() => true);
}

/**
 * Registers `user` (a block that runs FFTs; call it from `build` or `forward`) as a user of the basis cache: bases built from now
 * until the last user is released belong to the users. Registering the same user again does nothing.
 */
export function retainFFTCache(user: object): void {
  users.add(user);
}

/**
 * Ends the use of `user` and of every registered user among its child blocks (`childLayers`, recursively, and a
 * tfjs model's `layers`). `FFTBlock` calls it from core's `releaseResources` hook, which a block's dispose runs on
 * itself and on every child block, so disposing any model that contains FFT blocks releases them. When no user is
 * left, the bases built during use are disposed (bases of user-less function calls stay until `releaseFFTCache`).
 * Returns how many tensors were disposed. Releasing what was never registered does nothing.
 */
export function releaseFFTCacheUse(user: object): number {
  const seen = new Set<unknown>();
  const visit = (x: unknown): void => {
    if (x === null || typeof x !== 'object' || seen.has(x)) return;
    seen.add(x);
    users.delete(x);
    if (isBlock(x)) for (const c of x.childLayers.values()) visit(c);
    const layers = (x as { layers?: unknown }).layers;
    if (Array.isArray(layers)) for (const l of layers) visit(l);
  };
  const before = users.size;
  visit(user);
  return before > 0 && users.size === 0 ? disposeEntries((e) => e.owned) : 0;
}

/** How many users hold the cache (see `retainFFTCache`). */
export function fftCacheUsers(): number {
  return users.size;
}

/** How many basis tensors are cached. */
export function fftCacheSize(): number {
  return cache.size;
}

// Turning the setting off frees the cache (later calls build per-call bases).
onSettingsChange((s) => {
  if (!s.fftCache && cache.size > 0) releaseFFTCache();
});

function remember(key: string, t: tf.Tensor): tf.Tensor {
  cache.set(key, { tensor: tf.keep(t), owned: users.size > 0 });
  return t;
}

function cached(key: string, shape: number[], make: () => Float32Array): tf.Tensor {
  if (!getSettings().fftCache) return tf.tensor(make(), shape, 'float32');
  const full = `${tf.getBackend()}|${key}`;
  const hit = cache.get(full);
  if (hit && !hit.tensor.isDisposed) return hit.tensor;
  return remember(full, tf.tensor(make(), shape, 'float32'));
}

const TWO_PI = 2 * Math.PI;
/**
 * cos and sin of 2π·m/N for m = n·k mod N, evaluated on the first half-turn only (m > N/2 uses
 * symmetry) and exact at multiples of a quarter turn, so sin vanishes exactly where it should
 * (bins 0 and N/2 of the c2r basis: their imaginary parts get exactly zero weight, as in torch).
 */
function cosSin(n: number, k: number, N: number): [number, number] {
  const m = (n * k) % N;
  if (m === 0) return [1, 0];
  if (4 * m === N) return [0, 1];
  if (2 * m === N) return [-1, 0];
  if (4 * m === 3 * N) return [0, -1];
  if (2 * m > N) {
    const t = (TWO_PI * (N - m)) / N;
    return [Math.cos(t), -Math.sin(t)];
  }
  const t = (TWO_PI * m) / N;
  return [Math.cos(t), Math.sin(t)];
}

/**
 * Real → complex along one axis, applied from the left: re = Cr·x, im = Ci·x with Cr, Ci of shape
 * [K, N] (K = ⌊N/2⌋+1 bins, or N when `full`): Cr[k, n] = cos θ·scale, Ci[k, n] = sign·sin θ·scale.
 */
export function r2cBases(N: number, sign: 1 | -1, scale: number, full = false): [tf.Tensor, tf.Tensor] {
  const K = full ? N : Math.floor(N / 2) + 1;
  return cosSinTables(['r2c.re', 'r2c.im'], `${N}|${K}|${sign}|${scale}`, K, N, N, sign, scale);
}

/**
 * The pair of tables [rows, cols] with re[r, c] = w(c)·cos θ·scale and im[r, c] = w(c)·sign·sin θ·scale, θ = 2π·r·c/N
 * (`cosSin`), cached under `names` + `key`: the r2c bases, the c2r parts and the four-step twiddles are all of this form.
 */
function cosSinTables(
  names: [string, string],
  key: string,
  rows: number,
  cols: number,
  N: number,
  sign: 1 | -1,
  scale: number,
  weight: (c: number) => number = () => 1,
): [tf.Tensor, tf.Tensor] {
  const make = (imag: boolean) => () => {
    const t = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        const [co, sn] = cosSin(r, c, N);
        t[r * cols + c] = weight(c) * (imag ? sign * sn : co) * scale;
      }
    return t;
  };
  return [cached(`${names[0]}|${key}`, [rows, cols], make(false)), cached(`${names[1]}|${key}`, [rows, cols], make(true))];
}

/**
 * Complex → complex along one axis on the stacked input Z = [re; im] (2N rows), applied from the left:
 * re' = Br·Z, im' = Bi·Z with Br = [C | −sign·S], Bi = [sign·S | C] of shape [K, 2N] (C = cos θ·scale,
 * S = sin θ·scale, θ = 2π·n·k/N). K = N unless `rows` says how many output bins to keep.
 */
export function c2cBases(N: number, sign: 1 | -1, scale: number, rows = N): [tf.Tensor, tf.Tensor] {
  const make = (imag: boolean) => () => {
    const b = new Float32Array(rows * 2 * N);
    for (let k = 0; k < rows; k++)
      for (let n = 0; n < N; n++) {
        const [cc, sn] = cosSin(n, k, N);
        const c = cc * scale;
        const s = sign * sn * scale;
        b[k * 2 * N + n] = imag ? s : c;
        b[k * 2 * N + N + n] = imag ? c : -s;
      }
    return b;
  };
  return [
    cached(`c2c.re|${N}|${rows}|${sign}|${scale}`, [rows, 2 * N], make(false)),
    cached(`c2c.im|${N}|${rows}|${sign}|${scale}`, [rows, 2 * N], make(true)),
  ];
}

/**
 * Half spectrum (K bins, stacked [re; im]: 2K rows) → real signal of length N, PyTorch's c2r convention,
 * applied from the left: [N, 2K] with x_n = scale·Σ_k a_k (Re_k cos θ − Im_k sin θ), a_k = 1 for k = 0
 * and (N even) k = N/2, else 2. sin θ vanishes exactly for those bins, so their imaginary parts are
 * ignored, as in torch.
 */
export function c2rBasis(N: number, scale: number): tf.Tensor {
  const K = Math.floor(N / 2) + 1;
  return cached(`c2r|${N}|${scale}`, [N, 2 * K], () => {
    const b = new Float32Array(N * 2 * K);
    for (let n = 0; n < N; n++)
      for (let k = 0; k < K; k++) {
        const a = k === 0 || (N % 2 === 0 && k === N / 2) ? 1 : 2;
        const [c, sn] = cosSin(n, k, N);
        b[n * 2 * K + k] = a * c * scale;
        b[n * 2 * K + K + k] = -a * sn * scale;
      }
    return b;
  });
}

/**
 * Four-step second stage (N = P·Q, n = Q·n1 + n2, k = k1 + P·k2): for every k1 < P, the twiddled
 * length-Q DFT over n2 of the stacked values [re; im] (2Q): out[k1, k2] = scale·Σ_{n2} z[n2]·e^{sign·i·2π·n2·k/N}.
 * Returns the re and im output bases, each [P, rows, 2Q] (rows ≤ Q output k2's kept).
 */
export function fourStepBases(P: number, Q: number, sign: 1 | -1, scale: number, rows = Q): [tf.Tensor, tf.Tensor] {
  const N = P * Q;
  const make = (imag: boolean) => () => {
    const b = new Float32Array(P * rows * 2 * Q);
    for (let k1 = 0; k1 < P; k1++)
      for (let k2 = 0; k2 < rows; k2++) {
        const base = (k1 * rows + k2) * 2 * Q;
        for (let n2 = 0; n2 < Q; n2++) {
          const [cc, sn] = cosSin(n2, k1 + P * k2, N);
          const c = cc * scale;
          const s = sign * sn * scale;
          b[base + n2] = imag ? s : c;
          b[base + Q + n2] = imag ? c : -s;
        }
      }
    return b;
  };
  return [
    cached(`4s.re|${P}|${Q}|${rows}|${sign}|${scale}`, [P, rows, 2 * Q], make(false)),
    cached(`4s.im|${P}|${Q}|${rows}|${sign}|${scale}`, [P, rows, 2 * Q], make(true)),
  ];
}

/**
 * Twiddles of the 'rows' layout's four-step stage (engine.ts): scale·e^{sign·i·2π·n2·k1/N} for N = P·Q as the re and
 * im tables [Q(n2), P(k1)].
 */
export function rowsTwiddles(P: number, Q: number, sign: 1 | -1, scale: number): [tf.Tensor, tf.Tensor] {
  return cosSinTables(['rtw.re', 'rtw.im'], `${P}|${Q}|${sign}|${scale}`, Q, P, P * Q, sign, scale);
}

/** The c2r weights a_k (1 for bin 0 and, N even, bin N/2; else 2) as a [K, 1] column. */
export function c2rWeights(N: number): tf.Tensor {
  const K = Math.floor(N / 2) + 1;
  return cached(`c2rw|${N}`, [K, 1], () => {
    const w = new Float32Array(K);
    for (let k = 0; k < K; k++) w[k] = k === 0 || (N % 2 === 0 && k === N / 2) ? 1 : 2;
    return w;
  });
}

/** The c2r basis split into its [N, K] parts acting on Re and on Im (see c2rBasis). */
export function c2rSplitBases(N: number, scale: number): [tf.Tensor, tf.Tensor] {
  const K = Math.floor(N / 2) + 1;
  return cosSinTables(['c2r.re', 'c2r.im'], `${N}|${scale}`, N, K, N, -1, scale, (k) => (k === 0 || (N % 2 === 0 && k === N / 2) ? 1 : 2));
}

const transposedOf = new WeakMap<tf.Tensor, tf.Tensor>();
/** The transpose of a basis, cached alongside it (with the cache off: a fresh tensor owned by the caller's scope). */
export function transposed(basis: tf.Tensor): tf.Tensor {
  if (!getSettings().fftCache) return tf.transpose(basis);
  const hit = transposedOf.get(basis);
  if (hit && !hit.isDisposed) return hit;
  const t = remember(`T|${basis.id}`, tf.transpose(basis)); // released with the cache (tensor ids are never reused)
  transposedOf.set(basis, t);
  return t;
}

/** e^{i·2π·m/N} for m < N as a [2, N] table (row 0 cos, row 1 sin), for the GPU kernels. */
export function twiddleTable(N: number): tf.Tensor {
  return cached(`tw|${N}`, [2, N], () => {
    const t = new Float32Array(2 * N);
    for (let m = 0; m < N; m++) {
      const [c, s] = cosSin(m, 1, N);
      t[m] = c;
      t[N + m] = s;
    }
    return t;
  });
}

/**
 * The terms of one DFT pass for the wasm kernel (core's `dftPassKernel`) as a table [N, 3R]: row o holds
 * [n_0, c_0, s_0, n_1, c_1, s_1, …] with c + i·s = e^{i·2π·m/N} (m = (k·n) mod N, from the same float64 cos/sin as the
 * bases) and n ascending; the kernel applies the sign, scale, c2r weights and a shorter input (n ≥ lenIn) itself, so a
 * transform, its inverse and its adjoint share the table. Pass A (R = P): o = k1·Q + n2, n = Q·j + n2, m = k1·n;
 * pass B (R = Q): o = k1 + P·k2, n = k1·Q + j, m = P·j·k2 (the dense DFT is pass A with Q = 1). A pass with fewer
 * outputs (an r2c's ⌊N/2⌋ + 1 bins) reads the first rows.
 */
export function passTable(pass: 'A' | 'B', N: number, P: number, Q: number): tf.Tensor {
  const R = pass === 'A' ? P : Q;
  return cached(`pass|${pass}|${N}|${P}|${Q}`, [N, 3 * R], () => {
    const t = new Float32Array(N * 3 * R);
    let at = 0;
    for (let o = 0; o < N; o++)
      for (let j = 0; j < R; j++) {
        const [n, m] = pass === 'A' ? [Q * j + (o % Q), Math.floor(o / Q) * (Q * j + (o % Q))] : [(o % P) * Q + j, P * j * Math.floor(o / P)];
        const [c, sn] = cosSin(m, 1, N); // (reduces m mod N itself)
        t[at++] = n;
        t[at++] = c;
        t[at++] = sn;
      }
    return t;
  });
}
