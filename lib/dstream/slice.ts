/**
 * Spark's `DStream.slice(fromTime, toTime)` as range arithmetic, shared by the
 * scheduler's SliceOutput RPC and `rivulet/testing`'s `slice`: which batch
 * times of an output fall in a range. Pure functions, no I/O, no clock.
 *
 * An output's batch times lie on its grid, `zeroTime + k × grid` (k ≥ 1):
 * the grid is the batch interval, or a window's slide for a windowed output
 * (lib/dstream/planner.ts `nodeSlides`), and the zero time is the job's
 * (Spark's zeroTime: its first batch time minus one batch interval). As in
 * Spark, both ends of the range are aligned *down* to the grid, and both are
 * included: slice(1 500, 3 000) on a 1 s grid from 0 is the batches at
 * 1 000, 2 000 and 3 000. (Spark only logs a warning for an unaligned time;
 * the aligned range is reported back instead, so a caller sees what it got.)
 */
import { InvalidArgumentError } from '../errors.js';

/** The range after alignment: batches with fromMs ≤ t ≤ toMs. */
export interface AlignedRange {
  fromMs: number;
  toMs: number;
}

/** An output's batch grid: its batch times are zeroTimeMs + k × gridMs. */
export interface BatchGrid {
  gridMs: number;
  zeroTimeMs: number;
}

/** `t` aligned down to the grid (Spark's Time.floor(slideDuration, zeroTime)). */
export function alignDown(t: number, grid: BatchGrid): number {
  return grid.zeroTimeMs + Math.floor((t - grid.zeroTimeMs) / grid.gridMs) * grid.gridMs;
}

/**
 * Check a requested range — whole, non-negative epoch milliseconds, from ≤ to
 * — and align both ends down to the grid. `what` names the caller in messages
 * (e.g. `SliceOutput`). Throws InvalidArgumentError.
 */
export function alignSliceRange(fromMs: number, toMs: number, grid: BatchGrid, what = 'slice'): AlignedRange {
  checkSliceRange(fromMs, toMs, what);
  if (!Number.isSafeInteger(grid.gridMs) || grid.gridMs <= 0) throw new RangeError(`slice: the grid must be a positive whole number of ms (got ${grid.gridMs})`);
  return { fromMs: alignDown(fromMs, grid), toMs: alignDown(toMs, grid) };
}

/**
 * A requested range must be whole, non-negative epoch milliseconds with
 * from ≤ to (InvalidArgumentError otherwise); `what` names the caller and
 * `suffix` the parameters' spelling there (`from` / `fromTimeMs`).
 */
export function checkSliceRange(fromMs: number, toMs: number, what: string, suffix = ''): void {
  for (const [name, v] of [[`from${suffix}`, fromMs], [`to${suffix}`, toMs]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new InvalidArgumentError(`${what}: ${name} must be a whole, non-negative number of epoch milliseconds (got ${String(v)})`);
    }
  }
  if (fromMs > toMs) throw new InvalidArgumentError(`${what}: from (${fromMs}) is after to (${toMs}); a range needs from <= to`);
}

/** The items whose batch time lies in `range` (both ends included), in their order. */
export function inRange<T>(items: readonly T[], range: AlignedRange, timeOf: (item: T) => number): T[] {
  return items.filter((item) => {
    const t = timeOf(item);
    return t >= range.fromMs && t <= range.toMs;
  });
}
