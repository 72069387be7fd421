/** Float64 references and error measures for the tests of ops and their wasm kernels (not part of the package's API). */

/** erf in float64: Taylor series below 3, continued fraction of erfc above. */
export function erf64(z: number): number {
  const a = Math.abs(z);
  let r: number;
  if (a < 3) {
    let s = a;
    let t = a;
    for (let n = 1; Math.abs(t) > 1e-17 * Math.abs(s); n++) {
      t *= (-a * a) / n;
      s += t / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * s;
  } else {
    let f = 0;
    for (let k = 60; k >= 1; k--) f = k / 2 / (a + f);
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
  }
  return z < 0 ? -r : r;
}
/** The exact GELU ½x(1 + erf(x/√2)) in float64. */
export const gelu64 = (x: number) => 0.5 * x * (1 + erf64(x / Math.SQRT2));
/** Its derivative Φ(x) + x·φ(x) in float64. */
export const dgelu64 = (x: number) => 0.5 * (1 + erf64(x / Math.SQRT2)) + (x * Math.exp((-x * x) / 2)) / Math.sqrt(2 * Math.PI);

/** Largest |got − want| relative to the largest |want| (throws if the lengths differ). */
export function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`relError: ${got.length} values against ${want.length}`);
  let e = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    e = Math.max(e, Math.abs(got[i]! - want[i]!));
    m = Math.max(m, Math.abs(want[i]!));
  }
  return e / m;
}
