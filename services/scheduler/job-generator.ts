/**
 * The batch clock and each batch's inputs (Spark's JobGenerator and
 * ReceiverTracker): every batch interval, a run is queued for every running
 * job; the receiver's `batch.ready` announcements (or, when one is late, its
 * GetBatchBlocks answer) give each run the blocks of its input streams; a
 * run with all its inputs is QUEUED behind its job's earlier batches.
 * Batches of a job run one at a time, in order (Spark's default
 * spark.streaming.concurrentJobs=1). Input blocks are shared between jobs
 * reading the same stream and dropped on the executors once every job is
 * done with that batch.
 *
 * Owns: the per-job queues and histories, the announced inputs and their
 * reference counts, the tick timer. May not: start, plan or fail a batch —
 * a job that falls `maxQueuedBatches` behind is reported to `onFellBehind`.
 *
 * Falling behind (`onFallingBehind`): with 'fail' the job is reported and
 * nothing more is queued; with 'backpressure' (the default) the due batch is
 * simply not created yet — `nextBatchTimeMs` stays at it, and the first tick
 * after the queue shrinks creates it and every later due batch, in order,
 * asking the receiver for their inputs at once (their batch.ready may have
 * been forgotten by then). The job stays RUNNING; the rate controller sees
 * the wait as scheduling delay and lowers the ingest rate.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { BatchRun, type InputBlock } from './batch-run.js';
import type { SchedulerConfig } from './config.js';
import type { PostEvent } from './events.js';
import type { ExecutorTracker } from './executor-tracker.js';
import type { Job, JobRegistry } from './job-registry.js';
import type { SchedulerPorts } from './ports.js';
import { appendTo } from '../../lib/collections.js';

/** Completed and failed batches kept per job for status. */
const HISTORY = 100;
/** Announcements older than this many batch intervals are forgotten if no run took them nor will (tick). */
const READY_HORIZON_BATCHES = 10;

/** Every input block some queued or running batch (or a pending announcement) still needs, by id, with the partitions reading it. */
export type LiveInputBlocks = Map<string, { block: InputBlock; partitions: Array<{ run: BatchRun; nodeId: number; partition: number }> }>;

type Config = Pick<SchedulerConfig, 'batchInterval' | 'batchReadyTimeout' | 'maxQueuedBatches' | 'replication'> &
  Partial<Pick<SchedulerConfig, 'onFallingBehind'>>;

const inputKey = (stream: string, t: number) => `${stream}@${t}`;

export class JobGenerator {
  private readonly queues = new Map<string, BatchRun[]>();
  private readonly histories = new Map<string, BatchRun[]>();
  private readonly readyInputs = new Map<string, InputBlock[]>();
  /** Input blocks of (stream, batch) → jobs still needing them; dropped at zero. */
  private readonly inputRefs = new Map<string, { blocks: InputBlock[]; jobs: Set<string> }>();
  private tickTimer?: TimerHandle;
  private stopped = false;
  /** Jobs whose due batches wait because their queue is full (onFallingBehind=backpressure). */
  private readonly behind = new Set<string>();
  /** A job fell `maxQueuedBatches` behind (the scheduler fails it today). */
  onFellBehind: (job: Job, message: string) => void = () => {};

  constructor(
    private readonly config: Config,
    private readonly clock: Clock,
    private readonly jobs: JobRegistry,
    private readonly executors: ExecutorTracker,
    private readonly ports: Pick<SchedulerPorts, 'fetchBatchBlocks' | 'gateway'>,
    private readonly post: PostEvent,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.scheduleTick();
  }

