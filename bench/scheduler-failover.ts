/**
 * Benchmark: the leading scheduler killed (kill -9) or paused (SIGSTOP for
 * BENCH_PAUSE_MS, 10 s) with a standby running (issue 15) — the failover gap:
 * from the last batch completed before the fault to the first completed
 * after it, in ms and in batch intervals; and how long until total delay is
 * back to normal. Word count, 2 executors, 2 schedulers, 1 s batches, input
 * paced throughout. Faults alternate between the schedulers on one cluster
 * (the killed one is restarted and stands by).
 *
 *   npm run build && node dist/bench/scheduler-failover.js
 *   BENCH_RUNS=5 BENCH_FAULTS=kill,stop RIVULET_LEASE_TIMEOUT=2s node dist/bench/scheduler-failover.js
 */
import os from 'node:os';
import { backToNormalAt, batchDoneAt, percentile, sleep, steadyWordCount } from '../scenarios/steady-wordcount.js';
import { machine, machineLine } from './machine.js';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const faults = (process.env.BENCH_FAULTS ?? 'kill,stop').split(',') as Array<'kill' | 'stop'>;
const pauseMs = Number(process.env.BENCH_PAUSE_MS ?? 10_000);
const linesPerSecond = Number(process.env.BENCH_LINES_PER_SECOND ?? 50_000);
const leaseTimeout = process.env.RIVULET_LEASE_TIMEOUT ?? '2s';
const intervalMs = 1000;

const run = await steadyWordCount({
  executors: 2,
  schedulers: 2,
  linesPerSecond,
  batchInterval: `${intervalMs}ms`,
  env: { scheduler: { RIVULET_LEASE_TIMEOUT: leaseTimeout } },
});
const done = batchDoneAt;
const leader = async () => (await run.client.status({ recentBatches: 0, allPages: false })).leader?.schedulerId ?? '';

interface Outcome {
  fault: 'kill' | 'stop';
  gapMs: number;
  backToNormalMs: number;
  peakTotalDelayMs: number;
  load: number;
}
const outcomes: Outcome[] = [];
try {
  while ((await run.batches()).length < 6) await sleep(250);
  for (let r = 0; r < runs; r++) {
    for (const fault of faults) {
      const before = await run.batches();
      const normal = percentile(before.slice(-5).map((b) => b.totalDelayMs), 50);
      const lastBefore = Math.max(...before.map(done));
      const name = await leader();
      const proc = run.cluster.schedulers.find((p) => p.name === name)!;
      const faultAt = Date.now();
      if (fault === 'kill') await proc.kill();
      else proc.pause();
      // The other leads and completes batches; the batches it reports are its own.
      for (;;) {
        await sleep(250);
        const now = await leader().catch(() => name);
        if (now !== name && (await run.batches().catch(() => [])).some((b) => done(b) > faultAt)) break;
      }
      await sleep(6 * intervalMs);
      const after = (await run.batches()).filter((b) => done(b) > faultAt);
      const firstAfter = Math.min(...after.map(done));
      const back = backToNormalAt(after, normal, firstAfter);
      outcomes.push({
        fault,
        gapMs: firstAfter - lastBefore,
        backToNormalMs: back - faultAt,
        peakTotalDelayMs: Math.max(...after.map((b) => b.totalDelayMs)),
        load: os.loadavg()[0]!,
      });
      console.log(JSON.stringify({ run: r + 1, ...outcomes.at(-1), normalTotalDelayMs: normal }));
      if (fault === 'kill') await run.cluster.restartScheduler(run.cluster.schedulers.indexOf(proc));
      else {
        const wait = pauseMs - (Date.now() - faultAt);
        if (wait > 0) await sleep(wait);
        proc.resume();
      }
      await sleep(3 * intervalMs); // the former leader stands by again
    }
  }
  console.log(JSON.stringify({ benchmark: 'scheduler-failover', machine: machine(), leaseTimeout, linesPerSecond, outcomes }));
  console.log(`\n${machineLine()}; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`leader failover with a standby (word count, ${linesPerSecond} lines/s, 1 s batches, leaseTimeout ${leaseTimeout})`);
  for (const fault of faults) {
    const o = outcomes.filter((x) => x.fault === fault);
    const label = fault === 'kill' ? 'kill -9 of the leader ' : `SIGSTOP ${pauseMs / 1000} s of the leader`;
    console.log(
      `  ${label}  gap (last batch before → first after) ${o.map((x) => x.gapMs).join(', ')} ms` +
        ` = ${o.map((x) => (x.gapMs / intervalMs).toFixed(1)).join(', ')} intervals; back to normal ${o.map((x) => x.backToNormalMs).join(', ')} ms after the fault`,
    );
  }
} finally {
  await run.stop();
}
