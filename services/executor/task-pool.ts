/**
 * The executor's task slots: at most `slots` workers run tasks at once, and a
 * FIFO queue holds tasks beyond them. The worker threads themselves — one job
 * bundle each, spares, warm idle workers, reaping — are task-workers.ts's;
 * this module decides which tasks go to which of them, and when.
 *
 * Tasks go to a worker in batches: a free slot's worker is handed up to
 * `maxBatch` queued tasks of its bundle in one message (a fair share of the
 * queue per free slot, so one worker does not take everything while another
 * idles), runs them in order and sends their answers back packed. A thread
 * hop — waking the other thread, a message, an event-loop turn there — costs
 * more than a tiny task; batched, it is paid once per batch instead of twice
 * per task. A batch is also bounded by expected work: it holds queued tasks
 * while their expected run times — each an average of its graph node's recent
 * tasks here — add up to at most `batchTargetMs`; a task of a node not yet
 * measured here, or expected to run longer, goes alone. So tiny tasks travel
 * many to a message while a long one never has others queued behind it in a
 * worker (where the executor's idle worker could not take them, and the
 * scheduler, which sees only the pool's queue, could not steal them).
 * A task of a batch that has not started can still be taken back
 * (killed, or stolen by the scheduler for an idle executor): the pool and the
 * worker agree on it through shared state words (worker-protocol.ts).
 *
 * Responsibilities:
 *  - pack a task's inputs into ONE ArrayBuffer at submit time (one memcpy per
 *    input, then a transfer — never an object graph across threads), and
 *    unpack outputs as zero-copy Buffer views of the returned ArrayBuffer;
 *  - send a bundle's code to a worker only the first time it runs that hash;
 *  - replace a worker that crashes, exits or runs out of memory and fail the
 *    task it was running as a cluster failure (the scheduler may retry
 *    elsewhere); the other tasks of its batch are innocent and queued again
 *    (once: a second crash under them fails them too);
 *  - cancel: a queued task, or one of a batch not started yet, is removed; a
 *    running task answers KILLED at once and is marked killed in shared
 *    memory, which its record loops look at every 1024 records (runtime.ts):
 *    it stops there and the worker, warm, takes its next task. Only one
 *    still running `killGraceMs` later (user code that does not return to
 *    the loop) has its worker stopped and replaced — a new worker and its
 *    job's code cost far more than a killed task's remaining records, and
 *    its first tasks run cold (a speculative copy's loser replaced this way
 *    ran its next tasks slowly enough to be copied in turn);
 *  - time out: a task that runs longer than its `timeoutMs` (the scheduler's
 *    taskTimeout; from its own start, not its batch's) has its worker
 *    terminated and replaced, and fails as a cluster failure (retried, then
 *    the batch fails) naming the operator whose code was running — read from
 *    a probe the worker's runtime writes into memory shared with this
 *    thread, since a thread stuck in a loop can't answer.
 *
 * It never talks to the network or the block store; task-runner.ts does.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { TaskSink } from '../../lib/dstream/runtime.js';
import { TaskWorkers, type TaskWorker } from './task-workers.js';
import { InputBuffers } from './input-buffers.js';
import {
  PROBE_LOADING,
  PROBE_NODE,
  PROBE_STARTED_AT,
  PROBE_TASK,
  TASK_KILLED,
  TASK_NOT_STARTED,
  TASK_STARTED,
  TASK_WITHDRAWN,
  type ResultsMessage,
  type RunMessage,
  type TaskAnswer,
  type TaskMessage,
} from './worker-protocol.js';

export interface PoolBundle {
  hash: string;
  code: string;
  /** Name used in errors about the bundle. */
  source: string;
}

export interface PoolTask {
  bundle: PoolBundle;
  nodeId: number;
  partition: number;
  sink: TaskSink;
  /** Source partitions, keyed by `sourceKey(nodeId, partition)`. */
  blocks: ReadonlyArray<{ key: string; data: Uint8Array }>;
  /** For each shuffle node read: its bucket from every map output. */
  shuffles: ReadonlyArray<{ nodeId: number; buckets: readonly Uint8Array[] }>;
  /** Partition count of every node in the task's batch (TaskSpec.node_partitions). */
  nodePartitions?: readonly number[];
  /** The task's batch time (state). */
  batchTimeMs?: number;
  /** TaskSpec.state_replay. */
  stateReplay?: readonly number[];
  /** Longest time the task may hold a slot (TaskSpec.timeout_ms); 0 or absent = no limit. */
  timeoutMs?: number;
}

