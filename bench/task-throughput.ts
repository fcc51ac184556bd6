/**
 * Benchmark: the scheduler's task-launch throughput — DESIGN.md's open
 * question ("doesn't the driver become a bottleneck?") answered with a
 * number. A job whose every batch fans out into many tiny tasks
 * (`repartition(N)`) runs on 2 executors; tasks per second of processing
 * time is what one scheduler sustains end to end (plan, place, launch over
 * gRPC in per-executor batches, collect results). It also prints the
 * scheduler's CPU time per task over the measured batches (from /proc, so
 * Linux only): the cost that bounds how many tasks one scheduler can launch,
 * whatever the executors do.
 *
 * With group scheduling (groupSize auto) the executors start a planned
 * batch's tasks themselves when it is announced, and its processing time
 * counts from then; tasks/s is also given over the batch's total delay
 * (batch time → completed), which holds every task's whole run: the
 * conservative figure. Each group size runs on its own cluster.
 *
 *   npm run build && node dist/bench/task-throughput.js
 *   BENCH_PARTITIONS (400) BENCH_BATCHES (8) BENCH_GROUP_SIZES ("1,auto")
 *   BENCH_IDLE_SECONDS (6): how long each process's idle CPU is measured after
 *     the batches (the job on empty batches): the per-task CPU is also given without it
 *   BENCH_CPU_PROF_DIR: write CPU profiles of the scheduler, lineage and each
 *     executor and its task threads (node --cpu-prof, on their exit at the end
 *     of each group size) under it, to see where the time per task goes;
 *     BENCH_CPU_PROF_INTERVAL_US (1000) is the sampling interval
 *   BENCH_LOG_DIR: each process's log there (BENCH_LOG_LEVEL, warn)
 *   BENCH_NODE_ARGS: extra node flags for the scheduler and executors (e.g. --perf-basic-prof for Linux perf)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RivuletClient } from '../client/index.js';
import { startLocalCluster } from '../lib/cluster/local-cluster.js';
import { percentile, sleep } from '../scenarios/steady-wordcount.js';
import { cpuMs } from '../scenarios/process-memory.js';
import { machine, machineLine } from './machine.js';

const partitions = Number(process.env.BENCH_PARTITIONS ?? 400);
const batches = Number(process.env.BENCH_BATCHES ?? 8);
const groupSizes = (process.env.BENCH_GROUP_SIZES ?? '1,auto').split(',').map((g) => g.trim());
const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 6);
const cpuProfDir = process.env.BENCH_CPU_PROF_DIR;
// E.g. --perf-basic-prof, to read the services with Linux perf (which samples CPU time only, unlike --cpu-prof's wall clock).
const extraNodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const cpuProfInterval = process.env.BENCH_CPU_PROF_INTERVAL_US ?? '1000';
// Each process in a directory of its own, with node's default file names: an executor's task threads write theirs there too.
const profileArgs = (name: string) => (cpuProfDir ? ['--cpu-prof', '--cpu-prof-interval', cpuProfInterval, '--cpu-prof-dir', join(cpuProfDir, name)] : []);
const job = join(mkdtempSync(join(tmpdir(), 'rivulet-bench-')), 'fanout.ts');
writeFileSync(
  job,
  `import { defineJob } from 'rivulet';
export default defineJob((ctx) => {
  ctx.receiverStream<string>('lines').repartition(${partitions}).filter((s) => s.length > 0).output('out');
});
`,
);

async function measure(groupSize: string) {
  const cluster = await startLocalCluster({
    executors: 2,
    slots: 2,
    batchInterval: '2s',
    blockInterval: '500ms',
    logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
    ...(process.env.BENCH_LOG_DIR ? { logDir: join(process.env.BENCH_LOG_DIR, `g${groupSize}`) } : {}),
    env: { scheduler: { RIVULET_GROUP_SIZE: groupSize } },
    nodeArgs: {
      scheduler: [...extraNodeArgs, ...profileArgs(`scheduler-g${groupSize}`)],
      'executor-1': [...extraNodeArgs, ...profileArgs(`executor-1-g${groupSize}`)],
      'executor-2': [...extraNodeArgs, ...profileArgs(`executor-2-g${groupSize}`)],
      lineage: profileArgs(`lineage-g${groupSize}`),
    },
  });
  const a = cluster.addresses();
  const client = new RivuletClient(a);
  try {
    const submitted = await client.submitJob(job);
    const drain = (async () => {
      for await (const _ of client.watchOutput(submitted.jobId, 'out')) void _;
    })().catch(() => undefined);
    // Every process of the cluster (nats-server too): the CPU a task costs in all of them is what 2 cores must cover.
    const procs = cluster.processes().map((p) => ({ name: p.kind === 'executor' ? 'executors' : p.name, pid: p.pid }));
    const cpuNow = () => procs.map((p) => cpuMs(p.pid));
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
    // The CPU window opens once two batches are done (warm-up) and closes when `batches` more are.
    let window: { cpuMs: number[]; completed: number; at: number } | undefined;
    let windowCpu: { ms: number[]; seconds: number; tasks: number } | undefined;
    for (;;) {
      const st = await client.status({ recentBatches: 1000 });
      done = st.jobs[0]!.recentBatches.filter((b) => b.state === 'COMPLETED' && Number(b.inputRecords) > 0);
      const completed = st.jobs[0]!.recentBatches.filter((b) => b.state === 'COMPLETED');
      if (!window && done.length >= 2) window = { cpuMs: cpuNow(), completed: completed.length, at: performance.now() };
      if (window && done.length >= batches + 2) {
        const now = cpuNow();
        windowCpu = {
          ms: procs.map((_, i) => now[i]! - window!.cpuMs[i]!),
          seconds: (performance.now() - window.at) / 1000,
          tasks: Math.max(1, completed.slice(window.completed).reduce((n, b) => n + b.tasks, 0)),
        };
        break;
      }
      await sleep(500);
    }
    pushing = false;
    await pushLoop;
    await pusher.close();
    // Then the idle cost, once warm: the job running empty batches, heartbeats, timers, this loop's status calls.
    // It is paid whatever the tasks, so the per-task figures are also given without it.
    await sleep(2 * 2000);
    const idleFrom = { cpu: cpuNow(), at: performance.now() };
    for (let t = 0; t < idleSeconds * 2; t++) {
      await client.status({ recentBatches: 1000 });
      await sleep(500);
    }
    const idleTo = { cpu: cpuNow(), at: performance.now() };
    const cpuPerTask: Record<string, number> = {};
    const cpuPerTaskBeyondIdle: Record<string, number> = {};
    procs.forEach((p, i) => {
      const idlePerSecond = (idleTo.cpu[i]! - idleFrom.cpu[i]!) / ((idleTo.at - idleFrom.at) / 1000);
      const ms = windowCpu!.ms[i]!;
      cpuPerTask[p.name] = (cpuPerTask[p.name] ?? 0) + ms / windowCpu!.tasks;
      cpuPerTaskBeyondIdle[p.name] = (cpuPerTaskBeyondIdle[p.name] ?? 0) + Math.max(0, ms - idlePerSecond * windowCpu!.seconds) / windowCpu!.tasks;
    });
    for (const m of [cpuPerTask, cpuPerTaskBeyondIdle]) {
      m.total = Object.values(m).reduce((a, b) => a + b, 0);
      for (const k of Object.keys(m)) m[k] = Number(m[k]!.toFixed(3));
    }
    const measured = done.slice(2, 2 + batches);
    const rates = measured.map((b) => (b.tasks / Math.max(1, b.processingTimeMs)) * 1000);
    const endToEnd = measured.map((b) => (b.tasks / Math.max(1, b.totalDelayMs)) * 1000);
    await client.stopJob(submitted.jobId).catch(() => undefined);
    await drain;
    return {
      groupSize,
      tasksPerBatch: percentile(measured.map((b) => b.tasks), 50),
      plannedShare: Number((measured.reduce((n, b) => n + b.plannedTasks, 0) / Math.max(1, measured.reduce((n, b) => n + b.tasks, 0))).toFixed(2)),
      processingTimeMs: { p50: percentile(measured.map((b) => b.processingTimeMs), 50) },
      totalDelayMs: { p50: percentile(measured.map((b) => b.totalDelayMs), 50) },
      tasksPerSecond: { p50: Math.round(percentile(rates, 50)), max: Math.round(Math.max(...rates)) },
      tasksPerSecondEndToEnd: { p50: Math.round(percentile(endToEnd, 50)), max: Math.round(Math.max(...endToEnd)) },
      schedulerCpuMsPerTask: cpuPerTask.scheduler ?? NaN,
      /** CPU per task in each process over the measured batches (executors summed, their task threads included), and the total. */
      cpuMsPerTask: cpuPerTask,
      /** The same less what each process spends idle (the job on empty batches, heartbeats, timers, the bench's status calls). */
      cpuMsPerTaskBeyondIdle: cpuPerTaskBeyondIdle,
    };
  } finally {
    await client.close();
    await cluster.stop();
  }
}

