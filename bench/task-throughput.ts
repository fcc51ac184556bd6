/**
 * Benchmark: the scheduler's task-launch throughput — DESIGN.md's open
 * question ("doesn't the driver become a bottleneck?") answered with a
 * number. A job whose every batch fans out into many tiny tasks
 * (`repartition(N)`) runs on 2 executors; tasks per second of processing
 * time is what one scheduler sustains end to end (plan, place, launch over
 * gRPC in per-executor batches, collect results).
 *
 *   npm run build && node dist/bench/task-throughput.js
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RivuletClient } from '../client/index.js';
import { startLocalCluster } from '../lib/cluster/local-cluster.js';
import { percentile, sleep } from '../scenarios/steady-wordcount.js';
import { machine, machineLine } from './machine.js';

const partitions = Number(process.env.BENCH_PARTITIONS ?? 400);
const batches = Number(process.env.BENCH_BATCHES ?? 8);
const job = join(mkdtempSync(join(tmpdir(), 'rivulet-bench-')), 'fanout.ts');
writeFileSync(
  job,
  `import { defineJob } from 'rivulet';
export default defineJob((ctx) => {
  ctx.receiverStream<string>('lines').repartition(${partitions}).filter((s) => s.length > 0).output('out');
});
`,
);

const cluster = await startLocalCluster({ executors: 2, slots: 2, batchInterval: '2s', blockInterval: '500ms', logLevel: 'warn' });
const a = cluster.addresses();
const client = new RivuletClient({ scheduler: a.scheduler, receiver: a.receiver });
try {
  const submitted = await client.submitJob(job);
  const drain = (async () => {
    for await (const _ of client.watchOutput(submitted.jobId, 'out')) void _;
  })().catch(() => undefined);
  const pusher = client.pusher('lines');
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}`);
  let pushing = true;
  const pushLoop = (async () => {
    while (pushing) {
      await pusher.push(lines);
      await sleep(500);
    }
  })();
  let done: Awaited<ReturnType<typeof client.status>>['jobs'][number]['recentBatches'] = [];
  for (;;) {
    const st = await client.status({ recentBatches: 1000 });
    done = st.jobs[0]!.recentBatches.filter((b) => b.state === 'COMPLETED' && Number(b.inputRecords) > 0);
    if (done.length >= batches + 2) break;
    await sleep(500);
  }
  pushing = false;
  await pushLoop;
  await pusher.close();
  const measured = done.slice(2, 2 + batches);
  const rates = measured.map((b) => (b.tasks / Math.max(1, b.processingTimeMs)) * 1000);
  const result = {
    benchmark: 'task-throughput',
    machine: machine(),
    executors: 2,
    slots: 4,
    tasksPerBatch: percentile(measured.map((b) => b.tasks), 50),
    processingTimeMs: { p50: percentile(measured.map((b) => b.processingTimeMs), 50) },
    tasksPerSecond: { p50: Math.round(percentile(rates, 50)), max: Math.round(Math.max(...rates)) },
  };
  console.log(JSON.stringify(result));
  console.log(`\n${machineLine()}`);
  console.log(`${result.tasksPerBatch} tasks per batch on 4 slots: p50 processing ${result.processingTimeMs.p50} ms = ${result.tasksPerSecond.p50} tasks/s (best ${result.tasksPerSecond.max})`);
  await client.stopJob(submitted.jobId).catch(() => undefined);
  await drain;
} finally {
  await client.close();
  await cluster.stop();
}
