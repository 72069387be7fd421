import { blocks } from '../registries.js';
import { HarnessError, checkBlock, type BlockCheckReport, type BlockCheckSpec } from './harness.js';

/**
 * The block types a module registers: the registry before and after importing it. Import the module's dependencies
 * (statically) first, and do not import the module itself statically in the same test file, or its blocks are
 * already registered and the difference is empty.
 */
export async function blocksRegisteredBy(load: () => Promise<unknown>): Promise<string[]> {
  const before = new Set(blocks.list());
  await load();
  return blocks.list().filter((t) => !before.has(t));
}

/**
 * The registry-driven harness: every registered block type in `types` must have at least one harness spec in `specs`
 * (a block that nobody checks fails here, by name), and each spec must pass `checkBlock`. Specs should create their
 * blocks through the registry (`blocks.create({ type, ... })`), so the registered entry is what gets checked.
 */
export async function checkRegisteredBlocks(
  types: readonly string[],
  specs: Record<string, BlockCheckSpec | BlockCheckSpec[]>,
): Promise<Record<string, BlockCheckReport[]>> {
  const missing = types.filter((t) => !specs[t]);
  const unknown = Object.keys(specs).filter((t) => !types.includes(t));
  if (missing.length || unknown.length)
    throw new HarnessError(
      [
        missing.length ? `registered blocks with no harness spec: ${missing.join(', ')}` : '',
        unknown.length ? `harness specs for types this package does not register: ${unknown.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; '),
    );
  const out: Record<string, BlockCheckReport[]> = {};
  for (const t of types) {
    const list = Array.isArray(specs[t]) ? (specs[t] as BlockCheckSpec[]) : [specs[t] as BlockCheckSpec];
    out[t] = [];
    for (const s of list) out[t].push(await checkBlock(s));
  }
  return out;
}
