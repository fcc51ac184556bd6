/**
 * Benchmark: ingest throughput with 1 and with 2 receivers (issue 15, several
 * receivers). For each receiver count, a fresh local cluster (2 executors,
 * replication 2, 1 s batches, backpressure off so the rate controller does
 * not set the pace) runs the word count; BENCH_PRODUCERS pushers (spread over
 * the receivers by RivuletClient.pusher) push short numbered lines as fast as
 * acks allow (BENCH_IN_FLIGHT pushes of BENCH_BATCH lines each in flight per
 * pusher) and the acked records per second are measured over BENCH_SECONDS
 * after a BENCH_WARMUP_SECONDS warm-up. A push is acked once its block is cut
 * (block interval 200 ms) and stored, so the window (producers × in flight ×
 * lines) over ~0.2 s bounds the rate: the defaults (8 × 64 × 1000 = 512k lines,
 * ~2.5M/s) keep that bound far above what this machine ingests; the output prints
 * it. Every acked record is stored on 2
 * executors and logged before its ack, as always. On one 2-core machine the
 * receivers, executors, the job and the producers share the same cores: the
 * figure says what a second receiver process buys here, not across machines.
 *
 *   npm run build && node dist/bench/receivers-ingest.js
 *   BENCH_RECEIVERS=1,2 BENCH_PRODUCERS=8 BENCH_IN_FLIGHT=64 BENCH_SECONDS=10 node dist/bench/receivers-ingest.js
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { RivuletClient } from '../client/index.js';
import { startLocalCluster } from '../lib/cluster/local-cluster.js';
import { machine, machineLine } from './machine.js';

const receiverCounts = (process.env.BENCH_RECEIVERS ?? '1,2').split(',').map(Number);
const producers = Number(process.env.BENCH_PRODUCERS ?? 8);
const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? 64);
const batch = Number(process.env.BENCH_BATCH ?? 1000);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  receivers: number;
  recordsPerSecond: number;
  perReceiver: Record<string, number>;
  retries: number;
  load: number;
}

async function measure(receivers: number): Promise<Outcome> {
  const cluster = await startLocalCluster({
    executors: 2,
    receivers,
    batchInterval: '1s',
    blockInterval: '200ms',
    logLevel: 'warn',
    env: { scheduler: { RIVULET_BACKPRESSURE: 'false' } },
  });
  const client = new RivuletClient(cluster.addresses());
  try {
    const job = await client.submitJob(wordcount);
    void job;
    let acked = 0;
    let running = true;
    let n = 0;
    const pushers = Array.from({ length: producers }, () => client.pusher('lines', { maxBatchRecords: batch }));
    const loops = pushers.map(async (p) => {
      const flying = new Set<Promise<void>>();
      while (running) {
        const lines = Array.from({ length: batch }, () => `w${n++ % 1000} x`);
        const op: Promise<void> = p.push(lines).then((c) => void (acked += c));
        flying.add(op);
        void op.finally(() => flying.delete(op));
        if (flying.size >= inFlight) await Promise.race(flying);
      }
      await Promise.all(flying);
    });
    await sleep(warmupSeconds * 1000);
    const from = acked;
    const t0 = Date.now();
    await sleep(seconds * 1000);
    const got = acked - from;
    const elapsed = (Date.now() - t0) / 1000;
    const status = await client.status({ recentBatches: 0, allPages: false });
    running = false;
    await Promise.all(loops);
    await Promise.all(pushers.map((p) => p.close()));
    const perReceiver: Record<string, number> = {};
    for (const r of status.receivers ?? []) perReceiver[r.receiverId] = Math.round(r.ingestRates.reduce((s, x) => s + x.recordsPerSecond, 0));
    return { receivers, recordsPerSecond: Math.round(got / elapsed), perReceiver, retries: pushers.reduce((s, p) => s + p.retries, 0), load: os.loadavg()[0]! };
  } finally {
    await client.close();
    await cluster.stop();
  }
}

const outcomes: Outcome[] = [];
for (const r of receiverCounts) {
  outcomes.push(await measure(r));
  console.log(JSON.stringify(outcomes.at(-1)));
}
console.log(JSON.stringify({ benchmark: 'receivers-ingest', machine: machine(), producers, inFlight, batch, seconds, outcomes }));
console.log(`\n${machineLine()}; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(
  `ingest throughput (word count running, replication 2, ${producers} pushers × ${inFlight} pushes of ${batch} lines in flight, ${seconds} s; ` +
    `the window bounds the rate at ~${Math.round((producers * inFlight * batch) / 0.2)} lines/s with 200 ms blocks)`,
);
for (const o of outcomes) {
  const per = Object.entries(o.perReceiver).map(([id, v]) => `${id} ${v}`).join(', ');
  console.log(`  ${o.receivers} receiver(s): ${o.recordsPerSecond} records/s acked (per receiver at the end: ${per || '-'}; retries ${o.retries}; load ${o.load.toFixed(1)})`);
}
