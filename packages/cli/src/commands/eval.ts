/**
 * `restorekit eval <clean dir> (--degraded <dir> | --degrade <spec>)`: PSNR and SSIM (BasicSR's `calculate_psnr` /
 * `calculate_ssim`, on 8-bit values; `--crop-border`, `--y`) of the degraded inputs and of the model's restorations,
 * per image and their mean. Degraded images are paired with clean ones by file name without extension.
 */
import { extname } from 'node:path';
import { psnr, ssim } from '@restorekit/metrics';
import type { ImageBuffer } from '@restorekit/runtime';
import { readImage } from '@restorekit/runtime/node';
import { abs, seconds, type Context } from '../context.js';
import { convertDepth } from '@restorekit/runtime';
import { degradeImage, degradeImageFloat, formatDegradeSpec, rngFor, type DegradeSpec } from '../degrade.js';
import { EXIT_FAILURE, EXIT_OK, FailureError, UsageError, reason } from '../errors.js';
import { listInputs } from '../files.js';
import { Restorer, resolveModelChoice, type ModelFlags } from '../restorer.js';

export interface EvalFlags extends ModelFlags {
  degraded?: string;
  degrade?: DegradeSpec;
  cropBorder: number;
  y?: boolean;
  json?: boolean;
  seed: number;
  /** Feed the model the degraded image in float (not clipped, not rounded); scores still on 8-bit values. */
  float?: boolean;
}

export interface Scores {
  psnr: number;
  ssim: number;
}

export interface EvalRow {
  name: string;
  width: number;
  height: number;
  degraded: Scores;
  restored: Scores;
}

const stem = (name: string) => name.slice(0, name.length - extname(name).length);

/** The color channels (alpha dropped) of an 8-bit image, as a metrics `{ data, shape }` image. */
function colorOf(image: ImageBuffer): { data: Uint8Array; shape: [number, number, number] } {
  const { width: w, height: h, channels } = image;
  const src = image.data as Uint8Array;
  if (channels !== 4) return { data: src, shape: [h, w, channels] };
  const out = new Uint8Array(w * h * 3);
  for (let p = 0; p < w * h; p++) out.set(src.subarray(p * 4, p * 4 + 3), p * 3);
  return { data: out, shape: [h, w, 3] };
}

