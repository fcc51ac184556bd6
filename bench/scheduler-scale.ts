/**
 * Benchmark (not a test): how the scheduler scales with the cluster (issue
 * 12). The real nats-server, lineage, scheduler and receiver processes run
 * against N SIMULATED executors — one harness process (bench/sim/) hosting N
 * lightweight executors, each with its own gRPC server and NATS heartbeats,
 * that complete every task after a modelled duration instead of running it —
 * so the control plane sees 256 × 4 slots on one machine and nothing but the
 * control plane does real work.
 *
 *   npm run build && node dist/bench/scheduler-scale.js
 *   SCALE_EXECUTORS (8,32,128,256)  SCALE_SLOTS (4)  SCALE_TASK_MS (2)
 *   SCALE_SECONDS (10, measured per point)  SCALE_WARMUP_SECONDS (5; extended up to
 *     3× while the batches queued during start-up still drain, so a point that
 *     can keep up is not measured while it catches up)
 *   SCALE_MIN_BATCHES (5) SCALE_MAX_SECONDS (90): a point whose batches take
 *     longer than the window is measured on until that many have completed
 *     in it (or the longer bound passes), so its CPU per batch is not one sample
 *   SCALE_BATCH_INTERVAL (100ms)  SCALE_PLOT (docs/scheduler-scale.svg; "" = none)
 *   SCALE_LOG_DIR=<dir>: the scheduler, lineage and receiver log there
 *     (<service>-<N>x<slots>.log) at SCALE_LOG_LEVEL (info) instead of warn, e.g. to
 *     read why group plans were revoked
 *   SCALE_CPU_PROF=<dir>: the scheduler and the simulator write V8 CPU profiles there
 *     (node --cpu-prof, on their exit at the end of each point), to see where the time goes
 *   SCALE_GROUP_SIZES (1,auto): group scheduling's setting, each value given to
 *     the scheduler as RIVULET_GROUP_SIZE (always set, never its default) and
 *     measured as its own series — 1: every batch launched by the scheduler;
 *     auto (or a fixed G): batches planned G at a time, started by the
 *     simulated executors themselves on batch.ready (bench/sim/ runs the
 *     executor's own PlannedTasks).
 *
 * The job, per point of S = N × slots slots: 100 ms batches of a small
 * steady input (2 blocks per batch), `repartition(S)` then
 * `reduceByKey(…, S)` — one task per slot in each of the two wide stages
 * (the input stage has one task per block), as Drizzle's micro-benchmarks
 * have one task per core. The receiver's block count is not what scales:
 * blocks are cut per block interval, so S input blocks per 100 ms batch
 * would measure the receiver and JetStream, not task scheduling.
 *
 * Per point it prints, over the batches that completed in the measured
 * window: scheduling delay p50/p99 (batch time → first task launched: it
 * grows without bound once the scheduler cannot keep up), processing time
 * p50/p99, the scheduler's CPU time per batch (/proc, so Linux only) and its
 * share of one core, tasks completed per second, the share of tasks that ran
 * from a group plan (BatchStatus.planned_tasks) and the TaskStream messages
 * the scheduler sent per batch (ClusterStatus.launch_messages: launches;
 * plans_sent: group plans, one per executor per group); then the table, one JSON
 * line per point, and an SVG plot (scheduling delay and scheduler CPU per
 * batch vs N, like Drizzle's scheduling-overhead figure). The simulator's own
 * event-loop delay and rejoins (executors declared lost because the harness
 * could not heartbeat in time) are printed too: with either high, the point
 * measures an overloaded machine, not the scheduler.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RivuletClient, type BatchStatus } from '../client/index.js';
import { waitForAliveExecutors } from '../lib/cluster/local-cluster.js';
import { listeningAddress, startServiceProcess, type ServiceProcess } from '../lib/cluster/service-process.js';
import { parseDuration } from '../lib/config/index.js';
import { startNatsServer } from '../lib/process/nats-server.js';
import { freePort, retryWhileAddressInUse } from '../lib/process/ports.js';
import { supervise, type Supervised } from '../lib/process/supervise.js';
import { schedulerConfigSchema } from '../services/scheduler/config.js';
import { percentile, sleep } from '../scenarios/steady-wordcount.js';
import { cpuMs } from '../scenarios/process-memory.js';
import { machine, machineLine } from './machine.js';
import { svgFigure, type Series } from './svg-plot.js';

const slots = Number(process.env.SCALE_SLOTS ?? 4);
const executorCounts = (process.env.SCALE_EXECUTORS ?? '8,32,128,256').split(',').map((s) => Number(s.trim()));
const taskMs = Number(process.env.SCALE_TASK_MS ?? 2);
const seconds = Number(process.env.SCALE_SECONDS ?? 10);
const warmupSeconds = Number(process.env.SCALE_WARMUP_SECONDS ?? 5);
const minBatches = Number(process.env.SCALE_MIN_BATCHES ?? 5);
const maxSeconds = Number(process.env.SCALE_MAX_SECONDS ?? 90);
const batchInterval = process.env.SCALE_BATCH_INTERVAL ?? '100ms';
/** Two blocks per 100 ms batch: enough that every batch has input, few enough that the receiver is not what is measured. */
const blockInterval = process.env.SCALE_BLOCK_INTERVAL ?? '50ms';
const intervalMs = parseDuration(batchInterval);
const repoRoot = ['../../', '../'].map((rel) => fileURLToPath(new URL(rel, import.meta.url))).find((p) => existsSync(join(p, 'docs')))!;
const logDir = process.env.SCALE_LOG_DIR;
if (logDir) mkdirSync(logDir, { recursive: true });
const plotPath = process.env.SCALE_PLOT ?? join(repoRoot, 'docs', 'scheduler-scale.svg');
const simulatorEntry = fileURLToPath(new URL('./sim/executor-simulator.js', import.meta.url));
const cpuProfDir = process.env.SCALE_CPU_PROF ? resolve(process.env.SCALE_CPU_PROF) : undefined;
const profileArgs = (name: string) => (cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `${name}-${Date.now()}.cpuprofile`] : []);

