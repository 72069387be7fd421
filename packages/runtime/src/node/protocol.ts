import * as core from '@restorekit/core';
import { AbortError } from '../errors.js';
import type { ModelDescription } from '../model.js';

/** What a worker is started with (`workerData`). */
export interface WorkerInit {
  description: ModelDescription;
  backend: string;
  imports: string[];
}

/** Main thread → worker. */
export interface TileMessage {
  type: 'tile';
  id: number;
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
  outputIndex: number;
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

/** Worker → main thread. */
export type WorkerMessage =
  | { type: 'ready'; backend: string }
  | { type: 'result'; id: number; data: Float32Array; height: number; width: number; channels: number }
  | { type: 'error'; id: number; error: SerializedError };

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

/** The error a worker reported, as the same typed error class on this thread (restorekit errors keep their class). */
export function deserializeError(s: SerializedError, where: string): Error {
  let err: Error;
  const Ctor = (core as unknown as Record<string, unknown>)[s.name];
  if (s.name === 'AbortError') err = new AbortError(s.message);
  else if (typeof Ctor === 'function' && (Ctor === core.RestorekitError || Ctor.prototype instanceof core.RestorekitError))
    err = new (Ctor as new (m: string) => Error)(s.message);
  else {
    err = new Error(s.message);
    err.name = s.name;
  }
  err.stack = `${err.name}: ${err.message}\n    (thrown in ${where})${s.stack ? `\n${s.stack.split('\n').slice(1).join('\n')}` : ''}`;
  return err;
}
