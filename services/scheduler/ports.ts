/**
 * What the scheduler needs from the outside world: executors (the gateway),
 * lineage, the job journal, durable outputs, the checkpoint store, the
 * receiver and NATS. main.ts wires the real ones (lineage-ports.ts for
 * lineage); unit tests pass fakes of this interface. Calls documented as
 * fire-and-forget log their own failures and never throw.
 */
import type { BatchCompletedMessage, BatchReadyMessage, ExecutorLostMessage, RateLimitsMessage, StreamsMessage } from '../../lib/nats/subjects.js';
import type { BatchRun, InputBlock, StageRun } from './batch-run.js';
import type { ExecutorGateway } from './executor-gateway.js';
import type { JobRecord } from './job-journal.js';
import type { JetStreamJournal, JetStreamSourcePorts } from './jetstream-journal.js';
import type { NatsStatus } from '../../lib/proto/gen/rivulet/v1/NatsStatus.js';
import type { SinkCall, SinkJob, SinkProgress } from './sink-runner.js';

/** A partition of a dataset of one batch, and the block holding it. */
export interface PartitionBlockRef {
  jobId: string;
  batchTimeMs: number;
  nodeId: number;
  partition: number;
  blockId: string;
}

/** A partition of a dataset of one batch. */
export interface PartitionRef {
  batchTimeMs: number;
  nodeId: number;
  partition: number;
}

export interface SchedulerPorts {
  gateway: Pick<ExecutorGateway, 'launch' | 'drop' | 'kill' | 'jobEnded' | 'forget' | 'probe' | 'replicate' | 'expect' | 'sendPlans' | 'launchMessages' | 'plannedResult' | 'channelBroken' | 'readsStreamDrops' | 'identify'>;
  /** Register a batch's datasets and input blocks with lineage. */
  registerBatch(run: BatchRun): Promise<void>;
  /** Fire-and-forget lineage updates. */
  recordMapOutput(run: BatchRun, stage: StageRun, partition: number, executorId: string, bytes: number): void;
  /** Fire-and-forget: input blocks now also live on `executorId` (re-replication). */
  recordReplicas(blocks: PartitionBlockRef[], executorId: string): void;
  forgetBatches(jobId: string, beforeBatchTimeMs: number): void;
  /** Fire-and-forget: a cached partition (a window's input) is kept on `executorId` (lineage PARTITION location). */
  recordCachedPartition?(dataset: { jobId: string; batchTimeMs: number; nodeId: number }, partition: number, blockId: string, executorId: string, bytes: number): void;
  removeExecutorFromLineage(executorId: string): void;
  /** Journal a submitted job (job-journal.ts); the submission is acknowledged once this resolves. */
  recordJob?(job: JobRecord, bundle: string): Promise<void>;
  /** Store a journaled job's committed outputs durably (durable-outputs.ts); resolves once stored. */
  persistOutputs?(jobId: string, commits: ReadonlyArray<{ output: string; batch: { batchTimeMs: number; count: number; payload: Buffer } }>): Promise<void>;
  /** Fire-and-forget: forget a finished job's durable outputs. */
  purgeOutputs?(jobId: string): void;
  /** A journaled job's new state or progress, written after its record; resolves once durable (rejects if it could not be written). */
  journalJob?(job: JobRecord): Promise<void>;
  /**
   * An ended job is forgotten (retainedEndedJobs): what the process keeps of it (sink progress), and
   * its journal entries when it was `journaled` (a job driven without a journal has none to purge).
   */
  forgetJob?(jobId: string, journaled: boolean): void;
  /** Fire-and-forget: cached partitions dropped on purpose (lineage DropLocations). */
  dropCachedPartitions?(blocks: PartitionBlockRef[]): void;
  /**
   * Lineage's PlanRebuild for partitions of datasets: per target, what the one
   * task rebuilding it reads, or that it cannot be rebuilt.
   */
  planRebuild?(targets: Array<{ jobId: string } & PartitionRef>): Promise<{
    tasks: Array<{ target: PartitionRef; reads: PartitionRef[] }>;
    unrecoverable: PartitionRef[];
  }>;
  /** Fire-and-forget: a state partition was checkpointed (lineage CHECKPOINT location). */
  recordCheckpoint?(dataset: { jobId: string; batchTimeMs: number; nodeId: number }, partition: number, name: string, bytes: number): void;
  /** Fire-and-forget: delete a job's checkpoints of a state node (all of them when `beforeBatchTimeMs` is undefined). */
  deleteCheckpoints?(jobId: string, nodeId: number | undefined, beforeBatchTimeMs: number | undefined): void;
  /**
   * Ask a receiver for a batch's blocks when batch.ready did not arrive: the configured receiver's own share, or with
   * `target` the share of `target.receiverId` asked at `target.address` (itself, or a live receiver reading a gone one's log).
   */
  fetchBatchBlocks(stream: string, batchTimeMs: number, target?: { receiverId: string; address: string }): Promise<{ complete: boolean; blocks: InputBlock[] }>;
  /** Whether a receiver's gRPC health answers SERVING within `timeoutMs` (a silent receiver is probed before it is judged gone). */
  probeReceiver?(address: string, timeoutMs: number): Promise<boolean>;
  /** Fire-and-forget: a batch's final merged block list (NATS `batch.inputs`), for executors and receivers. */
  publishBatchInputs?(msg: BatchReadyMessage): void;
  publishBatchCompleted(msg: BatchCompletedMessage): void;
  publishExecutorLost(msg: ExecutorLostMessage): void;
  publishStreams(msg: StreamsMessage): void;
  /** Fire-and-forget: backpressure's current ingest rates (NATS `rivulet.rate-limits`). */
  publishRateLimits?(msg: RateLimitsMessage): void;
  /**
   * Write a batch's sink calls (sink-runner.ts, off the loop); resolves with
   * the batch's failure message, or undefined once every sink has it.
   */
  writeSinks?(job: SinkJob, batchTimeMs: number, calls: readonly SinkCall[]): Promise<string | undefined>;
  /** What this process wrote to each of a job's sinks (status). */
  sinkProgress?(jobId: string): SinkProgress[];
  /** The NATS server the scheduler is connected to, for status (read from the connection, no request). */
  natsStatus?(): NatsStatus;
  /** JetStream direct sources: stream state and the fenced range journal (absent: jobs reading one fail with a clear error). */
  jetStream?: JetStreamSourcePorts;
  /** What an earlier scheduler journaled for a job's JetStream sources (leader-session.ts: the followed journal). */
  jetStreamJournalOf?(jobId: string): JetStreamJournal | undefined;
}
