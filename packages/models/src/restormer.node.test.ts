import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, countParams, exportTorchStateDict, loadTorchStateDict, parseSafetensors, serializeSafetensors, torchParameters } from '@restorekit/core';
import { checkBlock, readShared } from '@restorekit/core/testing';
import { Restormer } from './restormer.js';
import { createModel, getModelSpec, listModels } from './registry.js';

type Cfg = { inChannels: number; outChannels: number; dim: number; numBlocks: number[]; numRefinementBlocks: number; heads: number[]; layerNormType: string; dualPixelTask: boolean };

/** Closed form of the spec (§2.6) for one block, summed over the official module layout (bias = false). */
function closedForm(c: Cfg): number {
  const P = (C: number, n: number) => {
    const h = Math.trunc(C * 2.66);
    return (c.layerNormType === 'WithBias' ? 4 * C : 2 * C) + n + 4 * C * C + 27 * C + 3 * h * C + 18 * h;
  };
  const d = c.dim, nb = c.numBlocks, hd = c.heads;
  return c.inChannels * d * 9 + nb[0]! * P(d, hd[0]!) + d * (d / 2) * 9 + nb[1]! * P(2 * d, hd[1]!) + 2 * d * d * 9 + nb[2]! * P(4 * d, hd[2]!) + 4 * d * 2 * d * 9
    + nb[3]! * P(8 * d, hd[3]!) + 8 * d * 16 * d * 9 + 8 * d * 4 * d + nb[2]! * P(4 * d, hd[2]!) + 4 * d * 8 * d * 9 + 4 * d * 2 * d + nb[1]! * P(2 * d, hd[1]!)
    + 2 * d * 4 * d * 9 + nb[0]! * P(2 * d, hd[0]!) + c.numRefinementBlocks * P(2 * d, hd[0]!) + (c.dualPixelTask ? 2 * d * d : 0) + 2 * d * c.outChannels * 9;
}

function buildPreset(preset: string): Restormer {
  const m = createModel('restormer', { preset }) as Restormer;
  m.setFastWeightInitDuringBuild(true); // parameter bookkeeping only: skip the random init of 26 M values
  m.build([null, null, null, m.cfg.inChannels]);
  return m;
}

