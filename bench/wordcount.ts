/**
 * Benchmark (not a test): sustained word-count throughput on a local cluster
 * of real processes — nats-server, lineage, scheduler, receiver and 2
 * executors — at 1 s batches, with batch delays.
 *
 *   npm run bench                 # defaults below
 *   BENCH_SECONDS=30 BENCH_PUSHERS=4 npm run bench
 *   BENCH_BATCH_INTERVAL=100ms BENCH_BLOCK_INTERVAL=50ms BENCH_RATE=50000 BENCH_CHUNK=500 node dist/bench/wordcount.js
 *                                 # latency at 100 ms batches, at a rate the cluster sustains
 *
 * Pushers send pre-built lines as fast as acks allow (each push waits for its
 * acks, so ingestion is paced by replication, not by an unbounded buffer).
 * Reported: records acked per second, records processed per second (input
 * records of batches completed in the window), and the p50/p99 of scheduling
 * delay, processing time and total delay of those batches; `keepingUp` says
 * whether processing kept pace (total delay stayed under 2 batch intervals).
 */
import { RivuletClient, type BatchStatus } from '../client/index.js';
import { startLocalCluster } from '../lib/cluster/local-cluster.js';
import { makeLines, percentile, wordcountJob } from '../scenarios/steady-wordcount.js';
import { machine } from './machine.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const pushers = Number(process.env.BENCH_PUSHERS ?? 2);
const executors = Number(process.env.BENCH_EXECUTORS ?? 2);
const batchInterval = process.env.BENCH_BATCH_INTERVAL ?? '1s';
const blockInterval = process.env.BENCH_BLOCK_INTERVAL ?? '200ms';
const chunk = Number(process.env.BENCH_CHUNK ?? 5000);
/** Lines per second over all pushers; unset = as fast as acks allow (the throughput figure). Set it to measure latency at a rate the cluster sustains. */
const rate = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;

