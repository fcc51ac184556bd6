/**
 * The executor's task worker threads: each a worker_thread off the gRPC event
 * loop, dedicated to one job bundle (by content hash). A worker that has run
 * a bundle's code never runs another's, so a job that patches a built-in
 * prototype or keeps global state cannot reach another job's tasks (an
 * identical bundle is the same code and shares them).
 *
 * Workers start unbound ("spares", one per slot at start-up), are bound to a
 * bundle by the first tasks they take, and stay warm for it; up to
 * `maxWorkers` exist at once, the least recently used idle worker of another
 * bundle making way when a bundle needs one more. Every `IDLE_CHECK_MS` a
 * worker idle for `idleTimeoutMs` is stopped, and so is an idle worker whose
 * event loop stayed busy since the last check (job code running in a timer
 * it scheduled would otherwise burn a core for good; not under a CPU profiler,
 * which makes every idle worker look busy). A worker that dies
 * before it is ready is broken (its module fails to load): it is restarted
 * with a back-off instead of in a tight loop. Every worker has
 * `resourceLimits` (heap).
 *
 * Owns: the threads, which bundle each is bound to, and the operator labels
 * the workers report. May not: decide which task runs where — the pool
 * (task-pool.ts) takes workers from here, hands them batches of tasks, and is
 * told of every answer and of every unexpected exit (it fails or queues again
 * what the worker held).
 */
import { Worker } from 'node:worker_threads';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { PROBE_BYTES, PROBE_NODE, PROBE_TASK, type FromWorker, type ResultsMessage, type TaskWorkerData } from './worker-protocol.js';

/** One worker thread; `B` is what the pool hands it (a batch of tasks). */
export interface TaskWorker<B> {
  /** The worker's number (names the thread; reported in logs). */
  index: number;
  worker: Worker;
  /** The bundle hash it is dedicated to; undefined while it has run no job code (a spare). */
  bundle?: string;
  /** `source` of that bundle, for logs. */
  source?: string;
  /** The bundle's code was sent to it. */
  loaded?: boolean;
  /** Shared with the worker: [PROBE_NODE] the node whose user code runs, [PROBE_TASK] the batch index of the task running (-1: none). */
  probe: Int32Array;
  /** Shared with the worker: [PROBE_STARTED_AT] when the running task started. */
  probeTime: Float64Array;
  ready: boolean;
  /** The batch it works on (set and cleared by the pool). */
  batch?: B;
  lastError?: Error;
  /** When it last finished a batch (performance.now()). */
  idleSince: number;
  /** Its event-loop utilisation when last checked idle, to see whether job code runs between tasks. */
  elu?: EventLoopUtilization;
  /** Stopped on purpose (killed, timed out, reaped): its exit is expected. */
  retired?: boolean;
}

export interface TaskWorkersOptions<B> {
  /** Spares started at once (the pool's slots). */
  initial: number;
  /** Worker threads alive at once, over all bundles (running, idle or starting). */
  maxWorkers: number;
  /** Compiled task-worker.js. */
  workerPath: string;
  /** A worker bound to a bundle and idle this long is stopped (0 = never). */
  idleTimeoutMs: number;
  /** Heap limit of each worker, MiB; 0 = Node's default. */
  memoryMb: number;
  /** A worker's answers (every message but 'ready' and 'operators'). */
  onResults(w: TaskWorker<B>, msg: ResultsMessage): void;
  /** A worker died without being stopped on purpose; it is out of every index already, and a spare will replace it. */
  onExit(w: TaskWorker<B>, exitCode: number): void;
  /** An idle worker was stopped because its job's code kept it busy between tasks (for logging). */
  onBusyIdle(w: TaskWorker<B>): void;
  /** Workers became usable (a spare ready, idle ones reaped): the pool hands out what waits. */
  onCapacity(): void;
}

/** A worker that dies before it is ready is restarted after this delay (doubling, up to 30 s), so a broken worker can't spin. */
const BROKEN_WORKER_RESTART_MS = 1000;
/** Bundles whose operator labels are remembered (the oldest is forgotten first; a forgotten one is named by node id). */
const MAX_LABELLED_BUNDLES = 256;
/** How often idle workers are checked (reaping, busy between tasks). */
const IDLE_CHECK_MS = 1000;
/** An idle worker whose event loop was this busy over a whole check runs job code between tasks. */
const BUSY_IDLE_UTILIZATION = 0.9;
/**
 * Workers inherit the process's node flags (given or from NODE_OPTIONS); under `--cpu-prof` an idle
 * worker's event-loop utilisation reads ~0.99 (measured: an idle worker, with and without the flag), so
 * the busy-idle check would stop every warm worker each second and the profile would show thread
 * start-up, not tasks.
 */
