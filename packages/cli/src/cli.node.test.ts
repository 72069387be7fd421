/**
 * The `restorekit` executable end to end: `node dist/cli.js ...` in a temporary folder, as a user runs it, with its
 * exit codes, outputs and messages. Models are tiny presets (restormer:tiny) so each run takes about a second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { exportTorchStateDict, loadCheckpoint, serializeSafetensors } from '@restorekit/core';
import { psnr } from '@restorekit/metrics';
import { createModel } from '@restorekit/models';
import { convertDepth } from '@restorekit/runtime';
import { readImage } from '@restorekit/runtime/node';
import { Rng } from '@restorekit/train';
import { parseModel, shippedWeights } from './models.js';
import { cli, ensureBuilt, pkgDir, writeTestImage } from './test-helpers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    sharedDir: string; // provided by vitest.shared.ts (and declared in test-setup/backend.ts, outside this package's tsconfig)
  }
}
const fixtures = join(inject('sharedDir'), 'fixtures');
const pth = (name: string) => join(fixtures, 'pth', name);
let dir: string;
const at = (...p: string[]) => join(dir, ...p);
const bytes = (p: string) => readFileSync(at(p));
const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'restorekit-cli-'));
  mkdirSync(at('clean'));
  await writeTestImage(at('clean', 'a.png'), 40, 32, 3);
  await writeTestImage(at('clean', 'b.png'), 27, 21, 3);
  mkdirSync(at('mixed'));
  await writeTestImage(at('mixed', 'rgb.png'), 30, 26, 3);
  await writeTestImage(at('mixed', 'rgba.png'), 25, 19, 4);
  await writeTestImage(at('mixed', 'gray.png'), 22, 17, 1);
  // Weights of restormer:tiny (random, drawn once per run and shared by the tests below).
  const net = await createModel('restormer', { preset: 'tiny' });
  tf.tidy(() => void net.apply(tf.zeros([1, 8, 8, 3])));
  writeFileSync(at('tiny.safetensors'), serializeSafetensors(await exportTorchStateDict(net)));
  net.dispose();
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('restorekit: help, version, models', () => {
  it('--version prints the package version and --help lists the commands (exit 0)', async () => {
    const v = await cli(['--version'], dir);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(version);
    const h = await cli(['--help'], dir);
    expect(h.code).toBe(0);
    for (const c of ['models', 'restore', 'degrade', 'eval', 'convert']) expect(h.stdout).toContain(c);
  });

  it('models --json is JSON listing restormer, anyir and drcnet with their presets, and the default model', async () => {
    const r = await cli(['models', '--json'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout) as { default: string; models: { name: string; defaultPreset: string; presets: { name: string; params?: number }[] }[] };
    const names = j.models.map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(['restormer', 'anyir', 'drcnet']));
    const restormer = j.models.find((m) => m.name === 'restormer')!;
    expect(restormer.defaultPreset).toBe('official');
    expect(restormer.presets.find((p) => p.name === 'tiny')?.params).toBe(208_213);
    const [family, preset] = j.default.split(':');
    expect(j.models.find((m) => m.name === family)?.presets.map((p) => p.name)).toContain(preset);
  });
});

describe('restorekit restore', () => {
  it('restores a PNG with --model restormer:tiny: an output of the same size; says which backend and that the weights are random', async () => {
    const r = await cli(['restore', 'clean/a.png', '-o', 'out1/a.png', '--model', 'restormer:tiny'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/backend: wasm \(no @tensorflow\/tfjs-node in \/tmp\/restorekit-cli-\w+\)/);
    expect(r.stderr).toMatch(/warning: .*restormer:tiny.*random/);
    const out = await readImage(at('out1', 'a.png'));
    expect([out.width, out.height, out.channels]).toEqual([40, 32, 3]);
    // A random network changes the image: the output is not a copy of the input.
    const input = await readImage(at('clean', 'a.png'));
    expect(Buffer.compare(Buffer.from(out.data), Buffer.from(input.data))).not.toBe(0);
  });

  it('without --model uses the default model, with its shipped weights, or says its weights are random', async () => {
    const def = (JSON.parse((await cli(['models', '--json'], dir)).stdout) as { default: string }).default;
    const r = await cli(['restore', 'clean/b.png', '-o', 'out-default/', '--tile', '64', '--overlap', '16'], dir);
    expect(r.code, r.stderr).toBe(0);
    const shipped = shippedWeights(parseModel(def));
    if (shipped) expect(r.stderr).toContain(`weights: ${def}'s shipped weights (${shipped})`);
    else expect(r.stderr).toContain(`${def} ships no weights`);
    const out = await readImage(at('out-default', 'b.png'));
    expect([out.width, out.height]).toEqual([27, 21]);
  });

  it('restores a folder of RGB, RGBA and gray images (alpha kept); --workers 2 gives the bytes of one thread; with --weights no warning', async () => {
    const one = await cli(
      ['restore', 'mixed', '-o', 'out-one', '--model', 'restormer:tiny', '--weights', 'tiny.safetensors', '--tile', '16', '--overlap', '4'],
      dir,
    );
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).not.toMatch(/random/);
    const two = await cli(
      [
        'restore',
        'mixed/rgb.png',
        'mixed/rgba.png',
        'mixed/gray.png',
        '-o',
        'out-two',
        '--model',
        'restormer:tiny',
        '--weights',
        'tiny.safetensors',
        '--tile',
        '16',
        '--overlap',
        '4',
        '--workers',
        '2',
      ],
      dir,
    );
    expect(two.code, two.stderr).toBe(0);
    expect(two.stderr).toContain('workers: 2 threads on wasm');
    for (const [name, w, h, c] of [
      ['rgb.png', 30, 26, 3],
      ['rgba.png', 25, 19, 4],
      ['gray.png', 22, 17, 1],
    ] as const) {
      const out = await readImage(at('out-one', name));
      expect([out.width, out.height, out.channels]).toEqual([w, h, c]);
      expect(bytes(join('out-two', name)).equals(bytes(join('out-one', name))), name).toBe(true);
    }
    const input = await readImage(at('mixed', 'rgba.png'));
    const out = await readImage(at('out-one', 'rgba.png'));
    for (let p = 0; p < 25 * 19; p++) expect(out.data[p * 4 + 3]).toBe(input.data[p * 4 + 3]);
  });
});

describe('restorekit degrade', () => {
  it('--noise 25 --seed 1 is deterministic (the same bytes twice), another seed differs, and the noise has σ 25', async () => {
    const a = await cli(['degrade', 'clean/a.png', '-o', 'deg-a.png', '--noise', '25', '--seed', '1'], dir);
    const b = await cli(['degrade', 'clean/a.png', '-o', 'deg-b.png', '--noise', '25', '--seed', '1'], dir);
    const c = await cli(['degrade', 'clean/a.png', '-o', 'deg-c.png', '--noise', '25', '--seed', '2'], dir);
    for (const r of [a, b, c]) expect(r.code, r.stderr).toBe(0);
    expect(bytes('deg-a.png').equals(bytes('deg-b.png'))).toBe(true);
    expect(bytes('deg-a.png').equals(bytes('deg-c.png'))).toBe(false);
    // σ = 25 on 8 bits: PSNR ≈ 20.2 dB (a little higher where clipping at 0/255 cuts the noise).
    const clean = await readImage(at('clean', 'a.png'));
    const noisy = await readImage(at('deg-a.png'));
    const p = await psnr({ data: noisy.data, shape: [32, 40, 3] }, { data: clean.data, shape: [32, 40, 3] }, { dataRange: 255 });
    expect(p).toBeGreaterThan(19.5);
    expect(p).toBeLessThan(21.5);
  });

  it('a folder with --blur and --jpeg: every image written, blur+JPEG without noise is deterministic too', async () => {
    const r = await cli(['degrade', 'clean', '-o', 'deg-blur', '--blur', '1.5', '--jpeg', '40'], dir);
    const again = await cli(['degrade', 'clean', '-o', 'deg-blur2', '--blur', '1.5', '--jpeg', '40'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(again.code).toBe(0);
    expect(readdirSync(at('deg-blur')).sort()).toEqual(['a.png', 'b.png']);
    for (const n of ['a.png', 'b.png']) expect(bytes(join('deg-blur', n)).equals(bytes(join('deg-blur2', n)))).toBe(true);
    const clean = await readImage(at('clean', 'a.png'));
    const blurred = await readImage(at('deg-blur', 'a.png'));
    const p = await psnr({ data: blurred.data, shape: [32, 40, 3] }, { data: clean.data, shape: [32, 40, 3] }, { dataRange: 255 });
    expect(p).toBeGreaterThan(15);
    expect(p).toBeLessThan(40);
  });
});

describe('restorekit degrade: rain, haze, low light, motion and defocus blur', () => {
  it('--rain medium --seed 1 is deterministic, another seed differs, and rain only brightens', async () => {
    const a = await cli(['degrade', 'clean/a.png', '-o', 'rain-a.png', '--rain', 'medium', '--seed', '1'], dir);
    const b = await cli(['degrade', 'clean/a.png', '-o', 'rain-b.png', '--rain', 'medium', '--seed', '1'], dir);
    const c = await cli(['degrade', 'clean/a.png', '-o', 'rain-c.png', '--rain', 'medium', '--seed', '2'], dir);
    for (const r of [a, b, c]) expect(r.code, r.stderr).toBe(0);
    expect(a.stderr).toMatch(/rain:density=0\.005,length=15\.\.30,angle=-20\.\.20,width=1,intensity=0\.6, seed 1/);
    expect(bytes('rain-a.png').equals(bytes('rain-b.png'))).toBe(true);
    expect(bytes('rain-a.png').equals(bytes('rain-c.png'))).toBe(false);
    const clean = await readImage(at('clean', 'a.png'));
    const rainy = await readImage(at('rain-a.png'));
    let brighter = 0;
    for (let i = 0; i < clean.data.length; i++) {
      expect(rainy.data[i]!).toBeGreaterThanOrEqual(clean.data[i]!);
      if (rainy.data[i]! > clean.data[i]!) brighter++;
    }
    expect(brighter).toBeGreaterThan(0);
  });

  it('every new flag at once on a folder, and --help documents the spec syntax', async () => {
    const args = ['--defocus', '1.5', '--motion-blur', '9', '--haze', 'light', '--rain', 'light,angle=10', '--low-light', 'light', '--noise', '5'];
    const r = await cli(['degrade', 'mixed', '-o', 'deg-all', ...args, '--seed', '4'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(at('deg-all')).sort()).toEqual(['gray.png', 'rgb.png', 'rgba.png']);
    const input = await readImage(at('mixed', 'rgba.png'));
    const out = await readImage(at('deg-all', 'rgba.png'));
    for (let p = 0; p < 25 * 19; p++) expect(out.data[p * 4 + 3]).toBe(input.data[p * 4 + 3]);
    const h = await cli(['degrade', '--help'], dir);
    expect(h.code).toBe(0);
    for (const flag of ['--rain <spec>', '--haze <spec>', '--low-light <spec>', '--motion-blur <spec>', '--defocus <radius>']) expect(h.stdout).toContain(flag);
    expect(h.stdout).toMatch(/heavy\s+density=0\.01,length=20\.\.40,angle=-30\.\.30/);
    expect(h.stdout).toContain('--degrade rain:heavy,angle=20,noise:10');
  });
});

describe('restorekit eval', () => {
  it('--degrade haze:beta=1.5,airlight=0.9 measures what degrade --haze writes', async () => {
    const r = await cli(
      ['eval', 'clean', '--degrade', 'haze:beta=1.5,airlight=0.9', '--seed', '3', '--model', 'restormer:tiny', '--weights', 'tiny.safetensors', '--json'],
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { degradation: string; images: { name: string; degraded: { psnr: number } }[] };
    expect(j.degradation).toBe('haze:beta=1.5,airlight=0.9');
    expect(j.images.map((i) => i.name)).toEqual(['a.png', 'b.png']);
    const d = await cli(['degrade', 'clean', '-o', 'deg-haze', '--haze', 'beta=1.5,airlight=0.9', '--seed', '3'], dir);
    expect(d.code, d.stderr).toBe(0);
    const clean = await readImage(at('clean', 'a.png'));
    const hazy = await readImage(at('deg-haze', 'a.png'));
    const p = await psnr({ data: hazy.data, shape: [32, 40, 3] }, { data: clean.data, shape: [32, 40, 3] }, { dataRange: 255 });
    expect(p).toBeCloseTo(j.images[0]!.degraded.psnr, 10);
    expect(p).toBeGreaterThan(5);
    expect(p).toBeLessThan(25);
  });

  it('--degrade noise:25 --json gives per-image and mean PSNR/SSIM as JSON only (no progress on stdout)', async () => {
    const r = await cli(['eval', 'clean', '--degrade', 'noise:25', '--seed', '1', '--model', 'restormer:tiny', '--weights', 'tiny.safetensors', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      model: string;
      degradation: string;
      images: { name: string; degraded: { psnr: number; ssim: number }; restored: { psnr: number; ssim: number } }[];
      mean: { degraded: { psnr: number; ssim: number }; restored: { psnr: number; ssim: number } };
      failed: unknown[];
    };
    expect(j.model).toBe('restormer:tiny');
    expect(j.degradation).toBe('noise:25');
    expect(j.images.map((i) => i.name)).toEqual(['a.png', 'b.png']);
    for (const i of j.images) {
      expect(i.degraded.psnr).toBeGreaterThan(19.5);
      expect(i.degraded.psnr).toBeLessThan(21.5);
      expect(i.degraded.ssim).toBeGreaterThan(0);
      expect(i.degraded.ssim).toBeLessThan(1);
      expect(Number.isFinite(i.restored.psnr)).toBe(true);
    }
    expect(j.mean.degraded.psnr).toBeCloseTo((j.images[0]!.degraded.psnr + j.images[1]!.degraded.psnr) / 2, 10);
    expect(j.mean.restored.ssim).toBeCloseTo((j.images[0]!.restored.ssim + j.images[1]!.restored.ssim) / 2, 10);
    expect(j.failed).toEqual([]);
    expect(r.stderr).toContain('backend: wasm');
    expect(r.stderr).not.toContain('evaluated');

    // `degrade` with the same seed writes exactly what eval --degrade measured: --degraded pairs them by name.
    const d = await cli(['degrade', 'clean', '-o', 'deg-eval', '--noise', '25', '--seed', '1'], dir);
    expect(d.code).toBe(0);
    const t = await cli(['eval', 'clean', '--degraded', 'deg-eval', '--model', 'restormer:tiny', '--weights', 'tiny.safetensors'], dir);
    expect(t.code, t.stderr).toBe(0);
    const row = (name: string) =>
      t.stdout
        .split('\n')
        .find((l) => l.startsWith(name))!
        .trim()
        .split(/\s+/);
    const a = j.images[0]!;
    expect(row('a.png').slice(1)).toEqual([a.degraded.psnr.toFixed(2), a.degraded.ssim.toFixed(4), a.restored.psnr.toFixed(2), a.restored.ssim.toFixed(4)]);
    expect(row('mean')[2]).toBe(j.mean.degraded.psnr.toFixed(2));
  });

  it('--crop-border and --y change the numbers as BasicSR does (Y PSNR of RGB noise is higher)', async () => {
    expect((await cli(['degrade', 'clean', '-o', 'deg-y', '--noise', '25', '--seed', '3'], dir)).code).toBe(0);
    const base = ['eval', 'clean', '--degraded', 'deg-y', '--model', 'restormer:tiny', '--weights', 'tiny.safetensors', '--json'];
    const rgb = JSON.parse((await cli(base, dir)).stdout) as { mean: { degraded: { psnr: number } } };
    const y = JSON.parse((await cli([...base, '--y', '--crop-border', '4'], dir)).stdout) as {
      protocol: { cropBorder: number; testYChannel: boolean };
      mean: { degraded: { psnr: number } };
    };
    expect(y.protocol).toMatchObject({ cropBorder: 4, testYChannel: true });
    // Independent noise per channel averages down in Y = 0.257R + 0.504G + 0.098B: about 4 dB more.
    expect(y.mean.degraded.psnr - rgb.mean.degraded.psnr).toBeGreaterThan(2);
  });

  it('--float feeds the model the float noisy image (the SwinIR/Restormer protocol): its output is what the model gives on that tensor', async () => {
    const base = [
      'eval',
      'clean/a.png',
      '--degrade',
      'noise:25',
      '--seed',
      '7',
      '--model',
      'restormer:tiny',
      '--weights',
      'tiny.safetensors',
      '--tile',
      '64',
      '--json',
      // the backend this file computes on (node-cpu), so that the CLI and the computation by hand below run the same
      // ops: on another backend rounding moves a few 8-bit pixels and the PSNRs apart by ~1e-4 dB
      '--backend',
      'cpu',
    ];
    const f = await cli([...base, '--float'], dir);
    expect(f.code, f.stderr).toBe(0);
    const j = JSON.parse(f.stdout) as {
      float: boolean;
      protocol: { modelInput: string };
      images: { degraded: { psnr: number }; restored: { psnr: number } }[];
    };
    expect(j.float).toBe(true);
    expect(j.protocol.modelInput).toMatch(/^float/);
    // The same computation by hand: clean/255 + 25/255·N(0,1) from Rng.forName(7, 'a.png'), the model on that float
    // tensor (one tile: the image is 40×32), outputs and the noisy image clamped and rounded to 8 bits. The clean image
    // goes to float as the runtime converts it (convertDepth: v·(1/255) in float32) and the sum is rounded to float32,
    // so the model gets the CLI's tensor bit for bit: an input one float32 step off (v/255 in float64) moved a few
    // 8-bit output pixels and the PSNR past its 4-decimal check for some random weights in one CI run.
    const clean = await readImage(at('clean', 'a.png'), { depth: 8 });
    const rng = Rng.forName(7, 'a.png');
    const noisy = Float32Array.from(convertDepth(clean.data, 32) as Float32Array, (v) => v + (25 / 255) * rng.normal());
    const model = await createModel('restormer', { preset: 'tiny', weights: await loadCheckpoint(at('tiny.safetensors')) });
    const y = tf.tidy(() => model.apply(tf.tensor4d(noisy, [1, clean.height, clean.width, 3])) as tf.Tensor);
    const out = await y.data();
    tf.dispose(y);
    model.dispose();
    const q = (v: ArrayLike<number>) => Uint8Array.from(v as Float32Array, (x) => (x > 0 ? (x < 1 ? Math.round(x * 255) : 255) : 0));
    const ref = { data: clean.data as Uint8Array, shape: [clean.height, clean.width, 3] as [number, number, number] };
    const o = { dataRange: 255 };
    expect(j.images[0]!.degraded.psnr).toBeCloseTo(await psnr({ data: q(noisy), shape: ref.shape }, ref, o), 10);
    expect(j.images[0]!.restored.psnr).toBeCloseTo(await psnr({ data: q(out), shape: ref.shape }, ref, o), 10);
    // 8-bit mode: the same noise, but the model gets the clipped, rounded image: another output.
    const e = JSON.parse((await cli(base, dir)).stdout) as { float: boolean; images: { degraded: { psnr: number }; restored: { psnr: number } }[] };
    expect(e.float).toBe(false);
    expect(e.images[0]!.degraded.psnr).toBeCloseTo(j.images[0]!.degraded.psnr, 10);
    expect(e.images[0]!.restored.psnr).not.toBe(j.images[0]!.restored.psnr);
    // usage errors: no --degrade, or a JPEG step
    expect((await cli(['eval', 'clean', '--degraded', 'deg-y', '--float', '--model', 'restormer:tiny'], dir)).code).toBe(2);
    const jp = await cli(['eval', 'clean', '--degrade', 'noise:25,jpeg:40', '--float', '--model', 'restormer:tiny'], dir);
    expect(jp.code).toBe(2);
    expect(jp.stderr).toMatch(/--float keeps the degraded image in float, and a jpeg: step makes it 8-bit/);
  });
});

describe('restorekit convert', () => {
  it('converts the official-layout .pth ({params: ...}) to safetensors with the same tensors', async () => {
    const r = await cli(['convert', pth('restormer_params.pth'), 'restormer.safetensors'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote restormer\.safetensors: 98 tensors, 208,225 values/);
    const want = await loadCheckpoint(join(fixtures, 'restormer', 'restormer_full_withbias.safetensors'));
    const got = await loadCheckpoint(at('restormer.safetensors'));
    const keys = Object.keys(want).filter((k) => !k.startsWith('__'));
    expect(Object.keys(got).sort()).toEqual(keys.sort());
    for (const k of keys) {
      expect(got[k]!.shape, k).toEqual(want[k]!.shape);
      expect(got[k]!.data, k).toEqual(want[k]!.data);
    }
  });

  it('--model checks every key strictly: a model that fits writes its keys (exit 0); one that does not names the keys (exit 1)', async () => {
    const ok = await cli(['convert', 'tiny.safetensors', 'tiny-checked.safetensors', '--model', 'restormer:tiny'], dir);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('every key fits restormer:tiny');
    const a = await loadCheckpoint(at('tiny.safetensors'));
    const b = await loadCheckpoint(at('tiny-checked.safetensors'));
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const k of Object.keys(a)) expect(b[k]!.data, k).toEqual(a[k]!.data);

    // The fixture is Restormer dim 8 with heads [1, 2, 4, 8]: restormer:tiny has heads [1, 1, 2, 2]. Converted first
    // without a model (that works), then checked against restormer:tiny: every mis-shaped key is named.
    expect((await cli(['convert', pth('restormer_params.pth'), 'fixture.safetensors'], dir)).code).toBe(0);
    const bad = await cli(['convert', 'fixture.safetensors', 'bad.safetensors', '--model', 'restormer:tiny'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('fixture.safetensors does not fit restormer:tiny');
    expect(bad.stderr).toContain('shape mismatches (5)');
    expect(bad.stderr).toMatch(/encoder_level2\.0\.attn\.temperature expected \[1, 1, 1\] got \[2, 1, 1\]/);
    expect(bad.stderr).toContain('latent.0.attn.temperature');
    expect(existsSync(at('bad.safetensors'))).toBe(false);

    const wrongFamily = await cli(['convert', pth('restormer_params.pth'), 'bad2.safetensors', '--model', 'drcnet:tiny'], dir);
    expect(wrongFamily.code).toBe(1);
    expect(wrongFamily.stderr).toMatch(/missing keys \(\d+\)/);
    expect(wrongFamily.stderr).toMatch(/unexpected keys \(98\): decoder_level1\.0\.attn\.project_out\.weight, .*… \(86 more\)/);
  });
});

describe('restorekit: errors and exit codes', () => {
  it('usage errors exit 2 and name what is valid: unknown flag, command, model, preset, backend; webgl in Node; missing -o', async () => {
    const cases: [string[], RegExp][] = [
      [['restore', 'clean/a.png', '-o', 'x.png', '--frobnicate'], /unknown option '--frobnicate'/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [
        ['restore', 'clean/a.png', '-o', 'x.png', '--model', 'restormr'],
        /unknown model 'restormr' \(did you mean 'restormer'\?\) \(models: (?=.*anyir)(?=.*drcnet)(?=.*restormer)/,
      ],
      [['restore', 'clean/a.png', '-o', 'x.png', '--model', 'restormer:huge'], /no preset 'huge' \(presets: official, official-biasfree, .*tiny\)/],
      [['restore', 'clean/a.png', '-o', 'x.png', '--backend', 'cuda'], /argument 'cuda' is invalid\. Allowed choices are cpu, wasm, webgl, webgpu, tensorflow/],
      [['restore', 'clean/a.png', '-o', 'x.png', '--backend', 'webgl'], /'webgl' runs in browsers only; in Node use cpu, wasm, tensorflow/],
      [['restore', 'clean/a.png'], /required option '-o, --output <path>' not specified/],
      [['restore', 'clean/a.png', '-o', 'x.png', '--tile', '64', '--overlap', '40'], /--overlap 40 is more than half of --tile 64/],
      [['degrade', 'clean/a.png', '-o', 'x.png'], /nothing to do/],
      [['eval', 'clean', '--degrade', 'snow:3'], /unknown degradation 'snow'.*rain/],
      [['degrade', 'clean/a.png', '-o', 'x.png', '--rain', 'drizzle'], /unknown rain preset 'drizzle'/],
      [['degrade', 'clean/a.png', '-o', 'x.png', '--haze', 'beta=-1'], /haze: option 'beta' must be/],
      [['convert', pth('restormer_params.pth'), 'out.bin'], /must end in \.safetensors/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args, dir);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(existsSync(at('x.png'))).toBe(false);
    }
  });

  it('failures exit 1 and name the file and the reason: a missing input, missing weights, a corrupt checkpoint', async () => {
    const missing = await cli(['restore', 'clean/nope.png', '-o', 'x.png', '--model', 'restormer:tiny'], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('clean/nope.png: no such file or directory');

    const noWeights = await cli(['restore', 'clean/a.png', '-o', 'x.png', '--model', 'restormer:tiny', '--weights', 'nope.pth'], dir);
    expect(noWeights.code).toBe(1);
    expect(noWeights.stderr).toContain('weights file nope.pth: no such file');

    const truncated = await cli(['restore', 'clean/a.png', '-o', 'x.png', '--model', 'restormer:tiny', '--weights', pth('truncated.pth')], dir);
    expect(truncated.code).toBe(1);
    expect(truncated.stderr).toMatch(/truncated\.pth: truncated or not a zip/);

    const convert = await cli(['convert', pth('truncated.pth'), 'x.safetensors'], dir);
    expect(convert.code).toBe(1);
    expect(convert.stderr).toMatch(/truncated\.pth: truncated/);

    const refused = await cli(['convert', pth('malicious_os_system.pth'), 'x.safetensors'], dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/malicious_os_system\.pth.*refusing to call/);
    expect(existsSync(at('x.png')) || existsSync(at('x.safetensors'))).toBe(false);
  });

  it('a folder with one unreadable image: the others are written, the bad one is named, exit 1, and nothing already there is lost', async () => {
    mkdirSync(at('partly'));
    await writeTestImage(at('partly', 'a.png'), 20, 18);
    writeFileSync(at('partly', 'broken.png'), 'not a PNG at all');
    await writeTestImage(at('partly', 'c.png'), 17, 23);
    mkdirSync(at('out-partly'));
    writeFileSync(at('out-partly', 'broken.png'), 'an earlier result');
    const r = await cli(['restore', 'partly', '-o', 'out-partly', '--model', 'restormer:tiny'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: partly\/broken\.png: cannot read the image: /);
    expect(r.stderr).toContain('1 of 3 images failed; 2 written');
    expect((await readImage(at('out-partly', 'a.png'))).width).toBe(20);
    expect((await readImage(at('out-partly', 'c.png'))).height).toBe(23);
    expect(readFileSync(at('out-partly', 'broken.png'), 'utf8')).toBe('an earlier result');
    expect(readdirSync(at('out-partly')).sort()).toEqual(['a.png', 'broken.png', 'c.png']);
  });
});

describe('restorekit: the backend', () => {
  /** A project folder whose @tensorflow/tfjs-node is `code` (a stand-in: the real one needs a native build). */
  function project(name: string, code: string): string {
    const p = at(name);
    mkdirSync(join(p, 'node_modules', '@tensorflow', 'tfjs-node'), { recursive: true });
    writeFileSync(
      join(p, 'node_modules', '@tensorflow', 'tfjs-node', 'package.json'),
      JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0', main: 'index.js' }),
    );
    writeFileSync(join(p, 'node_modules', '@tensorflow', 'tfjs-node', 'index.js'), code);
    return p;
  }

  it('prefers tensorflow when @tensorflow/tfjs-node resolves from the working folder; --backend overrides it', async () => {
    const req = createRequire(join(pkgDir, 'package.json'));
    // Registers tfjs's cpu kernels under the name 'tensorflow' in the CLI's own tfjs-core, as tfjs-node would.
    const cwd = project(
      'with-tfjs-node',
      `const tf = require(${JSON.stringify(req.resolve('@tensorflow/tfjs-core'))});
const { MathBackendCPU } = require(${JSON.stringify(req.resolve('@tensorflow/tfjs-backend-cpu'))});
tf.registerBackend('tensorflow', () => new MathBackendCPU(), 0);
for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'tensorflow' });
`,
    );
    const r = await cli(['restore', at('clean', 'b.png'), '-o', 'b.png', '--model', 'restormer:tiny', '--weights', at('tiny.safetensors')], cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('backend: tensorflow (found @tensorflow/tfjs-node)');
    // Under it, libtensorflow's CPU engine: oneDNN on or off and why, and the variable that switches it.
    const off = await cli(['restore', at('clean', 'b.png'), '-o', 'b-off.png', '--model', 'restormer:tiny', '--weights', at('tiny.safetensors')], cwd, {
      TF_ENABLE_ONEDNN_OPTS: '0',
    });
    expect(off.code, off.stderr).toBe(0);
    expect(off.stderr).toContain(
      'backend: tensorflow (found @tensorflow/tfjs-node)\ntensorflow: oneDNN off (TF_ENABLE_ONEDNN_OPTS=0); TF_ENABLE_ONEDNN_OPTS=1 turns it on: faster or slower by CPU and model, restorekit bench tells\n',
    );
    // restorekit bench records it with the figures, in the JSON and the table's environment line.
    const bj = await cli(['bench', '--backends', 'tensorflow', '--models', 'restormer:tiny', '--sizes', '8', '--runs', '1', '--warmup', '0', '--json'], cwd, {
      TF_ENABLE_ONEDNN_OPTS: 'true',
    });
    expect(bj.code, bj.stderr).toBe(0);
    const env = (JSON.parse(bj.stdout) as { environment: { backends: Record<string, unknown> } }).environment.backends.tensorflow;
    expect(env).toMatchObject({ ok: true, package: '@tensorflow/tfjs-node@4.22.0', oneDNN: true, oneDNNWhy: 'TF_ENABLE_ONEDNN_OPTS=true' });
    // TF's pooling allocator for CPU tensors, unless the environment says otherwise.
    if (process.env.TF_CPU_ALLOCATOR_USE_BFC === undefined) expect(env).toMatchObject({ bfcAllocator: true });
    const t = await cli(['bench', '--backends', 'tensorflow', '--models', 'restormer:tiny', '--sizes', '8', '--runs', '1', '--warmup', '0'], cwd, {
      TF_ENABLE_ONEDNN_OPTS: '0',
    });
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain('tensorflow: @tensorflow/tfjs-node@4.22.0, oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)');
    const w = await cli(
      ['restore', at('clean', 'b.png'), '-o', 'b-wasm.png', '--model', 'restormer:tiny', '--weights', at('tiny.safetensors'), '--backend', 'wasm'],
      cwd,
    );
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toContain('backend: wasm (--backend)');
    const a = await readImage(join(cwd, 'b.png'));
    const b = await readImage(join(cwd, 'b-wasm.png'));
    let maxDiff = 0;
    for (let i = 0; i < a.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.data[i]! - b.data[i]!));
    expect(maxDiff).toBeLessThanOrEqual(1);
  });

  it('a tfjs-node that registers no backend in this tfjs-core: a warning, then wasm; --backend tensorflow is then a failure (exit 1)', async () => {
    const cwd = project('broken-tfjs-node', 'module.exports = {};\n');
    const r = await cli(['restore', at('clean', 'b.png'), '-o', 'b.png', '--model', 'restormer:tiny'], cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /warning: tensorflow: @tensorflow\/tfjs-node registered its backend in another copy of @tensorflow\/tfjs-core .*: using the next backend/,
    );
    expect(r.stderr).toContain('backend: wasm');
    const t = await cli(['restore', at('clean', 'b.png'), '-o', 'b2.png', '--model', 'restormer:tiny', '--backend', 'tensorflow'], cwd);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/tfjs-node loaded but registered its backend in another copy/);
    const none = await cli(['restore', 'clean/b.png', '-o', 'b3.png', '--model', 'restormer:tiny', '--backend', 'tensorflow'], dir);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/needs @tensorflow\/tfjs-node .* installed in your project/);
  });
});