async function main(): Promise<void> {
  const cluster = await startLocalCluster({ executors, batchInterval, blockInterval, logLevel: 'warn' });
  const a = cluster.addresses();
  const client = new RivuletClient({ scheduler: a.scheduler, receiver: a.receiver });
  try {
    const job = await client.submitJob(wordcountJob);
    const watcher = (async () => {
      // Drain the output so the scheduler's watchers never back up.
      for await (const _ of client.watchOutput(job.jobId, 'counts')) void _;
    })().catch(() => undefined);

    const pool = makeLines(chunk * 4);
    let acked = 0;
    let stop = false;
    const started = Date.now();
    // Each pusher keeps several pushes in flight: a push is acked only after
    // its block is sealed (every block interval) and replicated, so awaiting
    // each one before the next would measure the block interval, not Rivulet.
    const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? 16);
    const workers = Array.from({ length: pushers }, async (_, w) => {
      const p = client.pusher('lines', { maxBatchRecords: 1000 });
      const slices = [0, 1, 2, 3].map((k) => pool.slice(k * chunk, (k + 1) * chunk));
      const pending = new Set<Promise<void>>();
      let sent = 0;
      for (let i = w; !stop; i++) {
        if (rate !== undefined) {
          // Paced: the next push leaves when this pusher's share of the rate allows it.
          const due = started + (sent / (rate / pushers)) * 1000;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
          sent += chunk;
        }
        const op: Promise<void> = p.push(slices[i % 4]!).then((n) => {
          acked += n;
          pending.delete(op);
        });
        pending.add(op);
        if (pending.size >= inFlight) await Promise.race(pending);
      }
      await Promise.all(pending);
      await p.close();
    });
    // The scheduler keeps the last 100 batches in its status: collect them as they complete,
    // so short batch intervals are measured over the whole window too.
    const seen = new Map<number, BatchStatus>();
    const collect = async () => {
      const st = await client.status({ recentBatches: 1000 });
      for (const b of st.jobs.find((j) => j.jobId === job.jobId)?.recentBatches ?? []) if (b.state === 'COMPLETED') seen.set(Number(b.batchTimeMs), b);
    };
    const collector = setInterval(() => void collect().catch(() => undefined), 2000);
    await new Promise((r) => setTimeout(r, warmupSeconds * 1000));
    const ackedAtWarmup = acked;
    const windowStart = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const ackedInWindow = acked - ackedAtWarmup;
    const windowEnd = Date.now();
    stop = true;
    await Promise.all(workers);
    // Let the last batches of the window finish.
    await new Promise((r) => setTimeout(r, 3000));

    clearInterval(collector);
    await collect();
    const status = await client.status({ recentBatches: 0 });
    const inWindow = [...seen.values()].filter((b) => Number(b.batchTimeMs) > windowStart && Number(b.batchTimeMs) <= windowEnd);
    const processed = inWindow.reduce((n, b) => n + Number(b.inputRecords), 0);
    const windowSec = (windowEnd - windowStart) / 1000;
    const intervalMs = Number(status.batchIntervalMs);
    const total = inWindow.map((b) => b.totalDelayMs);
    const locality = inWindow.reduce(
      (acc, b) => ({ local: acc.local + b.processLocalTasks, all: acc.all + b.processLocalTasks + b.nodeLocalTasks + b.anyTasks }),
      { local: 0, all: 0 },
    );
    const result = {
      benchmark: 'wordcount',
      executors,
      slotsPerExecutor: status.executors[0]?.slots,
      batchIntervalMs: intervalMs,
      pushers,
      rateLinesPerSec: rate ?? null,
      machine: machine(),
      windowSeconds: Number(windowSec.toFixed(1)),
      batches: inWindow.length,
      ackedRecordsPerSec: Math.round(ackedInWindow / windowSec),
      processedRecordsPerSec: Math.round(processed / windowSec),
      schedulingDelayMs: { p50: percentile(inWindow.map((b) => b.schedulingDelayMs), 50), p99: percentile(inWindow.map((b) => b.schedulingDelayMs), 99) },
      processingTimeMs: { p50: percentile(inWindow.map((b) => b.processingTimeMs), 50), p99: percentile(inWindow.map((b) => b.processingTimeMs), 99) },
      totalDelayMs: { p50: percentile(total, 50), p99: percentile(total, 99) },
      localityHitRate: locality.all ? Number((locality.local / locality.all).toFixed(3)) : null,
      keepingUp: total.length > 0 && percentile(total, 99) < 2 * intervalMs,
      runSeconds: Math.round((Date.now() - started) / 1000),
    };
    console.log(JSON.stringify(result));
    const row = (k: string, v: unknown) => console.log(`  ${k.padEnd(26)} ${String(v)}`);
    console.log('\nword count, %d executors, %d ms batches, %s', executors, intervalMs, rate ? `${rate} lines/s offered` : 'pushers as fast as acks allow');
    row('machine', `${result.machine.cores} cores, ${result.machine.cpu}, Node ${result.machine.node}`);
    row('acked records/s', result.ackedRecordsPerSec.toLocaleString('en-US'));
    row('processed records/s', result.processedRecordsPerSec.toLocaleString('en-US'));
    row('batches in window', result.batches);
    row('scheduling delay p50/p99', `${result.schedulingDelayMs.p50} / ${result.schedulingDelayMs.p99} ms`);
    row('processing time p50/p99', `${result.processingTimeMs.p50} / ${result.processingTimeMs.p99} ms`);
    row('total delay p50/p99', `${result.totalDelayMs.p50} / ${result.totalDelayMs.p99} ms`);
    row('locality hit rate', result.localityHitRate);
    row('keeping up', result.keepingUp);
    await client.stopJob(job.jobId).catch(() => undefined);
    await watcher;
  } finally {
    await client.close();
    await cluster.stop();
  }
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
