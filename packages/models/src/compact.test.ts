import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  ConfigError,
  ShapeError,
  countParams,
  exportTorchStateDict,
  pixelShuffle,
  pixelUnshuffle,
  serializeSafetensors,
  torchParameters,
} from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { Compact, NAFBlock, compactPresets } from './compact.js';
import { createModel, getModelSpec, listModels } from './registry.js';
import { presetModel } from './test-helpers.js';

/** Sets every weight of a block to seeded random values (β, γ included, so nothing is an identity). */
function randomizeWeights(block: tfl.layers.Layer, seed: number): void {
  tf.tidy(() => {
    block.weights.forEach((w, i) => {
      w.write(tf.randomNormal(w.shape as number[], 0, 0.3, 'float32', seed + i));
    });
  });
}

/** NAFNet's NAFBlock written out with plain tf ops on the block's own weights (NHWC), the reference for the block. */
function nafReference(b: NAFBlock, inp: tf.Tensor4D): tf.Tensor {
  const p = Object.fromEntries(torchParameters(b).map((t) => [t.name, t.variable.read()]));
  const c = b.options.channels;
  return tf.tidy(() => {
    const ln = (x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) => {
      const mu = tf.mean(x, -1, true);
      const v = tf.mean(tf.square(tf.sub(x, mu)), -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mu), tf.sqrt(tf.add(v, 1e-6))), w), bias);
    };
    const conv1x1 = (x: tf.Tensor, k: string) => tf.add(tf.conv2d(x as tf.Tensor4D, p[`${k}.weight`] as tf.Tensor4D, 1, 'valid'), p[`${k}.bias`]!);
    const gate = (x: tf.Tensor) => {
      const [a, d] = tf.split(x, 2, 3);
      return tf.mul(a!, d!);
    };
    let x = ln(inp, p['norm1.weight']!, p['norm1.bias']!);
    x = conv1x1(x, 'conv1');
    // Depth-wise 3×3, zero padding 1: tfjs depthwise kernel [3, 3, C, 1] from the stored [3, 3, 1, C].
    const dwk = tf.reshape(p['conv2.weight']!, [3, 3, 2 * c, 1]) as tf.Tensor4D;
    x = tf.add(
      tf.depthwiseConv2d(
        tf.pad(x as tf.Tensor4D, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]),
        dwk,
        1,
        'valid',
      ),
      p['conv2.bias']!,
    );
    x = gate(x);
    x = tf.mul(x, conv1x1(tf.mean(x, [1, 2], true), 'sca.1'));
    x = conv1x1(x, 'conv3');
    const y = tf.add(inp, tf.mul(x, tf.reshape(p.beta!, [c])));
    let f = conv1x1(ln(y, p['norm2.weight']!, p['norm2.bias']!), 'conv4');
    f = conv1x1(gate(f), 'conv5');
    return tf.add(y, tf.mul(f, tf.reshape(p.gamma!, [c])));
  });
}

describe('NAFBlock', () => {
  it("computes NAFNet's NAFBlock (reference written with plain tf ops, random weights, β, γ ≠ 0)", async () => {
    await expectNoLeaks(async () => {
      const b = new NAFBlock({ channels: 6 });
      b.buildFromOptions();
      randomizeWeights(b, 11);
      const x = tf.randomNormal([2, 5, 7, 6], 0, 1, 'float32', 3) as tf.Tensor4D;
      const y = b.apply(x) as tf.Tensor;
      const r = nafReference(b, x);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(y, r))));
      expect((await diff.data())[0]).toBeLessThan(1e-4);
      // The output is not the input (so the comparison above tested something).
      const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(y, x))));
      expect((await moved.data())[0]).toBeGreaterThan(0.01);
      tf.dispose([x, y, r, diff, moved]);
      b.dispose();
    }, 'NAFBlock reference');
  });

  it('starts as the identity (β = γ = 0, as NAFNet initialises them)', async () => {
    const b = new NAFBlock({ channels: 4 });
    const x = tf.randomNormal([1, 4, 6, 4], 0, 1, 'float32', 5);
    const y = b.apply(x) as tf.Tensor;
    expect(Array.from(await y.data())).toEqual(Array.from(await x.data()));
    tf.dispose([x, y]);
    b.dispose();
  });

  it("has NAFNet's PyTorch keys and shapes, and 7C² + 33C parameters (dwExpansion = expansion = 2)", () => {
    const b = new NAFBlock({ channels: 24 });
    const ps = torchParameters(b);
    expect(ps.map((p) => p.name).sort()).toEqual(
      ['beta', 'gamma', ...['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'norm1', 'norm2', 'sca.1'].flatMap((k) => [`${k}.weight`, `${k}.bias`])].sort(),
    );
    const shape = (n: string) => ps.find((p) => p.name === n)!.torchShape;
    expect(shape('beta')).toEqual([1, 24, 1, 1]);
    expect(shape('conv1.weight')).toEqual([48, 24, 1, 1]);
    expect(shape('conv2.weight')).toEqual([48, 1, 3, 3]);
    expect(shape('conv3.weight')).toEqual([24, 24, 1, 1]);
    expect(shape('sca.1.weight')).toEqual([24, 24, 1, 1]);
    expect(countParams(b)).toBe(7 * 24 * 24 + 33 * 24);
    b.dispose();
  });

  it('rejects widths that SimpleGate cannot halve (ConfigError)', () => {
    expect(() => new NAFBlock({ channels: 3, dwExpansion: 1 })).toThrow(ConfigError);
  });
});

