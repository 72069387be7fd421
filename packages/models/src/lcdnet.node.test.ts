import { describe, expect, it } from 'vitest';
import { ConfigError, countParams, torchParameters } from '@restorekit/core';
import { LCDNet, LCDNET_PRESETS } from './lcdnet.js';
import { createModel, getModelSpec, listModels } from './registry.js';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

describe('LCDNet parameter counts (spec §2.9, checked there with a PyTorch prototype)', () => {
  it("preset 'default' (C = 32; [1,1,1,1]; 1; [1,1,1,1]) has 13,448,012 parameters, with the spec's breakdown per module", async () => {
    const model = await createModel('lcdnet', { preset: 'default' });
    const params = torchParameters(model);
    const by = new Map<string, number>();
    for (const p of params) {
      // Module = the first key component, plus the level index where there is one ('encoders.2', 'intro').
      const [head, level] = p.name.split('.');
      const key = /^\d+$/.test(level ?? '') ? `${head}.${level}` : head!;
      by.set(key, (by.get(key) ?? 0) + size(p.torchShape));
    }
    const levels = (name: string, values: number[], first = 0) => Object.fromEntries(values.map((v, i) => [`${name}.${first + i}`, v]));
    // The spec lists up-projections, reduces and decoders from level 3 down and side outputs 3, 2, 1.
    const spec: Record<string, number> = {
      intro: 896,
      ending: 867,
      ...levels('encoders', [37_088, 119_648, 423_008, 1_607_328]),
      ...levels('downs', [8_256, 32_896, 131_328, 524_800]),
      ...levels('sfes', [12_480, 48_512, 191_232], 1),
      ...levels('fams', [8_256, 32_896, 131_328], 1),
      middle: 6_261_536,
      ...levels('scams', [9_504, 37_952, 151_680, 606_464]),
      ...levels('ups', [524_288, 131_072, 32_768, 8_192].reverse()),
      ...levels('reduces', [131_328, 32_896, 8_256, 2_080].reverse()),
      ...levels('decoders', [1_607_328, 423_008, 119_648, 37_088].reverse()),
      ...levels('side_outs', [6_915, 3_459, 1_731].reverse(), 1),
    };
    expect(Object.keys(spec).length).toBe(36);
    expect(Object.fromEntries([...by].sort())).toEqual(Object.fromEntries(Object.entries(spec).sort()));
    expect(countParams(model)).toBe(13_448_012);
    expect(Object.values(spec).reduce((a, b) => a + b, 0)).toBe(13_448_012);
    model.dispose();
  });

  it("every preset has the parameter count it declares: 'large' 33,881,548 (spec), 'small', 'tiny' (= the reference fixture's state dict)", async () => {
    expect(LCDNET_PRESETS.default!.params).toBe(13_448_012);
    expect(LCDNET_PRESETS.large!.params).toBe(33_881_548);
    expect(LCDNET_PRESETS.tiny!.params).toBe(925_860); // Σ sizes of lcdnet_full.safetensors' 603 weights
    for (const [name, preset] of Object.entries(LCDNET_PRESETS)) {
      const model = await createModel('lcdnet', { preset: name });
      expect(countParams(model), name).toBe(preset.params);
      model.dispose();
    }
  });

  it("the spec's third configuration (C = 32; [2,2,4,8]; 8; [2,2,2,2]) has 63,308,940", () => {
    const model = new LCDNet({ numBlocks: [2, 2, 4, 8], middleBlocks: 8, decoderBlocks: [2, 2, 2, 2] });
    expect(countParams(model)).toBe(63_308_940);
    model.dispose();
  });
});

describe('LCDNet options and registration', () => {
  it('defaults are the spec`s choices; the model family is listed with its presets', () => {
    const { name: _n, trainable: _t, dtype: _d, ...o } = new LCDNet().getConfig();
    expect(o).toEqual({
      inChannels: 3,
      channels: 32,
      numBlocks: [1, 1, 1, 1],
      middleBlocks: 1,
      decoderBlocks: [1, 1, 1, 1],
      groups: 8,
      kernelSizes: [3, 5],
      residualScales: true,
      selectionSoftmax: 'branches',
      scamVariant: 'A',
      sizeMultiple: 16,
    });
    for (const p of Object.values(LCDNET_PRESETS)) expect(Object.keys(p.config).sort()).toEqual(Object.keys(o).sort());
    const entry = listModels().find((m) => m.name === 'lcdnet')!;
    expect(entry.sizeMultiple).toBe(16);
    expect(entry.presets.map((p) => p.name)).toEqual(['default', 'large', 'small', 'tiny']);
    expect(getModelSpec('lcdnet').paper).toMatch(/2504\.10558/);
  });

  it('bad options fail at construction, naming the problem', () => {
    expect(() => new LCDNet({ channels: 24 })).toThrow(/groups G = 8 must divide the branch channels C\/2 = 12/);
    expect(() => new LCDNet({ sizeMultiple: 24 })).toThrow(/multiple of 16/);
    expect(() => new LCDNet({ scamVariant: 'B' as never })).toThrow(/variant 'B' .* is not implemented/);
    expect(() => new LCDNet({ numBlocks: [1, 1, 1] })).toThrow(ConfigError);
    expect(() => new LCDNet({ enc_blocks: [1, 1, 1, 1] } as never)).toThrow(/unknown option 'enc_blocks'/);
    expect(() => new LCDNet({ channels: 8, groups: 4, kernelSizes: [3, 4] })).toThrow(/odd/);
  });
});
