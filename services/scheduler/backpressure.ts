/**
 * Backpressure's wiring in the scheduler (Spark's RateController): tells the
 * pure rate controller (rate-controller.ts) when a clocked job starts (its
 * streams then get `backpressureInitialRate`, if set), feeds it every
 * completed batch of such a job, forgets a job that ended, and publishes the streams' rate
 * limits on NATS (`rivulet.rate-limits`) when they change and every batch
 * interval (best-effort: a receiver that missed one has the next), and as the
 * `rivulet.stream.rate_limit` gauge.
 *
 * Owns: the rate controller. May not: change batches or jobs — it only
 * reads finished batches.
 */
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { observeGauge } from '../../lib/telemetry/metrics.js';
import type { BatchRun } from './batch-run.js';
import type { Job } from './job-registry.js';
import type { SchedulerConfig } from './config.js';
import type { SchedulerPorts } from './ports.js';
import { RateController } from './rate-controller.js';

type Config = Pick<
  SchedulerConfig,
  'batchInterval' | 'backpressureProportional' | 'backpressureIntegral' | 'backpressureDerivative' | 'backpressureMinRate' | 'backpressureInitialRate'
>;

export interface RateLimit {
  stream: string;
  recordsPerSecond: number;
}

export class Backpressure {
  private readonly rates: RateController;

  constructor(
    config: Config,
    private readonly clock: Clock,
    private readonly ports: Pick<SchedulerPorts, 'publishRateLimits'>,
    private readonly log: Logger,
  ) {
    this.rates = new RateController({
      batchIntervalMs: config.batchInterval,
      proportional: config.backpressureProportional,
      integral: config.backpressureIntegral,
      derivative: config.backpressureDerivative,
      minRate: config.backpressureMinRate,
      initialRate: config.backpressureInitialRate,
    });
    observeGauge('rivulet.stream.rate_limit', 'Ingest rate backpressure allows per stream (records/s); absent: not limited', '{record}/s', () =>
      this.limits().map((l) => ({ value: l.recordsPerSecond, attributes: { 'rivulet.stream': l.stream } })),
    );
  }

  /** The current limits (status, metrics). */
  limits(): RateLimit[] {
    return this.rates.limits();
  }

  /**
   * A job started (submitted or resumed): its streams are capped at the
   * initial rate from its first batch on. Not a job driven batch by batch
   * (rivulet/testing): it has no clock, so no batch of it ever lifts the cap.
   */
  jobStarted(job: Job): void {
    if (job.firstBatchTimeMs === Number.POSITIVE_INFINITY) return;
    if (this.rates.jobStarted(job.id, job.graph.streams)) this.publish();
  }

  /** A batch finished: a completed batch of a clocked job is a sample of what the job can process. */
  batchFinished(run: BatchRun): void {
    if (run.state !== 'COMPLETED' || run.job.firstBatchTimeMs === Number.POSITIVE_INFINITY) return;
    const recordsByStream = new Map<string, number>();
    for (const stream of run.job.graph.streams) recordsByStream.set(stream, (run.inputs.get(stream) ?? []).reduce((n, b) => n + b.records, 0));
    const t = run.timings(this.clock.now());
    const changed = this.rates.batchCompleted({
      jobId: run.job.id,
      recordsByStream,
      completedAtMs: run.completedAtMs ?? this.clock.now(),
      processingTimeMs: t.processingTimeMs,
      schedulingDelayMs: t.schedulingDelayMs,
    });
    if (changed) this.publish();
  }

  jobEnded(jobId: string): void {
    if (this.rates.dropJob(jobId)) this.publish();
  }

  publish(): void {
    try {
      this.ports.publishRateLimits?.({ limits: this.rates.limits() });
    } catch (err) {
      this.log.warn({ err }, 'could not publish rate limits (best-effort; sent again next interval)');
    }
  }
}