/** Group scheduling's settings measured, each a series; see the module doc. Checked here, not by a scheduler that would fail at start-up. */
const groupSizes: string[] = (process.env.SCALE_GROUP_SIZES ?? '1,auto')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s.length > 0)
  .map((g) => {
    const parsed = schedulerConfigSchema.shape.groupSize.safeParse(g);
    if (!parsed.success) throw new Error(`SCALE_GROUP_SIZES: ${JSON.stringify(g)} is not a scheduler groupSize (a count or "auto")`);
    return g;
  });

interface SimStats {
  timeMs: number;
  tasksSucceeded: number;
  tasksKilled: number;
  tasksRefused: number;
  rejoins: number;
  plannedStarted?: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
}

/** Every `sim stats` line the simulator printed so far (bench/sim/executor-simulator.ts). */
function simStats(sim: Supervised<string>): SimStats[] {
  const out: SimStats[] = [];
  for (const line of sim.recentOutput().split('\n')) {
    if (!line.includes('"sim stats"')) continue;
    try {
      out.push(JSON.parse(line) as SimStats);
    } catch {
      // a line cut at the head of the kept output
    }
  }
  return out;
}

interface PointResult {
  executors: number;
  slots: number;
  groupSize: string;
  tasksPerBatch: number;
  batchesCompleted: number;
  windowSeconds: number;
  schedulingDelayMs: { p50: number; p99: number };
  processingTimeMs: { p50: number; p99: number };
  totalDelayMs: { p50: number; p99: number };
  schedulerCpuMsPerBatch: number;
  /** The scheduler's CPU time over the window ÷ the window: 1.0 = one core busy all the time. */
  schedulerCoreShare: number;
  tasksPerSecond: number;
  /** Tasks of the measured batches that ran from a group plan (started by their executor), ÷ all their tasks. */
  plannedTaskShare: number;
  /** TaskStream messages that carried tasks from the scheduler, per batch completed in the window. */
  launchMessagesPerBatch: number;
  /** Group plans sent (one per member executor per group), per batch completed in the window. */
  plansPerBatch: number;
  /** The job's group size at the end of the window (JobStatus.group_size; 0: launched batch by batch) and, if not planned, why. */
  jobGroupSize: number;
  groupNote: string;
  /** Batches queued or running at the end of the window: growing means the scheduler is falling behind. */
  queuedBatches: number;
  /** Batches completed at the rate they are due and none piling up; false: the scheduling delay only says how long the run was. */
  keepingUp: boolean;
  taskFailures: number;
  stolenTasks: number;
  /** CPU share of one core of the other processes, for judging a 2-core run. */
  coreShare: { simulator: number; receiver: number; lineage: number; nats: number };
  simulator: { eventLoopDelayP99Ms: number; eventLoopDelayMaxMs: number; rejoins: number; tasksRefused: number; plannedStarted: number };
  loadAverage1m: number;
}

