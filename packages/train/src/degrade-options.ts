/** Option helpers shared by the degradations: numbers that may be [lo, hi] ranges drawn per image. */
import { opt } from '@restorekit/core';
import type { Rng } from './rng.js';

/** A number, or a [lo, hi] range drawn uniformly per image. */
export type NumberOrRange = number | [number, number];

export interface RangeBounds {
  min?: number;
  max?: number;
  /** The lower bound itself is not allowed (a positive number: `{ min: 0, exclusiveMin: true }`). */
  exclusiveMin?: boolean;
  /** Integers only (a range then draws integers, both ends included). */
  integer?: boolean;
}

function boundsText(b: RangeBounds): string {
  const parts: string[] = [];
  if (b.min !== undefined) parts.push(b.exclusiveMin ? `> ${b.min}` : `≥ ${b.min}`);
  if (b.max !== undefined) parts.push(`≤ ${b.max}`);
  return parts.join(' and ');
}

const within = (x: unknown, b: RangeBounds): x is number =>
  typeof x === 'number' &&
  Number.isFinite(x) &&
  (!b.integer || Number.isInteger(x)) &&
  (b.min === undefined || (b.exclusiveMin ? x > b.min : x >= b.min)) &&
  (b.max === undefined || x <= b.max);

/** An option that is a number within bounds or a [lo, hi] range of them (lo ≤ hi). */
export function rangeOpt(what: string, bounds: RangeBounds, ...dflt: [NumberOrRange?]) {
  const kind = bounds.integer ? 'an integer' : 'a number';
  const b = boundsText(bounds);
  const expects = `${kind}${b ? ` ${b}` : ''} or a [lo, hi] range of them`;
  const check = (v: unknown) => {
    if (within(v, bounds)) return true;
    if (Array.isArray(v) && v.length === 2 && v.every((x) => within(x, bounds))) return v[0] <= v[1] || `${what}: a [lo, hi] range needs lo ≤ hi`;
    return ''; // the message says what is expected and what was given
  };
  return dflt.length ? opt.custom<NumberOrRange>(expects, check, dflt[0]) : opt.custom<NumberOrRange>(expects, check);
}

/** The value of a number-or-range option for one image: a range is drawn uniformly (integers: lo…hi inclusive). */
export function drawRange(rng: Rng, v: NumberOrRange, integer = false): number {
  if (typeof v === 'number') return v;
  if (v[0] === v[1]) return v[0];
  return integer ? v[0] + rng.int(v[1] - v[0] + 1) : rng.uniform(v[0], v[1]);
}

/** The largest value a number-or-range option can take. */
export const rangeMax = (v: NumberOrRange): number => (typeof v === 'number' ? v : v[1]);

/** Clamps to [0, 1] (NaN stays NaN). */
export const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
