/**
 * The executor's end of the scheduler's task channel (`TaskStream`): one
 * long-lived call per scheduler and executor incarnation, on which the
 * scheduler sends packed groups of tasks and this side sends results back
 * packed — every result that finished in one turn of the event loop in one
 * message. A flow of tiny tasks then costs one message per round each way,
 * instead of a new call (HTTP/2 stream, headers, trailers) per launch and a
 * message per result: that per-call cost, not the tasks, was what bounded
 * task throughput.
 *
 * Semantics are RunTasks': each task is started at once (the task pool queues
 * what exceeds the free slots), a task beyond slots × taskQueueDepth is
 * answered with `queue_full`, every task gets exactly one result. When the
 * scheduler half-closes, the results still due are sent and then the call
 * ends; when the call is cancelled (the scheduler went away), results are
 * dropped — the scheduler runs those tasks again.
 */
import * as grpc from '@grpc/grpc-js';
import { leaderTermOf, type LeaderTermFence } from '../../lib/grpc/leader-term.js';
import type { Logger } from '../../lib/log.js';
import type { DropBlocksRequest__Output } from '../../lib/proto/gen/rivulet/v1/DropBlocksRequest.js';
import type { RunTasksRequest__Output } from '../../lib/proto/gen/rivulet/v1/RunTasksRequest.js';
import type { TaskResult } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { TaskResults } from '../../lib/proto/gen/rivulet/v1/TaskResults.js';
import type { TaskSpec__Output } from '../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import type { TaskRunner } from './task-runner.js';
import type { PlannedTasks } from './planned-tasks.js';
import { ResultWriter, type ResultSink } from './result-writer.js';

/** Framing allowance per result beside its payload (ids, metrics, bucket sizes). */
const RESULT_OVERHEAD = 512;

/**
 * Results waiting to be sent, flushed once per event-loop turn (setImmediate)
 * or as soon as they would fill half a message, so one packed message never
 * exceeds maxMessageBytes however many results finish together (a slice of a
 * large result, result-writer.ts, is sized to a message and so goes alone).
 * It is the ResultWriter's sink: `write` answers false while the call is
 * backed up, and 'drain' follows the call's.
 */
export class ResultOutbox implements ResultSink {
  private results: TaskResult[] = [];
  private bytes = 0;
  private scheduled = false;
  private backedUp = false;
  private readonly drainWaiters: Array<() => void> = [];

  constructor(
    /** Write one packed message; false when the call is past its buffer (its 'drain' then calls `drained`). */
    private readonly send: (results: TaskResult[]) => boolean,
    private readonly maxMessageBytes: number,
  ) {}

  write(r: TaskResult): boolean {
    const size = resultBytes(r);
    if (this.results.length > 0 && this.bytes + size > this.maxMessageBytes / 2) this.flush();
    this.results.push(r);
    this.bytes += size;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
    return !this.backedUp;
  }

  once(_event: 'drain', listener: () => void): void {
    if (this.backedUp) this.drainWaiters.push(listener);
    else setImmediate(listener);
  }

  /** The call drained its buffer. */
  drained(): void {
    this.backedUp = false;
    for (const w of this.drainWaiters.splice(0)) w();
  }

  flush(): void {
    if (this.results.length === 0) return;
    const batch = this.results;
    this.results = [];
    this.bytes = 0;
    if (!this.send(batch)) this.backedUp = true;
  }
}

function resultBytes(r: TaskResult): number {
  const payload = r.records?.payload;
  const n = payload ? (payload as Uint8Array).byteLength : 0;
  return n + RESULT_OVERHEAD + (r.bucketBytes?.length ?? 0) * 10 + (r.error?.length ?? 0);
}

export interface TaskStreamDeps {
  runner: TaskRunner;
  /** Tasks this executor holds at most (running or queued): slots × taskQueueDepth. */
  maxAssignedTasks: number;
  maxMessageBytes: number;
  /** The answer for a task refused because the executor is full. */
  queueFull: (spec: TaskSpec__Output) => TaskResult;
  /** Group plans arriving on the call (none: plans are refused, e.g. bench/sim). */
  planned?: PlannedTasks;
  /** Blocks the scheduler says may go (RunTasksRequest.drops): DropBlocks on the stream. */
  dropBlocks?: (req: DropBlocksRequest__Output) => void;
  /** Jobs the scheduler says have ended (RunTasksRequest.ended_jobs): their bundles may go. */
  jobsEnded?: (jobIds: string[]) => void;
  /** The highest scheduler term seen: a call of an older term is ended when a newer leader speaks. */
  fence?: LeaderTermFence;
  log: Logger;
}

