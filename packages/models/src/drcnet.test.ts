import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { checkBlock, HarnessError, loadFixture, fixtureTensor, loadFixtureWeights, compareWithFixture } from '@restorekit/core/testing';
import { recordRegionMasks, regionNormPaths } from '@restorekit/dfr';
import './drcnet.js'; // registers the 'drcnet' model
import type { DRCNet } from './drcnet.js';
import { defaultWebglShaders, presetModel } from './test-helpers.js';

defaultWebglShaders(); // tfjs's default webgl shaders here (test-helpers.ts)

// The two small full-model fixtures of the official DRCNet (seeded random weights, 1×3×32×32):
// both outputs within the manifest tolerances and every RN_L hard mask equal pixel for pixel.
describe('DRCNet reproduces the official full-model fixtures', () => {
  for (const [file, preset] of [
    ['drcnet/drcnet_full_rain13k.safetensors', 'small'],
    ['drcnet/drcnet_full_gopro.safetensors', 'small-gopro'],
  ] as const)
    it(`${file} (preset '${preset}')`, async () => {
      const before = tf.memory().numTensors;
      const fx = await loadFixture(file);
      const m = presetModel('drcnet', preset) as DRCNet;
      const c = fx.config as Record<string, number>;
      expect([m.options.channels, m.options.depth, m.options.hinPositionLeft, m.options.hinPositionRight, m.options.reluSlope]).toEqual([
        c.wf,
        c.depth,
        c.hin_position_left,
        c.hin_position_right,
        c.relu_slope,
      ]);
      const x = fixtureTensor(fx, '__input__');
      m.build(x.shape);
      expect((await loadFixtureWeights(m, fx)).missing).toEqual([]);
      const { result, masks } = recordRegionMasks(() => m.apply(x) as tf.Tensor[]);
      const diffs: Record<string, number> = {};
      for (const [i, n] of ['__output__', '__output2__'].entries()) {
        const cmp = await compareWithFixture(result[i]!, fx, n);
        diffs[n] = cmp.maxAbsDiff;
        expect(cmp.ok, `${n}: max |diff| ${cmp.maxAbsDiff} (atol ${cmp.atol}, rtol ${cmp.rtol})`).toBe(true);
      }
      const paths = regionNormPaths(m);
      const stored = Object.keys(fx.tensors)
        .filter((k) => k.startsWith('__mask__.'))
        .map((k) => k.slice('__mask__.'.length))
        .sort();
      const ran = [...paths]
        .filter(([, l]) => masks.has(l))
        .map(([p]) => p)
        .sort();
      expect(ran).toEqual(stored);
      expect(stored.length).toBe(preset === 'small' ? 8 : 4);
      let pixels = 0,
        fg = 0;
      for (const p of stored) {
        const want = fx.tensors[`__mask__.${p}`]!;
        const t = tf.transpose(masks.get(paths.get(p)!)!, [0, 3, 1, 2]);
        const got = await t.data();
        t.dispose();
        let bad = 0;
        for (let i = 0; i < want.data.length; i++) {
          if (got[i] !== want.data[i]) bad++;
          fg += want.data[i]!;
        }
        pixels += want.data.length;
        expect(bad, `mask ${p}: ${bad} of ${want.data.length} pixels differ`).toBe(0);
      }
      console.log(`[fixture] ${tf.getBackend()} ${file} ${JSON.stringify(diffs)} masks ${stored.length} (${pixels} px, ${fg} foreground) equal`);
      tf.dispose([x, result, [...masks.values()]]);
      m.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
});

describe('DRCNet passes the block harness (two outputs, both trained)', () => {
  it("preset 'tiny' (depth 3, RN_L at levels 1–2), 10×14 input reflect-padded to 12×16: every weight gets a gradient except the unused level-0 RN_L weights", async () => {
    const unused = ['down_path_1.0/norm/', 'down_path_2.0/norm/'];
    const spec = {
      create: () => presetModel('drcnet', 'tiny'),
      inputShapes: [[2, 10, 14, 3]],
      outputShape: [
        [2, 10, 14, 3],
        [2, 10, 14, 3],
      ],
      trainableWeights: 144, // stage-1 DFRs 14+14+13, stage-2 18+18+13, 4 up blocks × 8, 4 skip convs × 2, conv_01/02, SAM 6, cat12, last
      noGradient: { match: unused, reason: 'official RN_L weights exist at every level but are unused outside hin_position_left..right' },
    };
    // checkBlock reports weights that are not on the tape at all as "no gradient for …" even when they
    // are declared in noGradient; accept exactly those (2 × 7 RN_L tensors) and nothing else.
    try {
      await checkBlock(spec);
    } catch (e) {
      if (!(e instanceof HarnessError)) throw e;
      const lines = e.message
        .split('\n')
        .slice(1)
        .map((l) => l.replace(/^\s*- /, ''));
      expect(
        lines.filter((l) => !(/^no gradient for /.test(l) && unused.some((m) => l.includes(m)))),
        e.message,
      ).toEqual([]);
      expect(lines.length, e.message).toBe(14);
    }
  });
});
