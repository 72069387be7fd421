// Test helper (not exported). Weights that exist in the official state_dict but are unused in a
// configuration (DRCNet's RN_L where use_sf is False) get *no* gradient at all in tfjs (they are not
// on the tape), which checkBlock 4.22-era reports as "no gradient for <weight>" even when the weight
// is listed in `noGradient` (it only exempts zero gradients). This wrapper runs checkBlock with the
// `noGradient` declaration and accepts a HarnessError only if every failure is a missing gradient of
// one of the declared weights, all of which must be listed; any other failed check still fails.
import { expect } from 'vitest';
import { checkBlock, HarnessError, type BlockCheckSpec } from '@restorekit/core/testing';

export async function checkBlockWithUnusedWeights(spec: BlockCheckSpec & { noGradient: { match: string[]; reason: string } }, expectedUnused: number): Promise<void> {
  try {
    await checkBlock(spec);
  } catch (e) {
    if (!(e instanceof HarnessError)) throw e;
    const lines = e.message.split('\n').slice(1).map((l) => l.replace(/^\s*- /, ''));
    const unexplained = lines.filter((l) => !(/^no gradient for /.test(l) && spec.noGradient.match.some((m) => l.includes(m))));
    expect(unexplained, e.message).toEqual([]);
    expect(lines.length, e.message).toBe(expectedUnused);
  }
}
