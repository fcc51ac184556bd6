/**
 * The scheduler's task channel to one executor incarnation: a long-lived
 * `TaskStream` call (services/executor/task-stream.ts is the other end).
 * Tasks handed to `send` in one turn of the event loop go out as one message
 * (setImmediate), so a round that launches on several slots — or the results
 * of several tasks that each free a place — costs one write, not one call per
 * launch; results come back packed and are routed to the callbacks of the
 * launch that sent them, by (task, attempt); a result too large for one
 * message arrives in slices and is handed on only once whole
 * (task-result-assembler.ts, one per call).
 *
 * When the call breaks or ends, every task sent on it that has not reported
 * is reported lost through its launch's callbacks (as a broken RunTasks call
 * was), and the next `send` opens a new call. Opened outside any trace
 * context: it outlives every batch; each task carries its stage's trace
 * context in its spec instead.
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { status as Status, type ClientDuplexStream } from '@grpc/grpc-js';
import { appendTo } from '../../lib/collections.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { ExecutorClient } from '../../lib/proto/index.js';
import type { RunTasksRequest } from '../../lib/proto/gen/rivulet/v1/RunTasksRequest.js';
import type { TaskResult__Output } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { TaskResults__Output } from '../../lib/proto/gen/rivulet/v1/TaskResults.js';
import type { TaskSpec } from '../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import type { GroupPlan } from '../../lib/proto/gen/rivulet/v1/GroupPlan.js';
import type { PlanRevocation } from '../../lib/proto/gen/rivulet/v1/PlanRevocation.js';
import { TaskResultAssembler } from './task-result-assembler.js';
import { isPlannedAttempt } from '../../lib/scheduling/group-plan.js';

/** Most tasks in one message: specs are small, but a window's task names many blocks; this keeps a message well under maxMessageBytes. */
const MAX_TASKS_PER_MESSAGE = 256;
/** Most block ids (or prefixes) in one message's drops: well under the executor's DropBlocks bound (100,000) and a message's size. */
const MAX_DROPS_PER_MESSAGE = 4096;

/** What a launch is told about its tasks: each result, or that the stream lost them. */
export interface LaunchCallbacks {
  onResult(result: TaskResult__Output): void;
  /** Several results that came in one message (all of this launch's): when given, used instead of onResult for them. */
  onResults?(results: TaskResult__Output[]): void;
  /**
   * The task stream broke before these tasks reported (executor died, bundle refused, ...).
   * `unreachable`: the failure was a transport one (UNAVAILABLE), so the
   * executor itself may be gone.
   */
  onLost(taskIds: string[], error: string, unreachable: boolean): void;
}

type Call = ClientDuplexStream<RunTasksRequest, TaskResults__Output>;

interface Outstanding {
  taskId: string;
  cb: LaunchCallbacks;
  /** The call it was written on; undefined while still in the outbox. */
  call?: Call;
}

export class TaskChannel {
  private call?: Call;
  private readonly outstanding = new Map<string, Outstanding>();
  private outbox: Array<{ spec: TaskSpec; entry: Outstanding }> = [];
  private flushScheduled = false;
  private closed = false;
  /** Group plans and revocations to send with the next message. */
  private plans: GroupPlan[] = [];
  private revocations: PlanRevocation[] = [];
  /** Ended jobs to name with the next message (executors drop their bundles). */
  private endedJobs: string[] = [];
  /** Blocks and prefixes to drop with the next messages (RunTasksRequest.drops). */
  private dropIds: string[] = [];
  private dropPrefixes: string[] = [];
  /** Messages written that carried tasks (launches from the scheduler), for status and tests. */
  launchMessages = 0;
  /**
   * A result no launch on this call is waiting for: a planned task's
   * (group-planner.ts), which an executor may report before the scheduler
   * has adopted it.
   */
  unsolicited?: (r: TaskResult__Output) => void;
  /** The call broke or ended: plans sent on it are gone with it. `unreachable`: a transport failure (the executor may be gone). */
  onBroken?: (unreachable: boolean) => void;

