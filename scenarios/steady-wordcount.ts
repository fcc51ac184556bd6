/**
 * Steady word-count workloads for the benchmarks (which print their figures),
 * kept where a test may import them too (tests/chaos/straggler.test.ts did;
 * it now checks speculation from task spans instead). Each starts a real local cluster (nats-server + the four services as
 * processes), runs the word count with a steady input, and measures per-batch
 * timings from the scheduler's status.
 *
 * Why a folder of its own: it is neither product code (nothing under lib/,
 * services/, client/ or cli/ may import it) nor a test or a benchmark — tests
 * must not import bench/, and bench/ should not depend on tests/. It may
 * import product code only; tests/unit/import-rules.test.ts checks all of this.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RivuletClient, type BatchStatus, type RecordPusher } from '../client/index.js';
import { startLocalCluster, type EnvMap, type LocalCluster } from '../lib/cluster/local-cluster.js';

// From scenarios/ (vitest, source) or dist/scenarios/ (compiled).
export const wordcountJob = ['../examples/wordcount.ts', '../../examples/wordcount.ts']
  .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  .find((p) => existsSync(p))!;

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Deterministic ~8-word lines from a 2000-word vocabulary. */
export function makeLines(n: number, seed = 42): string[] {
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  return Array.from({ length: n }, () =>
    Array.from({ length: 4 + Math.floor(rand() * 8) }, () => `w${Math.floor(2000 * rand() * rand())}`).join(' '),
  );
}

export interface SteadyRun {
  cluster: LocalCluster;
  client: RivuletClient;
  jobId: string;
  /** Completed batches with input, in time order. */
  batches(): Promise<BatchStatus[]>;
  stop(): Promise<void>;
}

export interface WordCountClusterOptions {
  executors: number;
  slots?: number;
  batchInterval?: string;
  /** @default '250ms' */
  blockInterval?: string;
  /** The job file to submit. @default examples/wordcount.ts */
  job?: string;
  /** The job's outputs, each watched (and so drained) until stop(). @default ['counts'] */
  outputs?: string[];
  /** Keep every service's log here (at info level) to explain a figure afterwards. @default none (warn, to stderr) */
  logDir?: string;
  /** The services' log level when `logDir` is given (debug explains a figure event by event). @default 'info' */
  logLevel?: string;
  env?: Record<string, EnvMap>;
  /** NATS servers: more than 1 starts a routed NATS cluster (natsReplicas: up to 3). @default 1 */
  natsServers?: number;
  /** Schedulers: one leads, the others stand by. @default 1 */
  schedulers?: number;
}

export interface WordCountCluster {
  cluster: LocalCluster;
  client: RivuletClient;
  jobId: string;
  /** Stop the job, the output watcher, the client and the cluster. */
  stop(): Promise<void>;
}

