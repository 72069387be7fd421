import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, countParams, loadTorchStateDict, parseSafetensors, serializeSafetensors } from '@restorekit/core';
import { compareWithFixture, fixtureTensor, loadFixture, readShared } from '@restorekit/core/testing';
import { AnyIR, anyirPresets } from './anyir.js';
import { createModel, getModelSpec, listModels } from './registry.js';
import { presetModel } from './test-helpers.js';

interface FullConfig {
  config: Record<string, unknown>;
  total_params: number;
  total_buffer_elements: number;
  num_state_dict_entries: number;
  state_dict: { key: string; shape: number[]; numel: number; kind: 'param' | 'buffer' }[];
}
const fullConfig = async (name: string): Promise<FullConfig> =>
  JSON.parse(new TextDecoder().decode(await readShared(`fixtures/full-configs/${name}`))) as FullConfig;

describe('AnyIR presets match the official state_dicts', () => {
  for (const [preset, file, params, buffers] of [
    ['official', 'anyir_official_dim28.json', 5_736_376, 3_761],
    ['dim32', 'anyir_dim32_variant.json', 8_513_436, 5_036],
  ] as const)
    it(`'${preset}': ${params.toLocaleString('en')} parameters, and every key of ${file} maps to exactly one weight of the right shape`, async () => {
      const fc = await fullConfig(file);
      const model = presetModel('anyir', preset);
      model.build([1, 64, 64, 3]);
      expect(countParams(model)).toBe(params);
      expect(anyirPresets[preset]!.params).toBe(params);
      expect(fc.total_params).toBe(params);
      const mine = model.torchParameters();
      // Constructor arguments of the official config = the preset.
      const c = fc.config;
      expect(model.options).toMatchObject({
        channels: c.dim,
        numBlocks: c.num_blocks,
        numRefinementBlocks: c.num_refinement_blocks,
        heads: c.heads,
        expansion: c.ffn_expansion_factor,
        bias: c.bias,
        normKind: c.LayerNorm_type,
      });
      const byName = new Map(mine.map((p) => [p.name, p]));
      expect(byName.size).toBe(mine.length); // unique names
      expect(mine.length).toBe(fc.num_state_dict_entries);
      const seen = new Set<string>();
      for (const e of fc.state_dict) {
        const p = byName.get(e.key);
        expect(p, `no weight for ${e.key}`).toBeDefined();
        expect(p!.torchShape, e.key).toEqual(e.shape);
        expect(p!.buffer, e.key).toBe(e.kind === 'buffer');
        expect(seen.has(e.key)).toBe(false);
        seen.add(e.key);
      }
      expect(mine.filter((p) => !seen.has(p.name)).map((p) => p.name)).toEqual([]); // none left over
      const bufferElems = mine.filter((p) => p.buffer).reduce((n, p) => n + p.torchShape.reduce((a, b) => a * b, 1), 0);
      expect(bufferElems).toBe(buffers);
      expect(fc.total_buffer_elements).toBe(buffers);
      // Same order as the official state_dict.
      expect(mine.map((p) => p.name)).toEqual(fc.state_dict.map((e) => e.key));
      model.dispose();
    });

  it("the small and tiny test presets have the parameter counts they declare, equal to the fixtures' state_dicts", async () => {
    for (const [preset, file] of [
      ['small', 'anyir_full_eval'],
      ['tiny', 'anyir_full_train'],
    ] as const) {
      const fx = await loadFixture(`anyir/${file}.safetensors`);
      const model = presetModel('anyir', preset);
      model.build([1, 32, 32, 3]);
      // The official module's parameters = the fixture's tensors minus inputs/outputs and BatchNorm buffers.
      const official = Object.entries(fx.tensors)
        .filter(([k]) => !k.startsWith('__') && !/running_(mean|var)|num_batches_tracked/.test(k))
        .reduce((n, [, t]) => n + t.data.length, 0);
      expect(countParams(model)).toBe(official);
      expect(anyirPresets[preset]!.params).toBe(official);
      model.dispose();
    }
  });

  it("loads a Lightning checkpoint's state_dict with 'net.' prefixes as it is (prefix detected) and reproduces the official output", async () => {
    const fx = await loadFixture('anyir/anyir_full_eval.safetensors');
    // What `save_file(torch.load(ckpt)['state_dict'])` gives: every key under 'net.', num_batches_tracked included.
    const netKeys: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, v] of Object.entries(fx.tensors)) if (!k.startsWith('__')) netKeys[`net.${k}`] = v;
    const file = parseSafetensors(serializeSafetensors(netKeys));
    const x = fixtureTensor(fx, '__input__');
    for (const ckpt of [file.tensors, { state_dict: file.tensors }] as Record<string, unknown>[]) {
      const model = presetModel('anyir', 'small', { frequencyBranch: 'identity' }); // same output, faster
      model.build(x.shape);
      const report = await loadTorchStateDict(model, ckpt);
      expect(report.loaded.length).toBe(Object.keys(netKeys).length);
      expect(report.loaded.every((k) => k.startsWith('net.'))).toBe(true);
      expect(report.missing).toEqual([]);
      const y = model.apply(x) as tf.Tensor;
      const cmp = await compareWithFixture(y, fx);
      expect(cmp.ok, `max |diff| ${cmp.maxAbsDiff}`).toBe(true);
      y.dispose();
      model.dispose();
    }
    x.dispose();
  });

  it('is registered with its presets, paper and size multiple', async () => {
    const spec = getModelSpec('anyir');
    expect(spec.sizeMultiple).toBe(8);
    expect(spec.defaultPreset).toBe('official');
    expect(spec.citation).toContain('2504.14249');
    const listing = listModels().find((m) => m.name === 'anyir')!;
    expect(listing.presets.map((p) => p.name)).toEqual(['official', 'dim32', 'small', 'tiny']);
    const m = await createModel('anyir');
    expect(m).toBeInstanceOf(AnyIR);
    expect(m.options.channels).toBe(28);
    m.dispose();
  });

  it('rejects bad configurations and inputs with typed errors', () => {
    expect(() => new AnyIR({ inChannels: 3, outChannels: 1 })).toThrow(/inChannels \(3\) must equal outChannels \(1\)/);
    expect(() => new AnyIR({ channels: 28, heads: [1, 2, 3, 8] })).toThrow(/level 3 width 112 .* divisible by its heads \(3\)/);
    expect(() => new AnyIR({ channels: 14, heads: [2, 2, 4, 8] })).toThrow(ConfigError); // level 1: 7 channels per pathway, 2 heads
    expect(() => new AnyIR({ channels: 7 })).toThrow(/even/);
    expect(() => new AnyIR({ numBlocks: [1, 1, 1] as never })).toThrow(/numBlocks/);
    expect(() => new AnyIR({ numRefinementBlocks: -1 })).toThrow(ConfigError);
    expect(() => new AnyIR({ ffnMaxHiddenBytes: 64 } as never)).toThrow(/AnyIR: unknown option 'ffnMaxHiddenBytes'/);
    expect(() => new AnyIR({ frequencyBranch: 'fourier' as never })).toThrow(/option 'frequencyBranch' must be one of 'fft', 'identity'/);
    const m = new AnyIR({ channels: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 0, frequencyBranch: 'identity' });
    const x = tf.zeros([1, 8, 8, 4]);
    expect(() => m.apply(x)).toThrow(ShapeError);
    const small = tf.zeros([1, 3, 3, 3]); // reflect padding to 8 needs more than 3 rows
    expect(() => m.apply(small)).toThrow(ShapeError);
    tf.dispose([x, small]);
    m.dispose();
  });
});
