/** The CLI's parts in-process: argument parsing, model choice, output planning, seeding, progress bars, `run(argv)`. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { exportTorchStateDict, serializeSafetensors } from '@restorekit/core';
import { createModel, listModels } from '@restorekit/models';
import {
  degradeImage,
  formatDegradeSpec,
  parseBlur,
  parseDefocus,
  parseDegradeSpec,
  parseHaze,
  parseJpeg,
  parseLowLight,
  parseMotionBlur,
  parseNoise,
  parseRain,
  parseSeed,
  rngFor,
} from './degrade.js';
import { tensorflowCpuLine } from './backend.js';
import { UsageError } from './errors.js';
import { listInputs, planOutputs } from './files.js';
import { DEFAULT_MODEL, run } from './index.js';
import { buildModel, defaultModel, modelsPackageDir, parseModel, shippedWeights } from './models.js';
import { Ui } from './progress.js';
import { parseOverlap, parseTile, parseWorkers } from './restorer.js';
import { pkgDir, testImage } from './test-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'restorekit-cli-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stream that records what is written; `isTTY` as given. */
function sink(isTTY = false) {
  const chunks: string[] = [];
  return { chunks, isTTY, columns: 100, text: () => chunks.join(''), write: (s: string) => chunks.push(s) };
}

describe('--model', () => {
  it('family[:preset], the family default preset when none is given', () => {
    expect(parseModel('restormer:tiny')).toEqual({ family: 'restormer', preset: 'tiny', id: 'restormer:tiny' });
    expect(parseModel('anyir')).toEqual({ family: 'anyir', preset: 'official', id: 'anyir:official' });
    expect(parseModel('drcnet:')).toMatchObject({ id: 'drcnet:official' });
  });

  it('unknown families and presets are usage errors listing the valid ones', () => {
    expect(() => parseModel('nafnet')).toThrow(UsageError);
    expect(() => parseModel('nafnet')).toThrow(/models: (?=.*anyir)(?=.*drcnet)(?=.*restormer)/);
    expect(() => parseModel('anyir:huge')).toThrow(/presets: official, dim32, small, tiny/);
    expect(() => parseModel('a:b:c')).toThrow(/expected <family>\[:<preset>\]/);
  });

  it('the default model is the first registered entry of DEFAULT_MODEL, and a preset that exists', () => {
    const known = listModels().map((m) => m.name);
    const first = DEFAULT_MODEL.find((id) => known.includes(id.split(':')[0]!))!;
    expect(defaultModel().id).toBe(first);
    expect(
      listModels()
        .find((m) => m.name === defaultModel().family)!
        .presets.map((p) => p.name),
    ).toContain(defaultModel().preset);
  });
});

