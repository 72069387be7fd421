/**
 * `restorekit convert <in.pth|in.ckpt|in.safetensors> <out.safetensors> [--model <family>[:<preset>]]`: reads a
 * checkpoint safely (nothing in it is executed), picks its state dict (`params_ema`, `params`, `state_dict`, ...;
 * `module.` / `net.` prefixes removed) and writes it as float32 safetensors. With `--model`, every key must fit that
 * model strictly (missing, unexpected and mis-shaped keys are listed) and the model's own keys are written.
 */
import { basename, extname } from 'node:path';
import { exportTorchStateDict, loadCheckpoint, loadTorchStateDict, serializeSafetensors, useBackend, type CheckpointTensor } from '@restorekit/core';
import { createModel } from '@restorekit/models';
import { quietCpu } from '../backend.js';
import { abs, type Context } from '../context.js';
import { EXIT_OK, FailureError, UsageError, isWeightsProblem, reason } from '../errors.js';
import { writeFileWhole } from '../files.js';
import { checkFile, describeWeightsError, parseModel } from '../models.js';

export interface ConvertFlags {
  model?: string;
}

export async function convertCommand(ctx: Context, input: string, output: string, flags: ConvertFlags): Promise<number> {
  if (extname(output).toLowerCase() !== '.safetensors') throw new UsageError(`the output ${output} must end in .safetensors`);
  const choice = flags.model !== undefined ? parseModel(flags.model) : null;
  const inPath = abs(ctx, input);
  const outPath = abs(ctx, output);
  if (inPath === outPath) throw new UsageError(`${output}: the output would overwrite the input`);
  checkFile(inPath, 'checkpoint', input);
  let sd: Record<string, CheckpointTensor>;
  try {
    sd = await loadCheckpoint(inPath, { fileName: input });
  } catch (e) {
    throw new FailureError(isWeightsProblem(e) ? reason(e) : `${input}: ${reason(e)}`);
  }
  const dtypes = new Map<string, number>();
  for (const t of Object.values(sd)) dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + 1);
  let tensors: Record<string, { shape: number[]; data: Float32Array }> = sd;
  if (choice) {
    // Weights only move between host arrays and variables: the cpu backend, never announced.
    quietCpu();
    await useBackend('cpu');
    const model = await createModel(choice.family, { preset: choice.preset });
    try {
      try {
        await loadTorchStateDict(model, sd, { strict: true });
      } catch (e) {
        throw new FailureError(describeWeightsError(e, input, choice.id));
      }
      tensors = await exportTorchStateDict(model);
    } finally {
      model.dispose();
    }
  }
  const metadata: Record<string, string> = { format: 'pt', source: basename(input), converted_by: '@restorekit/cli' };
  if (choice) metadata.model = choice.id;
  try {
    await writeFileWhole(outPath, serializeSafetensors(tensors, metadata));
  } catch (e) {
    throw new FailureError(`${output}: cannot write: ${reason(e)}`);
  }
  const count = Object.keys(tensors).length;
  const values = Object.values(tensors).reduce((s, t) => s + t.data.length, 0);
  const stored = [...dtypes].map(([d, n]) => `${n} ${d}`).join(', ');
  ctx.stdout.write(
    `wrote ${output}: ${count} tensors, ${values.toLocaleString('en-US')} values, float32 (read ${stored} from ${input})${choice ? `; every key fits ${choice.id}` : ''}\n`,
  );
  return EXIT_OK;
}
