/**
 * Typed errors. Every error restorekit throws on bad input is a `RestorekitError`
 * subclass whose message names the offending thing (shape, dtype, key, file, ...).
 */
export class RestorekitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
/** A tensor has the wrong rank, channel count or size. */
export class ShapeError extends RestorekitError {}
/** A tensor has a dtype the operation does not accept. */
export class DTypeError extends RestorekitError {}
/** A constructor option or JSON config is invalid. */
export class ConfigError extends RestorekitError {}
/** A registry lookup failed (unknown `type`). */
export class RegistryError extends RestorekitError {}
/** A weight file or state dict does not fit the target (missing, unexpected or mis-shaped keys, NaN). */
export class WeightsError extends RestorekitError {
  constructor(
    message: string,
    readonly missing: string[] = [],
    readonly unexpected: string[] = [],
    readonly mismatched: { key: string; expected: number[]; got: number[] }[] = [],
  ) {
    super(message);
  }
}
/** A safetensors file is truncated or malformed. */
export class SafetensorsError extends RestorekitError {}
/** A PyTorch checkpoint (.pth/.ckpt) is malformed, truncated, unsupported, or asks to run code (refused: nothing is executed). */
export class CheckpointError extends RestorekitError {}
/** The active backend cannot do what was asked (and says why). */
export class BackendError extends RestorekitError {}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
