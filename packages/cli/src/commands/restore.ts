/**
 * `restorekit restore <file|dir>... -o <file|dir>`: restores image files with a model, tile by tile. An image that
 * fails (unreadable, wrong channels, ...) is reported and the others are still restored; the exit code is then 1.
 * Outputs are written whole (temporary name, then renamed), so nothing already there is lost or half-written.
 */
import { performance } from 'node:perf_hooks';
import { readImage, writeImage } from '@restorekit/runtime/node';
import { abs, seconds, shown, type Context } from '../context.js';
import { EXIT_FAILURE, EXIT_OK, reason } from '../errors.js';
import { listInputs, planOutputs } from '../files.js';
import { Restorer, resolveModelChoice, type ModelFlags } from '../restorer.js';

export interface RestoreFlags extends ModelFlags {
  output: string;
}

export async function restoreCommand(ctx: Context, inputs: string[], flags: RestoreFlags): Promise<number> {
  const choice = resolveModelChoice(flags);
  const listed = listInputs(inputs, ctx.cwd);
  const plan = planOutputs(listed, flags.output, ctx.cwd);
  const total = listed.items.length;
  // Inputs that cannot be listed are reported first; with nothing left to restore, no model is built.
  let failed = 0;
  for (const item of listed.items)
    if (item.error !== undefined) {
      ctx.ui.log(`error: ${item.path}: ${item.error}`);
      failed++;
    }
  if (failed === total) {
    ctx.ui.log(`nothing restored: ${failed === 1 ? 'the input' : `all ${failed} inputs`} failed`);
    return EXIT_FAILURE;
  }
  const restorer = await Restorer.create(ctx, choice, flags);
  const images = total > 1 ? ctx.ui.bar('images', total) : null;
  try {
    for (const [i, item] of listed.items.entries()) {
      images?.update(i, `images (${item.name})`);
      if (item.error !== undefined) continue;
      const out = plan.paths[i]!;
      const t0 = performance.now();
      try {
        let image: Awaited<ReturnType<typeof readImage>>;
        try {
          image = await readImage(abs(ctx, item.path));
        } catch (e) {
          throw new Error(`cannot read the image: ${reason(e)}`);
        }
        const restored = await restorer.restore(ctx, image, item.name);
        await writeImage(out, restored);
        ctx.ui.log(`restored ${item.path} → ${shown(ctx, out)} (${image.width}×${image.height}, ${seconds(performance.now() - t0)})`);
      } catch (e) {
        ctx.ui.log(`error: ${item.path}: ${reason(e)}`);
        failed++;
      }
    }
    images?.update(total);
  } finally {
    images?.done();
    await restorer.close();
  }
  if (failed) {
    ctx.ui.log(`${failed} of ${total} ${total === 1 ? 'image' : 'images'} failed; ${total - failed} written`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
