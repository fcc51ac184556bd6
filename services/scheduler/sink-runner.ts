/**
 * Writing committed batches to their outputs' sinks (`output(name).toJetStream`,
 * `.toPostgres`, lib/sinks/) off the scheduler's event loop: one worker thread
 * per scheduler process (lib/sinks/sink-worker.ts, our code only) does the
 * per-record work, with its own NATS connection and PostgreSQL pools. The
 * batch DAG hands a batch's sink calls here once its foreachBatch functions
 * ran and before any of its outputs is committed; the batch completes — and is
 * journaled as completed — only after every sink answered. So a scheduler
 * killed between a sink write and the journal re-runs the batch, and the sink
 * deduplicates it (a commit row, a message id).
 *
 * A job's batches are written one at a time, in batch order; a batch's
 * outputs at once (each sink deduplicates on its own, so none waits for
 * another; the first failure is the batch's). Connection strings are resolved here, from the scheduler's
 * environment (`resolveConnection`, main.ts), never from the job. A write that
 * fails after the retry budget — or a worker thread that dies — fails the
 * batch with a message naming the sink; the job's failure policy does the rest.
 *
 * Metrics: rivulet.sink.* (docs/telemetry.md), recorded per batch here, never
 * per record. Status: what this process wrote to each job output's sink
 * (`progressOf`, GetStatus's SinkStatus), including a write being retried.
 *
 * Owns: the worker. May not: touch batches or jobs (it answers with the
 * batch's failure, or none, and the batch DAG decides, in the loop).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { metrics, type Counter, type Histogram, type MeterProvider } from '@opentelemetry/api';
import type { Logger } from '../../lib/log.js';
import { errorMessage } from '../../lib/errors.js';
import type { FromSinkWorker, SinkWorkerData, SinkWriteOutcome, SinkWriteRequest } from '../../lib/sinks/protocol.js';
import { connectionEnvName, sinkLabel, sinkSpecProblem, type SinkSpec } from '../../lib/sinks/spec.js';
import { METER_NAME } from '../../lib/telemetry/metrics.js';
import { SerialPerKey } from '../../lib/serial-per-key.js';

/** One output's records of a batch, for its sink. */
export interface SinkCall {
  output: string;
  spec: SinkSpec;
  /** Packed records (lib/codec/records.ts); handed to the worker thread (transferred when it owns its memory). */
  payload: Uint8Array;
}

export interface SinkJob {
  id: string;
  /** For metrics (low cardinality, as the batch metrics). */
  name: string;
}

interface Pending {
  resolve(outcome: SinkWriteOutcome): void;
  label: string;
  progress: SinkProgress;
}

/** What this process wrote to one output's sink since it started (GetStatus's SinkStatus). */
export interface SinkProgress {
  output: string;
  /** sinkLabel: no connection string. */
  sink: string;
  batchesWritten: number;
  batchesSkipped: number;
  recordsWritten: number;
  /** The latest batch written or skipped (0: none). */
  lastBatchTimeMs: number;
  lastError: string;
  lastErrorAtMs: number;
  /** The attempt that failed last while the write is retried (0: not retrying). */
  retryingAttempt: number;
}

interface SinkInstruments {
  provider: MeterProvider;
  writeTime: Histogram;
  batches: Counter;
  records: Counter;
  errors: Counter;
}

let cachedInstruments: SinkInstruments | undefined;

/** Created on first use, re-created if the global provider changes (see lib/telemetry/metrics.ts). */
function sinkInstruments(): SinkInstruments {
  const provider = metrics.getMeterProvider();
  if (cachedInstruments?.provider === provider) return cachedInstruments;
  const meter = provider.getMeter(METER_NAME);
  cachedInstruments = {
    provider,
    writeTime: meter.createHistogram('rivulet.sink.write_time', {
      description: 'Time to write one batch of one output to its sink, retries included',
      unit: 'ms',
      advice: { explicitBucketBoundaries: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000] },
    }),
    batches: meter.createCounter('rivulet.sink.batches', { description: 'Batches written to a sink, by rivulet.sink.outcome (written, skipped, failed)', unit: '{batch}' }),
    records: meter.createCounter('rivulet.sink.records', { description: 'Records a sink stored (duplicates of an earlier run not included)', unit: '{record}' }),
    errors: meter.createCounter('rivulet.sink.errors', { description: 'Failed sink write attempts, by rivulet.sink.error (retried, failed)', unit: '{error}' }),
  };
  return cachedInstruments;
}

