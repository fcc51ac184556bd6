/**
 * The scheduler's core: one event loop that owns every piece of scheduler
 * state (Spark's DAGScheduler event loop). Timers, NATS messages, gRPC
 * results and client requests all become `SchedulerEvent`s handled one at a
 * time by `handle`; nothing mutates state after an `await` — asynchronous
 * work posts its outcome back as another event.
 *
 * Per batch of a job: wait for the receiver's blocks of every input stream →
 * plan stages → register the batch with lineage (log before acting) → run
 * stages as their parents finish, placing tasks one free slot at a time with
 * delay scheduling over locality levels → commit every output exactly once →
 * announce `batch.completed` → drop the batch's blocks. Batches of one job run
 * one at a time, in order (Spark's default spark.streaming.concurrentJobs=1).
 *
 * Windows: every batch also runs a persist stage for each dataset a later
 * window reads (a window's parent; an inverse-reduce window itself), whose
 * tasks keep their partition as the pinned block `rdd/<job>:<batch>:<node>:<incarnation>/<p>`
 * on their executor; the scheduler copies each to a second executor
 * (ReplicateBlocks) and keeps a registry of them (`cached`), from which a
 * window task of a later batch gets its inputs. Once no window can reach a
 * dataset (planner.ts cacheRetention) its blocks are dropped everywhere.
 * What survives a loss: a cached partition lost while its batch still runs
 * is recomputed (its persist task runs again, like a lost map output); later
 * it survives the loss of one of its two holders (tests/chaos/window-executor-kill);
 * one lost with every holder before the window that needs it
 * ran fails that batch with a clear error (it is not recomputed from the
 * earlier batch's inputs, which are dropped when that batch ends). Lineage
 * sees a window as a wide dependency on its parent of the same batch, gets
 * every cached partition (and its copy) as a PARTITION location, and keeps
 * the batches whose cached datasets a window can still reach (ForgetBatches
 * is told to forget only the batches before the oldest one kept).
 */
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { cachedNodes, cacheRetention, nodeSlides, planBatch, planTask, STATE_KEYS, type WindowContext } from '../../lib/dstream/planner.js';
import type { JobRecord } from './job-journal.js';
import { checkpointName } from '../../lib/checkpoint/store.js';
import { JobDefinitionError } from '../../lib/dstream/errors.js';
import { readsEarlierBatches, sourceInputKey, stateNodes, type OutputNode } from '../../lib/dstream/graph.js';
import { loadJob } from '../../lib/dstream/loader.js';
import { unpackRecords } from '../../lib/codec/records.js';
import {
  AbortedError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  UnavailableError,
  errorMessage,
} from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type {
  BatchCompletedMessage,
  BatchReadyMessage,
  ExecutorLostMessage,
  HeartbeatMessage,
  StreamsMessage,
} from '../../lib/nats/subjects.js';
import type { TaskResult__Output } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { TaskSpec } from '../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import type { ClusterStatus } from '../../lib/proto/gen/rivulet/v1/ClusterStatus.js';
import type { BatchStatus } from '../../lib/proto/gen/rivulet/v1/BatchStatus.js';
import { BatchRun, type InputBlock, type LineageRebuild, type StageRun } from './batch-run.js';
import type { SchedulerConfig } from './config.js';
import type { ExecutorEndpoint, ExecutorGateway } from './executor-gateway.js';
import { ExecutorTracker, type ExecutorChange, type TrackedExecutor } from './executor-tracker.js';
import { JobRegistry, type Job } from './job-registry.js';
import { OutputStore } from './output-store.js';
import { BatchTelemetry } from './batch-telemetry.js';

/** What the scheduler needs from the outside world; main.ts wires the real ones. */
export interface SchedulerPorts {
  gateway: Pick<ExecutorGateway, 'launch' | 'drop' | 'kill' | 'forget' | 'probe' | 'replicate'>;
  /** Register a batch's datasets and input blocks with lineage. */
  registerBatch(run: BatchRun): Promise<void>;
  /** Fire-and-forget lineage updates. */
  recordMapOutput(run: BatchRun, stage: StageRun, partition: number, executorId: string, bytes: number): void;
  /** Fire-and-forget: input blocks now also live on `executorId` (re-replication). */
  recordReplicas(blocks: Array<{ jobId: string; batchTimeMs: number; nodeId: number; partition: number; blockId: string }>, executorId: string): void;
  forgetBatches(jobId: string, beforeBatchTimeMs: number): void;
  /** Fire-and-forget: a cached partition (a window's input) is kept on `executorId` (lineage PARTITION location). */
  recordCachedPartition?(dataset: { jobId: string; batchTimeMs: number; nodeId: number }, partition: number, blockId: string, executorId: string, bytes: number): void;
  removeExecutorFromLineage(executorId: string): void;
  /** Journal a submitted job (job-journal.ts); the submission is acknowledged once this resolves. */
  recordJob?(job: JobRecord, bundle: string): Promise<void>;
  /** Store a journaled job's committed outputs durably (durable-outputs.ts); resolves once stored. */
  persistOutputs?(jobId: string, commits: ReadonlyArray<{ output: string; batch: { batchTimeMs: number; count: number; payload: Buffer } }>): Promise<void>;
  /** Fire-and-forget: forget a finished job's durable outputs. */
  purgeOutputs?(jobId: string): void;
  /** A journaled job's new state or progress, written after its record; resolves once durable (rejects if it could not be written). */
  journalJob?(job: JobRecord): Promise<void>;
  /** Fire-and-forget: cached partitions dropped on purpose (lineage DropLocations). */
  dropCachedPartitions?(blocks: Array<{ jobId: string; batchTimeMs: number; nodeId: number; partition: number; blockId: string }>): void;
  /**
   * Lineage's PlanRebuild for partitions of datasets: per target, what the one
   * task rebuilding it reads, or that it cannot be rebuilt.
   */
  planRebuild?(targets: Array<{ jobId: string; batchTimeMs: number; nodeId: number; partition: number }>): Promise<{
    tasks: Array<{ target: { batchTimeMs: number; nodeId: number; partition: number }; reads: Array<{ batchTimeMs: number; nodeId: number; partition: number }> }>;
    unrecoverable: Array<{ batchTimeMs: number; nodeId: number; partition: number }>;
  }>;
  /** Fire-and-forget: a state partition was checkpointed (lineage CHECKPOINT location). */
  recordCheckpoint?(dataset: { jobId: string; batchTimeMs: number; nodeId: number }, partition: number, name: string, bytes: number): void;
  /** Fire-and-forget: delete a job's checkpoints of a state node (all of them when `beforeBatchTimeMs` is undefined). */
  deleteCheckpoints?(jobId: string, nodeId: number | undefined, beforeBatchTimeMs: number | undefined): void;
  /** Ask the receiver for a batch's blocks when batch.ready did not arrive. */
  fetchBatchBlocks(stream: string, batchTimeMs: number): Promise<{ complete: boolean; blocks: InputBlock[] }>;
  publishBatchCompleted(msg: BatchCompletedMessage): void;
  publishExecutorLost(msg: ExecutorLostMessage): void;
  publishStreams(msg: StreamsMessage): void;
}

export type SchedulerEvent =
  | { type: 'tick'; batchTimeMs: number }
  | { type: 'batchReady'; msg: BatchReadyMessage }
  | { type: 'inputTimeout'; batchTimeMs: number }
  | { type: 'heartbeat'; msg: HeartbeatMessage }
  | { type: 'livenessCheck' }
  | { type: 'batchRegistered'; run: BatchRun }
  | { type: 'batchRegisterFailed'; run: BatchRun; error: string }
  | { type: 'taskResult'; result: TaskResult__Output }
  | { type: 'tasksLost'; executorId: string; epoch: number; taskIds: string[]; error: string; unreachable: boolean }
  | { type: 'executorUnreachable'; executorId: string; epoch: number }
  | { type: 'blocksReplicated'; executorId: string; epoch: number; blockIds: string[] }
  | { type: 'speculationCheck' }
  | { type: 'stateRebuildPlanned'; run: BatchRun; nodeId: number; plans: Map<number, LineageRebuild> }
  | { type: 'cacheRestored'; jobId: string; batches: RestoredBatch[] }
  | { type: 'batchJournaled'; run: BatchRun }
  | { type: 'reschedule' }
  // TEST-ONLY (test driver): run one batch of a driven job with these queue-stream inputs.
  | { type: 'driveBatch'; jobId: string; batchTimeMs: number; inputs: Map<string, InputBlock[]> };

type Locality = 'PROCESS_LOCAL' | 'NODE_LOCAL' | 'ANY';

/** An output(name) a driven batch committed (test driver). */
export interface DrivenOutput {
  output: string;
  count: number;
  payload: Buffer;
}

interface DrivenJob {
  lastBatchTimeMs: number;
  waiters: Map<number, { resolve: (outputs: DrivenOutput[]) => void; reject: (err: Error) => void }>;
}

interface PendingTask {
  run: BatchRun;
  stageRun: StageRun;
  partition: number;
  taskId: string;
  /** Launch attempts so far (every launch gets a new attempt number). */
  attempt: number;
  /** Failures that count toward maxTaskAttempts (not executor losses). */
  failures: number;
  /** Attempts lost with their executor: not the task's fault, but bounded too. */
  lostAttempts: number;
  speculative: boolean;
  /** Re-runs a partition lost with an executor: goes ahead of new work. */
  recovery: boolean;
  preferred: string[];
  excluded: Set<string>;
  readySinceMs: number;
  lastError?: string;
}

interface RunningTask extends PendingTask {
  executorId: string;
  epoch: number;
  launchedAtMs: number;
  locality: Locality;
}

const HISTORY = 100;

/** One partition of a cached dataset (a window's input) and where it is kept. */
interface CachedBlock {
  jobId: string;
  batchTimeMs: number;
  nodeId: number;
  partition: number;
  blockId: string;
  records: number;
  executorIds: string[];
}

/** A dataset of one batch kept for windows of later batches. */
interface CachedDataset {
  nodeId: number;
  batchTimeMs: number;
  /** Undefined until the persist task of that partition succeeds. */
  blocks: Array<CachedBlock | undefined>;
}

/** What lineage knows of one earlier batch of a restored job (GetBatch), for its cached partitions. */
export interface RestoredBatch {
  batchTimeMs: number;
  datasets: Array<{ nodeId: number; numPartitions: number }>;
  locations: Array<{ kind: string; nodeId: number; partition: number; blockId: string; executorIds: string[] }>;
}

/** How one state task rebuilds a previous state lost on every executor. */
interface StateRebuild {
  /** Start from this checkpoint... */
  checkpoint?: { batchTimeMs: number; name: string };
  /** ...or from this older partition still kept (neither: the initial state). */
  previous?: CachedBlock;
  /** Batches to step through before this one. */
  replay: number[];
  values: Array<{ batchTimeMs: number; block: CachedBlock }>;
}

function plannedBy(plan: 'pending' | LineageRebuild | undefined): 'lineage' | 'scheduler' {
  return plan && plan !== 'pending' && !plan.fallback ? 'lineage' : 'scheduler';
}

/** A state node's recovery record: see Scheduler.stateLogs. */
interface StateLog {
  /** The first batch the state was computed for (a rebuild with no checkpoint yet replays from there). */
  started?: number;
  checkpoint?: { batchTimeMs: number; numPartitions: number };
  /** Batch times (ascending) the state was computed for after the checkpoint. */
  since: number[];
}

export function cachedBlockId(jobId: string, batchTimeMs: number, nodeId: number, partition: number, incarnation: string): string {
  // The incarnation: a batch re-run by a restarted scheduler may partition a
  // dataset differently, so an earlier run's block must never pass for this one's.
  return `rdd/${jobId}:${batchTimeMs}:${nodeId}:${incarnation}/${partition}`;
}

