import * as tf from '@tensorflow/tfjs-core';
import type { Complex } from './types.js';
import { checkComplex, checkReal } from './validate.js';
import { ShapeError, fmtShape } from '@restorekit/core';

/**
 * |z| = √(re² + im²) (torch.abs of a complex tensor). Its gradient is z/|z|, and 0 where z = 0
 * (PyTorch's convention; a plain tf.sqrt would give NaN there).
 */
export function amplitude(z: Complex): tf.Tensor {
  const { re, im } = checkComplex('amplitude', z, 0);
  const f = tf.customGrad(((r: tf.Tensor, i: tf.Tensor, save: tf.GradSaveFunc) => {
    const a = tf.sqrt(tf.add(tf.square(r), tf.square(i)));
    save([r, i, a]);
    return {
      value: a,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sr, si, sa] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const pos = tf.greater(sa, 0);
        const safe = tf.where(pos, sa, tf.onesLike(sa));
        const zero = tf.zerosLike(sa);
        return [tf.mul(dy, tf.where(pos, tf.div(sr, safe), zero)), tf.mul(dy, tf.where(pos, tf.div(si, safe), zero))];
      },
    };
  }) as never);
  return f(re, im);
}

/** arg z = atan2(im, re) in (−π, π] (torch.angle). Gradient (−im, re)/|z|², 0 where z = 0. */
export function phase(z: Complex): tf.Tensor {
  const { re, im } = checkComplex('phase', z, 0);
  const f = tf.customGrad(((r: tf.Tensor, i: tf.Tensor, save: tf.GradSaveFunc) => {
    save([r, i]);
    return {
      value: tf.atan2(i, r),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sr, si] = saved as [tf.Tensor, tf.Tensor];
        const a2 = tf.add(tf.square(sr), tf.square(si));
        const pos = tf.greater(a2, 0);
        const safe = tf.where(pos, a2, tf.onesLike(a2));
        const zero = tf.zerosLike(a2);
        return [tf.mul(dy, tf.where(pos, tf.div(tf.neg(si), safe), zero)), tf.mul(dy, tf.where(pos, tf.div(sr, safe), zero))];
      },
    };
  }) as never);
  return f(re, im);
}

/**
 * Backends whose tf.sin / tf.cos are shader built-ins, which promise little accuracy: WGSL allows an absolute error of
 * 2⁻¹¹ on [−π, π] (GLSL ES no bound at all), and SwiftShader's (webgl and webgpu alike) are off by up to 1.9e-4 even
 * on |x| < 0.8, which put FSDRNet's FrequencyAux ~7e-4 off its fixture. There sin and cos are computed from exact
 * float32 arithmetic instead (`accurateCosSin`); elsewhere (cpu, wasm, tensorflow: libm) tf.sin / tf.cos are
 * correctly rounded or within an ulp.
 */
export const SHADER_TRIG_BACKENDS: readonly string[] = ['webgl', 'webgpu'];

// π/2 in three parts (Cody–Waite): PIO2_1 has 8 significant bits, so k·PIO2_1 is exact for |k| < 2¹⁶.
const PIO2_1 = 1.5703125;
const PIO2_2 = 0.0004837512969970703; // exactly 4.837512969970703125e-4 (a float32, 2⁻¹¹·0.99072265625)
const PIO2_3 = 7.549789954891882e-8;

/**
 * [cos x, sin x] within ~2 ulp from element-wise mul/add/round only (no shader transcendental): k = round(2x/π),
 * r = x − k·π/2 (three-part reduction, |r| ≤ π/4), Cephes' float32 minimax polynomials for sin r and cos r, then the
 * quadrant k mod 4 picks and signs them (exact selects). Not differentiable by itself (round); see `cosSin`.
 */
