/**
 * Benchmark (not a test): memory of a stateful job over time. Runs, on a
 * local cluster of real processes (nats-server, lineage, scheduler, receiver,
 * 2 executors) at 500 ms batches, a job (JOB_SOURCE below) with both stateful
 * operators over one input stream of `"<key> <user>"` lines pushed at a
 * steady rate:
 *
 * - updateStateByKey: a running count per key over a bounded key space
 *   (`BENCH_KEYS`, 1000 keys): the state reaches every key and stops growing;
 * - mapWithState with a 5 s timeout over a churning key space: every second
 *   `BENCH_CHURN` (50) new users start clicking and as many stop, each active
 *   for `BENCH_ACTIVE_SECONDS` (4 s); idle users time out and leave the state.
 *
 * Every `BENCH_POLL_MS` (250) it reads the executors' block stores (blocks
 * and bytes, from status), the lineage service's size (batches, datasets,
 * locations, maxDepth) and the checkpoint objects in the JetStream object
 * store; every `BENCH_SAMPLE_SECONDS` (5) it prints their current values and
 * their peaks since the previous line, with the sizes of the two states (from
 * the job's outputs) and the last batch's delays. Between two checkpoints
 * these figures rise (each batch's values are kept, and stay in lineage,
 * until a checkpoint covers them) and they drop at each checkpoint, so they
 * move in a saw-tooth whose period is the checkpoint interval (10 batches =
 * 5 s by default; printing only every 5 s would alias it, hence the polling
 * and the peaks). After the first checkpoint interval, and once the churn is
 * steady (active + timeout ≈ 10 s), the peaks must stay flat: the summary at
 * the end gives each figure's per-period peaks over that part of the run.
 *
 *   npm run build && node dist/bench/state-memory.js               # 60 s
 *   node dist/bench/state-memory.js --duration 10m                  # or BENCH_SECONDS=600
 *   BENCH_RATE=8000 BENCH_CHECKPOINT_INTERVAL=2s node dist/bench/state-memory.js
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Objm } from '@nats-io/obj';
import { RivuletClient } from '../client/index.js';
import { startLocalCluster } from '../lib/cluster/local-cluster.js';
import { parseDuration } from '../lib/config/units.js';
import { dial, unary } from '../lib/grpc/client.js';
import { connectNats } from '../lib/nats/connection.js';

function durationArg(): number {
  const i = process.argv.indexOf('--duration');
  const raw = i >= 0 ? process.argv[i + 1] : process.env.BENCH_SECONDS;
  if (raw === undefined) return 60_000;
  // A bare number is seconds (as BENCH_SECONDS); otherwise "90s", "10m", ...
  return /^\d+(\.\d+)?$/.test(raw) ? Number(raw) * 1000 : parseDuration(raw);
}

const durationMs = durationArg();
const sampleMs = Number(process.env.BENCH_SAMPLE_SECONDS ?? 5) * 1000;
const rate = Number(process.env.BENCH_RATE ?? 4000); // lines per second
const keys = Number(process.env.BENCH_KEYS ?? 1000);
const churn = Number(process.env.BENCH_CHURN ?? 50); // users starting (and stopping) per second
const activeSeconds = Number(process.env.BENCH_ACTIVE_SECONDS ?? 4);
const batchInterval = process.env.BENCH_BATCH_INTERVAL ?? '500ms';
const checkpointInterval = process.env.BENCH_CHECKPOINT_INTERVAL; // default: the scheduler's (10 batches)
const TIMEOUT_MS = 5000;
const CHECKPOINT_BUCKET = 'rivulet-checkpoints'; // the scheduler's and executors' default checkpointBucket

// The job. It lives here, so that the benchmark is one file, and is written
// to a temporary file for `submitJob` (which bundles a file).
const JOB_SOURCE = `
import { defineJob, StateSpec } from 'rivulet';

export default defineJob((ctx) => {
  const events = ctx.receiverStream<string>('events').map((line: string): [string, string] => {
    const [key, user] = line.split(' ');
    return [key!, user!];
  });
  // Running count per key (bounded key space).
  events
    .map(([key]): [string, number] => [key, 1])
    .updateStateByKey((values: number[], total: number | undefined) => (total ?? 0) + values.length)
    .count()
    .output('keys');
  // Per-user sessions that end after ${TIMEOUT_MS} ms of silence (churning key space).
  const sessions = events
    .map(([, user]): [string, number] => [user, 1])
    .mapWithState(
      StateSpec.function((user: string, _one: number | undefined, state) => {
        if (state.isTimingOut()) return [user, state.get()];
        state.update(((state.getOption() as number | undefined) ?? 0) + 1);
        return undefined;
      }).timeout(${TIMEOUT_MS}),
    );
  sessions.count().output('ended');
  sessions.stateSnapshots().count().output('open');
});
`;

/** The figures that must stay flat, read every poll. */
interface Figures {
  blocks: number;
  blockMB: number;
  lineageBatches: number;
  datasets: number;
  locations: number;
  maxDepth: number;
  checkpoints: number;
  checkpointMB: number;
}
const FIGURES: Array<keyof Figures> = ['blocks', 'blockMB', 'lineageBatches', 'datasets', 'locations', 'maxDepth', 'checkpoints', 'checkpointMB'];