/** Start a cluster and submit the word count, its output drained so the scheduler's watchers never back up. No input. */
export async function startWordCount(opts: WordCountClusterOptions): Promise<WordCountCluster> {
  const cluster = await startLocalCluster({
    executors: opts.executors,
    slots: opts.slots ?? 2,
    batchInterval: opts.batchInterval ?? '1s',
    blockInterval: opts.blockInterval ?? '250ms',
    logLevel: opts.logDir ? (opts.logLevel ?? 'info') : 'warn',
    logDir: opts.logDir,
    env: opts.env,
    natsServers: opts.natsServers,
    ...(opts.schedulers ? { schedulers: opts.schedulers } : {}),
  });
  try {
    const a = cluster.addresses();
    const client = new RivuletClient(a);
    const job = await client.submitJob(opts.job ?? wordcountJob).catch(async (err: unknown) => {
      await client.close();
      throw err;
    });
    const drain = Promise.all(
      (opts.outputs ?? ['counts']).map((output) =>
        (async () => {
          for await (const _ of client.watchOutput(job.jobId, output)) void _;
        })().catch(() => undefined),
      ),
    );
    return {
      cluster,
      client,
      jobId: job.jobId,
      stop: async () => {
        await client.stopJob(job.jobId).catch(() => undefined);
        await drain;
        await client.close();
        await cluster.stop();
      },
    };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** One slice of a paced push. */
export interface PushedSlice {
  /** When the timer made it due. */
  dueMs: number;
  /** When it was handed to the pusher (later than dueMs when the in-flight bound or a busy event loop held it back). */
  sentMs: number;
  /** When every line of it was acknowledged. */
  ackedMs?: number;
  /** Why its push failed, if it did. */
  failed?: string;
}

export interface PacedPush {
  /** Lines per slice (the offered rate is sliceLines × 1000 / sliceMs). */
  readonly sliceLines: number;
  readonly sliceMs: number;
  /** Due time of slice 0; slice k is due at startedMs + k × sliceMs. */
  readonly startedMs: number;
  /** Every slice sent so far, in order (one small record per slice). */
  readonly slices: readonly PushedSlice[];
  /** Stop the timer and wait until every slice sent is acked or failed. */
  stop(): Promise<void>;
}

/**
 * Offer `linesPerSecond` lines to `pusher` on a timer: `sliceLines` lines
 * every `sliceMs` whether or not earlier slices are acked yet (open loop,
 * so a slow batch does not slow the input down), with at most `maxInFlight`
 * slices unacknowledged — beyond that the timer waits, falls behind its
 * schedule and catches up with back-to-back slices, which `slices` shows.
 * The same lines (makeLines) are pushed every slice.
 */
export function pacedPush(
  pusher: RecordPusher,
  opts: {
    linesPerSecond: number;
    /** @default 250 */
    sliceMs?: number;
    /** @default 16 */
    maxInFlight?: number;
  },
): PacedPush {
  const sliceMs = opts.sliceMs ?? 250;
  const maxInFlight = opts.maxInFlight ?? 16;
  const sliceLines = Math.max(1, Math.round((opts.linesPerSecond * sliceMs) / 1000));
  const slice = makeLines(sliceLines);
  const slices: PushedSlice[] = [];
  const startedMs = Date.now();
  let pushing = true;
  const loop = (async () => {
    const inFlight = new Set<Promise<unknown>>();
    for (let k = 0; pushing; k++) {
      const dueMs = startedMs + k * sliceMs;
      const wait = dueMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (!pushing) break;
      const record: PushedSlice = { dueMs, sentMs: Date.now() };
      slices.push(record);
      const op = pusher.push(slice).then(
        () => void (record.ackedMs = Date.now()),
        (err: unknown) => void (record.failed = (err as Error).message),
      );
      inFlight.add(op);
      void op.finally(() => inFlight.delete(op));
      if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  })();
  return {
    sliceLines,
    sliceMs,
    startedMs,
    slices,
    stop: async () => {
      pushing = false;
      await loop;
    },
  };
}

/**
 * Start a cluster, submit the word count and push `linesPerSecond` lines
 * every second in 4 slices, until stop().
 */
export async function steadyWordCount(
  opts: WordCountClusterOptions & {
    linesPerSecond: number;
    /** A slice of lines is pushed every sliceMs. @default 250 */
    sliceMs?: number;
    /** Slices pushed but not acked yet, at most. @default 16 */
    maxInFlight?: number;
  },
): Promise<SteadyRun> {
  const run = await startWordCount(opts);
  const { client, jobId } = run;
  const pusher = client.pusher('lines');
  const push = pacedPush(pusher, opts);
  return {
    cluster: run.cluster,
    client,
    jobId,
    batches: async () => {
      const st = await client.status({ recentBatches: 1000 });
      return st.jobs
        .find((j) => j.jobId === jobId)!
        .recentBatches.filter((b) => b.state === 'COMPLETED' && Number(b.inputRecords) > 0)
        .sort((x, y) => Number(x.batchTimeMs) - Number(y.batchTimeMs));
    },
    stop: async () => {
      await push.stop();
      await pusher.close().catch(() => undefined);
      await run.stop();
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** When a batch was done: its time plus its total delay. */
export const batchDoneAt = (b: BatchStatus): number => Number(b.batchTimeMs) + b.totalDelayMs;

/**
 * When total delay was back to normal after a fault: the completion of the
 * last batch over the bound (`normal` +10%, at least +50 ms) after which every
 * batch of `after` stayed within it; `from` when none was over it.
 */
export function backToNormalAt(after: readonly BatchStatus[], normalMs: number, from: number): number {
  const within = (d: number) => d <= Math.max(normalMs * 1.1, normalMs + 50);
  for (let i = 0; i < after.length; i++) {
    if (after.slice(i).every((b) => within(b.totalDelayMs))) return i === 0 ? from : batchDoneAt(after[i - 1]!);
  }
  return after.length > 0 ? batchDoneAt(after.at(-1)!) : from;
}

/**
 * Processing time with executor-3 of 3 slowed `slowdown`×, speculation on or
 * off. Returns p50/p90 processing time of `batches` batches after a warm-up.
 */
export async function stragglerScenario(opts: {
  slowdown: number;
  speculation: boolean;
  batches: number;
  linesPerSecond: number;
  /** Keep every service's log here (steadyWordCount). */
  logDir?: string;
}): Promise<{ p50: number; p90: number; speculativeHint: string; batches: number }> {
  const run = await steadyWordCount({
    executors: 3,
    linesPerSecond: opts.linesPerSecond,
    ...(opts.logDir ? { logDir: opts.logDir } : {}),
    env: {
      scheduler: { RIVULET_SPECULATION: String(opts.speculation) },
      ...(opts.slowdown > 1 ? { 'executor-3': { RIVULET_TASK_SLOWDOWN: String(opts.slowdown) } } : {}),
    },
  });
  try {
    const warmup = 2;
    for (;;) {
      const done = await run.batches();
      if (done.length >= warmup + opts.batches) {
        const measured = done.slice(warmup, warmup + opts.batches).map((b) => b.processingTimeMs);
        return {
          p50: percentile(measured, 50),
          p90: percentile(measured, 90),
          speculativeHint: opts.speculation ? 'on' : 'off',
          batches: measured.length,
        };
      }
      await sleep(250);
    }
  } finally {
    await run.stop();
  }
}
