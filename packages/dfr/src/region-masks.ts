import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { RestorekitError, isBlock } from '@restorekit/core';

// Debug access to the hard masks of RN_L (RegionNorm) layers, e.g. to compare them with the
// `__mask__.<module path>` tensors of the golden fixtures.

let recorder: Map<tfl.layers.Layer, tf.Tensor> | null = null;

/** Called by RegionNorm.forward: keeps a copy of the mask while a recording is active. */
export function recordMask(layer: tfl.layers.Layer, mask: tf.Tensor): void {
  if (!recorder) return;
  recorder.get(layer)?.dispose();
  recorder.set(layer, tf.keep(tf.clone(mask)));
}

/**
 * Runs `fn` (synchronously) and returns its result with the hard mask [B, H, W, 1] of every RegionNorm
 * that ran, keyed by layer (the last call wins). The caller owns (and must dispose) the masks.
 */
export function recordRegionMasks<T>(fn: () => T): { result: T; masks: Map<tfl.layers.Layer, tf.Tensor> } {
  if (recorder) throw new RestorekitError('recordRegionMasks: recordings cannot be nested');
  const masks = new Map<tfl.layers.Layer, tf.Tensor>();
  recorder = masks;
  try {
    return { result: fn(), masks };
  } finally {
    recorder = null;
  }
}

/** Every RegionNorm below `block`, keyed by its PyTorch module path (e.g. 'down_path_1.0.norm'; '' for the block itself). */
export function regionNormPaths(block: tfl.layers.Layer, prefix = ''): Map<string, tfl.layers.Layer> {
  const out = new Map<string, tfl.layers.Layer>();
  if ((block.constructor as { className?: string }).className === 'restorekit>RegionNorm') out.set(prefix.replace(/\.$/, ''), block);
  if (isBlock(block)) for (const [k, c] of block.childLayers) for (const [p, l] of regionNormPaths(c, `${prefix}${k}.`)) out.set(p, l);
  return out;
}
