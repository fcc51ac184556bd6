/**
 * `rivulet/testing`: the deterministic test driver (Spark's TestSuiteBase with
 * a manual clock). `runBatches` runs a job module for n batches on a REAL
 * cluster — lineage, scheduler and executor processes over real gRPC and a real
 * nats-server, started with lib/cluster/local-cluster.ts — feeding its
 * `ctx.queueStream(name)` streams one list of records per batch, and resolves
 * with what every `output(name)` committed, batch by batch:
 *
 *   const out = await runBatches({
 *     job: 'tests/jobs/wordcount.ts',
 *     inputs: { lines: [['a b', 'a'], null, []] },
 *     batches: 3,
 *   });
 *   // { counts: [{ batchTime: 1000, records: [['a', 2], ['b', 1]] },
 *   //            { batchTime: 2000, records: [] }, { batchTime: 3000, records: [] }] }
 *
 * Batches are driven, not clocked: batch i (from 1) has batch time
 * i × the cluster's batch interval, and starts only when the previous one has
 * committed its outputs (the scheduler's test-only SchedulerTesting.RunBatch,
 * served because the cluster's scheduler runs with RIVULET_TEST_DRIVER=true).
 *
 * Inputs follow Spark's TestSuiteBase (TestInputStream): each batch's list
 * is cut into `partitions` blocks (contiguous slices, as makeRDD), so
 * operators see several partitions; `[]` — and every batch past the end of
 * the list — is an empty batch of `partitions` empty blocks: output
 * operations run (`count()` gives `[0]`). `null` means the stream produced no
 * data that batch: it generates no dataset at all (Spark's None), so outputs
 * that depend on it do not run that batch (no entry), and operators Spark
 * builds on transform/union fail the batch, as in Spark (see lib/dstream/api.ts).
 *
 * The result has one key per `output(name)` of the job and, under it, one
 * entry per batch in which that output ran (every batch, for the stateless
 * operators). Records are in partition order.
 *
 * Without `cluster`, every call shares one lazily started cluster per process
 * (stopped by `stopSharedCluster()`, or when the process ends, however it
 * ends), so a suite pays the start-up once; `startTestCluster()` gives an
 * explicit one.
 *
 * `slice(out.counts, from, to, interval)` picks a time range of one output's
 * batches, as Spark's DStream.slice (and the cluster's SliceOutput) would.
 *
 * For tests that start processes themselves, the same launchers Rivulet uses
 * are re-exported from lib/process (shared by product code and tests, so
 * neither imports the other): `startNatsServer` (a real nats-server with
 * JetStream on a port of its own choosing) and `freePort`.
 */
import { packRecords, unpackRecords } from '../codec/records.js';
import { startLocalCluster, type LocalCluster } from '../cluster/local-cluster.js';
import { bundleJob, type JobBundle } from '../dstream/bundle.js';
import { fromServiceError } from '../errors.js';
import { alignSliceRange, inRange } from '../dstream/slice.js';
import { dial, unary } from '../grpc/client.js';
import { channelCredentials } from '../security/transport.js';
import { rivuletV1, type SchedulerClient, type SchedulerTestingClient } from '../proto/index.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';

export { startNatsServer, type NatsServerHandle, type NatsServerOptions } from '../process/nats-server.js';
export { freePort } from '../process/ports.js';

/** Records of one queue stream per batch; `null` = the stream generates no dataset that batch. */
export type QueueInputs = Record<string, ReadonlyArray<readonly unknown[] | null | undefined>>;

export interface RunBatchesOptions {
  /** Path to the job module (TypeScript or JavaScript), bundled like `rivulet submit` does. */
  job: string;
  /** Per queue stream name: the records of batch 1, 2, ... (`null`: no dataset that batch; past the end: empty). */
  inputs: QueueInputs;
  /** How many batches to run. */
  batches: number;
  /** Blocks (partitions) each batch's records of each stream are cut into. @default 2 */
  partitions?: number;
  /** The cluster to run on. @default a shared cluster started on first use */
  cluster?: TestCluster;
  /** Deadline of each batch. @default 60000 */
  batchTimeoutMs?: number;
  /**
   * Called after each batch completed, before the next one runs (e.g. to kill
   * an executor between batches, or to inspect lineage). Awaited.
   */
  afterBatch?: (info: { batch: number; batchTimeMs: number; jobId: string }) => unknown;
}