/** A job with one task per slot in each of its two wide stages (see the module doc). */
function writeJob(totalSlots: number): string {
  const path = join(mkdtempSync(join(tmpdir(), 'rivulet-scale-')), 'scale.ts');
  writeFileSync(
    path,
    `import { defineJob } from 'rivulet';
export default defineJob((ctx) => {
  ctx
    .receiverStream<string>('lines')
    .repartition(${totalSlots})
    .map((line): [string, number] => [line, 1])
    .reduceByKey((a, b) => a + b, ${totalSlots})
    .output('out');
});
`,
  );
  return path;
}

async function runPoint(executors: number, groupSize: string): Promise<PointResult> {
  const totalSlots = executors * slots;
  const stack: Array<{ name: string; stop(graceMs?: number): Promise<void> }> = [];
  const quiet = { RIVULET_LOG_LEVEL: logDir ? (process.env.SCALE_LOG_LEVEL ?? 'info') : 'warn' };
  const logFile = (service: string) => (logDir ? { logFile: join(logDir, `${service}-${executors}x${slots}.log`) } : {});
  try {
    const nats = await startNatsServer();
    stack.push({ name: 'nats', stop: () => nats.stop() });
    // Plaintext (--insecure): this figure is the scheduler's cost per task, comparable across
    // runs; the simulator hosts hundreds of executors and no TLS. `npm run bench` measures TLS's cost.
    const common = { RIVULET_NATS_URL: nats.url, RIVULET_BATCH_INTERVAL: batchInterval, RIVULET_BLOCK_INTERVAL: blockInterval, RIVULET_INSECURE: 'true', ...quiet };
    const lineage = await startServiceProcess({ service: 'lineage', ...logFile('lineage'), env: { ...common, RIVULET_PORT: '0' } });
    stack.push(lineage);
    const receiverPort = await freePort();
    const receiverAddress = `127.0.0.1:${receiverPort}`;
    const scheduler = await startServiceProcess({
      service: 'scheduler',
      ...logFile('scheduler'),
      nodeArgs: profileArgs(`scheduler-${executors}x${slots}`),
      env: {
        ...common,
        RIVULET_PORT: '0',
        RIVULET_STATUS_PORT: '0',
        RIVULET_LINEAGE_ADDRESS: lineage.address,
        RIVULET_RECEIVER_ADDRESS: receiverAddress,
        // A fixed workload: backpressure would lower the input of a scheduler that falls behind.
        RIVULET_BACKPRESSURE: 'false',
        // Always explicit: a figure is never labelled with a default that may change.
        RIVULET_GROUP_SIZE: groupSize,
      },
    });
    stack.push(scheduler);
    const sim = await supervise({
      name: 'executor-simulator',
      command: process.execPath,
      args: [...profileArgs(`simulator-${executors}x${slots}`), simulatorEntry],
      env: {
        ...process.env,
        ...quiet,
        RIVULET_NATS_URL: nats.url,
        RIVULET_INSECURE: 'true',
        RIVULET_EXECUTORS: String(executors),
        RIVULET_SLOTS: String(slots),
        RIVULET_TASK_DURATION: `${taskMs}ms`,
        RIVULET_STATS_INTERVAL: '1s',
      },
      ready: (probe) => listeningAddress(probe.output()),
      readyTimeoutMs: 120_000,
      pollMs: 200,
    });
    stack.push(sim);
    const receiver = await retryWhileAddressInUse(() =>
      startServiceProcess({
        service: 'receiver',
        ...logFile('receiver'),
        env: {
          ...common,
          RIVULET_PORT: String(receiverPort),
          RIVULET_LINEAGE_ADDRESS: lineage.address,
          RIVULET_SCHEDULER_ADDRESS: scheduler.address,
          RIVULET_RECEIVER_ADDRESS: receiverAddress,
        },
      }),
    );
    stack.push(receiver);
    await waitForAliveExecutors(
      scheduler.address,
      Array.from({ length: executors }, (_, i) => `sim-${i + 1}`),
      60_000,
    );
    return await measure({ executors, totalSlots, groupSize, scheduler, lineage, receiver, sim, natsPid: nats.pid });
  } finally {
    for (const p of stack.reverse()) await p.stop(3000).catch(() => undefined);
  }
}

