/**
 * Benchmark (long form of tests/chaos/overload.test.ts): producers offering
 * a multiple of what a job can process, for a while, through the SDK pusher.
 * Prints, per interval, the acked rate (what producers were let in), the
 * processed rate, backpressure's rate limit and the scheduling delay; then
 * the steady-state figures and the machine. No correctness check here (the
 * test does that); the job must stay RUNNING and no push may be given up on.
 *
 *   npm run build && node dist/bench/overload.js
 *   BENCH_SECONDS=60 BENCH_OFFERED=45000 BENCH_WARMUP_SECONDS=20 node dist/bench/overload.js
 */
import { RivuletClient } from '../client/index.js';
import { startLocalCluster } from '../lib/cluster/local-cluster.js';
import { offerLoad, ratesBetween, sampleRates, slowWordcountJob } from '../scenarios/overload.js';
import { machine, machineLine } from './machine.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 20);
const offered = Number(process.env.BENCH_OFFERED ?? 45_000);
const executors = Number(process.env.BENCH_EXECUTORS ?? 2);

const cluster = await startLocalCluster({
  executors,
  slots: 1,
  batchInterval: '500ms',
  blockInterval: '100ms',
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
  ...(process.env.BENCH_LOG_DIR ? { logDir: process.env.BENCH_LOG_DIR } : {}),
});
const a = cluster.addresses();
const client = new RivuletClient({ scheduler: a.scheduler, receiver: a.receiver });
try {
  const job = await client.submitJob(slowWordcountJob);
  const load = offerLoad(client, { line: (i) => `id${i} red green blue`, linesPerSecond: offered, producers: 2, perPush: 500 });
  const sampler = sampleRates(client, job.jobId, load, 1000);
  const t0 = Date.now();
  let printed = 0;
  console.log('  t(s)  acked/s  processed/s  rate limit/s  max sched. delay (ms)  state');
  while (Date.now() - t0 < seconds * 1000) {
    await new Promise((r) => setTimeout(r, 250));
    const s = sampler.samples;
    for (; printed < s.length; printed++) {
      if (printed === 0) continue;
      const cur = s[printed]!;
      const prev = s[printed - 1]!;
      const dt = (cur.atMs - prev.atMs) / 1000;
      console.log(
        `  ${((cur.atMs - t0) / 1000).toFixed(0).padStart(4)}  ${String(Math.round((cur.acked - prev.acked) / dt)).padStart(7)}  ` +
          `${String(Math.round((cur.processed - prev.processed) / dt)).padStart(11)}  ${String(cur.rateLimit === undefined ? '–' : Math.round(cur.rateLimit)).padStart(12)}  ` +
          `${String(cur.maxSchedulingDelayMs).padStart(21)}  ${cur.state}`,
      );
    }
  }
  await load.stop();
  await sampler.stop();
  const steady = ratesBetween(sampler.samples, t0 + warmupSeconds * 1000);
  const after = sampler.samples.filter((x) => x.atMs >= t0 + warmupSeconds * 1000);
  const result = {
    benchmark: 'overload',
    machine: machine(),
    offeredLinesPerSecond: offered,
    executors,
    seconds,
    warmupSeconds,
    steadyAckedPerSecond: Math.round(steady.ackedPerSec),
    steadyProcessedPerSecond: Math.round(steady.processedPerSec),
    ackedVsProcessed: Number((steady.ackedPerSec / steady.processedPerSec).toFixed(3)),
    maxSchedulingDelayMsAfterWarmup: Math.max(...after.map((x) => x.maxSchedulingDelayMs)),
    jobAlwaysRunning: sampler.samples.every((x) => x.state === 'RUNNING'),
    pushesGivenUp: load.refused.size,
    retriedRefusals: load.retries(),
    finalRateLimit: sampler.samples.at(-1)?.rateLimit,
  };
  console.log(JSON.stringify(result));
  console.log(`\n${machineLine()}`);
  console.log(
    `overload: offered ${offered} lines/s for ${seconds} s; after ${warmupSeconds} s warm-up: acked ${result.steadyAckedPerSecond}/s, ` +
      `processed ${result.steadyProcessedPerSecond}/s (acked/processed ${result.ackedVsProcessed}), max scheduling delay ${result.maxSchedulingDelayMsAfterWarmup} ms, ` +
      `job ${result.jobAlwaysRunning ? 'RUNNING throughout' : 'NOT always RUNNING'}, ${result.pushesGivenUp} pushes given up`,
  );
} finally {
  await client.close();
  await cluster.stop();
}