export interface BatchOutput<T = unknown> {
  /** The batch time in ms (batch i has time i × batch interval). */
  batchTime: number;
  records: T[];
}

/** Output name → one entry per batch in which the output ran. */
export type RunBatchesResult = Record<string, BatchOutput[]>;

export interface TestClusterOptions {
  /** @default 2 */
  executors?: number;
  /** Task slots per executor. @default 2 */
  slots?: number;
  /** The batch interval (sets batch times, and what windows in a job are multiples of). @default "1s" */
  batchInterval?: string | number;
  /** Log level of the services. @default "warn" */
  logLevel?: string;
  /** Extra RIVULET_* variables per service, as LocalClusterOptions.env (the test driver is always on). */
  env?: Record<string, Record<string, string | undefined>>;
}

export interface TestCluster {
  readonly schedulerAddress: string;
  /** The processes behind it (to kill an executor, find lineage, ...). */
  readonly local: LocalCluster;
  runBatches(opts: Omit<RunBatchesOptions, 'cluster'>): Promise<RunBatchesResult>;
  /** Stop every process of the cluster. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Spark's `DStream.slice(fromTime, toTime)` over one output of a
 * `runBatches` result, with the semantics of the cluster's SliceOutput
 * (`RivuletClient.slice`): the batches with from ≤ batchTime ≤ to after both
 * ends are aligned down to the grid — `gridMs`, the cluster's batch interval
 * (the window's slide for a windowed output), from zero, as driven batch i
 * is at i × interval. The harness keeps every batch, so nothing is truncated.
 * RangeError / InvalidArgumentError for a bad grid or range.
 *
 *   slice(out.counts, 1500, 3000, 1000)  // the batches at 1000, 2000 and 3000
 */
export function slice<T>(batches: readonly BatchOutput<T>[], fromTimeMs: number, toTimeMs: number, gridMs: number): BatchOutput<T>[] {
  const range = alignSliceRange(fromTimeMs, toTimeMs, { gridMs, zeroTimeMs: 0 }, 'slice');
  return inRange(batches, range, (b) => b.batchTime);
}

/** Start a cluster whose scheduler serves the test driver. */
export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  const local = await startLocalCluster({
    executors: opts.executors ?? 2,
    slots: opts.slots ?? 2,
    batchInterval: opts.batchInterval ?? '1s',
    logLevel: opts.logLevel ?? 'warn',
    env: { ...opts.env, scheduler: { ...opts.env?.scheduler, RIVULET_TEST_DRIVER: 'true' } },
  });
  return new DrivenCluster(local, startWatchdog(local.processes().map((p) => p.pid)));
}

/**
 * The cluster's processes must not outlive this one, however it ends: test
 * runners often end workers with a signal, which skips 'exit' handlers. A
 * small detached watchdog polls this process and stops the cluster's
 * processes once it is gone; it is killed when the cluster is stopped.
 */
function startWatchdog(pids: number[]): ChildProcess {
  const script = `
    const [parent, ...pids] = process.argv.slice(1).map(Number);
    setInterval(() => {
      try { process.kill(parent, 0); return; } catch {}
      for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch {} }
      process.exit(0);
    }, 500);`;
  const child = spawn(process.execPath, ['-e', script, String(process.pid), ...pids.map(String)], { detached: true, stdio: 'ignore' });
  child.unref();
  return child;
}

let shared: Promise<TestCluster> | undefined;

/** Run a job for `batches` batches over queue-stream inputs; see the module doc. */
export async function runBatches(opts: RunBatchesOptions): Promise<RunBatchesResult> {
  const cluster = opts.cluster ?? (await sharedCluster());
  return cluster.runBatches(opts);
}

/** Stop the cluster runBatches shares (if started). */
export async function stopSharedCluster(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) await (await s.catch(() => undefined))?.stop();
}

function sharedCluster(): Promise<TestCluster> {
  if (!shared) {
    // Stopped by stopSharedCluster(), or by the watchdog when this process ends.
    shared = startTestCluster();
    shared.catch(() => (shared = undefined));
  }
  return shared;
}

class DrivenCluster implements TestCluster {
  private readonly scheduler: SchedulerClient;
  private readonly testing: SchedulerTestingClient;
  private readonly bundles = new Map<string, { mtimeMs: number; bundle: JobBundle }>();
  private stopped = false;

