/**
 * Benchmark (not a test): memory of a windowed job over time. Runs
 * examples/windowed-wordcount.ts (reduceByKeyAndWindow with an inverse, 10 s
 * window sliding by 2 s) on a local cluster of real processes while pushers
 * send lines continuously, and every `BENCH_SAMPLE_SECONDS` prints the
 * executors' block stores (blocks, bytes) and the lineage service's size
 * (batches, datasets, locations). After the first window they must stay flat:
 * cached window inputs and lineage are released once no window can reach them.
 *
 *   npm run build && node dist/bench/windowed-memory.js          # 60 s
 *   BENCH_SECONDS=600 node dist/bench/windowed-memory.js          # the 10-minute run
 */
import { fileURLToPath } from 'node:url';
import { RivuletClient } from '../client/index.js';
import { startLocalCluster } from '../lib/cluster/local-cluster.js';
import { dial, unary } from '../lib/grpc/client.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const sampleSeconds = Number(process.env.BENCH_SAMPLE_SECONDS ?? 5);
const job = fileURLToPath(new URL('../../examples/windowed-wordcount.ts', import.meta.url));

const cluster = await startLocalCluster({ executors: 2, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logLevel: 'warn' });
const a = cluster.addresses();
const client = new RivuletClient(a);
const lineage = dial.lineage(a.lineage, { security: a.security });
try {
  const submitted = await client.submitJob(job);
  const lines = Array.from({ length: 1000 }, (_, i) => `w${i % 500} w${(i * 7) % 300} common`);
  let running = true;
  const push = (async () => {
    const pusher = client.pusher('lines');
    while (running) {
      await pusher.push(lines);
      await new Promise((r) => setTimeout(r, 100));
    }
    await pusher.close();
  })();
  const started = Date.now();
  while (Date.now() - started < seconds * 1000) {
    await new Promise((r) => setTimeout(r, sampleSeconds * 1000));
    const st = await client.status({ recentBatches: 1 });
    const stats = await unary(lineage, lineage.getStats, {}, { timeoutMs: 3000 });
    const j = st.jobs.find((x) => x.jobId === submitted.jobId)!;
    console.log(
      JSON.stringify({
        t: Math.round((Date.now() - started) / 1000),
        batches: j.batchesCompleted,
        blocks: st.executors.reduce((n, e) => n + Number(e.blockCount), 0),
        blockMB: +(st.executors.reduce((n, e) => n + Number(e.blockBytes), 0) / 1e6).toFixed(2),
        lineage: stats,
        lastBatch: j.recentBatches[0]?.state,
      }),
    );
  }
  running = false;
  await push;
} finally {
  lineage.close();
  await client.close();
  await cluster.stop();
}
