/**
 * The executor's task slots: `slots` worker_threads running tasks off the
 * gRPC event loop, and a FIFO queue for tasks beyond the free slots.
 *
 * Responsibilities:
 *  - pack a task's inputs into ONE ArrayBuffer at submit time (one memcpy per
 *    input, then a transfer — never an object graph across threads), and
 *    unpack outputs as zero-copy Buffer views of the returned ArrayBuffer;
 *  - send a bundle's code to a worker only the first time it runs that hash;
 *  - replace a worker that crashes or exits and fail its task as a cluster
 *    failure (not the job's fault — the scheduler may retry elsewhere);
 *  - cancel: a queued task is removed; a running task's worker is terminated
 *    and replaced, so a losing speculative copy frees its slot at once;
 *  - time out: a task that holds its slot longer than its `timeoutMs` (the
 *    scheduler's taskTimeout) has its worker terminated and replaced, and
 *    fails as a cluster failure (retried, then the batch fails) naming the
 *    operator whose code was running — read from a probe the worker's
 *    runtime writes into memory shared with this thread, since a thread
 *    stuck in a loop can't answer.
 *
 * It never talks to the network or the block store; task-runner.ts does.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { TaskSink } from '../../lib/dstream/runtime.js';
import type { FromWorker, RunMessage, TaskWorkerData } from './worker-protocol.js';

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
  /** Remove the task only if it is still queued (no worker has it). False otherwise. */
  cancelIfQueued(): boolean;
}

export interface TaskPoolOptions {
  slots: number;
  /** Compiled task-worker.js. @default next to this module, or in dist/ when running from source */
  workerPath?: string;
  /** tests/demos only: delay before each task. @default 0 */
  taskDelayMs?: number;
  /** tests/demos only: every task holds its slot `taskSlowdown` times as long as it ran (a slow machine). @default 1 */
  taskSlowdown?: number;
  /** Called when a worker dies unexpectedly (for logging). */
  onWorkerExit?: (info: { slot: number; exitCode: number; error?: Error; task: boolean }) => void;
  /** Called when a task's worker is stopped by the task's timeout (for logging). */
  onTaskTimeout?: (info: { slot: number; operator: string; timeoutMs: number }) => void;
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
  message: Omit<RunMessage, 'code' | 'delayMs'>;
  enqueuedAt: number;
  dispatchedAt: number;
  state: 'queued' | 'running' | 'done';
  /** taskSlowdown already applied to this job's answer. */
  slowed?: boolean;
  slot?: Slot;
  /** The task's timeout, armed while it runs. */
  timer?: NodeJS.Timeout;
  resolve: (o: PoolOutcome) => void;
}

interface Slot {
  index: number;
  worker: Worker;
  /** Bundle hashes this worker has been sent. */
  loaded: Set<string>;
  /** [0]: the graph node whose user code the worker runs now (-1: none); shared with the worker. */
  probe: Int32Array;
  ready: boolean;
  current?: Job;
  lastError?: Error;
}

/** A worker that dies before it is ready is restarted after this delay, so a broken worker can't spin. */
const BROKEN_WORKER_RESTART_MS = 1000;
/** Bundles whose operator labels are remembered (the oldest is forgotten first; a forgotten one is named by node id). */
const MAX_LABELLED_BUNDLES = 256;

export class TaskPool {
  readonly slots: number;
  private readonly workerPath: string;
  private readonly taskDelayMs: number;
  private readonly taskSlowdown: number;
  private readonly workers: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly onWorkerExit: TaskPoolOptions['onWorkerExit'];
  private readonly onTaskTimeout: TaskPoolOptions['onTaskTimeout'];
  /** Operator labels of each loaded bundle, by graph node id. */
  private readonly labels = new Map<string, string[]>();
  private nextSeq = 1;
  private running = 0;
  private closed = false;
  private readonly readyWaiters: Array<() => void> = [];

  constructor(opts: TaskPoolOptions) {
    if (!Number.isInteger(opts.slots) || opts.slots < 1) throw new RangeError(`slots must be a positive integer, got ${opts.slots}`);
    this.slots = opts.slots;
    this.workerPath = opts.workerPath ?? defaultWorkerPath();
    if (!existsSync(this.workerPath)) throw new Error(`task worker not found at ${this.workerPath}`);
    this.taskDelayMs = Math.max(0, opts.taskDelayMs ?? 0);
    this.taskSlowdown = Math.max(1, opts.taskSlowdown ?? 1);
    this.onWorkerExit = opts.onWorkerExit;
    this.onTaskTimeout = opts.onTaskTimeout;
    for (let i = 0; i < this.slots; i++) this.workers.push(this.spawn(i));
  }