describe('weights', () => {
  it("a preset's shipped weights are @restorekit/models' weights/<family>-<preset>.safetensors; they load without --weights", async () => {
    const models = join(dir, 'fake-models');
    mkdirSync(join(models, 'weights'), { recursive: true });
    const tiny = parseModel('restormer:tiny');
    expect(shippedWeights(tiny, models)).toBeNull();
    expect(shippedWeights(tiny, null)).toBeNull();
    expect(modelsPackageDir()).toBe(realpathSync(join(pkgDir, 'node_modules', '@restorekit', 'models')));
    const net = await createModel('restormer', { preset: 'tiny' });
    tf.tidy(() => void net.apply(tf.zeros([1, 8, 8, 3])));
    const sd = await exportTorchStateDict(net);
    net.dispose();
    const file = join(models, 'weights', 'restormer-tiny.safetensors');
    writeFileSync(file, serializeSafetensors(sd));
    expect(shippedWeights(tiny, models)).toBe(file);

    const said: string[] = [];
    const built = await buildModel(tiny, undefined, dir, (l) => said.push(l), models);
    expect(built.weights).toBe(file);
    expect(said).toEqual([`weights: restormer:tiny's shipped weights (${file})`]);
    const loaded = await exportTorchStateDict(built.model);
    built.model.dispose();
    for (const k of Object.keys(sd)) expect(loaded[k]!.data, k).toEqual(sd[k]!.data);

    // Without shipped weights (and no --weights): random weights, said as a warning.
    const none: string[] = [];
    const random = await buildModel(tiny, undefined, dir, (l) => none.push(l), join(dir, 'no-such-models'));
    random.model.dispose();
    expect(random.weights).toBeNull();
    expect(none).toHaveLength(1);
    expect(none[0]).toMatch(/^warning: .*restormer:tiny ships no weights: the model's weights are random/);
  });
});

describe('option values', () => {
  it('numbers are checked, with the reason', () => {
    expect(parseTile('256')).toBe(256);
    expect(() => parseTile('0')).toThrow(InvalidArgumentError);
    expect(() => parseTile('12px')).toThrow(/positive integer/);
    expect(parseOverlap('0')).toBe(0);
    expect(() => parseOverlap('-1')).toThrow(InvalidArgumentError);
    expect(parseWorkers('auto')).toBe('auto');
    expect(parseWorkers('3')).toBe(3);
    expect(() => parseWorkers('0')).toThrow(/positive integer or 'auto'/);
    expect(parseNoise('25')).toBe(25);
    expect(parseNoise('0.5')).toBe(0.5);
    expect(() => parseNoise('-3')).toThrow(InvalidArgumentError);
    expect(() => parseNoise('lots')).toThrow(InvalidArgumentError);
    expect(parseJpeg('40')).toBe(40);
    expect(() => parseJpeg('101')).toThrow(/1 to 100/);
    expect(parseSeed('123456789')).toBe(123456789);
    expect(() => parseSeed('1.5')).toThrow(InvalidArgumentError);
  });

  it('--blur σ[:k]: the kernel defaults to 2·ceil(3σ)+1 and must be odd', () => {
    expect(parseBlur('2')).toEqual({ sigma: 2, kernelSize: 13 });
    expect(parseBlur('0.8')).toEqual({ sigma: 0.8, kernelSize: 7 });
    expect(parseBlur('1.5:21')).toEqual({ sigma: 1.5, kernelSize: 21 });
    expect(() => parseBlur('1.5:20')).toThrow(/odd/);
    expect(() => parseBlur('0')).toThrow(InvalidArgumentError);
  });

  it('eval --degrade specs: comma-separated steps, each once', () => {
    expect(parseDegradeSpec('noise:25')).toEqual({ noise: 25 });
    expect(parseDegradeSpec('jpeg:40,blur:2:7,noise:15')).toEqual({ jpeg: 40, blur: { sigma: 2, kernelSize: 7 }, noise: 15 });
    expect(() => parseDegradeSpec('noise:25,noise:10')).toThrow(/given twice/);
    expect(() => parseDegradeSpec('snow:3')).toThrow(/unknown degradation 'snow'.*blur, defocus, motion-blur, haze, rain, low-light, noise, jpeg/);
    expect(() => parseDegradeSpec('noise')).toThrow(InvalidArgumentError);
  });

  it('rain, haze, low-light, motion-blur: a preset (default medium) and/or key=value settings, numbers or lo..hi ranges', () => {
    expect(parseRain('heavy')).toEqual({ density: 0.01, length: [20, 40], angle: [-30, 30], width: 1.5, intensity: 0.7 });
    expect(parseRain('density=0.004,length=25,angle=-15')).toEqual({ density: 0.004, length: 25, angle: -15, width: 1, intensity: 0.6 });
    expect(parseRain('light,angle=-5..5')).toMatchObject({ density: 0.002, angle: [-5, 5] });
    expect(parseHaze('beta=1.5')).toEqual({ beta: 1.5, airlight: 0.85 });
    expect(parseLowLight('heavy')).toEqual({ gamma: 2.5, scale: 0.2, a: 0.005, b: 0.01 });
    expect(parseMotionBlur('15')).toEqual({ size: 15, length: 14, expl: [0.001, 0.01], exposure: 1 });
    expect(parseMotionBlur('heavy,expl=0,length=12')).toEqual({ size: 31, length: 12, expl: 0, exposure: 1 });
    expect(parseDefocus('2.5')).toBe(2.5);
    const bad: [() => unknown, RegExp][] = [
      [() => parseRain('drizzle'), /unknown rain preset 'drizzle'.*light\|medium\|heavy/],
      [() => parseRain('density=-0.1'), /rain: option 'density' must be/],
      [() => parseRain('speed=3'), /rain: unknown key 'speed'.*density, length, angle, width, intensity/],
      [() => parseRain('angle=30..-30'), /angle=30\.\.-30 is not a number or a lo\.\.hi range/],
      [() => parseRain('length=5,length=6'), /'length' is given twice/],
      [() => parseHaze('airlight=2'), /haze: option 'airlight'/],
      [() => parseLowLight('gamma=0'), /low-light: option 'gamma'/],
      [() => parseMotionBlur('20'), /odd integer from 3 to 201/],
      [() => parseMotionBlur('11,length=15'), /option 'length' must be ≤ kernelSize − 1 = 10/],
      [() => parseDefocus('0'), /defocus radius/],
    ];
    for (const [f, message] of bad) {
      expect(f).toThrow(InvalidArgumentError);
      expect(f).toThrow(message);
    }
  });

  it('eval --degrade: keyed steps take key=value continuations; the report lists every setting in the order applied', () => {
    const spec = parseDegradeSpec('jpeg:40,rain:heavy,angle=20,noise:10,haze,defocus:2,motion-blur:9,expl=0');
    expect(spec).toEqual({
      jpeg: 40,
      rain: { density: 0.01, length: [20, 40], angle: 20, width: 1.5, intensity: 0.7 },
      noise: 10,
      haze: { beta: 1.2, airlight: 0.85 },
      defocus: 2,
      motionBlur: { size: 9, length: 8, expl: 0, exposure: 1 },
    });
    const text = formatDegradeSpec(spec);
    expect(text).toBe(
      'defocus:2,motion-blur:size=9,length=8,expl=0,exposure=1,haze:beta=1.2,airlight=0.85,rain:density=0.01,length=20..40,angle=20,width=1.5,intensity=0.7,noise:10,jpeg:40',
    );
    // The report parses back to the same spec.
    expect(parseDegradeSpec(text)).toEqual(spec);
    expect(parseDegradeSpec('low-light:gamma=2.2,scale=0.3')).toEqual({ lowLight: { gamma: 2.2, scale: 0.3, a: 0.002, b: 0.005 } });
    expect(() => parseDegradeSpec('noise:25,angle=20')).toThrow(/'angle=20' follows noise, which takes no key=value settings/);
    expect(() => parseDegradeSpec('rain:light,rain:heavy')).toThrow(/'rain' is given twice/);
  });
});

describe('degradations', () => {
  it('each image has its own generator, fixed by the seed and its file name', () => {
    const draw = (seed: number, name: string) =>
      Array.from(
        { length: 4 },
        (
          (r) => () =>
            r.uint32()
        )(rngFor(seed, name)),
      );
    expect(draw(1, 'a.png')).toEqual(draw(1, 'a.png'));
    expect(draw(1, 'a.png')).not.toEqual(draw(2, 'a.png'));
    expect(draw(1, 'a.png')).not.toEqual(draw(1, 'b.png'));
    expect(draw(2 ** 53 - 1, 'x')).toHaveLength(4);
  });

  it('noise keeps the size, channels and depth; alpha is untouched; σ 0 with no other step leaves 8-bit pixels as they are', async () => {
    const rgba = testImage(19, 13, 4);
    const out = await degradeImage(rgba, { noise: 25 }, rngFor(0, 'x.png'));
    expect([out.width, out.height, out.channels, out.data.constructor]).toEqual([19, 13, 4, Uint8Array]);
    for (let p = 0; p < 19 * 13; p++) expect(out.data[p * 4 + 3]).toBe(rgba.data[p * 4 + 3]);
    let changed = 0;
    for (let p = 0; p < 19 * 13 * 4; p++) if (p % 4 !== 3 && out.data[p] !== rgba.data[p]) changed++;
    expect(changed).toBeGreaterThan(19 * 13 * 3 * 0.8);
    const same = await degradeImage(rgba, { noise: 0 }, rngFor(0, 'x.png'));
    expect(Array.from(same.data)).toEqual(Array.from(rgba.data));
    const gray16 = { data: Uint16Array.from(testImage(9, 7, 1).data, (v) => v * 257), width: 9, height: 7, channels: 1 as const };
    const g = await degradeImage(gray16, { blur: { sigma: 1, kernelSize: 7 }, jpeg: 90 }, rngFor(0, 'g.png'));
    expect([g.width, g.height, g.channels, g.data.constructor]).toEqual([9, 7, 1, Uint16Array]);
  });

  it('the new steps keep size, channels and depth; rain only brightens; the same generator gives the same pixels', async () => {
    const rgb = testImage(33, 25, 3);
    const rain = parseRain('heavy');
    const a = await degradeImage(rgb, { rain }, rngFor(1, 'a.png'));
    const b = await degradeImage(rgb, { rain }, rngFor(1, 'a.png'));
    const c = await degradeImage(rgb, { rain }, rngFor(2, 'a.png'));
    expect([a.width, a.height, a.channels, a.data.constructor]).toEqual([33, 25, 3, Uint8Array]);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
    let brighter = 0;
    for (let i = 0; i < a.data.length; i++) {
      expect(a.data[i]!).toBeGreaterThanOrEqual(rgb.data[i]!);
      if (a.data[i]! > rgb.data[i]!) brighter++;
    }
    expect(brighter).toBeGreaterThan(0);
    // Every step at once, on a 16-bit gray image with the order fixed by the spec, not by how it was written.
    const gray16 = { data: Uint16Array.from(testImage(24, 20, 1).data, (v) => v * 257), width: 24, height: 20, channels: 1 as const };
    const all = parseDegradeSpec('jpeg:60,noise:5,low-light:light,rain:light,haze:light,motion-blur:7,defocus:1.5,blur:0.8');
    const g = await degradeImage(gray16, all, rngFor(0, 'g.png'));
    expect([g.width, g.height, g.channels, g.data.constructor]).toEqual([24, 20, 1, Uint16Array]);
    const again = await degradeImage(gray16, parseDegradeSpec(formatDegradeSpec(all)), rngFor(0, 'g.png'));
    expect(Array.from(g.data)).toEqual(Array.from(again.data));
    // Haze pulls every pixel towards the airlight A = 0.8 (204 on 8 bits): the spread shrinks.
    const hazy = await degradeImage(rgb, { haze: parseHaze('heavy,airlight=0.8') }, rngFor(0, 'h.png'));
    const spread = (d: ArrayLike<number>) => Math.max(...Array.from(d)) - Math.min(...Array.from(d));
    expect(spread(hazy.data)).toBeLessThan(spread(rgb.data));
    for (let i = 0; i < rgb.data.length; i++) expect(Math.abs(hazy.data[i]! - 204)).toBeLessThanOrEqual(Math.abs(rgb.data[i]! - 204) + 1);
  });
});

describe('inputs and outputs', () => {
  it('a folder lists its images (sorted, hidden files and other files skipped); a missing input is an item with its reason', () => {
    const f = join(dir, 'imgs');
    mkdirSync(f);
    for (const n of ['b.PNG', 'a.jpg', '.hidden.png', 'notes.txt']) writeFileSync(join(f, n), '');
    const l = listInputs(['imgs', 'missing.png'], dir);
    expect(l.many).toBe(true);
    expect(l.items).toEqual([
      { path: join('imgs', 'a.jpg'), name: 'a.jpg' },
      { path: join('imgs', 'b.PNG'), name: 'b.PNG' },
      { path: 'missing.png', name: 'missing.png', error: 'no such file or directory' },
    ]);
    mkdirSync(join(dir, 'empty'));
    expect(listInputs(['empty'], dir).items[0]!.error).toMatch(/no image files/);
  });

  it('one file goes to a file (or into an existing folder / a path ending in /); several to a folder', () => {
    writeFileSync(join(dir, 'one.png'), '');
    const single = listInputs(['one.png'], dir);
    expect(planOutputs(single, 'res/out.png', dir)).toEqual({ paths: [join(dir, 'res', 'out.png')], folder: false });
    expect(planOutputs(single, 'res/', dir)).toEqual({ paths: [join(dir, 'res', 'one.png')], folder: true });
    expect(planOutputs(single, 'res', dir)).toEqual({ paths: [join(dir, 'res', 'one.png')], folder: true });
    expect(() => planOutputs(single, 'out.bmp', dir)).toThrow(/cannot tell the image format/);
    expect(() => planOutputs(single, 'one.png', dir)).toThrow(/would overwrite the input/);
    mkdirSync(join(dir, 'x'));
    mkdirSync(join(dir, 'y'));
    writeFileSync(join(dir, 'x', 'same.png'), '');
    writeFileSync(join(dir, 'y', 'same.png'), '');
    expect(() => planOutputs(listInputs(['x', 'y'], dir), 'both', dir)).toThrow(/would both be written to/);
    expect(() => planOutputs(listInputs(['x'], dir), 'all.png', dir)).toThrow(/written into a folder; give a folder, not a file name/);
  });
});

describe("the tensorflow line (libtensorflow's CPU engine)", () => {
  it('says on or off and why, and the variable that switches it; where restorekit turned oneDNN off as a hazard, that forcing it is at that risk', () => {
    expect(tensorflowCpuLine({ oneDNN: true, why: "libtensorflow's default on this CPU (avx512_vnni)", bfcAllocator: true })).toBe(
      "tensorflow: oneDNN on (libtensorflow's default on this CPU (avx512_vnni)); TF_ENABLE_ONEDNN_OPTS=0 turns it off: faster or slower by CPU and model, restorekit bench tells",
    );
    expect(tensorflowCpuLine({ oneDNN: null, why: "libtensorflow's default on darwin-arm64", bfcAllocator: false })).toBe(
      "tensorflow: oneDNN: libtensorflow decides (libtensorflow's default on darwin-arm64); TF_ENABLE_ONEDNN_OPTS=0 or 1 sets it: faster or slower by CPU and model, restorekit bench tells",
    );
    const hazard =
      'this CPU reports no cache hierarchy (no /sys/devices/system/cpu/cpu0/cache), and there oneDNN can kill the process (SIGFPE) and compute wrong gradients';
    expect(tensorflowCpuLine({ oneDNN: false, why: `restorekit's default: ${hazard}`, bfcAllocator: true, hazard })).toBe(
      `tensorflow: oneDNN off (restorekit's default: ${hazard}); TF_ENABLE_ONEDNN_OPTS=1 forces it on, at that risk`,
    );
  });
});

describe('progress bars', () => {
  it('none when stderr is not a terminal, or with progress: false; messages still go through', async () => {
    for (const [tty, progress] of [
      [false, undefined],
      [true, false],
    ] as const) {
      const s = sink(tty);
      const ui = new Ui(s, { progress, delayMs: 0 });
      const bar = ui.bar('tiles', 4);
      await new Promise((r) => setTimeout(r, 20));
      bar.update(2);
      ui.log('a message');
      bar.done();
      ui.stop();
      expect(s.text()).toBe('a message\n');
    }
  });

  it('shown once the work has taken longer than the delay, never for quicker work', async () => {
    const quick = sink(true);
    const q = new Ui(quick, { delayMs: 200 });
    const qb = q.bar('tiles', 3);
    qb.update(3);
    qb.done();
    await new Promise((r) => setTimeout(r, 250));
    expect(quick.text()).toBe('');

    const slow = sink(true);
    const ui = new Ui(slow, { progress: true, delayMs: 10 });
    const bar = ui.bar('a.png tiles', 4);
    await new Promise((r) => setTimeout(r, 60));
    bar.update(2);
    ui.log('between');
    await new Promise((r) => setTimeout(r, 150));
    bar.done();
    ui.stop();
    expect(slow.text()).toContain('a.png tiles');
    expect(slow.text()).toContain('2/4');
    expect(slow.text()).toContain('between');
  });
});

describe('run(argv)', () => {
  it('resolves to the exit code and writes to the given streams', async () => {
    const out = sink();
    const err = sink();
    expect(await run(['models', '--json'], { stdout: out, stderr: err, cwd: dir })).toBe(0);
    expect((JSON.parse(out.text()) as { models: { name: string }[] }).models.map((m) => m.name)).toContain('restormer');
    const err2 = sink();
    expect(await run(['restore', 'one.png'], { stdout: sink(), stderr: err2, cwd: dir })).toBe(2);
    expect(err2.text()).toMatch(/required option '-o, --output <path>'/);
    const err3 = sink();
    expect(await run(['convert', 'nope.pth', 'x.safetensors'], { stdout: sink(), stderr: err3, cwd: dir })).toBe(1);
    expect(err3.text()).toContain('error: checkpoint nope.pth: no such file');
  });
});
