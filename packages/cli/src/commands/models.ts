/** `restorekit models [--json]`: the model families of @restorekit/models with their presets. */
import { getModelSpec, listModels } from '@restorekit/models';
import type { Context } from '../context.js';
import { defaultModel } from '../models.js';

export interface ModelsFlags {
  json?: boolean;
}

export async function modelsCommand(ctx: Context, flags: ModelsFlags): Promise<number> {
  const def = defaultModel().id;
  const models = listModels().map((m) => ({ ...m, defaultPreset: getModelSpec(m.name).defaultPreset }));
  if (flags.json) {
    ctx.stdout.write(`${JSON.stringify({ default: def, models }, null, 2)}\n`);
    return 0;
  }
  const rows: string[][] = [['model', 'params', 'description']];
  for (const m of models)
    for (const p of m.presets) {
      const id = `${m.name}:${p.name}`;
      const marks = [p.name === m.defaultPreset ? 'family default' : '', id === def ? 'CLI default' : ''].filter(Boolean);
      rows.push([`${id}${marks.length ? ` (${marks.join(', ')})` : ''}`, p.params === undefined ? '' : p.params.toLocaleString('en-US'), p.description]);
    }
  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const w1 = Math.max(...rows.map((r) => r[1]!.length));
  for (const [a, b, c] of rows) ctx.stdout.write(`${a!.padEnd(w0)}  ${b!.padStart(w1)}  ${c}\n`);
  ctx.stdout.write(`\n${models.map((m) => `${m.name}: ${m.paper}`).join('\n')}\n`);
  ctx.stdout.write(`\n--model <family>[:<preset>] picks one (the family's default preset when none is given); without --model, restore and eval use ${def}.\n`);
  return 0;
}