  /** Resolve once every worker has started (so the first tasks don't pay for thread start-up). */
  ready(): Promise<void> {
    if (this.workers.every((w) => w.ready)) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  get runningCount(): number {
    return this.running;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  get freeSlots(): number {
    return this.slots - this.running;
  }

  submit(task: PoolTask): PoolHandle {
    let resolve!: (o: PoolOutcome) => void;
    const outcome = new Promise<PoolOutcome>((r) => (resolve = r));
    if (this.closed) {
      resolve({ kind: 'failed', message: 'executor task pool is shut down', queueMs: 0 });
      return { outcome, cancel: () => false, cancelIfQueued: () => false };
    }
    const seq = this.nextSeq++;
    const job: Job = {
      seq,
      task,
      message: packInputs(task, seq),
      enqueuedAt: performance.now(),
      dispatchedAt: 0,
      state: 'queued',
      resolve,
    };
    this.queue.push(job);
    this.pump();
    return { outcome, cancel: () => this.cancel(job), cancelIfQueued: () => job.state === 'queued' && this.cancel(job) };
  }

  /** Terminate every worker; queued and running tasks fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) this.finish(job, { kind: 'failed', message: 'executor shutting down', queueMs: 0 });
    const exits = this.workers.map((slot) => {
      if (slot.current) this.finish(slot.current, { kind: 'failed', message: 'executor shutting down', queueMs: 0 });
      return slot.worker.terminate();
    });
    await Promise.allSettled(exits);
  }

  private spawn(index: number, delayMs = 0): Slot {
    const probe = new SharedArrayBuffer(4);
    const workerData: TaskWorkerData = { probe };
    const worker = new Worker(this.workerPath, { name: `rivulet-task-${index}`, workerData });
    const slot: Slot = { index, worker, loaded: new Set(), probe: new Int32Array(probe), ready: false };
    slot.probe[0] = -1;
    worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
    worker.on('error', (err) => {
      slot.lastError = err;
    });
    worker.on('exit', (code) => this.onExit(slot, code, delayMs));
    return slot;
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    if (this.workers[slot.index] !== slot) return; // a replaced worker's late message
    if (msg.type === 'ready') {
      slot.ready = true;
      if (this.workers.every((w) => w.ready)) for (const w of this.readyWaiters.splice(0)) w();
      this.pump();
      return;
    }
    if (msg.type === 'operators') {
      this.labels.delete(msg.bundleHash);
      this.labels.set(msg.bundleHash, msg.labels);
      if (this.labels.size > MAX_LABELLED_BUNDLES) this.labels.delete(this.labels.keys().next().value!);
      return;
    }
    const job = slot.current;
    if (!job || job.seq !== msg.seq) return; // killed while the answer was in flight
    if (msg.type === 'done' && this.taskSlowdown > 1 && !job.slowed) {
      // tests/demos only: keep the slot busy as a machine this much slower would.
      job.slowed = true;
      // …and report the time such a machine would have measured (planned tasks' paces come from it).
      setTimeout(() => this.onMessage(slot, { ...msg, runMs: msg.runMs * this.taskSlowdown }), (this.taskSlowdown - 1) * msg.runMs);
      return;
    }
    slot.current = undefined;
    const queueMs = job.dispatchedAt - job.enqueuedAt;
    if (msg.type === 'done') {
      const views = (ranges: number[], i: number) => Buffer.from(msg.output, ranges[2 * i]!, ranges[2 * i + 1]! - ranges[2 * i]!);
      if (job.task.sink.kind === 'shuffle') {
        const buckets = new Array<Buffer>(msg.ranges.length / 2);
        for (let i = 0; i < buckets.length; i++) buckets[i] = views(msg.ranges, i);
        this.finish(job, {
          kind: 'ok',
          recordsIn: msg.recordsIn,
          recordsOut: msg.recordsOut,
          buckets,
          ...(msg.bucketCounts ? { bucketCounts: msg.bucketCounts } : {}),
          runMs: msg.runMs,
          queueMs,
        });
      } else {
        this.finish(job, {
          kind: 'ok',
          recordsIn: msg.recordsIn,
          recordsOut: msg.recordsOut,
          result: views(msg.ranges, 0),
          runMs: msg.runMs,
          queueMs,
        });
      }
    } else if (msg.userError) {
      this.finish(job, { kind: 'userError', message: msg.message, runMs: msg.runMs, queueMs });
    } else {
      this.finish(job, { kind: 'failed', message: `task failed on the executor: ${msg.message}`, queueMs });
    }
    this.pump();
  }

  private onExit(slot: Slot, exitCode: number, previousDelayMs: number): void {
    if (this.closed || this.workers[slot.index] !== slot) return; // shut down, or replaced after a kill
    const job = slot.current;
    slot.current = undefined;
    this.onWorkerExit?.({ slot: slot.index, exitCode, ...(slot.lastError ? { error: slot.lastError } : {}), task: !!job });
    if (job) {
      const why = slot.lastError ? `${slot.lastError.name}: ${slot.lastError.message}` : `exit code ${exitCode}`;
      this.finish(job, {
        kind: 'failed',
        message: `task worker crashed while running the task (${why}); the worker was replaced`,
        queueMs: job.dispatchedAt - job.enqueuedAt,
      });
    }
    // A worker that never became ready is broken (e.g. its module fails to
    // load); back off instead of respawning in a tight loop.
    const delay = slot.ready ? 0 : Math.min(Math.max(previousDelayMs * 2, BROKEN_WORKER_RESTART_MS), 30_000);
    const respawn = () => {
      if (this.closed || this.workers[slot.index] !== slot) return;
      this.workers[slot.index] = this.spawn(slot.index, delay);
    };
    if (delay === 0) respawn();
    else setTimeout(respawn, delay).unref();
  }

  private cancel(job: Job): boolean {
    if (job.state === 'done') return false;
    if (job.state === 'queued') {
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
      this.finish(job, { kind: 'killed' });
      return true;
    }
    // Running: the worker is mid-way through user code that can't be
    // interrupted cooperatively, so stop the thread and start a fresh one.
    const slot = job.slot!;
    slot.current = undefined;
    this.finish(job, { kind: 'killed' });
    this.replace(slot);
    return true;
  }

  /** The task overran its timeout: stop its worker, name the operator it was in, fail it. */
  private timeOut(job: Job, timeoutMs: number): void {
    const slot = job.slot;
    if (job.state !== 'running' || !slot || slot.current !== job) return;
    const nodeId = slot.probe[0]!;
    const label = nodeId >= 0 ? this.labels.get(job.task.bundle.hash)?.[nodeId] : undefined;
    const operator = nodeId < 0 ? `the task's input handling (node ${job.task.nodeId})` : label ? `${label} (node ${nodeId})` : `node ${nodeId}`;
    slot.current = undefined;
    this.onTaskTimeout?.({ slot: slot.index, operator, timeoutMs });
    this.finish(job, {
      kind: 'failed',
      message:
        `task timed out after ${formatMs(timeoutMs)} (taskTimeout) while running operator ${operator} ` +
        `of ${job.task.bundle.source}; its worker thread was stopped and replaced`,
      queueMs: job.dispatchedAt - job.enqueuedAt,
      timedOut: true,
    });
    this.replace(slot);
  }

  /** Stop a slot's worker (mid-task) and start a fresh one in its place. */
  private replace(slot: Slot): void {
    const replacement = this.spawn(slot.index);
    this.workers[slot.index] = replacement;
    void slot.worker.terminate();
    this.pump();
  }

  private finish(job: Job, outcome: PoolOutcome): void {
    if (job.state === 'done') return;
    if (job.state === 'running') this.running--;
    if (job.timer) clearTimeout(job.timer);
    job.timer = undefined;
    job.state = 'done';
    job.slot = undefined;
    job.resolve(outcome);
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.workers.find((w) => w.ready && !w.current);
      if (!slot) return;
      const job = this.queue.shift()!;
      this.dispatch(slot, job);
    }
  }

  private dispatch(slot: Slot, job: Job): void {
    const hash = job.task.bundle.hash;
    const message: RunMessage = {
      ...job.message,
      delayMs: this.taskDelayMs,
      ...(slot.loaded.has(hash) ? {} : { code: job.task.bundle.code }),
    };
    slot.loaded.add(hash);
    slot.current = job;
    job.slot = slot;
    job.state = 'running';
    job.dispatchedAt = performance.now();
    this.running++;
    const timeoutMs = job.task.timeoutMs ?? 0;
    if (timeoutMs > 0) job.timer = setTimeout(() => this.timeOut(job, timeoutMs), timeoutMs);
    try {
      slot.worker.postMessage(message, [message.input]);
    } catch (e) {
      // Only a bug (e.g. an input buffer detached twice) gets here.
      slot.current = undefined;
      this.finish(job, { kind: 'failed', message: `cannot hand the task to a worker: ${(e as Error).message}`, queueMs: 0 });
    }
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Copy every input payload into one ArrayBuffer with [start, end) ranges. */
function packInputs(task: PoolTask, seq: number): Omit<RunMessage, 'code' | 'delayMs'> {
  let total = 0;
  for (const b of task.blocks) total += b.data.byteLength;
  for (const s of task.shuffles) for (const bucket of s.buckets) total += bucket.byteLength;
  const input = new Uint8Array(total);
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
    type: 'run',
    seq,
    bundleHash: task.bundle.hash,
    source: task.bundle.source,
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
