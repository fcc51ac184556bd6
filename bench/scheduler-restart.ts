/**
 * Benchmark: a scheduler killed with SIGKILL mid-stream and restarted after a
 * downtime — how soon its job runs again, how many batches it catches up on,
 * and when batch total delay is back within 10% of normal. Word count, 2
 * executors, 1 s batches, pushing continuously throughout (the receiver keeps
 * acking while no scheduler runs).
 *
 *   npm run build && node dist/bench/scheduler-restart.js
 *   BENCH_LINES_PER_SECOND=100000 BENCH_DOWNTIME_MS=3000 node dist/bench/scheduler-restart.js
 */
import { backToNormalAt, batchDoneAt, percentile, sleep, steadyWordCount } from '../scenarios/steady-wordcount.js';
import { machine, machineLine } from './machine.js';

const linesPerSecond = Number(process.env.BENCH_LINES_PER_SECOND ?? 100_000);
const downtimeMs = Number(process.env.BENCH_DOWNTIME_MS ?? 2000);

const run = await steadyWordCount({ executors: 2, linesPerSecond });
try {
  while ((await run.batches()).length < 8) await sleep(250);
  const before = await run.batches();
  const normal = percentile(before.slice(3).map((b) => b.totalDelayMs), 50);
  await sleep(Math.random() * 1000);
  const killedAt = Date.now();
  await run.cluster.scheduler.kill();
  await sleep(downtimeMs);
  await run.cluster.restartScheduler();
  const restartedAt = Date.now();
  await sleep(12_000);
  const after = await run.batches();
  const done = batchDoneAt;
  const missed = after.filter((b) => Number(b.batchTimeMs) < restartedAt);
  const recoveredAt = backToNormalAt(after, normal, restartedAt);
  const result = {
    benchmark: 'scheduler-restart',
    machine: machine(),
    linesPerSecond,
    downtimeMs: restartedAt - killedAt,
    normalTotalDelayMs: normal,
    caughtUpBatches: missed.length,
    firstBatchAfterRestartMs: after.length > 0 ? Math.max(0, Math.min(...after.map(done)) - restartedAt) : null,
    backToNormalAfterRestartMs: Math.max(0, recoveredAt - restartedAt),
    peakTotalDelayMs: Math.max(0, ...after.map((b) => b.totalDelayMs)),
    recordsAfterRestart: after.reduce((n, b) => n + Number(b.inputRecords), 0),
  };
  console.log(JSON.stringify(result));
  console.log(`\n${machineLine()}`);
  console.log(`scheduler kill -9, restarted after ${result.downtimeMs} ms (word count, ${linesPerSecond} lines/s, 1 s batches)`);
  console.log(`  normal total delay             ${normal} ms`);
  console.log(`  batches caught up on           ${result.caughtUpBatches}`);
  console.log(`  first batch done after restart ${result.firstBatchAfterRestartMs} ms`);
  console.log(`  delay back to normal after     ${result.backToNormalAfterRestartMs} ms`);
  console.log(`  peak total delay               ${result.peakTotalDelayMs} ms`);
} finally {
  await run.stop();
}
