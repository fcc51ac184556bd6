/**
 * Shared set-up for the scheduler components' unit tests: a manual clock, an
 * executor tracker fed real heartbeat messages, a recording executor gateway
 * (an interface fake), and batches with hand-made stage plans.
 */
import type { Clock } from '../../../lib/clock.js';
import type { BatchPlan, PlannedStage } from '../../../lib/dstream/planner.js';
import { createLogger } from '../../../lib/log.js';
import type { TaskResult__Output } from '../../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { TaskSpec } from '../../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import { BatchRun } from '../../../services/scheduler/batch-run.js';
import type { ExecutorEndpoint, LaunchCallbacks } from '../../../services/scheduler/executor-gateway.js';
import { ExecutorTracker } from '../../../services/scheduler/executor-tracker.js';
import type { Job } from '../../../services/scheduler/job-registry.js';
import type { SchedulerPorts } from '../../../services/scheduler/ports.js';

export const log = createLogger('test', 'silent');

export interface FakeExecutor {
  id: string;
  slots: number;
  host?: string;
  epoch?: number;
  /** The executor's taskQueueDepth (absent: 1, no queue). */
  queueDepth?: number;
}

export function tracker(clock: Clock, executors: FakeExecutor[]): ExecutorTracker {
  const t = new ExecutorTracker(clock, 250, 4);
  for (const e of executors) heartbeat(t, clock, e);
  return t;
}

export function heartbeat(t: ExecutorTracker, clock: Clock, e: FakeExecutor): void {
  t.heartbeat({
    executorId: e.id,
    epoch: e.epoch ?? 1,
    address: `${e.id}:1`,
    host: e.host ?? `host-${e.id}`,
    slots: e.slots,
    taskQueueDepth: e.queueDepth,
    freeSlots: e.slots,
    runningTasks: 0,
    blockCount: 0,
    blockBytes: 0,
    blockCapacityBytes: 1 << 20,
    sentAtMs: clock.now(),
  });
}

export interface Launched {
  executor: ExecutorEndpoint;
  spec: TaskSpec;
  cb: LaunchCallbacks;
}

/** Records every launch and kill; `result` answers a launched task as its executor would. */
type Gateway = SchedulerPorts['gateway'];

export class RecordingGateway implements Gateway {
  readonly launched: Launched[] = [];
  /** launch() calls (each a scheduling round's tasks for one executor). */
  launchCalls = 0;
  readonly killed: Array<{ executorId: string; taskId: string; attempt: number; onlyIfQueued?: boolean }> = [];
  launch(executor: ExecutorEndpoint, _job: unknown, tasks: TaskSpec[], cb: LaunchCallbacks): void {
    this.launchCalls++;
    for (const spec of tasks) this.launched.push({ executor, spec, cb });
  }
  drop(): void {}
  kill(e: ExecutorEndpoint, tasks: Array<{ taskId: string; attempt: number }>, onlyIfQueued = false): void {
    for (const t of tasks) this.killed.push({ executorId: e.id, ...t, ...(onlyIfQueued ? { onlyIfQueued } : {}) });
  }
  jobEnded(): void {}
  forget(): void {}
  probe(): Promise<boolean> {
    return Promise.resolve(true);
  }
  identify(): Promise<{ executorId: string; epoch: number } | undefined> {
    return Promise.resolve(undefined);
  }
  replicate(): Promise<void> {
    return Promise.resolve();
  }
  expect(): void {}
  sendPlans(): void {}
  launchMessages(): number {
    return this.launched.length;
  }
}

export function result(l: Launched, state: 'SUCCEEDED' | 'FAILED' | 'KILLED', overrides: Partial<TaskResult__Output> = {}): TaskResult__Output {
  return {
    taskId: l.spec.taskId!,
    attempt: l.spec.attempt!,
    executorId: l.executor.id,
    epoch: l.executor.epoch,
    state,
    error: state === 'FAILED' ? 'boom' : '',
    userError: state === 'FAILED',
    bucketBytes: [],
    records: null,
    metrics: null,
    fetchFailedExecutorId: '',
    queueFull: false,
    ...overrides,
  } as TaskResult__Output;
}

/** A RUNNING batch of a stub job (`jobId`) whose plan has these stages (each with no sources: tasks prefer nothing unless told). */
export function runWithStages(stages: Array<Pick<PlannedStage, 'kind' | 'numPartitions' | 'parentStages'>>, batchTimeMs = 1000, jobId = 'job-1'): BatchRun {
  const job = { id: jobId, graph: { streams: [] }, bundle: '', bundleHash: 'h', state: 'RUNNING' } as unknown as Job;
  const run = new BatchRun(job, batchTimeMs);
  const plan = {
    stages: stages.map((s, id) => ({ ...s, id, finalNode: id, sides: [], sourceNodes: [], shuffleReads: [] })),
    partitions: [],
    datasets: [],
    windows: new Map(),
    persisted: [],
    states: new Map(),
  } as unknown as BatchPlan;
  run.setPlan(plan);
  run.moveTo('QUEUED', log);
  run.moveTo('REGISTERING', log);
  run.moveTo('RUNNING', log);
  return run;
}

/** A TaskSpec builder for task-set tests: just the fields results are matched by. */
export function specOf(t: { taskId: string; attempt: number; epoch: number; speculative: boolean; locality: string }): TaskSpec {
  return { taskId: t.taskId, attempt: t.attempt, epoch: t.epoch, speculative: t.speculative, locality: t.locality };
}