async function score(a: ImageBuffer, b: ImageBuffer, cropBorder: number, y: boolean): Promise<Scores> {
  const options = { dataRange: 255, cropBorder, testYChannel: y };
  const [pa, pb] = [colorOf(a), colorOf(b)];
  return { psnr: await psnr(pa, pb, options), ssim: await ssim(pa, pb, options) };
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
/** JSON has no Infinity (identical images have infinite PSNR): written as null there. */
const finite = (x: number) => (Number.isFinite(x) ? x : null);

export async function evalCommand(ctx: Context, cleanDir: string, flags: EvalFlags): Promise<number> {
  if ((flags.degraded === undefined) === (flags.degrade === undefined))
    throw new UsageError('eval needs exactly one of --degraded <dir> (degraded images paired by name) or --degrade <spec> (e.g. noise:25)');
  if (flags.float && flags.degrade === undefined)
    throw new UsageError('--float needs --degrade (degraded files on disk are already rounded to their bit depth)');
  if (flags.float && flags.degrade?.jpeg !== undefined)
    throw new UsageError('--float keeps the degraded image in float, and a jpeg: step makes it 8-bit: drop one of them');
  const choice = resolveModelChoice(flags);
  const clean = listInputs([cleanDir], ctx.cwd);
  const degradedByStem = new Map<string, string[]>();
  if (flags.degraded !== undefined) {
    const d = listInputs([flags.degraded], ctx.cwd);
    const bad = d.items.find((it) => it.error !== undefined);
    if (bad && d.items.length === 1) throw new FailureError(`--degraded ${bad.path}: ${bad.error}`);
    for (const it of d.items) if (it.error === undefined) degradedByStem.set(stem(it.name), [...(degradedByStem.get(stem(it.name)) ?? []), it.path]);
  }
  const rows: EvalRow[] = [];
  const failures: { name: string; error: string }[] = [];
  const total = clean.items.length;
  for (const item of clean.items)
    if (item.error !== undefined) {
      failures.push({ name: item.path, error: item.error });
      ctx.ui.log(`error: ${item.path}: ${item.error}`);
    }
  if (failures.length === total) throw new FailureError(`nothing to evaluate in ${cleanDir}`);
  const restorer = await Restorer.create(ctx, choice, flags);
  const bar = total > 1 ? ctx.ui.bar('images', total) : null;
  try {
    for (const [i, item] of clean.items.entries()) {
      bar?.update(i, `images (${item.name})`);
      if (item.error !== undefined) continue;
      try {
        const t0 = performance.now();
        const cleanImage = await readImage(abs(ctx, item.path), { depth: 8 }).catch((e) => {
          throw new Error(`cannot read the image: ${reason(e)}`);
        });
        let degraded: ImageBuffer;
        let input: ImageBuffer | null = null;
        if (flags.degrade && flags.float) {
          // the model gets the float image; the degraded row is scored as a viewer sees it (clamped, rounded to 8 bits)
          input = degradeImageFloat(cleanImage as ImageBuffer<Uint8Array>, flags.degrade, rngFor(flags.seed, item.name));
          degraded = { ...input, data: convertDepth(input.data, 8) };
        } else if (flags.degrade) degraded = await degradeImage(cleanImage, flags.degrade, rngFor(flags.seed, item.name));
        else {
          const match = degradedByStem.get(stem(item.name)) ?? [];
          if (match.length !== 1)
            throw new Error(
              match.length ? `several degraded images match it: ${match.join(', ')}` : `no degraded image named ${stem(item.name)}.* in ${flags.degraded}`,
            );
          const path = match[0]!;
          degraded = await readImage(abs(ctx, path), { depth: 8 }).catch((e) => {
            throw new Error(`cannot read the degraded image ${path}: ${reason(e)}`);
          });
          if (degraded.width !== cleanImage.width || degraded.height !== cleanImage.height)
            throw new Error(`the degraded image ${path} is ${degraded.width}×${degraded.height}, the clean one ${cleanImage.width}×${cleanImage.height}`);
          if ((degraded.channels === 1) !== (cleanImage.channels === 1))
            throw new Error(`the degraded image ${path} has ${degraded.channels} channels, the clean one ${cleanImage.channels}`);
        }
        let restored = await restorer.restore(ctx, input ?? degraded, item.name);
        if (restored.data instanceof Float32Array) restored = { ...restored, data: convertDepth(restored.data, 8) }; // BasicSR tensor2img: clamp, round
        const row: EvalRow = {
          name: item.name,
          width: cleanImage.width,
          height: cleanImage.height,
          degraded: await score(degraded, cleanImage, flags.cropBorder, Boolean(flags.y)),
          restored: await score(restored, cleanImage, flags.cropBorder, Boolean(flags.y)),
        };
        rows.push(row);
        if (!flags.json) ctx.ui.log(`evaluated ${item.path} (${seconds(performance.now() - t0)})`);
      } catch (e) {
        failures.push({ name: item.path, error: reason(e) });
        ctx.ui.log(`error: ${item.path}: ${reason(e)}`);
      }
    }
    bar?.update(total);
  } finally {
    bar?.done();
    await restorer.close();
  }
  const means = rows.length
    ? {
        degraded: { psnr: mean(rows.map((r) => r.degraded.psnr)), ssim: mean(rows.map((r) => r.degraded.ssim)) },
        restored: { psnr: mean(rows.map((r) => r.restored.psnr)), ssim: mean(rows.map((r) => r.restored.ssim)) },
      }
    : null;
  if (flags.json) {
    const s = (x: Scores) => ({ psnr: finite(x.psnr), ssim: x.ssim });
    const report = {
      model: choice.id,
      weights: restorer.built.weights,
      degradation: flags.degrade ? formatDegradeSpec(flags.degrade) : null,
      degradedDir: flags.degraded ?? null,
      seed: flags.degrade ? flags.seed : null,
      float: Boolean(flags.float),
      protocol: {
        metrics: 'BasicSR calculate_psnr / calculate_ssim on 8-bit values',
        modelInput: flags.float ? 'float: degraded in float, not clipped or rounded' : '8-bit: degraded, clipped and rounded as a file',
        cropBorder: flags.cropBorder,
        testYChannel: Boolean(flags.y),
      },
      images: rows.map((r) => ({ ...r, degraded: s(r.degraded), restored: s(r.restored) })),
      mean: means && { degraded: s(means.degraded), restored: s(means.restored) },
      failed: failures,
    };
    ctx.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const p = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'inf');
    const q = (x: number) => x.toFixed(4);
    const table: string[][] = [['image', 'degraded PSNR', 'SSIM', 'restored PSNR', 'SSIM']];
    for (const r of rows) table.push([r.name, p(r.degraded.psnr), q(r.degraded.ssim), p(r.restored.psnr), q(r.restored.ssim)]);
    if (means) table.push([`mean (${rows.length})`, p(means.degraded.psnr), q(means.degraded.ssim), p(means.restored.psnr), q(means.restored.ssim)]);
    const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
    const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
    const out = [line(table[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1, means ? -1 : undefined).map(line)];
    if (means) out.push(widths.map((w) => '-'.repeat(w)).join('  '), line(table[table.length - 1]!));
    ctx.stdout.write(`${out.join('\n')}\n`);
    ctx.stdout.write(
      `model ${choice.id}${restorer.built.weights ? ` (${restorer.built.weights})` : ' (random weights)'}; ${flags.degrade ? `degradation ${formatDegradeSpec(flags.degrade)}, seed ${flags.seed}` : `degraded images from ${flags.degraded}`}; PSNR in dB, BasicSR protocol on 8-bit values, crop border ${flags.cropBorder}, ${flags.y ? 'Y channel' : 'RGB'}\n`,
    );
  }
  if (failures.length) {
    ctx.ui.log(`${failures.length} of ${total} ${total === 1 ? 'image' : 'images'} failed`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
