import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { channelLayerNorm, conv2d } from '@restorekit/core';
import { compareArrays, expectNoLeaks } from '@restorekit/core/testing';
import { irfft2, rfft2 } from '@restorekit/fft';
import { FourierUnit } from './index.js';

/** The official unit op by op: Re/Im interleaved as channels (2k, 2k+1) → conv1×1 → LayerNorm → SimpleGate → de-interleave. */
function officialFU(fu: FourierUnit, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const c = fu.options.channels;
    const [b, h, w] = x.shape as number[];
    const z = rfft2(x, { norm: fu.options.fftNorm });
    const bins = z.re.shape[2]!;
    const inter = tf.reshape(tf.stack([z.re, z.im], 4), [b!, h!, bins, 2 * c]);
    let y: tf.Tensor = conv2d(inter as tf.Tensor4D, fu.conv.kernel.read() as tf.Tensor4D);
    if (fu.conv.biasVar) y = tf.add(y, fu.conv.biasVar.read());
    y = channelLayerNorm(y, fu.norm.gamma.read(), fu.norm.beta ? fu.norm.beta.read() : null, fu.norm.options.eps);
    const [g1, g2] = tf.split(y, 2, 3);
    const pairs = tf.reshape(tf.mul(g1!, g2!), [b!, h!, bins, c, 2]);
    const [re, im] = tf.unstack(pairs, 4);
    return irfft2({ re: re!, im: im! }, { norm: fu.options.fftNorm, size: [h!, w!] });
  });
}

describe('FourierUnit: planar spectrum with permuted weights = the official interleaved computation', () => {
  // c = 4: the weights are 8c² = 128 values; a spectrum of b·h·bins·2c ≥ 128 takes the permuted-weight path,
  // a smaller one the interleaved path. Both must equal the official computation, values and gradients.
  for (const [what, shape, opts] of [
    ['planar path (spectrum larger than the weights)', [2, 6, 7, 4], {}],
    ['interleaved path (spectrum smaller than the weights)', [1, 2, 3, 4], {}],
    ['planar path, BiasFree norm, no conv bias, backward norm', [1, 8, 5, 4], { normKind: 'BiasFree', bias: false, fftNorm: 'backward' }],
  ] as const)
    it(what, async () => {
      const fu = new FourierUnit({ channels: 4, ...opts });
      const x = tf.randomNormal(shape as unknown as number[], 0.2, 1, 'float32', 3);
      const probe = tf.randomNormal(shape as unknown as number[], 0, 1, 'float32', 4);
      fu.apply(x); // build
      let seed = 10;
      for (const v of fu.trainableWeights) v.write(tf.randomNormal(v.shape as number[], 0.3, 0.5, 'float32', seed++));
      const vars = fu.trainableWeights.map((v) => v.read() as tf.Variable);
      await expectNoLeaks(async () => {
        // training mode: the size rule picks the path (the interleaved one for the small spectrum)
        const mine = tf.variableGrads(() => tf.sum(tf.mul(fu.apply(x, { training: true }) as tf.Tensor, probe)) as tf.Scalar, vars);
        const ref = tf.variableGrads(() => tf.sum(tf.mul(officialFU(fu, x), probe)) as tf.Scalar, vars);
        const y1 = fu.apply(x) as tf.Tensor;
        const y0 = officialFU(fu, x);
        const c = compareArrays('output', await y1.data(), await y0.data(), 1e-5, 1e-4);
        expect(c.ok, `output max |diff| ${c.maxAbsDiff}`).toBe(true);
        for (const v of vars) {
          const g = compareArrays(v.name, await mine.grads[v.name]!.data(), await ref.grads[v.name]!.data(), 1e-4, 1e-3);
          expect(g.ok, `${v.name}: max |diff| ${g.maxAbsDiff}`).toBe(true);
        }
        tf.dispose([mine.value, ref.value, y0, y1, Object.values(mine.grads), Object.values(ref.grads)]);
      }, what);
      tf.dispose([x, probe]);
      fu.dispose();
    });

  it('interleaves the spectrum only in training: for inference the permuted weights are kept, never the spectrum moved', async () => {
    const fu = new FourierUnit({ channels: 4 });
    const x = tf.randomNormal([1, 2, 3, 4], 0.2, 1, 'float32', 5); // spectrum 1·2·2·8 = 32 < 8c² = 128 values
    tf.dispose(fu.apply(x) as tf.Tensor);
    const interleaves = (kernels: { name: string; inputShapes: (number[] | null)[] }[]) =>
      kernels.filter((k) => k.name === 'Concat' && k.inputShapes.every((s) => s?.length === 3 && s[2] === 1)).length;
    // (tf.profile returns one reused info object: each is checked, and its result freed, before the next profile)
    const profiled = async (f: () => tf.Tensor) => {
      const info = await tf.profile(f);
      const n = interleaves(info.kernels as never);
      (info.result as tf.Tensor).dispose();
      return n;
    };
    expect(await profiled(() => fu.apply(x) as tf.Tensor)).toBe(0);
    // the interleave (and the backward of its split) in training
    expect(await profiled(() => tf.grad((t: tf.Tensor) => tf.sum(fu.apply(t, { training: true }) as tf.Tensor))(x))).toBeGreaterThan(0);
    // an input gradient outside training keeps to the planar path
    expect(await profiled(() => tf.grad((t: tf.Tensor) => tf.sum(fu.apply(t) as tf.Tensor))(x))).toBe(0);
    x.dispose();
    fu.dispose();
  });
});
