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
 *
 * After the cluster stops, the same word count runs in this process on one
 * core over the same lines (a plain loop, no Rivulet) — as many lines as the
 * cluster processed in the window, cut into batches of the same size — and
 * the ratio distributed ÷ in-process is printed: what the services,
 * serialisation, replication and scheduling cost (or gain, with more cores)
 * against the simplest program that gives the same answer.
 *
 * CPU: each process's CPU time over the window (from /proc; the pushers'
 * and the client's is this process's own), per 1000 acked lines, and the
 * cores all of them kept busy — where the 2 cores go. BENCH_CPU_PROF_DIR
 * writes CPU profiles of every service there (one directory each);
 * BENCH_LOG_DIR keeps each process's log (BENCH_LOG_LEVEL, warn).
 *
 * Security: the cluster runs as users get it (mutual TLS, tokens, locked-down
 * NATS). Then, in the same run, the same word count on a cluster started with
 * --insecure, and the cost of security is printed (BENCH_SECURITY=on skips
 * that second run; =off measures only the insecure one).
 */
import { RivuletClient, type BatchStatus } from '../client/index.js';
import { startLocalCluster } from '../lib/cluster/local-cluster.js';
import { makeLines, percentile, wordcountJob } from '../scenarios/steady-wordcount.js';
import { cpuMs } from '../scenarios/process-memory.js';
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
const securityRuns = (process.env.BENCH_SECURITY ?? 'both') as 'on' | 'off' | 'both';

/**
 * The word count of examples/wordcount.ts without Rivulet: the same
 * tokenisation (split on whitespace, drop empty words, add up 1 per word)
 * in a plain loop, one Map per batch of `linesPerBatch` lines as each batch's
 * reduceByKey has, over `total` lines taken from `pool` in the order the
 * pushers cycle through it. `words` (the sum of every count) is returned so
 * the loop's work is used and cannot be optimised away.
 */
