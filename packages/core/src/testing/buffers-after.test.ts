import { describe, expect, it } from 'vitest';
import type * as tf from '@tensorflow/tfjs-core';
import { Block, BatchNorm2d, RestorekitError, loadTorchStateDict } from '../index.js';
import { checkBuffersAfter, loadFixture } from './index.js';

/** Holds a BatchNorm under the key 'norm', like the official GatedDA. */
class Holder extends Block {
  readonly norm: BatchNorm2d;
  constructor(channels: number) {
    super({});
    this.norm = this.addChild('norm', new BatchNorm2d({ channels }));
  }
  override build(s: never): void {
    this.buildChild(this.norm, s);
    this.built = true;
  }
  forward(x: tf.Tensor): tf.Tensor {
    return x;
  }
}

describe('checkBuffersAfter', () => {
  it('fails when the buffers were not updated by a train-mode forward', async () => {
    const fx = await loadFixture('anyir/gatedda_train.safetensors');
    const c = fx.tensors['norm.running_mean']!.shape[0]!;
    const h = new Holder(c);
    h.build([null, 4, 4, c] as never);
    await loadTorchStateDict(h, fx.tensors, { strict: false, ignore: (k) => !k.startsWith('norm.') });
    // initial values loaded, no forward: nothing was updated
    await expect(checkBuffersAfter(h, fx)).rejects.toThrow(/norm\.running_mean was not updated/);
    await expect(checkBuffersAfter(h, fx)).rejects.toThrow(/norm\.num_batches_tracked is 0, expected 1/);
    h.dispose();
  });

  it('fails, naming the problem, when buffers are missing, absent from the fixture, or not updated', async () => {
    const train = await loadFixture('anyir/gatedda_train.safetensors');
    const bn = new BatchNorm2d({ channels: 3 });
    bn.build([null, 2, 2, 3]);
    // none of the fixture's keys exist on this target
    await expect(checkBuffersAfter(bn, train)).rejects.toThrow(/no weight for norm\.running_mean/);
    // a fixture without __after__ tensors
    const evalFx = await loadFixture('restormer/layernorm_withbias.safetensors');
    await expect(checkBuffersAfter(bn, evalFx)).rejects.toThrow(RestorekitError);
    await expect(checkBuffersAfter(bn, evalFx)).rejects.toThrow(/has no __after__/);
    bn.dispose();
  });
});