async function measure(o: {
  executors: number;
  totalSlots: number;
  groupSize: string;
  scheduler: ServiceProcess;
  lineage: ServiceProcess;
  receiver: ServiceProcess;
  sim: Supervised<string>;
  natsPid: number;
}): Promise<PointResult> {
  const client = new RivuletClient({ scheduler: o.scheduler.address, receiver: o.receiver.address, security: { insecure: true } });
  try {
    const job = await client.submitJob(writeJob(o.totalSlots));
    const pusher = client.pusher('lines');
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
    let pushing = true;
    // Open loop, a push every 20 ms whatever the acks do (bounded), so every batch has input.
    const pushLoop = (async () => {
      const inFlight = new Set<Promise<unknown>>();
      let next = Date.now();
      while (pushing) {
        const op = pusher.push(lines).catch(() => undefined);
        inFlight.add(op);
        void op.finally(() => inFlight.delete(op));
        if (inFlight.size >= 32) await Promise.race(inFlight);
        next += 20;
        await sleep(Math.max(0, next - Date.now()));
      }
      await Promise.all(inFlight);
    })();
    // The status keeps 100 finished batches (10 s at 100 ms): collect them as they finish.
    const seen = new Map<number, BatchStatus>();
    let cluster = { launchMessages: 0, plansSent: 0 };
    const collect = async () => {
      const st = await client.status({ recentBatches: 1000 });
      const j = st.jobs.find((x) => x.jobId === job.jobId);
      for (const b of j?.recentBatches ?? []) seen.set(Number(b.batchTimeMs), b);
      cluster = { launchMessages: Number(st.launchMessages), plansSent: Number(st.plansSent) };
      return j;
    };
    const collector = setInterval(() => void collect().catch(() => undefined), 1000);
    const pids = { scheduler: o.scheduler.pid, simulator: o.sim.pid, receiver: o.receiver.pid, lineage: o.lineage.pid, nats: o.natsPid };
    const cpuAll = () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)])) as Record<keyof typeof pids, number>;
    try {
      const warmupStart = Date.now();
      await sleep(warmupSeconds * 1000);
      while (Date.now() - warmupStart < 3 * warmupSeconds * 1000 && ((await collect())?.queuedBatches ?? 0) > 2) await sleep(500);
      const startJob = await collect();
      const cluster0 = cluster;
      const t0 = Date.now();
      const cpu0 = cpuAll();
      await sleep(seconds * 1000);
      const completedSince = async () => Number((await collect())?.batchesCompleted ?? 0) - Number(startJob?.batchesCompleted ?? 0);
      while (Date.now() - t0 < maxSeconds * 1000 && (await completedSince()) < minBatches) await sleep(1000);
      const cpu1 = cpuAll();
      const t1 = Date.now();
      const endJob = await collect();
      const cluster1 = cluster;
      if (o.sim.process.exitCode !== null || o.sim.process.signalCode !== null) {
        throw new Error(`the executor simulator exited during the run:\n${o.sim.recentOutput(4096)}`);
      }
      const windowMs = t1 - t0;
      const completedInWindow = Number(endJob?.batchesCompleted ?? 0) - Number(startJob?.batchesCompleted ?? 0);
      const measured = [...seen.values()].filter((b) => {
        const end = Number(b.batchTimeMs) + b.totalDelayMs;
        return b.state === 'COMPLETED' && end > t0 && end <= t1;
      });
      const stats = simStats(o.sim).filter((s) => s.timeMs > t0 && s.timeMs <= t1 + 1000);
      const all = simStats(o.sim);
      const share = (k: keyof typeof pids) => Number(((cpu1[k] - cpu0[k]) / windowMs).toFixed(2));
      const pct = (xs: number[]) => ({ p50: Math.round(percentile(xs, 50)), p99: Math.round(percentile(xs, 99)) });
      const perBatch = (n: number) => Number((n / Math.max(1, completedInWindow)).toFixed(1));
      const measuredTasks = measured.reduce((n, b) => n + b.tasks, 0);
      return {
        executors: o.executors,
        slots,
        groupSize: o.groupSize,
        tasksPerBatch: percentile(measured.map((b) => b.tasks), 50),
        batchesCompleted: completedInWindow,
        windowSeconds: Number((windowMs / 1000).toFixed(1)),
        schedulingDelayMs: pct(measured.map((b) => b.schedulingDelayMs)),
        processingTimeMs: pct(measured.map((b) => b.processingTimeMs)),
        totalDelayMs: pct(measured.map((b) => b.totalDelayMs)),
        schedulerCpuMsPerBatch: Number(((cpu1.scheduler - cpu0.scheduler) / Math.max(1, completedInWindow)).toFixed(1)),
        schedulerCoreShare: share('scheduler'),
        tasksPerSecond: Math.round(measuredTasks / (windowMs / 1000)),
        plannedTaskShare: Number((measured.reduce((n, b) => n + b.plannedTasks, 0) / Math.max(1, measuredTasks)).toFixed(3)),
        launchMessagesPerBatch: perBatch(cluster1.launchMessages - cluster0.launchMessages),
        plansPerBatch: perBatch(cluster1.plansSent - cluster0.plansSent),
        jobGroupSize: endJob?.groupSize ?? 0,
        groupNote: endJob?.groupNote ?? '',
        queuedBatches: endJob?.queuedBatches ?? 0,
        keepingUp: (endJob?.queuedBatches ?? 0) <= 2 && completedInWindow >= 0.9 * (windowMs / intervalMs),
        taskFailures: measured.reduce((n, b) => n + b.taskFailures, 0),
        stolenTasks: measured.reduce((n, b) => n + b.stolenTasks, 0),
        coreShare: { simulator: share('simulator'), receiver: share('receiver'), lineage: share('lineage'), nats: share('nats') },
        simulator: {
          eventLoopDelayP99Ms: Math.max(0, ...stats.map((s) => s.eventLoopDelayP99Ms)),
          eventLoopDelayMaxMs: Math.max(0, ...stats.map((s) => s.eventLoopDelayMaxMs)),
          rejoins: all.at(-1)?.rejoins ?? 0,
          tasksRefused: all.at(-1)?.tasksRefused ?? 0,
          plannedStarted: all.at(-1)?.plannedStarted ?? 0,
        },
        loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
      };
    } finally {
      clearInterval(collector);
      pushing = false;
      await pushLoop;
      await pusher.close().catch(() => undefined);
      await client.stopJob(job.jobId).catch(() => undefined);
    }
  } finally {
    await client.close();
  }
}

