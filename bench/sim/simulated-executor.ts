/**
 * BENCHMARK HARNESS, never the product path: one simulated executor for
 * bench/scheduler-scale.ts. It speaks the Executor gRPC service on its own
 * server so the real scheduler and receiver cannot tell it from an executor,
 * but it runs no code: every task "runs" for a modelled duration on one of
 * its slots and then reports a plausible result. Hundreds of them fit in one
 * process (bench/sim/executor-simulator.ts), which is what lets one 2-core
 * machine put the control plane in front of 256 × 4 slots.
 *
 * What it keeps faithful, because the scheduler's cost depends on it:
 * - admission: at most slots × taskQueueDepth tasks held, the rest refused
 *   with `queue_full`, exactly as services/executor/task-stream.ts does;
 *   `slots` run at once, the others wait in a FIFO queue;
 * - one long-lived TaskStream per scheduler, results packed per event-loop
 *   turn through the executor's own ResultOutbox;
 * - KillTasks, including `only_if_queued` (stealing gives back only tasks
 *   that have not started), each killed task reporting KILLED;
 * - PutBlock / PushBlocks / DropBlocks on the executor's own BlockStore, so
 *   the receiver's replication and the heartbeat's block figures are real;
 * - group plans (GroupPlan / PlanRevocation on the TaskStream), handled by
 *   the executor's own PlannedTasks (services/executor/planned-tasks.ts):
 *   the simulator tells it of every batch.ready, it builds the planned tasks
 *   and starts them here (not refused when full, as task-stream.ts does), and
 *   their results go back on the call the plan came on. A planned reducer
 *   waits for its buckets: when a map task of a planned shuffle finishes, the
 *   simulator records its buckets (shuffle-buckets.ts) here and on the
 *   executors its push targets name, as a real map task's writes and pushes
 *   would have stored them.
 * What it does not do: load or run job code, fetch shuffle inputs, move
 * bucket bytes (a launched reducer never waits for a push; the scheduler does
 * not either), or copy blocks from peers (ReplicateBlocks records what it
 * was asked for). A ShuffleWrite task reports `bucketSize` bytes for every
 * bucket, a result task an empty output.
 */
