/**
 * Every NATS subject Rivulet uses, and the shape of every message on it. NATS
 * carries only what is broadcast or periodic and may be lost without harm:
 * heartbeats, batch announcements (the receiver also answers GetBatchBlocks
 * over gRPC), batch-completed events and the set of active streams. Payloads
 * are MessagePack (lib/codec/records.ts packValue).
 */

export const SUBJECT_PREFIX = 'rivulet';

export const subjects = {
  /** Executor → all: liveness, free slots, block-store use. */
  heartbeat: (executorId: string) => `${SUBJECT_PREFIX}.executor.heartbeat.${executorId}`,
  heartbeatAll: `${SUBJECT_PREFIX}.executor.heartbeat.*`,
  /** Scheduler → all: an executor was declared lost (after missed heartbeats or RPC failures). */
  executorLost: (executorId: string) => `${SUBJECT_PREFIX}.executor.lost.${executorId}`,
  executorLostAll: `${SUBJECT_PREFIX}.executor.lost.*`,
  /**
   * Receiver → scheduler: one receiver's share of one batch of one stream is stored and replicated
   * (every receiver announces its own share; the scheduler merges them, services/scheduler/receiver-tracker.ts).
   */
  batchReady: (stream: string) => `${SUBJECT_PREFIX}.batch.ready.${encodeToken(stream)}`,
  batchReadyAll: `${SUBJECT_PREFIX}.batch.ready.*`,
  /**
   * Scheduler → executors, receivers: the final block list of one batch of one stream, every receiver's
   * share merged (receiver id order). Executors start planned batches on it; receivers keep it for GetBatchBlocks(merged).
   */
  batchInputs: (stream: string) => `${SUBJECT_PREFIX}.batch.inputs.${encodeToken(stream)}`,
  batchInputsAll: `${SUBJECT_PREFIX}.batch.inputs.*`,
  /** Receiver → scheduler, receivers: a receiver is alive, where it serves, and its ingest rates (ReceiverHeartbeatMessage). */
  receiverHeartbeat: (receiverId: string) => `${SUBJECT_PREFIX}.receiver.heartbeat.${encodeToken(receiverId)}`,
  receiverHeartbeatAll: `${SUBJECT_PREFIX}.receiver.heartbeat.*`,
  /** Scheduler → all: a batch of a job finished, with its timings. */
  batchCompleted: (jobId: string) => `${SUBJECT_PREFIX}.batch.completed.${encodeToken(jobId)}`,
  batchCompletedAll: `${SUBJECT_PREFIX}.batch.completed.*`,
  /** Scheduler → receiver: the streams running jobs read (sent on change and periodically). */
  streams: `${SUBJECT_PREFIX}.streams`,
  /** Scheduler → receivers: backpressure's ingest rate per stream (RateLimitsMessage), on change and every batch interval. */
  rateLimits: `${SUBJECT_PREFIX}.rate-limits`,
} as const;

/** NATS tokens can't hold '.', '*', '>' or whitespace; stream names may. */
export function encodeToken(name: string): string {
  return /^[A-Za-z0-9_-]+$/.test(name) ? name : 'x' + Buffer.from(name).toString('hex');
}

export interface HeartbeatMessage {
  executorId: string;
  /** Changes every time the executor process starts. */
  epoch: number;
  address: string;
  /** Host name, for NODE_LOCAL placement. */
  host: string;
  slots: number;
  /** Tasks accepted per slot (executor option taskQueueDepth): the scheduler assigns up to slots × this. Absent = 1. */
  taskQueueDepth?: number;
  /**
   * It reads a reduce task's map outputs in ShuffleInput's compact form (map_output_executors and
   * map_output_holders, lib/scheduling/map-outputs.ts). Absent (an executor from before that form, e.g.
   * mid rolling upgrade): the scheduler sends it the list form, which such an executor reads — the compact
   * one it would take for "no map outputs" and reduce nothing.
   */
  compactMapOutputs?: boolean;
  /**
   * It drops blocks named on its task stream (RunTasksRequest.drops). Absent (an executor from before,
   * mid rolling upgrade): the scheduler drops its blocks with DropBlocks calls, which such an executor
   * serves — drops sent on the stream it would ignore, keeping every batch's blocks.
   */
  streamDrops?: boolean;
  freeSlots: number;
  runningTasks: number;
  blockCount: number;
  blockBytes: number;
  blockCapacityBytes: number;
  /** Job bundles it holds (LoadJob): those of jobs that have not ended. Absent from older executors. */
  jobBundles?: number;
  sentAtMs: number;
  /**
   * The input blocks this incarnation holds, on the first few heartbeats after
   * it starts, rejoins (a new epoch after being declared lost) or reconnects to
   * NATS: the scheduler re-adopts those batches still need.
   */
  inputBlocks?: string[];
}

export interface BatchReadyMessage {
  stream: string;
  batchTimeMs: number;
  batchIntervalMs: number;
  blocks: Array<{ blockId: string; records: number; bytes: number; executorIds: string[] }>;
  /** The receiver whose share this is (batch.ready); absent on batch.inputs (every receiver's) and from older receivers. */
  receiverId?: string;
}

/**
 * A receiver's heartbeat: it is alive (the scheduler waits for its share of
 * every batch while it is), where it serves GetBatchBlocks, and per active
 * stream the first batch it owns and the records/s it acked over about the last second.
 */
export interface ReceiverHeartbeatMessage {
  receiverId: string;
  /** Changes every time the receiver process starts. */
  incarnation: string;
  address: string;
  sentAtMs: number;
  streams: Array<{ stream: string; firstBatchTimeMs: number; recordsPerSecond: number }>;
}

export interface BatchCompletedMessage {
  jobId: string;
  batchTimeMs: number;
  state: 'COMPLETED' | 'FAILED';
  inputRecords: number;
  schedulingDelayMs: number;
  processingTimeMs: number;
  totalDelayMs: number;
  tasks: number;
  error?: string;
}

export interface StreamsMessage {
  streams: string[];
  batchIntervalMs: number;
}

export interface ExecutorLostMessage {
  executorId: string;
  epoch: number;
  reason: string;
}

/**
 * The ingest rates backpressure allows (services/scheduler/rate-controller.ts),
 * a full snapshot: a stream not listed is not limited. Best-effort and
 * periodic: a receiver keeps the last snapshot it got.
 */
export interface RateLimitsMessage {
  limits: Array<{ stream: string; recordsPerSecond: number }>;
}
