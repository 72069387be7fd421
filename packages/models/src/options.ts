import { ConfigError } from '@restorekit/core';

/** An option that is an array of 4 integers ≥ min (per-level settings of the Restormer-style U-Nets). */
export const four = (owner: string, key: string, v: unknown, min: number): [number, number, number, number] => {
  if (!Array.isArray(v) || v.length !== 4 || v.some((e) => !Number.isInteger(e) || e < min))
    throw new ConfigError(`${owner}: option '${key}' must be an array of 4 integers ≥ ${min}, got ${JSON.stringify(v)}`);
  return v as [number, number, number, number];
};
