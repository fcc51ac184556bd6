/**
 * Benchmark: nats-server killed with SIGKILL mid-stream, down for a while,
 * restarted on the same port and store — after how many batches past the
 * restart is total delay back to normal? Issue 11 asks for at most 3; this
 * repeats the fault (BENCH_FAULTS, default 5) on one cluster and prints every
 * run, and exits 1 when a run took more than BENCH_MAX_BATCHES (3).
 *
 * Same cluster and load as tests/chaos/infrastructure-faults.test.ts (a): 3
 * executors × 2 slots, 500 ms batches, 100 ms blocks, word count, 200 lines
 * pushed every 40 ms with at most 4 pushes unacked (5000 lines/s), throughout:
 * pushes refused during the outage are retried by the client.
 * Counting and "normal" (total delay under one batch interval, 3 batches in a
 * row) are scenarios/nats-restart.ts's; the pre-fault p50 / p90 are printed
 * alongside, and every run's total delays after the restart.
 *
 *   npm run build && node dist/bench/nats-restart.js
 *   BENCH_FAULTS=10 BENCH_DOWNTIME_MS=5000 BENCH_LINES_PER_SECOND=5000 node dist/bench/nats-restart.js
 *   BENCH_LOG_DIR=/tmp/nats-restart node dist/bench/nats-restart.js   # keep every service's log (info) to explain a slow run
 */
import { completedBatches, faultWordCount, FAULT_BATCH_INTERVAL_MS, ordinal, restartFigure, type BatchDelay } from '../scenarios/nats-restart.js';
import { sleep } from '../scenarios/steady-wordcount.js';
import { machine, machineLine } from './machine.js';

const faults = Number(process.env.BENCH_FAULTS ?? 5);
const downtimeMs = Number(process.env.BENCH_DOWNTIME_MS ?? 5000);
const linesPerSecond = Number(process.env.BENCH_LINES_PER_SECOND ?? 5000);
const maxBatches = Number(process.env.BENCH_MAX_BATCHES ?? 3);
const BATCH_INTERVAL_MS = FAULT_BATCH_INTERVAL_MS;
/** Quiet batches before each fault: the first run's also warm the cluster up (JIT, connections). */
const BEFORE = 10;
/** Batches observed after each restart. */
const AFTER = 10;

const run = await faultWordCount(linesPerSecond);
const completed = (): Promise<BatchDelay[]> => completedBatches(run.client, run.jobId);

const results: Array<{ downMs: number; normalP50Ms: number; normalP90Ms: number; batchesUntilNormal: number | null; afterMs: number[] }> = [];
try {
  let quietFrom = 0;
  for (let i = 0; i < faults; i++) {
    // Skip the first batches of the job (cold) and the ones disturbed by the previous fault.
    const skip = i === 0 ? 3 : 0;
    while ((await completed()).filter((b) => b.batchTimeMs > quietFrom).length < BEFORE + skip) await sleep(250);
    const before = (await completed()).filter((b) => b.batchTimeMs > quietFrom).slice(skip);
    // At a random point inside a batch interval, so the outage cuts batches at any stage.
    await sleep(Math.random() * BATCH_INTERVAL_MS);
    await run.cluster.killNats();
    const downAt = Date.now();
    await sleep(downtimeMs);
    await run.cluster.restartNats();
    const upAt = Date.now();
    while ((await completed()).filter((b) => b.batchTimeMs > upAt).length < AFTER) await sleep(250);
    const all = await completed();
    const figure = restartFigure(before, all, upAt, BATCH_INTERVAL_MS);
    const n = figure.batchesUntilNormal;
    results.push({ downMs: upAt - downAt, normalP50Ms: figure.normalP50Ms, normalP90Ms: figure.normalP90Ms, batchesUntilNormal: n ?? null, afterMs: figure.afterMs });
    console.log(
      `run ${i + 1}: NATS down ${upAt - downAt} ms; total delay before p50 ${figure.normalP50Ms} / p90 ${figure.normalP90Ms} ms; ` +
        `back under one interval from the ${n === undefined ? `(not within ${AFTER})` : ordinal(n)} batch after the restart; ` +
        `total delay of the batches after it: ${figure.afterMs.join(' ')} ms`,
    );
    quietFrom = all.at(-1)!.batchTimeMs;
  }
} finally {
  await run.stop();
}

const counts = results.map((r) => r.batchesUntilNormal);
const worst = counts.some((n) => n === null) ? null : Math.max(...(counts as number[]));
console.log(JSON.stringify({ benchmark: 'nats-restart', machine: machine(), linesPerSecond, downtimeMs, batchIntervalMs: BATCH_INTERVAL_MS, runs: results }));
console.log(`\n${machineLine()}`);
console.log(`nats-server kill -9, restarted after ~${downtimeMs} ms (word count, 3 executors, ${linesPerSecond} lines/s, ${BATCH_INTERVAL_MS} ms batches), ${faults} times`);
console.log(`  batches after the restart until total delay is back under one interval: ${counts.map((n) => n ?? '>' + AFTER).join(', ')} (worst ${worst ?? '>' + AFTER}; required <= ${maxBatches})`);
console.log(`  total delay before the faults, p50: ${results.map((r) => r.normalP50Ms).join(', ')} ms; p90: ${results.map((r) => r.normalP90Ms).join(', ')} ms`);
if (worst === null || worst > maxBatches) {
  console.log(`FAILED: a run took more than ${maxBatches} batches`);
  process.exitCode = 1;
}