  constructor(
    private readonly client: ExecutorClient,
    private readonly executorId: string,
    /** maxTaskResultBytes: the most one task's result may hold while it is reassembled. */
    private readonly maxTaskResultBytes: number,
    private readonly log: Logger,
  ) {}

  /** Tasks in flight on this channel (sent or about to be) with no result yet. */
  get inFlight(): number {
    return this.outstanding.size;
  }

  send(tasks: TaskSpec[], cb: LaunchCallbacks): void {
    if (this.closed) {
      cb.onLost(
        tasks.map((t) => t.taskId!),
        `the task channel to executor ${this.executorId} is closed`,
        false,
      );
      return;
    }
    for (const spec of tasks) {
      const entry: Outstanding = { taskId: spec.taskId!, cb };
      this.outstanding.set(resultKey(spec.taskId!, spec.attempt ?? 0), entry);
      this.outbox.push({ spec, entry });
    }
    this.scheduleFlush();
  }

  /** Send group plans and revocations (with the next message). */
  sendPlans(plans: GroupPlan[], revocations: PlanRevocation[]): void {
    if (this.closed) return;
    this.plans.push(...plans);
    this.revocations.push(...revocations);
    this.scheduleFlush();
  }

  /** Tell the executor these jobs have ended (with the next message). */
  sendEndedJobs(jobIds: string[]): void {
    if (this.closed) return;
    this.endedJobs.push(...jobIds);
    this.scheduleFlush();
  }

  /** Drop these blocks (with the next message; as DropBlocks, best effort: nothing if the call breaks first). */
  sendDrops(blockIds: readonly string[], prefixes: readonly string[]): void {
    if (this.closed) return;
    for (const id of blockIds) this.dropIds.push(id);
    for (const p of prefixes) this.dropPrefixes.push(p);
    this.scheduleFlush();
  }

