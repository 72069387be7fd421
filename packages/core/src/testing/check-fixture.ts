import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { HarnessError } from './harness.js';
import { compareWithFixture, fixtureTensor, loadFixture, loadFixtureWeights, type Comparison, type Fixture } from './fixtures.js';

/**
 * Runs `fn` (sync or async) and throws `HarnessError` if it leaves tensors behind: the one leak check for tests
 * (`await expectNoLeaks(() => ..., 'what')`). Returns `fn`'s result; tensors in it are the caller's to free, so
 * return plain values.
 */
export async function expectNoLeaks<T>(fn: () => T | Promise<T>, what = 'the checked code'): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) throw new HarnessError(`${what} ${leaked > 0 ? `leaked ${leaked}` : `freed ${-leaked} more than it made`} tensor(s) on ${tf.getBackend()}`);
  return out;
}

export interface CheckFixtureOptions {
  /** Fixture tensors fed to the layer, in order. Default: `__input__`, `__input2__`, `__input3__` present in the file. */
  inputs?: string[];
  /** Fixture tensors the layer's outputs are compared with, in order. Default: `__output__`, `__output2__` present. */
  outputs?: string[];
  /** Load the layer's weights from this key prefix of the file (one block out of a full model's checkpoint). */
  prefix?: string;
  /** Weights of the file that the layer does not have (strict otherwise). */
  ignore?: (key: string) => boolean;
  /** Runs the layer (default `layer.apply(inputs)`); wrap it to record extra values during the call. */
  run?: (layer: tfl.layers.Layer, inputs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
  /** Tolerance override (default: the manifest's, per output). */
  atol?: number;
  rtol?: number;
}

export interface FixtureCheck {
  fixture: Fixture;
  /** One comparison per compared output, in order. */
  comparisons: Comparison[];
}

/**
 * The one golden-fixture check: creates the layer, builds it for the fixture's inputs, loads the fixture's weights
 * by their PyTorch names (strict), runs it and compares every output with the official tensors within the manifest's
 * tolerance. Throws `HarnessError` naming the fixture, output, backend and max |diff| on a mismatch or a leak;
 * disposes the layer and everything it made.
 */
export async function checkFixture(file: string, create: (fx: Fixture) => tfl.layers.Layer, opts: CheckFixtureOptions = {}): Promise<FixtureCheck> {
  const fx = await loadFixture(file);
  const comparisons = await expectNoLeaks(async () => {
    const inNames = opts.inputs ?? ['__input__', '__input2__', '__input3__'].filter((n) => fx.tensors[n]);
    const outNames = opts.outputs ?? ['__output__', '__output2__'].filter((n) => fx.tensors[n]);
    const xs = inNames.map((n) => fixtureTensor(fx, n));
    const layer = create(fx);
    let ys: tf.Tensor[] = [];
    try {
      if (!layer.built) layer.build(xs.length === 1 ? xs[0]!.shape : xs.map((x) => x.shape));
      await loadFixtureWeights(layer as never, fx, { prefix: opts.prefix, ignore: opts.ignore });
      const y = opts.run ? opts.run(layer, xs) : (layer.apply(xs.length === 1 ? xs[0]! : xs) as tf.Tensor | tf.Tensor[]);
      ys = Array.isArray(y) ? y : [y];
      if (ys.length !== outNames.length)
        throw new HarnessError(`${file}: the layer returned ${ys.length} output(s), the fixture has ${outNames.length} (${outNames.join(', ')})`);
      const out: Comparison[] = [];
      for (const [i, n] of outNames.entries()) {
        const cmp = await compareWithFixture(ys[i]!, fx, n, { atol: opts.atol, rtol: opts.rtol });
        if (!cmp.ok)
          throw new HarnessError(
            `${file} ${n} on ${tf.getBackend()}: max |diff| ${cmp.maxAbsDiff} exceeds atol ${cmp.atol} + rtol ${cmp.rtol}·|want| (worst ratio ${cmp.worstRatio.toFixed(3)})`,
          );
        out.push(cmp);
      }
      return out;
    } finally {
      tf.dispose([...xs, ...ys]);
      layer.dispose();
    }
  }, `checkFixture(${file})`);
  return { fixture: fx, comparisons };
}
