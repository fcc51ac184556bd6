/**
 * Backpressure's brain (Spark Streaming's RateController with its
 * PIDRateEstimator, `spark.streaming.backpressure.*`): every completed batch
 * tells it how many records of each input stream the batch had, how long the
 * batch took to process and how long it waited to start; from that it sets
 * the rate, in records per second, each stream may be ingested at so that a
 * batch's worth of input is processed within one batch interval and a backlog
 * (scheduling delay) drains. The receiver enforces the rate (ingest.ts).
 *
 * The estimator is Spark's, term for term:
 *   processingRate = records / processingDelay
 *   error          = latestRate − processingRate
 *   historicalErr  = schedulingDelay × processingRate / batchInterval
 *   newRate        = max(minRate, latestRate − P·error − I·historicalErr − D·dError/dt)
 * with P = 1.0, I = 0.2, D = 0 by default; the first batch only seeds
 * `latestRate` with its processing rate (no limit is set from one sample).
 *
 * One estimator per (job, stream); a stream read by several jobs is ingested
 * at the lowest of their rates (the slowest reader sets the pace, as one
 * input feeds them all). A stream with no estimate yet is limited to the
 * initial rate (Spark's `spark.streaming.backpressure.initialRate`) from the
 * moment its job starts until the estimator's first real rate replaces it —
 * the first batch only seeds the estimator, so that is after the second
 * batch with records; without an initial rate (0, the default, as Spark) it
 * is not limited meanwhile, and a burst offered at the job's start is
 * ingested whole and drains as scheduling delay.
 *
 * Pure: no timers, no I/O, times passed in; the scheduler feeds it from its
 * loop and publishes `limits()` (NATS `rivulet.rate-limits`).
 */

export interface RateEstimatorOptions {
  batchIntervalMs: number;
  /** Weight of the current error (spark.streaming.backpressure.pid.proportional). @default 1.0 */
  proportional: number;
  /** Weight of the accumulated backlog (pid.integral). @default 0.2 */
  integral: number;
  /** Weight of the error's change (pid.derived). @default 0 */
  derivative: number;
  /** The rate is never set below this, in records per second (pid.minRate). @default 100 */
  minRate: number;
}

/** Spark's PIDRateEstimator (org.apache.spark.streaming.scheduler.rate). */
export class PidRateEstimator {
  private firstRun = true;
  private latestTimeMs = -1;
  private latestRate = -1;
  private latestError = -1;

  constructor(private readonly o: RateEstimatorOptions) {
    if (!(o.batchIntervalMs > 0)) throw new RangeError(`batchIntervalMs must be > 0, got ${o.batchIntervalMs}`);
    if (!(o.proportional >= 0) || !(o.integral >= 0) || !(o.derivative >= 0)) throw new RangeError('PID gains must be >= 0');
    if (!(o.minRate > 0)) throw new RangeError(`minRate must be > 0, got ${o.minRate}`);
  }

  /**
   * A batch completed at `timeMs` with `records` records, processed in
   * `processingDelayMs` after waiting `schedulingDelayMs`. Returns the new
   * rate (records/s), or undefined when this batch says nothing new (no
   * records, no processing time, out of order, or the very first sample).
   */
  compute(timeMs: number, records: number, processingDelayMs: number, schedulingDelayMs: number): number | undefined {
    if (!(timeMs > this.latestTimeMs && records > 0 && processingDelayMs > 0)) return undefined;
    const delaySinceUpdate = (timeMs - this.latestTimeMs) / 1000;
    const processingRate = (records / processingDelayMs) * 1000;
    const error = this.latestRate - processingRate;
    const historicalError = (schedulingDelayMs * processingRate) / this.o.batchIntervalMs;
    const dError = (error - this.latestError) / delaySinceUpdate;
    const newRate = Math.max(this.o.minRate, this.latestRate - this.o.proportional * error - this.o.integral * historicalError - this.o.derivative * dError);
    this.latestTimeMs = timeMs;
    if (this.firstRun) {
      this.latestRate = processingRate;
      this.latestError = 0;
      this.firstRun = false;
      return undefined;
    }
    this.latestRate = newRate;
    this.latestError = error;
    return newRate;
  }
}

