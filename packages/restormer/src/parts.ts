import type * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, blocks, type ComponentConfig, type OptionSpec } from '@restorekit/core';

/**
 * A swappable part as given: `{ type: 'Name', ...options }`, where `type` may be left out (the default's type). Resolved
 * options always carry the type (in its registered spelling).
 */
export interface PartConfig {
  type?: string;
  [option: string]: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const registered = (type: string) => blocks.resolveName(type) ?? type;

/**
 * The option spec of a swappable part (timm style: `attention`, `ffn`, `norm`, ...): a `{ type: 'Name', ...options }`
 * config of a registered block, which the owning block creates with `createPart` (filling in `channels`).
 * - `type` may be left out: the part is then of the default's type;
 * - a part of the default's type starts from the default's options (a DAB's `ffn: { bias: true }` keeps AnyIR's
 *   expansion 2); a part of another type starts from that type's own defaults;
 * - the type is kept in its registered spelling: tfjs re-cases string values when it saves a model ('MDTA' comes
 *   back as 'mdta'), and the registry maps such variants back.
 * The owning block's `getConfig()` returns each part's complete options (`partConfig`).
 */
export function partOption(dflt: ComponentConfig): OptionSpec<PartConfig, true> {
  return {
    expects: `a part config { type: 'Name', ...options } (type defaults to '${dflt.type}')`,
    hasDefault: true,
    defaultValue: dflt,
    parse(v) {
      if (!isObject(v)) return { ok: false };
      if (v.type !== undefined && typeof v.type !== 'string') return { ok: false, why: 'type must be a string' };
      const type = registered((v.type as string | undefined) ?? dflt.type);
      const base = type === registered(dflt.type) ? dflt : {};
      return { ok: true, value: JSON.parse(JSON.stringify({ ...base, ...v, type })) as PartConfig };
    },
  };
}

/**
 * Creates the part `role` of `owner` from its config through the block registry. The owner fills in `channels` (a
 * config need not repeat it; one that gives another value is a ConfigError), and the part must keep the channel
 * count (C → C). A bad option inside the part is reported as a ConfigError naming the owner and the role.
 */
export function createPart(owner: string, role: string, config: PartConfig, channels: number): tfl.layers.Layer {
  if (typeof config.type !== 'string') throw new ConfigError(`${owner}: option '${role}' needs a block type, got ${JSON.stringify(config)}`);
  if (config.channels !== undefined && config.channels !== channels)
    throw new ConfigError(
      `${owner}: ${role}.channels is ${JSON.stringify(config.channels)} but the block has ${channels} channels (leave it out: the block fills it in)`,
    );
  let part: tfl.layers.Layer;
  try {
    part = blocks.create({ ...config, type: config.type, channels });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${owner}: option '${role}': ${e.message}`);
    throw e;
  }
  const out = part.computeOutputShape([null, null, null, channels]) as (number | null)[];
  if (out[out.length - 1] !== channels)
    throw new ConfigError(
      `${owner}: option '${role}': a ${config.type} maps ${channels} channels to ${JSON.stringify(out[out.length - 1])}; a part must keep the block's channels`,
    );
  return part;
}

/** A part's complete config (every option resolved, as its `getConfig()`), without the layer arguments and `channels` (the owner's). */
export function partConfig(part: tfl.layers.Layer): ComponentConfig {
  const { name: _n, trainable: _t, dtype: _d, batchInputShape: _b, channels: _c, ...options } = part.getConfig();
  return { type: registered(part.getClassName().split('>').pop()!), ...options };
}