/** One printed period: each figure's last value and its peak over the period. */
interface Period {
  t: number;
  now: Figures;
  max: Figures;
}

const dir = mkdtempSync(join(tmpdir(), 'rivulet-bench-state-'));
const jobPath = join(dir, 'state-memory-job.ts');
writeFileSync(jobPath, JOB_SOURCE);

const cluster = await startLocalCluster({
  executors: 2,
  slots: 2,
  batchInterval,
  blockInterval: '100ms',
  logLevel: 'warn',
  ...(checkpointInterval ? { env: { scheduler: { RIVULET_STATE_CHECKPOINT_INTERVAL: checkpointInterval } } } : {}),
});
const a = cluster.addresses();
const client = new RivuletClient(a);
// Lineage statistics are for admins; the checkpoint bucket is read with the scheduler's NATS identity (this bench stands in for an operator).
const lineage = dial.lineage(a.lineage, { security: a.security });
const schedulerTls = cluster.security?.env('scheduler');
const nc = await connectNats(a.nats, 'bench-state-memory', undefined, undefined, schedulerTls && {
  caFile: schedulerTls.RIVULET_TLS_CA_FILE!,
  certFile: schedulerTls.RIVULET_TLS_CERT_FILE!,
  keyFile: schedulerTls.RIVULET_TLS_KEY_FILE!,
});
const checkpoints = await new Objm(nc).create(CHECKPOINT_BUCKET, { storage: 'file' });
const abort = new AbortController();
try {
  const submitted = await client.submitJob(jobPath);
  const batchMs = parseDuration(batchInterval);
  const checkpointMs = checkpointInterval ? Math.ceil(parseDuration(checkpointInterval) / batchMs) * batchMs : 10 * batchMs;
  console.log(
    JSON.stringify({
      bench: 'state-memory',
      seconds: durationMs / 1000,
      batchInterval,
      checkpointIntervalMs: checkpointMs,
      linesPerSecond: rate,
      keys,
      usersPerSecond: churn,
      activeSeconds,
      timeoutMs: TIMEOUT_MS,
    }),
  );

  // The latest value of each count output (and the total of ended sessions).
  const latest: { keys?: number; open?: number; ended: number } = { ended: 0 };
  const watch = async (output: 'keys' | 'open' | 'ended') => {
    for await (const b of client.watchOutput(submitted.jobId, output, { signal: abort.signal })) {
      const n = (b.records[0] as number | undefined) ?? 0;
      if (output === 'ended') latest.ended += n;
      else latest[output] = n;
    }
  };
  const watching = Promise.all([watch('keys'), watch('open'), watch('ended')]).catch(() => undefined);

  // Steady input: every 100 ms, rate/10 lines. Line i of second s: key i mod
  // `keys`; user one of the users active at s (users s*churn .. s*churn +
  // churn*activeSeconds - 1), so that each second `churn` users start and as
  // many stop.
  let running = true;
  let pushed = 0;
  const started = Date.now();
  const push = (async () => {
    const pusher = client.pusher('events');
    let seq = 0;
    for (let next = Date.now(); running; ) {
      const s = Math.floor((Date.now() - started) / 1000);
      const active = churn * activeSeconds;
      const lines = Array.from({ length: Math.ceil(rate / 10) }, () => {
        const i = seq++;
        return `k${i % keys} u${s * churn + ((i * 7919) % active)}`;
      });
      pushed += await pusher.push(lines);
      next += 100;
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
    await pusher.close();
  })();

  // Poll every batch interval or so (state blocks and lineage rise between
  // checkpoints and drop at each: a saw-tooth whose period is the checkpoint
  // interval, so sampling only every few seconds could alias it) and print
  // every sampleMs each figure's current value and its peak since the last line.
  const pollMs = Number(process.env.BENCH_POLL_MS ?? 250);
  const periods: Period[] = [];
  let max: Figures | undefined;
  let nextPrint = started + sampleMs;
  while (Date.now() - started < durationMs) {
    await new Promise((r) => setTimeout(r, pollMs));
    const st = await client.status({ recentBatches: 1 });
    const stats = await unary(lineage, lineage.getStats, {}, { timeoutMs: 3000 });
    const objects = (await checkpoints.list()).filter((o) => !o.deleted);
    const now: Figures = {
      blocks: st.executors.reduce((n, e) => n + e.blockCount, 0),
      blockMB: +(st.executors.reduce((n, e) => n + e.blockBytes, 0) / 1e6).toFixed(2),
      lineageBatches: stats.batches,
      datasets: stats.datasets,
      locations: stats.locations,
      maxDepth: stats.maxDepth,
      checkpoints: objects.length,
      checkpointMB: +(objects.reduce((n, o) => n + o.size, 0) / 1e6).toFixed(2),
    };
    max = max ? (Object.fromEntries(FIGURES.map((f) => [f, Math.max(max![f], now[f])])) as unknown as Figures) : now;
    if (Date.now() < nextPrint && Date.now() - started < durationMs) continue;
    const partial = Date.now() < nextPrint; // the run's last, shorter period
    nextPrint += sampleMs;
    const t = Math.round((Date.now() - started) / 1000);
    if (!partial) periods.push({ t, now, max });
    const j = st.jobs.find((x) => x.jobId === submitted.jobId)!;
    const last = [...j.recentBatches].sort((x, y) => y.batchTimeMs - x.batchTimeMs)[0];
    console.log(
      JSON.stringify({
        t,
        ...(partial ? { partial } : {}),
        batches: j.batchesCompleted,
        now,
        peak: max,
        perExecutor: st.executors.map((e) => `${e.executorId}: ${e.blockCount} blocks ${(e.blockBytes / 1e6).toFixed(2)} MB`),
        state: { keys: latest.keys, openSessions: latest.open, sessionsEnded: latest.ended },
        pushed,
        lastBatch: last && { state: last.state, records: last.inputRecords, schedulingDelayMs: last.schedulingDelayMs, processingTimeMs: last.processingTimeMs },
      }),
    );
    max = undefined;
  }
  running = false;
  await push;
  abort.abort();
  await watching;

  // Steady part: after the first checkpoint interval and the churn's warm-up
  // (a user is active for activeSeconds, then times out after TIMEOUT_MS).
  const steadyFrom = Math.max(checkpointMs, activeSeconds * 1000 + TIMEOUT_MS + 2 * batchMs) / 1000;
  const steady = periods.filter((p) => p.t - sampleMs / 1000 >= steadyFrom);
  const peaks = (f: keyof Figures) => {
    const v = steady.map((p) => p.max[f]);
    return v.length ? { first: v[0], last: v.at(-1), min: Math.min(...v), max: Math.max(...v) } : {};
  };
  console.log(
    JSON.stringify({
      summary: `per-period peaks over the ${steady.length} periods after t=${steadyFrom}s (flat: last ≈ first, max ≈ min)`,
      ...Object.fromEntries(FIGURES.map((f) => [f, peaks(f)])),
      keysInState: latest.keys,
      openSessions: latest.open,
      sessionsEnded: latest.ended,
      linesPushed: pushed,
    }),
  );
} finally {
  abort.abort();
  lineage.close();
  await nc.close().catch(() => undefined);
  await client.close();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