  stop(): void {
    this.stopped = true;
    if (this.tickTimer) this.clock.clearTimeout(this.tickTimer);
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

  /** A new or resumed job gets its queue and history. */
  addJob(job: Job): void {
    this.queues.set(job.id, []);
    this.histories.set(job.id, []);
  }

  /** True while the job's due batches wait for room in its queue (onFallingBehind=backpressure). */
  fallingBehind(jobId: string): boolean {
    return this.behind.has(jobId);
  }

  /** Batches of the job not finished yet, oldest first. */
  queue(jobId: string): readonly BatchRun[] {
    return this.queues.get(jobId) ?? [];
  }

  history(jobId: string): readonly BatchRun[] {
    return this.histories.get(jobId) ?? [];
  }

  /** Every unfinished batch of every job. */
  *unfinished(): Iterable<BatchRun> {
    for (const q of this.queues.values()) yield* q;
  }

  /** The batch clock ticked: queue the due batches and ask for inputs that did not come in time. */
  tick(t: number): void {
    for (const job of this.jobs.running()) this.createDueRuns(job, t);
    this.clock.setTimeout(() => this.post({ type: 'inputTimeout', batchTimeMs: t }), this.config.batchReadyTimeout);
    // Announcements no run took are forgotten after READY_HORIZON_BATCHES, but never one a running job has still to
    // create a batch for: a job held back by its queue bound (onFallingBehind=backpressure) creates its batches late,
    // and the receivers announced those inputs once (their tracker here counts them complete and asks no more).
    let keepFrom = t - READY_HORIZON_BATCHES * this.config.batchInterval;
    for (const job of this.jobs.running()) keepFrom = Math.min(keepFrom, job.nextBatchTimeMs);
    for (const key of this.readyInputs.keys()) if (Number(key.slice(key.lastIndexOf('@') + 1)) < keepFrom) this.readyInputs.delete(key);
  }

  /**
   * Queue a run for every batch of the job due by time `t` that has none yet
   * (normally just `t`; after a scheduler restart, every batch since the
   * last completed one: their inputs were announced while no scheduler
   * listened, so they are asked of the receiver at once).
   */
  createDueRuns(job: Job, t: number): void {
    const queue = this.queues.get(job.id)!;
    while (job.nextBatchTimeMs <= t && job.state === 'RUNNING') {
      const bt = job.nextBatchTimeMs;
      if (queue.length >= this.config.maxQueuedBatches) {
        if ((this.config.onFallingBehind ?? 'backpressure') === 'backpressure') {
          if (!this.behind.has(job.id)) {
            this.behind.add(job.id);
            this.log.warn(
              { jobId: job.id, queued: queue.length, maxQueuedBatches: this.config.maxQueuedBatches, nextBatchTimeMs: bt },
              'job falling behind: its next batches wait until the queue shrinks (onFallingBehind=backpressure)',
            );
          }
          return;
        }
        job.nextBatchTimeMs += this.config.batchInterval;
        this.onFellBehind(
          job,
          `job fell ${queue.length} batches behind (maxQueuedBatches=${this.config.maxQueuedBatches}, onFallingBehind=fail): ` +
            'batches take longer than the batch interval; add executors or lengthen the interval',
        );
        return;
      }
      if (this.behind.delete(job.id)) this.log.info({ jobId: job.id, nextBatchTimeMs: bt }, 'job caught up with its queue bound; batches are created again');
      job.nextBatchTimeMs += this.config.batchInterval;
      const run = new BatchRun(job, bt);
      for (const stream of job.graph.streams) {
        const blocks = this.readyInputs.get(inputKey(stream, bt));
        if (blocks) this.attachInput(run, stream, blocks);
      }
      queue.push(run);
      if (run.hasAllInputs()) this.queued(run);
      if (bt < t) this.clock.setTimeout(() => this.post({ type: 'inputTimeout', batchTimeMs: bt }), 0);
    }
  }

  /** A batch whose inputs come from outside the clock (a BatchSource): queued with them as they are. */
  enqueue(job: Job, batchTimeMs: number, inputs: Map<string, InputBlock[]>): BatchRun {
    const run = new BatchRun(job, batchTimeMs);
    // A queue stream given no input generates no dataset this batch (planner.ts).
    for (const [stream, blocks] of inputs) run.inputs.set(stream, blocks);
    this.queued(run);
    this.queues.get(job.id)!.push(run);
    return run;
  }

  /** Inputs from another source (jetstream-source.ts) completed the run's: it may queue. */
  inputsAttached(run: BatchRun): void {
    if (run.state === 'WAITING_INPUT' && run.hasAllInputs()) this.queued(run);
  }

  /** Every input is known: the run may start (and a planned one's executors start it now). */
  private queued(run: BatchRun): void {
    run.moveTo('QUEUED', this.log);
    run.readyAtMs = this.clock.now();
  }

  private attachInput(run: BatchRun, stream: string, blocks: InputBlock[]): void {
    if (run.inputs.has(stream)) return;
    // Shared, not copied: where a block lives is a fact about the block, so a
    // loss or a new replica updates every batch that reads it at once.
    run.inputs.set(stream, blocks);
    const key = inputKey(stream, run.batchTimeMs);
    const ref = this.inputRefs.get(key) ?? { blocks, jobs: new Set<string>() };
    ref.jobs.add(run.job.id);
    this.inputRefs.set(key, ref);
  }

  /**
   * The receiver announced a batch's blocks of a stream. Returns whether some
   * block has fewer than `replication` live copies (the caller restores them).
   */
  batchReady(stream: string, t: number, blocks: InputBlock[]): { underReplicated: boolean } {
    const known = this.readyInputs.get(inputKey(stream, t));
    if (known) {
      // A duplicate announcement (or the receiver's answer to GetBatchBlocks):
      // the blocks are known already; a run created since may still need them.
      this.attachToWaitingRuns(stream, t, known);
      return { underReplicated: false };
    }
    // The announcement may name an executor that was lost after the block was
    // stored on it but before this arrived: its loss was handled without this
    // block, so drop the dead replica here and restore the replication now.
    let underReplicated = false;
    for (const b of blocks) {
      b.announcedOn ??= [...b.executorIds];
      b.executorIds = b.executorIds.filter((id) => this.executors.get(id)?.state !== 'LOST');
      if (b.executorIds.length < this.config.replication) underReplicated = true;
    }
    this.readyInputs.set(inputKey(stream, t), blocks);
    this.attachToWaitingRuns(stream, t, blocks);
    return { underReplicated };
  }

  private attachToWaitingRuns(stream: string, t: number, blocks: InputBlock[]): void {
    for (const run of this.unfinished()) {
      if (run.batchTimeMs !== t || run.state !== 'WAITING_INPUT') continue;
      if (!run.job.graph.streams.includes(stream) || run.inputs.has(stream)) continue;
      this.attachInput(run, stream, blocks);
      if (run.hasAllInputs()) this.queued(run);
    }
  }

  /** batch.ready did not come in time: ask the receiver for the missing streams (retried until it answers). */
  inputTimeout(t: number): void {
    const missing = new Set<string>();
    for (const run of this.unfinished()) {
      if (run.batchTimeMs !== t || run.state !== 'WAITING_INPUT') continue;
      for (const s of run.job.graph.streams) if (!run.inputs.has(s)) missing.add(s);
    }
    let retrying = false;
    // One retry per round, however many shares were asked.
    const retry = (ms: number) => {
      if (retrying) return;
      retrying = true;
      this.clock.setTimeout(() => this.post({ type: 'inputTimeout', batchTimeMs: t }), ms);
    };
    for (const stream of missing) this.askInputs(stream, t, retry);
  }

  /** How a missing input is asked for (the scheduler routes it through its receiver tracker); by default the configured receiver. */
  askInputs: (stream: string, t: number, retry: (ms: number) => void) => void = (stream, t, retry) => this.askConfiguredReceiver(stream, t, retry);

  /** Ask the configured receiver for the whole batch (one receiver, or none heard yet). */
  askConfiguredReceiver(stream: string, t: number, retry: (ms: number) => void): void {
    {
      this.ports.fetchBatchBlocks(stream, t).then(
        (res) => {
          if (res.complete) {
            this.post({ type: 'batchReady', msg: { stream, batchTimeMs: t, batchIntervalMs: this.config.batchInterval, blocks: res.blocks } });
          } else retry(100);
        },
        (err: unknown) => {
          this.log.warn({ err: errorMessage(err), stream, batchTimeMs: t }, 'cannot get batch blocks from the receiver; retrying');
          retry(500);
        },
      );
    }
  }

  /**
   * The final input lists of unfinished batches whose time is at or before `cutoffMs`. Taken from the runs, not
   * from `readyInputs`: that map forgets a batch READY_HORIZON_BATCHES after its time, and a batch stalled longer
   * than that (a NATS outage lost its batch.inputs, so executors could not start its planned tasks) is exactly
   * the one whose list must be published again.
   */
  inputsUpTo(cutoffMs: number): Array<{ stream: string; batchTimeMs: number; blocks: InputBlock[] }> {
    const out: Array<{ stream: string; batchTimeMs: number; blocks: InputBlock[] }> = [];
    const seen = new Set<string>();
    for (const run of this.unfinished()) {
      if (run.batchTimeMs > cutoffMs) continue;
      for (const [stream, blocks] of run.inputs) {
        const key = inputKey(stream, run.batchTimeMs);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ stream, batchTimeMs: run.batchTimeMs, blocks });
      }
    }
    return out;
  }

  /** A run finished (committed or failed): out of its job's queue, into its history. */
  retire(run: BatchRun): void {
    const queue = this.queues.get(run.job.id)!;
    const i = queue.indexOf(run);
    if (i >= 0) queue.splice(i, 1);
    const hist = this.histories.get(run.job.id)!;
    hist.push(run);
    if (hist.length > HISTORY) hist.shift();
  }

  /** A job ended: forget it was behind. */
  dropJob(jobId: string): void {
    this.behind.delete(jobId);
  }

  /** A finished batch no longer needs its input blocks: drop those no other job needs either. */
  releaseInputs(run: BatchRun): void {
    for (const stream of run.job.graph.streams) {
      const key = inputKey(stream, run.batchTimeMs);
      const ref = this.inputRefs.get(key);
      if (!ref) continue;
      ref.jobs.delete(run.job.id);
      if (ref.jobs.size > 0) continue;
      this.inputRefs.delete(key);
      this.readyInputs.delete(key);
      const byExecutor = new Map<string, string[]>();
      for (const b of ref.blocks) for (const id of b.executorIds) appendTo(byExecutor, id, b.blockId);
      for (const [id, blockIds] of byExecutor) {
        const e = this.executors.get(id);
        if (e && e.state === 'ALIVE') this.ports.gateway.drop(e, blockIds, []);
      }
    }
  }

  /** An executor incarnation is gone: it no longer holds any input block. */
  executorLost(executorId: string): void {
    for (const { block } of this.liveInputBlocks().values()) {
      const i = block.executorIds.indexOf(executorId);
      if (i >= 0) block.executorIds.splice(i, 1);
    }
  }

  liveInputBlocks(): LiveInputBlocks {
    const out: LiveInputBlocks = new Map();
    const note = (block: InputBlock) => {
      const known = out.get(block.blockId);
      if (known) return known;
      const entry = { block, partitions: [] as Array<{ run: BatchRun; nodeId: number; partition: number }> };
      out.set(block.blockId, entry);
      return entry;
    };
    for (const blocks of this.readyInputs.values()) for (const b of blocks) note(b);
    for (const run of this.unfinished()) {
      for (const src of run.job.graph.sources) {
        // JetStream slices live in the stream, not on executors: nothing to replicate, adopt or wait for.
        if (src.op === 'jetStream') continue;
        (run.inputs.get(src.stream) ?? []).forEach((b, partition) => note(b).partitions.push({ run, nodeId: src.id, partition }));
      }
    }
    return out;
  }
}