  constructor(
    readonly local: LocalCluster,
    private readonly watchdog: ChildProcess,
  ) {
    const address = local.scheduler.address;
    const security = local.addresses().security;
    this.scheduler = dial.scheduler(address, { security });
    this.testing = new rivuletV1.SchedulerTesting(address, channelCredentials(security, ['scheduler']), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    });
  }

  get schedulerAddress(): string {
    return this.local.scheduler.address;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.scheduler.close();
    this.testing.close();
    await this.local.stop();
    this.watchdog.kill('SIGKILL');
  }

  private async bundle(path: string): Promise<JobBundle> {
    const file = resolve(path);
    const mtimeMs = statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1;
    const known = this.bundles.get(file);
    if (known && known.mtimeMs === mtimeMs) return known.bundle;
    const bundle = await bundleJob(file);
    this.bundles.set(file, { mtimeMs, bundle });
    return bundle;
  }

  async runBatches(opts: Omit<RunBatchesOptions, 'cluster'>): Promise<RunBatchesResult> {
    if (this.stopped) throw new Error('runBatches: the test cluster is stopped');
    const partitions = opts.partitions ?? 2;
    if (!Number.isInteger(opts.batches) || opts.batches < 0) throw new TypeError(`runBatches: batches must be a non-negative integer, got ${opts.batches}`);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1000) {
      throw new TypeError(`runBatches: partitions must be an integer between 1 and 1000, got ${partitions}`);
    }
    const inputs = opts.inputs ?? {};
    for (const [name, list] of Object.entries(inputs)) {
      if (!Array.isArray(list)) throw new TypeError(`runBatches: inputs.${name} must be an array of batches (arrays or null)`);
    }
    const bundle = await this.bundle(opts.job);
    const submitted = await unary(
      this.testing,
      this.testing.submitDrivenJob,
      { name: bundle.name, bundle: Buffer.from(bundle.code), source: bundle.source },
      { timeoutMs: 15_000 },
    ).catch((e) => {
      throw new Error(`runBatches: ${opts.job}: ${fromServiceError(e).message}`, { cause: e });
    });
    const jobId = submitted.jobId;
    try {
      const unknown = Object.keys(inputs).filter((s) => !submitted.queueStreams.includes(s));
      if (unknown.length > 0) {
        throw new Error(
          `runBatches: ${opts.job} has no queue stream ${unknown.map((s) => JSON.stringify(s)).join(', ')}; ` +
            `its queue streams are: ${submitted.queueStreams.join(', ') || '(none)'}`,
        );
      }
      const result: RunBatchesResult = {};
      for (const name of submitted.outputs) result[name] = [];
      const interval = Number(submitted.batchIntervalMs);
      for (let i = 0; i < opts.batches; i++) {
        const batchTimeMs = (i + 1) * interval;
        const queues = Object.entries(inputs).flatMap(([stream, list]) => {
          const records = i < list.length ? list[i] : [];
          if (records === null || records === undefined) return [];
          if (!Array.isArray(records)) throw new TypeError(`runBatches: inputs.${stream}[${i}] must be an array or null`);
          return [{ stream, blocks: cutIntoPartitions(records, partitions).map((part) => ({ count: part.length, payload: packRecords(part) })) }];
        });
        const res = await unary(this.testing, this.testing.runBatch, { jobId, batchTimeMs, inputs: queues }, { timeoutMs: opts.batchTimeoutMs ?? 60_000 }).catch(
          (e) => {
            throw new Error(`runBatches: ${opts.job}: batch ${i + 1} (time ${batchTimeMs}) failed: ${fromServiceError(e).message}`, { cause: e });
          },
        );
        for (const o of res.outputs) {
          (result[o.output] ??= []).push({ batchTime: batchTimeMs, records: unpackRecords(o.records?.payload ?? Buffer.alloc(0)) });
        }
        await opts.afterBatch?.({ batch: i + 1, batchTimeMs, jobId });
      }
      return result;
    } finally {
      await unary(this.scheduler, this.scheduler.stopJob, { jobId }, { timeoutMs: 5000 }).catch(() => undefined);
    }
  }
}

/** Contiguous slices, as Spark's ParallelCollectionRDD.slice. */
function cutIntoPartitions<T>(records: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < n; i++) out.push(records.slice(Math.floor((i * records.length) / n), Math.floor(((i + 1) * records.length) / n)));
  return out;
}
