import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, countParams, exportTorchStateDict, loadTorchStateDict, parseSafetensors, serializeSafetensors, torchParameters } from '@restorekit/core';
import { checkBlock, readShared } from '@restorekit/core/testing';
import { Restormer } from './restormer.js';
import { createModel, fromOfficialConfig, getModelSpec, listModels } from './registry.js';
import { presetModel } from './test-helpers.js';

type Cfg = {
  inChannels: number;
  outChannels: number;
  channels: number;
  numBlocks: readonly number[];
  numRefinementBlocks: number;
  heads: readonly number[];
  normKind: string;
  dualPixelTask: boolean;
};

/** Closed form of the spec (§2.6) for one block, summed over the official module layout (bias = false). */
function closedForm(c: Cfg): number {
  const P = (C: number, n: number) => {
    const h = Math.trunc(C * 2.66);
    return (c.normKind === 'WithBias' ? 4 * C : 2 * C) + n + 4 * C * C + 27 * C + 3 * h * C + 18 * h;
  };
  const d = c.channels,
    nb = c.numBlocks,
    hd = c.heads;
  return (
    c.inChannels * d * 9 +
    nb[0]! * P(d, hd[0]!) +
    d * (d / 2) * 9 +
    nb[1]! * P(2 * d, hd[1]!) +
    2 * d * d * 9 +
    nb[2]! * P(4 * d, hd[2]!) +
    4 * d * 2 * d * 9 +
    nb[3]! * P(8 * d, hd[3]!) +
    8 * d * 16 * d * 9 +
    8 * d * 4 * d +
    nb[2]! * P(4 * d, hd[2]!) +
    4 * d * 8 * d * 9 +
    4 * d * 2 * d +
    nb[1]! * P(2 * d, hd[1]!) +
    2 * d * 4 * d * 9 +
    nb[0]! * P(2 * d, hd[0]!) +
    c.numRefinementBlocks * P(2 * d, hd[0]!) +
    (c.dualPixelTask ? 2 * d * d : 0) +
    2 * d * c.outChannels * 9
  );
}

function buildPreset(preset: string): Restormer {
  const m = presetModel('restormer', preset);
  m.setFastWeightInitDuringBuild(true); // parameter bookkeeping only: skip the random init of 26 M values
  m.build([null, null, null, m.options.inChannels]);
  return m;
}

