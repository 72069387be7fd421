// Shared by the block tests (not exported from the package).
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { checkFixture, type CheckFixtureOptions, type Fixture, type FixtureCheck } from '@restorekit/core/testing';

/**
 * core's `checkFixture` on `restormer/<file>.safetensors` (block built from the fixture's own PyTorch config, official
 * weights loaded strictly, outputs compared within the manifest's tolerance, no leaks), logging each output's max |diff|.
 */
export async function restormerFixture(
  file: string,
  create: (cfg: Record<string, unknown>, fx: Fixture) => tfl.layers.Layer,
  opts?: CheckFixtureOptions,
): Promise<FixtureCheck> {
  const r = await checkFixture(`restormer/${file}.safetensors`, (fx) => create(fx.config, fx), opts);
  for (const c of r.comparisons)
    console.log(`[${tf.getBackend()}] ${file} ${c.name}: max |diff| ${c.maxAbsDiff.toExponential(2)} (atol ${c.atol}, rtol ${c.rtol})`);
  return r;
}
