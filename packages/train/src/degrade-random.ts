/** Random compositions of degradations (one of several, sometimes, in a random order) and their FSDRNet tasks. */
import { ConfigError } from '@restorekit/core';
import { checkImage, type Degradation, type DegradationLabel } from './degrade.js';

const isDegradation = (d: unknown): d is Degradation => typeof d === 'function';

/**
 * One of `choices` per image, picked with the generator (uniformly, or in proportion to `weights`). The label is the
 * chosen degradation's, plus `choice`: its index.
 */
export function oneOf(choices: Degradation[], options: { weights?: number[] } = {}): Degradation {
  if (!Array.isArray(choices) || choices.length === 0 || !choices.every(isDegradation))
    throw new ConfigError('oneOf: choices must be a non-empty list of degradation functions');
  const known = ['weights'];
  for (const k of Object.keys(options ?? {})) if (!known.includes(k)) throw new ConfigError(`oneOf: unknown option '${k}'; known options: weights`);
  const weights = options.weights ?? choices.map(() => 1);
  if (
    !Array.isArray(weights) ||
    weights.length !== choices.length ||
    !weights.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0) ||
    !weights.some((x) => x > 0)
  )
    throw new ConfigError(`oneOf: option 'weights' must be ${choices.length} finite numbers ≥ 0, not all 0, got ${JSON.stringify(options.weights)}`);
  const total = weights.reduce((s, x) => s + x, 0);
  return (image, rng) => {
    const u = rng.float() * total;
    let i = 0;
    let acc = weights[0]!;
    while (u >= acc && i < choices.length - 1) acc += weights[++i]!;
    const r = choices[i]!(image, rng);
    return { image: r.image, label: { ...r.label, choice: i } };
  };
}

/** Applies `degradation` with the given probability (one draw per image); otherwise a copy of the image, label `{ type: 'identity' }`. */
export function maybe(probability: number, degradation: Degradation): Degradation {
  if (typeof probability !== 'number' || !(probability >= 0 && probability <= 1))
    throw new ConfigError(`maybe: probability must be a number in [0, 1], got ${JSON.stringify(probability)}`);
  if (!isDegradation(degradation)) throw new ConfigError('maybe: the second argument must be a degradation function');
  return (image, rng) => {
    if (rng.bernoulli(probability)) return degradation(image, rng);
    const [h, w, c] = checkImage('maybe', image);
    return { image: { data: image.data.slice(), shape: [h, w, c] }, label: { type: 'identity' } };
  };
}

/**
 * Applies the steps in a random order per image (a Fisher–Yates shuffle of the generator). Label `{ type: 'compose',
 * steps, order }`: the labels in the order applied, and `order[i]`, the index (among the arguments) of the i-th step applied.
 */
export function shuffled(...steps: Degradation[]): Degradation {
  if (steps.length === 0 || !steps.every(isDegradation)) throw new ConfigError('shuffled: every step must be a degradation function');
  return (image, rng) => {
    const order = rng.shuffle(steps.map((_, i) => i));
    let img = image;
    const labels: DegradationLabel[] = [];
    for (const i of order) {
      const r = steps[i]!(img, rng);
      img = r.image;
      labels.push(r.label);
    }
    return { image: img, label: { type: 'compose', steps: labels, order } };
  };
}

/**
 * The FSDRNet task of each degradation type (the keys of `FSDRNET_TASK_TYPE` in @restorekit/losses): noise → denoise
 * (type S, superposition), rain → derain (S), haze → dehaze (Mix), low light → lowlight (I), every blur → deblur (K).
 * JPEG and identity have no FSDRNet task.
 */
export const DEGRADATION_TASK: Readonly<Record<string, string>> = Object.freeze({
  gaussianNoise: 'denoise',
  poissonGaussianNoise: 'denoise',
  rain: 'derain',
  haze: 'dehaze',
  lowLight: 'lowlight',
  gaussianBlur: 'deblur',
  defocusBlur: 'deblur',
  motionBlur: 'deblur',
});

/**
 * The FSDRNet tasks of a label, in the order applied and without repeats (the steps of a composition included; JPEG
 * and identity steps add none): e.g. `fsdrnetRoutingLabels(labels.map((l) => degradationTasks(l)[0]))` for
 * single-degradation batches.
 */
export function degradationTasks(label: DegradationLabel): string[] {
  const out: string[] = [];
  const visit = (l: DegradationLabel) => {
    if (l.type === 'compose' && Array.isArray(l.steps)) for (const s of l.steps as DegradationLabel[]) visit(s);
    const t = DEGRADATION_TASK[l.type];
    if (t !== undefined && !out.includes(t)) out.push(t);
  };
  visit(label);
  return out;
}
