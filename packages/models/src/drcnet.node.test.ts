import { describe, expect, it } from 'vitest';
import { ConfigError, countParams, torchParameters } from '@restorekit/core';
import { readShared } from '@restorekit/core/testing';
import { DRCNet, DRCNET_PRESETS, type DRCNetOptions } from './drcnet.js';
import { createModel, fromOfficialConfig, getModelSpec, listModels } from './registry.js';
import { presetModel } from './test-helpers.js';

/** Closed form of spec §1.6, summed over the official module layout. */
function closedForm(c: Required<DRCNetOptions>): number {
  const { channels: wf, depth, inChannels: ci } = c;
  const w = (i: number) => wf * 2 ** i;
  const conv = (i: number, o: number, k: number) => i * o * k * k + o;
  const dfr = (i: number, o: number, down: boolean, csff: boolean) =>
    conv(i, o, 1) + 2 * conv(i, o, 3) + 198 + o + (csff ? 2 * conv(o, o, 3) : 0) + (down ? 16 * o * o : 0);
  let n = 2 * conv(ci, wf, 3);
  for (let i = 0; i < depth; i++) {
    const inC = i === 0 ? wf : w(i - 1);
    n += dfr(inC, w(i), i + 1 < depth, false) + dfr(inC, w(i), i + 1 < depth, i + 1 < depth);
  }
  for (let i = 0; i < depth - 1; i++) {
    const c2 = w(i + 1),
      c1 = w(i);
    n += 2 * (c2 * c1 * 4 + c1 + conv(c2, c1, 1) + conv(c2, c1, 3) + conv(c1, c1, 3)) + 2 * conv(c1, c1, 3);
  }
  return n + conv(wf, wf, 3) + conv(wf, ci, 3) + conv(ci, wf, 3) + conv(2 * wf, wf, 1) + conv(wf, ci, 3);
}

function buildPreset(preset: string): DRCNet {
  const m = presetModel('drcnet', preset);
  m.setFastWeightInitDuringBuild(true); // parameter bookkeeping only
  m.build([null, null, null, m.options.inChannels]);
  return m;
}

describe('DRCNet presets and the official state_dict (node-cpu)', () => {
  it("preset 'official' has exactly 18,975,798 parameters (spec §1.6, full-configs/drcnet_default.json)", () => {
    const m = buildPreset('official');
    expect(countParams(m)).toBe(18_975_798);
    expect(closedForm(m.options)).toBe(18_975_798);
    m.dispose();
  });

  it('every preset declares its exact parameter count (countParams = closed form); the RN_L positions do not change it', () => {
    for (const [name, p] of Object.entries(DRCNET_PRESETS)) {
      const m = buildPreset(name);
      expect(countParams(m), name).toBe(p.params);
      expect(closedForm(m.options), name).toBe(p.params);
      m.dispose();
    }
  });

  it('the official configs place RN_L as spec §1.9 says (GoPro train 2–3, GoPro test 3–4, Rain13k/SIDD 0–4)', () => {
    const pos = (n: string) => [DRCNET_PRESETS[n]!.config.hinPositionLeft, DRCNET_PRESETS[n]!.config.hinPositionRight];
    expect(pos('gopro')).toEqual([2, 3]);
    expect(pos('gopro-test')).toEqual([3, 4]);
    expect(pos('rain13k')).toEqual([0, 4]);
    expect(pos('sidd')).toEqual([0, 4]);
    expect(pos('official')).toEqual([0, 4]);
  });

  it('every key of full-configs/drcnet_default.json (196 tensors) maps to exactly one weight of the right shape, in order, none left over', async () => {
    const json = JSON.parse(new TextDecoder().decode(await readShared('fixtures/full-configs/drcnet_default.json'))) as {
      state_dict: { key: string; shape: number[] }[];
      num_state_dict_entries: number;
      total_params: number;
    };
    const m = buildPreset('official');
    const ours = torchParameters(m).map((p) => ({ key: p.name, shape: p.torchShape }));
    expect(json.num_state_dict_entries).toBe(196);
    expect(ours.length).toBe(196);
    expect(new Set(ours.map((p) => p.key)).size).toBe(196);
    expect(ours).toEqual(json.state_dict.map((e) => ({ key: e.key, shape: e.shape })));
    expect(countParams(m)).toBe(json.total_params);
    m.dispose();
  });

  it('is listed in the model registry with its presets', () => {
    const spec = getModelSpec('drcnet');
    expect(spec.sizeMultiple).toBe(8);
    expect(spec.defaultPreset).toBe('official');
    const l = listModels().find((x) => x.name === 'drcnet')!;
    expect(l.presets.map((p) => p.name)).toEqual(Object.keys(DRCNET_PRESETS));
  });

  it('rejects bad options with ConfigError naming the option', async () => {
    expect(() => new DRCNet({ channels: 5 })).toThrow(ConfigError);
    expect(() => new DRCNet({ channels: 5 })).toThrow(/option 'channels' must be an even positive integer/);
    expect(() => new DRCNet({ depth: 0 })).toThrow(/depth/);
    expect(() => new DRCNet({ hinPositionLeft: 0.5 })).toThrow(/hinPositionLeft/);
    expect(() => new DRCNet({ reluSlope: Number.NaN })).toThrow(/reluSlope/);
    // 0.1 accepted the official spelling and silently put RN_L everywhere (official weights still loaded strictly).
    await expect(createModel('drcnet', { hin_position_left: 2 })).rejects.toThrow(/unknown option 'hin_position_left' \(did you mean 'hinPositionLeft'\?\)/);
    expect(() => new DRCNet({ wf: 64 } as never)).toThrow(/unknown option 'wf' \(did you mean 'channels'\?\)/);
  });

  it('fromOfficialConfig maps the official kwargs (in_chn, wf, depth, relu_slope, hin_position_*) to a preset or options', () => {
    expect(fromOfficialConfig('drcnet', { in_chn: 3, wf: 8, depth: 4, relu_slope: 0.2, hin_position_left: 0, hin_position_right: 4 })).toEqual({
      preset: 'small',
    });
    expect(fromOfficialConfig('drcnet', { wf: 16 })).toEqual({ preset: 'official', channels: 16 });
  });
});

describe('DRCNet input validation (node-cpu)', () => {
  it('rejects wrong channels and too-small inputs with ShapeError and leaks nothing', async () => {
    const { ShapeError } = await import('@restorekit/core');
    const tf = await import('@tensorflow/tfjs-core');
    const before = tf.memory().numTensors;
    const m = new DRCNet({ channels: 4, depth: 3 });
    const bad = tf.zeros([1, 8, 8, 4]);
    expect(() => m.apply(bad)).toThrow(ShapeError);
    expect(() => m.apply(bad)).toThrow(/3 channels/);
    const tinyIn = tf.zeros([1, 2, 9, 3]); // 2 rows cannot be reflect-padded to 4
    expect(() => m.apply(tinyIn)).toThrow(/reflect padding/);
    const ok = tf.zeros([1, 5, 9, 3]);
    const ys = m.apply(ok) as import('@tensorflow/tfjs-core').Tensor[];
    expect(ys.map((y) => y.shape)).toEqual([
      [1, 5, 9, 3],
      [1, 5, 9, 3],
    ]);
    tf.dispose([bad, tinyIn, ok, ys]);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
