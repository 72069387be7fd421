import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d, Conv2d, ConvTranspose2d, PixelShuffle, PixelUnshuffle } from '../index.js';
import { blocks } from '../registries.js';
import { checkRegisteredBlocks, type BlockCheckSpec } from '../testing/index.js';

// Registry-driven: every block core registers has harness specs (batch 2, non-square), created through the
// registry, run on the backend of this project; a registered block with no spec fails the first test.
const B = 2,
  H = 6,
  W = 10;
const c =
  (type: string, options: Record<string, unknown> = {}) =>
  () =>
    blocks.create({ type, ...options });
const SPECS: Record<string, BlockCheckSpec[]> = {
  Conv2d: [
    {
      create: c('Conv2d', { inChannels: 4, outChannels: 6, kernelSize: 3, padding: 1 }),
      inputShapes: [[B, H, W, 4]],
      outputShape: [B, H, W, 6],
      trainableWeights: 2,
    },
    // stride 2, pad 1, no bias (PyTorch output size)
    {
      create: c('Conv2d', { inChannels: 3, outChannels: 5, kernelSize: 3, stride: 2, padding: 1, bias: false }),
      inputShapes: [[B, 7, W, 3]],
      outputShape: [B, 4, 5, 5],
      trainableWeights: 1,
    },
    // depthwise with multiplier 2; depthwise 7×7 stride 2; grouped
    {
      create: c('Conv2d', { inChannels: 4, outChannels: 8, kernelSize: 3, padding: 1, groups: 4 }),
      inputShapes: [[B, H, W, 4]],
      outputShape: [B, H, W, 8],
      trainableWeights: 2,
    },
    {
      create: c('Conv2d', { inChannels: 3, outChannels: 3, kernelSize: 7, stride: 2, padding: 3, groups: 3 }),
      inputShapes: [[B, 9, W, 3]],
      outputShape: [B, 5, 5, 3],
      trainableWeights: 2,
    },
    {
      create: c('Conv2d', { inChannels: 4, outChannels: 6, kernelSize: 3, padding: 1, groups: 2 }),
      inputShapes: [[B, H, W, 4]],
      outputShape: [B, H, W, 6],
      trainableWeights: 2,
    },
  ],
  ConvTranspose2d: [
    {
      create: c('ConvTranspose2d', { inChannels: 4, outChannels: 3, kernelSize: 2, stride: 2 }),
      inputShapes: [[B, 3, 5, 4]],
      outputShape: [B, 6, 10, 3],
      trainableWeights: 2,
    },
    {
      create: c('ConvTranspose2d', { inChannels: 2, outChannels: 3, kernelSize: 4, stride: 2, padding: 1 }),
      inputShapes: [[B, 3, 5, 2]],
      outputShape: [B, 6, 10, 3],
      trainableWeights: 2,
    },
  ],
  LayerNorm2d: [
    { create: c('LayerNorm2d', { channels: 5 }), inputShapes: [[B, H, W, 5]], outputShape: [B, H, W, 5], trainableWeights: 2 },
    { create: c('LayerNorm2d', { channels: 5, normKind: 'BiasFree' }), inputShapes: [[B, H, W, 5]], outputShape: [B, H, W, 5], trainableWeights: 1 },
  ],
  BatchNorm2d: [{ create: c('BatchNorm2d', { channels: 4 }), inputShapes: [[B, H, W, 4]], outputShape: [B, H, W, 4], trainableWeights: 2 }],
  InstanceNorm2d: [{ create: c('InstanceNorm2d', { channels: 4, affine: true }), inputShapes: [[B, H, W, 4]], outputShape: [B, H, W, 4], trainableWeights: 2 }],
  PixelShuffle: [{ create: c('PixelShuffle', { factor: 2 }), inputShapes: [[B, 3, 5, 8]], outputShape: [B, 6, 10, 2], trainableWeights: 0 }],
  PixelUnshuffle: [{ create: c('PixelUnshuffle', { factor: 2 }), inputShapes: [[B, H, W, 3]], outputShape: [B, 3, 5, 12], trainableWeights: 0 }],
  GELU: [{ create: c('GELU'), inputShapes: [[B, H, W, 3]], outputShape: [B, H, W, 3], trainableWeights: 0 }],
  SimpleGate: [{ create: c('SimpleGate'), inputShapes: [[B, H, W, 6]], outputShape: [B, H, W, 3], trainableWeights: 0 }],
  SimAM: [{ create: c('SimAM'), inputShapes: [[B, H, W, 3]], outputShape: [B, H, W, 3], trainableWeights: 0 }],
  SimplifiedChannelAttention: [
    { create: c('SimplifiedChannelAttention', { channels: 4 }), inputShapes: [[B, H, W, 4]], outputShape: [B, H, W, 4], trainableWeights: 2 },
  ],
  Sequential: [
    {
      // conv → BN → GELU → conv → unshuffle, composed from JSON
      create: c('Sequential', {
        layers: [
          { type: 'Conv2d', inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1 },
          { type: 'BatchNorm2d', channels: 4 },
          { type: 'GELU' },
          { type: 'Conv2d', inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1, groups: 4 },
          { type: 'PixelUnshuffle', factor: 2 },
        ],
      }),
      inputShapes: [[B, H, W, 3]],
      outputShape: [B, 3, 5, 16],
      trainableWeights: 6,
    },
  ],
};

