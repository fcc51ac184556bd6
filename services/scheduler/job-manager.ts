/**
 * Job lifecycle and the job journal (Spark's JobScheduler): a submitted
 * bundle is loaded and its graph checked, the job is registered and
 * journaled (SubmitJob answers once that write is durable), a journaled job
 * of an earlier scheduler incarnation is restored with the same id, and a
 * job ends STOPPED (asked to) or FAILED (a batch failed for good) — each
 * journaled, each announced to the receivers as the new set of active
 * streams.
 *
 * Owns: the job registry's lifecycle transitions and the journal records.
 * May not: touch batches, tasks or caches — a job that starts or ends is
 * reported to `JobLifecycleListener`, and the scheduler routes it.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import { JobDefinitionError } from '../../lib/dstream/errors.js';
import { buildInSandbox, type DescribedJob } from '../../lib/dstream/sandbox.js';
import { cacheRetention, nodeSlides } from '../../lib/dstream/planner.js';
import { FailedPreconditionError, InvalidArgumentError, ResourceExhaustedError, UnavailableError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { checkName, toName } from '../../lib/names.js';
import { checkpointIntervalMs, type SchedulerConfig } from './config.js';
import type { ExecutorTracker } from './executor-tracker.js';
import type { JobRecord } from './job-journal.js';
import type { Job, JobRegistry } from './job-registry.js';
import type { OutputStore } from './output-store.js';
import type { SchedulerPorts } from './ports.js';

/** A bundle already evaluated and built (in a sandbox worker, never on the event loop), ready to be registered. */
export interface LoadedJobRequest {
  bundle: string;
  source: string;
  name: string;
  /** The submitting user ('' with security off). */
  owner?: string;
  loaded: DescribedJob;
  /** Journal it (a restarted scheduler resumes it). Jobs driven by a test BatchSource are not. */
  journal: boolean;
  /**
   * 'clock': the batch clock runs it every interval (receiver streams).
   * 'external': only batches a BatchSource enqueues run (its zero time is 0:
   * batch i is at i × interval).
   */
  batches: 'clock' | 'external';
}

export interface JobLifecycleListener {
  jobAdded(job: Job): void;
  /** The job left RUNNING: drop its batches, tasks and cached data. */
  jobEnded(job: Job, reason: string): void;
}

type Config = Pick<SchedulerConfig, 'batchInterval' | 'maxBundleBytes' | 'jobBuildTimeout' | 'jobSandboxMemory' | 'stateCheckpointInterval' | 'retainedEndedJobs'>;

/**
 * A new job's name: the one asked for, else the job module's `options.name`
 * (both must follow lib/names.ts), else made from its file name.
 */
export function jobName(asked: string, declared: unknown, source: string): string {
  if (asked) return checkName('SubmitJob name', asked);
  if (declared !== undefined && declared !== '') return checkName("the job's options.name", declared);
  return toName(source.replace(/^.*[\\/]/, '').replace(/\.[cm]?[jt]sx?$/, '')) ?? 'job';
}

export class JobManager {
  listener?: JobLifecycleListener;

  constructor(
    private readonly config: Config,
    private readonly clock: Clock,
    readonly jobs: JobRegistry,
    private readonly outputs: OutputStore,
    private readonly executors: ExecutorTracker,
    private readonly ports: Pick<SchedulerPorts, 'recordJob' | 'journalJob' | 'purgeOutputs' | 'publishStreams' | 'forgetJob'>,
    private readonly log: Logger,
  ) {}

  /**
   * Evaluate a bundle and build its graph in a sandbox worker (lib/dstream/sandbox.ts);
   * touches no scheduler state, so it runs before the request enters the
   * event loop. Rejects with the client's error.
   */
  /** Build a job's graph in the sandbox — or take `prebuilt`, the graph a standby built from the same bundle (standby-prep.ts). */
  async load(
    bundle: string,
    source: string,
    name: string,
    options: Pick<LoadedJobRequest, 'journal' | 'batches'>,
    prebuilt?: DescribedJob,
  ): Promise<LoadedJobRequest> {
    if (Buffer.byteLength(bundle) > this.config.maxBundleBytes) {
      throw new ResourceExhaustedError(
        `job bundle is ${Buffer.byteLength(bundle)} bytes, over the limit of ${this.config.maxBundleBytes} (maxBundleBytes)`,
      );
    }
    if (bundle.trim().length === 0) throw new InvalidArgumentError('job bundle is empty');
    const loaded = prebuilt ?? await buildInSandbox(bundle, source || 'job.js', {
      buildTimeoutMs: this.config.jobBuildTimeout,
      memoryBytes: this.config.jobSandboxMemory,
    });
    return { bundle, source, name, loaded, ...options };
  }