const points = [];
for (const g of groupSizes) points.push(await measure(g));
console.log(JSON.stringify({ benchmark: 'task-throughput', machine: machine(), executors: 2, slots: 4, points }));
console.log(`\n${machineLine()}`);
for (const r of points) {
  console.log(
    `groupSize ${r.groupSize}: ${r.tasksPerBatch} tasks per batch on 4 slots (${Math.round(r.plannedShare * 100)}% started from a group plan): ` +
      `p50 processing ${r.processingTimeMs.p50} ms = ${r.tasksPerSecond.p50} tasks/s (best ${r.tasksPerSecond.max}); ` +
      `over the total delay (p50 ${r.totalDelayMs.p50} ms) ${r.tasksPerSecondEndToEnd.p50} tasks/s (best ${r.tasksPerSecondEndToEnd.max})`,
  );
  console.log(`  scheduler CPU per task: ${r.schedulerCpuMsPerTask} ms (= at most ${Math.round(1000 / r.schedulerCpuMsPerTask)} tasks/s on one core)`);
  const list = (m: Record<string, number>) =>
    Object.entries(m)
      .map(([name, ms]) => `${name} ${ms}`)
      .join(', ');
  console.log(`  CPU ms per task in every process: ${list(r.cpuMsPerTask)}`);
  console.log(
    `  …beyond each one's idle cost: ${list(r.cpuMsPerTaskBeyondIdle)} (2 cores cover at most ${Math.round(2000 / (r.cpuMsPerTaskBeyondIdle.total ?? NaN))} tasks/s)`,
  );
}
