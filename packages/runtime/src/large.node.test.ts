/** An 8192 × 8192 image: the output is assembled on the host, device memory stays at a few tiles' worth. */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { restore } from './index.js';

describe('large images', () => {
  it('restores an 8192×8192 RGB image with tensor memory bounded by the tile size, not the image size', async () => {
    const W = 8192;
    const H = 8192;
    const data = new Uint8Array(W * H * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >>> 15)) & 255;
    const baseline = tf.memory().numBytes;
    let peak = 0;
    let calls = 0;
    const invert = (x: tf.Tensor4D) => {
      const y = tf.sub(1, x);
      calls++;
      peak = Math.max(peak, tf.memory().numBytes - baseline);
      return y;
    };
    const tileSize = 1024;
    const out = await restore(invert, { data, width: W, height: H, channels: 3 }, { tileSize, overlap: 32 });
    expect([out.width, out.height, out.channels]).toEqual([W, H, 3]);
    expect(calls).toBe(81); // 9 × 9 tiles
    const tileBytes = tileSize * tileSize * 3 * 4;
    expect(peak).toBeLessThanOrEqual(2 * tileBytes); // the tile and the model's output: 25 MB, where the image as float32 is 805 MB
    expect(tf.memory().numBytes).toBe(baseline);
    let wrong = 0;
    for (let i = 0; i < data.length; i++) if (out.data[i] !== 255 - data[i]!) wrong++;
    expect(wrong).toBe(0);
  });
});
