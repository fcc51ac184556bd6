/**
 * The scheduler's status (GetStatus, the status page): executors, jobs and
 * their recent batches, pending tasks, under-replicated input blocks. Read
 * only; built from the components' own views.
 *
 * Bounded (scheduler.proto GetStatus): one answer holds one page of jobs in
 * submission order, as many as fit `maxBytes` (scheduler option
 * maxStatusBytes, at most maxMessageBytes) and `pageSize`, with a
 * `nextPageToken` for the rest; each job's lists and texts are capped, so
 * no job — and no number of jobs — can push an answer over the gRPC message
 * limit. Sizes are measured as JSON, which is never smaller than the
 * protobuf encoding of the same message.
 */
import { InvalidArgumentError } from '../../lib/errors.js';
import type { BatchStatus } from '../../lib/proto/gen/rivulet/v1/BatchStatus.js';
import type { LeaderStatus } from '../../lib/proto/gen/rivulet/v1/LeaderStatus.js';
import type { ClusterStatus } from '../../lib/proto/gen/rivulet/v1/ClusterStatus.js';
import type { JobStatus } from '../../lib/proto/gen/rivulet/v1/JobStatus.js';
import type { JetStreamSourceStatus } from '../../lib/proto/gen/rivulet/v1/JetStreamSourceStatus.js';
import type { NatsStatus } from '../../lib/proto/gen/rivulet/v1/NatsStatus.js';
import type { SinkStatus } from '../../lib/proto/gen/rivulet/v1/SinkStatus.js';
import { sinkLabel } from '../../lib/sinks/spec.js';
import type { SinkProgress } from './sink-runner.js';
import type { BatchRun } from './batch-run.js';
import type { ExecutorTracker } from './executor-tracker.js';
import type { JobGenerator } from './job-generator.js';
import type { Job, JobRegistry } from './job-registry.js';
import type { TaskSetManager } from './task-set-manager.js';
import type { ReceiverInfo } from './receiver-tracker.js';

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
  /** The receivers heard (receiver-tracker.ts). */
  receivers?: ReadonlyArray<ReceiverInfo>;
  /** Group scheduling: each job's next group size and why a job is not planned; launch and plan messages sent. */
  group: { sizeOf(jobId: string): { size: number; note: string }; launchMessages: number; plansSent: number };
  /** The scheduler's NATS connection (absent in unit tests without NATS). */
  nats?: NatsStatus;
  /** JetStream direct sources of a job: position and lag per subject filter. */
  jetStreamSources?(job: Job): JetStreamSourceStatus[];
  /** What the process wrote to a job's sinks (sink-runner.ts). */
  sinkProgress?(jobId: string): SinkProgress[];
}

/** Status bounds (scheduler.proto). */
export const STATUS_BOUNDS = {
  /** Default and largest page of jobs. */
  pageSize: 1000,
  /** Largest recent_batches per job. */
  recentBatches: 1000,
  /** Streams, outputs listed per job. */
  listed: 100,
  /** Executors and rate limits listed. */
  executors: 1000,
  rateLimits: 1000,
  /** A job's error, and a batch's error or waiting reason, in characters. */
  jobError: 4096,
  batchText: 256,
  /** Default largest answer (scheduler option maxStatusBytes): any gRPC client accepts 4 MiB by default. */
  maxBytes: 4 * 1024 * 1024,
} as const;

export interface StatusQuery {
  /** Recent batches per job (capped at STATUS_BOUNDS.recentBatches). */
  recentBatches: number;
  /** Jobs per page; 0 = the default (STATUS_BOUNDS.pageSize). */
  pageSize?: number;
  /** A previous answer's nextPageToken; empty = the first page. */
  pageToken?: string;
  /** Byte budget of the whole answer (the smaller of maxStatusBytes and maxMessageBytes). @default STATUS_BOUNDS.maxBytes */
  maxBytes?: number;
}

/** Room kept in a page for protobuf framing (JSON field names already overstate the protobuf size). */
const RESERVE_BYTES = 4 * 1024;

const jsonBytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

