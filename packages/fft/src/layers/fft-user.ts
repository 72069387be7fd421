import type * as tf from '@tensorflow/tfjs-core';
import { Block } from '@restorekit/core';
import { releaseFFTCacheUse, retainFFTCache } from '../basis.js';

/**
 * Base of the blocks that run FFTs: a user of the DFT-basis cache (see `retainFFTCache`) from its first run until
 * it is disposed, so disposing the block frees the bases it made. It registers when it runs, not when it is built: a
 * block that only builds (to count or load weights) creates no bases, and weightless subclasses keep core's build
 * from options. Blocks of other packages that call the FFT functions can extend it, or make the two calls themselves.
 */
export abstract class FFTBlock<O extends Record<string, unknown> = Record<string, unknown>> extends Block<O> {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    retainFFTCache(this);
    return super.call(inputs, kwargs);
  }

  protected override releaseResources(): void {
    releaseFFTCacheUse(this);
  }
}
