/**
 * Benchmark (not a test): word count reading a JetStream stream directly
 * (ctx.jetStream) on a local cluster of real processes — nats-server,
 * lineage, scheduler, receiver (idle) and 2 executors. BENCH_MESSAGES lines
 * (1M by default; the words of bench/wordcount.ts's lines) are published by
 * a producer NATS user: BENCH_BEFORE (half) before the job starts, the rest
 * while it runs. Printed: how long the job took to be caught up (lag 0 and
 * every message's words counted — the counts are checked against the words
 * published), the messages/s that makes, batches and their p50/p99 processing
 * time, and the machine with its load average before and after.
 *
 *   npm run build && node dist/bench/jetstream-source.js
 *   BENCH_MESSAGES=200000 BENCH_MAX_PER_BATCH=50000 BENCH_SLICE=5000 node dist/bench/jetstream-source.js
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { RivuletClient } from '../client/index.js';
import { startLocalCluster } from '../lib/cluster/local-cluster.js';
import { natsSourceProducer } from '../lib/security/nats-permissions.js';
import { makeLines, percentile } from '../scenarios/steady-wordcount.js';
import { machineLine } from './machine.js';

const total = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const before = Number(process.env.BENCH_BEFORE ?? Math.floor(total / 2));
const maxPerBatch = Number(process.env.BENCH_MAX_PER_BATCH ?? 100_000);
const slice = Number(process.env.BENCH_SLICE ?? 10_000);
const executors = Number(process.env.BENCH_EXECUTORS ?? 2);
const batchInterval = process.env.BENCH_BATCH_INTERVAL ?? '1s';
const STREAM = 'BENCH_LINES';

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const loadBefore = load();
  const pool = makeLines(10_000);
  let expectedWords = 0;
  for (let i = 0; i < total; i++) expectedWords += pool[i % pool.length]!.split(' ').length;
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-bench-js-'));
  const jobFile = join(dir, 'job.ts');
  writeFileSync(
    jobFile,
    `import { defineJob } from 'rivulet';
export default defineJob((ctx) => {
  ctx.jetStream<string>('lines', { stream: '${STREAM}', maxMessagesPerBatch: ${maxPerBatch}, messagesPerSlice: ${slice} })
    .flatMap((l) => l.split(' ')).map((w): [string, number] => [w, 1]).reduceByKey((a, b) => a + b).output('counts');
});
`,
  );
  const cluster = await startLocalCluster({
    executors,
    batchInterval,
    blockInterval: '200ms',
    logLevel: 'warn',
    natsAccess: { sourceStreams: [STREAM], users: [{ name: 'producer', permissions: natsSourceProducer([STREAM], ['bench.>']) }] },
  });
  const client = new RivuletClient(cluster.addresses());
  const nc = await connect({ servers: cluster.natsUrl, tls: cluster.security!.natsClientTls('producer') });
  try {
    await (await jetstreamManager(nc)).streams.add({ name: STREAM, subjects: ['bench.>'] });
    const js = jetstream(nc);
    const publish = async (from: number, to: number) => {
      for (let i = from; i < to; i += 5000) {
        const acks: Array<Promise<unknown>> = [];
        for (let k = i; k < Math.min(to, i + 5000); k++) acks.push(js.publish('bench.lines', pool[k % pool.length]!));
        await Promise.all(acks);
      }
    };
    const p0 = Date.now();
    await publish(0, before);
    const publishMs = Date.now() - p0;
    const { jobId } = await client.submitJob(jobFile);
    const started = Date.now();
    let words = 0;
    const abort = new AbortController();
    const watching = (async () => {
      for await (const b of client.watchOutput(jobId, 'counts', { fromBeginning: true, signal: abort.signal })) {
        for (const [, c] of b.records as Array<[string, number]>) words += c;
      }
    })().catch(() => undefined);
    const during = publish(before, total);
    for (;;) {
      const j = (await client.status({ recentBatches: 1000 })).jobs.find((x) => x.jobId === jobId)!;
      if (j.state !== 'RUNNING') throw new Error(`the job is ${j.state}: ${j.error}`);
      const lag = (j.jetStreamSources ?? []).reduce((n, s) => n + Number(s.lag), 0);
      if (lag === 0 && words >= expectedWords && Number(j.jetStreamSources[0]?.committedSequence ?? 0) >= total) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const caughtUpMs = Date.now() - started;
    await during;
    abort.abort();
    await watching;
    const j = (await client.status({ recentBatches: 1000 })).jobs.find((x) => x.jobId === jobId)!;
    const withInput = j.recentBatches.filter((b) => b.state === 'COMPLETED' && Number(b.inputRecords) > 0);
    const processing = withInput.map((b) => b.processingTimeMs).sort((a, b) => a - b);
    console.log(
      JSON.stringify(
        {
          messages: total,
          publishedBeforeJob: before,
          publishBeforeMs: publishMs,
          caughtUpMs,
          messagesPerSecond: Math.round(total / (caughtUpMs / 1000)),
          wordsCounted: words,
          wordsPublished: expectedWords,
          exact: words === expectedWords,
          batchesWithInput: withInput.length,
          processingMsP50: percentile(processing, 50),
          processingMsP99: percentile(processing, 99),
          maxMessagesPerBatch: maxPerBatch,
          messagesPerSlice: slice,
          executors,
          batchInterval,
          loadAverageBefore: loadBefore,
          loadAverageAfter: load(),
        },
        null,
        2,
      ),
    );
    console.log(machineLine());
    if (words !== expectedWords) process.exitCode = 1;
  } finally {
    await nc.close();
    await client.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
