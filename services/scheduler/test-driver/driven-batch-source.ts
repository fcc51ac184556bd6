/**
 * TEST-ONLY batch source behind `rivulet/testing`'s runBatches: a driven job
 * is never run by the batch clock (it is submitted with `batches:
 * 'external'`, zero time 0, not journaled); each `runBatch` queues exactly
 * one batch with the queue-stream blocks the caller stored on executors, and
 * that batch then takes the product path (plan, lineage, placement, commit)
 * unchanged. Selected by config (`testDriver`): main.ts creates it only then,
 * and the scheduler knows nothing of it beyond the BatchSourceHost API.
 */
import { AbortedError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../../lib/errors.js';
import type { BatchRun, InputBlock } from '../batch-run.js';
import type { BatchSourceHost } from '../batch-source.js';
import type { Job } from '../job-registry.js';

/** An output(name) a driven batch committed. */
export interface DrivenOutput {
  output: string;
  count: number;
  payload: Buffer;
}

interface DrivenJob {
  lastBatchTimeMs: number;
  waiters: Map<number, { resolve: (outputs: DrivenOutput[]) => void; reject: (err: Error) => void }>;
}

export class DrivenBatchSource {
  private readonly driven = new Map<string, DrivenJob>();

  constructor(
    private readonly host: BatchSourceHost,
    private readonly committed: (jobId: string, output: string, batchTimeMs: number) => { count: number; payload: Buffer } | undefined,
  ) {
    host.onBatchFinished((run) => this.batchFinished(run));
  }

  get batchIntervalMs(): number {
    return this.host.batchIntervalMs;
  }

  aliveExecutors() {
    return this.host.aliveExecutors();
  }

  /** Submit a job whose batches run only through runBatch. */
  async submit(bundle: string, source: string, name: string): Promise<Job> {
    const request = await this.host.loadExternalJob(bundle, source, name);
    const streams = request.loaded.graph.streams;
    if (streams.length > 0) {
      throw new InvalidArgumentError(
        `a driven job reads only queue streams (ctx.queueStream); ${name || source} reads receiver streams ${streams.join(', ')}`,
      );
    }
    const job = await this.host.submitLoaded(request);
    this.driven.set(job.id, { lastBatchTimeMs: -Infinity, waiters: new Map() });
    return job;
  }

  /**
   * Run batch `batchTimeMs` of a driven job over `inputs` (queue stream → its
   * blocks, already stored on executors). Resolves with the output(name)s the
   * batch committed; rejects with AbortedError when the batch (so the job) fails.
   */
  async runBatch(jobId: string, batchTimeMs: number, inputs: Map<string, InputBlock[]>): Promise<DrivenOutput[]> {
    const job = this.host.findJob(jobId);
    if (!job) throw new NotFoundError(`job ${JSON.stringify(jobId)} not found`);
    if (job.state !== 'RUNNING') throw new FailedPreconditionError(`job ${jobId} is ${job.state}${job.error ? `: ${job.error}` : ''}`);
    const entry = this.driven.get(jobId);
    if (!entry) throw new NotFoundError(`job ${jobId} is not a driven job (submit it with SubmitDrivenJob)`);
    if (!Number.isSafeInteger(batchTimeMs) || batchTimeMs <= entry.lastBatchTimeMs) {
      throw new InvalidArgumentError(`batch time ${batchTimeMs} must be an integer later than the job's previous batch (${entry.lastBatchTimeMs})`);
    }
    for (const stream of inputs.keys()) {
      if (!job.graph.queueStreams.includes(stream)) {
        throw new InvalidArgumentError(
          `job ${jobId} has no queue stream ${JSON.stringify(stream)}; its queue streams are: ${job.graph.queueStreams.join(', ') || '(none)'}`,
        );
      }
    }
    entry.lastBatchTimeMs = batchTimeMs;
    const done = new Promise<DrivenOutput[]>((resolve, reject) => entry.waiters.set(batchTimeMs, { resolve, reject }));
    try {
      await this.host.enqueueBatch(jobId, batchTimeMs, inputs);
    } catch (err) {
      entry.waiters.delete(batchTimeMs);
      throw err;
    }
    return done;
  }

  /** Answer the runBatch caller of a finished driven batch. */
  private batchFinished(run: BatchRun): void {
    const entry = this.driven.get(run.job.id);
    const waiter = entry?.waiters.get(run.batchTimeMs);
    if (!entry || !waiter) return;
    entry.waiters.delete(run.batchTimeMs);
    if (run.state !== 'COMPLETED') {
      const job = run.job;
      waiter.reject(new AbortedError(job.state === 'FAILED' ? `job ${job.id} failed: ${job.error}` : `job ${job.id} ${job.state.toLowerCase()}: ${run.error}`));
      if (job.state !== 'RUNNING') this.driven.delete(job.id);
      return;
    }
    const outputs: DrivenOutput[] = [];
    for (const out of run.job.graph.outputs) {
      if (out.op !== 'output') continue;
      const committed = this.committed(run.job.id, out.name, run.batchTimeMs);
      if (committed) outputs.push({ output: out.name, count: committed.count, payload: committed.payload });
    }
    waiter.resolve(outputs);
  }
}
