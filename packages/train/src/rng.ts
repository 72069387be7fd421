import { CheckpointError, ConfigError } from '@restorekit/core';

/**
 * Deterministic math for random sampling. `Math.log`, `Math.exp` and `Math.cos` are implementation-approximated in
 * JavaScript (the spec allows engines to differ in the last bits), so samplers that must give the same numbers in
 * Node, Chrome, Firefox and Safari use these instead: they are built from +, −, ×, ÷ and `Math.floor` only, whose
 * IEEE-754 double results every engine must reproduce exactly. Accurate to a few ulp.
 */
const LN2 = Math.LN2;
const LN2_HI = 0.6931471803691238; // high bits of ln 2 (exact product with small integers)
const LN2_LO = 1.9082149292705877e-10;
const SQRT2 = Math.SQRT2;
const PI = Math.PI;
const TWO_PI = 2 * Math.PI;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Index of the high word of a double in `u32` (little- or big-endian host).
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** 2^k for an integer −1022 ≤ k ≤ 1023, built from its bits (exact). */
function pow2(k: number): number {
  f64[0] = 0;
  u32[HI] = (k + 1023) << 20;
  u32[1 - HI] = 0;
  return f64[0]!;
}

/** Natural logarithm (x > 0), deterministic across engines. */
export function detLog(x: number): number {
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  if (x === Infinity) return Infinity;
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984; // 2^54: subnormals to normal range
    e -= 54;
  }
  f64[0] = x;
  const hi = u32[HI]!;
  e += ((hi >>> 20) & 0x7ff) - 1023;
  u32[HI] = (hi & 0x800fffff) | (1023 << 20); // mantissa in [1, 2)
  let m = f64[0]!;
  if (m > SQRT2) {
    m /= 2;
    e += 1;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  // atanh series: ln m = 2 s (1 + s²/3 + s⁴/5 + …), |s| ≤ 0.1716 so s² ≤ 0.0295.
  let sum = 1 / 29;
  for (let k = 13; k >= 0; k--) sum = sum * s2 + 1 / (2 * k + 1);
  return e * LN2_HI + (2 * s * sum + e * LN2_LO);
}

/** e^x, deterministic across engines. */
export function detExp(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x > 709.78) return Infinity;
  if (x < -745.2) return 0;
  const k = Math.floor(x / LN2 + 0.5);
  const r = x - k * LN2_HI - k * LN2_LO; // |r| ≤ 0.35
  let sum = 1;
  for (let n = 20; n >= 1; n--) sum = 1 + (sum * r) / n;
  // 2^k in two steps so k down to −1074 (subnormal results) stays representable.
  if (k < -1022) return sum * pow2(k + 600) * pow2(-600);
  if (k > 1023) return sum * pow2(k - 1) * 2;
  return sum * pow2(k);
}

/** cos x, deterministic across engines (argument reduced to [−π, π], then a Taylor series). */
export function detCos(x: number): number {
  if (!Number.isFinite(x)) return NaN;
  let r = x - Math.floor(x / TWO_PI + 0.5) * TWO_PI;
  // Use symmetry to bring |r| ≤ π/2 so the series converges fast: cos(r) = −cos(π − |r|).
  let sign = 1;
  r = Math.abs(r);
  if (r > PI / 2) {
    r = PI - r;
    sign = -1;
  }
  const r2 = r * r;
  let sum = 1;
  for (let n = 24; n >= 2; n -= 2) sum = 1 - (sum * r2) / (n * (n - 1));
  return sign * sum;
}

/** sin x = cos(x − π/2), deterministic across engines. */
export function detSin(x: number): number {
  return detCos(x - PI / 2);
}

/** Serializable state of an `Rng`: the four xoshiro128** words and the cached second normal deviate. */
export interface RngState {
  s: [number, number, number, number];
  spare: number | null;
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

/**
 * A small seeded generator, identical in Node and every browser: xoshiro128** (Blackman & Vigna) on 32-bit integer
 * arithmetic (`Math.imul`), seeded by splitmix32, with uniform floats (53 bits), unbiased integers, normal deviates
 * (Marsaglia's polar method on `detLog`), Poisson counts and shuffles. `getState()` / `setState()` save and restore it
 * exactly (a data sampler's generator goes into training checkpoints).
 */
export class Rng {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  /** `seed`: an integer in [0, 2^53). */
  constructor(seed = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ConfigError(`Rng: seed must be an integer in [0, 2^53), got ${seed}`);
    // splitmix32 over the low and high words of the seed.
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296) >>> 0, 0x9e3779b9);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  /**
   * The generator of one named item (an image file, a sample): seeded by `seed` and the FNV-1a hash of `name`'s UTF-8
   * bytes, so an item gets the same numbers whichever folder or list it is in. The `restorekit degrade` / `eval
   * --degrade` commands and training/eval-cbsd68.mjs seed each image this way (`Rng.forName(seed, fileName)`).
   */
  static forName(seed: number, name: string): Rng {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ConfigError(`Rng.forName: seed must be an integer in [0, 2^53), got ${seed}`);
    let h = 0x811c9dc5;
    for (const b of new TextEncoder().encode(name)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    return new Rng(Number((BigInt(seed) * 0x9e3779b97f4a7c15n + BigInt(h)) % 2n ** 53n));
  }

  /** The next 32-bit unsigned integer. */
  uint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2] ^= s[0]!;
    s[3] ^= s[1]!;
    s[1] ^= s[2]!;
    s[0] ^= s[3]!;
    s[2] ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  float(): number {
    const a = this.uint32() >>> 5;
    const b = this.uint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A uniform double in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** A uniform integer in [0, n), without modulo bias (n ≤ 2^32). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new ConfigError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = Math.floor(4294967296 / n) * n;
    for (;;) {
      const r = this.uint32();
      if (r < limit) return r % n;
    }
  }

