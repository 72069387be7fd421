import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, fmtShape, resolveOptions } from '@restorekit/core';
import type { Complex, FFTOptions, IRFFTOptions } from './types.js';
import { IRFFT_OPTIONS, checkComplex, checkReal, commonOptions, transformAxes } from './validate.js';
import { normScale, run2d, type Cx } from './engine.js';

/** Runs a complex-valued engine computation in a tidy scope, keeping only its two outputs. */
function asComplex(fn: () => Cx): Complex {
  const [re, im] = tf.tidy(() => {
    const out = fn();
    return [out.re, out.im];
  });
  return { re: re!, im: im! };
}

/**
 * 2-D real-to-complex FFT (torch.fft.rfft2): the last transformed axis keeps ⌊W/2⌋+1 bins.
 * NHWC [B, H, W, C] → { re, im } of [B, H, ⌊W/2⌋+1, C} by default.
 */
export function rfft2(x: tf.Tensor, opts: FFTOptions = {}): Complex {
  checkReal('rfft2', x);
  const { norm, path, axes } = commonOptions('rfft2', x.rank, opts);
  const [a0, a1] = axes;
  const [H, W] = [x.shape[a0]!, x.shape[a1]!];
  return asComplex(
    () =>
      run2d(
        x,
        x.shape,
        a1,
        a0,
        { kind: 'r2c', n: W, sign: -1, scale: normScale(norm, W, false) },
        { kind: 'c2c', n: H, sign: -1, scale: normScale(norm, H, false) },
        path,
      ) as Cx,
  );
}

/**
 * 2-D complex-to-real inverse FFT (torch.fft.irfft2 with s = size): complex inverse over the first
 * axis, then the c2r inverse over the second, which ignores the imaginary parts of bin 0 and (even W)
 * bin W/2 exactly as PyTorch does.
 */
export function irfft2(z: Complex, opts: IRFFTOptions = {}): tf.Tensor {
  const { re } = checkComplex('irfft2', z);
  const o = resolveOptions('irfft2', IRFFT_OPTIONS, opts);
  const { norm, path } = o;
  const [a0, a1] = transformAxes('irfft2', re.rank, o.axes);
  const H = re.shape[a0]!;
  const bins = re.shape[a1]!;
  let W = 2 * (bins - 1);
  if (o.size !== undefined) {
    const s = o.size;
    if (s[0] !== H)
      throw new ShapeError(
        `irfft2: size [${s.join(', ')}] does not fit the spectrum ${fmtShape(re.shape)}: H = ${s[0]} but axis ${a0} has ${H} bins (resizing is not supported)`,
      );
    if (Math.floor(s[1] / 2) + 1 !== bins)
      throw new ShapeError(
        `irfft2: size [${s.join(', ')}] does not fit the spectrum ${fmtShape(re.shape)}: W = ${s[1]} needs ⌊W/2⌋+1 = ${Math.floor(s[1] / 2) + 1} bins but axis ${a1} has ${bins}`,
      );
    W = s[1];
  }
  if (W < 1) throw new ShapeError(`irfft2: a spectrum with ${bins} bin(s) on axis ${a1} gives no signal; pass size [H, W] with W = 1`);
  return tf.tidy(
    () =>
      run2d(
        { re, im: z.im },
        re.shape,
        a0,
        a1,
        { kind: 'c2c', n: H, sign: 1, scale: normScale(norm, H, true) },
        { kind: 'c2r', n: W, sign: 1, scale: normScale(norm, W, true) },
        path,
      ) as tf.Tensor,
  );
}

function complexTransform(op: string, z: Complex | tf.Tensor, opts: FFTOptions, sign: 1 | -1): Complex {
  let zz: Complex;
  let real = false;
  if (z instanceof tf.Tensor) {
    checkReal(op, z);
    real = true;
    zz = { re: z, im: z };
  } else zz = checkComplex(op, z);
  const { norm, path, axes } = commonOptions(op, zz.re.rank, opts);
  const [a0, a1] = axes;
  const shape = zz.re.shape;
  const inverse = sign === 1;
  return asComplex(() => {
    const input: Cx = real ? { re: zz.re, im: tf.zerosLike(zz.re) } : { re: zz.re, im: zz.im };
    return run2d(
      input,
      shape,
      a1,
      a0,
      { kind: 'c2c', n: shape[a1]!, sign, scale: normScale(norm, shape[a1]!, inverse) },
      { kind: 'c2c', n: shape[a0]!, sign, scale: normScale(norm, shape[a0]!, inverse) },
      path,
    ) as Cx;
  });
}

/** 2-D complex FFT (torch.fft.fft2) of { re, im } (or of a real tensor, imaginary part 0). */
export function fft2(z: Complex | tf.Tensor, opts: FFTOptions = {}): Complex {
  return complexTransform('fft2', z, opts, -1);
}

/** 2-D complex inverse FFT (torch.fft.ifft2). */
export function ifft2(z: Complex | tf.Tensor, opts: FFTOptions = {}): Complex {
  return complexTransform('ifft2', z, opts, 1);
}
