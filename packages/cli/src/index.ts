/**
 * @restorekit/cli: the `restorekit` command line, and `run(argv)` — the same commands from JavaScript, resolving to
 * the exit code (0 success, 1 a failure such as a missing file or a corrupt checkpoint, 2 a usage error).
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { RegistryError } from '@restorekit/core';
import { BACKENDS } from './backend.js';
import { DEFAULT_BENCH_RUNS, DEFAULT_BENCH_WARMUP, benchCommand, parseList, parseRuns, parseSizes, parseWarmup } from './commands/bench.js';
import { convertCommand } from './commands/convert.js';
import { degradeCommand } from './commands/degrade.js';
import { evalCommand } from './commands/eval.js';
import { modelsCommand } from './commands/models.js';
import { restoreCommand } from './commands/restore.js';
import { collect, parseCount, trainCommand } from './commands/train.js';
import type { Context } from './context.js';
import {
  DEGRADE_HELP,
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
} from './degrade.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, FailureError, UsageError, reason } from './errors.js';
import { Ui, type Writable } from './progress.js';
import { DEFAULT_OVERLAP, DEFAULT_TILE, parseOverlap, parseTile, parseWorkers } from './restorer.js';

export { DEFAULT_MODEL } from './models.js';
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './errors.js';
export type { Writable } from './progress.js';

export interface RunOptions {
  /** Where results go (tables, JSON). Default: process.stdout. */
  stdout?: Writable;
  /** Where messages, warnings and progress bars go. Default: process.stderr. */
  stderr?: Writable;
  /** The folder relative paths are resolved from, and where tfjs-node is looked up. Default: process.cwd(). */
  cwd?: string;
}

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

type Flags = Record<string, unknown> & { json?: boolean; progress?: boolean };

function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--model <family[:preset]>', "model and preset, e.g. restormer:small ('restorekit models' lists them); default: the shipped model")
    .option('--weights <file>', 'weights to load strictly: .pth, .ckpt or .safetensors (without it the model has random weights)')
    .addOption(
      new Option('--backend <name>', 'tfjs backend (default: tensorflow when @tensorflow/tfjs-node is installed in your project, else wasm)').choices(BACKENDS),
    )
    .option('--tile <px>', 'tile size in pixels', parseTile, DEFAULT_TILE)
    .option('--overlap <px>', 'overlap of neighbouring tiles in pixels (at most tile/2)', parseOverlap, DEFAULT_OVERLAP)
    .option('--workers <n>', "run the tiles on n worker threads ('auto': one per core)", parseWorkers);
}

function addProgressOptions(cmd: Command): Command {
  return cmd
    .option('--progress', 'show progress bars even when stderr is not a terminal')
    .option('--no-progress', 'never show progress bars (default: on a terminal, for work longer than a second)');
}

/**
 * Runs the CLI with `argv` (the arguments after `restorekit`, e.g. `['models', '--json']`) and resolves to the exit
 * code; it never calls `process.exit`.
 */