describe('Compact (model family compact)', () => {
  it('is registered with its presets; the parameter counts are exact and the default stays under 1 M', () => {
    const spec = getModelSpec('compact');
    expect(spec.defaultPreset).toBe('default');
    expect(Object.keys(spec.presets).sort()).toEqual(['default', 'tiny']);
    for (const [name, p] of Object.entries(compactPresets)) {
      const m = presetModel('compact', name);
      expect(countParams(m), name).toBe(p.params);
      m.dispose();
    }
    expect(compactPresets.default!.params).toBeLessThanOrEqual(1_000_000);
    // default: 8 NAF blocks (widths 24, 48, 96 twice each and 192 twice), 3 downs, 3 ups, intro and ending.
    const naf = (c: number) => 7 * c * c + 33 * c;
    const byHand =
      2 * (naf(24) + naf(48) + naf(96) + naf(192)) +
      [24, 48, 96].reduce((n, c) => n + (4 * c * 2 * c + 2 * c) + 2 * c * 4 * c, 0) +
      (12 * 24 * 9 + 24) +
      (24 * 12 * 9 + 12);
    expect(compactPresets.default!.params).toBe(byHand);
    const l = listModels().find((m) => m.name === 'compact')!;
    expect(l.sizeMultiple).toBe(16);
    expect(presetModel('compact', 'default').sizeMultiple).toBe(spec.sizeMultiple);
  });

  it('names its weights as NAFNet does (intro, encoders.l.k, downs.l, middle_blks.k, ups.i.0, decoders.i.k, ending)', () => {
    const m = presetModel('compact', 'tiny');
    const ps = torchParameters(m);
    const names = ps.map((p) => p.name);
    for (const k of [
      'intro.weight',
      'encoders.0.0.conv1.weight',
      'encoders.1.0.sca.1.bias',
      'downs.0.weight',
      'downs.1.bias',
      'middle_blks.0.gamma',
      'ups.0.0.weight',
      'ups.1.0.weight',
      'decoders.0.0.norm1.weight',
      'decoders.1.0.conv5.bias',
      'ending.bias',
    ])
      expect(names, k).toContain(k);
    expect(names).not.toContain('ups.0.0.bias');
    const shape = (n: string) => ps.find((p) => p.name === n)!.torchShape;
    // PixelUnshuffle 2: the intro sees 4·3 channels; ups.0 (deepest) maps 32 → 64 channels before PixelShuffle(2).
    expect(shape('intro.weight')).toEqual([8, 12, 3, 3]);
    expect(shape('ending.weight')).toEqual([12, 8, 3, 3]);
    expect(shape('downs.1.weight')).toEqual([32, 16, 2, 2]);
    expect(shape('ups.0.0.weight')).toEqual([64, 32, 1, 1]);
    expect(shape('ups.1.0.weight')).toEqual([32, 16, 1, 1]);
    m.dispose();
  });

  it('with a zero ending conv, returns its input exactly (global residual through PixelUnshuffle/PixelShuffle)', async () => {
    await expectNoLeaks(async () => {
      const m = presetModel('compact', 'tiny') as Compact;
      m.buildFromOptions();
      randomizeWeights(m, 3);
      tf.tidy(() => {
        for (const p of torchParameters(m)) if (p.name.startsWith('ending.')) p.variable.write(tf.zerosLike(p.variable.read()));
      });
      const x = tf.randomUniform([2, 16, 24, 3], 0, 1, 'float32', 9);
      const y = m.apply(x) as tf.Tensor;
      expect(Array.from(await y.data())).toEqual(Array.from(await x.data()));
      tf.dispose([x, y]);
      m.dispose();
    }, 'residual');
  });

  it('runs the network on the PixelUnshuffle sub-images and puts its output back with PixelShuffle', async () => {
    await expectNoLeaks(async () => {
      // unshuffle 2 on a 3-channel image = unshuffle 1 on the 12-channel sub-image stack, same weights.
      const a = new Compact({ ...compactPresets.tiny!.config, unshuffle: 2 });
      const b = new Compact({ ...compactPresets.tiny!.config, inChannels: 12, unshuffle: 1 });
      a.buildFromOptions();
      b.buildFromOptions();
      randomizeWeights(a, 21);
      b.setWeights(a.getWeights());
      const x = tf.randomUniform([1, 16, 32, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
      const ya = a.apply(x) as tf.Tensor;
      const yb = tf.tidy(() => pixelShuffle(b.apply(pixelUnshuffle(x, 2)) as tf.Tensor4D, 2));
      const d = tf.tidy(() => tf.max(tf.abs(tf.sub(ya, yb))));
      expect((await d.data())[0]).toBeLessThan(1e-5);
      tf.dispose([x, ya, yb, d]);
      a.dispose();
      b.dispose();
    }, 'unshuffle');
  });

  it('pads (reflect, bottom/right) to a multiple of sizeMultiple and crops back; zeros where the image is too small to reflect', async () => {
    await expectNoLeaks(async () => {
      const m = presetModel('compact', 'tiny') as Compact;
      m.buildFromOptions();
      randomizeWeights(m, 5);
      expect(m.sizeMultiple).toBe(8);
      const x = tf.randomUniform([2, 6, 13, 3], 0, 1, 'float32', 7);
      const y = m.apply(x) as tf.Tensor;
      expect(y.shape).toEqual([2, 6, 13, 3]);
      const padded = tf.mirrorPad(
        x as tf.Tensor4D,
        [
          [0, 0],
          [0, 2],
          [0, 3],
          [0, 0],
        ],
        'reflect',
      );
      const yp = m.apply(padded) as tf.Tensor;
      const crop = tf.slice(yp, [0, 0, 0, 0], [2, 6, 13, 3]);
      const d = tf.tidy(() => tf.max(tf.abs(tf.sub(crop, y))));
      expect((await d.data())[0]).toBeLessThan(1e-5);
      // 3×5 cannot be reflect-padded by 5 and 3: zero padding instead, still cropped back.
      const small = tf.randomUniform([1, 3, 5, 3], 0, 1, 'float32', 8);
      const ys = m.apply(small) as tf.Tensor;
      expect(ys.shape).toEqual([1, 3, 5, 3]);
      tf.dispose([x, y, padded, yp, crop, d, small, ys]);
      m.dispose();
    }, 'padding');
  });

  it('createModel builds presets with overrides and loads its own exported weights strictly, to the same output', async () => {
    await expectNoLeaks(async () => {
      const a = await createModel('compact', { preset: 'tiny' });
      expect(a).toBeInstanceOf(Compact);
      a.buildFromOptions();
      randomizeWeights(a, 8);
      const bytes = serializeSafetensors(await exportTorchStateDict(a), { format: 'pt' });
      const b = await createModel('compact', { preset: 'tiny', weights: bytes });
      const x = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 2);
      const [ya, yb] = [a.apply(x) as tf.Tensor, b.apply(x) as tf.Tensor];
      expect(Array.from(await yb.data())).toEqual(Array.from(await ya.data()));
      tf.dispose([x, ya, yb]);
      a.dispose();
      b.dispose();
      // Another configuration's weights are refused.
      await expect(createModel('compact', { preset: 'tiny', channels: 16, weights: bytes })).rejects.toThrow(/shape mismatches/);
      const w = await createModel('compact', { preset: 'tiny', unshuffle: 1, name: 'plain' });
      expect(w.options.unshuffle).toBe(1);
      expect(w.name).toBe('plain');
      w.dispose();
    }, 'createModel');
  });

  it('rejects bad options and inputs with typed errors', () => {
    expect(() => new Compact({ numBlocks: [1, 1], decoderBlocks: [1] })).toThrow(/decoderBlocks has 1 levels, numBlocks 2/);
    expect(() => new Compact({ numBlocks: [] })).toThrow(ConfigError);
    expect(() => new Compact({ unshuffle: 5 })).toThrow(ConfigError);
    expect(() => new Compact({ width: 8 } as never)).toThrow(ConfigError);
    const m = presetModel('compact', 'tiny');
    const x = tf.zeros([1, 16, 16, 1]);
    expect(() => m.apply(x)).toThrow(ShapeError);
    x.dispose();
    m.dispose();
  });
});