export type PoolOutcome =
  | {
      kind: 'ok';
      recordsIn: number;
      recordsOut: number;
      /** result sink: the packed records. */
      result?: Buffer;
      /** shuffle sink: one packed bucket per reduce partition (views of one ArrayBuffer). */
      buckets?: Buffer[];
      bucketCounts?: number[];
      /** JetStream sources: messages that failed to decode (packed dead-letter records). */
      deadLetters?: { count: number; payload: Uint8Array };
      runMs: number;
      queueMs: number;
    }
  | { kind: 'userError'; message: string; runMs: number; queueMs: number }
  | { kind: 'failed'; message: string; queueMs: number; timedOut?: boolean }
  | { kind: 'killed' };

export interface PoolHandle {
  readonly outcome: Promise<PoolOutcome>;
  /** Remove the task if queued, or stop its worker if running. False when already finished. */
  cancel(): boolean;
  /** Remove the task only if no worker has started it. False otherwise. */
  cancelIfQueued(): boolean;
  /** A worker has started it (it may have finished since). */
  started(): boolean;
}

export interface TaskPoolOptions {
  /** Workers running tasks at once. */
  slots: number;
  /** Most queued tasks handed to a worker in one message (1: one task at a time). @default 16 */
  maxBatch?: number;
  /**
   * A message holds queued tasks while their expected run times add up to at most this (ms); a task whose
   * graph node has no run time measured here yet, or a longer one, goes alone. 0: one task per message.
   * @default Infinity (maxBatch alone bounds a message)
   */
  batchTargetMs?: number;
  /** A worker posts the answers it has once this long has passed since its last post, even mid-batch. @default 2 */
  flushMs?: number;
  /** A killed task that is running may finish within this long before its worker is stopped and replaced (0: at once). @default 100 */
  killGraceMs?: number;
  /**
   * A worker loading its job's code (with its first batch) is stopped after this long, and the batch's tasks
   * fail. The load is no task's time: a task's timeout counts from the end of it. Looked at by the batch's
   * timeout watch, so only for a batch with a task that has a timeout (every task the scheduler sends has
   * one: taskTimeout). @default 30_000
   */
  loadTimeoutMs?: number;
  /**
   * Worker threads alive at once, over all bundles (running, idle or starting).
   * At least `slots`. @default 2 × slots
   */
  maxWorkers?: number;
  /** A worker bound to a bundle and idle this long is stopped (0 = never). @default 60_000 */
  idleTimeoutMs?: number;
  /** Heap limit of each worker (resourceLimits.maxOldGenerationSizeMb), bytes; 0 = Node's default. @default 0 */
  memoryBytes?: number;
  /** Input buffers workers hand back kept for the next tasks, at most this many bytes (input-buffers.ts; 0: none). @default 64 MiB */
  inputBufferCacheBytes?: number;
  /** Compiled task-worker.js. @default next to this module, or in dist/ when running from source */
  workerPath?: string;
  /** tests/demos only: delay before each task. @default 0 */
  taskDelayMs?: number;
  /** tests/demos only: every task holds its slot `taskSlowdown` times as long as it ran (a slow machine; one task per batch then). @default 1 */
  taskSlowdown?: number;
  /** Called when a worker dies unexpectedly (for logging). `slot` is the worker's number. */
  onWorkerExit?: (info: { slot: number; exitCode: number; error?: Error; task: boolean; bundle?: string }) => void;
  /** Called when a task's worker is stopped by the task's timeout (for logging). */
  onTaskTimeout?: (info: { slot: number; operator: string; timeoutMs: number }) => void;
  /** Called when an idle worker is stopped because its job's code kept it busy between tasks (for logging). */
  onBusyIdleWorker?: (info: { slot: number; bundle: string; source: string }) => void;
}

/** Where the compiled worker lives, from dist/ (compiled) or from the source tree (vitest). */
export function defaultWorkerPath(): string {
  const candidates = ['./task-worker.js', '../../dist/services/executor/task-worker.js'];
  for (const rel of candidates) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('compiled task worker not found (dist/services/executor/task-worker.js): run `npm run build` first');
}

interface Job {
  seq: number;
  task: PoolTask;
  /** Its inputs packed for a worker (packed again if it must be sent a second time: the first copy was transferred). */
  message: TaskMessage;
  enqueuedAt: number;
  dispatchedAt: number;
  state: 'queued' | 'sent' | 'done';
  /** The batch it was sent in, and its index there. */
  batch?: Batch;
  index: number;
  /** Queued again once already because a worker died under another task of its batch. */
  requeued: boolean;
  /** A worker started it (answered, or seen running or claimed when it was taken back). */
  started: boolean;
  resolve: (o: PoolOutcome) => void;
}

