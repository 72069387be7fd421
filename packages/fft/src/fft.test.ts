import { describe, expect, it } from 'vitest';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadFixture, checkFixture, fixtureManifest, type Fixture } from '@restorekit/core/testing';
import { rfft2, irfft2, fft2, ifft2, fftshift, ifftshift, FFTBlock, RFFT2Layer, IRFFT2Layer, fftCacheSize, type FFTNorm, type FFTPath } from './index.js';

// Every torch.fft golden file (rfft2 / irfft2 hermitian+generic / fft2 / ifft2 × 3 norms × 4 shapes,
// fftshift / ifftshift on odd/even sizes), through both tensor-op implementations, with core's checkFixture
// (manifest tolerances, no leaks: the op runs in a test block that is a user of the basis cache, which is on).
// Fixtures are NCHW transformed over (H, W); fixture tensors are NHWC and the transforms run over axes [1, 2]
// (the default). The file list is built here (the manifest can only be read once the backend setup has run,
// which is after collection in the browser); the first test checks it equals the manifest's 'fft' family.
const files: string[] = [];
for (const op of ['rfft2', 'irfft2_hermitian', 'irfft2_generic', 'fft2', 'ifft2'])
  for (const norm of ['backward', 'ortho', 'forward']) for (const s of [0, 1, 2, 3]) files.push(`fft/${op}_${norm}_s${s}.safetensors`);
for (const op of ['fftshift', 'ifftshift']) for (const s of [0, 1, 2]) files.push(`fft/${op}_s${s}.safetensors`);

/** The op of a fixture as a block (not registered: checkFixture needs a layer, not a saved model). */
class FixtureOp extends FFTBlock {
  static className = 'restorekit>TestFixtureOp';
  static override optionsSchema = {};
  constructor(
    private readonly fx: Fixture,
    private readonly path: FFTPath,
  ) {
    super({} as never);
  }
  forward(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[] {
    const xs = Array.isArray(inputs) ? inputs : [inputs];
    const op = this.fx.config.op as string;
    const norm = this.fx.config.norm as FFTNorm | undefined;
    const path = this.path;
    if (op === 'fftshift') return fftshift(xs[0]!);
    if (op === 'ifftshift') return ifftshift(xs[0]!);
    if (op === 'rfft2') {
      const z = rfft2(xs[0]!, { norm, path });
      return [z.re, z.im];
    }
    // fft2/ifft2 fixtures may have a real input (__input__): imaginary part 0.
    const z = xs.length === 1 ? xs[0]! : { re: xs[0]!, im: xs[1]! };
    if (op.startsWith('irfft2')) return irfft2(z as { re: tf.Tensor; im: tf.Tensor }, { norm, path, size: this.fx.config.s as [number, number] });
    const y = op === 'fft2' ? fft2(z, { norm, path }) : ifft2(z, { norm, path });
    return [y.re, y.im];
  }
  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return s;
  }
}

/** Fixture inputs and outputs in the order FixtureOp takes and returns them. */
function names(fx: Fixture): { inputs: string[]; outputs: string[] } {
  const has = (n: string) => fx.tensors[n] !== undefined;
  return {
    inputs: has('__input__') ? ['__input__'] : ['__input_re__', '__input_im__'],
    outputs: has('__output__') ? ['__output__'] : ['__output_re__', '__output_im__'],
  };
}

describe('torch.fft fixtures', () => {
  it('covers every fft fixture of the manifest', async () => {
    const entries = (await fixtureManifest()).filter((e) => e.family === 'fft' || e.file.startsWith('fft/'));
    expect(entries.map((e) => e.file).sort()).toEqual([...files].sort());
    expect(files.length).toBe(66);
  });
  for (const path of ['matmul', 'fourstep'] as const)
    it.each(files.map((f) => [f]))(`%s (${path})`, async (file) => {
      const { inputs, outputs } = names(await loadFixture(file));
      const { fixture, comparisons } = await checkFixture(file, (fx) => new FixtureOp(fx, path), { inputs, outputs });
      // Every output of the manifest entry is compared.
      expect(comparisons.map((c) => c.name).sort()).toEqual(Object.keys(fixture.entry!.outputs).sort());
      for (const c of comparisons) {
        const maxAbs = fixture.entry!.outputs[c.name]!.max_abs!;
        expect(c.maxAbsDiff, `${file} ${c.name} vs 1e-5·max|y|`).toBeLessThanOrEqual(1e-5 * maxAbs + 1e-7);
      }
      expect(fftCacheSize()).toBe(0); // the op block was the only user of the cache
    });
});

describe('the layers reproduce the torch.fft fixtures (path auto)', () => {
  for (const file of files.filter((f) => f.startsWith('fft/rfft2_')))
    it(`RFFT2Layer ${file}`, () =>
      checkFixture(file, (fx) => new RFFT2Layer({ norm: fx.config.norm as FFTNorm }), { outputs: ['__output_re__', '__output_im__'] }));
  for (const file of files.filter((f) => f.startsWith('fft/irfft2_')))
    it(`IRFFT2Layer ${file}`, () =>
      checkFixture(file, (fx) => new IRFFT2Layer({ norm: fx.config.norm as FFTNorm, width: (fx.config.s as [number, number])[1] }), {
        inputs: ['__input_re__', '__input_im__'],
      }));
});