describe('Restormer presets and official checkpoints (node-cpu)', () => {
  const official: [string, number][] = [
    ['official', 26_126_644],
    ['official-biasfree', 26_111_668],
    ['gray-denoise', 26_109_076],
    ['dual-pixel', 26_132_548],
  ];
  for (const [preset, want] of official)
    it(`preset '${preset}' has exactly ${want.toLocaleString('en')} parameters (official module count)`, () => {
      const m = buildPreset(preset);
      expect(countParams(m)).toBe(want);
      expect(getModelSpec('restormer').presets[preset]!.params).toBe(want);
      expect(closedForm(m.options)).toBe(want);
      m.dispose();
    });

  it("small presets ('small', 'tiny') declare their exact counts (closed form = countParams)", () => {
    for (const preset of ['small', 'tiny']) {
      const m = buildPreset(preset);
      expect(countParams(m)).toBe(closedForm(m.options));
      expect(getModelSpec('restormer').presets[preset]!.params).toBe(countParams(m));
      m.dispose();
    }
  });

  for (const kind of ['withbias', 'biasfree'])
    it(`every key of the official ${kind} state_dict (${kind === 'withbias' ? 494 : 406} tensors) maps to exactly one weight of the right shape`, async () => {
      const json = JSON.parse(new TextDecoder().decode(await readShared(`fixtures/full-configs/restormer_default_${kind}.json`))) as {
        state_dict: { key: string; shape: number[] }[];
        num_state_dict_entries: number;
        total_params: number;
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
      create: () => presetModel('restormer', 'tiny', { inChannels: 6, dualPixelTask: true }),
      inputShapes: [[2, 8, 16, 6]],
      outputShape: [2, 8, 16, 3],
      trainableWeights: 99,
    });
  });

  it('a checkpoint exported as safetensors (PyTorch names, OIHW) reloads into a fresh model with identical outputs', async () => {
    const before = tf.memory().numTensors;
    const a = presetModel('restormer', 'tiny', { normKind: 'BiasFree' });
    const b = presetModel('restormer', 'tiny', { normKind: 'BiasFree' });
    const x = tf.randomUniform([1, 8, 16, 3], 0, 1, 'float32', 3);
    a.build(x.shape);
    b.build(x.shape);
    const bytes = serializeSafetensors(await exportTorchStateDict(a, { prefix: 'net.' }));
    const sd = parseSafetensors(bytes).tensors;
    expect(Object.keys(sd).length).toBe(torchParameters(a).length);
    expect(sd['net.output.weight']!.shape).toEqual([3, 16, 3, 3]);
    await loadTorchStateDict(b, sd); // 'net.' (Lightning-style) prefix detected automatically
    const ya = a.apply(x) as tf.Tensor;
    const yb = b.apply(x) as tf.Tensor;
    expect(Array.from(await yb.data())).toEqual(Array.from(await ya.data()));
    tf.dispose([x, ya, yb]);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is listed in the model registry with its presets', async () => {
    const entry = listModels().find((e) => e.name === 'restormer')!;
    expect(entry.sizeMultiple).toBe(8);
    expect(entry.inputRange).toEqual([0, 1]);
    expect(entry.presets.map((p) => p.name)).toEqual(['official', 'official-biasfree', 'gray-denoise', 'dual-pixel', 'small', 'tiny']);
    expect(getModelSpec('restormer').defaultPreset).toBe('official');
    const m = await createModel('restormer');
    expect(m).toBeInstanceOf(Restormer);
    expect(m.options.channels).toBe(48);
    expect(m.computeOutputShape([1, 27, 35, 3])).toEqual([1, 27, 35, 3]);
  });

  it('rejects invalid configurations with ConfigError, naming the option (official names suggest restorekit ones)', async () => {
    expect(() => new Restormer({ channels: 7 })).toThrow(/option 'channels' must be an even positive integer/);
    expect(() => new Restormer({ heads: [1, 2, 4] as never })).toThrow(ConfigError);
    expect(() => new Restormer({ channels: 8, heads: [3, 1, 1, 1] })).toThrow(ConfigError);
    expect(() => new Restormer({ inChannels: 6 })).toThrow(/outChannels/);
    expect(() => new Restormer({ normKind: 'Other' as never })).toThrow(ConfigError);
    expect(() => new Restormer({ numRefinementBlocks: -1 })).toThrow(ConfigError);
    expect(() => new Restormer({ dim: 48 } as never)).toThrow(/unknown option 'dim' \(did you mean 'channels'\?\)/);
    await expect(createModel('restormer', { preset: 'tiny', ffnMaxHiddenBytes: 64 })).rejects.toThrow(/unknown option 'ffnMaxHiddenBytes'/);
    await expect(createModel('restormer', { preset: 'huge' })).rejects.toThrow(/has no preset 'huge'/);
  });

  it('fromOfficialConfig maps the official constructor arguments, to a preset where they equal one', () => {
    const kwargs = {
      inp_channels: 3,
      out_channels: 3,
      dim: 48,
      num_blocks: [4, 6, 6, 8],
      num_refinement_blocks: 4,
      heads: [1, 2, 4, 8],
      ffn_expansion_factor: 2.66,
      bias: false,
      dual_pixel_task: false,
    };
    expect(fromOfficialConfig('restormer', { ...kwargs, LayerNorm_type: 'BiasFree' })).toEqual({ preset: 'official-biasfree' });
    expect(fromOfficialConfig('restormer', { ...kwargs, LayerNorm_type: 'WithBias' })).toEqual({ preset: 'official' });
    expect(fromOfficialConfig('restormer', { ...kwargs, dim: 32 })).toEqual({
      preset: 'official',
      inChannels: 3,
      outChannels: 3,
      channels: 32,
      numBlocks: [4, 6, 6, 8],
      numRefinementBlocks: 4,
      heads: [1, 2, 4, 8],
      expansion: 2.66,
      bias: false,
      dualPixelTask: false,
    });
    expect(() => fromOfficialConfig('restormer', { ...kwargs, num_heads: 2 })).toThrow(/unknown official argument 'num_heads'/);
  });

  it('leaks no tensors when building and disposing', () => {
    const before = tf.memory().numTensors;
    const m = presetModel('restormer', 'tiny');
    m.build([null, 16, 16, 3]);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