/** `s` cut to `max` characters, saying so. */
export function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length - max} more characters)`;
}

function parsePageToken(token: string | undefined): number {
  if (!token) return 0;
  if (!/^[1-9][0-9]{0,14}$/.test(token)) throw new InvalidArgumentError('GetStatus page_token is not one this scheduler issued (next_page_token of an earlier answer)');
  return Number(token);
}

export function clusterStatus(src: StatusSources, nowMs: number, query: StatusQuery | number): ClusterStatus {
  const q: StatusQuery = typeof query === 'number' ? { recentBatches: query } : query;
  const recentBatches = Math.min(Math.max(0, Math.floor(q.recentBatches)), STATUS_BOUNDS.recentBatches);
  const pageSize = Math.min(q.pageSize || STATUS_BOUNDS.pageSize, STATUS_BOUNDS.pageSize);
  const after = parsePageToken(q.pageToken);
  const budget = (q.maxBytes ?? STATUS_BOUNDS.maxBytes) - RESERVE_BYTES;
  const { executors } = src;
  const slow = executors.slowExecutors(src.slowExecutorRatio);
  const { pending, waiting } = src.tasks.pendingCounts();
  const allExecutors = executors.all();
  const status: ClusterStatus = {
    batchIntervalMs: src.batchIntervalMs,
    pendingTasks: pending,
    pendingWaiting: waiting,
    underReplicatedBlocks: [...src.generator.liveInputBlocks().values()].filter(
      ({ block }) => block.executorIds.filter((id) => executors.isAlive(id)).length < src.replication,
    ).length,
    backpressure: src.backpressure,
    launchMessages: src.group.launchMessages,
    plansSent: src.group.plansSent,
    rateLimits: src.rateLimits.slice(0, STATUS_BOUNDS.rateLimits).map((l) => ({ stream: l.stream, recordsPerSecond: l.recordsPerSecond })),
    receivers: (src.receivers ?? []).slice(0, STATUS_BOUNDS.executors).map((r) => ({
      receiverId: r.receiverId,
      address: r.address,
      state: r.state,
      incarnation: r.incarnation,
      lastSeenMs: r.lastSeenMs,
      ingestRates: [...r.streams].slice(0, STATUS_BOUNDS.listed).map(([stream, s]) => ({ stream, recordsPerSecond: s.recordsPerSecond })),
    })),
    executorsTotal: allExecutors.length,
    executors: allExecutors.slice(0, STATUS_BOUNDS.executors).map((e) => ({
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
      jobBundles: e.lastReport.jobBundles ?? 0,
      tasksCompleted: e.tasksCompleted,
      tasksFailed: e.tasksFailed,
      lastHeartbeatAgeMs: nowMs - e.lastHeartbeatMs,
    })),
    jobsTotal: src.jobs.size,
    jobs: [],
    nextPageToken: '',
    ...(src.nats ? { nats: src.nats } : {}),
  };
  let bytes = jsonBytes(status);
  const jobs: JobStatus[] = [];
  let last = after;
  for (const j of src.jobs.after(after)) {
    const js = jobs.length < pageSize ? jobStatus(src, j, nowMs, recentBatches) : undefined;
    const size = js ? jsonBytes(js) + 1 : 0;
    // A page always holds at least one job (one job alone is bounded well under the budget).
    if (!js || (jobs.length > 0 && bytes + size > budget)) {
      status.nextPageToken = String(last);
      break;
    }
    jobs.push(js);
    bytes += size;
    last = src.jobs.ordinal(j.id);
  }
  status.jobs = jobs;
  return status;
}

function jobStatus(src: StatusSources, j: Job, nowMs: number, recentBatches: number): JobStatus {
  const runs = [...src.generator.history(j.id), ...src.generator.queue(j.id)];
  const group = src.group.sizeOf(j.id);
  return {
    jobId: j.id,
    name: j.name,
    owner: j.owner,
    state: j.state,
    error: cut(j.error ?? '', STATUS_BOUNDS.jobError),
    streams: j.graph.streams.slice(0, STATUS_BOUNDS.listed),
    outputs: j.graph.outputNames.slice(0, STATUS_BOUNDS.listed),
    streamsTotal: j.graph.streams.length,
    outputsTotal: j.graph.outputNames.length,
    jetStreamSources: (src.jetStreamSources?.(j) ?? []).slice(0, STATUS_BOUNDS.listed),
    sinks: sinkStatuses(j, src.sinkProgress?.(j.id) ?? []).slice(0, STATUS_BOUNDS.listed),
    submittedAtMs: j.submittedAtMs,
    batchesCompleted: j.batchesCompleted,
    recordsProcessed: j.recordsProcessed,
    recentBatches: recentBatches === 0 ? [] : runs.slice(-recentBatches).map((r) => batchStatus(r, nowMs)),
    queuedBatches: src.generator.queue(j.id).length,
    fallingBehind: src.generator.fallingBehind(j.id),
    groupSize: group.size,
    groupNote: cut(group.note, STATUS_BOUNDS.batchText),
  };
}

/** Every output of the job with a sink, in graph order: what was written to it, or nothing yet. */
function sinkStatuses(j: Job, progress: readonly SinkProgress[]): SinkStatus[] {
  const byOutput = new Map(progress.map((p) => [p.output, p]));
  const out: SinkStatus[] = [];
  for (const o of j.graph.outputs) {
    if (!o.sink) continue;
    const p = byOutput.get(o.name);
    out.push({
      output: o.name,
      sink: sinkLabel(o.sink),
      batchesWritten: p?.batchesWritten ?? 0,
      batchesSkipped: p?.batchesSkipped ?? 0,
      recordsWritten: p?.recordsWritten ?? 0,
      lastBatchTimeMs: p?.lastBatchTimeMs ?? 0,
      lastError: cut(p?.lastError ?? '', STATUS_BOUNDS.jobError),
      lastErrorAtMs: p?.lastErrorAtMs ?? 0,
      retryingAttempt: p?.retryingAttempt ?? 0,
    });
  }
  return out;
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
    error: cut(r.error ?? '', STATUS_BOUNDS.batchText),
    waitingReason: r.finished ? '' : cut(r.waitingFor ?? '', STATUS_BOUNDS.batchText),
  };
}

/** What a standby shows (status page): no jobs or executors of its own, and who leads. */
export function standbyStatus(config: { batchInterval: number; backpressure: boolean }, leader: LeaderStatus): ClusterStatus {
  return {
    batchIntervalMs: config.batchInterval,
    executors: [],
    jobs: [],
    pendingTasks: 0,
    pendingWaiting: 0,
    underReplicatedBlocks: 0,
    rateLimits: [],
    receivers: [],
    backpressure: config.backpressure,
    launchMessages: 0,
    plansSent: 0,
    nextPageToken: '',
    jobsTotal: 0,
    executorsTotal: 0,
    leader,
  };
}
