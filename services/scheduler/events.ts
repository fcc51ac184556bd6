/**
 * Everything that happens to the scheduler, as one discriminated union:
 * timers, NATS messages, gRPC results and client requests alike become a
 * `SchedulerEvent` that Scheduler.handle routes to its components, one at a
 * time (Spark's DAGSchedulerEvent). Asynchronous work never touches state
 * when it resumes; it posts its outcome as one of these.
 */
import type { BatchReadyMessage, HeartbeatMessage, ReceiverHeartbeatMessage } from '../../lib/nats/subjects.js';
import type { TaskResult__Output } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { BatchRun, InputBlock, LineageRebuild } from './batch-run.js';
import type { RestoredBatch } from './cache-registry.js';
import type { LoadedJobRequest } from './job-manager.js';
import type { LivenessSignal } from './liveness-guard.js';
import type { Job } from './job-registry.js';
import type { JobRecord } from './job-journal.js';
import type { CommittedBatch } from './output-store.js';
import type { JetStreamJournal, StreamInfoAnswer } from './jetstream-journal.js';

/** A client request answered from inside the loop: `reply` gets the result or the error to send back. */
export interface Reply<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

export type SchedulerEvent =
  // Client requests (server.ts), answered through `reply`.
  | { type: 'submitJob'; request: LoadedJobRequest; reply: Reply<Job> }
  | { type: 'stopJob'; jobId: string; reply: Reply<void> }
  /** A submission refused after it was registered (its journal write failed): ended and forgotten. */
  | { type: 'withdrawJob'; jobId: string; reason: string; reply: Reply<void> }
  | { type: 'restoreJob'; record: JobRecord; request: LoadedJobRequest; reply: Reply<Job> }
  | { type: 'outputsRestored'; jobId: string; output: string; batches: CommittedBatch[] }
  | { type: 'cacheRestored'; jobId: string; batches: RestoredBatch[] }
  /** Run one batch of a job whose batches come from outside the clock (BatchSource), with these inputs. */
  | { type: 'enqueueBatch'; jobId: string; batchTimeMs: number; inputs: Map<string, InputBlock[]>; reply: Reply<BatchRun> }
  // The batch clock and its inputs.
  | { type: 'tick'; batchTimeMs: number }
  | { type: 'batchReady'; msg: BatchReadyMessage }
  | { type: 'inputTimeout'; batchTimeMs: number }
  /** A silent receiver's health probe answered (receiver-tracker.ts). */
  | { type: 'receiverProbed'; receiverId: string; incarnation: string; serving: boolean }
  /** Publish batch.inputs again for batches still unfinished (a NATS outage may have lost it: executors and receivers wait on it). */
  | { type: 'republishInputs' }
  /** A receiver's heartbeat (`seenAtMs`/`warm`: replayed from what main.ts heard while this scheduler was a standby). */
  | { type: 'receiverHeartbeat'; msg: ReceiverHeartbeatMessage; seenAtMs?: number; warm?: boolean }
  // Executors.
  /** `verified`: a claimed restart whose old incarnation no longer answers (scheduler.ts onHeartbeat). */
  | { type: 'heartbeat'; msg: HeartbeatMessage; verified?: boolean }
  | { type: 'livenessCheck' }
  /** The scheduler's own health (event-loop lag, NATS connection): see liveness-guard.ts. */
  | { type: 'livenessSignal'; signal: LivenessSignal }
  | { type: 'executorUnreachable'; executorId: string; epoch: number }
  /** A health probe after a broken call was answered: the executor is there after all. */
  | { type: 'executorAnswered'; executorId: string; epoch: number }
  | { type: 'blocksReplicated'; executorId: string; epoch: number; blockIds: string[] }
  // Batches and their tasks.
  | { type: 'batchRegistered'; run: BatchRun }
  | { type: 'batchRegisterFailed'; run: BatchRun; error: string }
  | { type: 'taskResult'; result: TaskResult__Output }
  /** Results that came in one TaskStream message: taken together, with one scheduling round after them. */
  | { type: 'taskResults'; results: TaskResult__Output[] }
  /** Planned attempts were adopted whose results had already come (task-set-manager.ts takeAdoptedResults). */
  | { type: 'adoptedResults' }
  /** A planned task's result that no adopted attempt was waiting for when it came (group-planner.ts). */
  | { type: 'plannedResult'; result: TaskResult__Output }
  /** An executor's task stream broke: the group plans sent on it are gone. */
  | { type: 'taskChannelBroken'; executorId: string; epoch: number; unreachable: boolean }
  | { type: 'tasksLost'; executorId: string; epoch: number; taskIds: string[]; error: string; unreachable: boolean }
  | { type: 'speculationCheck' }
  | { type: 'stateRebuildPlanned'; run: BatchRun; nodeId: number; plans: Map<number, LineageRebuild> }
  /** A batch's foreachBatch functions ran in the job's worker (foreach-runner.ts); `error` fails the batch. */
  | { type: 'foreachBatchDone'; run: BatchRun; error?: string }
  /** A batch's sinks were written (sink-runner.ts); `error` fails the batch. */
  | { type: 'sinksWritten'; run: BatchRun; error?: string }
  | { type: 'batchJournaled'; run: BatchRun }
  | { type: 'reschedule' }
  // JetStream direct sources (jetstream-source.ts): the streams' state for a batch's ranges, the ranges journaled, a retry.
  | { type: 'jetStreamInfo'; jobId: string; batchTimeMs: number; infos?: ReadonlyMap<string, StreamInfoAnswer>; error?: string }
  | { type: 'jetStreamJournaled'; jobId: string; batchTimeMs: number; journal?: JetStreamJournal; decided?: JetStreamJournal['pending']; error?: string }
  | { type: 'jetStreamRetry'; jobId: string };

export type PostEvent = (event: SchedulerEvent) => void;
