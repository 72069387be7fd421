import { ConfigError, opt, resolveOptions, type OptionsInput } from '@restorekit/core';

/**
 * A learning-rate schedule: a pure function of the step (no tensors, no state), so a resumed run needs nothing but
 * the step. `step` counts the optimizer updates already done: `schedule(0)` is the lr of the first update, as PyTorch's
 * schedulers give `base_lr` before their first `scheduler.step()` and BasicSR steps its schedulers once per iteration
 * after the first (`update_learning_rate`, current_iter > 1).
 */
export type Schedule = (step: number) => number;

function checkStep(where: string, step: number): void {
  if (!Number.isInteger(step) || step < 0) throw new ConfigError(`${where}: step must be an integer ≥ 0, got ${step}`);
}

const numbers = (what: string, ok: (x: number) => boolean) =>
  opt.custom<number[]>(
    `a non-empty list of ${what}`,
    (v) => (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && ok(x))) || `every entry must be ${what}`,
  );
const numbersWithDefault = (what: string, ok: (x: number) => boolean, dflt: number[]) =>
  opt.custom<number[]>(
    `a non-empty list of ${what}`,
    (v) => (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && ok(x))) || `every entry must be ${what}`,
    dflt,
  );
const isFiniteNonNeg = (x: number) => Number.isFinite(x) && x >= 0;

/** A constant learning rate. */
export function constantLR(lr: number): Schedule {
  const o = resolveOptions('constantLR', { lr: opt.number({ min: 0 }) }, { lr });
  return (step) => {
    checkStep('constantLR', step);
    return o.lr;
  };
}

const WARMUP_COSINE = {
  /** Peak learning rate, reached at the end of the warm-up. */
  lr: opt.number({ min: 0 }),
  /** Steps of linear warm-up from 0: lr·step/warmupSteps for step < warmupSteps. */
  warmupSteps: opt.int({ min: 0 }, 0),
  /** Step at which the cosine reaches etaMin (and stays there). */
  totalSteps: opt.posInt(),
  /** Final learning rate. */
  etaMin: opt.number({ min: 0 }, 0),
};
export type WarmupCosineOptions = OptionsInput<typeof WARMUP_COSINE>;

/**
 * Linear warm-up, then cosine decay to `etaMin` (the schedule of timm / Hugging Face `get_cosine_schedule_with_warmup`
 * with a floor):
 *
 *     step < W:       lr · step / W
 *     W ≤ step < T:   etaMin + ½(lr − etaMin)(1 + cos(π (step − W)/(T − W)))
 *     step ≥ T:       etaMin
 */
export function warmupCosine(options: WarmupCosineOptions): Schedule {
  const o = resolveOptions('warmupCosine', WARMUP_COSINE, options);
  if (o.warmupSteps >= o.totalSteps) throw new ConfigError(`warmupCosine: warmupSteps (${o.warmupSteps}) must be smaller than totalSteps (${o.totalSteps})`);
  return (step) => {
    checkStep('warmupCosine', step);
    if (step < o.warmupSteps) return (o.lr * step) / o.warmupSteps;
    if (step >= o.totalSteps) return o.etaMin;
    return o.etaMin + 0.5 * (o.lr - o.etaMin) * (1 + Math.cos((Math.PI * (step - o.warmupSteps)) / (o.totalSteps - o.warmupSteps)));
  };
}

/** BasicSR `get_position_from_periods`: the first cycle whose cumulative end is ≥ the iteration. */
function cycleIndex(where: string, step: number, cumulative: number[]): number {
  const i = cumulative.findIndex((end) => step <= end);
  if (i < 0)
    throw new ConfigError(
      `${where}: step ${step} is past the last period (the periods sum to ${cumulative[cumulative.length - 1]}); BasicSR fails there too (get_position_from_periods returns None): make the periods cover the whole run`,
    );
  return i;
}

/** BasicSR's warm-up (`update_learning_rate(current_iter, warmup_iter)`): lr · current_iter / warmup_iter while current_iter < warmup_iter, current_iter = step + 1. */
function withBasicsrWarmup(lr: number, warmupIter: number, inner: Schedule): Schedule {
  if (warmupIter <= 0) return inner;
  return (step) => (step + 1 < warmupIter ? (lr * (step + 1)) / warmupIter : inner(step));
}