/**
 * One TaskStream call's lifecycle, for every server of it (this executor, and
 * bench/sim's simulated ones): results packed through an outbox, sent only
 * while the call is open; the call ends once the scheduler has half-closed
 * and every task begun on it has reported.
 */
export class TaskStreamCall {
  private open = true;
  private halfClosed = false;
  private inFlight = 0;
  readonly outbox: ResultOutbox;

  constructor(
    private readonly call: grpc.ServerDuplexStream<unknown, TaskResults>,
    maxMessageBytes: number,
  ) {
    this.outbox = new ResultOutbox((results) => (this.open ? call.write({ results }) : true), maxMessageBytes);
    call.on('drain', () => this.outbox.drained());
    call.on('cancelled', () => (this.open = false));
    call.on('error', () => (this.open = false));
    call.on('end', () => {
      this.halfClosed = true;
      this.endIfDone();
    });
  }

  /** False once cancelled or ended: results are then dropped (the scheduler runs those tasks again). */
  get isOpen(): boolean {
    return this.open;
  }

  /** A task was accepted: the call stays open until it has reported (`ended`). */
  begun(): void {
    this.inFlight++;
  }

  /** A task begun here has handed on its whole result (or will never have one). */
  ended(): void {
    this.inFlight--;
    this.endIfDone();
  }

  /**
   * A newer scheduler leads: end the call with FAILED_PRECONDITION. Results
   * still due are dropped (the new leader runs what it needs), and plans
   * taken on the call stop starting batches (their session is closed).
   */
  fence(details: string): void {
    if (!this.open) return;
    this.open = false;
    this.call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details });
  }

  private endIfDone(): void {
    if (!this.halfClosed || this.inFlight > 0 || !this.open) return;
    this.outbox.flush();
    this.open = false;
    this.call.end();
  }
}

export function serveTaskStream(call: grpc.ServerDuplexStream<RunTasksRequest__Output, TaskResults>, deps: TaskStreamDeps): void {
  const session = new TaskStreamCall(call, deps.maxMessageBytes);
  if (deps.fence) {
    const fence = deps.fence;
    const term = leaderTermOf(call.metadata);
    const unfollow = fence.onNewTerm((newer) => {
      if (newer > term) session.fence(fence.staleMessage(term));
    });
    const done = () => unfollow();
    call.on('cancelled', done);
    call.on('error', done);
    call.on('finish', done);
  }
  // Results too large for one message go in slices (result-writer.ts), through the outbox.
  const writer = new ResultWriter(session.outbox, { maxMessageBytes: deps.maxMessageBytes, cancelled: () => !session.isOpen });
  const sent = () => session.ended();
  const start = (spec: TaskSpec__Output) => {
    session.begun();
    // start() never throws and its result never rejects: every outcome is a TaskResult.
    deps.runner.start(spec).result.then(
      // The task counts as done here once its result's last slice is handed on.
      (result) => {
        if (session.isOpen) writer.send(result, spec.result?.maxMessageBytes ?? 0, sent);
        else sent();
      },
      (err) => {
        deps.log.error({ err, taskId: spec.taskId }, 'task runner rejected (bug)');
        sent();
      },
    );
  };
  const planSession = {
    get isOpen() {
      return session.isOpen;
    },
    start,
    report: (result: TaskResult) => {
      if (session.isOpen) session.outbox.write(result);
    },
  };
  call.on('data', (req: RunTasksRequest__Output) => {
    for (const spec of req.tasks ?? []) {
      if (deps.runner.activeCount >= deps.maxAssignedTasks) {
        // The scheduler's accounting says there is room, but a task it
        // killed may not have left yet: refuse, it is placed again.
        session.outbox.write(deps.queueFull(spec));
        continue;
      }
      start(spec);
    }
    // Planned tasks are not bounded by maxAssignedTasks: the scheduler planned them onto this executor's slots.
    for (const plan of req.plans ?? []) deps.planned?.accept(plan, planSession);
    for (const r of req.revocations ?? []) deps.planned?.revoke(r);
    if (req.endedJobs && req.endedJobs.length > 0) deps.jobsEnded?.(req.endedJobs);
    // Not from a scheduler that has been fenced since: only the leader's batches end.
    if (req.drops && session.isOpen) deps.dropBlocks?.(req.drops);
  });
}