export function sinkWorkerPath(): string {
  for (const rel of ['../../lib/sinks/sink-worker.js', '../../dist/lib/sinks/sink-worker.js']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('compiled sink worker not found (dist/lib/sinks/sink-worker.js): run `npm run build` first');
}

export class SinkRunner {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  /** A job's batches one after another (a job's batches reach its sinks in order). */
  private readonly inOrder = new SerialPerKey();
  /** Per job, per output. */
  private readonly progress = new Map<string, Map<string, SinkProgress>>();
  private seq = 0;
  private closed = false;

  constructor(
    private readonly data: SinkWorkerData,
    /** A Postgres connection name → its connection string (the scheduler's environment), or undefined. */
    private readonly resolveConnection: (name: string) => string | undefined,
    private readonly log: Logger,
    private readonly workerPath: string = sinkWorkerPath(),
  ) {}

  /** Write a batch's sink calls, all at once. Resolves with the batch's first failure (in output order), or undefined. */
  write(job: SinkJob, batchTimeMs: number, calls: readonly SinkCall[]): Promise<string | undefined> {
    return this.inOrder.run(job.id, async () => {
      const errors = await Promise.all(calls.map((call) => this.writeOne(job, batchTimeMs, call)));
      return errors.find((e) => e !== undefined);
    });
  }

  /** What this process wrote to each of the job's sinks, in the order they were first written. */
  progressOf(jobId: string): SinkProgress[] {
    return [...(this.progress.get(jobId)?.values() ?? [])].map((p) => ({ ...p }));
  }

  /** The job was forgotten (retainedEndedJobs): its progress goes too. */
  forgetJob(jobId: string): void {
    this.progress.delete(jobId);
  }

  private progressFor(jobId: string, call: SinkCall): SinkProgress {
    let perJob = this.progress.get(jobId);
    if (!perJob) this.progress.set(jobId, (perJob = new Map<string, SinkProgress>()));
    let p = perJob.get(call.output);
    if (!p) {
      p = { output: call.output, sink: sinkLabel(call.spec), batchesWritten: 0, batchesSkipped: 0, recordsWritten: 0, lastBatchTimeMs: 0, lastError: '', lastErrorAtMs: 0, retryingAttempt: 0 };
      perJob.set(call.output, p);
    }
    return p;
  }

  private async writeOne(job: SinkJob, batchTimeMs: number, call: SinkCall): Promise<string | undefined> {
    const problem = sinkSpecProblem(call.spec);
    if (problem) return `the sink of output ${call.output}: ${problem}`;
    const progress = this.progressFor(job.id, call);
    const failed = (error: string): string => {
      progress.lastError = error;
      progress.lastErrorAtMs = Date.now();
      progress.retryingAttempt = 0;
      return error;
    };
    const label = `sink ${sinkLabel(call.spec)} of output ${call.output}`;
    if (this.closed) return failed(`${label}: the scheduler is shutting down`);
    let connectionUrl: string | undefined;
    if (call.spec.kind === 'postgres') {
      connectionUrl = this.resolveConnection(call.spec.connection);
      if (!connectionUrl) {
        return failed(
          `${label}: the scheduler has no connection ${JSON.stringify(call.spec.connection)}: set ${connectionEnvName(call.spec.connection)} to its connection string in the scheduler's environment`,
        );
      }
    }
    const attributes = { 'rivulet.job.name': job.name, 'rivulet.output': call.output, 'rivulet.sink': call.spec.kind };
    const m = sinkInstruments();
    const started = performance.now();
    const outcome = await this.send(label, progress, {
      type: 'write',
      seq: ++this.seq,
      jobId: job.id,
      output: call.output,
      batchTimeMs,
      spec: call.spec,
      ...(connectionUrl ? { connectionUrl } : {}),
      // Transferred, so it must own its memory: a view (of a pooled buffer, say) is copied first.
      payload: call.payload.byteOffset === 0 && call.payload.byteLength === call.payload.buffer.byteLength ? call.payload : new Uint8Array(call.payload),
    });
    if (!outcome.ok) {
      m.errors.add(1, { ...attributes, 'rivulet.sink.error': 'failed' });
      m.batches.add(1, { ...attributes, 'rivulet.sink.outcome': 'failed' });
      this.log.error({ jobId: job.id, output: call.output, batchTimeMs, err: outcome.error }, 'sink write failed');
      return failed(outcome.error);
    }
    progress.retryingAttempt = 0;
    if (outcome.skipped) progress.batchesSkipped++;
    else progress.batchesWritten++;
    progress.recordsWritten += outcome.records;
    progress.lastBatchTimeMs = Math.max(progress.lastBatchTimeMs, batchTimeMs);
    m.writeTime.record(performance.now() - started, attributes);
    m.batches.add(1, { ...attributes, 'rivulet.sink.outcome': outcome.skipped ? 'skipped' : 'written' });
    if (outcome.records > 0) m.records.add(outcome.records, attributes);
    if (outcome.skipped || outcome.duplicates > 0) {
      this.log.info({ jobId: job.id, output: call.output, batchTimeMs, duplicates: outcome.duplicates }, `${label}: the batch was written before (a re-run); not written again`);
    }
    return undefined;
  }

  private send(label: string, progress: SinkProgress, req: SinkWriteRequest): Promise<SinkWriteOutcome> {
    const worker = this.ensureWorker();
    return new Promise<SinkWriteOutcome>((resolve) => {
      this.pending.set(req.seq, { resolve, label, progress });
      worker.postMessage(req, [req.payload.buffer as ArrayBuffer]);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.workerPath, { name: 'rivulet-sink-writer', workerData: this.data });
    let lastError: Error | undefined;
    worker.on('message', (msg: FromSinkWorker) => this.onMessage(msg));
    worker.on('error', (err) => {
      lastError = err;
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      if (this.pending.size === 0) return;
      const why = lastError ? `${lastError.name}: ${lastError.message}` : `exit code ${code}`;
      this.log.error({ why, inFlight: this.pending.size }, 'the sink writer thread stopped; its writes in flight fail their batches');
      // A write in flight may or may not have reached its sink: the batch fails, and its re-run is deduplicated there.
      for (const [seq, p] of [...this.pending]) {
        this.pending.delete(seq);
        p.resolve({ ok: false, error: `${p.label}: the sink writer thread stopped (${why})` });
      }
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private onMessage(msg: FromSinkWorker): void {
    switch (msg.type) {
      case 'written': {
        const p = this.pending.get(msg.seq);
        if (!p) return;
        this.pending.delete(msg.seq);
        p.resolve(msg.outcome);
        return;
      }
      case 'retry': {
        const p = this.pending.get(msg.seq);
        if (p) {
          p.progress.retryingAttempt = msg.attempt;
          p.progress.lastError = msg.error;
          p.progress.lastErrorAtMs = Date.now();
        }
        sinkInstruments().errors.add(1, { 'rivulet.sink.error': 'retried' });
        this.log.warn({ attempt: msg.attempt, backoffMs: Math.round(msg.backoffMs), err: msg.error }, `${p?.label ?? 'sink'}: write failed, retrying`);
        return;
      }
      case 'log':
        this.log.warn(msg.message);
        return;
    }
  }

  /** Stop the worker; writes in flight fail their batches (their re-runs are deduplicated by the sinks). */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    worker.postMessage({ type: 'close' });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const timer = setTimeout(() => {
      void worker.terminate().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'sink writer thread did not stop'));
    }, 2000);
    await exited;
    clearTimeout(timer);
  }
}
