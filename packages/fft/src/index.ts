export type { Complex, FFTNorm, FFTOptions, FFTPath, IRFFTOptions } from './types.js';
export { rfft2, irfft2, fft2, ifft2 } from './fft.js';
export { releaseFFTCache, retainFFTCache, releaseFFTCacheUse, fftCacheUsers, fftCacheSize } from './basis.js';
export {
  pathFor,
  factorPair,
  FOURSTEP_MIN_N,
  FOURSTEP_MIN_POST,
  ROWS_FOURSTEP_MIN_N,
  STAGE_LAYOUT,
  KERNEL_FOURSTEP_MIN_N,
  WASM_KERNEL_FOURSTEP_MIN_N,
} from './engine.js';
export { KERNEL_BACKENDS, hasFFTKernel } from './kernels.js';
export { fftshift, ifftshift, roll } from './shift.js';
export { amplitude, phase, fromPolar, complexMul, conj } from './polar.js';
export { lowPassMask, highPassMask, bandPassMask, radialFrequency } from './masks.js';
export type { RadialMaskOptions } from './masks.js';
export { FFTBlock } from './layers/fft-user.js';
export { RFFT2Layer } from './layers/rfft2-layer.js';
export type { RFFT2LayerOptions } from './layers/rfft2-layer.js';
export { IRFFT2Layer } from './layers/irfft2-layer.js';
export type { IRFFT2LayerOptions } from './layers/irfft2-layer.js';
export { GlobalFilter } from './layers/global-filter.js';
export type { GlobalFilterOptions } from './layers/global-filter.js';