export class Scheduler {
  readonly jobs: JobRegistry;
  readonly executors: ExecutorTracker;
  readonly outputs: OutputStore;
  private readonly queue: SchedulerEvent[] = [];
  private draining = false;
  private readonly readyInputs = new Map<string, InputBlock[]>();
  private readonly batchesByJob = new Map<string, BatchRun[]>();
  private readonly history = new Map<string, BatchRun[]>();
  private pending: PendingTask[] = [];
  private readonly running = new Map<string, RunningTask>();
  /** Input blocks of (stream, batch) → jobs still needing them; dropped at zero. */
  private readonly inputRefs = new Map<string, { blocks: InputBlock[]; jobs: Set<string> }>();
  private localityTimer?: TimerHandle;
  /** Set while a locality-wait timer is armed and has not fired yet. */
  private localityTimerArmed = false;
  private tickTimer?: TimerHandle;
  private livenessTimer?: TimerHandle;
  private streamsTimer?: TimerHandle;
  private speculationTimer?: TimerHandle;
  private stopped = false;
  /** TEST-ONLY (test driver): driven jobs, and the RunBatch callers waiting for their batches. */
  private readonly driven = new Map<string, DrivenJob>();
  /** Spans and metrics of each batch (docs/telemetry.md); never decides anything. */
  private readonly telemetry: BatchTelemetry;
  /** Cached datasets by job, keyed `<node>@<batch>`, and their blocks by id. */
  private readonly cached = new Map<string, Map<string, CachedDataset>>();
  private readonly cachedById = new Map<string, CachedBlock>();
  /**
   * Per job, per state node: the last complete checkpoint and the batches the
   * state went through since (what a lost state partition is replayed over).
   */
  private readonly stateLogs = new Map<string, Map<number, StateLog>>();
  /** Distinguishes this process's shuffle outputs from an earlier scheduler's (see shuffleId). */
  private readonly incarnation = randomBytes(3).toString('hex');

  constructor(
    private readonly config: SchedulerConfig,
    private readonly clock: Clock,
    private readonly ports: SchedulerPorts,
    private readonly log: Logger,
  ) {
    this.jobs = new JobRegistry(log);
    this.executors = new ExecutorTracker(clock, config.heartbeatInterval, config.maxMissedHeartbeats);
    this.outputs = new OutputStore(config.outputRetentionBatches, config.outputRetentionBytes);
    this.telemetry = new BatchTelemetry(() => this.executors.alive().length);
  }

  // ---------------------------------------------------------------- lifecycle