describe('every registered core block passes the block harness', () => {
  it('every registered block has a harness spec (and no spec names an unregistered type)', async () => {
    await expect(checkRegisteredBlocks(blocks.list(), { ...SPECS, Extra: [] })).rejects.toThrow(
      /harness specs for types this package does not register: Extra/,
    );
    const { Sequential: _omitted, ...withoutOne } = SPECS;
    await expect(checkRegisteredBlocks(blocks.list(), withoutOne)).rejects.toThrow(/registered blocks with no harness spec: Sequential/);
    expect(Object.keys(SPECS).sort()).toEqual(blocks.list());
  });
  for (const [type, specs] of Object.entries(SPECS)) it(type, () => checkRegisteredBlocks([type], { [type]: specs }));
});

describe('PyTorch semantics', () => {
  it('PixelUnshuffle puts input channel c at offset (i, j) into channel c·4 + 2i + j, and PixelShuffle inverts it', async () => {
    const x = tf.tensor4d(
      Array.from({ length: 4 * 4 * 3 }, (_, i) => i),
      [1, 4, 4, 3],
    );
    const u = tf.tidy(() => new PixelUnshuffle({ factor: 2 }).apply(x) as tf.Tensor);
    const ud = (await u.array()) as number[][][][];
    const xd = (await x.array()) as number[][][][];
    for (let h = 0; h < 2; h++)
      for (let w = 0; w < 2; w++)
        for (let c = 0; c < 3; c++)
          for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expect(ud[0]![h]![w]![c * 4 + 2 * i + j]).toBe(xd[0]![2 * h + i]![2 * w + j]![c]);
    const back = new PixelShuffle({ factor: 2 }).apply(u) as tf.Tensor;
    expect(await back.array()).toEqual(xd);
    tf.dispose([x, u, back]);
  });

  it('BatchNorm2d training normalises with batch statistics and updates running stats with the unbiased variance', async () => {
    const bn = new BatchNorm2d({ channels: 2, momentum: 0.1 });
    const vals = [1, 10, 2, 20, 4, 40, 8, 80];
    const x = tf.tensor4d(vals, [2, 2, 1, 2]);
    const y = bn.apply(x, { training: true }) as tf.Tensor;
    const c0 = [1, 2, 4, 8];
    const mean = c0.reduce((a, b) => a + b) / 4;
    const varB = c0.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
    const varU = (varB * 4) / 3;
    expect((await y.data())[0]).toBeCloseTo((1 - mean) / Math.sqrt(varB + 1e-5), 5);
    expect((await bn.runningMean.read().data())[0]).toBeCloseTo(0.1 * mean, 6);
    expect((await bn.runningVar.read().data())[0]).toBeCloseTo(0.9 + 0.1 * varU, 5);
    expect((await bn.numBatchesTracked.read().data())[0]).toBe(1);
    const e = bn.apply(x) as tf.Tensor; // eval: running statistics
    expect((await e.data())[0]).toBeCloseTo((1 - 0.1 * mean) / Math.sqrt(0.9 + 0.1 * varU + 1e-5), 4);
    tf.dispose([x, y, e]);
    bn.dispose();
  });

  it('Conv2d stride 2 with padding 1 equals a direct PyTorch-style loop (odd and even sizes)', async () => {
    for (const [h, w] of [
      [7, 6],
      [8, 9],
    ] as const) {
      const conv = new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, padding: 1, seed: 3 });
      const x = tf.randomNormal([1, h, w, 2], 0, 1, 'float32', 9);
      const y = conv.apply(x) as tf.Tensor;
      const X = (await x.array()) as number[][][][];
      const K = (await conv.kernel.read().array()) as number[][][][];
      const Bv = (await conv.biasVar!.read().data()) as Float32Array;
      const oh = Math.floor((h + 2 - 3) / 2) + 1,
        ow = Math.floor((w + 2 - 3) / 2) + 1;
      expect(y.shape).toEqual([1, oh, ow, 3]);
      const Y = (await y.array()) as number[][][][];
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++)
          for (let o = 0; o < 3; o++) {
            let s = Bv[o]!;
            for (let a = 0; a < 3; a++)
              for (let b = 0; b < 3; b++) {
                const r = 2 * i + a - 1,
                  c = 2 * j + b - 1;
                if (r < 0 || c < 0 || r >= h || c >= w) continue;
                for (let ci = 0; ci < 2; ci++) s += X[0]![r]![c]![ci]! * K[a]![b]![ci]![o]!;
              }
            expect(Y[0]![i]![j]![o]).toBeCloseTo(s, 4);
          }
      tf.dispose([x, y]);
      conv.dispose();
    }
  });

  it('ConvTranspose2d equals the scatter definition of PyTorch conv_transpose2d', async () => {
    const ct = new ConvTranspose2d({ inChannels: 2, outChannels: 3, kernelSize: 4, stride: 2, padding: 1, seed: 5 });
    const x = tf.randomNormal([1, 3, 4, 2], 0, 1, 'float32', 11);
    const y = ct.apply(x) as tf.Tensor;
    const X = (await x.array()) as number[][][][];
    const K = (await ct.kernel.read().array()) as number[][][][]; // [k, k, out, in]
    const Bv = await ct.biasVar!.read().data();
    const OH = (3 - 1) * 2 + 4 - 2,
      OW = (4 - 1) * 2 + 4 - 2;
    const want = Array.from({ length: OH }, () => Array.from({ length: OW }, () => Array.from(Bv)));
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 4; j++)
        for (let a = 0; a < 4; a++)
          for (let b = 0; b < 4; b++) {
            const r = i * 2 + a - 1,
              c = j * 2 + b - 1;
            if (r < 0 || c < 0 || r >= OH || c >= OW) continue;
            for (let o = 0; o < 3; o++) for (let ci = 0; ci < 2; ci++) want[r]![c]![o]! += X[0]![i]![j]![ci]! * K[a]![b]![o]![ci]!;
          }
    const Y = (await y.array()) as number[][][][];
    expect(y.shape).toEqual([1, OH, OW, 3]);
    for (let r = 0; r < OH; r++) for (let c = 0; c < OW; c++) for (let o = 0; o < 3; o++) expect(Y[0]![r]![c]![o]).toBeCloseTo(want[r]![c]![o]!, 4);
    tf.dispose([x, y]);
    ct.dispose();
  });
});
