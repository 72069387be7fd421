import { BackendError, ConfigError } from '@restorekit/core';

/**
 * Where the Trainer writes its log: one JSON object per line (JSONL), one line per step and per validation.
 * `write` may be async (the Trainer awaits it, so lines stay in order).
 */
export interface LogSink {
  write(line: string): void | Promise<void>;
}

/** A sink that keeps the lines in memory (tests, browsers); `records()` parses them. */
export function memorySink(): LogSink & { lines: string[]; records(): Record<string, unknown>[] } {
  const lines: string[] = [];
  return {
    lines,
    write(line: string) {
      lines.push(line);
    },
    records() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
  };
}

/** A sink that calls `fn` with each parsed record (e.g. `console.log`, a progress bar, a chart). */
export function callbackSink(fn: (record: Record<string, unknown>) => void | Promise<void>): LogSink {
  if (typeof fn !== 'function') throw new ConfigError('callbackSink: expected a function');
  return { write: (line) => fn(JSON.parse(line) as Record<string, unknown>) };
}

/**
 * A sink that appends each line to a file (Node, Deno, Bun: `node:fs/promises`). The module is loaded on first write,
 * so bundles for browsers that never write to a file do not need it.
 */
export function fileSink(path: string): LogSink {
  if (typeof path !== 'string' || path.length === 0) throw new ConfigError(`fileSink: path must be a non-empty string, got ${JSON.stringify(path)}`);
  let fs: Promise<{ appendFile(p: string, data: string): Promise<void> }> | null = null;
  return {
    async write(line: string) {
      if (!fs) {
        const name = 'node:fs/promises';
        fs = import(/* @vite-ignore */ name).catch((e: Error) => {
          throw new BackendError(`fileSink: cannot load ${name} here (${e.message}); in a browser use memorySink or callbackSink`);
        });
      }
      await (await fs).appendFile(path, `${line}\n`);
    },
  };
}