  /** True with probability p. */
  bernoulli(p = 0.5): boolean {
    return this.float() < p;
  }

  /** A standard normal deviate (Marsaglia's polar method; the pair's second value is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    for (;;) {
      const u = 2 * this.float() - 1;
      const v = 2 * this.float() - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = Math.sqrt((-2 * detLog(s)) / s);
      this.spare = v * f;
      return u * f;
    }
  }

  /**
   * A Poisson count with mean λ ≥ 0: multiplication of uniforms (Knuth) below 10, the transformed rejection with squeeze
   * of Hörmann (1993, "PTRS", as NumPy) above.
   */
  poisson(lambda: number): number {
    if (!(lambda >= 0 && Number.isFinite(lambda))) throw new ConfigError(`Rng.poisson: λ must be a finite number ≥ 0, got ${lambda}`);
    if (lambda === 0) return 0;
    if (lambda < 10) {
      const limit = detExp(-lambda);
      let k = 0;
      let p = this.float();
      while (p > limit) {
        k++;
        p *= this.float();
      }
      return k;
    }
    const slam = Math.sqrt(lambda);
    const loglam = detLog(lambda);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const U = this.float() - 0.5;
      const V = this.float();
      const us = 0.5 - Math.abs(U);
      const k = Math.floor(((2 * a) / us + b) * U + lambda + 0.43);
      if (us >= 0.07 && V <= vr) return k;
      if (k < 0 || (us < 0.013 && V > us)) continue;
      if (detLog(V) + detLog(invalpha) - detLog(a / (us * us) + b) <= -lambda + k * loglam - logGamma(k + 1)) return k;
    }
  }

  /** Shuffles `a` in place (Fisher–Yates) and returns it. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  getState(): RngState {
    return { s: [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!], spare: this.spare };
  }

  setState(state: RngState): void {
    const ok =
      state !== null &&
      typeof state === 'object' &&
      Array.isArray(state.s) &&
      state.s.length === 4 &&
      state.s.every((w) => Number.isInteger(w) && w >= 0 && w < 4294967296) &&
      state.s.some((w) => w !== 0) &&
      (state.spare === null || typeof state.spare === 'number');
    if (!ok) throw new CheckpointError(`Rng.setState: not an Rng state: ${JSON.stringify(state)}`);
    this.s.set(state.s);
    this.spare = state.spare;
  }

  /** A new generator in the same state. */
  clone(): Rng {
    const r = new Rng(0);
    r.setState(this.getState());
    return r;
  }
}

/** log Γ(x) for x > 0 (NumPy's `random_loggam`: Stirling series, shifted up to x ≥ 7). */
export function logGamma(x: number): number {
  const A = [
    8.333333333333333e-2, -2.777777777777778e-3, 7.936507936507937e-4, -5.952380952380952e-4, 8.417508417508418e-4, -1.917526917526918e-3, 6.41025641025641e-3,
    -2.955065359477124e-2, 1.796443723688307e-1, -1.3924322169059,
  ];
  if (x === 1 || x === 2) return 0;
  let x0 = x;
  let n = 0;
  if (x <= 7) {
    n = Math.floor(7 - x);
    x0 = x + n;
  }
  const x2 = 1 / (x0 * x0);
  let gl0 = A[9]!;
  for (let k = 8; k >= 0; k--) gl0 = gl0 * x2 + A[k]!;
  let gl = gl0 / x0 + 0.5 * detLog(TWO_PI) + (x0 - 0.5) * detLog(x0) - x0;
  if (x <= 7) {
    for (let k = 1; k <= n; k++) {
      gl -= detLog(x0 - 1);
      x0 -= 1;
    }
  }
  return gl;
}
