/** Shared by the tests: small models built from @restorekit/core blocks, synthetic images, comparisons. */
import * as tf from '@tensorflow/tfjs-core';
import { Sequential } from '@restorekit/core';
import type { ImageBuffer, PixelData } from './image.js';

/** Three 3×3 convolutions (receptive radius 3) with GELUs: a conv-only model whose output depends on its neighbourhood only. */
export function convNet(channels: 1 | 3 = 3, seed = 1): Sequential {
  const net = new Sequential({
    layers: [
      { type: 'Conv2d', inChannels: channels, outChannels: 8, kernelSize: 3, padding: 1, seed },
      { type: 'GELU' },
      { type: 'Conv2d', inChannels: 8, outChannels: 8, kernelSize: 3, padding: 1, seed: seed + 10 },
      { type: 'GELU' },
      { type: 'Conv2d', inChannels: 8, outChannels: channels, kernelSize: 3, padding: 1, seed: seed + 20 },
    ],
  });
  net.buildFromOptions();
  return net;
}

/** ×2 super-resolution: a 3×3 convolution to 12 channels and PixelShuffle(2) (receptive radius 1). */
export function srNet(seed = 3): Sequential {
  const net = new Sequential({
    layers: [
      { type: 'Conv2d', inChannels: 3, outChannels: 12, kernelSize: 3, padding: 1, seed },
      { type: 'PixelShuffle', factor: 2 },
    ],
  });
  net.buildFromOptions();
  return net;
}

/** A deterministic image with structure at several scales (not a multiple of any tile size used). */
export function testImage<D extends PixelData>(width: number, height: number, channels: 1 | 3 | 4, make: (n: number) => D, max: number): ImageBuffer<D> {
  const data = make(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) {
        const v = 0.5 + 0.25 * Math.sin(x * 0.37 + c) + 0.2 * Math.cos(y * 0.23 - 2 * c) + 0.05 * Math.sin(x * y * 0.01);
        const i = (y * width + x) * channels + c;
        data[i] = max === 1 ? v : Math.round(Math.min(1, Math.max(0, v)) * max);
      }
  return { data, width, height, channels };
}

/** The model on the whole image at once (the reference for tiled results), as float samples HWC. */
export async function untiled(model: (x: tf.Tensor4D) => tf.Tensor, image: ImageBuffer<Float32Array>): Promise<Float32Array> {
  const x = tf.tensor4d(image.data, [1, image.height, image.width, image.channels]);
  const y = model(x);
  const data = (await y.data()) as Float32Array;
  x.dispose();
  y.dispose();
  return data;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN propagates
  }
  return m;
}
