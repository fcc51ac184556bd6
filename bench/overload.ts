/**
 * Benchmark (long form of tests/chaos/overload.test.ts): producers offering
 * a multiple of what a job can process, for a while, through the SDK pusher.
 * Prints, per interval, the acked rate (what producers were let in), the
 * processed rate, backpressure's rate limit and the scheduling delay; then
 * the steady-state figures, every service's RSS, and the machine. Ends with
 * issue 11's overload criteria, each PASS or FAIL, and exits 1 when one
 * fails:
 *   - the job stays RUNNING and no push is given up on;
 *   - producers slowed to within BENCH_CAPACITY_TOLERANCE (25%) of capacity:
 *     the acked rate after warm-up vs what the job processes per second of
 *     processing (Σ records / Σ processing time of those batches);
 *   - scheduling delay bounded: at most BENCH_MAX_SCHEDULING_DELAY_MS (4000)
 *     after warm-up;
 *   - every service's RSS flat: its peak over the last BENCH_RSS_WINDOW_SECONDS
 *     (20) within BENCH_RSS_TOLERANCE (15%) of its peak over the same length
 *     right after warm-up (scheduler, receiver, lineage, each executor; peaks,
 *     as scenarios/process-memory.ts rssFlatness says why);
 *   - every acked record counted: once the load stops, the job's processed
 *     count reaches the acked count exactly (within BENCH_DRAIN_SECONDS, 30).
 *
 *   npm run build && node dist/bench/overload.js
 *   BENCH_SECONDS=120 BENCH_OFFERED=45000 BENCH_WARMUP_SECONDS=60 node dist/bench/overload.js
 *
 * The warm-up (60 s) is as long as the scheduler's bounded per-job history
 * takes to fill (100 batches of 500 ms, plus the outputs' retention): RSS
 * that grows while bounded buffers fill is not a leak, and the flatness
 * check compares the 20 s after it with the last 20 s of 60 s of steady
 * overload (a 60 s run with a 20 s warm-up measured the scheduler at
 * +15.4% while its history was still filling; its RSS is flat after ~90 s).
 *   BENCH_INITIAL_RATE=15000 node dist/bench/overload.js   # the scheduler's backpressureInitialRate
 */
import { RivuletClient } from '../client/index.js';
import { startLocalCluster } from '../lib/cluster/local-cluster.js';
import { offerLoad, processingCapacity, ratesBetween, sampleRates, slowWordcountJob } from '../scenarios/overload.js';
import { clusterServices, formatRssFlatness, rssFlatness, sampleRss } from '../scenarios/process-memory.js';
import { machine, machineLine } from './machine.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 120);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 60);
const offered = Number(process.env.BENCH_OFFERED ?? 45_000);
const executors = Number(process.env.BENCH_EXECUTORS ?? 2);
const initialRate = process.env.BENCH_INITIAL_RATE;
const capacityTolerance = Number(process.env.BENCH_CAPACITY_TOLERANCE ?? 0.25);
const maxSchedulingDelayMs = Number(process.env.BENCH_MAX_SCHEDULING_DELAY_MS ?? 4000);
const rssWindowSeconds = Number(process.env.BENCH_RSS_WINDOW_SECONDS ?? 20);
const rssTolerance = Number(process.env.BENCH_RSS_TOLERANCE ?? 0.15);
const drainSeconds = Number(process.env.BENCH_DRAIN_SECONDS ?? 30);
if (seconds < warmupSeconds + 2 * rssWindowSeconds) {
  console.warn(`note: ${seconds} s is shorter than warm-up + 2 RSS windows (${warmupSeconds + 2 * rssWindowSeconds} s): the two RSS windows overlap`);
}

