import { WeightsError, parseSafetensors, type Block } from '@restorekit/core';

/** What the weighted losses' `loadWeights` take: a state dict (`{ key: tensor | { shape, data } }`) or the bytes of a safetensors file. */
export type WeightSource = Record<string, unknown> | ArrayBuffer | ArrayBufferView;

/** The state dict of a weight source (safetensors bytes are parsed; `where` names the file in parse errors). */
export function stateDictOf(src: WeightSource, where: string): Record<string, unknown> {
  if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) return parseSafetensors(src, where).tensors;
  if (src === null || typeof src !== 'object' || Array.isArray(src))
    throw new WeightsError(
      `${where}: expected a state dict or the bytes of a safetensors file, got ${src === null ? 'null' : Array.isArray(src) ? 'an array' : typeof src}`,
    );
  return src;
}

/**
 * An `ignore` predicate for core's `loadTorchStateDict` that skips every key `block` does not own.
 * The losses load their block from larger files (a whole torchvision VGG with `classifier.*`, an
 * FSDerain checkpoint holding VGG and encoder): extra keys are expected there, while a missing or
 * mis-shaped key of the block must still fail, so the load stays `strict` and ignores the rest
 * rather than turning `strict` off. The block must be built (its parameters exist then).
 */
export function notKeyOf(block: Block, prefix: string): (key: string) => boolean {
  const own = new Set(block.torchParameters().map((p) => prefix + p.name));
  return (key) => !own.has(key);
}