/** Tasks handed to one worker in one message. */
interface Batch {
  slot: Slot;
  jobs: Job[];
  /** Each task's TASK_* state word, shared with the worker. */
  states: Int32Array;
  /** Answers come in batch order: the index the next one is looked for from. */
  cursor: number;
  /** When it was handed to the worker (performance.timeOrigin + performance.now(), as the probe's times). */
  sentAt: number;
  /** Watches the running task's timeout. */
  timeoutTimer?: NodeJS.Timeout;
  /** A killed running task's grace: its worker is stopped when it runs out. */
  killTimer?: NodeJS.Timeout;
  /** tests/demos only (taskSlowdown): the answers held back as a slower machine would have. */
  holdTimer?: NodeJS.Timeout;
}

/** A worker thread, as the pool sees it: the batch it works on is the pool's. */
type Slot = TaskWorker<Batch>;

/** TaskPoolOptions.inputBufferCacheBytes by default: a few map tasks' inputs per slot at word count's block sizes. */
export const DEFAULT_INPUT_BUFFER_CACHE_BYTES = 64 * 1024 * 1024;

/** Weight of a task's run time in its node's expected run time (an exponential moving average). */
const RUN_MS_WEIGHT = 0.25;
/** Bundles whose nodes' expected run times are kept (the oldest is forgotten first: its tasks go alone until measured again). */
const MAX_TIMED_BUNDLES = 256;

export class TaskPool {
  readonly slots: number;
  readonly maxWorkers: number;
  private readonly maxBatch: number;
  private readonly batchTargetMs: number;
  /** Expected run time (ms) of a task of each bundle's graph nodes, from the tasks run here. */
  private readonly expectedRunMs = new Map<string, Map<number, number>>();
  private readonly flushMs: number;
  private readonly killGraceMs: number;
  private readonly loadTimeoutMs: number;
  private readonly taskDelayMs: number;
  private readonly taskSlowdown: number;
  private readonly memoryMb: number;
  private readonly workers: TaskWorkers<Batch>;
  /** Input buffers handed back by workers, reused for the next tasks' inputs. */
  readonly inputBuffers: InputBuffers;
  private queue: Job[] = [];
  private readonly onWorkerExit: TaskPoolOptions['onWorkerExit'];
  private readonly onTaskTimeout: TaskPoolOptions['onTaskTimeout'];
  private nextSeq = 1;
  /** Workers with a batch (slots in use). */
  private busy = 0;
  private pumpScheduled = false;
  private closed = false;

  constructor(opts: TaskPoolOptions) {
    if (!Number.isInteger(opts.slots) || opts.slots < 1) throw new RangeError(`slots must be a positive integer, got ${opts.slots}`);
    this.slots = opts.slots;
    this.maxWorkers = Math.max(this.slots, opts.maxWorkers || 2 * this.slots);
    const workerPath = opts.workerPath ?? defaultWorkerPath();
    if (!existsSync(workerPath)) throw new Error(`task worker not found at ${workerPath}`);
    this.taskDelayMs = Math.max(0, opts.taskDelayMs ?? 0);
    this.taskSlowdown = Math.max(1, opts.taskSlowdown ?? 1);
    // A slowed task holds its slot after its answer came (onResults): one task per batch keeps that exact.
    this.batchTargetMs = Math.max(0, opts.batchTargetMs ?? Infinity);
    this.maxBatch = this.taskSlowdown > 1 || this.batchTargetMs === 0 ? 1 : Math.max(1, Math.floor(opts.maxBatch ?? 16));
    this.flushMs = Math.max(0, opts.flushMs ?? 2);
    this.killGraceMs = Math.max(0, opts.killGraceMs ?? 100);
    this.loadTimeoutMs = Math.max(1, opts.loadTimeoutMs ?? 30_000);
    this.memoryMb = opts.memoryBytes ? Math.max(16, Math.floor(opts.memoryBytes / (1 << 20))) : 0;
    this.onWorkerExit = opts.onWorkerExit;
    this.onTaskTimeout = opts.onTaskTimeout;
    this.inputBuffers = new InputBuffers(Math.max(0, opts.inputBufferCacheBytes ?? DEFAULT_INPUT_BUFFER_CACHE_BYTES));
    const onBusyIdle = opts.onBusyIdleWorker;
    this.workers = new TaskWorkers<Batch>({
      initial: this.slots,
      maxWorkers: this.maxWorkers,
      workerPath,
      idleTimeoutMs: Math.max(0, opts.idleTimeoutMs ?? 60_000),
      memoryMb: this.memoryMb,
      onResults: (slot, msg) => this.onMessage(slot, msg),
      onExit: (slot, exitCode) => this.onExit(slot, exitCode),
      onBusyIdle: (slot) => onBusyIdle?.({ slot: slot.index, bundle: slot.bundle!, source: slot.source ?? slot.bundle! }),
      onCapacity: () => this.pump(),
    });
  }

