import { RestorekitError } from '@restorekit/core';

/**
 * An input has values outside `[0, dataRange]` (e.g. an image in [0, 255] measured with
 * `dataRange: 1`). Subclass of core's `RestorekitError`; core has no value-range error yet.
 */
export class ValueRangeError extends RestorekitError {}