function printTable(results: PointResult[]): void {
  const header = [
    'executors × slots',
    'groupSize',
    'tasks/batch',
    'batches',
    'sched delay p50/p99 ms',
    'processing p50/p99 ms',
    'sched CPU/batch ms',
    'sched cores',
    'tasks/s',
    'planned',
    'launch msgs/batch',
    'plans/batch',
    'queued',
    'keeping up',
    'sim lag p99 ms',
    'rejoins',
    'load',
  ];
  const rows = results.map((r) => [
    `${r.executors} × ${r.slots}`,
    r.groupSize,
    String(r.tasksPerBatch),
    String(r.batchesCompleted),
    `${r.schedulingDelayMs.p50} / ${r.schedulingDelayMs.p99}`,
    `${r.processingTimeMs.p50} / ${r.processingTimeMs.p99}`,
    String(r.schedulerCpuMsPerBatch),
    String(r.schedulerCoreShare),
    String(r.tasksPerSecond),
    `${(r.plannedTaskShare * 100).toFixed(0)}%`,
    String(r.launchMessagesPerBatch),
    String(r.plansPerBatch),
    String(r.queuedBatches),
    r.keepingUp ? 'yes' : 'no',
    String(r.simulator.eventLoopDelayP99Ms),
    String(r.simulator.rejoins),
    String(r.loadAverage1m),
  ]);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

function writePlot(results: PointResult[]): void {
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
  const configs = [...new Set(results.map((r) => r.groupSize))];
  const delay: Series[] = [];
  const cpu: Series[] = [];
  configs.forEach((g, i) => {
    const rs = results.filter((r) => r.groupSize === g);
    const suffix = ` (groupSize ${g})`;
    const color = colors[i % colors.length]!;
    // A point that was falling behind says so: its delay is the length of the run, not a latency.
    delay.push({ name: `p99${suffix}`, color, points: rs.map((r) => [r.executors, r.schedulingDelayMs.p99, r.keepingUp ? undefined : 'falling behind']) });
    delay.push({ name: `p50${suffix}`, color, dashed: true, points: rs.map((r) => [r.executors, r.schedulingDelayMs.p50]) });
    cpu.push({ name: `scheduler CPU per batch${suffix}`, color, points: rs.map((r) => [r.executors, r.schedulerCpuMsPerBatch]) });
  });
  const interval = `${batchInterval} batches`;
  // The machine's other work shows in every figure here: say how busy it was.
  const loads = `${Math.min(...results.map((r) => r.loadAverage1m))}–${Math.max(...results.map((r) => r.loadAverage1m))}`;
  const m = machine();
  const svg = svgFigure({
    title: `Scheduler scale: simulated executors × ${slots} slots, ${interval}, one task per slot per stage`,
    notes: [
      `real scheduler, lineage, receiver, nats-server; ${taskMs} ms modelled tasks; groupSize: ${configs.join(', ')}`,
      `${m.cores} cores, ${m.cpu}, Node ${m.node}; load average ${loads}; ${seconds} s measured per point after ${warmupSeconds} s warm-up (bench/scheduler-scale.ts)`,
    ],
    panels: [
      {
        title: 'Scheduling delay',
        xLabel: 'executors',
        yLabel: 'ms (log)',
        xTicks: executorCounts,
        logY: true,
        series: delay,
        refLines: [
          { y: 50, label: 'target p99 50 ms at 256 × 4', color: '#444' },
          { y: intervalMs, label: 'batch interval', color: '#999' },
        ],
      },
      {
        title: 'Scheduler CPU per batch',
        xLabel: 'executors',
        yLabel: 'ms of CPU (log)',
        xTicks: executorCounts,
        logY: true,
        series: cpu,
        // Above it, one core cannot schedule a batch per interval however idle the machine.
        refLines: [{ y: intervalMs, label: "one core's time per batch interval", color: '#999' }],
      },
    ],
  });
  writeFileSync(plotPath, svg);
}

async function main(): Promise<void> {
  console.log(machineLine());
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`groupSize: ${groupSizes.join(', ')}`);
  const results: PointResult[] = [];
  for (const g of groupSizes) {
    for (const n of executorCounts) {
      const started = Date.now();
      const r = await runPoint(n, g);
      results.push(r);
      console.log(JSON.stringify({ benchmark: 'scheduler-scale', machine: machine(), taskMs, batchInterval, ...r }));
      console.log(
        `  ${n} × ${slots}, groupSize ${g}: scheduling delay p50/p99 ${r.schedulingDelayMs.p50}/${r.schedulingDelayMs.p99} ms, ` +
          `scheduler CPU ${r.schedulerCpuMsPerBatch} ms/batch, ${r.tasksPerSecond} tasks/s, ` +
          `planned ${(r.plannedTaskShare * 100).toFixed(0)}% of tasks, ${r.launchMessagesPerBatch} launch messages + ${r.plansPerBatch} plans per batch` +
          `${r.keepingUp ? '' : ' (falling behind)'}; job group size ${r.jobGroupSize}${r.groupNote ? ` (${r.groupNote})` : ''}; ` +
          `sim lag p99 ${r.simulator.eventLoopDelayP99Ms} ms, load ${r.loadAverage1m}`,
      );
      console.error(`  ${n} × ${slots} done in ${Math.round((Date.now() - started) / 1000)} s`);
    }
  }
  console.log('');
  printTable(results);
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (plotPath) {
    writePlot(results);
    console.log(`plot: ${resolve(plotPath)}`);
  }
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