const UNDER_PROFILER = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a.startsWith('--cpu-prof'));

export class TaskWorkers<B> {
  /** Every live worker. */
  private readonly workers = new Set<TaskWorker<B>>();
  /** Idle ready workers bound to each bundle (most recently idle last). */
  private readonly idle = new Map<string, Array<TaskWorker<B>>>();
  /** Ready workers bound to no bundle yet. */
  private readonly spares: Array<TaskWorker<B>> = [];
  /** Workers started and not ready yet (they become spares). */
  private starting = 0;
  /** Operator labels of each loaded bundle, by graph node id. */
  private readonly labels = new Map<string, string[]>();
  private nextWorker = 0;
  private closed = false;
  private readonly readyWaiters: Array<() => void> = [];
  private readonly idleCheck: NodeJS.Timeout;
  /** A respawn waiting out a broken worker's back-off. */
  private respawnTimer: NodeJS.Timeout | undefined;
  private respawnDelayMs = 0;

  constructor(private readonly opts: TaskWorkersOptions<B>) {
    for (let i = 0; i < opts.initial; i++) this.spawn();
    this.idleCheck = setInterval(() => this.checkIdle(), IDLE_CHECK_MS);
    this.idleCheck.unref();
  }

  /** Resolve once the workers started so far are ready (so the first tasks don't pay for thread start-up). */
  ready(): Promise<void> {
    if (this.starting === 0) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Worker threads alive now, and how many of them each bundle has (spares under ''). */
  counts(): { total: number; byBundle: Map<string, number> } {
    const byBundle = new Map<string, number>();
    for (const w of this.workers) byBundle.set(w.bundle ?? '', (byBundle.get(w.bundle ?? '') ?? 0) + 1);
    return { total: this.workers.size, byBundle };
  }

  /** Every live worker (shut-down). */
  all(): Iterable<TaskWorker<B>> {
    return this.workers;
  }

  /** An operator's label as the bundle's workers reported it, if known. */
  label(bundleHash: string, nodeId: number): string | undefined {
    return this.labels.get(bundleHash)?.[nodeId];
  }

  /** An idle worker of the bundle, else a spare (bound to it now); undefined when neither is ready. */
  take(bundle: { hash: string; source: string }): TaskWorker<B> | undefined {
    const list = this.idle.get(bundle.hash);
    if (list && list.length > 0) {
      const w = list.pop()!;
      if (list.length === 0) this.idle.delete(bundle.hash);
      return w;
    }
    const spare = this.spares.pop();
    if (!spare) return undefined;
    spare.bundle = bundle.hash;
    spare.source = bundle.source;
    return spare;
  }

  /** The worker finished its batch: idle, warm for its bundle. */
  idled(w: TaskWorker<B>): void {
    w.idleSince = performance.now();
    w.elu = undefined;
    let list = this.idle.get(w.bundle!);
    if (!list) this.idle.set(w.bundle!, (list = []));
    list.push(w);
  }

  /**
   * Start workers for `waiting` tasks that found none (beyond those starting already), within maxWorkers — making
   * room by stopping the least recently used idle worker of another bundle.
   */
  startFor(waiting: number): void {
    for (let need = waiting - this.starting; need > 0; need--) {
      if (this.workers.size >= this.opts.maxWorkers && !this.evictIdle()) break;
      this.spawn();
    }
  }

  /** Keep a spare starting or ready, within maxWorkers, so a replaced worker's slot is quickly usable. */
  ensureSpare(): void {
    if (this.closed || this.spares.length + this.starting > 0 || this.workers.size >= this.opts.maxWorkers) return;
    this.spawn();
  }

  /** Stop a worker on purpose (killed mid-task, timed out, reaped). */
  retire(w: TaskWorker<B>): void {
    w.retired = true;
    this.forget(w);
    void w.worker.terminate();
  }

  /** Terminate every worker (the pool has failed what they held). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.idleCheck);
    if (this.respawnTimer) clearTimeout(this.respawnTimer);
    const exits = [...this.workers].map((w) => {
      w.retired = true;
      return w.worker.terminate();
    });
    this.workers.clear();
    await Promise.allSettled(exits);
  }

  private spawn(): void {
    const probe = new SharedArrayBuffer(PROBE_BYTES);
    const workerData: TaskWorkerData = { probe };
    const index = this.nextWorker++;
    const worker = new Worker(this.opts.workerPath, {
      name: `rivulet-task-${index}`,
      workerData,
      ...(this.opts.memoryMb > 0 ? { resourceLimits: { maxOldGenerationSizeMb: this.opts.memoryMb } } : {}),
    });
    const w: TaskWorker<B> = {
      index,
      worker,
      probe: new Int32Array(probe, 0, 2),
      probeTime: new Float64Array(probe),
      ready: false,
      idleSince: performance.now(),
    };
    w.probe[PROBE_NODE] = -1;
    w.probe[PROBE_TASK] = -1;
    this.workers.add(w);
    this.starting++;
    worker.on('message', (msg: FromWorker) => this.onMessage(w, msg));
    worker.on('error', (err) => {
      w.lastError = err;
    });
    worker.on('exit', (code) => this.onExit(w, code));
  }

  private onMessage(w: TaskWorker<B>, msg: FromWorker): void {
    if (w.retired) return; // a stopped worker's late message
    if (msg.type === 'ready') {
      w.ready = true;
      this.starting--;
      this.respawnDelayMs = 0;
      this.spares.push(w);
      if (this.starting === 0) for (const resolve of this.readyWaiters.splice(0)) resolve();
      this.opts.onCapacity();
      return;
    }
    if (msg.type === 'operators') {
      this.labels.delete(msg.bundleHash);
      this.labels.set(msg.bundleHash, msg.labels);
      if (this.labels.size > MAX_LABELLED_BUNDLES) this.labels.delete(this.labels.keys().next().value!);
      return;
    }
    this.opts.onResults(w, msg);
  }

  private onExit(w: TaskWorker<B>, exitCode: number): void {
    if (this.closed || w.retired) return; // shut down, or stopped on purpose (and already replaced)
    const wasReady = w.ready;
    this.forget(w);
    if (this.starting === 0) for (const resolve of this.readyWaiters.splice(0)) resolve();
    this.opts.onExit(w, exitCode);
    if (wasReady) {
      this.ensureSpare();
      this.opts.onCapacity();
      return;
    }
    // Never became ready: broken (e.g. its module fails to load); back off instead of respawning in a tight loop.
    this.respawnDelayMs = Math.min(Math.max(this.respawnDelayMs * 2, BROKEN_WORKER_RESTART_MS), 30_000);
    if (this.respawnTimer) return;
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = undefined;
      if (this.closed) return;
      this.ensureSpare();
      this.opts.onCapacity();
    }, this.respawnDelayMs);
    this.respawnTimer.unref();
  }

  /** Take a worker out of every index (it is stopping or gone). */
  private forget(w: TaskWorker<B>): void {
    if (!this.workers.delete(w)) return;
    if (!w.ready) this.starting--;
    const spare = this.spares.indexOf(w);
    if (spare >= 0) this.spares.splice(spare, 1);
    const list = w.bundle !== undefined ? this.idle.get(w.bundle) : undefined;
    const i = list?.indexOf(w) ?? -1;
    if (i >= 0) {
      list!.splice(i, 1);
      if (list!.length === 0) this.idle.delete(w.bundle!);
    }
  }

  /** Stop the least recently used idle bound worker; false when there is none. */
  private evictIdle(): boolean {
    let oldest: TaskWorker<B> | undefined;
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
      for (const w of [...list]) {
        if (this.opts.idleTimeoutMs > 0 && now - w.idleSince >= this.opts.idleTimeoutMs) {
          this.retire(w);
          continue;
        }
        const elu = w.worker.performance.eventLoopUtilization();
        const since = w.elu ? w.worker.performance.eventLoopUtilization(elu, w.elu) : undefined;
        w.elu = elu;
        if (!UNDER_PROFILER && since && since.utilization >= BUSY_IDLE_UTILIZATION) {
          this.opts.onBusyIdle(w);
          this.retire(w);
        }
      }
    }
    this.opts.onCapacity();
  }
}
