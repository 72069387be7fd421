import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, type BlockArgs } from '../block.js';
import { opt, type OptionsInput, type ResolvedOptions } from '../options.js';
import { ones } from '../layers/init.js';
import { HarnessError, checkBlock } from './index.js';

// checkBlock's own checks, each made to fail by a block built to break it, on every backend of the project: what a
// user's broken block gets told. On the reference backend (cpu) the save/load round trip is compared exactly; on every
// other backend the model rebuilt from the saved artifacts on cpu must reproduce the first forward (one check for the
// round trip and the backends' agreement), and the block runs two passes there, one forward and one training step.
const OPTIONS = { channels: opt.posInt(), factor: opt.number({}, 1) };
/** Forward passes per backend, counted by every probe block. */
const passes = new Map<string, number>();

/** y = factor·gamma·x (+ 0.5 off cpu for the 'biased' variant). */
class HarnessProbe extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>HarnessProbe';
  static override optionsSchema = OPTIONS;
  gamma!: tfl.LayerVariable;
  constructor(opts: OptionsInput<typeof OPTIONS> & BlockArgs) {
    super(opts as never);
  }
  override build(): void {
    this.gamma = this.addTorchWeight('weight', [this.options.channels], ones());
    this.built = true;
  }
  forward(x: tf.Tensor): tf.Tensor {
    passes.set(tf.getBackend(), (passes.get(tf.getBackend()) ?? 0) + 1);
    return tf.mul(x, tf.mul(this.gamma.read(), this.options.factor));
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(HarnessProbe);

/** Its config forgets `factor`: a reloaded model computes with the default 1. */
class ForgetfulProbe extends HarnessProbe {
  static override className = 'restorekit>ForgetfulProbe';
  override getConfig(): tf.serialization.ConfigDict {
    const { factor: _dropped, ...rest } = super.getConfig() as Record<string, unknown>;
    return rest as tf.serialization.ConfigDict;
  }
}
registerBlock(ForgetfulProbe);

/** Computes something else on every backend but cpu. */
class BackendBiasedProbe extends HarnessProbe {
  static override className = 'restorekit>BackendBiasedProbe';
  override forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const y = super.forward(x);
      return tf.getBackend() === 'cpu' ? y : tf.add(y, 0.5);
    });
  }
}
registerBlock(BackendBiasedProbe);

/** Its weight enters the output multiplied by zero. */
class DeadWeightProbe extends HarnessProbe {
  static override className = 'restorekit>DeadWeightProbe';
  override forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(x, tf.mul(super.forward(x), 0)));
  }
}
registerBlock(DeadWeightProbe);

/** Keeps one tensor per call (in `kept`, so that the test can dispose them). */
const kept: tf.Tensor[] = [];
class LeakyProbe extends HarnessProbe {
  static override className = 'restorekit>LeakyProbe';
  override forward(x: tf.Tensor): tf.Tensor {
    kept.push(tf.keep(tf.zeros([3])));
    return super.forward(x);
  }
}
registerBlock(LeakyProbe);

const spec = (create: () => tfl.layers.Layer) => ({
  create,
  inputShapes: [[2, 3, 5, 4]],
  outputShape: [2, 3, 5, 4],
  trainableWeights: 1,
});

describe('checkBlock', () => {
  it('passes a sound block in two passes off the reference backend (one forward, one training step), three on it', async () => {
    const backend = tf.getBackend();
    passes.clear();
    const before = tf.memory().numTensors;
    const report = await checkBlock(spec(() => new HarnessProbe({ channels: 4, factor: 1.5 })));
    expect(tf.memory().numTensors).toBe(before);
    expect(report.backend).toBe(backend);
    expect(report.referenceBackend).toBe('cpu');
    expect(report.outputShapes).toEqual([[2, 3, 5, 4]]);
    expect(report.gradients).toHaveLength(1);
    // ∂Σ(probe·1.5·γ·x)/∂γ is finite and non-zero
    expect(report.gradients[0]!.finite).toBe(true);
    expect(report.gradients[0]!.maxAbs).toBeGreaterThan(0);
    expect(report.leakedTensors).toBe(0);
    if (backend === 'cpu') {
      // predict, the training step, the reloaded model's predict
      expect(passes.get('cpu')).toBe(3);
      expect(report.maxDiffVsReference).toBe(0);
    } else {
      expect(passes.get(backend)).toBe(2);
      // the rebuilt model's forward on cpu
      expect(passes.get('cpu')).toBe(1);
      expect(report.maxDiffVsReference).toBeLessThan(1e-5);
    }
  });

  it('catches a config that loses an option (the reloaded model computes with its default)', async () => {
    const backend = tf.getBackend();
    const before = tf.memory().numTensors;
    const run = checkBlock(spec(() => new ForgetfulProbe({ channels: 4, factor: 1.5 })));
    await expect(run).rejects.toThrow(HarnessError);
    await expect(run).rejects.toThrow(
      backend === 'cpu' ? /save\/load round trip changes output 0/ : new RegExp(`${backend} differs from the model saved and reloaded on cpu on output 0`),
    );
    // a failed check still disposes everything before it throws
    expect(tf.memory().numTensors).toBe(before);
  });

  it('catches a backend that computes something else than the reference', async () => {
    const backend = tf.getBackend();
    const run = checkBlock(spec(() => new BackendBiasedProbe({ channels: 4 })));
    if (backend === 'cpu') await expect(run).resolves.toMatchObject({ maxDiffVsReference: 0 });
    else await expect(run).rejects.toThrow(/differs from the model saved and reloaded on cpu on output 0: max \|diff\| 5\.00e-1/);
  });

  it('catches a weight whose gradient is zero', async () => {
    await expect(checkBlock(spec(() => new DeadWeightProbe({ channels: 4 })))).rejects.toThrow(/gradient of \S+ is zero/);
  });

  it('catches a leak', async () => {
    const backend = tf.getBackend();
    kept.length = 0;
    const before = tf.memory().numTensors;
    // one kept tensor per forward pass: on cpu predict, the training step and the reloaded model's predict; elsewhere
    // the forward and the training step there and the rebuilt model's forward on cpu (tf.memory() counts every backend's)
    await expect(checkBlock(spec(() => new LeakyProbe({ channels: 4 })))).rejects.toThrow(
      new RegExp(`checkBlock\\(restorekit>LeakyProbe\\) on ${backend}:\\n  - 3 tensors leaked$`),
    );
    expect(kept).toHaveLength(3);
    tf.dispose(kept);
    expect(tf.memory().numTensors).toBe(before);
  });
});
