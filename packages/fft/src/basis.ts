/**
 * DFT bases computed on the host in float64 (angles from (n·k mod N), so no precision is lost for
 * large n·k) and uploaded once per (backend, kind, size, scale). The cache holds tf tensors that
 * stay alive until `releaseFFTCache()`; `setFFTCacheEnabled(false)` makes every call create and
 * dispose its own bases (no tensors outlive the call: what leak checks want).
 */
import * as tf from '@tensorflow/tfjs-core';

const cache = new Map<string, tf.Tensor>();
let enabled = true;

/** Disposes every cached basis tensor (all backends). Returns how many tensors were released. */
export function releaseFFTCache(): number {
  let n = 0;
  for (const t of cache.values())
    if (!t.isDisposed) {
      t.dispose();
      n++;
    }
  cache.clear();
  return n;
}

/** Turns the basis cache on (default) or off. Off: bases are rebuilt per call and disposed with the call's tidy scope. */
export function setFFTCacheEnabled(on: boolean): void {
  enabled = on;
  if (!on) releaseFFTCache();
}

export function fftCacheSize(): number {
  return cache.size;
}

function cached(key: string, shape: number[], make: () => Float32Array): tf.Tensor {
  if (!enabled) return tf.tensor(make(), shape, 'float32');
  const full = `${tf.getBackend()}|${key}`;
  const hit = cache.get(full);
  if (hit && !hit.isDisposed) return hit;
  const t = tf.keep(tf.tensor(make(), shape, 'float32'));
  cache.set(full, t);
  return t;
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

/** Real → complex (first K = ⌊N/2⌋+1 bins, or all N when full), forward sign: [N, 2K] = [cos | −sin]·scale. */
export function r2cBasis(N: number, scale: number, full = false): tf.Tensor {
  const K = full ? N : Math.floor(N / 2) + 1;
  return cached(`r2c|${N}|${K}|${scale}`, [N, 2 * K], () => {
    const b = new Float32Array(N * 2 * K);
    for (let n = 0; n < N; n++)
      for (let k = 0; k < K; k++) {
        const [c, sn] = cosSin(n, k, N);
        b[n * 2 * K + k] = c * scale;
        b[n * 2 * K + K + k] = -sn * scale;
      }
    return b;
  });
}

/** Complex → complex, packed [re | im] rows: [2N, 2N]; sign −1 forward, +1 inverse. */
export function c2cBasis(N: number, sign: 1 | -1, scale: number): tf.Tensor {
  return cached(`c2c|${N}|${sign}|${scale}`, [2 * N, 2 * N], () => {
    const M = 2 * N;
    const b = new Float32Array(M * M);
    for (let n = 0; n < N; n++)
      for (let k = 0; k < N; k++) {
        const [cc, sn] = cosSin(n, k, N);
        const c = cc * scale;
        const s = sn * scale * sign;
        b[n * M + k] = c; // re → re
        b[n * M + N + k] = s; // re → im
        b[(N + n) * M + k] = -s; // im → re
        b[(N + n) * M + N + k] = c; // im → im
      }
    return b;
  });
}

/**
 * Half spectrum (K bins) → real signal of length N, PyTorch's c2r convention:
 * x_n = scale·Σ_k a_k (Re_k cos θ − Im_k sin θ), a_k = 1 for k = 0 and (N even) k = N/2, else 2.
 * sin θ vanishes exactly for those bins, so their imaginary parts are ignored, as in torch.
 */
export function c2rBasis(N: number, scale: number): tf.Tensor {
  const K = Math.floor(N / 2) + 1;
  return cached(`c2r|${N}|${scale}`, [2 * K, N], () => {
    const b = new Float32Array(2 * K * N);
    for (let k = 0; k < K; k++) {
      const a = k === 0 || (N % 2 === 0 && k === N / 2) ? 1 : 2;
      for (let n = 0; n < N; n++) {
        const [c, sn] = cosSin(n, k, N);
        b[k * N + n] = a * c * scale;
        b[(K + k) * N + n] = -a * sn * scale;
      }
    }
    return b;
  });
}

/**
 * Four-step second stage: for each k2 < Q, the twiddled length-P DFT over n1 of the packed values
 * [re | im] (length 2P): out[k1] = scale·Σ_{n1} x[n1]·e^{sign·i·2π·n1·(Q·k1 + k2)/N}. Shape [Q, 2P, 2P],
 * or [Q, 2P, P] when only the real part is wanted.
 */
export function fourStepOuterBasis(P: number, Q: number, sign: 1 | -1, scale: number, realOut: boolean): tf.Tensor {
  const N = P * Q;
  const cols = realOut ? P : 2 * P;
  return cached(`4s|${P}|${Q}|${sign}|${scale}|${realOut}`, [Q, 2 * P, cols], () => {
    const b = new Float32Array(Q * 2 * P * cols);
    for (let k2 = 0; k2 < Q; k2++) {
      const base = k2 * 2 * P * cols;
      for (let n1 = 0; n1 < P; n1++)
        for (let k1 = 0; k1 < P; k1++) {
          const [cc, sn] = cosSin(n1, Q * k1 + k2, N);
          const c = cc * scale;
          const s = sn * scale * sign;
          b[base + n1 * cols + k1] = c;
          b[base + (P + n1) * cols + k1] = -s;
          if (!realOut) {
            b[base + n1 * cols + P + k1] = s;
            b[base + (P + n1) * cols + P + k1] = c;
          }
        }
    }
    return b;
  });
}

/** Packed [re | im] weights a_k (1 for bin 0 and N/2, else 2) of the c2r fast path, zero-padded to N bins: [2N]. */
export function c2rWeights(N: number): tf.Tensor {
  const K = Math.floor(N / 2) + 1;
  return cached(`c2rw|${N}`, [2 * K], () => {
    const w = new Float32Array(2 * K);
    for (let k = 0; k < K; k++) {
      const a = k === 0 || (N % 2 === 0 && k === N / 2) ? 1 : 2;
      w[k] = a;
      w[K + k] = a;
    }
    return w;
  });
}