  /** Resolve once the first workers have started (so the first tasks don't pay for thread start-up). */
  ready(): Promise<void> {
    return this.workers.ready();
  }

  /** Slots in use: workers with a batch of tasks. */
  get runningCount(): number {
    return this.busy;
  }

  /** Tasks waiting for a slot (not yet handed to a worker). */
  get queuedCount(): number {
    return this.queue.length;
  }

  get freeSlots(): number {
    return this.slots - this.busy;
  }

  /** Worker threads alive now, and how many of them each bundle has (spares under ''). */
  workerCounts(): { total: number; byBundle: Map<string, number> } {
    return this.workers.counts();
  }

  submit(task: PoolTask): PoolHandle {
    let resolve!: (o: PoolOutcome) => void;
    const outcome = new Promise<PoolOutcome>((r) => (resolve = r));
    if (this.closed) {
      resolve({ kind: 'failed', message: 'executor task pool is shut down', queueMs: 0 });
      return { outcome, cancel: () => false, cancelIfQueued: () => false, started: () => false };
    }
    const seq = this.nextSeq++;
    const job: Job = {
      seq,
      task,
      message: packInputs(task, seq, this.inputBuffers),
      enqueuedAt: performance.now(),
      dispatchedAt: 0,
      state: 'queued',
      index: -1,
      requeued: false,
      started: false,
      resolve,
    };
    this.queue.push(job);
    this.schedulePump();
    return { outcome, cancel: () => this.cancel(job), cancelIfQueued: () => this.withdraw(job), started: () => this.isStarted(job) };
  }

  /** Terminate every worker; queued and running tasks fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const shutDown: PoolOutcome = { kind: 'failed', message: 'executor shutting down', queueMs: 0 };
    for (const job of this.queue.splice(0)) this.finish(job, shutDown);
    for (const slot of this.workers.all()) {
      if (!slot.batch) continue;
      for (const job of slot.batch.jobs) this.finish(job, shutDown);
      this.release(slot);
    }
    await this.workers.close();
  }

  /** A worker's answers. */
  private onMessage(slot: Slot, msg: ResultsMessage): void {
    for (const input of msg.inputs ?? []) this.inputBuffers.give(input);
    const batch = slot.batch;
    if (!batch) return;
    if (this.taskSlowdown > 1 && msg.batchDone && !batch.holdTimer) {
      // tests/demos only: keep the slot busy as a machine this much slower would, and report the
      // time such a machine would have measured (planned tasks' paces come from it). One task per batch.
      let ranMs = 0;
      for (const a of msg.answers) ranMs += a.runMs;
      const slowed: ResultsMessage = { ...msg, answers: msg.answers.map((a) => ({ ...a, runMs: a.runMs * this.taskSlowdown })) };
      batch.holdTimer = setTimeout(() => this.onResults(slot, batch, slowed), (this.taskSlowdown - 1) * ranMs);
      return;
    }
    this.onResults(slot, batch, msg);
  }

  /** Answers of a batch's tasks (in batch order); the slot is free once the batch is done. */
  private onResults(slot: Slot, batch: Batch, msg: ResultsMessage): void {
    if (slot.batch !== batch) return; // killed meanwhile (slowdown hold)
    for (const a of msg.answers) {
      while (batch.cursor < batch.jobs.length && batch.jobs[batch.cursor]!.seq !== a.seq) batch.cursor++;
      const job = batch.jobs[batch.cursor++];
      if (job) this.answer(job, a);
    }
    if (!msg.batchDone) return;
    // Every task left unanswered was withdrawn (already finished here); anything else is a worker bug.
    for (const job of batch.jobs) {
      if (job.state === 'sent') this.finish(job, { kind: 'failed', message: 'task worker ended its batch without answering the task', queueMs: this.queueMsOf(job, 0) });
    }
    this.release(slot);
    this.workers.idled(slot);
    this.pump();
  }