function inProcessWordCount(pool: readonly string[], total: number, linesPerBatch: number): { lines: number; words: number; ms: number } {
  const started = process.hrtime.bigint();
  let words = 0;
  let counts = new Map<string, number>();
  let inBatch = 0;
  for (let i = 0; i < total; i++) {
    for (const word of pool[i % pool.length]!.split(/\s+/)) {
      if (word.length === 0) continue;
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    if (++inBatch === linesPerBatch || i === total - 1) {
      for (const c of counts.values()) words += c;
      counts = new Map();
      inBatch = 0;
    }
  }
  return { lines: total, words, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

async function main(): Promise<void> {
  const { result, pool, processed, batches } = await distributed(securityRuns === 'off');
  const insecure = securityRuns === 'both' ? (await distributed(true)).result : undefined;
  // With the cluster stopped, so the loop has a core to itself as a one-core program would.
  const lines = Math.max(processed, pool.length);
  const perBatch = Math.max(1, Math.round(lines / Math.max(1, batches)));
  inProcessWordCount(pool, pool.length, perBatch); // warm-up: compile the loop before timing it
  // Three timed runs, the median kept: one run swung 1.25M–1.69M lines/s between benchmark runs here.
  const runs = [0, 1, 2].map(() => inProcessWordCount(pool, lines, perBatch)).sort((a, b) => a.ms - b.ms);
  const local = runs[1]!;
  const inProcessLinesPerSec = Math.round(local.lines / (local.ms / 1000));
  const ratio = Number((result.processedRecordsPerSec / inProcessLinesPerSec).toFixed(3));
  const withBaseline = {
    ...result,
    inProcess: {
      lines: local.lines,
      linesPerBatch: perBatch,
      ms: Math.round(local.ms),
      linesPerSec: inProcessLinesPerSec,
      words: local.words,
      runsLinesPerSec: runs.map((r) => Math.round(r.lines / (r.ms / 1000))),
    },
    distributedOverInProcess: ratio,
  };
  console.log(JSON.stringify(withBaseline));
  const row = (k: string, v: unknown) => console.log(`  ${k.padEnd(26)} ${String(v)}`);
  console.log('\nword count, %d executors, %d ms batches, %s', executors, result.batchIntervalMs, rate ? `${rate} lines/s offered` : 'pushers as fast as acks allow');
  row('machine', `${result.machine.cores} cores, ${result.machine.cpu}, Node ${result.machine.node}`);
  row('acked records/s', result.ackedRecordsPerSec.toLocaleString('en-US'));
  row('processed records/s', result.processedRecordsPerSec.toLocaleString('en-US'));
  row('batches in window', result.batches);
  row('scheduling delay p50/p99', `${result.schedulingDelayMs.p50} / ${result.schedulingDelayMs.p99} ms`);
  row('processing time p50/p99', `${result.processingTimeMs.p50} / ${result.processingTimeMs.p99} ms`);
  row('total delay p50/p99', `${result.totalDelayMs.p50} / ${result.totalDelayMs.p99} ms`);
  row('locality hit rate', result.localityHitRate);
  row('keeping up', result.keepingUp);
  row('in-process lines/s', `${inProcessLinesPerSec.toLocaleString('en-US')} (one core, plain loop, ${local.lines.toLocaleString('en-US')} lines; median of 3 runs)`);
  row('distributed ÷ in-process', ratio);
  row('cores kept busy', `${result.coresBusy} (every process, pushers included)`);
  row('CPU ms per 1k acked lines', Object.entries(result.cpuMsPer1kAckedLines).map(([k, v]) => `${k} ${v}`).join(', '));
  row('security', securityRuns === 'off' ? 'off (--insecure)' : 'on (mutual TLS, tokens, NATS TLS + permissions)');
  if (insecure) {
    const loss = 1 - result.processedRecordsPerSec / insecure.processedRecordsPerSec;
    const ackLoss = 1 - result.ackedRecordsPerSec / insecure.ackedRecordsPerSec;
    console.log(JSON.stringify({ benchmark: 'wordcount-security-cost', secure: result, insecure }));
    row('same run, --insecure', `${insecure.processedRecordsPerSec.toLocaleString('en-US')} processed/s, ${insecure.ackedRecordsPerSec.toLocaleString('en-US')} acked/s, total delay p99 ${insecure.totalDelayMs.p99} ms`);
    row('cost of security', `${(loss * 100).toFixed(1)}% processed, ${(ackLoss * 100).toFixed(1)}% acked (target ≤ 15%)`);
  }
}

/** The word count on the cluster: start it, push for the window, collect the batches, stop it. */
async function distributed(insecure: boolean) {
  // BENCH_CPU_PROF_DIR: CPU profiles of every service (and an executor's task threads) there, one directory each.
  const profDir = process.env.BENCH_CPU_PROF_DIR;
  const nodeArgs = profDir
    ? Object.fromEntries(['scheduler', 'receiver', 'lineage', ...Array.from({ length: executors }, (_, i) => `executor-${i + 1}`)].map((n) => [n, ['--cpu-prof', `--cpu-prof-dir=${profDir}/${n}`]]))
    : undefined;
  const cluster = await startLocalCluster({
    executors,
    batchInterval,
    blockInterval,
    logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
    insecure,
    ...(nodeArgs ? { nodeArgs } : {}),
    // BENCH_LOG_DIR: each process's log there (a directory per security setting).
    ...(process.env.BENCH_LOG_DIR ? { logDir: `${process.env.BENCH_LOG_DIR}/${insecure ? 'insecure' : 'secure'}` } : {}),
  });
  const a = cluster.addresses();
  const client = new RivuletClient(a);
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
    // Executors by name, each executor's task threads included (/proc/<pid>/stat counts every thread).
    const procs = [...cluster.processes().map((p) => ({ name: p.name, cpu: () => cpuMs(p.pid) })), { name: 'pushers (bench)', cpu: () => processCpuMs() }];
    const cpuAtWarmup = procs.map((p) => p.cpu());
    const ackedAtWarmup = acked;
    const windowStart = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const ackedInWindow = acked - ackedAtWarmup;
    const windowEnd = Date.now();
    const cpuInWindow = procs.map((p, i) => ({ name: p.name, ms: p.cpu() - cpuAtWarmup[i]! }));
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
      cpuMsPer1kAckedLines: Object.fromEntries(cpuInWindow.map((c) => [c.name, Number(((c.ms / Math.max(1, ackedInWindow)) * 1000).toFixed(3))])),
      coresBusy: Number((cpuInWindow.reduce((n, c) => n + c.ms, 0) / (windowSec * 1000)).toFixed(2)),
      security: insecure ? 'off' : 'on',
    };
    await client.stopJob(job.jobId).catch(() => undefined);
    await watcher;
    return { result, pool, processed, batches: inWindow.length };
  } finally {
    await client.close();
    await cluster.stop();
  }
}

/** This process's CPU time (user + system), in ms. */
function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
