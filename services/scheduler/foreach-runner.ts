/**
 * Running jobs' foreachBatch functions off the scheduler's event loop: each
 * job that has them gets its own long-lived sandbox worker
 * (lib/dstream/sandbox.ts, 'foreach' mode) holding its functions, started on
 * its first batch. A batch's calls run in that worker, one batch at a time
 * per job, under `foreachBatchTimeout`; a worker that overruns, exits or runs
 * out of memory is stopped, the batch gets the failure message, and the next
 * batch starts a fresh worker. Other jobs' workers are untouched. A worker
 * whose event loop stays busy between batches (job code looping in a timer
 * it scheduled) is stopped too, rather than burn a core of the scheduler's
 * host for good.
 *
 * Owns: the workers. May not: touch batches or jobs — it answers with the
 * batch's failure (or none), and the batch DAG decides, in the loop.
 */
import type { EventLoopUtilization } from 'node:perf_hooks';
import { JobSandbox, type SandboxLimits } from '../../lib/dstream/sandbox.js';
import type { FromSandbox, ForeachRequest } from '../../lib/dstream/sandbox-protocol.js';
import type { Logger } from '../../lib/log.js';
import { SerialPerKey } from '../../lib/serial-per-key.js';

export interface ForeachJob {
  id: string;
  bundle: string;
  source: string;
}

export interface ForeachCall {
  /** The foreachBatch output node. */
  nodeId: number;
  /** The batch's packed records for it. */
  payload: Uint8Array;
}

export interface ForeachRunnerOptions extends SandboxLimits {
  /** foreachBatchTimeout, ms. */
  timeoutMs: number;
  /** Compiled sandbox-worker.js. @default sandboxWorkerPath() */
  workerPath?: string;
}

interface JobWorker {
  sandbox: JobSandbox;
  /** Running a batch's calls now. */
  busy: boolean;
  /** Ends the batch in flight with this failure (its worker is being stopped). */
  abort?: (error: string) => void;
  /** Why it was stopped on purpose (the job ended, the scheduler stops): a batch still waiting for its build gets this. */
  ended?: string;
  /** Wakes a batch waiting for the build when the worker is stopped (a stopped build may take its whole timeout to settle). */
  stopWaiting?: () => void;
  /** Its event-loop utilisation at the last idle check. */
  elu?: EventLoopUtilization;
}

/** How often idle workers are checked for job code running between batches. */
const IDLE_CHECK_MS = 1000;
/** An idle worker whose event loop was this busy over a whole check runs job code between batches. */
const BUSY_IDLE_UTILIZATION = 0.9;

