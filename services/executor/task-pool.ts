/**
 * The executor's task slots: at most `slots` tasks run at once, each in a
 * worker_thread off the gRPC event loop, and a FIFO queue holds tasks beyond
 * the free slots.
 *
 * Workers are dedicated to one job bundle (by content hash): a worker that
 * has run a bundle's code never runs another's, so a job that patches a
 * built-in prototype or keeps global state cannot reach another job's tasks
 * (an identical bundle is the same code and shares them). Slots are shared:
 * workers start unbound ("spares", `slots` of them at start-up), are bound to
 * a bundle by the first task they take, and stay warm for it; up to
 * `maxWorkers` exist at once, the least recently used idle worker of another
 * bundle making way when a bundle needs one more, and a worker idle for
 * `idleTimeoutMs` is stopped. Every worker has `resourceLimits` (heap).
 *
 * Responsibilities:
 *  - pack a task's inputs into ONE ArrayBuffer at submit time (one memcpy per
 *    input, then a transfer — never an object graph across threads), and
 *    unpack outputs as zero-copy Buffer views of the returned ArrayBuffer;
 *  - send a bundle's code to a worker only the first time it runs that hash;
 *  - replace a worker that crashes, exits or runs out of memory and fail its
 *    task as a cluster failure (the scheduler may retry elsewhere);
 *  - cancel: a queued task is removed; a running task's worker is terminated
 *    and replaced, so a losing speculative copy frees its slot at once;
 *  - time out: a task that holds its slot longer than its `timeoutMs` (the
 *    scheduler's taskTimeout) has its worker terminated and replaced, and
 *    fails as a cluster failure (retried, then the batch fails) naming the
 *    operator whose code was running — read from a probe the worker's
 *    runtime writes into memory shared with this thread, since a thread
 *    stuck in a loop can't answer;
 *  - stop an idle worker that stays busy between tasks (job code running in
 *    a timer it scheduled), which would otherwise burn a core for good.
 *
 * It never talks to the network or the block store; task-runner.ts does.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
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
  /** Tasks running at once. */
  slots: number;
  /**
   * Worker threads alive at once, over all bundles (running, idle or starting).
   * At least `slots`. @default 2 × slots
   */
  maxWorkers?: number;
  /** A worker bound to a bundle and idle this long is stopped (0 = never). @default 60_000 */
  idleTimeoutMs?: number;
  /** Heap limit of each worker (resourceLimits.maxOldGenerationSizeMb), bytes; 0 = Node's default. @default 0 */
  memoryBytes?: number;
  /** Compiled task-worker.js. @default next to this module, or in dist/ when running from source */
  workerPath?: string;
  /** tests/demos only: delay before each task. @default 0 */
  taskDelayMs?: number;
  /** tests/demos only: every task holds its slot `taskSlowdown` times as long as it ran (a slow machine). @default 1 */
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

/** One worker thread. */
interface Slot {
  /** The worker's number (names the thread; reported in logs). */
  index: number;
  worker: Worker;
  /** The bundle hash it is dedicated to; undefined while it has run no job code (a spare). */
  bundle?: string;
  /** `source` of that bundle, for logs. */
  source?: string;
  /** The bundle's code was sent to it. */
  loaded?: boolean;
  /** [0]: the graph node whose user code the worker runs now (-1: none); shared with the worker. */
  probe: Int32Array;
  ready: boolean;
  current?: Job;
  lastError?: Error;
  /** When it last finished a task (performance.now()). */
  idleSince: number;
  /** Its event-loop utilisation when last checked idle, to see whether job code runs between tasks. */
  elu?: EventLoopUtilization;
  /** Stopped on purpose (killed, timed out, reaped): its exit is expected. */
  retired?: boolean;
}