  start(): void {
    this.scheduleTick();
    const liveness = () => {
      this.post({ type: 'livenessCheck' });
      // Checked several times per heartbeat interval so a loss is noticed
      // within a fraction of an interval after the last missed beat.
      this.livenessTimer = this.clock.setTimeout(liveness, Math.max(10, Math.floor(this.config.heartbeatInterval / 5)));
    };
    liveness();
    const streams = () => {
      this.publishStreams();
      this.streamsTimer = this.clock.setTimeout(streams, 1000);
    };
    streams();
    if (this.config.speculation) {
      const speculate = () => {
        this.post({ type: 'speculationCheck' });
        this.speculationTimer = this.clock.setTimeout(speculate, this.config.speculationInterval);
      };
      speculate();
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.tickTimer, this.livenessTimer, this.streamsTimer, this.localityTimer, this.speculationTimer]) {
      if (t) this.clock.clearTimeout(t);
    }
    for (const job of this.jobs.running()) this.outputs.endJob(job.id, true);
  }

  private scheduleTick(): void {
    const interval = this.config.batchInterval;
    const now = this.clock.now();
    const next = Math.floor(now / interval) * interval + interval;
    this.tickTimer = this.clock.setTimeout(() => {
      if (this.stopped) return;
      this.post({ type: 'tick', batchTimeMs: next });
      this.scheduleTick();
    }, next - now);
  }

  // ---------------------------------------------------------------- event loop

  post(event: SchedulerEvent): void {
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const e = this.queue.shift()!;
        try {
          this.handle(e);
        } catch (err) {
          this.log.error({ err, event: e.type }, 'scheduler event handler failed');
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private handle(e: SchedulerEvent): void {
    switch (e.type) {
      case 'tick':
        return this.onTick(e.batchTimeMs);
      case 'batchReady':
        return this.onBatchReady(e.msg.stream, e.msg.batchTimeMs, e.msg.blocks);
      case 'inputTimeout':
        return this.onInputTimeout(e.batchTimeMs);
      case 'heartbeat':
        return this.onExecutorChanges(this.executors.heartbeat(e.msg));
      case 'livenessCheck':
        return this.onExecutorChanges(this.executors.expire());
      case 'batchRegistered':
        return this.onBatchRegistered(e.run);
      case 'batchRegisterFailed':
        return this.onBatchRegisterFailed(e.run, e.error);
      case 'taskResult':
        return this.onTaskResult(e.result);
      case 'tasksLost':
        return this.onTasksLost(e.executorId, e.epoch, e.taskIds, e.error, e.unreachable);
      case 'executorUnreachable': {
        const exec = this.executors.get(e.executorId);
        if (!exec || exec.epoch !== e.epoch) return;
        const change = this.executors.markLost(exec, 'unreachable: a task call broke and the health probe failed');
        return this.onExecutorChanges(change ? [change] : []);
      }
      case 'blocksReplicated':
        return this.onBlocksReplicated(e.executorId, e.epoch, e.blockIds);
      case 'speculationCheck':
        return this.speculate();
      case 'stateRebuildPlanned':
        return this.onStateRebuildPlanned(e.run, e.nodeId, e.plans);
      case 'cacheRestored':
        return this.onCacheRestored(e.jobId, e.batches);
      case 'batchJournaled':
        return this.releaseBatchData(e.run);
      case 'reschedule':
        return this.schedule();
      case 'driveBatch':
        return this.onDriveBatch(e.jobId, e.batchTimeMs, e.inputs);
      default: {
        const never: never = e;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  }

  // ---------------------------------------------------------------- jobs

  /** Load and register a job. Throws InvalidArgumentError / UnavailableError for the client. */
  submitJob(bundle: string, source: string, name: string, journal = true): Job {
    if (Buffer.byteLength(bundle) > this.config.maxBundleBytes) {
      throw new ResourceExhaustedError(
        `job bundle is ${Buffer.byteLength(bundle)} bytes, over the limit of ${this.config.maxBundleBytes} (maxBundleBytes)`,
      );
    }
    if (bundle.trim().length === 0) throw new InvalidArgumentError('job bundle is empty');
    const loaded = loadJob(bundle, source || 'job.js', this.config.jobBuildTimeout);
    if (this.executors.alive().length === 0) {
      throw new UnavailableError('no executors alive: start executors (rivulet up --executors N) before submitting jobs');
    }
    const now = this.clock.now();
    const interval = this.config.batchInterval;
    try {
      nodeSlides(loaded.graph, interval);
    } catch (err) {
      if (err instanceof JobDefinitionError) throw new InvalidArgumentError(`${err.message} (batch interval ${interval} ms)`);
      throw err;
    }
    const firstBatchTimeMs = Math.floor(now / interval) * interval + interval;
    const job: Job = {
      id: `job-${randomBytes(4).toString('hex')}`,
      name: name || loaded.definition.options.name || source.replace(/\.[cm]?[jt]sx?$/, '') || 'job',
      source,
      bundle,
      bundleHash: loaded.bundleHash,
      graph: loaded.graph,
      state: 'RUNNING',
      submittedAtMs: now,
      firstBatchTimeMs,
      nextBatchTimeMs: firstBatchTimeMs,
      zeroTimeMs: firstBatchTimeMs - interval,
      batchesCompleted: 0,
      recordsProcessed: 0,
    };
    this.register(job);
    this.log.info(
      { jobId: job.id, name: job.name, streams: job.graph.streams, outputs: job.graph.outputs.map((o) => o.name) },
      'job submitted',
    );
    if (this.ports.recordJob && journal) {
      job.journaled = true;
      job.journalWrite = this.ports.recordJob(this.jobRecord(job), bundle);
    }
    this.publishStreams();
    return job;
  }

  /** A new or resumed job: its outputs, its batch queue and history. */
  private register(job: Job): void {
    this.jobs.add(job);
    for (const out of job.graph.outputs) this.outputs.declare(job.id, out.name);
    this.batchesByJob.set(job.id, []);
    this.history.set(job.id, []);
  }

  /** The journal's view of a job (job-journal.ts). */
  jobRecord(job: Job): JobRecord {
    return {
      id: job.id,
      name: job.name,
      source: job.source,
      bundleHash: job.bundleHash,
      submittedAtMs: job.submittedAtMs,
      firstBatchTimeMs: job.firstBatchTimeMs,
      zeroTimeMs: job.zeroTimeMs,
      state: job.state,
      ...(job.error ? { error: job.error } : {}),
      ...(job.lastCompletedBatchMs !== undefined ? { lastCompletedBatchMs: job.lastCompletedBatchMs } : {}),
      batchesCompleted: job.batchesCompleted,
      recordsProcessed: job.recordsProcessed,
    };
  }

  private journal(job: Job): void {
    if (job.journaled) this.ports.journalJob?.(this.jobRecord(job)).catch(() => undefined); // logged by the journal
  }

  /**
   * Take back a job journaled by an earlier incarnation of the scheduler
   * (killed, then restarted): same id, bundle and zero time; it resumes at the
   * batch after its last completed one, catching up on every batch since
   * (their blocks come from the receiver, which keeps them). Its batches wait
   * until `restoreCache` is called: with its cached partitions and
   * checkpoints from lineage when it reads earlier batches (windows, state).
   */
  restoreJob(rec: JobRecord, bundle: string): Job {
    const loaded = loadJob(bundle, rec.source || 'job.js', this.config.jobBuildTimeout);
    if (loaded.bundleHash !== rec.bundleHash) {
      throw new FailedPreconditionError(`journaled job ${rec.id}: its bundle hashes to ${loaded.bundleHash}, not ${rec.bundleHash}`);
    }
    nodeSlides(loaded.graph, this.config.batchInterval); // the interval may have changed: refuse clearly
    if ((rec.zeroTimeMs - rec.firstBatchTimeMs) % this.config.batchInterval !== 0 || rec.firstBatchTimeMs % this.config.batchInterval !== 0) {
      throw new FailedPreconditionError(
        `journaled job ${rec.id} ran with another batch interval than ${this.config.batchInterval} ms; it cannot resume on this clock`,
      );
    }
    const interval = this.config.batchInterval;
    const resumeAt = rec.lastCompletedBatchMs !== undefined ? rec.lastCompletedBatchMs + interval : rec.firstBatchTimeMs;
    const job: Job = {
      id: rec.id,
      name: rec.name,
      source: rec.source,
      bundle,
      bundleHash: rec.bundleHash,
      graph: loaded.graph,
      state: 'RUNNING',
      submittedAtMs: rec.submittedAtMs,
      firstBatchTimeMs: rec.firstBatchTimeMs,
      nextBatchTimeMs: resumeAt,
      zeroTimeMs: rec.zeroTimeMs,
      batchesCompleted: rec.batchesCompleted,
      recordsProcessed: rec.recordsProcessed,
      journaled: true,
      resumedFromBatchMs: resumeAt,
      // Until main.ts has its outputs (and, for windows and state, its cached partitions) back: see restoreCache.
      restoring: true,
      ...(rec.lastCompletedBatchMs !== undefined ? { lastCompletedBatchMs: rec.lastCompletedBatchMs } : {}),
    };
    this.register(job);
    // The batches it missed while no scheduler ran, up to the last tick; the clock adds the rest.
    const lastTick = Math.floor(this.clock.now() / interval) * interval;
    this.createDueRuns(job, lastTick);
    this.clock.setTimeout(() => this.post({ type: 'inputTimeout', batchTimeMs: lastTick }), 0);
    this.log.warn(
      { jobId: job.id, name: job.name, resumeAt, catchUp: this.batchesByJob.get(job.id)!.length, restoring: job.restoring },
      'job resumed from the journal after a scheduler restart',
    );
    this.publishStreams();
    return job;
  }

  /** A restored job's cached partitions are back from lineage (see onCacheRestored). */
  restoreCache(jobId: string, batches: RestoredBatch[]): void {
    this.post({ type: 'cacheRestored', jobId, batches });
  }

  /**
   * The earlier batches a restored job's windows and states still read: how
   * many batch intervals back from its last completed batch `restoreCache`
   * needs lineage's record of.
   */
  restoreHorizonBatches(job: Job): number {
    const interval = this.config.batchInterval;
    let ms = 0;
    for (const v of cacheRetention(job.graph, interval).values()) if (Number.isFinite(v)) ms = Math.max(ms, v);
    return Math.ceil(ms / interval) + Math.ceil(this.checkpointIntervalMs() / interval) + 2;
  }

  stopJob(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (job.state !== 'RUNNING') return;
    this.jobs.transition(job, 'STOPPED');
    this.journal(job);
    if (job.journaled) this.ports.purgeOutputs?.(job.id);
    this.abandonBatches(job, 'job stopped');
    this.dropJobCache(job);
    this.outputs.endJob(job.id, true);
    this.publishStreams();
  }

  private publishStreams(): void {
    this.ports.publishStreams({ streams: this.jobs.activeStreams(), batchIntervalMs: this.config.batchInterval });
  }

  // ---------------------------------------------------------------- batch inputs

  private inputKey(stream: string, t: number): string {
    return `${stream}@${t}`;
  }

  private onTick(t: number): void {
    for (const job of this.jobs.running()) this.createDueRuns(job, t);
    this.clock.setTimeout(() => this.post({ type: 'inputTimeout', batchTimeMs: t }), this.config.batchReadyTimeout);
    // Announcements nobody can use any more.
    const horizon = t - 10 * this.config.batchInterval;
    for (const key of this.readyInputs.keys()) if (Number(key.slice(key.lastIndexOf('@') + 1)) < horizon) this.readyInputs.delete(key);
    this.startReadyBatches();
  }

  /**
   * Queue a run for every batch of the job due by time `t` that has none yet
   * (normally just `t`; after a scheduler restart, every batch since the
   * last completed one: their inputs were announced while no scheduler
   * listened, so they are asked of the receiver at once).
   */
  private createDueRuns(job: Job, t: number): void {
    const queue = this.batchesByJob.get(job.id)!;
    while (job.nextBatchTimeMs <= t && job.state === 'RUNNING') {
      const bt = job.nextBatchTimeMs;
      job.nextBatchTimeMs += this.config.batchInterval;
      if (queue.length >= this.config.maxQueuedBatches) {
        this.failJob(
          job,
          `job fell ${queue.length} batches behind (maxQueuedBatches=${this.config.maxQueuedBatches}): ` +
            'batches take longer than the batch interval; add executors or lengthen the interval',
        );
        return;
      }
      const run = new BatchRun(job, bt);
      for (const stream of job.graph.streams) {
        const blocks = this.readyInputs.get(this.inputKey(stream, bt));
        if (blocks) this.attachInput(run, stream, blocks);
      }
      queue.push(run);
      if (run.hasAllInputs()) run.state = 'QUEUED';
      if (bt < t) this.clock.setTimeout(() => this.post({ type: 'inputTimeout', batchTimeMs: bt }), 0);
    }
  }

  private attachInput(run: BatchRun, stream: string, blocks: InputBlock[]): void {
    if (run.inputs.has(stream)) return;
    // Shared, not copied: where a block lives is a fact about the block, so a
    // loss or a new replica updates every batch that reads it at once.
    run.inputs.set(stream, blocks);
    const key = this.inputKey(stream, run.batchTimeMs);
    const ref = this.inputRefs.get(key) ?? { blocks, jobs: new Set<string>() };
    ref.jobs.add(run.job.id);
    this.inputRefs.set(key, ref);
  }

  private onBatchReady(stream: string, t: number, blocks: InputBlock[]): void {
    const key = this.inputKey(stream, t);
    const known = this.readyInputs.get(key);
    if (known) {
      // A duplicate announcement (or the receiver's answer to GetBatchBlocks):
      // the blocks are known already; a run created since may still need them.
      this.attachToWaitingRuns(stream, t, known);
      return this.startReadyBatches();
    }
    // The announcement may name an executor that was lost after the block was
    // stored on it but before this arrived: its loss was handled without this
    // block, so drop the dead replica here and restore the replication now.
    let underReplicated = false;
    for (const b of blocks) {
      b.executorIds = b.executorIds.filter((id) => this.executors.get(id)?.state !== 'LOST');
      if (b.executorIds.length < this.config.replication) underReplicated = true;
    }
    this.readyInputs.set(key, blocks);
    if (underReplicated && this.executors.alive().length > 1) this.reReplicate();
    this.attachToWaitingRuns(stream, t, blocks);
    this.startReadyBatches();
  }

  private attachToWaitingRuns(stream: string, t: number, blocks: InputBlock[]): void {
    for (const queue of this.batchesByJob.values()) {
      for (const run of queue) {
        if (run.batchTimeMs !== t || run.state !== 'WAITING_INPUT') continue;
        if (!run.job.graph.streams.includes(stream) || run.inputs.has(stream)) continue;
        this.attachInput(run, stream, blocks);
        if (run.hasAllInputs()) run.state = 'QUEUED';
      }
    }
  }

  private onInputTimeout(t: number): void {
    const missing = new Set<string>();
    for (const queue of this.batchesByJob.values()) {
      for (const run of queue) {
        if (run.batchTimeMs !== t || run.state !== 'WAITING_INPUT') continue;
        for (const s of run.job.graph.streams) if (!run.inputs.has(s)) missing.add(s);
      }
    }
    for (const stream of missing) {
      this.ports.fetchBatchBlocks(stream, t).then(
        (res) => {
          if (res.complete) {
            this.post({ type: 'batchReady', msg: { stream, batchTimeMs: t, batchIntervalMs: this.config.batchInterval, blocks: res.blocks } });
          } else {
            this.clock.setTimeout(() => this.post({ type: 'inputTimeout', batchTimeMs: t }), 100);
          }
        },
        (err) => {
          this.log.warn({ err: errorMessage(err), stream, batchTimeMs: t }, 'cannot get batch blocks from the receiver; retrying');
          this.clock.setTimeout(() => this.post({ type: 'inputTimeout', batchTimeMs: t }), 500);
        },
      );
    }
  }

  // ---------------------------------------------------------------- batches

  private startReadyBatches(): void {
    for (const job of this.jobs.running()) {
      if (job.restoring) continue;
      const head = this.batchesByJob.get(job.id)![0];
      if (head && head.state === 'QUEUED') this.startBatch(head);
    }
  }

  private startBatch(run: BatchRun): void {
    const slots = this.executors.totalSlots();
    if (slots === 0) return; // waits in QUEUED; its scheduling delay shows in status
    const blockCounts = new Map([...run.inputs].map(([s, b]) => [s, b.length]));
    try {
      run.setPlan(planBatch(run.job.graph, blockCounts, this.config.defaultParallelism || slots, this.windowContext(run)));
    } catch (err) {
      // A batch that cannot be planned would otherwise sit queued forever.
      return this.failBatch(run, `cannot plan the batch: ${errorMessage(err)}`);
    }
    const kept = this.cachedOf(run.job.id);
    for (const nodeId of run.plan!.persisted) {
      kept.set(`${nodeId}@${run.batchTimeMs}`, {
        nodeId,
        batchTimeMs: run.batchTimeMs,
        blocks: new Array<CachedBlock | undefined>(run.plan!.partitions[nodeId]!).fill(undefined),
      });
    }
    run.state = 'REGISTERING';
    run.startedAtMs = this.clock.now();
    this.telemetry.batchStarted(run);
    this.registerWithLineage(run);
  }

  /** For jobs with windows only: other jobs are planned exactly as without windows. */
  private windowContext(run: BatchRun): WindowContext | undefined {
    if (!readsEarlierBatches(run.job.graph)) return undefined;
    const kept = this.cached.get(run.job.id);
    return {
      batchTimeMs: run.batchTimeMs,
      batchIntervalMs: this.config.batchInterval,
      zeroTimeMs: run.job.zeroTimeMs,
      cachedPartitions: (nodeId, t) => kept?.get(`${nodeId}@${t}`)?.blocks.length,
      checkpointIntervalMs: this.checkpointIntervalMs(),
    };
  }

  /** stateCheckpointInterval, a multiple of the batch interval (0: Spark's 10 intervals). */
  private checkpointIntervalMs(): number {
    const b = this.config.batchInterval;
    const every = this.config.stateCheckpointInterval || 10 * b;
    return Math.max(1, Math.ceil(every / b)) * b;
  }

  private stateLog(jobId: string, nodeId: number): StateLog {
    let logs = this.stateLogs.get(jobId);
    if (!logs) this.stateLogs.set(jobId, (logs = new Map()));
    let log = logs.get(nodeId);
    if (!log) logs.set(nodeId, (log = { since: [] }));
    return log;
  }

  /**
   * How partition p of a state rebuilds its previous state when that is lost
   * on every executor: from the last checkpoint (or the initial state when
   * there is none yet) by replaying the values of every batch since. Undefined
   * when the previous state is still kept somewhere; a string when it cannot
   * be rebuilt (some batch's values are lost too).
   */
  private stateRebuild(
    run: BatchRun,
    nodeId: number,
    p: number,
  ): StateRebuild | string | undefined {
    const read = run.plan!.states.get(nodeId);
    if (!read?.previous) return undefined;
    if (this.cachedBlock(run.job.id, nodeId, read.previous.batchTimeMs, p)) return undefined;
    const log = this.stateLog(run.job.id, nodeId);
    const valuesNode = (run.job.graph.node(nodeId) as { parent: number }).parent;
    const planned = run.stateRebuilds.get(`${nodeId}/${p}`);
    if (planned && planned !== 'pending' && !planned.fallback) {
      // Lineage's plan: one task, from the state's nearest materialised
      // ancestor (a checkpoint, or a partition still kept) or from its
      // initial state, through every batch since, reading their values.
      if (planned.unrecoverable) return planned.unrecoverable;
      const slide = run.batchTimeMs - read.previous.batchTimeMs; // the state's slide
      const from = planned.baseBatchTimeMs ?? (log.started ?? read.previous.batchTimeMs) - slide;
      const replay: number[] = [];
      for (let b = from + slide; b < run.batchTimeMs; b += slide) replay.push(b);
      const values: Array<{ batchTimeMs: number; block: CachedBlock }> = [];
      for (const b of planned.valuesBatches) {
        const block = this.cachedBlock(run.job.id, valuesNode, b, p);
        if (!block) return `the values of batch ${b} that lineage planned to replay state node ${nodeId} partition ${p} from are no longer kept`;
        values.push({ batchTimeMs: b, block });
      }
      const base = planned.baseBatchTimeMs;
      if (base === undefined) return { replay, values };
      const kept = this.cachedBlock(run.job.id, nodeId, base, p);
      if (kept) return { previous: kept, replay, values };
      if (log.checkpoint?.batchTimeMs === base) return { checkpoint: { batchTimeMs: base, name: checkpointName(run.job.id, nodeId, base, p) }, replay, values };
      // Lineage named a copy the scheduler has since dropped (its DropLocations still in flight): fall through.
    }
    // Lineage could not be asked: the scheduler's own record of checkpoints and batches since.
    const values: Array<{ batchTimeMs: number; block: CachedBlock }> = [];
    for (const b of log.since) {
      if (b >= run.batchTimeMs) continue;
      const ds = this.cached.get(run.job.id)?.get(`${valuesNode}@${b}`);
      if (!ds) continue; // that batch had no values (a null input): replayed with none
      const block = this.cachedBlock(run.job.id, valuesNode, b, p);
      if (!block) {
        return (
          `the state of node ${nodeId} partition ${p} of batch ${read.previous.batchTimeMs} was lost with every executor holding it, ` +
          `and so were the values of batch ${b} it would be replayed from`
        );
      }
      values.push({ batchTimeMs: b, block });
    }
    const c = log.checkpoint;
    return {
      ...(c ? { checkpoint: { batchTimeMs: c.batchTimeMs, name: checkpointName(run.job.id, nodeId, c.batchTimeMs, p) } } : {}),
      replay: log.since.filter((b) => b < run.batchTimeMs),
      values,
    };
  }

  private cachedOf(jobId: string): Map<string, CachedDataset> {
    let kept = this.cached.get(jobId);
    if (!kept) this.cached.set(jobId, (kept = new Map()));
    return kept;
  }

  /** The cached block a window task reads, or undefined when it is not kept on any live executor. */
  private cachedBlock(jobId: string, nodeId: number, batchTimeMs: number, partition: number): CachedBlock | undefined {
    const b = this.cached.get(jobId)?.get(`${nodeId}@${batchTimeMs}`)?.blocks[partition];
    return b && b.executorIds.some((id) => this.executors.isAlive(id)) ? b : undefined;
  }

  /** A stage's cached inputs of earlier batches are all kept somewhere; else the reason. */
  private missingCachedInput(run: BatchRun, s: StageRun): string | undefined {
    if (run.plan!.windows.size === 0 && run.plan!.states.size === 0) return undefined;
    for (let p = 0; p < s.stage.numPartitions; p++) {
      for (const b of planTask(run.job.graph, run.plan!, s.stage, p).blocks) {
        if (b.batchTimeMs === undefined || b.batchTimeMs === run.batchTimeMs) continue;
        if (b.key === STATE_KEYS.previous) {
          // A lost previous state is rebuilt from its checkpoint, unless the values to replay are lost too.
          const rebuild = this.stateRebuild(run, b.nodeId, b.partition);
          if (typeof rebuild === 'string') return rebuild;
          continue;
        }
        if (!this.cachedBlock(run.job.id, b.nodeId, b.batchTimeMs, b.partition)) {
          return (
            `the cached partition ${b.partition} of node ${b.nodeId} of batch ${b.batchTimeMs}, which a window reads, ` +
            'was lost with every executor holding it; Rivulet does not recompute earlier batches of a window'
          );
        }
      }
    }
    return undefined;
  }

  /** Drop cached datasets no window can reach any more, once batch `t` of the job completed. */
  private releaseCached(job: Job, t: number): void {
    const kept = this.cached.get(job.id);
    if (!kept || kept.size === 0) return;
    const retention = cacheRetention(job.graph, this.config.batchInterval);
    const stateOfValues = new Map(stateNodes(job.graph).map((n) => [n.parent, n.id]));
    const byExecutor = new Map<string, string[]>();
    const dropped: Array<{ jobId: string; batchTimeMs: number; nodeId: number; partition: number; blockId: string }> = [];
    for (const [key, ds] of kept) {
      const stateId = stateOfValues.get(ds.nodeId);
      if (stateId !== undefined) {
        // A state's values are kept until a checkpoint covers their batch.
        const c = this.stateLogs.get(job.id)?.get(stateId)?.checkpoint;
        if (!c || ds.batchTimeMs > c.batchTimeMs) continue;
      } else if (ds.batchTimeMs > t - (retention.get(ds.nodeId) ?? 0)) continue;
      kept.delete(key);
      for (const b of ds.blocks) {
        if (!b) continue;
        this.cachedById.delete(b.blockId);
        dropped.push({ jobId: b.jobId, batchTimeMs: b.batchTimeMs, nodeId: b.nodeId, partition: b.partition, blockId: b.blockId });
        for (const id of b.executorIds) byExecutor.set(id, [...(byExecutor.get(id) ?? []), b.blockId]);
      }
    }
    for (const [id, blockIds] of byExecutor) {
      const e = this.executors.get(id);
      if (e && e.state === 'ALIVE') this.ports.gateway.drop(this.endpoint(e), blockIds, []);
    }
    // Lineage must not take them for live copies when it plans a rebuild.
    if (dropped.length > 0) this.ports.dropCachedPartitions?.(dropped);
  }

  private dropJobCache(job: Job): void {
    const kept = this.cached.get(job.id);
    if (!kept) return;
    this.cached.delete(job.id);
    for (const ds of kept.values()) for (const b of ds.blocks) if (b) this.cachedById.delete(b.blockId);
    for (const e of this.executors.alive()) this.ports.gateway.drop(this.endpoint(e), [], [`rdd/${job.id}:`]);
    if (this.stateLogs.delete(job.id)) this.ports.deleteCheckpoints?.(job.id, undefined, undefined);
  }

  /**
   * A restored job's cached partitions (window inputs, states and their
   * values) and state checkpoints, as lineage recorded them for its batches up
   * to the last completed one; then its batches may run.
   */
  private onCacheRestored(jobId: string, batches: RestoredBatch[]): void {
    const job = this.jobs.find(jobId);
    if (!job || !job.restoring) return;
    const last = job.lastCompletedBatchMs ?? Number.NEGATIVE_INFINITY;
    const kept = this.cachedOf(job.id);
    const wanted = new Set(cachedNodes(job.graph));
    const sorted = [...batches].filter((b) => b.batchTimeMs <= last).sort((a, b) => a.batchTimeMs - b.batchTimeMs);
    let restored = 0;
    for (const b of sorted) {
      for (const ds of b.datasets) {
        if (!wanted.has(ds.nodeId)) continue;
        const blocks = new Array<CachedBlock | undefined>(ds.numPartitions).fill(undefined);
        for (const loc of b.locations) {
          if (loc.kind !== 'PARTITION' || loc.nodeId !== ds.nodeId || loc.partition >= ds.numPartitions) continue;
          const block: CachedBlock = {
            jobId: job.id,
            batchTimeMs: b.batchTimeMs,
            nodeId: ds.nodeId,
            partition: loc.partition,
            blockId: loc.blockId,
            records: 0,
            executorIds: [...loc.executorIds],
          };
          blocks[loc.partition] = block;
          this.cachedById.set(block.blockId, block);
          restored++;
        }
        kept.set(`${ds.nodeId}@${b.batchTimeMs}`, { nodeId: ds.nodeId, batchTimeMs: b.batchTimeMs, blocks });
      }
    }
    // Each state's last complete checkpoint and the batches it went through since.
    for (const node of stateNodes(job.graph)) {
      const log = this.stateLog(job.id, node.id);
      for (const b of sorted) {
        const ds = b.datasets.find((d) => d.nodeId === node.id);
        if (!ds) continue;
        log.started ??= b.batchTimeMs;
        const covered = new Set(b.locations.filter((l) => l.kind === 'CHECKPOINT' && l.nodeId === node.id).map((l) => l.partition));
        if (ds.numPartitions > 0 && covered.size === ds.numPartitions) {
          log.checkpoint = { batchTimeMs: b.batchTimeMs, numPartitions: ds.numPartitions };
          log.since = [];
        } else log.since.push(b.batchTimeMs);
      }
    }
    // What no window or state reaches any more goes, as after a batch.
    if (job.lastCompletedBatchMs !== undefined) this.releaseCached(job, job.lastCompletedBatchMs);
    job.restoring = false;
    this.log.warn({ jobId, batches: sorted.length, cachedPartitions: restored }, 'restored job has its cached partitions back from lineage');
    this.startReadyBatches();
    this.schedule();
  }

  /** After a batch: its states were computed; a checkpoint batch makes the new replay base. */
  private advanceStateLogs(run: BatchRun): void {
    for (const [nodeId, read] of run.plan!.states) {
      const log = this.stateLog(run.job.id, nodeId);
      log.started ??= run.batchTimeMs;
      if (!read.checkpoint) {
        log.since.push(run.batchTimeMs);
        continue;
      }
      log.checkpoint = { batchTimeMs: run.batchTimeMs, numPartitions: read.numPartitions };
      log.since = [];
      this.ports.deleteCheckpoints?.(run.job.id, nodeId, run.batchTimeMs);
    }
  }

  /** Keep a second copy of a cached partition, so that it survives the loss of one executor. */
  private replicateCached(block: CachedBlock): void {
    const holder = this.executors.get(block.executorIds[0]!);
    if (!holder || holder.state !== 'ALIVE') return;
    const target = this.executors
      .alive()
      .filter((e) => !block.executorIds.includes(e.id))
      .sort((a, b) => a.lastReport.blockCount - b.lastReport.blockCount)[0];
    if (!target) return;
    const epoch = target.epoch;
    this.ports.gateway.replicate(this.endpoint(target), [{ blockId: block.blockId, records: block.records, source: this.endpoint(holder) }]).then(
      () => this.post({ type: 'blocksReplicated', executorId: target.id, epoch, blockIds: [block.blockId] }),
      (err) => this.log.debug({ err: errorMessage(err), blockId: block.blockId }, 'cached partition replication failed'),
    );
  }

  private registerWithLineage(run: BatchRun): void {
    this.telemetry.inBatch(run, () => this.ports.registerBatch(run)).then(
      () => this.post({ type: 'batchRegistered', run }),
      (err) => this.post({ type: 'batchRegisterFailed', run, error: errorMessage(err) }),
    );
  }

  private onBatchRegistered(run: BatchRun): void {
    if (run.state !== 'REGISTERING') return;
    run.state = 'RUNNING';
    this.advance(run);
    this.schedule();
  }

  private onBatchRegisterFailed(run: BatchRun, error: string): void {
    if (run.state !== 'REGISTERING') return;
    // Lineage is the write-ahead record of the batch: never run without it.
    this.log.warn({ jobId: run.job.id, batchTimeMs: run.batchTimeMs, error }, 'lineage registration failed; retrying');
    this.clock.setTimeout(() => {
      if (run.state === 'REGISTERING') this.registerWithLineage(run);
    }, 500);
  }

  /** Submit every stage whose parents are complete; complete the batch when all are. */
  private advance(run: BatchRun): void {
    for (;;) {
      let submitted = 0;
      for (const s of run.runnableStages()) {
        // A state whose previous partition is lost everywhere waits for lineage's rebuild plan.
        if (this.awaitStateRebuild(run, s)) continue;
        const missing = this.missingCachedInput(run, s);
        if (missing) return this.failBatch(run, missing);
        this.submitStage(run, s);
        submitted++;
      }
      if (submitted === 0) break;
    }
    if (run.state === 'RUNNING' && run.allComplete()) this.completeBatch(run);
  }

  /**
   * For a state's persist stage: ask lineage (PlanRebuild) how to rebuild
   * every previous-state partition lost on every executor, once per batch.
   * True while an answer is awaited (the stage is not submitted yet; the
   * answer runs `advance` again).
   */
  private awaitStateRebuild(run: BatchRun, s: StageRun): boolean {
    if (s.stage.kind !== 'persist') return false;
    const nodeId = s.stage.persistNode!;
    const prev = run.plan!.states.get(nodeId)?.previous;
    if (!prev) return false;
    const lost: number[] = [];
    let pending = false;
    for (let p = 0; p < s.stage.numPartitions; p++) {
      if (this.cachedBlock(run.job.id, nodeId, prev.batchTimeMs, p)) continue;
      const known = run.stateRebuilds.get(`${nodeId}/${p}`);
      if (known === undefined) lost.push(p);
      else if (known === 'pending') pending = true;
    }
    if (lost.length === 0) return pending;
    const plan = this.ports.planRebuild;
    if (!plan) {
      for (const p of lost) run.stateRebuilds.set(`${nodeId}/${p}`, { valuesBatches: [], fallback: true });
      return pending;
    }
    for (const p of lost) run.stateRebuilds.set(`${nodeId}/${p}`, 'pending');
    const jobId = run.job.id;
    const valuesNode = (run.job.graph.node(nodeId) as { parent: number }).parent;
    this.log.info({ jobId, batchTimeMs: run.batchTimeMs, nodeId, partitions: lost }, 'state partitions lost on every executor; asking lineage how to rebuild them');
    plan(lost.map((partition) => ({ jobId, batchTimeMs: prev.batchTimeMs, nodeId, partition }))).then(
      (answer) => {
        const plans = new Map<number, LineageRebuild>();
        for (const p of lost) {
          const is = (t: { batchTimeMs: number; nodeId: number; partition: number }) => t.batchTimeMs === prev.batchTimeMs && t.nodeId === nodeId && t.partition === p;
          const task = answer.tasks.find((t) => is(t.target));
          if (answer.unrecoverable.some(is) || (!task && answer.unrecoverable.length > 0)) {
            plans.set(p, {
              valuesBatches: [],
              unrecoverable:
                `the state of node ${nodeId} partition ${p} of batch ${prev.batchTimeMs} was lost with every executor holding it, and lineage ` +
                `cannot rebuild it: ${answer.unrecoverable.map((u) => `node ${u.nodeId} partition ${u.partition} of batch ${u.batchTimeMs}`).join(', ')} ` +
                'is gone everywhere too',
            });
          } else if (!task) {
            // Lineage still sees a copy (it has not processed the loss yet): use the scheduler's own record.
            plans.set(p, { valuesBatches: [], fallback: true });
          } else {
            const bases = task.reads.filter((r) => r.nodeId === nodeId && r.partition === p).map((r) => r.batchTimeMs);
            plans.set(p, {
              ...(bases.length > 0 ? { baseBatchTimeMs: Math.max(...bases) } : {}),
              valuesBatches: task.reads.filter((r) => r.nodeId === valuesNode && r.partition === p).map((r) => r.batchTimeMs).sort((a, b) => a - b),
            });
          }
        }
        this.post({ type: 'stateRebuildPlanned', run, nodeId, plans });
      },
      (err) => {
        this.log.warn({ jobId, nodeId, err: errorMessage(err) }, 'lineage PlanRebuild failed; rebuilding the state from the scheduler’s own record');
        this.post({ type: 'stateRebuildPlanned', run, nodeId, plans: new Map(lost.map((p) => [p, { valuesBatches: [], fallback: true }])) });
      },
    );
    return true;
  }

  private onStateRebuildPlanned(run: BatchRun, nodeId: number, plans: Map<number, LineageRebuild>): void {
    if (run.state !== 'RUNNING') return;
    for (const [p, plan] of plans) run.stateRebuilds.set(`${nodeId}/${p}`, plan);
    const failed = [...plans.values()].find((p) => p.unrecoverable);
    if (failed) return this.failBatch(run, failed.unrecoverable!);
    this.advance(run);
    this.schedule();
  }

  private submitStage(run: BatchRun, s: StageRun): void {
    s.submitted = true;
    this.telemetry.stageSubmitted(run, s);
    const now = this.clock.now();
    for (let p = 0; p < s.stage.numPartitions; p++) {
      if (s.done.has(p) || s.inFlight.has(p)) continue;
      s.inFlight.add(p);
      this.pending.push({
        run,
        stageRun: s,
        partition: p,
        taskId: `${run.job.id}/${run.batchTimeMs}/${s.stage.id}/${p}`,
        attempt: 0,
        failures: 0,
        lostAttempts: 0,
        speculative: false,
        recovery: s.resubmissions > 0,
        preferred: this.preferredExecutors(run, s, p),
        excluded: new Set(),
        readySinceMs: now,
      });
    }
  }

  private preferredExecutors(run: BatchRun, s: StageRun, partition: number): string[] {
    const prefs = new Set<string>();
    for (const { nodeId, partition: p, batchTimeMs } of planTask(run.job.graph, run.plan!, s.stage, partition).blocks) {
      if (batchTimeMs !== undefined) {
        for (const id of this.cachedBlock(run.job.id, nodeId, batchTimeMs, p)?.executorIds ?? []) prefs.add(id);
        continue;
      }
      const node = run.job.graph.node(nodeId);
      if (node.kind !== 'source') continue;
      const block = run.inputs.get(sourceInputKey(node))?.[p];
      for (const id of block?.executorIds ?? []) prefs.add(id);
    }
    return [...prefs];
  }

  private completeBatch(run: BatchRun): void {
    const job = run.job;
    this.telemetry.outputsCommitting(run);
    for (const s of run.stages) {
      if (s.stage.kind !== 'result') continue;
      const outNode = job.graph.node(s.stage.outputNode!) as OutputNode;
      const parts = [...Array(s.stage.numPartitions).keys()].map((p) => s.results.get(p)!);
      const payload = Buffer.concat(parts.map((r) => r.payload));
      const count = parts.reduce((n, r) => n + r.count, 0);
      if (outNode.op === 'foreachBatch') {
        // Spark's foreachRDD: user code on the scheduler, in output order; a throw fails the batch.
        const error = this.runForeachBatch(run, outNode, payload);
        if (error) return this.failBatch(run, error);
        continue;
      }
      const batch = { batchTimeMs: run.batchTimeMs, count, payload };
      if (this.outputs.commit(job.id, outNode.name, batch)) run.commits.push({ output: outNode.name, batch });
      if (outNode.op === 'print') this.printBatch(run, outNode, payload);
    }
    this.telemetry.outputsCommitted(run);
    run.state = 'COMPLETED';
    run.completedAtMs = this.clock.now();
    job.batchesCompleted++;
    job.recordsProcessed += run.inputRecords;
    job.lastCompletedBatchMs = run.batchTimeMs;
    const timings = this.timings(run);
    this.log.info({ jobId: job.id, batchTimeMs: run.batchTimeMs, records: run.inputRecords, ...timings }, 'batch completed');
    this.telemetry.inBatch(run, () =>
      this.ports.publishBatchCompleted({
        jobId: job.id,
        batchTimeMs: run.batchTimeMs,
        state: 'COMPLETED',
        inputRecords: run.inputRecords,
        tasks: run.tasksLaunched,
        ...timings,
      }),
    );
    this.advanceStateLogs(run);
    this.finishRun(run);
    this.drivenBatchCompleted(run);
  }

  /** Run a foreachBatch function; returns the batch's failure message when it throws. */
  private runForeachBatch(run: BatchRun, node: OutputNode, payload: Buffer): string | undefined {
    try {
      const ret = node.fn!(unpackRecords(payload), run.batchTimeMs) as { then?: unknown } | undefined;
      if (ret && typeof ret.then === 'function') {
        // Not awaited (see DStream.foreachBatch); never let a rejection go unhandled.
        (ret as Promise<unknown>).then(undefined, (err: unknown) =>
          this.log.error({ jobId: run.job.id, batchTimeMs: run.batchTimeMs, output: node.name, err: errorMessage(err) }, 'foreachBatch promise rejected'),
        );
      }
      return undefined;
    } catch (err) {
      const e = err as Error;
      return `foreachBatch function (node ${node.id}) threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(err)}`;
    }
  }

  private printBatch(run: BatchRun, node: OutputNode, payload: Buffer): void {
    const records = unpackRecords(payload);
    const shown = records.slice(0, node.printLimit ?? 10).map((r) => JSON.stringify(r));
    if (records.length > shown.length) shown.push('...');
    this.log.info({ jobId: run.job.id, output: node.name }, `Time: ${run.batchTimeMs} ms\n${shown.join('\n')}`);
  }

  private timings(run: BatchRun): { schedulingDelayMs: number; processingTimeMs: number; totalDelayMs: number } {
    const start = run.firstLaunchAtMs ?? run.startedAtMs ?? run.batchTimeMs;
    const end = run.completedAtMs ?? this.clock.now();
    return {
      schedulingDelayMs: Math.max(0, start - run.batchTimeMs),
      processingTimeMs: Math.max(0, end - start),
      totalDelayMs: Math.max(0, end - run.batchTimeMs),
    };
  }

  /** Remove a finished run from its job's queue, release its data, start the next batch. */
  private finishRun(run: BatchRun): void {
    this.telemetry.batchFinished(run, this.timings(run));
    const queue = this.batchesByJob.get(run.job.id)!;
    const i = queue.indexOf(run);
    if (i >= 0) queue.splice(i, 1);
    const hist = this.history.get(run.job.id)!;
    hist.push(run);
    if (hist.length > HISTORY) hist.shift();
    // A journaled batch counts as completed once its outputs are durable and the journal says so.
    let journalWrite: Promise<void> | undefined;
    if (run.state === 'COMPLETED' && run.job.journaled && this.ports.journalJob) {
      const record = this.jobRecord(run.job);
      const journalJob = this.ports.journalJob;
      const durable = this.ports.persistOutputs?.(run.job.id, run.commits) ?? Promise.resolve();
      journalWrite = durable.then(
        () => journalJob(record),
        (err) => {
          this.log.error(
            { jobId: run.job.id, batchTimeMs: run.batchTimeMs, err: errorMessage(err) },
            'committed outputs could not be stored durably; a scheduler restart would not replay this batch',
          );
          return journalJob(record);
        },
      );
    }
    if (journalWrite) {
      // What the batch read is dropped only once the journal says it completed:
      // a scheduler restarted before that re-runs the batch and needs it all.
      const after = () => this.post({ type: 'batchJournaled', run });
      journalWrite.then(after, after);
    } else this.releaseBatchData(run);
    if (run.job.state === 'RUNNING') this.startReadyBatches();
  }

  /** Drop what a finished batch read (its inputs, shuffles, and cached data nothing reaches any more) and tell lineage. */
  private releaseBatchData(run: BatchRun): void {
    if (run.state === 'COMPLETED') this.releaseCached(run.job, run.batchTimeMs);
    // Shuffle buckets of this batch are no longer needed anywhere.
    for (const e of this.executors.alive()) this.ports.gateway.drop(this.endpoint(e), [], [`shuffle/${run.job.id}:${run.batchTimeMs}:`]);
    // Input blocks go once every job reading them is done with this batch.
    for (const stream of run.job.graph.streams) {
      const key = this.inputKey(stream, run.batchTimeMs);
      const ref = this.inputRefs.get(key);
      if (!ref) continue;
      ref.jobs.delete(run.job.id);
      if (ref.jobs.size > 0) continue;
      this.inputRefs.delete(key);
      this.readyInputs.delete(key);
      const byExecutor = new Map<string, string[]>();
      for (const b of ref.blocks) for (const id of b.executorIds) byExecutor.set(id, [...(byExecutor.get(id) ?? []), b.blockId]);
      for (const [id, blockIds] of byExecutor) {
        const e = this.executors.get(id);
        if (e && e.state === 'ALIVE') this.ports.gateway.drop(this.endpoint(e), blockIds, []);
      }
    }
    // Lineage keeps the batches whose cached datasets a window can still reach.
    let keepFrom = run.batchTimeMs;
    for (const ds of this.cached.get(run.job.id)?.values() ?? []) keepFrom = Math.min(keepFrom, ds.batchTimeMs);
    // ...and the checkpoints a state's lineage now ends at.
    for (const log of this.stateLogs.get(run.job.id)?.values() ?? []) {
      if (log.checkpoint) keepFrom = Math.min(keepFrom, log.checkpoint.batchTimeMs);
    }
    this.ports.forgetBatches(run.job.id, keepFrom);
  }

  private failJob(job: Job, error: string): void {
    if (job.state !== 'RUNNING') return;
    this.jobs.transition(job, 'FAILED', error);
    this.journal(job);
    if (job.journaled) this.ports.purgeOutputs?.(job.id);
    this.abandonBatches(job, error);
    this.dropJobCache(job);
    this.outputs.endJob(job.id, false, `job ${job.id} failed: ${error}`);
    this.publishStreams();
  }

  private failBatch(run: BatchRun, error: string): void {
    if (run.state === 'COMPLETED' || run.state === 'FAILED') return;
    const message = `batch ${new Date(run.batchTimeMs).toISOString()} failed: ${error}`;
    this.log.error({ jobId: run.job.id, batchTimeMs: run.batchTimeMs }, message);
    this.failJob(run.job, message);
  }

  /** Drop every queued/running batch of a job (stop or failure). */
  private abandonBatches(job: Job, reason: string): void {
    const queue = [...(this.batchesByJob.get(job.id) ?? [])];
    for (const run of queue) {
      const wasStarted = run.state === 'RUNNING' || run.state === 'REGISTERING';
      run.state = 'FAILED';
      run.error = reason;
      run.completedAtMs = this.clock.now();
      this.pending = this.pending.filter((t) => t.run !== run);
      for (const [key, t] of this.running) {
        if (t.run !== run) continue;
        this.running.delete(key);
        const e = this.executors.get(t.executorId);
        if (e && e.epoch === t.epoch) {
          e.running = Math.max(0, e.running - 1);
          this.ports.gateway.kill(this.endpoint(e), [{ taskId: t.taskId, attempt: t.attempt }]);
        }
      }
      if (wasStarted) {
        this.ports.publishBatchCompleted({
          jobId: job.id,
          batchTimeMs: run.batchTimeMs,
          state: 'FAILED',
          inputRecords: run.inputRecords,
          tasks: run.tasksLaunched,
          error: reason,
          ...this.timings(run),
        });
      }
      this.finishRun(run);
    }
  }

  // ---------------------------------------------------------------- placement

  private endpoint(e: TrackedExecutor): ExecutorEndpoint {
    return { id: e.id, epoch: e.epoch, address: e.address };
  }

  /**
   * Hand pending tasks to free slots, one slot at a time, so that executors
   * that finish faster receive more work. Delay scheduling: a task whose input
   * is on a busy executor waits up to localityWait for a slot there before
   * running NODE_LOCAL, then ANY.
   */
  private schedule(): void {
    if (this.pending.length === 0) return;
    const now = this.clock.now();
    const alive = this.executors.alive();
    if (alive.length === 0) return;
    const launches = new Map<string, { exec: TrackedExecutor; tasks: RunningTask[] }>();
    let nextDeadline = Infinity;
    const remaining: PendingTask[] = [];
    // Recovery and speculative copies go ahead of new work (stable order otherwise).
    this.pending.sort((a, b) => Number(b.recovery || b.speculative) - Number(a.recovery || a.speculative));
    for (const t of this.pending) {
      if (t.run.state !== 'RUNNING') continue;
      if (!this.inputsReady(t)) {
        // A retry or speculative copy of a task whose shuffle input is being
        // recomputed (an executor holding map outputs was lost): launched now,
        // it would read only the map outputs still there and silently miss
        // the rest. It waits until the map side is complete again.
        remaining.push(t);
        continue;
      }
      const placed = this.place(t, alive, now);
      if (placed === 'wait') {
        nextDeadline = Math.min(nextDeadline, t.readySinceMs + this.config.localityWait);
        remaining.push(t);
        continue;
      }
      if (!placed) {
        remaining.push(t);
        continue;
      }
      const [exec, locality] = placed;
      exec.running++;
      t.attempt = t.run.nextAttempt(t.taskId);
      if (t.speculative) t.run.speculativeTasks++;
      if (t.recovery) t.run.recoveryTasks++;
      const rt: RunningTask = { ...t, executorId: exec.id, epoch: exec.epoch, launchedAtMs: now, locality };
      this.running.set(this.attemptKey(t.taskId, t.attempt), rt);
      t.run.tasksLaunched++;
      this.telemetry.taskLaunched(locality, t.preferred.length > 0, t.speculative);
      t.run.firstLaunchAtMs ??= now;
      if (t.preferred.length > 0) t.run.locality[locality]++;
      const l = launches.get(exec.id) ?? { exec, tasks: [] };
      l.tasks.push(rt);
      launches.set(exec.id, l);
    }
    this.pending = remaining;
    if (Number.isFinite(nextDeadline)) {
      if (this.localityTimer) this.clock.clearTimeout(this.localityTimer);
      this.localityTimerArmed = true;
      this.localityTimer = this.clock.setTimeout(() => {
        this.localityTimerArmed = false;
        this.post({ type: 'reschedule' });
      }, Math.max(1, nextDeadline - now));
    }
    for (const { exec, tasks } of launches.values()) {
      // Tasks of one executor in one round may belong to several jobs.
      const byJob = new Map<Job, RunningTask[]>();
      for (const t of tasks) byJob.set(t.run.job, [...(byJob.get(t.run.job) ?? []), t]);
      for (const [job, jobTasks] of byJob) {
        const specs = jobTasks.map((t) => this.taskSpec(t));
        const epoch = exec.epoch;
        // One job has one batch running: the RunTasks call belongs to that batch's trace.
        this.telemetry.inBatch(jobTasks[0]!.run, () =>
          this.ports.gateway.launch(this.endpoint(exec), { jobId: job.id, bundle: job.bundle, bundleHash: job.bundleHash }, specs, {
            onResult: (result) => this.post({ type: 'taskResult', result }),
            onLost: (taskIds, error, unreachable) =>
              this.post({ type: 'tasksLost', executorId: exec.id, epoch, taskIds, error, unreachable }),
          }),
        );
      }
    }
  }

  /** Every stage whose output the task reads (shuffle map sides, persisted datasets) is complete. */
  private inputsReady(t: PendingTask): boolean {
    return t.stageRun.stage.parentStages.every((p) => t.run.stageComplete(t.run.stages[p]!));
  }

  private place(t: PendingTask, alive: TrackedExecutor[], now: number): [TrackedExecutor, Locality] | 'wait' | undefined {
    const usable = alive.filter((e) => !t.excluded.has(e.id));
    // If every executor is excluded, retrying somewhere beats never retrying.
    const candidates = usable.length > 0 ? usable : alive;
    const free = candidates.filter((e) => this.executors.freeSlots(e) > 0);
    const mostFree = (list: TrackedExecutor[]) =>
      list.reduce<TrackedExecutor | undefined>((best, e) => (!best || this.executors.freeSlots(e) > this.executors.freeSlots(best) ? e : best), undefined);
    if (t.preferred.length > 0) {
      const local = free.filter((e) => t.preferred.includes(e.id));
      if (local.length > 0) return [mostFree(local)!, 'PROCESS_LOCAL'];
      const preferredAlive = candidates.some((e) => t.preferred.includes(e.id));
      if (preferredAlive && now - t.readySinceMs < this.config.localityWait) return 'wait';
      const hosts = new Set(candidates.filter((e) => t.preferred.includes(e.id)).map((e) => e.host));
      const nodeLocal = free.filter((e) => hosts.has(e.host));
      if (nodeLocal.length > 0) return [mostFree(nodeLocal)!, 'NODE_LOCAL'];
    }
    const any = mostFree(free);
    return any ? [any, 'ANY'] : undefined;
  }

  /**
   * `<job>:<batch>:<shuffle node>:<this scheduler's incarnation>`: a batch
   * re-run by a restarted scheduler may cut its map side differently (its
   * blocks listed in another order), so the buckets an earlier incarnation's
   * map tasks left on the executors must never be taken for this run's. The
   * `shuffle/<job>:<batch>:` prefix still covers them all for DropBlocks.
   */
  shuffleId(jobId: string, batchTimeMs: number, shuffleNode: number): string {
    return `${jobId}:${batchTimeMs}:${shuffleNode}:${this.incarnation}`;
  }

  private attemptKey(taskId: string, attempt: number): string {
    return `${taskId}#${attempt}`;
  }

  private taskSpec(t: RunningTask): TaskSpec {
    const run = t.run;
    const job = run.job;
    const stage = t.stageRun.stage;
    const T = run.batchTimeMs;
    const ref = (nodeId: number) => ({ jobId: job.id, batchTimeMs: T, nodeId });
    const execRef = (id: string) => {
      const e = this.executors.get(id);
      return e ? { executorId: e.id, address: e.address, epoch: e.epoch } : undefined;
    };
    // What this task computes and reads (union offsets, cogroup sides): the planner decides.
    const tp = planTask(job.graph, run.plan!, stage, t.partition);
    const blocks = tp.blocks.map(({ nodeId: src, partition, batchTimeMs, key }) => {
      if (batchTimeMs !== undefined) {
        // A cached partition (a window's input), possibly of an earlier batch.
        const cached = this.cachedBlock(job.id, src, batchTimeMs, partition);
        return {
          dataset: { jobId: job.id, batchTimeMs, nodeId: src },
          partition,
          blockId: cached?.blockId ?? cachedBlockId(job.id, batchTimeMs, src, partition, this.incarnation),
          locations: (cached?.executorIds ?? [])
            .filter((id) => this.executors.isAlive(id))
            .map(execRef)
            .filter((x) => x !== undefined),
          inputKey: key ?? '',
        };
      }
      const node = job.graph.node(src);
      const block = node.kind === 'source' ? run.inputs.get(sourceInputKey(node))?.[partition] : undefined;
      if (!block) throw new Error(`no input block for node ${src} partition ${partition}`);
      return {
        dataset: ref(src),
        partition,
        blockId: block.blockId,
        locations: block.executorIds
          .filter((id) => this.executors.isAlive(id))
          .map(execRef)
          .filter((x) => x !== undefined),
      };
    });
    const shuffles = tp.shuffles.map(({ nodeId: shuffleNode, reducePartition }) => {
      const mapStage = run.stages.find((s) => s.stage.shuffleNode === shuffleNode)!;
      if (mapStage.mapOutputs.size !== mapStage.stage.numPartitions) {
        // schedule() holds such tasks back (inputsReady); reaching here would lose records silently.
        this.log.error(
          { taskId: t.taskId, shuffleNode, mapOutputs: mapStage.mapOutputs.size, mapPartitions: mapStage.stage.numPartitions },
          'launching a reduce task without every map output',
        );
      }
      return {
        dataset: ref(shuffleNode),
        reducePartition,
        shuffleId: this.shuffleId(job.id, T, shuffleNode),
        // In map-partition order, so reduce-side value order is deterministic across recomputations.
        mapOutputs: [...mapStage.mapOutputs]
          .sort(([a], [b]) => a - b)
          .map(([m, out]) => ({
            mapPartition: m,
            executor: { executorId: out.executorId, address: out.address, epoch: out.epoch },
          })),
      };
    });
    const spec: TaskSpec = {
      taskId: t.taskId,
      jobId: job.id,
      bundleHash: job.bundleHash,
      batchTimeMs: T,
      stageId: stage.id,
      partition: tp.partition,
      attempt: t.attempt,
      epoch: t.epoch,
      dataset: ref(tp.nodeId),
      blocks,
      shuffles,
      nodePartitions: run.plan!.partitions,
      locality: t.locality,
      speculative: t.speculative,
      traceContext: this.telemetry.taskContext(run, t.stageRun),
    };
    if (stage.kind === 'shuffleMap') {
      spec.shuffleWrite = {
        shuffleId: this.shuffleId(job.id, T, stage.shuffleNode!),
        dataset: ref(stage.shuffleNode!),
        numPartitions: run.plan!.partitions[stage.shuffleNode!]!,
        mapPartitionOffset: tp.mapPartitionOffset,
      };
    } else if (stage.kind === 'persist') {
      const state = run.plan!.states.get(stage.persistNode!);
      spec.cache = {
        blockId: cachedBlockId(job.id, T, stage.persistNode!, tp.partition, this.incarnation),
        ...(state?.checkpoint ? { checkpoint: checkpointName(job.id, stage.persistNode!, T, tp.partition) } : {}),
      };
      const rebuild = state ? this.stateRebuild(run, stage.persistNode!, tp.partition) : undefined;
      if (rebuild && typeof rebuild !== 'string') {
        // The previous state is lost everywhere: start from the checkpoint and replay.
        spec.blocks = blocks.filter((b) => b.inputKey !== STATE_KEYS.previous);
        if (rebuild.previous) {
          const kept = rebuild.previous;
          spec.blocks.push({
            dataset: { jobId: job.id, batchTimeMs: kept.batchTimeMs, nodeId: kept.nodeId },
            partition: tp.partition,
            blockId: kept.blockId,
            locations: kept.executorIds
              .filter((id) => this.executors.isAlive(id))
              .map(execRef)
              .filter((x) => x !== undefined),
            inputKey: STATE_KEYS.previous,
          });
        }
        if (rebuild.checkpoint) {
          spec.blocks.push({
            dataset: { jobId: job.id, batchTimeMs: rebuild.checkpoint.batchTimeMs, nodeId: stage.persistNode! },
            partition: tp.partition,
            blockId: rebuild.checkpoint.name,
            locations: [],
            inputKey: STATE_KEYS.checkpoint,
            checkpoint: rebuild.checkpoint.name,
          });
        }
        for (const v of rebuild.values) {
          spec.blocks.push({
            dataset: { jobId: job.id, batchTimeMs: v.batchTimeMs, nodeId: v.block.nodeId },
            partition: tp.partition,
            blockId: v.block.blockId,
            locations: v.block.executorIds
              .filter((id) => this.executors.isAlive(id))
              .map(execRef)
              .filter((x) => x !== undefined),
            inputKey: STATE_KEYS.replay(v.batchTimeMs),
          });
        }
        spec.stateReplay = rebuild.replay;
        this.log.warn(
          {
            jobId: job.id,
            batchTimeMs: T,
            nodeId: stage.persistNode,
            partition: tp.partition,
            checkpoint: rebuild.checkpoint?.batchTimeMs,
            from: rebuild.previous?.batchTimeMs,
            replay: rebuild.replay.length,
            planned: plannedBy(run.stateRebuilds.get(`${stage.persistNode}/${tp.partition}`)),
          },
          'rebuilding a lost state partition',
        );
      }
    } else {
      spec.result = { output: (job.graph.node(stage.outputNode!) as OutputNode).name };
    }
    return spec;
  }

  // ---------------------------------------------------------------- results

  private onTaskResult(r: TaskResult__Output): void {
    const key = this.attemptKey(r.taskId, r.attempt);
    const t = this.running.get(key);
    if (!t) return; // late result of an abandoned/killed attempt
    if (t.executorId !== r.executorId || t.epoch !== Number(r.epoch)) return; // fenced: another incarnation
    this.running.delete(key);
    const exec = this.executors.get(t.executorId);
    if (exec && exec.epoch === t.epoch) exec.running = Math.max(0, exec.running - 1);
    const run = t.run;
    const s = t.stageRun;
    if (run.state !== 'RUNNING') return this.schedule();

    if (r.state === 'SUCCEEDED') {
      if (exec) exec.tasksCompleted++;
      s.inFlight.delete(t.partition);
      this.cancelOtherAttempts(t);
      if (!s.done.has(t.partition)) {
        s.done.add(t.partition);
        s.durations.push(this.clock.now() - t.launchedAtMs);
        if (s.stage.kind === 'shuffleMap') {
          const bucketBytes = r.bucketBytes.map(Number);
          s.mapOutputs.set(t.partition, { executorId: t.executorId, epoch: t.epoch, address: exec?.address ?? '', bucketBytes });
          this.ports.recordMapOutput(run, s, t.partition, t.executorId, bucketBytes.reduce((a, b) => a + b, 0));
        } else if (s.stage.kind === 'persist') {
          s.mapOutputs.set(t.partition, { executorId: t.executorId, epoch: t.epoch, address: exec?.address ?? '', bucketBytes: [] });
          const ds = this.cached.get(run.job.id)?.get(`${s.stage.persistNode}@${run.batchTimeMs}`);
          if (ds) {
            const blockId = cachedBlockId(run.job.id, run.batchTimeMs, s.stage.persistNode!, t.partition, this.incarnation);
            const old = ds.blocks[t.partition];
            if (old) this.cachedById.delete(old.blockId);
            const block: CachedBlock = {
              jobId: run.job.id,
              batchTimeMs: run.batchTimeMs,
              nodeId: s.stage.persistNode!,
              partition: t.partition,
              blockId,
              records: r.records?.count ?? 0,
              executorIds: [t.executorId],
            };
            ds.blocks[t.partition] = block;
            this.cachedById.set(blockId, block);
            this.ports.recordCachedPartition?.(
              { jobId: block.jobId, batchTimeMs: block.batchTimeMs, nodeId: block.nodeId },
              block.partition,
              blockId,
              t.executorId,
              Number(r.metrics?.bytesOut ?? 0),
            );
            if (run.plan!.states.get(block.nodeId)?.checkpoint) {
              this.ports.recordCheckpoint?.(
                { jobId: block.jobId, batchTimeMs: block.batchTimeMs, nodeId: block.nodeId },
                block.partition,
                checkpointName(block.jobId, block.nodeId, block.batchTimeMs, block.partition),
                Number(r.metrics?.bytesOut ?? 0),
              );
            }
            this.replicateCached(block);
          }
        } else {
          s.results.set(t.partition, { count: r.records?.count ?? 0, payload: Buffer.from(r.records?.payload ?? Buffer.alloc(0)) });
        }
        if (run.stageComplete(s)) {
          this.telemetry.stageCompleted(run, s);
          this.advance(run);
        }
      }
      return this.schedule();
    }

    if (exec) exec.tasksFailed++;
    run.taskFailures++;
    // Another attempt (a speculative copy) is still running: let it decide.
    if (r.state === 'KILLED' || this.otherAttemptRunning(t)) {
      if (r.state === 'KILLED' && !this.otherAttemptRunning(t) && !s.done.has(t.partition)) {
        s.inFlight.delete(t.partition);
        this.requeue(t, t.failures, 'killed');
      }
      return this.schedule();
    }
    s.inFlight.delete(t.partition);
    if (r.fetchFailedExecutorId) {
      // The map outputs on that executor are gone: rerun them, then this task.
      const fetchFailures = (run.fetchFailures.get(t.taskId) ?? 0) + 1;
      run.fetchFailures.set(t.taskId, fetchFailures);
      if (fetchFailures >= this.config.maxTaskAttempts) {
        return this.failBatch(run, `task ${t.taskId} could not fetch its shuffle input ${fetchFailures} times; last error: ${r.error}`);
      }
      this.log.warn({ taskId: t.taskId, from: r.fetchFailedExecutorId }, 'fetch failed; recomputing lost map outputs');
      this.recoverMapOutputs(run, r.fetchFailedExecutorId);
      s.submitted = false;
      this.advance(run);
      return this.schedule();
    }
    const failures = t.failures + 1;
    const error = r.error || r.state;
    this.log.warn({ taskId: t.taskId, attempt: t.attempt, executorId: t.executorId, userError: r.userError, error }, 'task failed');
    if (failures >= this.config.maxTaskAttempts) {
      return this.failBatch(
        run,
        `task ${t.taskId} (stage ${s.stage.id}, partition ${t.partition}) failed ${failures} times; last error: ${error}`,
      );
    }
    this.requeue(t, failures, error);
    this.schedule();
  }

  private requeue(t: RunningTask, failures: number, error: string, lostAttempts = t.lostAttempts): void {
    const excluded = new Set(t.excluded);
    excluded.add(t.executorId);
    t.stageRun.inFlight.add(t.partition);
    this.pending.unshift({
      run: t.run,
      stageRun: t.stageRun,
      partition: t.partition,
      taskId: t.taskId,
      attempt: t.attempt,
      failures,
      lostAttempts,
      speculative: false,
      recovery: t.recovery,
      preferred: t.preferred.filter((id) => this.executors.isAlive(id)),
      excluded,
      readySinceMs: this.clock.now(),
      lastError: error,
    });
  }

  /**
   * A RunTasks call broke before these tasks reported. That is the executor's
   * fault, not the task's (Spark's ExecutorLostFailure does not count toward
   * task failures), so the attempt is retried elsewhere without counting —
   * but bounded separately, so a task that somehow kills every executor it
   * touches still ends. A transport failure also triggers a health probe: a
   * dead executor is declared lost now rather than after missed heartbeats.
   */
  private onTasksLost(executorId: string, epoch: number, taskIds: string[], error: string, unreachable: boolean): void {
    for (const [key, t] of [...this.running]) {
      if (t.executorId !== executorId || t.epoch !== epoch || !taskIds.includes(t.taskId)) continue;
      this.running.delete(key);
      const exec = this.executors.get(executorId);
      if (exec && exec.epoch === epoch) {
        exec.running = Math.max(0, exec.running - 1);
        exec.tasksFailed++;
      }
      if (t.run.state !== 'RUNNING') continue;
      t.run.taskFailures++;
      if (this.otherAttemptRunning(t)) continue;
      t.stageRun.inFlight.delete(t.partition);
      const lost = t.lostAttempts + 1;
      if (lost >= 2 * this.config.maxTaskAttempts) {
        this.failBatch(t.run, `task ${t.taskId} was lost with its executor ${lost} times; last error: ${error}`);
        continue;
      }
      this.requeue(t, t.failures, error, lost);
    }
    const exec = this.executors.get(executorId);
    if (unreachable && exec && exec.epoch === epoch && exec.state === 'ALIVE') {
      this.ports.gateway.probe({ id: exec.id, epoch: exec.epoch, address: exec.address }).then((ok) => {
        if (!ok) this.post({ type: 'executorUnreachable', executorId, epoch });
      });
    }
    this.schedule();
  }

  private otherAttemptRunning(t: RunningTask): boolean {
    for (const r of this.running.values()) if (r.run === t.run && r.taskId === t.taskId && r !== t) return true;
    return false;
  }

  // ---------------------------------------------------------------- speculation

  /**
   * Spark's speculative execution: once `speculationQuantile` of a stage's
   * tasks are done, a task running longer than `speculationMultiplier` × the
   * median of the finished ones (and at least speculationMinRuntime) gets one
   * copy on another executor. The first attempt to succeed wins; the other is
   * killed, and its result — if it still arrives — is ignored, so outputs stay
   * exactly-once.
   */
  private speculate(): void {
    const now = this.clock.now();
    let added = false;
    const byTask = new Map<string, RunningTask[]>();
    for (const r of this.running.values()) {
      const key = `${r.run.key}/${r.taskId}`;
      byTask.set(key, [...(byTask.get(key) ?? []), r]);
    }
    for (const attempts of byTask.values()) {
      if (attempts.length !== 1) continue; // already has a copy
      const t = attempts[0]!;
      const s = t.stageRun;
      if (t.run.state !== 'RUNNING' || s.done.has(t.partition) || s.durations.length === 0) continue;
      if (!this.inputsReady(t)) continue; // its map side is being recomputed: schedule() would only hold the copy
      if (s.done.size < this.config.speculationQuantile * s.stage.numPartitions) continue;
      if (this.pending.some((p) => p.run === t.run && p.taskId === t.taskId)) continue;
      const sorted = [...s.durations].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      const threshold = Math.max(this.config.speculationMinRuntime, this.config.speculationMultiplier * median);
      if (now - t.launchedAtMs <= threshold) continue;
      const others = this.executors.alive().filter((e) => e.id !== t.executorId);
      if (others.length === 0) continue;
      this.log.info(
        { taskId: t.taskId, executorId: t.executorId, runningMs: now - t.launchedAtMs, medianMs: median },
        'speculating straggler',
      );
      this.pending.unshift({
        run: t.run,
        stageRun: s,
        partition: t.partition,
        taskId: t.taskId,
        attempt: t.attempt,
        failures: t.failures,
        lostAttempts: t.lostAttempts,
        speculative: true,
        recovery: false,
        preferred: t.preferred.filter((id) => id !== t.executorId && this.executors.isAlive(id)),
        excluded: new Set([...t.excluded, t.executorId]),
        readySinceMs: now - this.config.localityWait, // no locality wait for a copy: time is what it is short of
      });
      added = true;
    }
    if (added) this.schedule();
  }

  /** A partition is done: kill every other attempt of it and drop queued copies. */
  private cancelOtherAttempts(winner: RunningTask): void {
    for (const [key, r] of [...this.running]) {
      if (r.run !== winner.run || r.taskId !== winner.taskId || r === winner) continue;
      this.running.delete(key);
      const e = this.executors.get(r.executorId);
      if (e && e.epoch === r.epoch) {
        e.running = Math.max(0, e.running - 1);
        this.ports.gateway.kill(this.endpoint(e), [{ taskId: r.taskId, attempt: r.attempt }]);
      }
    }
    this.pending = this.pending.filter((p) => !(p.run === winner.run && p.taskId === winner.taskId));
  }

  // ---------------------------------------------------------------- executors

  private onExecutorChanges(changes: ExecutorChange[]): void {
    for (const c of changes) {
      if (c.kind === 'added') {
        this.log.info({ executorId: c.executor.id, epoch: c.executor.epoch, address: c.executor.address, slots: c.executor.slots }, 'executor added');
      } else {
        this.onExecutorLost(c.executor, c.reason);
      }
    }
    if (changes.length > 0) {
      this.startReadyBatches();
      this.schedule();
    }
  }

  private onExecutorLost(e: TrackedExecutor, reason: string): void {
    this.log.warn({ executorId: e.id, epoch: e.epoch, reason }, 'executor lost');
    this.ports.publishExecutorLost({ executorId: e.id, epoch: e.epoch, reason });
    this.ports.gateway.forget(e.id);
    this.ports.removeExecutorFromLineage(e.id);
    // Its running tasks will never report: run them elsewhere (an executor
    // loss is not the task's fault, so it does not count toward its attempts).
    for (const [key, t] of [...this.running]) {
      if (t.executorId !== e.id || t.epoch !== e.epoch) continue;
      this.running.delete(key);
      if (t.run.state !== 'RUNNING') continue;
      t.stageRun.inFlight.delete(t.partition);
      this.requeue(t, t.failures, `executor ${e.id} lost: ${reason}`);
    }
    for (const { block } of this.liveInputBlocks().values()) {
      const i = block.executorIds.indexOf(e.id);
      if (i >= 0) block.executorIds.splice(i, 1);
    }
    for (const block of this.cachedById.values()) {
      const i = block.executorIds.indexOf(e.id);
      if (i < 0) continue;
      block.executorIds.splice(i, 1);
      // Back to two copies when one survives.
      if (block.executorIds.length > 0) this.replicateCached(block);
    }
    for (const queue of this.batchesByJob.values()) {
      for (const run of queue) {
        if (run.state === 'RUNNING') {
          this.recoverMapOutputs(run, e.id);
          this.advance(run);
        }
      }
    }
    for (const t of this.pending) t.preferred = t.preferred.filter((id) => id !== e.id);
    this.reReplicate();
  }

  /** Forget map outputs on `executorId` and make their stages (and readers) run again. */
  private recoverMapOutputs(run: BatchRun, executorId: string): void {
    const affected = run.loseMapOutputs(executorId);
    if (affected.length === 0) return;
    this.telemetry.recoveryStarted(run, executorId, affected);
    const affectedIds = new Set(affected.map((s) => s.stage.id));
    for (const s of affected) {
      s.submitted = false;
      s.resubmissions++;
    }
    // Readers of those shuffles must wait for the map side again.
    for (const child of run.stages) {
      if (!child.stage.parentStages.some((p) => affectedIds.has(p))) continue;
      const waiting = this.pending.filter((t) => t.stageRun === child);
      for (const t of waiting) child.inFlight.delete(t.partition);
      this.pending = this.pending.filter((t) => t.stageRun !== child);
      child.submitted = false;
      child.resubmissions++;
    }
  }

  // ---------------------------------------------------------------- re-replication

  /** Every input block some queued or running batch (or a pending announcement) still needs, by id. */
  private liveInputBlocks(): Map<string, { block: InputBlock; partitions: Array<{ run: BatchRun; nodeId: number; partition: number }> }> {
    const out = new Map<string, { block: InputBlock; partitions: Array<{ run: BatchRun; nodeId: number; partition: number }> }>();
    const note = (block: InputBlock) => {
      const known = out.get(block.blockId);
      if (known) return known;
      const entry = { block, partitions: [] as Array<{ run: BatchRun; nodeId: number; partition: number }> };
      out.set(block.blockId, entry);
      return entry;
    };
    for (const blocks of this.readyInputs.values()) for (const b of blocks) note(b);
    for (const queue of this.batchesByJob.values()) {
      for (const run of queue) {
        for (const src of run.job.graph.sources) {
          (run.inputs.get(src.stream) ?? []).forEach((b, partition) => note(b).partitions.push({ run, nodeId: src.id, partition }));
        }
      }
    }
    return out;
  }

  /**
   * After a loss, bring every input block that still has a replica back to
   * `replication` copies, spreading the copies over the executors holding
   * the fewest blocks. A block with no replica left is reported: its records
   * cannot be recomputed (two failures inside the replication window).
   */
  private reReplicate(): void {
    const alive = this.executors.alive();
    const load = new Map(alive.map((e) => [e.id, e.lastReport.blockCount]));
    const plans = new Map<string, Array<{ blockId: string; records: number; source: ExecutorEndpoint }>>();
    for (const { block } of this.liveInputBlocks().values()) {
      const holders = block.executorIds.filter((id) => this.executors.isAlive(id));
      if (holders.length === 0) {
        this.log.error({ blockId: block.blockId }, 'input block lost on every replica; batches reading it will fail');
        continue;
      }
      if (holders.length >= this.config.replication) continue;
      const target = alive
        .filter((e) => !holders.includes(e.id))
        .sort((a, b) => (load.get(a.id) ?? 0) - (load.get(b.id) ?? 0))[0];
      if (!target) continue;
      load.set(target.id, (load.get(target.id) ?? 0) + 1);
      const source = this.executors.get(holders[0]!)!;
      plans.set(target.id, [...(plans.get(target.id) ?? []), { blockId: block.blockId, records: block.records, source: this.endpoint(source) }]);
    }
    for (const [targetId, copies] of plans) {
      const target = this.executors.get(targetId)!;
      const epoch = target.epoch;
      this.log.info({ executorId: targetId, blocks: copies.length }, 're-replicating input blocks');
      this.ports.gateway.replicate(this.endpoint(target), copies).then(
        () => this.post({ type: 'blocksReplicated', executorId: targetId, epoch, blockIds: copies.map((c) => c.blockId) }),
        (err) => this.log.warn({ err: errorMessage(err), executorId: targetId }, 're-replication failed'),
      );
    }
  }

  private onBlocksReplicated(executorId: string, epoch: number, blockIds: string[]): void {
    if (!this.executors.isAlive(executorId, epoch)) return;
    const live = this.liveInputBlocks();
    const lineageRefs: Array<{ jobId: string; batchTimeMs: number; nodeId: number; partition: number; blockId: string }> = [];
    const released: string[] = [];
    for (const id of blockIds) {
      const cached = this.cachedById.get(id);
      if (cached && !cached.executorIds.includes(executorId)) {
        cached.executorIds.push(executorId);
        this.ports.recordCachedPartition?.(
          { jobId: cached.jobId, batchTimeMs: cached.batchTimeMs, nodeId: cached.nodeId },
          cached.partition,
          cached.blockId,
          executorId,
          0,
        );
      }
      // A cached partition released while its copy was in flight: drop the copy too.
      if (!cached && id.startsWith('rdd/')) released.push(id);
      const entry = live.get(id);
      if (!entry) continue;
      if (!entry.block.executorIds.includes(executorId)) entry.block.executorIds.push(executorId);
      for (const p of entry.partitions) {
        if (p.run.state === 'RUNNING' || p.run.state === 'REGISTERING') {
          lineageRefs.push({ jobId: p.run.job.id, batchTimeMs: p.run.batchTimeMs, nodeId: p.nodeId, partition: p.partition, blockId: id });
        }
      }
    }
    if (lineageRefs.length > 0) this.ports.recordReplicas(lineageRefs, executorId);
    if (released.length > 0) this.ports.gateway.drop(this.endpoint(this.executors.get(executorId)!), released, []);
    this.schedule();
  }

  // ---------------------------------------------------------------- test driver (TEST-ONLY)
  //
  // rivulet/testing's runBatches, through the SchedulerTesting service
  // (services/scheduler/test-driver.ts), which only runs with config.testDriver.
  // A driven job is never run by the batch clock; each runDrivenBatch call
  // queues exactly one batch with the queue-stream blocks the caller stored on
  // executors, and that batch then takes the product path (plan, lineage,
  // placement, commit) unchanged.

  /** Submit a job whose batches run only through runDrivenBatch. */
  submitDrivenJob(bundle: string, source: string, name: string): Job {
    const job = this.submitJob(bundle, source, name, false); // test-only: never journaled, never resumed
    if (job.graph.streams.length > 0) {
      this.stopJob(job.id);
      throw new InvalidArgumentError(
        `a driven job reads only queue streams (ctx.queueStream); ${job.name} reads receiver streams ${job.graph.streams.join(', ')}`,
      );
    }
    job.firstBatchTimeMs = Number.POSITIVE_INFINITY; // the batch clock skips it
    job.nextBatchTimeMs = Number.POSITIVE_INFINITY;
    job.zeroTimeMs = 0; // batch i is at i × interval
    const entry: DrivenJob = { lastBatchTimeMs: -Infinity, waiters: new Map() };
    this.driven.set(job.id, entry);
    this.outputs.watch(
      job.id,
      job.graph.outputs[0]!.name,
      {
        send: () => {},
        end: (ok, message) => {
          for (const w of entry.waiters.values()) w.reject(new AbortedError(message ?? `job ${job.id} ${ok ? 'stopped' : 'failed'}`));
          entry.waiters.clear();
          this.driven.delete(job.id);
        },
      },
      false,
    );
    return job;
  }

  /**
   * Run batch `batchTimeMs` of a driven job over `inputs` (queue stream → its
   * blocks, already stored on executors). Resolves with the output(name)s the
   * batch committed; rejects with AbortedError when the batch (so the job) fails.
   */
  runDrivenBatch(jobId: string, batchTimeMs: number, inputs: Map<string, InputBlock[]>): Promise<DrivenOutput[]> {
    const job = this.jobs.get(jobId);
    if (job.state !== 'RUNNING') throw new FailedPreconditionError(`job ${jobId} is ${job.state}${job.error ? `: ${job.error}` : ''}`);
    const entry = this.driven.get(jobId);
    if (!entry) throw new NotFoundError(`job ${jobId} is not a driven job (submit it with SubmitDrivenJob)`);
    if (!Number.isSafeInteger(batchTimeMs) || batchTimeMs <= entry.lastBatchTimeMs) {
      throw new InvalidArgumentError(`batch time ${batchTimeMs} must be an integer later than the job's previous batch (${entry.lastBatchTimeMs})`);
    }
    for (const stream of inputs.keys()) {
      if (!job.graph.queueStreams.includes(stream)) {
        throw new InvalidArgumentError(
          `job ${jobId} has no queue stream ${JSON.stringify(stream)}; its queue streams are: ${job.graph.queueStreams.join(', ') || '(none)'}`,
        );
      }
    }
    entry.lastBatchTimeMs = batchTimeMs;
    return new Promise((resolve, reject) => {
      entry.waiters.set(batchTimeMs, { resolve, reject });
      this.post({ type: 'driveBatch', jobId, batchTimeMs, inputs });
    });
  }

  private onDriveBatch(jobId: string, t: number, inputs: Map<string, InputBlock[]>): void {
    const job = this.jobs.find(jobId);
    const entry = this.driven.get(jobId);
    if (!job || !entry) return;
    if (job.state !== 'RUNNING') {
      entry.waiters.get(t)?.reject(new AbortedError(`job ${jobId} is ${job.state}${job.error ? `: ${job.error}` : ''}`));
      entry.waiters.delete(t);
      return;
    }
    const run = new BatchRun(job, t);
    // A queue stream the driver gave no input generates no dataset this batch (planner.ts).
    for (const [stream, blocks] of inputs) run.inputs.set(stream, blocks);
    run.state = 'QUEUED';
    this.batchesByJob.get(job.id)!.push(run);
    this.startReadyBatches();
  }

  /** Called by completeBatch: answer the RunBatch caller of a driven batch. */
  private drivenBatchCompleted(run: BatchRun): void {
    const entry = this.driven.get(run.job.id);
    const waiter = entry?.waiters.get(run.batchTimeMs);
    if (!entry || !waiter) return;
    entry.waiters.delete(run.batchTimeMs);
    const outputs: DrivenOutput[] = [];
    for (const out of run.job.graph.outputs) {
      if (out.op !== 'output') continue;
      const committed = this.outputs.retained(run.job.id, out.name).find((b) => b.batchTimeMs === run.batchTimeMs);
      if (committed) outputs.push({ output: out.name, count: committed.count, payload: committed.payload });
    }
    waiter.resolve(outputs);
  }

  // ---------------------------------------------------------------- status

  status(recentBatches = 10): ClusterStatus {
    const now = this.clock.now();
    const now2 = this.clock.now();
    // Waiting by design: for locality (until the scheduler's locality timer has
    // fired for it — under load it may fire a little after the nominal
    // deadline, and the task is placed the moment it does), or for a free slot
    // on an executor it is not excluded from (retries, speculative copies).
    const alive = this.executors.alive();
    const waiting = this.pending.filter((t) => {
      const forLocality =
        t.preferred.some((id) => this.executors.isAlive(id)) &&
        (now2 - t.readySinceMs < this.config.localityWait || this.localityTimerArmed);
      const usable = alive.filter((e) => !t.excluded.has(e.id));
      const candidates = usable.length > 0 ? usable : alive;
      return forLocality || !candidates.some((e) => this.executors.freeSlots(e) > 0);
    }).length;
    return {
      batchIntervalMs: this.config.batchInterval,
      pendingTasks: this.pending.length,
      pendingWaiting: waiting,
      underReplicatedBlocks: [...this.liveInputBlocks().values()].filter(
        ({ block }) => block.executorIds.filter((id) => this.executors.isAlive(id)).length < this.config.replication,
      ).length,
      executors: this.executors.all().map((e) => ({
        executorId: e.id,
        address: e.address,
        epoch: e.epoch,
        state: e.state,
        slots: e.slots,
        freeSlots: this.executors.freeSlots(e),
        runningTasks: e.running,
        blockCount: e.lastReport.blockCount,
        blockBytes: e.lastReport.blockBytes,
        blockCapacityBytes: e.lastReport.blockCapacityBytes,
        tasksCompleted: e.tasksCompleted,
        tasksFailed: e.tasksFailed,
        lastHeartbeatAgeMs: now - e.lastHeartbeatMs,
      })),
      jobs: this.jobs.all().map((j) => {
        const runs = [...(this.history.get(j.id) ?? []), ...(this.batchesByJob.get(j.id) ?? [])];
        return {
          jobId: j.id,
          name: j.name,
          state: j.state,
          error: j.error ?? '',
          streams: j.graph.streams,
          outputs: j.graph.outputs.map((o) => o.name),
          submittedAtMs: j.submittedAtMs,
          batchesCompleted: j.batchesCompleted,
          recordsProcessed: j.recordsProcessed,
          recentBatches: runs.slice(-recentBatches).map((r) => this.batchStatus(r)),
        };
      }),
    };
  }

  private batchStatus(r: BatchRun): BatchStatus {
    const t = this.timings(r);
    return {
      batchTimeMs: r.batchTimeMs,
      state: r.state === 'WAITING_INPUT' || r.state === 'REGISTERING' ? 'QUEUED' : r.state,
      inputRecords: r.inputRecords,
      inputBlocks: r.inputBlockCount,
      schedulingDelayMs: t.schedulingDelayMs,
      processingTimeMs: r.state === 'COMPLETED' ? t.processingTimeMs : 0,
      totalDelayMs: r.state === 'COMPLETED' ? t.totalDelayMs : 0,
      tasks: r.tasksLaunched,
      taskFailures: r.taskFailures,
      processLocalTasks: r.locality.PROCESS_LOCAL,
      nodeLocalTasks: r.locality.NODE_LOCAL,
      anyTasks: r.locality.ANY,
      error: r.error ?? '',
    };
  }
}