describe('Restormer presets and official checkpoints (node-cpu)', () => {
  const official: [string, number][] = [['official', 26_126_644], ['official-biasfree', 26_111_668], ['gray-denoise', 26_109_076], ['dual-pixel', 26_132_548]];
  for (const [preset, want] of official)
    it(`preset '${preset}' has exactly ${want.toLocaleString('en')} parameters (official module count)`, () => {
      const m = buildPreset(preset);
      expect(countParams(m)).toBe(want);
      expect(getModelSpec('restormer').presets[preset]!.params).toBe(want);
      expect(closedForm(m.cfg as unknown as Cfg)).toBe(want);
      m.dispose();
    });

  it("small presets ('small', 'tiny') declare their exact counts (closed form = countParams)", () => {
    for (const preset of ['small', 'tiny']) {
      const m = buildPreset(preset);
      expect(countParams(m)).toBe(closedForm(m.cfg as unknown as Cfg));
      expect(getModelSpec('restormer').presets[preset]!.params).toBe(countParams(m));
      m.dispose();
    }
  });

  for (const kind of ['withbias', 'biasfree'])
    it(`every key of the official ${kind} state_dict (${kind === 'withbias' ? 494 : 406} tensors) maps to exactly one weight of the right shape`, async () => {
      const json = JSON.parse(new TextDecoder().decode(await readShared(`fixtures/full-configs/restormer_default_${kind}.json`))) as {
        state_dict: { key: string; shape: number[] }[]; num_state_dict_entries: number; total_params: number;
      };
      const m = buildPreset(kind === 'withbias' ? 'official' : 'official-biasfree');
      const ours = torchParameters(m).map((p) => ({ key: p.name, shape: p.torchShape }));
      expect(ours.length).toBe(json.num_state_dict_entries);
      expect(new Set(ours.map((p) => p.key)).size).toBe(ours.length);
      // Same keys, same shapes, same order as the official state_dict.
      expect(ours).toEqual(json.state_dict.map((e) => ({ key: e.key, shape: e.shape })));
      expect(countParams(m)).toBe(json.total_params);
      m.dispose();
    });

  it('dual-pixel variant: 6 input channels, skip_conv [2·dim, dim, 1, 1], passes the block harness (tiny width)', async () => {
    const m = buildPreset('dual-pixel');
    const keys = torchParameters(m).map((p) => [p.name, p.torchShape]);
    expect(keys).toContainEqual(['skip_conv.weight', [96, 48, 1, 1]]);
    expect(keys).toContainEqual(['patch_embed.proj.weight', [48, 6, 3, 3]]);
    m.dispose();
    await checkBlock({
      create: () => createModel('restormer', { preset: 'tiny', inChannels: 6, dualPixelTask: true }),
      inputShapes: [[2, 8, 16, 6]],
      outputShape: [2, 8, 16, 3],
      trainableWeights: 99,
    });
  });

  it('a checkpoint exported as safetensors (PyTorch names, OIHW) reloads into a fresh model with identical outputs', async () => {
    const before = tf.memory().numTensors;
    const a = createModel('restormer', { preset: 'tiny', layerNormType: 'BiasFree' }) as Restormer;
    const b = createModel('restormer', { preset: 'tiny', layerNormType: 'BiasFree' }) as Restormer;
    const x = tf.randomUniform([1, 8, 16, 3], 0, 1, 'float32', 3);
    a.build(x.shape);
    b.build(x.shape);
    const bytes = serializeSafetensors(await exportTorchStateDict(a, { prefix: 'net.' }));
    const sd = parseSafetensors(bytes).tensors;
    expect(Object.keys(sd).length).toBe(torchParameters(a).length);
    expect(sd['net.output.weight']!.shape).toEqual([3, 16, 3, 3]);
    loadTorchStateDict(b, sd); // 'net.' (Lightning-style) prefix detected automatically
    const ya = a.apply(x) as tf.Tensor;
    const yb = b.apply(x) as tf.Tensor;
    expect(Array.from(await yb.data())).toEqual(Array.from(await ya.data()));
    tf.dispose([x, ya, yb]);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is listed in the model registry with its presets', () => {
    const entry = listModels().find((e) => e.name === 'restormer')!;
    expect(entry.sizeMultiple).toBe(8);
    expect(entry.inputRange).toEqual([0, 1]);
    expect(entry.presets.map((p) => p.name)).toEqual(['official', 'official-biasfree', 'gray-denoise', 'dual-pixel', 'small', 'tiny']);
    expect(getModelSpec('restormer').defaultPreset).toBe('official');
    const m = createModel('restormer') as Restormer;
    expect(m).toBeInstanceOf(Restormer);
    expect(m.cfg.dim).toBe(48);
    expect(m.computeOutputShape([1, 27, 35, 3])).toEqual([1, 27, 35, 3]);
  });

  it('rejects invalid configurations with ConfigError', () => {
    expect(() => new Restormer({ dim: 7 })).toThrow(ConfigError);
    for (const bad of [-1, Number.NaN, '64'])
      expect(() => createModel('restormer', { preset: 'tiny', ffnMaxHiddenBytes: bad }), String(bad)).toThrow(/Restormer: option 'ffnMaxHiddenBytes' must be a number ≥ 0/);
    expect(() => new Restormer({ heads: [1, 2, 4] as never })).toThrow(ConfigError);
    expect(() => new Restormer({ dim: 8, heads: [3, 1, 1, 1] })).toThrow(ConfigError);
    expect(() => new Restormer({ inChannels: 6 })).toThrow(/outChannels/);
    expect(() => new Restormer({ layerNormType: 'Other' as never })).toThrow(ConfigError);
    expect(() => new Restormer({ numRefinementBlocks: -1 })).toThrow(ConfigError);
  });

  it('leaks no tensors when building and disposing', () => {
    const before = tf.memory().numTensors;
    const m = createModel('restormer', { preset: 'tiny' });
    m.build([null, 16, 16, 3]);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
