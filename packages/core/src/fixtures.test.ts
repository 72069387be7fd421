import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Conv2d, LayerNorm2d, Sequential } from '../src/index.js';
import { loadFixture, fixtureTensor, loadFixtureWeights, compareWithFixture } from '../src/testing/index.js';

// The primitives of the official Restormer, checked against the golden tensors of the official code.
const cases: { file: string; make: () => tfl.layers.Layer; prefix: string; inC: number }[] = [
  { file: 'restormer/layernorm_withbias.safetensors', make: () => new LayerNorm2d({ channels: 16, normKind: 'WithBias' }), prefix: 'body.', inC: 16 },
  { file: 'restormer/layernorm_biasfree.safetensors', make: () => new LayerNorm2d({ channels: 16, normKind: 'BiasFree' }), prefix: 'body.', inC: 16 },
  {
    file: 'restormer/downsample.safetensors',
    make: () =>
      new Sequential({
        layers: [
          { type: 'Conv2d', inChannels: 16, outChannels: 8, kernelSize: 3, padding: 1, bias: false },
          { type: 'PixelUnshuffle', factor: 2 },
        ],
      }),
    prefix: 'body.',
    inC: 16,
  },
  {
    file: 'restormer/upsample.safetensors',
    make: () =>
      new Sequential({
        layers: [
          { type: 'Conv2d', inChannels: 16, outChannels: 32, kernelSize: 3, padding: 1, bias: false },
          { type: 'PixelShuffle', factor: 2 },
        ],
      }),
    prefix: 'body.',
    inC: 16,
  },
  {
    file: 'restormer/overlappatchembed.safetensors',
    make: () => new Conv2d({ inChannels: 3, outChannels: 16, kernelSize: 3, padding: 1, bias: false }),
    prefix: 'proj.',
    inC: 3,
  },
];

describe('official Restormer primitives reproduce the golden fixtures', () => {
  for (const c of cases)
    it(c.file, async () => {
      const before = tf.memory().numTensors;
      const fx = await loadFixture(c.file);
      const layer = c.make();
      const x = fixtureTensor(fx, '__input__');
      layer.build(x.shape);
      const report = await loadFixtureWeights(layer as never, fx, { prefix: c.prefix });
      expect(report.missing).toEqual([]);
      const y = layer.apply(x) as tf.Tensor;
      const cmp = await compareWithFixture(y, fx);
      expect(cmp.ok, `${c.file}: max |diff| ${cmp.maxAbsDiff} (atol ${cmp.atol}, rtol ${cmp.rtol})`).toBe(true);
      tf.dispose([x, y]);
      layer.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
});