export interface RateControllerOptions extends RateEstimatorOptions {
  /**
   * Records per second each stream of a job may be ingested at from the
   * job's start until its estimator sets a rate (spark.streaming.backpressure.initialRate);
   * 0 = not limited until then. @default 0
   */
  initialRate: number;
}

export interface CompletedBatch {
  jobId: string;
  /** Records of the batch per input stream of the job. */
  recordsByStream: ReadonlyMap<string, number>;
  completedAtMs: number;
  processingTimeMs: number;
  schedulingDelayMs: number;
}

export interface StreamRateLimit {
  stream: string;
  /** Records per second the receiver admits for this stream. */
  recordsPerSecond: number;
}

interface StreamEstimate {
  estimator: PidRateEstimator;
  /** The estimator's last rate, else the initial rate (undefined: not limited). */
  rate: number | undefined;
}

export class RateController {
  /** jobId → stream → estimator and its last rate. */
  private readonly byJob = new Map<string, Map<string, StreamEstimate>>();

  constructor(private readonly options: RateControllerOptions) {
    if (!(Number.isFinite(options.initialRate) && options.initialRate >= 0)) throw new RangeError(`initialRate must be >= 0, got ${options.initialRate}`);
  }

  /**
   * A job started (submitted, or resumed after a scheduler restart): its
   * streams are held to the initial rate until their estimates exist.
   * Returns whether any stream's published limit changed.
   */
  jobStarted(jobId: string, streams: readonly string[]): boolean {
    const before = this.limitsKey();
    const estimates = this.streamsOf(jobId);
    for (const stream of streams) if (!estimates.has(stream)) estimates.set(stream, this.newEstimate());
    return this.limitsKey() !== before;
  }

  /** Feed one completed batch. Returns whether any stream's published limit changed. */
  batchCompleted(b: CompletedBatch): boolean {
    const before = this.limitsKey();
    const streams = this.streamsOf(b.jobId);
    for (const [stream, records] of b.recordsByStream) {
      let s = streams.get(stream);
      if (!s) streams.set(stream, (s = this.newEstimate()));
      const rate = s.estimator.compute(b.completedAtMs, records, b.processingTimeMs, b.schedulingDelayMs);
      // The first real estimate replaces the initial rate for good (Spark's RateLimiter.updateRate).
      if (rate !== undefined) s.rate = rate;
    }
    return this.limitsKey() !== before;
  }

  /** The job ended: its estimates no longer limit any stream. Returns whether a limit changed. */
  dropJob(jobId: string): boolean {
    const before = this.limitsKey();
    this.byJob.delete(jobId);
    return this.limitsKey() !== before;
  }

  /** The rate limit of one stream (undefined: not limited). */
  limit(stream: string): number | undefined {
    let min: number | undefined;
    for (const streams of this.byJob.values()) {
      const r = streams.get(stream)?.rate;
      if (r !== undefined && (min === undefined || r < min)) min = r;
    }
    return min;
  }

  /** Every limited stream with its limit (the lowest over the jobs reading it), sorted by stream. */
  limits(): StreamRateLimit[] {
    const names = new Set<string>();
    for (const streams of this.byJob.values()) for (const [stream, s] of streams) if (s.rate !== undefined) names.add(stream);
    return [...names].sort().map((stream) => ({ stream, recordsPerSecond: this.limit(stream)! }));
  }

  private streamsOf(jobId: string): Map<string, StreamEstimate> {
    let streams = this.byJob.get(jobId);
    if (!streams) this.byJob.set(jobId, (streams = new Map<string, StreamEstimate>()));
    return streams;
  }

  private newEstimate(): StreamEstimate {
    return { estimator: new PidRateEstimator(this.options), rate: this.options.initialRate > 0 ? this.options.initialRate : undefined };
  }

  private limitsKey(): string {
    return this.limits()
      .map((l) => `${l.stream}=${Math.round(l.recordsPerSecond)}`)
      .join(',');
  }
}