  /** Register a loaded job (in the loop). Throws InvalidArgumentError / UnavailableError for the client. */
  submit(req: LoadedJobRequest): Job {
    const { loaded, source } = req;
    if (this.executors.alive().length === 0) {
      throw new UnavailableError('no executors alive: start executors (rivulet up --executors N) before submitting jobs');
    }
    const interval = this.config.batchInterval;
    try {
      nodeSlides(loaded.graph, interval);
    } catch (err) {
      if (err instanceof JobDefinitionError) throw new InvalidArgumentError(`${err.message} (batch interval ${interval} ms)`);
      throw err;
    }
    const name = jobName(req.name, loaded.options.name, source);
    const now = this.clock.now();
    const clocked = req.batches === 'clock';
    const firstBatchTimeMs = clocked ? Math.floor(now / interval) * interval + interval : Number.POSITIVE_INFINITY;
    const job: Job = {
      id: `job-${randomBytes(4).toString('hex')}`,
      name,
      owner: req.owner ?? '',
      source,
      bundle: req.bundle,
      bundleHash: loaded.bundleHash,
      graph: loaded.graph,
      state: 'RUNNING',
      submittedAtMs: now,
      firstBatchTimeMs,
      nextBatchTimeMs: firstBatchTimeMs,
      zeroTimeMs: clocked ? firstBatchTimeMs - interval : 0,
      batchesCompleted: 0,
      recordsProcessed: 0,
    };
    this.register(job);
    this.log.info({ jobId: job.id, name: job.name, streams: job.graph.streams, outputs: job.graph.outputs.map((o) => o.name) }, 'job submitted');
    if (this.ports.recordJob && req.journal) {
      job.journaled = true;
      job.journalWrite = this.ports.recordJob(this.record(job), req.bundle);
    }
    this.publishStreams();
    return job;
  }

  /**
   * Take back a job journaled by an earlier incarnation of the scheduler
   * (killed, then restarted): same id, bundle and zero time; it resumes at the
   * batch after its last completed one. Its batches wait (`restoring`) until
   * its cached partitions and checkpoints are back from lineage.
   */
  restore(rec: JobRecord, req: LoadedJobRequest): Job {
    const { loaded } = req;
    const interval = this.config.batchInterval;
    if (loaded.bundleHash !== rec.bundleHash) {
      throw new FailedPreconditionError(`journaled job ${rec.id}: its bundle hashes to ${loaded.bundleHash}, not ${rec.bundleHash}`);
    }
    nodeSlides(loaded.graph, interval); // the interval may have changed: refuse clearly
    if ((rec.zeroTimeMs - rec.firstBatchTimeMs) % interval !== 0 || rec.firstBatchTimeMs % interval !== 0) {
      throw new FailedPreconditionError(`journaled job ${rec.id} ran with another batch interval than ${interval} ms; it cannot resume on this clock`);
    }
    const resumeAt = rec.lastCompletedBatchMs !== undefined ? rec.lastCompletedBatchMs + interval : rec.firstBatchTimeMs;
    const job: Job = {
      id: rec.id,
      name: rec.name,
      owner: rec.owner ?? '',
      source: rec.source,
      bundle: req.bundle,
      bundleHash: rec.bundleHash,
      graph: loaded.graph,
      state: 'RUNNING',
      submittedAtMs: rec.submittedAtMs,
      firstBatchTimeMs: rec.firstBatchTimeMs,
      nextBatchTimeMs: resumeAt,
      zeroTimeMs: rec.zeroTimeMs,
      batchesCompleted: rec.batchesCompleted,
      recordsProcessed: rec.recordsProcessed,
      journaled: true,
      resumedFromBatchMs: resumeAt,
      restoring: true,
      ...(rec.lastCompletedBatchMs !== undefined ? { lastCompletedBatchMs: rec.lastCompletedBatchMs } : {}),
    };
    this.register(job);
    this.log.warn({ jobId: job.id, name: job.name, resumeAt }, 'job resumed from the journal after a scheduler restart');
    this.publishStreams();
    return job;
  }