  private answer(job: Job, a: TaskAnswer): void {
    job.started = true;
    if (job.state !== 'sent') return; // killed while it ran: its answer counts for nothing
    const queueMs = this.queueMsOf(job, a.waitMs);
    if (a.type === 'done' || a.userError) this.ran(job.task, a.runMs);
    if (a.type === 'fail') {
      if (a.userError) this.finish(job, { kind: 'userError', message: a.message, runMs: a.runMs, queueMs });
      else this.finish(job, { kind: 'failed', message: `task failed on the executor: ${a.message}`, queueMs });
      return;
    }
    const view = (i: number) => Buffer.from(a.output, a.ranges[2 * i]!, a.ranges[2 * i + 1]! - a.ranges[2 * i]!);
    if (job.task.sink.kind === 'shuffle') {
      const buckets = new Array<Buffer>(a.ranges.length / 2);
      for (let i = 0; i < buckets.length; i++) buckets[i] = view(i);
      this.finish(job, {
        kind: 'ok',
        recordsIn: a.recordsIn,
        recordsOut: a.recordsOut,
        buckets,
        ...(a.bucketCounts ? { bucketCounts: a.bucketCounts } : {}),
        ...(a.deadLetters ? { deadLetters: a.deadLetters } : {}),
        runMs: a.runMs,
        queueMs,
      });
    } else {
      this.finish(job, {
        kind: 'ok',
        recordsIn: a.recordsIn,
        recordsOut: a.recordsOut,
        result: view(0),
        ...(a.deadLetters ? { deadLetters: a.deadLetters } : {}),
        runMs: a.runMs,
        queueMs,
      });
    }
  }

  /** Time in the pool's queue, plus behind earlier tasks of its batch in the worker. */
  private queueMsOf(job: Job, waitMs: number): number {
    return job.dispatchedAt - job.enqueuedAt + waitMs;
  }

  /** The slot has no batch any more (done, or its worker is being stopped). */
  private release(slot: Slot): void {
    const batch = slot.batch;
    if (!batch) return;
    if (batch.timeoutTimer) clearTimeout(batch.timeoutTimer);
    if (batch.killTimer) clearTimeout(batch.killTimer);
    if (batch.holdTimer) clearTimeout(batch.holdTimer);
    slot.batch = undefined;
    this.busy--;
  }

