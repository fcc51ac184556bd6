/**
 * The "total delay back to normal within N batches after a nats-server
 * restart" figure (issue 11), computed the same way by the chaos test
 * (tests/chaos/infrastructure-faults.test.ts (a), a loose bound) and the
 * benchmark that holds the strict one (bench/nats-restart.ts, several faults,
 * with the machine printed).
 *
 * Counting: the batches "after the restart" are those whose batch time (the
 * end of their interval) is later than the moment nats-server was ready
 * again, in time order; batches whose time fell inside the outage are late by
 * construction and not counted. The figure is k when the k-th of them is the
 * first of SETTLED batches in a row that are all back to normal: one fast
 * batch amid the catch-up is not "back", and a hiccup many batches later on a
 * busy machine (a batch starved of CPU) is not the restart's doing. Normal is
 * total delay under one batch interval: each batch done before the next one
 * is due, i.e. no backlog left. The pre-fault p50 is reported alongside; it
 * is well under the interval when the cluster keeps up.
 */
import { percentile } from './steady-wordcount.js';

/** Batches in a row that must all be normal for the first of them to count as back to normal. */
export const SETTLED = 3;

/** The k (1-based) of the first of SETTLED batches in a row that are all normal; undefined when there are none. */
export function batchesUntilNormal(totalDelaysAfterRestartMs: readonly number[], isNormal: (totalDelayMs: number) => boolean): number | undefined {
  for (let k = 0; k + SETTLED <= totalDelaysAfterRestartMs.length; k++) {
    if (totalDelaysAfterRestartMs.slice(k, k + SETTLED).every(isNormal)) return k + 1;
  }
  return undefined;
}

/** A batch as the scheduler's status reports it (only what the figure reads). */
export interface BatchDelay {
  batchTimeMs: number;
  totalDelayMs: number;
}

export interface RestartFigure {
  /** p50 and p90 total delay of the batches completed before the fault. */
  normalP50Ms: number;
  normalP90Ms: number;
  /** Total delay of every batch after the restart that completed, in time order. */
  afterMs: number[];
  /** See the module comment; undefined when no SETTLED batches in a row among those observed are normal. */
  batchesUntilNormal: number | undefined;
}

/**
 * The figure from the batches completed before the fault (`before`) and after
 * it (`all`, any order), the moment nats-server was ready again and the batch
 * interval.
 */
export function restartFigure(before: readonly BatchDelay[], all: readonly BatchDelay[], restartedAtMs: number, batchIntervalMs: number): RestartFigure {
  const after = all.filter((b) => b.batchTimeMs > restartedAtMs).sort((a, b) => a.batchTimeMs - b.batchTimeMs);
  const afterMs = after.map((b) => Math.round(b.totalDelayMs));
  return {
    normalP50Ms: Math.round(percentile(before.map((b) => b.totalDelayMs), 50)),
    normalP90Ms: Math.round(percentile(before.map((b) => b.totalDelayMs), 90)),
    afterMs,
    batchesUntilNormal: batchesUntilNormal(afterMs, (d) => d < batchIntervalMs),
  };
}

/** "the 3rd batch" */
export function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}
