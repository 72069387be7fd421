import type * as tfl from '@tensorflow/tfjs-layers';
import { Registry } from './registry.js';

/** Blocks (tf.layers.Layer subclasses), filled by `registerBlock` in each package's index. */
export const blocks = new Registry<tfl.layers.Layer>('block');
/** Assembled models (filled by @restorekit/models). */
export const models = new Registry<unknown>('model');
/** Losses (filled by @restorekit/losses). */
export const losses = new Registry<unknown>('loss');
/** Metrics (filled by @restorekit/metrics). */
export const metrics = new Registry<unknown>('metric');
