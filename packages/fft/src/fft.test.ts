import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { loadFixture, fixtureTensor, compareWithFixture, fixtureManifest, type Fixture } from '@restorekit/core/testing';
import { rfft2, irfft2, fft2, ifft2, fftshift, ifftshift, releaseFFTCache, type FFTNorm, type FFTPath } from './index.js';

// Every torch.fft golden file (rfft2 / irfft2 hermitian+generic / fft2 / ifft2 × 3 norms × 4 shapes,
// fftshift / ifftshift on odd/even sizes), through both implementations. Fixtures are NCHW transformed
// over (H, W); fixtureTensor gives NHWC and the transforms run over axes [1, 2] (the default).
// The file list is built here (the manifest can only be read once the backend setup has run, which
// is after collection in the browser); the first test checks it equals the manifest's 'fft' family.
const files: string[] = [];
for (const op of ['rfft2', 'irfft2_hermitian', 'irfft2_generic', 'fft2', 'ifft2'])
  for (const norm of ['backward', 'ortho', 'forward']) for (const s of [0, 1, 2, 3]) files.push(`fft/${op}_${norm}_s${s}.safetensors`);
for (const op of ['fftshift', 'ifftshift']) for (const s of [0, 1, 2]) files.push(`fft/${op}_s${s}.safetensors`);

function run(fx: Fixture, path: FFTPath): Record<string, tf.Tensor> {
  const op = fx.config.op as string;
  const norm = fx.config.norm as FFTNorm | undefined;
  return tf.tidy(() => {
    if (op === 'fftshift' || op === 'ifftshift') {
      const x = fixtureTensor(fx, '__input__');
      return { __output__: op === 'fftshift' ? fftshift(x) : ifftshift(x) };
    }
    if (op === 'rfft2') {
      const z = rfft2(fixtureTensor(fx, '__input__'), { norm, path });
      return { __output_re__: z.re, __output_im__: z.im };
    }
    // fft2/ifft2 fixtures may have a real input (__input__): imaginary part 0.
    const z = fx.tensors.__input__ ? fixtureTensor(fx, '__input__') : { re: fixtureTensor(fx, '__input_re__'), im: fixtureTensor(fx, '__input_im__') };
    if (op.startsWith('irfft2')) {
      const s = fx.config.s as [number, number];
      return { __output__: irfft2(z as { re: tf.Tensor; im: tf.Tensor }, { norm, path, size: s }) };
    }
    const y = op === 'fft2' ? fft2(z, { norm, path }) : ifft2(z, { norm, path });
    return { __output_re__: y.re, __output_im__: y.im };
  }) as unknown as Record<string, tf.Tensor>;
}

describe('torch.fft fixtures', () => {
  afterAll(() => releaseFFTCache());
  it('covers every fft fixture of the manifest', async () => {
    const entries = (await fixtureManifest()).filter((e) => e.family === 'fft' || e.file.startsWith('fft/'));
    expect(entries.map((e) => e.file).sort()).toEqual([...files].sort());
    expect(files.length).toBe(66);
  });
  for (const path of ['matmul', 'fourstep'] as const)
    it.each(files.map((f) => [f]))(`%s (${path})`, async (file) => {
      const fx = await loadFixture(file);
      const outs = run(fx, path);
      const names = Object.keys(fx.entry!.outputs).sort();
      expect(Object.keys(outs).sort()).toEqual(names);
      for (const name of names) {
        const c = await compareWithFixture(outs[name]!, fx, name);
        expect(c.ok, `${file} ${name}: max diff ${c.maxAbsDiff}, worst ratio ${c.worstRatio}`).toBe(true);
        const maxAbs = fx.entry!.outputs[name]!.max_abs!;
        expect(c.maxAbsDiff, `${name} vs 1e-5·max|y|`).toBeLessThanOrEqual(1e-5 * maxAbs + 1e-7);
      }
      tf.dispose(Object.values(outs));
    });
});
