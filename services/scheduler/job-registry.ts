/**
 * Submitted jobs: their bundle, their graph (built once here, the same way
 * every executor builds it), their lifecycle and their counters.
 *
 * Lifecycle: RUNNING → STOPPED (asked to) or RUNNING → FAILED (a batch failed
 * for good). Transitions are guarded and logged; a finished job never runs again.
 */
import type { JobGraph } from '../../lib/dstream/graph.js';
import { FailedPreconditionError, NotFoundError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';

export type JobState = 'RUNNING' | 'STOPPED' | 'FAILED';

const TRANSITIONS: Record<JobState, readonly JobState[]> = {
  RUNNING: ['STOPPED', 'FAILED'],
  STOPPED: [],
  FAILED: [],
};

export interface Job {
  id: string;
  name: string;
  /** Who submitted it ('' with security off): only they and admins may stop or watch it. */
  owner: string;
  source: string;
  bundle: string;
  bundleHash: string;
  graph: JobGraph;
  state: JobState;
  error?: string;
  submittedAtMs: number;
  firstBatchTimeMs: number;
  /** The batch clock's cursor: the next batch time the job gets a run for. */
  nextBatchTimeMs: number;
  /**
   * Spark's zeroTime: windows emit at batch times t with (t - zeroTime) a
   * multiple of their slide. The first batch time minus one batch interval
   * (0 for driven jobs, whose batch i is at i × interval).
   */
  zeroTimeMs: number;
  batchesCompleted: number;
  recordsProcessed: number;
  /** Its record is in the job journal (job-journal.ts): progress and state changes are journaled too. */
  journaled?: boolean;
  /** The journal write of its submission; SubmitJob answers once it is done. */
  journalWrite?: Promise<void>;
  /** Restored after a scheduler restart: the first batch this incarnation runs (its lineage registration may replace the last one's). */
  resumedFromBatchMs?: number;
  /** Restored, and still waiting for its cached partitions to be read back from lineage: its batches wait. */
  restoring?: boolean;
  /** The last batch whose outputs were committed. */
  lastCompletedBatchMs?: number;
}

export class JobRegistry {
  private readonly jobs = new Map<string, Job>();
  /** Each job's place in submission order (status pages start after one: a page token). */
  private readonly ordinals = new Map<string, number>();
  private nextOrdinal = 1;

  constructor(private readonly log: Logger) {}

  add(job: Job): void {
    this.jobs.set(job.id, job);
    this.ordinals.set(job.id, this.nextOrdinal++);
  }

  /** The job's place in submission order (1, 2, …; never reused). */
  ordinal(id: string): number {
    return this.ordinals.get(id) ?? 0;
  }

  /** Jobs added after the one at `ordinal`, in submission order. */
  *after(ordinal: number): Generator<Job> {
    for (const job of this.jobs.values()) if ((this.ordinals.get(job.id) ?? 0) > ordinal) yield job;
  }

  get size(): number {
    return this.jobs.size;
  }

  /** Forget a job (a withdrawn submission): it is no longer listed or found. */
  remove(id: string): void {
    this.jobs.delete(id);
    this.ordinals.delete(id);
  }

  get(id: string): Job {
    const job = this.jobs.get(id);
    if (!job) throw new NotFoundError(`job ${JSON.stringify(id)} not found`);
    return job;
  }

  find(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  all(): Job[] {
    return [...this.jobs.values()];
  }

  running(): Job[] {
    return this.all().filter((j) => j.state === 'RUNNING');
  }

  /** The streams read by running jobs: the receiver accepts only these. */
  activeStreams(): string[] {
    return [...new Set(this.running().flatMap((j) => j.graph.streams))].sort();
  }

  transition(job: Job, to: JobState, error?: string): void {
    if (!TRANSITIONS[job.state].includes(to)) {
      throw new FailedPreconditionError(`job ${job.id} is ${job.state} and cannot become ${to}`);
    }
    this.log.info({ jobId: job.id, from: job.state, to, error }, `job ${job.state} -> ${to}`);
    job.state = to;
    if (error) job.error = error;
  }
}