export class ForeachRunner {
  private readonly workers = new Map<string, JobWorker>();
  /** A job's batches one after another (a job's batches commit in order). */
  private readonly inOrder = new SerialPerKey();
  private seq = 0;
  private closed = false;
  private idleCheck: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: ForeachRunnerOptions,
    private readonly log: Logger,
  ) {}

  /** Run a batch's foreachBatch calls in output order. Resolves with the batch's failure message, or undefined. */
  run(job: ForeachJob, batchTimeMs: number, calls: ForeachCall[]): Promise<string | undefined> {
    return this.inOrder.run(job.id, () => this.call(job, batchTimeMs, calls));
  }

  /** The job ended: stop its worker. */
  jobEnded(jobId: string): void {
    const w = this.workers.get(jobId);
    if (!w) return;
    this.workers.delete(jobId);
    w.ended = this.closed ? 'the scheduler is shutting down' : 'the job ended';
    w.abort?.(w.ended);
    w.stopWaiting?.();
    w.sandbox.terminate();
  }

  /** A batch of the job is running in its worker now (handed over, not answered yet). */
  inFlight(jobId: string): boolean {
    return this.workers.get(jobId)?.abort !== undefined;
  }

  close(): void {
    this.closed = true;
    if (this.idleCheck) clearInterval(this.idleCheck);
    for (const id of [...this.workers.keys()]) this.jobEnded(id);
  }

  get workerCount(): number {
    return this.workers.size;
  }

  private workerFor(job: ForeachJob): JobWorker {
    const existing = this.workers.get(job.id);
    if (existing?.sandbox.alive) return existing;
    const sandbox = new JobSandbox(job.bundle, job.source, 'foreach', this.options, this.options.workerPath);
    const w: JobWorker = { sandbox, busy: false };
    if (!this.idleCheck) {
      this.idleCheck = setInterval(() => this.checkIdle(), IDLE_CHECK_MS);
      this.idleCheck.unref();
    }
    sandbox.onMessage = (msg) => this.logRejection(job, msg);
    sandbox.onEnd = (reason) => {
      if (this.workers.get(job.id) === w) this.workers.delete(job.id);
      this.log.warn({ jobId: job.id, reason }, 'foreachBatch worker of the job stopped');
    };
    this.workers.set(job.id, w);
    return w;
  }

  private async call(job: ForeachJob, batchTimeMs: number, calls: ForeachCall[]): Promise<string | undefined> {
    if (this.closed) return 'the scheduler is shutting down';
    const w = this.workerFor(job);
    w.busy = true; // building counts as busy: a slow build is not job code looping between batches
    try {
      await Promise.race([w.sandbox.built, new Promise<void>((resolve) => (w.stopWaiting = resolve))]);
    } catch (e) {
      if (w.ended) return w.ended;
      this.jobEnded(job.id);
      return `the job's foreachBatch worker could not start: ${(e as Error).message}`;
    }
    // Ended while it was being built: answered as a batch in flight would be.
    if (w.ended) return w.ended;
    if (!w.sandbox.alive) return `the job's foreachBatch worker stopped before batch ${batchTimeMs} could run`;
    const seq = ++this.seq;
    const { sandbox } = w;
    return new Promise<string | undefined>((resolve) => {
      const running = () => {
        const node = sandbox.probe[0]!;
        return `foreachBatch function (node ${node >= 0 ? node : calls[0]?.nodeId})`;
      };
      const finish = (error?: string) => {
        clearTimeout(timer);
        w.abort = undefined;
        w.busy = false;
        w.elu = undefined;
        sandbox.onMessage = (msg) => this.logRejection(job, msg);
        sandbox.onEnd = () => {
          if (this.workers.get(job.id) === w) this.workers.delete(job.id);
        };
        resolve(error);
      };
      const timer = setTimeout(() => {
        finish(`${running()} did not return within ${this.options.timeoutMs} ms (foreachBatchTimeout); its worker thread was stopped`);
        this.jobEnded(job.id);
      }, this.options.timeoutMs);
      w.abort = finish;
      sandbox.onMessage = (msg) => {
        if (msg.type === 'foreachDone' && msg.seq === seq) finish(msg.error);
        else this.logRejection(job, msg);
      };
      sandbox.onEnd = (reason) => {
        if (this.workers.get(job.id) === w) this.workers.delete(job.id);
        finish(`${running()} ${reason}`);
      };
      // Each payload copied into its own buffer and transferred: a view would clone all of its backing memory.
      const owned = calls.map((c) => ({ nodeId: c.nodeId, payload: new Uint8Array(c.payload) }));
      const request: ForeachRequest = { type: 'foreach', seq, batchTimeMs, calls: owned };
      sandbox.worker.postMessage(
        request,
        owned.map((c) => c.payload.buffer as ArrayBuffer),
      );
    });
  }

  /** Stop idle workers whose event loop stayed busy since the last check. */
  private checkIdle(): void {
    for (const [jobId, w] of [...this.workers]) {
      if (w.busy || !w.sandbox.alive) continue;
      const perf = w.sandbox.worker.performance;
      const elu = perf.eventLoopUtilization();
      const since = w.elu ? perf.eventLoopUtilization(elu, w.elu) : undefined;
      w.elu = elu;
      if (since && since.utilization >= BUSY_IDLE_UTILIZATION) {
        this.log.warn({ jobId }, "the job's code kept its foreachBatch worker busy between batches (a timer?); the worker was stopped");
        this.jobEnded(jobId);
      }
    }
    if (this.workers.size === 0 && this.idleCheck) {
      clearInterval(this.idleCheck);
      this.idleCheck = undefined;
    }
  }

  private logRejection(job: ForeachJob, msg: FromSandbox): void {
    if (msg.type !== 'foreachRejected') return;
    this.log.error(
      { jobId: job.id, batchTimeMs: msg.batchTimeMs, output: `foreachBatch-${msg.nodeId}`, err: msg.message },
      'foreachBatch promise rejected',
    );
  }
}
