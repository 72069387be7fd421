import { RestorekitError } from '@restorekit/core';

const BRAND = Symbol.for('restorekit.runtime.AbortError');

/**
 * `restore` was cancelled through its `AbortSignal`. Every tensor the call created has been disposed by the time
 * this is thrown. `name` is 'AbortError' (as for a DOMException from `fetch`), `cause` is the signal's reason.
 * `instanceof AbortError` holds across the ESM and CJS builds of this package.
 */
export class AbortError extends RestorekitError {
  readonly [BRAND] = true;
  constructor(message = 'restore was aborted', options?: { cause?: unknown }) {
    super(message);
    if (options && 'cause' in options) (this as { cause?: unknown }).cause = options.cause;
  }
  static override [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[BRAND] === true;
  }
}

export function abortErrorOf(signal: AbortSignal, what = 'restore'): AbortError {
  const reason = signal.reason as unknown;
  const why = reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : '';
  return new AbortError(`${what} was aborted${why}`, { cause: reason });
}