const RESTART = {
  /** The optimizer's initial learning rate (BasicSR `optim_g.lr`, the scheduler's `base_lr`). */
  lr: opt.number({ min: 0 }),
  /** Length of each cosine cycle in iterations (`periods`). */
  periods: numbers('positive integers', (x) => Number.isInteger(x) && x > 0),
  /** Peak of each cycle relative to lr (`restart_weights`), one per period. */
  restartWeights: numbersWithDefault('finite numbers ≥ 0', isFiniteNonNeg, [1]),
  /** The floor of every cycle (`eta_min`). */
  etaMin: opt.number({ min: 0 }, 0),
  /** BasicSR `train.warmup_iter`: linear warm-up over the first iterations; -1 (default) for none. */
  warmupIter: opt.int({ min: -1 }, -1),
};
export type CosineAnnealingRestartOptions = OptionsInput<typeof RESTART>;

/**
 * BasicSR `CosineAnnealingRestartLR` (basicsr/models/lr_scheduler.py): for the cycle i holding the step (the first with
 * cumulative period ≥ step, so a boundary step ends its cycle at etaMin),
 *
 *     etaMin + restartWeights[i] · ½(lr − etaMin)(1 + cos(π (step − start_i)/periods[i]))
 *
 * where start_i is the sum of the periods before i. Past the last period it throws, as BasicSR does.
 */
export function cosineAnnealingRestartLR(options: CosineAnnealingRestartOptions): Schedule {
  const o = resolveOptions('cosineAnnealingRestartLR', RESTART, options);
  if (o.restartWeights.length !== o.periods.length)
    throw new ConfigError(
      `cosineAnnealingRestartLR: periods and restartWeights should have the same length (${o.periods.length} and ${o.restartWeights.length})`,
    );
  const cumulative = o.periods.map((_, i) => o.periods.slice(0, i + 1).reduce((a, b) => a + b, 0));
  const inner: Schedule = (step) => {
    checkStep('cosineAnnealingRestartLR', step);
    const i = cycleIndex('cosineAnnealingRestartLR', step, cumulative);
    const start = i === 0 ? 0 : cumulative[i - 1]!;
    return o.etaMin + o.restartWeights[i]! * 0.5 * (o.lr - o.etaMin) * (1 + Math.cos(Math.PI * ((step - start) / o.periods[i]!)));
  };
  return withBasicsrWarmup(o.lr, o.warmupIter, inner);
}

const CYCLIC = {
  lr: RESTART.lr,
  periods: RESTART.periods,
  restartWeights: RESTART.restartWeights,
  /** The floor of each cycle (`eta_mins`), one per period. */
  etaMins: numbersWithDefault('finite numbers ≥ 0', isFiniteNonNeg, [0]),
  warmupIter: RESTART.warmupIter,
};
export type CosineAnnealingRestartCyclicOptions = OptionsInput<typeof CYCLIC>;

/**
 * `CosineAnnealingRestartCyclicLR` of Restormer's BasicSR fork (basicsr/models/lr_scheduler.py): as
 * `cosineAnnealingRestartLR` with one floor per cycle,
 *
 *     etaMins[i] + restartWeights[i] · ½(lr − etaMins[i])(1 + cos(π (step − start_i)/periods[i]))
 *
 * Restormer's recipe: `{ lr: 3e-4, periods: [92000, 208000], restartWeights: [1, 1], etaMins: [3e-4, 1e-6] }` (a
 * constant 3e-4 for 92k iterations, then a cosine to 1e-6).
 */
export function cosineAnnealingRestartCyclicLR(options: CosineAnnealingRestartCyclicOptions): Schedule {
  const o = resolveOptions('cosineAnnealingRestartCyclicLR', CYCLIC, options);
  if (o.restartWeights.length !== o.periods.length || o.etaMins.length !== o.periods.length)
    throw new ConfigError(
      `cosineAnnealingRestartCyclicLR: periods, restartWeights and etaMins should have the same length (${o.periods.length}, ${o.restartWeights.length} and ${o.etaMins.length})`,
    );
  const cumulative = o.periods.map((_, i) => o.periods.slice(0, i + 1).reduce((a, b) => a + b, 0));
  const inner: Schedule = (step) => {
    checkStep('cosineAnnealingRestartCyclicLR', step);
    const i = cycleIndex('cosineAnnealingRestartCyclicLR', step, cumulative);
    const start = i === 0 ? 0 : cumulative[i - 1]!;
    const etaMin = o.etaMins[i]!;
    return etaMin + o.restartWeights[i]! * 0.5 * (o.lr - etaMin) * (1 + Math.cos(Math.PI * ((step - start) / o.periods[i]!)));
  };
  return withBasicsrWarmup(o.lr, o.warmupIter, inner);
}