import type * as grpc from '@grpc/grpc-js';
import { systemClock } from '../../lib/clock.js';
import { InvalidArgumentError, NotFoundError, toServiceError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { ExecutorHandlers } from '../../lib/proto/gen/rivulet/v1/Executor.js';
import type { TaskResult } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { TaskResults } from '../../lib/proto/gen/rivulet/v1/TaskResults.js';
import type { HeartbeatMessage } from '../../lib/nats/subjects.js';
import { BlockStore } from '../../services/executor/block-store.js';
import { ANNOUNCE_BEATS, MAX_ANNOUNCED_BLOCKS } from '../../services/executor/incarnation.js';
import { TaskStreamCall } from '../../services/executor/task-stream.js';
import { PlannedTasks, type PlanSession, type PlannedTasksDeps } from '../../services/executor/planned-tasks.js';
import type { TaskSpec__Output } from '../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import type { AnnouncedBlock } from '../../lib/scheduling/group-plan.js';
import { ShuffleBuckets } from './shuffle-buckets.js';
import type { SkimmedRequest, SkimmedTask, SkimmedWrite } from './task-spec-skim.js';

export interface SimulatedExecutorOptions {
  executorId: string;
  slots: number;
  taskQueueDepth: number;
  /** How long every task holds its slot, in ms. */
  taskMs: number;
  /** Bytes reported for every shuffle bucket a map task writes (the scheduler only records them). */
  bucketSize: number;
  blockStoreBytes: number;
  maxMessageBytes: number;
  host: string;
  /** The first incarnation's epoch; a rejoin takes a higher one. */
  epoch: number;
  /** The receiver's GetBatchBlocks, for a planned batch whose batch.ready did not come. */
  fetchBatchBlocks: PlannedTasksDeps['fetchBatchBlocks'];
  /** Shared by the simulator's executors: the shuffleIdSuffix of every plan one of them accepted (a planned shuffle's id ends `:<suffix>`). */
  planSuffixes: Set<string>;
  /** A map task finished: record its buckets where a real one would have stored them (executor-simulator.ts). */
  mapFinished(executorId: string, write: SkimmedWrite): void;
  log: Logger;
}

/** Counters the simulator prints, so a run can tell a healthy harness from an overloaded one. */
export interface SimulatedExecutorStats {
  tasksSucceeded: number;
  tasksKilled: number;
  tasksRefused: number;
  rejoins: number;
  plannedStarted: number;
}

interface HeldTask {
  spec: SkimmedTask;
  report: (r: TaskResult) => void;
  acceptedAtMs: number;
  startedAtMs?: number;
  timer?: NodeJS.Timeout;
}

const attemptKey = (taskId: string, attempt: number) => `${taskId}#${attempt}`;

export class SimulatedExecutor {
  readonly store: BlockStore;
  readonly buckets = new ShuffleBuckets();
  readonly stats: SimulatedExecutorStats = { tasksSucceeded: 0, tasksKilled: 0, tasksRefused: 0, rejoins: 0, plannedStarted: 0 };
  private readonly planned: PlannedTasks;
  private epochNow: number;
  private address = '';
  private readonly held = new Map<string, HeldTask>();
  private readonly waiting: HeldTask[] = [];
  private running = 0;
  /** Heartbeats still to carry the input block ids (after a rejoin, as incarnation.ts does). */
  private announceLeft = 0;

  constructor(private readonly opts: SimulatedExecutorOptions) {
    this.store = new BlockStore(opts.blockStoreBytes);
    this.epochNow = opts.epoch;
    this.planned = new PlannedTasks({
      executorId: opts.executorId,
      epoch: () => this.epochNow,
      has: (id) => this.buckets.has(id),
      onPut: (listener) => this.buckets.onPut(listener),
      fetchBatchBlocks: opts.fetchBatchBlocks,
      clock: systemClock,
      log: opts.log,
    });
  }

  get executorId(): string {
    return this.opts.executorId;
  }

  /** The receiver announced a batch (NATS batch.ready): planned tasks of it that fall here start. */
  batchReady(stream: string, batchTimeMs: number, blocks: readonly AnnouncedBlock[]): void {
    this.planned.batchReady(stream, batchTimeMs, blocks);
  }

  get epoch(): number {
    return this.epochNow;
  }

  /** Set once its server is bound (heartbeats carry it). */
  setAddress(address: string): void {
    this.address = address;
  }

  heartbeat(): Omit<HeartbeatMessage, 'sentAtMs'> {
    const s = this.store.stats();
    return {
      executorId: this.opts.executorId,
      epoch: this.epochNow,
      address: this.address,
      host: this.opts.host,
      slots: this.opts.slots,
      taskQueueDepth: this.opts.taskQueueDepth,
      compactMapOutputs: true,
      streamDrops: true,
      freeSlots: Math.max(0, this.opts.slots - this.held.size),
      runningTasks: this.held.size,
      blockCount: s.count,
      blockBytes: s.bytes,
      blockCapacityBytes: s.capacityBytes,
      // The scheduler re-adopts input blocks only from these: without them a rejoined executor's blocks stay "lost".
      ...(this.announcing() ? { inputBlocks: this.store.idsOf('input').slice(0, MAX_ANNOUNCED_BLOCKS) } : {}),
    };
  }

  /**
   * The scheduler declared this incarnation lost (the simulator process was
   * too slow to heartbeat in time): rejoin as a new one, as
   * services/executor/incarnation.ts does. Its tasks are dropped without a
   * report — the scheduler already runs them elsewhere — and its next
   * heartbeats carry its input block ids, so batches reading them run again.
   */
  declaredLost(epoch: number): void {
    if (epoch !== this.epochNow) return;
    this.epochNow = Math.max(Date.now(), this.epochNow + 1);
    this.stats.rejoins++;
    for (const t of this.held.values()) clearTimeout(t.timer);
    this.held.clear();
    this.waiting.length = 0;
    this.running = 0;
    this.store.dropKinds(['shuffle', 'cached']);
    this.buckets.clear();
    this.planned.dropOlderThan(this.epochNow);
    this.announceLeft = ANNOUNCE_BEATS;
  }

  private announcing(): boolean {
    if (this.announceLeft <= 0) return false;
    this.announceLeft--;
    return true;
  }

  /** DropBlocks, as a call or on the task stream: blocks and the planned shuffles' bucket records. */
  private drop(blockIds: string[], prefixes: string[]): { dropped: number; bytesFreed: number } {
    const freed = this.store.drop(blockIds, prefixes);
    this.buckets.drop(prefixes);
    return freed;
  }

  /** Drop everything held (the simulator is stopping). */
  close(): void {
    this.planned.dropOlderThan(Number.POSITIVE_INFINITY);
    for (const t of this.held.values()) clearTimeout(t.timer);
    this.held.clear();
    this.waiting.length = 0;
  }

  private get maxHeld(): number {
    return this.opts.slots * this.opts.taskQueueDepth;
  }

  /**
   * Take one task: refused when full (queue_full, as the executor does),
   * else held until it finishes or is killed. A planned task is never
   * refused: the scheduler planned it onto this executor's slots.
   */
  private accept(spec: SkimmedTask, report: (r: TaskResult) => void, planned = false): void {
    if (!planned && this.held.size >= this.maxHeld) {
      this.stats.tasksRefused++;
      report({
        ...this.header(spec),
        state: 'FAILED',
        queueFull: true,
        error: `executor ${this.opts.executorId} already holds ${this.maxHeld} tasks (slots × taskQueueDepth)`,
      });
      return;
    }
    const task: HeldTask = { spec, report, acceptedAtMs: Date.now() };
    this.held.set(attemptKey(spec.taskId, spec.attempt), task);
    this.waiting.push(task);
    this.pump();
  }

  /** Start waiting tasks while a slot is free. */
  private pump(): void {
    while (this.running < this.opts.slots && this.waiting.length > 0) {
      const task = this.waiting.shift()!;
      this.running++;
      task.startedAtMs = Date.now();
      task.timer = setTimeout(() => this.finish(task), this.opts.taskMs);
    }
  }

  private finish(task: HeldTask): void {
    const key = attemptKey(task.spec.taskId, task.spec.attempt);
    if (this.held.get(key) !== task) return;
    this.held.delete(key);
    this.running--;
    this.stats.tasksSucceeded++;
    // Its buckets are in place before its result is sent, as a real map task's writes (and pushes) are.
    if (task.spec.write) this.opts.mapFinished(this.opts.executorId, task.spec.write);
    task.report(this.succeeded(task));
    this.pump();
  }

  /** KillTasks: `onlyIfQueued` withdraws a task only while it waits for a slot (stealing). */
  private kill(taskId: string, attempt: number, onlyIfQueued: boolean): boolean {
    const key = attemptKey(taskId, attempt);
    const task = this.held.get(key);
    if (!task) return false;
    const started = task.startedAtMs !== undefined;
    if (started && onlyIfQueued) return false;
    this.held.delete(key);
    if (started) {
      clearTimeout(task.timer);
      this.running--;
    } else this.waiting.splice(this.waiting.indexOf(task), 1);
    this.stats.tasksKilled++;
    task.report({ ...this.header(task.spec), state: 'KILLED' });
    this.pump();
    return true;
  }

  private header(spec: SkimmedTask): TaskResult {
    return { taskId: spec.taskId, attempt: spec.attempt, executorId: this.opts.executorId, epoch: this.epochNow };
  }

  /** What a real task of this kind would report: its buckets' sizes (or only their total, if asked) for a map task, an empty output for a result task. */
  private succeeded(task: HeldTask): TaskResult {
    const { spec } = task;
    const startedAt = task.startedAtMs ?? task.acceptedAtMs;
    const metrics = { recordsIn: 0, recordsOut: 0, bytesOut: 0, runMs: Date.now() - startedAt, fetchMs: 0, queueMs: startedAt - task.acceptedAtMs };
    const r: TaskResult = { ...this.header(spec), state: 'SUCCEEDED', metrics };
    if (spec.write) {
      metrics.bytesOut = spec.write.numPartitions * this.opts.bucketSize;
      if (!spec.write.totalBytesOnly) r.bucketBytes = new Array<number>(spec.write.numPartitions).fill(this.opts.bucketSize);
    } else r.records = { count: 0, payload: Buffer.alloc(0) };
    return r;
  }

  /** For `skimmingExecutorService()`: RunTasks and TaskStream receive skimmed requests. */
  handlers(): grpc.UntypedServiceImplementation {
    const store = this.store;
    const handlers: Pick<ExecutorHandlers, 'PutBlock' | 'PushBlocks' | 'FetchBlocks' | 'DropBlocks' | 'LoadJob' | 'KillTasks' | 'ReplicateBlocks'> = {
      PutBlock: (call, callback) => {
        try {
          const { blockId, batch } = call.request;
          if (!blockId || !batch) throw new InvalidArgumentError('PutBlock needs block_id and batch');
          store.put({ id: blockId, kind: 'input', count: batch.count, payload: batch.payload ?? Buffer.alloc(0) });
          callback(null, { executorId: this.opts.executorId, epoch: this.epochNow });
        } catch (e) {
          callback(toServiceError(e));
        }
      },
      PushBlocks: (call, callback) => {
        try {
          const blocks = call.request.blocks ?? [];
          store.putAll(blocks.map((b) => ({ id: b.blockId, kind: 'shuffle' as const, count: b.batch?.count ?? 0, payload: b.batch?.payload ?? Buffer.alloc(0), pinned: false })));
          callback(null, { stored: blocks.length });
        } catch (e) {
          callback(toServiceError(e));
        }
      },
      FetchBlocks: (call) => {
        // Only peers fetch, and simulated tasks never do; answered whole (inputs here are small) for completeness.
        for (const id of call.request.blockIds) {
          if (!store.get(id)) {
            call.emit('error', toServiceError(new NotFoundError(`block ${id} not found on executor ${this.opts.executorId}`)));
            return;
          }
        }
        for (const id of call.request.blockIds) {
          const b = store.get(id)!;
          call.write({ blockId: b.id, batch: { count: b.count, payload: b.payload }, offset: 0, totalBytes: b.payload.byteLength });
        }
        call.end();
      },
      DropBlocks: (call, callback) => callback(null, this.drop(call.request.blockIds, call.request.prefixes)),
      // No code runs here: the bundle is accepted and forgotten.
      LoadJob: (_call, callback) => callback(null, {}),
      KillTasks: (call, callback) => {
        let killed = 0;
        for (const t of call.request.tasks) {
          if (this.kill(t.taskId, t.attempt, call.request.onlyIfQueued)) killed++;
          // A planned task still waiting for its buckets has not been accepted here yet.
          else if (this.planned.kill(t.taskId, t.attempt)) killed++;
        }
        callback(null, { killed });
      },
      // Recorded, not copied: simulated tasks never read their inputs.
      ReplicateBlocks: (call, callback) => {
        try {
          store.putAll(call.request.blocks.map((b) => ({ id: b.blockId, kind: 'input' as const, count: b.records, payload: Buffer.alloc(0) })));
          callback(null, { replicated: call.request.blocks.length });
        } catch (e) {
          callback(toServiceError(e));
        }
      },
    };
    return {
      ...handlers,
      RunTasks: (call: grpc.ServerWritableStream<SkimmedRequest, TaskResult>) => {
        const tasks = call.request.tasks;
        let remaining = tasks.length;
        if (remaining === 0) {
          call.end();
          return;
        }
        for (const spec of tasks) {
          this.accept(spec, (r) => {
            call.write(r);
            if (--remaining === 0) call.end();
          });
        }
      },
      TaskStream: (call: grpc.ServerDuplexStream<SkimmedRequest, TaskResults>) => this.serveTaskStream(call),
    };
  }

  /** The executor end of the scheduler's task channel, with task-stream.ts's semantics (packed results, end after the last one). */
  private serveTaskStream(call: grpc.ServerDuplexStream<SkimmedRequest, TaskResults>): void {
    const session = new TaskStreamCall(call, this.opts.maxMessageBytes);
    const start = (spec: SkimmedTask, planned: boolean) => {
      session.begun();
      this.accept(
        spec,
        (r) => {
          if (session.isOpen) session.outbox.write(r);
          session.ended();
        },
        planned,
      );
    };
    const planSession: PlanSession = {
      get isOpen() {
        return session.isOpen;
      },
      start: (spec) => {
        this.stats.plannedStarted++;
        start(fromSpec(spec), true);
      },
      report: (r) => {
        if (session.isOpen) session.outbox.write(r);
      },
    };
    call.on('data', (req: SkimmedRequest) => {
      for (const spec of req.tasks) start(spec, false);
      for (const plan of req.plans) {
        this.opts.planSuffixes.add(plan.shuffleIdSuffix);
        this.planned.accept(plan, planSession);
      }
      for (const r of req.revocations) this.planned.revoke(r);
      if (req.drops) this.drop(req.drops.blockIds, req.drops.prefixes);
    });
  }
}

/** A planned task's spec (PlannedTasks builds it in full) as a simulated task needs it. */
function fromSpec(spec: TaskSpec__Output): SkimmedTask {
  const task: SkimmedTask = { taskId: spec.taskId, attempt: spec.attempt };
  const w = spec.shuffleWrite;
  if (w) {
    task.write = {
      shuffleId: w.shuffleId,
      mapPartition: w.mapPartitionOffset + spec.partition,
      numPartitions: w.numPartitions,
      totalBytesOnly: w.totalBytesOnly,
      pushTargets: () => w.push.map((p) => ({ executorId: p.executor?.executorId ?? '', reducePartitions: p.reducePartitions })),
    };
  }
  return task;
}
