/**
 * `restorekit degrade <file|dir> -o <file|dir> [--blur σ[:k]] [--defocus r] [--motion-blur spec] [--haze spec]
 * [--rain spec] [--low-light spec] [--noise σ] [--jpeg q] [--seed n]`: synthetic, seeded degradations, applied in that
 * order (blurs → haze → rain → low light → noise → JPEG). The same seed and file name give the same bytes, on any machine.
 */
import { readImage, writeImage } from '@restorekit/runtime/node';
import { abs, shown, type Context } from '../context.js';
import {
  degradeImage,
  formatDegradeSpec,
  isEmptySpec,
  rngFor,
  type DegradeSpec,
  type HazeSpec,
  type LowLightSpec,
  type MotionBlurSpec,
  type RainSpec,
} from '../degrade.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, reason } from '../errors.js';
import { listInputs, planOutputs } from '../files.js';

export interface DegradeFlags {
  output: string;
  noise?: number;
  blur?: { sigma: number; kernelSize: number };
  defocus?: number;
  motionBlur?: MotionBlurSpec;
  haze?: HazeSpec;
  rain?: RainSpec;
  lowLight?: LowLightSpec;
  jpeg?: number;
  seed: number;
}

export async function degradeCommand(ctx: Context, input: string, flags: DegradeFlags): Promise<number> {
  const spec: DegradeSpec = {
    blur: flags.blur,
    defocus: flags.defocus,
    motionBlur: flags.motionBlur,
    haze: flags.haze,
    rain: flags.rain,
    lowLight: flags.lowLight,
    noise: flags.noise,
    jpeg: flags.jpeg,
  };
  if (isEmptySpec(spec))
    throw new UsageError(
      'nothing to do: give one or more of --blur <sigma>[:<k>], --defocus <radius>, --motion-blur <spec>, --haze <spec>, --rain <spec>, --low-light <spec>, --noise <sigma>, --jpeg <quality>',
    );
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
