/**
 * Exit codes and the two kinds of error the commands throw: a usage error (the command line is wrong: exit 2) and a
 * failure (the command line is right but a file is missing, unreadable or does not fit: exit 1).
 */
import { CheckpointError, SafetensorsError, WeightsError } from '@restorekit/core';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The command line is wrong (unknown model, preset or backend, bad value, missing argument): exit 2. */
export class UsageError extends Error {
  readonly exitCode = EXIT_USAGE;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The work failed (missing or unreadable file, corrupt checkpoint, weights that do not fit): exit 1. */
export class FailureError extends Error {
  readonly exitCode = EXIT_FAILURE;
  constructor(message: string) {
    super(message);
    this.name = 'FailureError';
  }
}

/** A Node file-system error's code ('ENOENT', 'EACCES', ...), if it is one. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
};

/** Why something failed, in one line: a file-system error by its meaning, a restorekit error by its message. */
export function reason(e: unknown): string {
  const code = errnoCode(e);
  if (code && ERRNO_TEXT[code]) return ERRNO_TEXT[code]!;
  if (e instanceof Error) return e.message.split('\n')[0]!.trim() || e.name;
  return String(e);
}

/** A checkpoint that cannot be read, or whose tensors do not fit the model. */
export function isWeightsProblem(e: unknown): boolean {
  return e instanceof CheckpointError || e instanceof SafetensorsError || e instanceof WeightsError;
}
