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

/** amplitude·e^{i·phase} as { re, im } (torch.polar). Shapes must match. */
export function fromPolar(amp: tf.Tensor, ph: tf.Tensor): Complex {
  checkReal('fromPolar', amp, 'amplitude', 0);
  checkReal('fromPolar', ph, 'phase', 0);
  if (amp.rank !== ph.rank || amp.shape.some((d, k) => d !== ph.shape[k]))
    throw new ShapeError(`fromPolar: amplitude ${fmtShape(amp.shape)} and phase ${fmtShape(ph.shape)} must have the same shape`);
  const [re, im] = tf.tidy(() => [tf.mul(amp, tf.cos(ph)), tf.mul(amp, tf.sin(ph))]);
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
