/**
 * `restorekit degrade <file|dir> -o <file|dir> [--noise σ] [--blur σ[:k]] [--jpeg q] [--seed n]`: synthetic, seeded
 * degradations (blur → noise → JPEG). The same seed and file name give the same bytes, on any machine.
 */
import { readImage, writeImage } from '@restorekit/runtime/node';
import { abs, shown, type Context } from '../context.js';
import { degradeImage, formatDegradeSpec, isEmptySpec, rngFor, type DegradeSpec } from '../degrade.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, reason } from '../errors.js';
import { listInputs, planOutputs } from '../files.js';

export interface DegradeFlags {
  output: string;
  noise?: number;
  blur?: { sigma: number; kernelSize: number };
  jpeg?: number;
  seed: number;
}

export async function degradeCommand(ctx: Context, input: string, flags: DegradeFlags): Promise<number> {
  const spec: DegradeSpec = { noise: flags.noise, blur: flags.blur, jpeg: flags.jpeg };
  if (isEmptySpec(spec)) throw new UsageError('nothing to do: give --noise <sigma>, --blur <sigma>[:<kernel size>] and/or --jpeg <quality>');
  const listed = listInputs([input], ctx.cwd);
  const plan = planOutputs(listed, flags.output, ctx.cwd);
  const total = listed.items.length;
  let failed = 0;
  const bar = total > 1 ? ctx.ui.bar('images', total) : null;
  try {
    for (const [i, item] of listed.items.entries()) {
      bar?.update(i, `images (${item.name})`);
      if (item.error !== undefined) {
        ctx.ui.log(`error: ${item.path}: ${item.error}`);
        failed++;
        continue;
      }
      const out = plan.paths[i]!;
      try {
        let image: Awaited<ReturnType<typeof readImage>>;
        try {
          image = await readImage(abs(ctx, item.path));
        } catch (e) {
          throw new Error(`cannot read the image: ${reason(e)}`);
        }
        const degraded = await degradeImage(image, spec, rngFor(flags.seed, item.name));
        await writeImage(out, degraded);
        ctx.ui.log(`degraded ${item.path} → ${shown(ctx, out)} (${formatDegradeSpec(spec)}, seed ${flags.seed})`);
      } catch (e) {
        ctx.ui.log(`error: ${item.path}: ${reason(e)}`);
        failed++;
      }
    }
    bar?.update(total);
  } finally {
    bar?.done();
  }
  if (failed) {
    ctx.ui.log(`${failed} of ${total} ${total === 1 ? 'image' : 'images'} failed; ${total - failed} written`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