  /** A worker died unexpectedly (task-workers.ts replaces it): the task it ran fails, the rest of its batch is queued again. */
  private onExit(slot: Slot, exitCode: number): void {
    const batch = slot.batch;
    const running = batch ? this.runningJob(slot, batch) : undefined;
    this.onWorkerExit?.({ slot: slot.index, exitCode, ...(slot.lastError ? { error: slot.lastError } : {}), task: !!running, ...(slot.bundle ? { bundle: slot.bundle } : {}) });
    if (batch) {
      const oom = (slot.lastError as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      const why = oom
        ? `ran out of memory (the worker's heap limit is ${this.memoryMb} MiB: taskWorkerMemory)`
        : slot.lastError
          ? `crashed (${slot.lastError.name}: ${slot.lastError.message})`
          : `crashed (exit code ${exitCode})`;
      const message = (job: Job) => `task worker ${why} while running the task of ${job.task.bundle.source}; the worker was replaced`;
      if (running) this.finish(running, { kind: 'failed', message: message(running), queueMs: this.queueMsOf(running, 0) });
      // The others did not crash it (as far as can be told): queued again, once.
      this.requeueBatch(slot, batch, (job) => (job.requeued ? message(job) : undefined));
    }
  }

  /** The task of `batch` the worker runs now, if any (and not finished here already). */
  private runningJob(slot: Slot, batch: Batch): Job | undefined {
    const i = Atomics.load(slot.probe, PROBE_TASK);
    const job = i >= 0 ? batch.jobs[i] : undefined;
    return job && job.state === 'sent' ? job : undefined;
  }

  /**
   * Its worker is gone or being stopped: every task of the batch not finished
   * here goes back to the front of the queue (packed again — the first copy of
   * its inputs went to the worker), or fails with `failing(job)`'s message.
   */
  private requeueBatch(slot: Slot, batch: Batch, failing: (job: Job) => string | undefined = () => undefined): void {
    this.release(slot);
    const again: Job[] = [];
    for (const job of batch.jobs) {
      if (job.state !== 'sent') continue;
      const message = failing(job);
      if (message !== undefined) {
        this.finish(job, { kind: 'failed', message, queueMs: this.queueMsOf(job, 0) });
        continue;
      }
      job.requeued = true;
      job.state = 'queued';
      job.batch = undefined;
      job.index = -1;
      job.message = packInputs(job.task, job.seq, this.inputBuffers);
      again.push(job);
    }
    if (again.length > 0) this.queue = again.concat(this.queue);
  }

  private isStarted(job: Job): boolean {
    if (!job.started && job.state === 'sent' && Atomics.load(job.batch!.states, job.index) === TASK_STARTED) job.started = true;
    return job.started;
  }

  /** Take back a task no worker has started: queued here, or in a batch and not claimed yet. */
  private withdraw(job: Job): boolean {
    if (job.state === 'queued') {
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
      this.finish(job, { kind: 'killed' });
      return true;
    }
    if (job.state !== 'sent') return false;
    if (Atomics.compareExchange(job.batch!.states, job.index, TASK_NOT_STARTED, TASK_WITHDRAWN) !== TASK_NOT_STARTED) return false;
    // The worker skips it; its batch ends without an answer for it.
    this.finish(job, { kind: 'killed' });
    return true;
  }

  private cancel(job: Job): boolean {
    if (job.state === 'done') return false;
    if (this.withdraw(job)) return true;
    // Started (or finished, its answer on the way). It answers KILLED now; its
    // worker, mid-way through user code that can't be interrupted
    // cooperatively, may finish it within the grace — else it is stopped.
    const batch = job.batch!;
    const slot = batch.slot;
    job.started = true;
    // Its record loops see this and stop (TASK_KILLED): the worker goes on with its next task, warm.
    Atomics.compareExchange(batch.states, job.index, TASK_STARTED, TASK_KILLED);
    this.finish(job, { kind: 'killed' });
    if (batch.holdTimer) {
      // tests/demos only: a slowed task's worker is already idle; only the hold keeps the slot.
      this.release(slot);
      this.workers.idled(slot);
      this.pump();
      return true;
    }
    if (Atomics.load(slot.probe, PROBE_TASK) !== job.index) return true; // finished: its late answer is ignored
    if (this.killGraceMs === 0) {
      this.replace(slot, batch);
      return true;
    }
    if (batch.killTimer) clearTimeout(batch.killTimer);
    batch.killTimer = setTimeout(() => {
      batch.killTimer = undefined;
      if (slot.batch === batch && Atomics.load(slot.probe, PROBE_TASK) === job.index) this.replace(slot, batch);
    }, this.killGraceMs);
    return true;
  }

  /**
   * Watch `batch` against its tasks' timeouts, re-armed until the batch ends.
   * A running task counts from its own start. A task waiting in the batch
   * counts from when the worker last started or ended one (or got the batch):
   * a worker that starts nothing — its job's code spinning in a timer between
   * tasks — holds the slot, and the next task times out as if it ran.
   */
  private watchTimeout(slot: Slot, batch: Batch): void {
    const now = performance.timeOrigin + performance.now();
    if (Atomics.load(slot.probe, PROBE_TASK) === PROBE_LOADING) {
      // Loading the job's code: no task's time (under load a fresh worker's load can outlast a short
      // taskTimeout, and every replacement would load again); bounded on its own, looked at again after.
      const loadingMs = now - batch.sentAt;
      if (loadingMs >= this.loadTimeoutMs) return this.loadTimedOut(slot, batch);
      return this.watchAgainIn(slot, batch, Math.min(this.loadTimeoutMs - loadingMs, this.shortestTimeout(batch)));
    }
    let next = Infinity;
    const running = this.runningJob(slot, batch);
    const waiting = running ? undefined : batch.jobs.find((j) => j.state === 'sent' && Atomics.load(batch.states, j.index) === TASK_NOT_STARTED);
    const due = running ?? waiting;
    const limit = due?.task.timeoutMs ?? 0;
    if (due && limit > 0) {
      const since = running ? slot.probeTime[PROBE_STARTED_AT]! : Math.max(slot.probeTime[PROBE_STARTED_AT]!, batch.sentAt);
      if (now - since >= limit) return this.timeOut(slot, batch, due, limit);
      next = limit - (now - since);
    }
    // Any other task of it can time out no sooner than its own limit from now.
    this.watchAgainIn(slot, batch, Math.min(next, this.shortestTimeout(batch, due)));
  }

  /** The smallest timeout of the batch's tasks still sent to the worker (but `except`); Infinity when none has one. */
  private shortestTimeout(batch: Batch, except?: Job): number {
    let shortest = Infinity;
    for (const job of batch.jobs) if (job !== except && job.state === 'sent' && (job.task.timeoutMs ?? 0) > 0) shortest = Math.min(shortest, job.task.timeoutMs!);
    return shortest;
  }

  /** Look at the batch's timeouts again in `ms` (never, for Infinity), unless the worker has moved on from it by then. */
  private watchAgainIn(slot: Slot, batch: Batch, ms: number): void {
    if (Number.isFinite(ms)) batch.timeoutTimer = setTimeout(() => slot.batch === batch && this.watchTimeout(slot, batch), Math.max(1, Math.ceil(ms)));
  }

  /** The task overran its timeout: stop its worker, name the operator it was in, fail it. */
  private timeOut(slot: Slot, batch: Batch, job: Job, timeoutMs: number): void {
    const nodeId = slot.probe[PROBE_NODE]!;
    const label = nodeId >= 0 ? this.workers.label(job.task.bundle.hash, nodeId) : undefined;
    const operator = nodeId < 0 ? `the task's input handling (node ${job.task.nodeId})` : label ? `${label} (node ${nodeId})` : `node ${nodeId}`;
    this.onTaskTimeout?.({ slot: slot.index, operator, timeoutMs });
    this.finish(job, {
      kind: 'failed',
      message:
        `task timed out after ${formatMs(timeoutMs)} (taskTimeout) while running operator ${operator} ` +
        `of ${job.task.bundle.source}; its worker thread was stopped and replaced`,
      queueMs: this.queueMsOf(job, 0),
      timedOut: true,
    });
    this.replace(slot, batch);
  }

  /** The worker is still loading the job's code after loadTimeoutMs: stopped, and every task of its batch fails (retried elsewhere by the scheduler). */
  private loadTimedOut(slot: Slot, batch: Batch): void {
    const source = batch.jobs[0]?.task.bundle.source ?? slot.source ?? 'the job';
    const message =
      `the task worker was still loading the code of ${source} after ${formatMs(this.loadTimeoutMs)} (taskWorkerLoadTimeout); ` +
      'its worker thread was stopped and replaced';
    this.onTaskTimeout?.({ slot: slot.index, operator: `the load of ${source}`, timeoutMs: this.loadTimeoutMs });
    this.requeueBatch(slot, batch, () => message);
    this.workers.retire(slot);
    this.workers.ensureSpare();
    this.pump();
  }

  /** Stop a worker mid-batch and start a fresh spare in its place; its batch's unfinished tasks are queued again. */
  private replace(slot: Slot, batch: Batch): void {
    this.requeueBatch(slot, batch);
    this.workers.retire(slot);
    this.workers.ensureSpare();
    this.pump();
  }

  private finish(job: Job, outcome: PoolOutcome): void {
    if (job.state === 'done') return;
    job.state = 'done';
    job.resolve(outcome);
  }

  /**
   * Submissions are handed out once the current turn of the event loop is
   * over: tasks often become ready many at a time (every reducer waiting for
   * the pushed buckets of one map task), one at a time between the awaits of
   * the code that readies them — handed out at once, each would be a batch of
   * one.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /**
   * Hand queued tasks to free slots, oldest first: each batch to an idle
   * worker of its bundle, else a spare (which becomes the bundle's), with up
   * to maxBatch queued tasks of that bundle — the queue shared out over the
   * free slots. A task that finds no worker keeps its place and its slot, and
   * a spare is started for it — making room by stopping the least recently
   * used idle worker of another bundle when maxWorkers are alive.
   */
  private pump(): void {
    if (this.closed) return;
    let free = this.slots - this.busy;
    let waiting = 0;
    for (let i = 0; i < this.queue.length && free > 0; ) {
      const first = this.queue[i]!;
      const slot = this.workers.take(first.task.bundle);
      if (!slot) {
        waiting++;
        i++;
        free--;
        continue;
      }
      const size = Math.min(this.maxBatch, Math.ceil((this.queue.length - i) / free));
      const jobs = this.takeBatch(i, first.task.bundle.hash, size);
      this.dispatch(slot, jobs);
      free--;
    }
    this.workers.startFor(waiting);
  }

  /**
   * Remove from the queue, from index `from` on, up to `size` tasks of bundle `hash`, in order — the first
   * always, the next ones while their expected run times keep the batch within batchTargetMs.
   */
  private takeBatch(from: number, hash: string, size: number): Job[] {
    const jobs: Job[] = [];
    const rest: Job[] = this.queue.slice(0, from);
    const timed = Number.isFinite(this.batchTargetMs);
    let budget = this.batchTargetMs;
    let i = from;
    for (; i < this.queue.length && jobs.length < size; i++) {
      const job = this.queue[i]!;
      if (job.task.bundle.hash !== hash) {
        rest.push(job);
        continue;
      }
      if (timed) {
        const expected = this.expectedRunMs.get(hash)?.get(job.task.nodeId) ?? Infinity;
        if (jobs.length > 0 && !(expected <= budget)) break;
        budget -= expected;
      }
      jobs.push(job);
    }
    for (; i < this.queue.length; i++) rest.push(this.queue[i]!);
    this.queue = rest;
    return jobs;
  }

  /** A task of `task`'s graph node ran `runMs` in a worker: its node's expected run time moves towards it. */
  private ran(task: PoolTask, runMs: number): void {
    if (!Number.isFinite(this.batchTargetMs)) return;
    let byNode = this.expectedRunMs.get(task.bundle.hash);
    if (!byNode) {
      if (this.expectedRunMs.size >= MAX_TIMED_BUNDLES) this.expectedRunMs.delete(this.expectedRunMs.keys().next().value!);
      this.expectedRunMs.set(task.bundle.hash, (byNode = new Map<number, number>()));
    }
    const before = byNode.get(task.nodeId);
    byNode.set(task.nodeId, before === undefined ? runMs : before + RUN_MS_WEIGHT * (runMs - before));
  }

  private dispatch(slot: Slot, jobs: Job[]): void {
    const states = new SharedArrayBuffer(4 * jobs.length);
    const batch: Batch = { slot, jobs, states: new Int32Array(states), cursor: 0, sentAt: performance.timeOrigin + performance.now() };
    const now = performance.now();
    const tasks = new Array<TaskMessage>(jobs.length);
    const transfer = new Array<ArrayBuffer>(jobs.length);
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      job.state = 'sent';
      job.batch = batch;
      job.index = i;
      job.dispatchedAt = now;
      tasks[i] = job.message;
      transfer[i] = job.message.input;
    }
    const bundle = jobs[0]!.task.bundle;
    const message: RunMessage = {
      type: 'run',
      bundleHash: bundle.hash,
      source: bundle.source,
      delayMs: this.taskDelayMs,
      flushMs: this.flushMs,
      states,
      tasks,
      // A worker runs one bundle only: it is sent the code with its first batch.
      ...(slot.loaded ? {} : { code: bundle.code }),
    };
    slot.loaded = true;
    slot.batch = batch;
    this.busy++;
    try {
      slot.worker.postMessage(message, transfer);
    } catch (e) {
      // Only a bug (e.g. an input buffer detached twice) gets here.
      for (const job of jobs) this.finish(job, { kind: 'failed', message: `cannot hand the task to a worker: ${(e as Error).message}`, queueMs: 0 });
      this.release(slot);
      this.workers.idled(slot);
      return;
    }
    this.watchTimeout(slot, batch);
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Copy every input payload into one ArrayBuffer (from `buffers`) with [start, end) ranges. */
function packInputs(task: PoolTask, seq: number, buffers: InputBuffers): TaskMessage {
  let total = 0;
  for (const b of task.blocks) total += b.data.byteLength;
  for (const s of task.shuffles) for (const bucket of s.buckets) total += bucket.byteLength;
  const input = buffers.take(total);
  let off = 0;
  const blockKeys = new Array<string>(task.blocks.length);
  const blockRanges = new Array<number>(task.blocks.length * 2);
  for (let i = 0; i < task.blocks.length; i++) {
    const b = task.blocks[i]!;
    blockKeys[i] = b.key;
    input.set(b.data, off);
    blockRanges[2 * i] = off;
    off += b.data.byteLength;
    blockRanges[2 * i + 1] = off;
  }
  const shuffleNodes = new Array<number>(task.shuffles.length);
  const shuffleRanges = new Array<number[]>(task.shuffles.length);
  for (let i = 0; i < task.shuffles.length; i++) {
    const s = task.shuffles[i]!;
    shuffleNodes[i] = s.nodeId;
    const ranges = new Array<number>(s.buckets.length * 2);
    for (let j = 0; j < s.buckets.length; j++) {
      const bucket = s.buckets[j]!;
      input.set(bucket, off);
      ranges[2 * j] = off;
      off += bucket.byteLength;
      ranges[2 * j + 1] = off;
    }
    shuffleRanges[i] = ranges;
  }
  return {
    seq,
    nodeId: task.nodeId,
    partition: task.partition,
    sink: task.sink,
    input: input.buffer,
    blockKeys,
    blockRanges,
    shuffleNodes,
    shuffleRanges,
    nodePartitions: [...(task.nodePartitions ?? [])],
    ...(task.batchTimeMs !== undefined ? { batchTimeMs: task.batchTimeMs } : {}),
    ...(task.stateReplay && task.stateReplay.length > 0 ? { stateReplay: [...task.stateReplay] } : {}),
  };
}