  /**
   * Attempts an executor started on its own from a plan sent on this call:
   * their results are routed like those of tasks sent here, and they are
   * reported lost if the call breaks. None open (the plan's call is gone): lost now.
   */
  expect(tasks: ReadonlyArray<{ taskId: string; attempt: number }>, cb: LaunchCallbacks): void {
    const call = this.call;
    if (!call || this.closed) {
      cb.onLost(
        tasks.map((t) => t.taskId),
        `the task stream to executor ${this.executorId} that carried the plan is gone`,
        false,
      );
      return;
    }
    for (const t of tasks) this.outstanding.set(resultKey(t.taskId, t.attempt), { taskId: t.taskId, cb, call });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.closed) return;
    const drops = this.dropIds.length + this.dropPrefixes.length;
    if (this.outbox.length === 0 && this.plans.length === 0 && this.revocations.length === 0 && this.endedJobs.length === 0 && drops === 0) return;
    const call = this.open();
    const queued = this.outbox;
    this.outbox = [];
    for (let i = 0; i < queued.length; i += MAX_TASKS_PER_MESSAGE) {
      const part = queued.slice(i, i + MAX_TASKS_PER_MESSAGE);
      for (const q of part) q.entry.call = call;
      call.write({ tasks: part.map((q) => q.spec) });
      this.launchMessages++;
    }
    if (this.plans.length > 0 || this.revocations.length > 0 || this.endedJobs.length > 0) {
      call.write({ plans: this.plans, revocations: this.revocations, endedJobs: this.endedJobs });
      this.plans = [];
      this.revocations = [];
      this.endedJobs = [];
    }
    // After the launches of this turn, so a drop never overtakes a task that was sent before it.
    for (let i = 0; i < this.dropIds.length; i += MAX_DROPS_PER_MESSAGE) {
      call.write({ drops: { blockIds: this.dropIds.slice(i, i + MAX_DROPS_PER_MESSAGE), prefixes: [] } });
    }
    for (let i = 0; i < this.dropPrefixes.length; i += MAX_DROPS_PER_MESSAGE) {
      call.write({ drops: { blockIds: [], prefixes: this.dropPrefixes.slice(i, i + MAX_DROPS_PER_MESSAGE) } });
    }
    this.dropIds = [];
    this.dropPrefixes = [];
  }

  private open(): Call {
    if (this.call) return this.call;
    const call: Call = context.with(ROOT_CONTEXT, () => this.client.taskStream());
    this.call = call;
    const assembler = new TaskResultAssembler(this.maxTaskResultBytes);
    let malformed = false;
    call.on('data', (msg: TaskResults__Output) => {
      if (malformed) return;
      // One message's results are handed on together, per launch: the scheduler takes them in one go.
      let byLaunch: Map<LaunchCallbacks, TaskResult__Output[]> | undefined;
      for (const m of msg.results) {
        let r: TaskResult__Output | undefined;
        try {
          r = assembler.accept(m);
        } catch (err) {
          // The executor broke the slicing protocol: nothing more from this call can be trusted.
          malformed = true;
          call.cancel();
          this.broken(call, `TaskStream of executor ${this.executorId} sent a malformed result: ${errorMessage(err)}`, false);
          return;
        }
        if (!r) continue;
        const key = resultKey(r.taskId, r.attempt);
        const entry = this.outstanding.get(key);
        if (!entry || entry.call !== call) {
          // A planned task's result before its run adopted it; otherwise a late result of an attempt already given up.
          if (isPlannedAttempt(r.attempt)) this.unsolicited?.(r);
          continue;
        }
        this.outstanding.delete(key);
        if (entry.cb.onResults) appendTo((byLaunch ??= new Map<LaunchCallbacks, TaskResult__Output[]>()), entry.cb, r);
        else entry.cb.onResult(r);
      }
      if (malformed || !byLaunch) return;
      for (const [cb, results] of byLaunch) cb.onResults!(results);
    });
    call.on('error', (err: { code?: number }) =>
      this.broken(call, `TaskStream to executor ${this.executorId} failed: ${errorMessage(err)}`, err.code === Status.UNAVAILABLE),
    );
    call.on('end', () => this.broken(call, `executor ${this.executorId} ended its TaskStream without reporting every task`, false));
    return call;
  }

  /** The call is over: whatever was sent on it and has not reported is lost. */
  private broken(call: Call, error: string, unreachable: boolean): void {
    if (this.call === call) {
      this.call = undefined;
      this.log.debug({ executorId: this.executorId, error, unreachable }, 'task stream broke');
      this.onBroken?.(unreachable);
    }
    const lost = new Map<LaunchCallbacks, string[]>();
    for (const [key, entry] of this.outstanding) {
      if (entry.call !== call) continue;
      this.outstanding.delete(key);
      appendTo(lost, entry.cb, entry.taskId);
    }
    if (lost.size > 0) this.log.debug({ executorId: this.executorId, error }, 'task stream broke with tasks in flight');
    for (const [cb, ids] of lost) cb.onLost(ids, error, unreachable);
  }

  /** Half-close: the executor finishes what it has, then ends the call. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.call?.end();
    // Tasks never written: lost now (their executor is being forgotten or replaced).
    const unsent = this.outbox;
    this.outbox = [];
    for (const q of unsent) this.outstanding.delete(resultKey(q.spec.taskId!, q.spec.attempt ?? 0));
    const lost = new Map<LaunchCallbacks, string[]>();
    for (const q of unsent) appendTo(lost, q.entry.cb, q.entry.taskId);
    for (const [cb, ids] of lost) cb.onLost(ids, `the task channel to executor ${this.executorId} was closed`, false);
  }
}

function resultKey(taskId: string, attempt: number): string {
  return `${taskId}#${attempt}`;
}
