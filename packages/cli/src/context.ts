import { isAbsolute, relative, resolve } from 'node:path';
import type { Ui, Writable } from './progress.js';

/** What a command runs with: the working directory its relative paths are resolved from, and its output streams. */
export interface Context {
  cwd: string;
  stdout: Writable;
  stderr: Writable;
  /** Messages and progress bars on stderr; made by the command (its --json / --progress flags decide the bars). */
  ui: Ui;
}

export const abs = (ctx: Context, p: string) => resolve(ctx.cwd, p);

/** A path for messages: relative to the working directory when it is inside it, else absolute. */
export function shown(ctx: Context, p: string): string {
  const r = relative(ctx.cwd, p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

/** Seconds, for messages. */
export const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
