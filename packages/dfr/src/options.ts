import { opt, type OptionSpec } from '@restorekit/core';

/** Option specs shared by the DRCNet blocks (built on core's `opt`; no block validates an option by hand). */

/** LeakyReLU negative slope (official relu_slope 0.2). */
export const reluSlope = (): OptionSpec<number, true> => opt.number({}, 0.2);

/** An odd positive integer: the kernel size of a same-size convolution (padding (k − 1) / 2). */
export const oddKernelSize = (dflt: number): OptionSpec<number, true> =>
  opt.custom<number>(
    'an odd positive integer',
    (v) => (Number.isInteger(v) && (v as number) >= 1 && (v as number) % 2 === 1) || 'padding (k − 1) / 2 keeps the size only for odd k',
    dflt,
  ) as OptionSpec<number, true>;
