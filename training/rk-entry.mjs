// Entry of the snapshot bundle that the training scripts import (node training/build.mjs → training/.build/rk.mjs):
// the built packages (@restorekit/core, train, losses, metrics, runtime's browser-safe main entry: their dist/) plus the compact model family from
// packages/models/src, in ONE copy of @restorekit/core (so blocks register into one registry). @tensorflow/* stay
// external: they resolve to the workspace's single tfjs-core, the one tfjs-node registers its backend into.
export * as core from '@restorekit/core';
export * as train from '@restorekit/train';
export * as losses from '@restorekit/losses';
export * as metrics from '@restorekit/metrics';
export * as runtime from '@restorekit/runtime';
export { Compact, NAFBlock, compactPresets } from '../packages/models/src/compact.ts';
export { createModel, getModelSpec, listModels, loadModelWeights } from '../packages/models/src/registry.ts';
