/**
 * The scheduler's status (GetStatus, the status page): executors, jobs and
 * their recent batches, pending tasks, under-replicated input blocks. Read
 * only; built from the components' own views.
 */
import type { BatchStatus } from '../../lib/proto/gen/rivulet/v1/BatchStatus.js';
import type { ClusterStatus } from '../../lib/proto/gen/rivulet/v1/ClusterStatus.js';
import type { BatchRun } from './batch-run.js';
import type { ExecutorTracker } from './executor-tracker.js';
import type { JobGenerator } from './job-generator.js';
import type { JobRegistry } from './job-registry.js';
import type { TaskSetManager } from './task-set-manager.js';

export interface StatusSources {
  batchIntervalMs: number;
  replication: number;
  executors: ExecutorTracker;
  jobs: JobRegistry;
  generator: JobGenerator;
  tasks: TaskSetManager;
  backpressure: boolean;
  rateLimits: Array<{ stream: string; recordsPerSecond: number }>;
  /** config slowExecutorRatio: which executors status flags slow. */
  slowExecutorRatio: number;
  /** Group scheduling: each job's next group size and why a job is not planned; launch and plan messages sent. */
  group: { sizeOf(jobId: string): { size: number; note: string }; launchMessages: number; plansSent: number };
}

export function clusterStatus(src: StatusSources, nowMs: number, recentBatches: number): ClusterStatus {
  const { executors } = src;
  const slow = executors.slowExecutors(src.slowExecutorRatio);
  const { pending, waiting } = src.tasks.pendingCounts();
  return {
    batchIntervalMs: src.batchIntervalMs,
    pendingTasks: pending,
    pendingWaiting: waiting,
    underReplicatedBlocks: [...src.generator.liveInputBlocks().values()].filter(
      ({ block }) => block.executorIds.filter((id) => executors.isAlive(id)).length < src.replication,
    ).length,
    backpressure: src.backpressure,
    launchMessages: src.group.launchMessages,
    plansSent: src.group.plansSent,
    rateLimits: src.rateLimits.map((l) => ({ stream: l.stream, recordsPerSecond: l.recordsPerSecond })),
    executors: executors.all().map((e) => ({
      executorId: e.id,
      address: e.address,
      epoch: e.epoch,
      state: e.state,
      slots: e.slots,
      freeSlots: executors.freeSlots(e),
      runningTasks: e.running,
      queuedTasks: Math.max(0, e.running - e.slots),
      slow: slow.has(e.id),
      blockCount: e.lastReport.blockCount,
      blockBytes: e.lastReport.blockBytes,
      blockCapacityBytes: e.lastReport.blockCapacityBytes,
      tasksCompleted: e.tasksCompleted,
      tasksFailed: e.tasksFailed,
      lastHeartbeatAgeMs: nowMs - e.lastHeartbeatMs,
    })),
    jobs: src.jobs.all().map((j) => {
      const runs = [...src.generator.history(j.id), ...src.generator.queue(j.id)];
      return {
        jobId: j.id,
        name: j.name,
        owner: j.owner,
        state: j.state,
        error: j.error ?? '',
        streams: j.graph.streams,
        outputs: j.graph.outputs.map((o) => o.name),
        submittedAtMs: j.submittedAtMs,
        batchesCompleted: j.batchesCompleted,
        recordsProcessed: j.recordsProcessed,
        recentBatches: runs.slice(-recentBatches).map((r) => batchStatus(r, nowMs)),
        queuedBatches: src.generator.queue(j.id).length,
        fallingBehind: src.generator.fallingBehind(j.id),
        groupSize: src.group.sizeOf(j.id).size,
        groupNote: src.group.sizeOf(j.id).note,
      };
    }),
  };
}

function batchStatus(r: BatchRun, nowMs: number): BatchStatus {
  const t = r.timings(nowMs);
  return {
    batchTimeMs: r.batchTimeMs,
    state: r.state === 'WAITING_INPUT' || r.state === 'REGISTERING' ? 'QUEUED' : r.state,
    inputRecords: r.inputRecords,
    inputBlocks: r.inputBlockCount,
    schedulingDelayMs: t.schedulingDelayMs,
    processingTimeMs: r.state === 'COMPLETED' ? t.processingTimeMs : 0,
    totalDelayMs: r.state === 'COMPLETED' ? t.totalDelayMs : 0,
    tasks: r.tasksLaunched,
    taskFailures: r.taskFailures,
    stolenTasks: r.stolenTasks,
    plannedTasks: r.plannedTasks,
    processLocalTasks: r.locality.PROCESS_LOCAL,
    nodeLocalTasks: r.locality.NODE_LOCAL,
    anyTasks: r.locality.ANY,
    error: r.error ?? '',
    waitingReason: r.finished ? '' : (r.waitingFor ?? ''),
  };
}