function accurateCosSin(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const k = tf.round(tf.mul(x, 2 / Math.PI));
    const r = tf.sub(tf.sub(tf.sub(x, tf.mul(k, PIO2_1)), tf.mul(k, PIO2_2)), tf.mul(k, PIO2_3));
    const z = tf.mul(r, r);
    // sin r = r + r·z·((s3·z + s2)·z + s1); cos r = 1 − z/2 + z²·((c3·z + c2)·z + c1)
    const sr = tf.add(r, tf.mul(tf.mul(r, z), tf.add(tf.mul(tf.add(tf.mul(z, -1.9515295891e-4), 8.3321608736e-3), z), -1.6666654611e-1)));
    const cp = tf.add(tf.mul(tf.add(tf.mul(z, 2.443315711809948e-5), -1.388731625493765e-3), z), 4.166664568298827e-2);
    const cr = tf.add(tf.sub(1, tf.mul(z, 0.5)), tf.mul(tf.mul(z, z), cp));
    const q = tf.sub(k, tf.mul(tf.floor(tf.mul(k, 0.25)), 4)); // k mod 4 ∈ {0, 1, 2, 3}, exact
    const odd = tf.logicalOr(tf.equal(q, 1), tf.equal(q, 3));
    const a = tf.where(odd, sr, cr); // |cos x|
    const b = tf.where(odd, cr, sr); // |sin x| up to sign
    // cos x = c, −s, −c, s and sin x = s, c, −s, −c for q = 0, 1, 2, 3
    const cos = tf.where(tf.logicalOr(tf.equal(q, 1), tf.equal(q, 2)), tf.neg(a), a);
    const sin = tf.where(tf.greaterEqual(q, 2), tf.neg(b), b);
    return [cos, sin];
  });
}

/**
 * [cos x, sin x], differentiable (d cos = −sin, d sin = cos). On `SHADER_TRIG_BACKENDS` from `accurateCosSin`,
 * elsewhere tf.cos / tf.sin.
 */
export function cosSin(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
  if (!SHADER_TRIG_BACKENDS.includes(tf.getBackend())) return tf.tidy(() => [tf.cos(x), tf.sin(x)] as [tf.Tensor, tf.Tensor]);
  const part = (which: 0 | 1) =>
    tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
      save([t]);
      const [c, s] = accurateCosSin(t);
      tf.dispose(which === 0 ? s : c);
      return {
        value: which === 0 ? c : s,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.tidy(() => {
            const [c2, s2] = accurateCosSin(saved[0]!);
            return which === 0 ? tf.mul(dy, tf.neg(s2)) : tf.mul(dy, c2);
          }),
      };
    }) as never) as (t: tf.Tensor) => tf.Tensor;
  return [part(0)(x), part(1)(x)];
}

/** amplitude·e^{i·phase} as { re, im } (torch.polar). Shapes must match. */
export function fromPolar(amp: tf.Tensor, ph: tf.Tensor): Complex {
  checkReal('fromPolar', amp, 'amplitude', 0);
  checkReal('fromPolar', ph, 'phase', 0);
  if (amp.rank !== ph.rank || amp.shape.some((d, k) => d !== ph.shape[k]))
    throw new ShapeError(`fromPolar: amplitude ${fmtShape(amp.shape)} and phase ${fmtShape(ph.shape)} must have the same shape`);
  const [re, im] = tf.tidy(() => {
    const [c, s] = cosSin(ph);
    return [tf.mul(amp, c), tf.mul(amp, s)];
  });
  return { re: re!, im: im! };
}

/** Complex product a·b (broadcasting like tf.mul). */
export function complexMul(a: Complex, b: Complex): Complex {
  checkComplex('complexMul', a, 0);
  checkComplex('complexMul', b, 0);
  const [re, im] = tf.tidy(() => [tf.sub(tf.mul(a.re, b.re), tf.mul(a.im, b.im)), tf.add(tf.mul(a.re, b.im), tf.mul(a.im, b.re))]);
  return { re: re!, im: im! };
}

/** Complex conjugate (a copy of re, −im). */
export function conj(z: Complex): Complex {
  checkComplex('conj', z, 0);
  return { re: tf.clone(z.re), im: tf.neg(z.im) };
}