/** A worker that dies before it is ready is restarted after this delay, so a broken worker can't spin. */
const BROKEN_WORKER_RESTART_MS = 1000;
/** Bundles whose operator labels are remembered (the oldest is forgotten first; a forgotten one is named by node id). */
const MAX_LABELLED_BUNDLES = 256;
/** How often idle workers are checked (reaping, busy between tasks). */
const IDLE_CHECK_MS = 1000;
/** An idle worker whose event loop was this busy over a whole check runs job code between tasks. */
const BUSY_IDLE_UTILIZATION = 0.9;

export class TaskPool {
  readonly slots: number;
  readonly maxWorkers: number;
  private readonly workerPath: string;
  private readonly taskDelayMs: number;
  private readonly taskSlowdown: number;
  private readonly idleTimeoutMs: number;
  private readonly memoryMb: number;
  /** Every live worker. */
  private readonly workers = new Set<Slot>();
  /** Idle ready workers bound to each bundle (most recently idle last). */
  private readonly idle = new Map<string, Slot[]>();
  /** Ready workers bound to no bundle yet. */
  private readonly spares: Slot[] = [];
  /** Workers started and not ready yet (they become spares). */
  private starting = 0;
  private readonly queue: Job[] = [];
  private readonly onWorkerExit: TaskPoolOptions['onWorkerExit'];
  private readonly onTaskTimeout: TaskPoolOptions['onTaskTimeout'];
  private readonly onBusyIdleWorker: TaskPoolOptions['onBusyIdleWorker'];
  /** Operator labels of each loaded bundle, by graph node id. */
  private readonly labels = new Map<string, string[]>();
  private nextSeq = 1;
  private nextWorker = 0;
  private running = 0;
  private closed = false;
  private readonly readyWaiters: Array<() => void> = [];
  private readonly idleCheck: NodeJS.Timeout;
  /** A respawn waiting out a broken worker's back-off. */
  private respawnTimer: NodeJS.Timeout | undefined;
  private respawnDelayMs = 0;

  constructor(opts: TaskPoolOptions) {
    if (!Number.isInteger(opts.slots) || opts.slots < 1) throw new RangeError(`slots must be a positive integer, got ${opts.slots}`);
    this.slots = opts.slots;
    this.maxWorkers = Math.max(this.slots, opts.maxWorkers || 2 * this.slots);
    this.workerPath = opts.workerPath ?? defaultWorkerPath();
    if (!existsSync(this.workerPath)) throw new Error(`task worker not found at ${this.workerPath}`);
    this.taskDelayMs = Math.max(0, opts.taskDelayMs ?? 0);
    this.taskSlowdown = Math.max(1, opts.taskSlowdown ?? 1);
    this.idleTimeoutMs = Math.max(0, opts.idleTimeoutMs ?? 60_000);
    this.memoryMb = opts.memoryBytes ? Math.max(16, Math.floor(opts.memoryBytes / (1 << 20))) : 0;
    this.onWorkerExit = opts.onWorkerExit;
    this.onTaskTimeout = opts.onTaskTimeout;
    this.onBusyIdleWorker = opts.onBusyIdleWorker;
    for (let i = 0; i < this.slots; i++) this.spawn();
    this.idleCheck = setInterval(() => this.checkIdle(), IDLE_CHECK_MS);
    this.idleCheck.unref();
  }

