/**
 * One attempt of one task (a partition of a stage of a batch), from the
 * moment it is runnable until it ends. Its state moves only through
 * `moveTo`, which refuses an illegal move and logs `OLD -> NEW` at debug:
 *
 *   PENDING ─launch→ RUNNING ─→ SUCCEEDED | FAILED | KILLED | LOST
 *   PENDING ─→ CANCELLED   (its partition finished elsewhere, or its batch ended)
 *
 * A retry is a new attempt that carries the counters of the one before.
 * Fencing: a result counts only if it names this attempt's number and the
 * epoch of the executor incarnation it was launched on.
 */
import type { Logger } from '../../lib/log.js';
import { transition, type TransitionTable } from '../../lib/state-machine.js';
import type { BatchRun, StageRun } from './batch-run.js';
import type { Locality } from './placement.js';

export type TaskState = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'KILLED' | 'LOST' | 'CANCELLED';

const TASK_TRANSITIONS: TransitionTable<TaskState> = {
  PENDING: ['RUNNING', 'CANCELLED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'KILLED', 'LOST'],
  SUCCEEDED: [],
  FAILED: [],
  KILLED: [],
  LOST: [],
  CANCELLED: [],
};

/** Where a running attempt runs. */
export interface Launch {
  executorId: string;
  epoch: number;
  launchedAtMs: number;
  locality: Locality;
}

export interface AttemptInit {
  run: BatchRun;
  stageRun: StageRun;
  partition: number;
  /** Failures so far that count toward maxTaskAttempts (not executor losses). */
  failures: number;
  /** Attempts lost with their executor: not the task's fault, but bounded too. */
  lostAttempts: number;
  speculative: boolean;
  /** Re-runs a partition lost with an executor: goes ahead of new work. */
  recovery: boolean;
  preferred: string[];
  /** Soft preference (placement.ts): the executor its shuffle input was pushed to. */
  affinity?: string;
  excluded: Set<string>;
  readySinceMs: number;
  lastError?: string;
}

export class TaskAttempt implements AttemptInit {
  private current: TaskState = 'PENDING';
  readonly run: BatchRun;
  readonly stageRun: StageRun;
  readonly partition: number;
  readonly taskId: string;
  /** Issued at launch (run.nextAttempt): every launch, retry or copy, gets a new number. */
  attempt = 0;
  failures: number;
  lostAttempts: number;
  speculative: boolean;
  recovery: boolean;
  preferred: string[];
  affinity?: string;
  excluded: Set<string>;
  readySinceMs: number;
  lastError?: string;
  /** The scheduler asked its executor to give it back if not started yet (task stealing, task-set-manager.ts). */
  stealRequested = false;
  /**
   * When it took a slot on its executor, as far as the scheduler can tell:
   * at launch onto an idle slot, or — launched into the executor's queue —
   * when an earlier task there ended (the queue is FIFO). Undefined while it
   * waits in that queue. Run times (speculation, a stage's durations, an
   * executor's speed) count from here, not from launch.
   */
  startedAtMs?: number;
  /** Set on launch. */
  launch?: Launch;

  constructor(init: AttemptInit) {
    this.run = init.run;
    this.stageRun = init.stageRun;
    this.partition = init.partition;
    this.taskId = `${init.run.job.id}/${init.run.batchTimeMs}/${init.stageRun.stage.id}/${init.partition}`;
    this.failures = init.failures;
    this.lostAttempts = init.lostAttempts;
    this.speculative = init.speculative;
    this.recovery = init.recovery;
    this.preferred = init.preferred;
    this.excluded = init.excluded;
    this.readySinceMs = init.readySinceMs;
    if (init.lastError !== undefined) this.lastError = init.lastError;
    if (init.affinity !== undefined) this.affinity = init.affinity;
  }

  get state(): TaskState {
    return this.current;
  }

  get executorId(): string {
    return this.launch?.executorId ?? '';
  }

  get epoch(): number {
    return this.launch?.epoch ?? -1;
  }

  get locality(): Locality {
    return this.launch?.locality ?? 'ANY';
  }

  /**
   * Started by its executor from a group plan: the scheduler did not see it
   * start (it may even have finished before the run adopted it), so once it
   * reports, its time is the one its executor measured (`reportedMs`).
   */
  planned = false;
  reportedMs?: number;

  /** Time it has held a slot (from `startedAtMs`; a planned attempt that reported: its executor's measure); 0 while queued on its executor. */
  runTimeMs(nowMs: number): number {
    if (this.reportedMs !== undefined) return this.reportedMs;
    return this.startedAtMs === undefined ? 0 : nowMs - this.startedAtMs;
  }

  /** `<taskId>#<attempt>`: the key a result is matched by. */
  get key(): string {
    return attemptKey(this.taskId, this.attempt);
  }

  moveTo(to: TaskState, log: Logger): void {
    transition(this, (s) => (this.current = s), TASK_TRANSITIONS, to, `task ${this.taskId}#${this.attempt}`, log);
  }

  /** PENDING → RUNNING on `launch`, with its attempt number. */
  start(attempt: number, launch: Launch, log: Logger): void {
    transition(this, (s) => (this.current = s), TASK_TRANSITIONS, 'RUNNING', `task ${this.taskId}#${attempt}`, log);
    this.attempt = attempt;
    this.launch = launch;
  }

  /** The next attempt after this one ended without success. */
  retry(overrides: Partial<AttemptInit>): TaskAttempt {
    return new TaskAttempt({
      run: this.run,
      stageRun: this.stageRun,
      partition: this.partition,
      failures: this.failures,
      lostAttempts: this.lostAttempts,
      speculative: false,
      recovery: this.recovery,
      preferred: this.preferred,
      ...(this.affinity !== undefined ? { affinity: this.affinity } : {}),
      excluded: this.excluded,
      readySinceMs: this.readySinceMs,
      ...overrides,
    });
  }
}

export function attemptKey(taskId: string, attempt: number): string {
  return `${taskId}#${attempt}`;
}
