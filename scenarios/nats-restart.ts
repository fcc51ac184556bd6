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
import type { RivuletClient } from '../client/index.js';
import { percentile, steadyWordCount, type SteadyRun } from './steady-wordcount.js';

/** The batch interval of the NATS fault benchmarks (bench/nats-restart.ts, bench/nats-cluster.ts). */
export const FAULT_BATCH_INTERVAL_MS = 500;

/**
 * The word count both NATS fault benchmarks run: 3 executors × 2 slots, 500 ms
 * batches, 100 ms blocks, `linesPerSecond` pushed in 40 ms slices (4 in flight);
 * `natsServers` > 1 starts a routed NATS cluster.
 */
export function faultWordCount(linesPerSecond: number, natsServers?: number): Promise<SteadyRun> {
  return steadyWordCount({
    executors: 3,
    slots: 2,
    batchInterval: `${FAULT_BATCH_INTERVAL_MS}ms`,
    blockInterval: '100ms',
    linesPerSecond,
    sliceMs: 40,
    maxInFlight: 4,
    logDir: process.env.BENCH_LOG_DIR,
    ...(natsServers !== undefined ? { natsServers } : {}),
  });
}

/** The job's completed batches in time order; throws when the job is not running or a batch failed (a benchmark's fault). */
export async function completedBatches(client: RivuletClient, jobId: string): Promise<BatchDelay[]> {
  const st = await client.status({ recentBatches: 1000 });
  const job = st.jobs.find((j) => j.jobId === jobId)!;
  if (job.state !== 'RUNNING') throw new Error(`the job is ${job.state}: ${job.error}`);
  const failed = job.recentBatches.filter((b) => b.state === 'FAILED');
  if (failed.length > 0) throw new Error(`batch ${failed[0]!.batchTimeMs} failed: ${failed[0]!.error}`);
  return job.recentBatches
    .filter((b) => b.state === 'COMPLETED')
    .map((b) => ({ batchTimeMs: Number(b.batchTimeMs), totalDelayMs: b.totalDelayMs }))
    .sort((a, b) => a.batchTimeMs - b.batchTimeMs);
}

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