const cluster = await startLocalCluster({
  executors,
  slots: 1,
  batchInterval: '500ms',
  blockInterval: '100ms',
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
  ...(process.env.BENCH_LOG_DIR ? { logDir: process.env.BENCH_LOG_DIR } : {}),
  ...(initialRate ? { env: { scheduler: { RIVULET_BACKPRESSURE_INITIAL_RATE: initialRate } } } : {}),
});
const a = cluster.addresses();
const client = new RivuletClient(a);
try {
  const job = await client.submitJob(slowWordcountJob);
  const load = offerLoad(client, { line: (i) => `id${i} red green blue`, linesPerSecond: offered, producers: 2, perPush: 500 });
  const sampler = sampleRates(client, job.jobId, load, 1000);
  const memory = sampleRss(() => clusterServices(cluster), 1000);
  const t0 = Date.now();
  let printed = 0;
  const names = clusterServices(cluster).map((x) => x.name);
  console.log(`  t(s)  acked/s  processed/s  rate limit/s  max sched. delay (ms)  state    RSS MiB ${names.join(' / ')}`);
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
          `${String(cur.maxSchedulingDelayMs).padStart(21)}  ${cur.state.padEnd(7)}  ${names.map((n) => Math.round(memory.samples.at(-1)?.mb[n] ?? NaN)).join(' / ')}`,
      );
    }
  }
  // RSS under load only: the windows end where the overload ends.
  memory.stop();
  await load.stop();
  await sampler.stop();
  const endMs = Date.now();
  const steady = ratesBetween(sampler.samples, t0 + warmupSeconds * 1000);
  const after = sampler.samples.filter((x) => x.atMs >= t0 + warmupSeconds * 1000);
  const capacity = processingCapacity(sampler.completed, t0 + warmupSeconds * 1000, endMs);
  const rss = rssFlatness(memory.samples, { warmupEndMs: t0 + warmupSeconds * 1000, windowMs: rssWindowSeconds * 1000, tolerance: rssTolerance });

  // Every acked record counted: the backlog drains, then processed must equal acked.
  const acked = load.acked.size;
  let processed = 0;
  const drainDeadline = Date.now() + drainSeconds * 1000;
  for (;;) {
    processed = Number((await client.status({ recentBatches: 1 })).jobs.find((j) => j.jobId === job.jobId)?.recordsProcessed ?? 0);
    if (processed >= acked || Date.now() > drainDeadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }

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
    initialRate: initialRate === undefined ? 0 : Number(initialRate),
    capacityPerSecond: Math.round(capacity.recordsPerSec),
    capacityBatches: capacity.batches,
    ackedVsCapacity: Number((steady.ackedPerSec / capacity.recordsPerSec).toFixed(3)),
    acked,
    processed,
    rss: rss.map((r) => ({
      service: r.service,
      earlyPeakMB: +r.early.peakMB.toFixed(1),
      latePeakMB: +r.late.peakMB.toFixed(1),
      earlyMeanMB: +r.early.meanMB.toFixed(1),
      lateMeanMB: +r.late.meanMB.toFixed(1),
      change: +r.change.toFixed(3),
    })),
  };
  console.log(JSON.stringify(result));
  console.log(`\n${machineLine()}`);
  console.log(
    `overload: offered ${offered} lines/s for ${seconds} s; after ${warmupSeconds} s warm-up: acked ${result.steadyAckedPerSecond}/s, ` +
      `processed ${result.steadyProcessedPerSecond}/s (acked/processed ${result.ackedVsProcessed}), max scheduling delay ${result.maxSchedulingDelayMsAfterWarmup} ms, ` +
      `job ${result.jobAlwaysRunning ? 'RUNNING throughout' : 'NOT always RUNNING'}, ${result.pushesGivenUp} pushes given up`,
  );
  console.log(`\nRSS (the ${rssWindowSeconds} s after warm-up → the last ${rssWindowSeconds} s under load; compared by peak):`);
  for (const line of formatRssFlatness(rss, rssTolerance)) console.log(`  ${line}`);

  const checks: Array<[boolean, string]> = [
    [result.jobAlwaysRunning && result.pushesGivenUp === 0, `job RUNNING throughout, no push given up (${result.pushesGivenUp})`],
    [
      Math.abs(result.ackedVsCapacity - 1) <= capacityTolerance,
      `producers slowed to within ${Math.round(100 * capacityTolerance)}% of capacity: acked ${result.steadyAckedPerSecond}/s vs capacity ` +
        `${result.capacityPerSecond}/s (Σ records / Σ processing time of ${capacity.batches} batches) = ${result.ackedVsCapacity}; offered ${offered}/s`,
    ],
    [
      result.maxSchedulingDelayMsAfterWarmup <= maxSchedulingDelayMs,
      `scheduling delay bounded: max ${result.maxSchedulingDelayMsAfterWarmup} ms after warm-up (bound ${maxSchedulingDelayMs} ms)`,
    ],
    [rss.every((r) => r.flat), `every service's RSS flat (last ${rssWindowSeconds} s within ${Math.round(100 * rssTolerance)}% of the ${rssWindowSeconds} s after warm-up)`],
    [processed === acked, `every acked record counted: processed ${processed} of ${acked} acked`],
  ];
  console.log('\ncriteria (issue 11, overload):');
  for (const [ok, what] of checks) console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${what}`);
  if (checks.some(([ok]) => !ok)) process.exitCode = 1;
} finally {
  await client.close();
  await cluster.stop();
}
