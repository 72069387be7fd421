import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { torchParameters, type Block } from '@restorekit/core';
import { checkFixture, compareArrays, loadFixture, type Fixture, type FixtureCheck } from '@restorekit/core/testing';

const AFTER = '__after__.';

/**
 * core's `checkFixture` on an AnyIR fixture (`anyir/<file>.safetensors`), in eval mode or in train mode. In train mode
 * the block runs with `training: true` and, besides the output, every BatchNorm buffer after the forward is compared
 * with the fixture's `__after__.<key>` tensor within the manifest's per-tensor tolerance (the buffers are returned as
 * extra outputs of the run, copies that checkFixture frees). Each compared key must be a buffer of the block, and
 * must have moved in the official run by more than twice its tolerance (so matching it proves ours was updated; for
 * `num_batches_tracked`, exactly +1). Logs every output's max |diff|.
 */
export async function checkAnyIRFixture(
  file: string,
  mode: 'eval' | 'train',
  create: (cfg: Record<string, unknown>, fx: Fixture) => tfl.layers.Layer,
): Promise<FixtureCheck> {
  const path = `anyir/${file}.safetensors`;
  const fx = await loadFixture(path);
  const after =
    mode === 'train'
      ? Object.keys(fx.tensors)
          .filter((k) => k.startsWith(AFTER))
          .sort()
      : [];
  if (mode === 'train') {
    expect(after.length, `${path} has __after__ buffers`).toBeGreaterThan(0);
    for (const k of after) {
      const key = k.slice(AFTER.length);
      const initial = fx.tensors[key];
      expect(initial, `${path} has the initial ${key}`).toBeDefined();
      const want = fx.tensors[k]!.data;
      if (key.endsWith('num_batches_tracked')) expect(want[0]).toBe(initial!.data[0]! + 1);
      else {
        const info = fx.entry?.outputs?.[k];
        const [atol, rtol] = [info?.atol ?? 1e-5, info?.rtol ?? 1e-4];
        expect(compareArrays(key, want, initial!.data, 2 * atol, 2 * rtol).ok, `${key} moved in the official run`).toBe(false);
      }
    }
  }
  const r = await checkFixture(path, (f) => create(f.config, f), {
    outputs: ['__output__', ...after],
    run: (layer, [x]) => {
      const y = layer.apply(x!, { training: mode === 'train' }) as tf.Tensor;
      if (!after.length) return y;
      const params = new Map(torchParameters(layer as Block).map((p) => [p.name, p]));
      const buffers = after.map((k) => {
        const p = params.get(k.slice(AFTER.length));
        if (!p?.buffer) throw new Error(`${path}: ${k.slice(AFTER.length)} is not a buffer of the block`);
        return tf.clone(p.variable.read());
      });
      return [y, ...buffers];
    },
  });
  for (const c of r.comparisons) console.log(`[${tf.getBackend()}] ${file} (${mode}) ${c.name}: max |diff| ${c.maxAbsDiff.toExponential(2)} (atol ${c.atol})`);
  return r;
}
