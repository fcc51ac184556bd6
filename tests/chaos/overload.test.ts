/**
 * Chaos: sustained overload, short form (bench/overload.ts is the long one).
 * Producers offer ~3× what the job can process (a word count costing 100 µs
 * per line, on 2 executors of 1 slot) for ~20 s, through the SDK pusher.
 * Backpressure (on by default) must: keep the job RUNNING, slow the
 * producers to about what is processed (acked rate vs processed rate), keep
 * the scheduling delay bounded once the rate is set, and lose or double
 * nothing — every acked id counted exactly once, no push given up on.
 *
 * Memory: every service's RSS is sampled (scenarios/process-memory.ts) and
 * printed with the figures, but issue 11's criterion (last 20 s within 15% of
 * the 20 s after warm-up) needs the 60 s of bench/overload.ts, which checks
 * it: in 24 s the bounded buffers are still filling (the scheduler keeps 100
 * batches of outputs and status history: 50 s at 500 ms batches) and one GC
 * moves a service's RSS by 20-30%. What is asserted here is only what holds
 * at this length on a loaded machine: no service's peak RSS doubles from
 * the first to the last seconds of the measured window — overload piling up
 * in some service's memory.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { freePort } from '../../lib/process/ports.js';
import { offerLoad, processingCapacity, ratesBetween, sampleRates, slowWordcountJob } from '../../scenarios/overload.js';
import { clusterServices, formatRssFlatness, rssFlatness, sampleRss } from '../../scenarios/process-memory.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { expectExactWordCounts, expectJobHealthy, idLine, watchIdBatches } from '../helpers/id-lines.js';
import { waitFor } from '../helpers/wait.js';

/** 2 slots × 1e6 / 100 µs, less the per-batch overheads: about 15k lines/s. */
const NOMINAL_CAPACITY = 15_000;
const OFFERED = 3 * NOMINAL_CAPACITY;
const WARMUP_MS = 12_000;
const MEASURE_MS = 12_000;
/** RSS compared over the first and the last this-many ms of the measured window. */
const RSS_WINDOW_MS = 4000;
/** A service's RSS may not grow by more than this (1 = double) between those windows. */
const RSS_MAX_GROWTH = 1;

describe('chaos: producers offering 3× capacity', () => {
  let client: RivuletClient;
  let cluster: LocalCluster;
  // Prometheus endpoints, to read the rate limit and the throttled records as an operator would.
  const env = { scheduler: {} as Record<string, string>, receiver: {} as Record<string, string> };
  beforeAll(async () => {
    env.scheduler.RIVULET_METRICS_PORT = String(await freePort());
    env.receiver.RIVULET_METRICS_PORT = String(await freePort());
  });
  useLocalCluster(
    { executors: 2, slots: 1, batchInterval: '500ms', blockInterval: '100ms', logDir: process.env.RIVULET_TEST_LOG_DIR, env },
    (started) => ({ client, cluster } = started),
  );

  it('the job stays RUNNING, producers are slowed to what is processed, delay stays bounded, every acked record counted once', async () => {
    const job = await client.submitJob(slowWordcountJob);
    const watch = watchIdBatches(client, job.jobId);
    const load = offerLoad(client, { line: idLine, linesPerSecond: OFFERED, producers: 2, perPush: 500 });
    const sampler = sampleRates(client, job.jobId, load);
    const memory = sampleRss(() => clusterServices(cluster), 500);
    const t0 = Date.now();
    await waitFor(() => Date.now() - t0 >= WARMUP_MS + MEASURE_MS, 'the experiment ran its course', { timeoutMs: WARMUP_MS + MEASURE_MS + 5000, intervalMs: 250 });
    memory.stop();
    await load.stop();
    await sampler.stop();

    const { ackedPerSec, processedPerSec, seconds } = ratesBetween(sampler.samples, t0 + WARMUP_MS);
    const measured = sampler.samples.filter((s) => s.atMs >= t0 + WARMUP_MS);
    const maxDelay = Math.max(...measured.map((s) => s.maxSchedulingDelayMs));
    const limit = sampler.samples.at(-1)!.rateLimit;
    // Printed, not asserted: 12 s after a start without an initial rate the rate is still settling (bench/overload.ts checks it).
    const capacity = processingCapacity(sampler.completed, t0 + WARMUP_MS, Date.now());
    const figures =
      `offered ${OFFERED}/s; over the last ${seconds.toFixed(1)} s acked ${Math.round(ackedPerSec)}/s, processed ${Math.round(processedPerSec)}/s; ` +
      `rate limit ${limit === undefined ? 'none' : Math.round(limit)}/s; capacity ${Math.round(capacity.recordsPerSec)}/s (acked/capacity ` +
      `${(ackedPerSec / capacity.recordsPerSec).toFixed(2)}); max scheduling delay ${maxDelay} ms; ${load.retries()} retried refusals; ` +
      `${load.acked.size} acked, ${load.refused.size} refused`;
    const rss = rssFlatness(memory.samples, { warmupEndMs: t0 + WARMUP_MS, windowMs: RSS_WINDOW_MS, tolerance: RSS_MAX_GROWTH });
    const rssFigures = `RSS over the first → last ${RSS_WINDOW_MS / 1000} s measured: ${formatRssFlatness(rss, RSS_MAX_GROWTH).join('; ')}`;
    console.log(`overload: ${figures}\n${rssFigures}`);

    // Never FAILED, never a push given up on.
    expect(sampler.samples.every((s) => s.state === 'RUNNING'), figures).toBe(true);
    expect(load.refused.size, figures).toBe(0);
    // In overload (the job processes well under what is offered) and the producers were slowed.
    expect(processedPerSec, figures).toBeLessThan(OFFERED * 0.6);
    expect(ackedPerSec, figures).toBeLessThan(OFFERED * 0.6);
    expect(limit, figures).toBeDefined();
    // Slowed to about what is processed: the acked rate within 35% of the processed rate.
    expect(Math.abs(ackedPerSec - processedPerSec) / processedPerSec, figures).toBeLessThan(0.35);
    // Bounded: batches start within a few intervals of their time once the rate is set.
    expect(maxDelay, figures).toBeLessThan(4000);
    // Every service sampled, none piling the overload up in memory.
    expect(rss.map((r) => r.service).sort(), rssFigures).toEqual(['executor-1', 'executor-2', 'lineage', 'receiver', 'scheduler']);
    for (const r of rss) expect(r.change, `${r.service}: ${rssFigures}`).toBeLessThan(RSS_MAX_GROWTH);
    // The metrics say the same: the stream's rate limit, and records the rate limit turned back.
    const metric = async (service: 'scheduler' | 'receiver', name: string, labels: string[]) => {
      const text = await (await fetch(`http://127.0.0.1:${env[service].RIVULET_METRICS_PORT}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((kv) => l.includes(kv)));
      if (line === undefined) throw new Error(`no ${name} sample with ${labels.join(',')}: ${text.split('\n').filter((l) => l.includes(name)).join(' | ')}`);
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    expect(await metric('scheduler', 'rivulet_stream_rate_limit', ['rivulet_stream="lines"']), figures).toBeGreaterThan(0);
    expect(await metric('receiver', 'rivulet_receiver_records_total', ['rivulet_stream="lines"', 'rivulet_outcome="throttled"']), figures).toBeGreaterThan(0);

    await watch.until(load.acked, 60_000);
    expectExactWordCounts(watch.batches, load.acked, load.pushed(), figures);
    await expectJobHealthy(client, job.jobId);
  }, 120_000);
});
