/**
 * What a batch source plug-in may ask of the scheduler. The batch clock
 * (job-generator.ts) is the built-in source: it queues a batch of every
 * clocked job each interval with the receiver's blocks. A plug-in feeds the
 * batches of its own jobs — submitted with `batches: 'external'`, so the
 * clock never runs them — one at a time, with inputs it chose, and learns
 * when each finished. main.ts selects plug-ins by config (today: the
 * test-only driven source behind `rivulet/testing`, with `testDriver`).
 */
import type { InputBlock, BatchRun } from './batch-run.js';
import type { BatchFinishedListener } from './batch-dag.js';
import type { TrackedExecutor } from './executor-tracker.js';
import type { LoadedJobRequest } from './job-manager.js';
import type { Job } from './job-registry.js';

export interface BatchSourceHost {
  readonly batchIntervalMs: number;
  /** Evaluate a bundle for a job of this source (not journaled, not clocked). Throws the client's error. */
  loadExternalJob(bundle: string, source: string, name: string): Promise<LoadedJobRequest>;
  submitLoaded(request: LoadedJobRequest): Promise<Job>;
  stopJob(jobId: string): Promise<void>;
  /** Queue one batch of one of the source's jobs with these inputs (stream → blocks already stored on executors). */
  enqueueBatch(jobId: string, batchTimeMs: number, inputs: Map<string, InputBlock[]>): Promise<BatchRun>;
  onBatchFinished(listener: BatchFinishedListener): void;
  aliveExecutors(): TrackedExecutor[];
  findJob(jobId: string): Job | undefined;
}