  /** Resolve once the first workers have started (so the first tasks don't pay for thread start-up). */
  ready(): Promise<void> {
    if (this.starting === 0) return Promise.resolve();
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

  /** Worker threads alive now, and how many of them each bundle has (spares under ''). */
  workerCounts(): { total: number; byBundle: Map<string, number> } {
    const byBundle = new Map<string, number>();
    for (const w of this.workers) byBundle.set(w.bundle ?? '', (byBundle.get(w.bundle ?? '') ?? 0) + 1);
    return { total: this.workers.size, byBundle };
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
    clearInterval(this.idleCheck);
    if (this.respawnTimer) clearTimeout(this.respawnTimer);
    for (const job of this.queue.splice(0)) this.finish(job, { kind: 'failed', message: 'executor shutting down', queueMs: 0 });
    const exits = [...this.workers].map((slot) => {
      if (slot.current) this.finish(slot.current, { kind: 'failed', message: 'executor shutting down', queueMs: 0 });
      slot.retired = true;
      return slot.worker.terminate();
    });
    this.workers.clear();
    await Promise.allSettled(exits);
  }

  private spawn(): void {
    const probe = new SharedArrayBuffer(4);
    const workerData: TaskWorkerData = { probe };
    const index = this.nextWorker++;
    const worker = new Worker(this.workerPath, {
      name: `rivulet-task-${index}`,
      workerData,
      ...(this.memoryMb > 0 ? { resourceLimits: { maxOldGenerationSizeMb: this.memoryMb } } : {}),
    });
    const slot: Slot = { index, worker, probe: new Int32Array(probe), ready: false, idleSince: performance.now() };
    slot.probe[0] = -1;
    this.workers.add(slot);
    this.starting++;
    worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
    worker.on('error', (err) => {
      slot.lastError = err;
    });
    worker.on('exit', (code) => this.onExit(slot, code));
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    if (slot.retired) return; // a stopped worker's late message
    if (msg.type === 'ready') {
      slot.ready = true;
      this.starting--;
      this.respawnDelayMs = 0;
      this.spares.push(slot);
      if (this.starting === 0) for (const w of this.readyWaiters.splice(0)) w();
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
    this.becameIdle(slot);
    this.pump();
  }

  private becameIdle(slot: Slot): void {
    slot.idleSince = performance.now();
    slot.elu = undefined;
    let list = this.idle.get(slot.bundle!);
    if (!list) this.idle.set(slot.bundle!, (list = []));
    list.push(slot);
  }

  private onExit(slot: Slot, exitCode: number): void {
    if (this.closed || slot.retired) return; // shut down, or stopped on purpose (and already replaced)
    const wasReady = slot.ready;
    this.forget(slot);
    if (this.starting === 0) for (const w of this.readyWaiters.splice(0)) w();
    const job = slot.current;
    slot.current = undefined;
    this.onWorkerExit?.({ slot: slot.index, exitCode, ...(slot.lastError ? { error: slot.lastError } : {}), task: !!job, ...(slot.bundle ? { bundle: slot.bundle } : {}) });
    if (job) {
      const oom = (slot.lastError as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      const why = oom
        ? `ran out of memory (the worker's heap limit is ${this.memoryMb} MiB: taskWorkerMemory)`
        : slot.lastError
          ? `crashed (${slot.lastError.name}: ${slot.lastError.message})`
          : `crashed (exit code ${exitCode})`;
      this.finish(job, {
        kind: 'failed',
        message: `task worker ${why} while running the task of ${job.task.bundle.source}; the worker was replaced`,
        queueMs: job.dispatchedAt - job.enqueuedAt,
      });
    }
    // A worker that never became ready is broken (e.g. its module fails to
    // load); back off instead of respawning in a tight loop.
    if (wasReady) {
      this.ensureSpare();
      this.pump();
      return;
    }
    this.respawnDelayMs = Math.min(Math.max(this.respawnDelayMs * 2, BROKEN_WORKER_RESTART_MS), 30_000);
    if (this.respawnTimer) return;
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = undefined;
      if (this.closed) return;
      this.ensureSpare();
      this.pump();
    }, this.respawnDelayMs);
    this.respawnTimer.unref();
  }

  /** Take a worker out of every index (it is stopping or gone). */
  private forget(slot: Slot): void {
    if (!this.workers.delete(slot)) return;
    if (!slot.ready) this.starting--;
    const spare = this.spares.indexOf(slot);
    if (spare >= 0) this.spares.splice(spare, 1);
    const list = slot.bundle !== undefined ? this.idle.get(slot.bundle) : undefined;
    const i = list?.indexOf(slot) ?? -1;
    if (i >= 0) {
      list!.splice(i, 1);
      if (list!.length === 0) this.idle.delete(slot.bundle!);
    }
  }

  /** Stop a worker on purpose (killed mid-task, timed out, reaped). */
  private retire(slot: Slot): void {
    slot.retired = true;
    this.forget(slot);
    void slot.worker.terminate();
  }

  /** Keep a spare starting or ready, within maxWorkers, so a replaced worker's slot is quickly usable. */
  private ensureSpare(): void {
    if (this.closed || this.spares.length + this.starting > 0 || this.workers.size >= this.maxWorkers) return;
    this.spawn();
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

  /** Stop a worker (mid-task) and start a fresh spare in its place. */
  private replace(slot: Slot): void {
    this.retire(slot);
    this.ensureSpare();
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

  /**
   * Start queued tasks, oldest first, while slots are free: on an idle worker
   * of the task's bundle, else on a spare (which becomes the bundle's). A task
   * that finds neither keeps its place and its slot, and a spare is started
   * for it — making room by stopping the least recently used idle worker of
   * another bundle when maxWorkers are alive.
   */
  private pump(): void {
    if (this.closed) return;
    let free = this.slots - this.running;
    let waiting = 0;
    for (let i = 0; i < this.queue.length && free > 0; ) {
      const job = this.queue[i]!;
      const slot = this.takeWorker(job.task.bundle);
      if (slot) {
        this.queue.splice(i, 1);
        this.dispatch(slot, job);
      } else {
        waiting++;
        i++;
      }
      free--;
    }
    for (let need = waiting - this.starting; need > 0; need--) {
      if (this.workers.size >= this.maxWorkers && !this.evictIdle()) break;
      this.spawn();
    }
  }

  private takeWorker(bundle: PoolBundle): Slot | undefined {
    const list = this.idle.get(bundle.hash);
    if (list && list.length > 0) {
      const slot = list.pop()!;
      if (list.length === 0) this.idle.delete(bundle.hash);
      return slot;
    }
    const spare = this.spares.pop();
    if (!spare) return undefined;
    spare.bundle = bundle.hash;
    spare.source = bundle.source;
    return spare;
  }

  /** Stop the least recently used idle bound worker; false when there is none. */
  private evictIdle(): boolean {
    let oldest: Slot | undefined;
    for (const list of this.idle.values()) {
      const first = list[0];
      if (first && (!oldest || first.idleSince < oldest.idleSince)) oldest = first;
    }
    if (!oldest) return false;
    this.retire(oldest);
    return true;
  }

  /**
   * Every IDLE_CHECK_MS: stop bound workers idle past idleTimeoutMs, and idle
   * workers whose event loop stayed busy since the last check — job code they
   * run between tasks (a timer it scheduled), burning a core.
   */
  private checkIdle(): void {
    if (this.closed) return;
    const now = performance.now();
    for (const list of [...this.idle.values()]) {
      for (const slot of [...list]) {
        if (this.idleTimeoutMs > 0 && now - slot.idleSince >= this.idleTimeoutMs) {
          this.retire(slot);
          continue;
        }
        const elu = slot.worker.performance.eventLoopUtilization();
        const since = slot.elu ? slot.worker.performance.eventLoopUtilization(elu, slot.elu) : undefined;
        slot.elu = elu;
        if (since && since.utilization >= BUSY_IDLE_UTILIZATION) {
          this.onBusyIdleWorker?.({ slot: slot.index, bundle: slot.bundle!, source: slot.source ?? slot.bundle! });
          this.retire(slot);
        }
      }
    }
    this.pump();
  }

  private dispatch(slot: Slot, job: Job): void {
    const message: RunMessage = {
      ...job.message,
      delayMs: this.taskDelayMs,
      // A worker runs one bundle only: it is sent the code with its first task.
      ...(slot.loaded ? {} : { code: job.task.bundle.code }),
    };
    slot.loaded = true;
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
      this.becameIdle(slot);
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