  /**
   * The earlier batches a restored job's windows and states still read: how
   * many batch intervals back from its last completed batch the restore
   * needs lineage's record of.
   */
  restoreHorizonBatches(job: Job): number {
    const interval = this.config.batchInterval;
    let ms = 0;
    for (const v of cacheRetention(job.graph, interval).values()) if (Number.isFinite(v)) ms = Math.max(ms, v);
    return Math.ceil(ms / interval) + Math.ceil(checkpointIntervalMs(interval, this.config.stateCheckpointInterval) / interval) + 2;
  }

  stop(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (job.state !== 'RUNNING') return;
    this.end(job, 'STOPPED', 'job stopped');
  }

  /** End a job whose submission was refused after registration, and forget it (job registry and outputs). */
  withdraw(jobId: string, reason: string): void {
    const job = this.jobs.find(jobId);
    if (!job) return;
    if (job.state === 'RUNNING') this.end(job, 'STOPPED', reason);
    this.jobs.remove(jobId);
    this.outputs.forgetJob(jobId);
    this.log.info({ jobId, reason }, 'refused job withdrawn');
  }

  fail(job: Job, error: string): void {
    if (job.state !== 'RUNNING') return;
    this.end(job, 'FAILED', error);
  }

  private end(job: Job, to: 'STOPPED' | 'FAILED', reason: string): void {
    this.jobs.transition(job, to, to === 'FAILED' ? reason : undefined);
    this.journal(job);
    if (job.journaled) this.ports.purgeOutputs?.(job.id);
    this.listener?.jobEnded(job, reason);
    if (to === 'STOPPED') this.outputs.endJob(job.id, true);
    else this.outputs.endJob(job.id, false, `job ${job.id} failed: ${reason}`);
    this.publishStreams();
    this.forgetEndedBeyondRetention();
  }

  /** retainedEndedJobs: forget the earliest submitted ended jobs beyond it (status, outputs, journal entries). */
  private forgetEndedBeyondRetention(): void {
    const ended = this.jobs.all().filter((j) => j.state !== 'RUNNING');
    for (const job of ended.slice(0, Math.max(0, ended.length - this.config.retainedEndedJobs))) {
      this.jobs.remove(job.id);
      this.outputs.forgetJob(job.id);
      this.ports.forgetJob?.(job.id, job.journaled === true);
      this.log.info({ jobId: job.id, state: job.state, retainedEndedJobs: this.config.retainedEndedJobs }, 'ended job forgotten (retainedEndedJobs)');
    }
  }

  /** The journal's view of a job (job-journal.ts). */
  record(job: Job): JobRecord {
    return {
      id: job.id,
      name: job.name,
      source: job.source,
      bundleHash: job.bundleHash,
      submittedAtMs: job.submittedAtMs,
      firstBatchTimeMs: job.firstBatchTimeMs,
      zeroTimeMs: job.zeroTimeMs,
      state: job.state,
      ...(job.error ? { error: job.error } : {}),
      ...(job.lastCompletedBatchMs !== undefined ? { lastCompletedBatchMs: job.lastCompletedBatchMs } : {}),
      batchesCompleted: job.batchesCompleted,
      recordsProcessed: job.recordsProcessed,
      ...(job.owner ? { owner: job.owner } : {}),
    };
  }

  /** Fire-and-forget journal write of a job's state (the journal logs its own failures). */
  private journal(job: Job): void {
    if (job.journaled) this.ports.journalJob?.(this.record(job)).catch(() => undefined);
  }

  publishStreams(): void {
    this.ports.publishStreams({ streams: this.jobs.activeStreams(), batchIntervalMs: this.config.batchInterval });
  }

  private register(job: Job): void {
    this.jobs.add(job);
    for (const name of job.graph.outputNames) this.outputs.declare(job.id, name);
    this.listener?.jobAdded(job);
  }
}