export async function run(argv: string[], options: RunOptions = {}): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const cwd = options.cwd ?? process.cwd();
  let code = EXIT_OK;
  let ui: Ui | null = null;
  const context = (flags: Flags): Context => {
    ui = new Ui(stderr, { progress: flags.json ? false : flags.progress });
    return { cwd, stdout, stderr, ui };
  };

  const program = new Command('restorekit')
    .description('Restore, degrade and evaluate images with restorekit models, and convert PyTorch checkpoints')
    .version(version, '-V, --version')
    .configureOutput({ writeOut: (s) => void stdout.write(s), writeErr: (s) => void stderr.write(s) })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');

  program
    .command('models')
    .description('list the model families and their presets')
    .option('--json', 'print JSON')
    .action(async (flags: Flags) => {
      code = await modelsCommand(context(flags), flags);
    });

  addProgressOptions(
    addModelOptions(
      program
        .command('restore')
        .description('restore image files or folders of images')
        .argument('<inputs...>', 'image files and/or folders of images')
        .requiredOption('-o, --output <path>', 'output file (one input file) or folder'),
    ),
  ).action(async (inputs: string[], flags: Flags) => {
    code = await restoreCommand(context(flags), inputs, flags as never);
  });

  addProgressOptions(
    program
      .command('degrade')
      .description('degrade an image or a folder of images reproducibly (blurs, haze, rain, low light, noise, then JPEG)')
      .argument('<input>', 'an image file or a folder of images')
      .requiredOption('-o, --output <path>', 'output file or folder')
      .option('--noise <sigma>', 'additive white Gaussian noise, σ on the 0–255 scale', parseNoise)
      .option('--blur <sigma[:k]>', 'Gaussian blur of σ pixels (kernel k, odd; default 2·ceil(3σ)+1)', parseBlur)
      .option('--defocus <radius>', 'defocus blur: a disk kernel of this radius in pixels', parseDefocus)
      .option(
        '--motion-blur <spec>',
        'camera-shake motion blur: light|medium|heavy or an odd kernel size, and/or size=,length=,expl=,exposure=',
        parseMotionBlur,
      )
      .option('--haze <spec>', 'haze: light|medium|heavy and/or beta=,airlight=', parseHaze)
      .option('--rain <spec>', 'rain streaks: light|medium|heavy and/or density=,length=,angle=,width=,intensity=', parseRain)
      .option('--low-light <spec>', 'low light: light|medium|heavy and/or gamma=,scale=,a=,b=', parseLowLight)
      .option('--jpeg <quality>', 'JPEG compression round trip at this quality (1–100)', parseJpeg)
      .option('--seed <n>', 'seed of the random degradations (with the file name)', parseSeed, 0)
      .addHelpText('after', DEGRADE_HELP),
  ).action(async (input: string, flags: Flags) => {
    code = await degradeCommand(context(flags), input, flags as never);
  });

  addProgressOptions(
    addModelOptions(
      program
        .command('eval')
        .description('PSNR/SSIM of degraded images and of their restorations against clean ones')
        .argument('<clean>', 'folder (or file) of clean images')
        .option('--degraded <dir>', 'folder of degraded images, paired with the clean ones by file name (extension ignored)')
        .option(
          '--degrade <spec>',
          'degrade the clean images instead: comma-separated blur:, defocus:, motion-blur:, haze:, rain:, low-light:, noise:, jpeg: steps (see restorekit degrade --help)',
          parseDegradeSpec,
        )
        .option('--seed <n>', 'seed of --degrade (with each file name)', parseSeed, 0)
        .option(
          '--float',
          'with --degrade: feed the model the degraded image in float, not clipped or rounded to 8 bits (the SwinIR/Restormer denoising test protocol); scores stay on 8-bit values',
        )
        .option('--crop-border <n>', 'pixels cropped from each border before measuring (BasicSR crop_border)', parseOverlap, 0)
        .option('--y', 'measure on the Y channel of BT.601 YCbCr (BasicSR test_y_channel)')
        .option('--json', 'print the numbers as JSON (no progress output)'),
    ),
  ).action(async (clean: string, flags: Flags) => {
    code = await evalCommand(context(flags), clean, flags as never);
  });

  program
    .command('convert')
    .description('convert a PyTorch checkpoint (.pth, .ckpt) or safetensors file to float32 safetensors')
    .argument('<input>', '.pth, .ckpt or .safetensors file')
    .argument('<output>', '.safetensors file to write')
    .option('--model <family[:preset]>', 'check every key against this model strictly, and write its keys')
    .action(async (input: string, output: string, flags: Flags) => {
      code = await convertCommand(context(flags), input, output, flags as never);
    });

  addProgressOptions(
    program
      .command('bench')
      .description('forward latency, MP/s, GFLOP/s and peak tensor memory of models on the Node backends (cpu, wasm, tensorflow), side by side')
      .option('--models <list>', "comma-separated <family>[:<preset>]s ('restorekit models' lists them); default: the shipped model", parseList)
      .option(
        '--backends <list>',
        'comma-separated Node backends: cpu, wasm, tensorflow (default: cpu, wasm, and tensorflow when @tensorflow/tfjs-node is installed)',
        parseList,
      )
      .option('--sizes <list>', 'comma-separated input sizes: <side> or <height>x<width> (default: 128,256)', parseSizes)
      .option('--runs <n>', 'timed forwards per cell (their median is reported)', parseRuns, DEFAULT_BENCH_RUNS)
      .option('--warmup <n>', 'untimed forwards before them', parseWarmup, DEFAULT_BENCH_WARMUP)
      .option('--json', 'print the results as JSON (no table, no progress output)')
      .option('-o, --output <file>', 'also write the results as JSON to this file'),
  ).action(async (flags: Flags) => {
    code = await benchCommand(context(flags), flags as never);
  });

  addProgressOptions(
    program
      .command('train')
      .description('train a model with a recipe (denoise, all-in-one, fsderain-finetune) or a recipe JSON file, resuming from the newest checkpoint')
      .argument('<recipe|config.json>', 'a recipe of @restorekit/train, or a JSON file: a recipe, or { "extends": "<recipe>", ... } changes to one')
      .option('--data <dir>', "folder of training images (repeat for several; replaces the recipe's data.train)", collect)
      .option('--val <dir>', 'folder of validation images (repeat for several), validated every validateEvery steps', collect)
      .option('--out <dir>', 'where the log, checkpoints and model go (default: train-<recipe>)')
      .option('--steps <n>', "optimizer steps in all (default: the recipe's)", parseCount)
      .option('--batch <n>', "patches per batch (default: the recipe's)", parseCount)
      .option('--patch <px>', "side of the square patches (default: the recipe's)", parseCount)
      .addOption(
        new Option('--backend <name>', 'tfjs backend (default: tensorflow when @tensorflow/tfjs-node is installed in your project, else wasm)').choices(
          BACKENDS,
        ),
      )
      .option('--weights <file>', 'weights to start from (.pth, .ckpt or .safetensors)')
      .option('--resume', 'continue from the newest checkpoint in --out (default)', true)
      .option('--no-resume', 'start over: removes the checkpoints and log of an earlier run in --out')
      .option('--recompute', "gradient checkpointing: far less memory for ~1.3× the compute, the same training (the recipe's recompute)")
      .option('--no-recompute', 'no gradient checkpointing, whatever the recipe says')
      .option('--json', 'print only a JSON summary at the end (no progress output)'),
  ).action(async (recipe: string, flags: Flags) => {
    code = await trainCommand(context(flags), recipe, flags as never);
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    (ui as Ui | null)?.stop();
    // commander has already printed its own message (unknown option or command, missing argument, bad value).
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    const usage = e instanceof UsageError || e instanceof RegistryError;
    stderr.write(`error: ${e instanceof UsageError || e instanceof FailureError ? e.message : reason(e)}\n`);
    if (usage) stderr.write('(add --help for usage)\n');
    if (process.env.RESTOREKIT_DEBUG && e instanceof Error && e.stack) stderr.write(`${e.stack}\n`);
    return usage ? EXIT_USAGE : EXIT_FAILURE;
  } finally {
    (ui as Ui | null)?.stop();
  }
}
