export type { Complex, FFTNorm, FFTOptions, FFTPath, IRFFTOptions } from './types.js';
export { rfft2, irfft2, fft2, ifft2 } from './fft.js';
export { releaseFFTCache, setFFTCacheEnabled, fftCacheSize } from './basis.js';
export { pathFor, factorPair, FOURSTEP_MIN_N } from './engine.js';
export { fftshift, ifftshift, roll } from './shift.js';
