/**
 * rate-controller.ts alone: Spark's PID estimator term for term, and a
 * simulated pipeline driven by a ManualClock (a job with a fixed capacity, a
 * producer offering 3× that) showing the rate converges near capacity and
 * the backlog drains.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock.js';
import { PidRateEstimator, RateController, type RateEstimatorOptions } from '../../../services/scheduler/rate-controller.js';

const opts = (o: Partial<RateEstimatorOptions> = {}): RateEstimatorOptions => ({
  batchIntervalMs: 1000,
  proportional: 1,
  integral: 0.2,
  derivative: 0,
  minRate: 100,
  ...o,
});

describe('PidRateEstimator', () => {
  it('seeds on the first batch and sets no rate from it', () => {
    const e = new PidRateEstimator(opts());
    expect(e.compute(1000, 10_000, 500, 0)).toBeUndefined();
  });

  it('computes Spark\'s formula: proportional on the rate error, integral on the backlog', () => {
    const e = new PidRateEstimator(opts());
    e.compute(1000, 10_000, 500, 0); // latestRate = 20k/s
    // processingRate = 5000 / 1000ms = 5k/s; error = 20k − 5k = 15k;
    // historical = 200 × 5k / 1000 = 1k; new = 20k − 15k − 0.2 × 1k = 4800
    expect(e.compute(2000, 5000, 1000, 200)).toBeCloseTo(4800, 6);
  });

  it('ignores empty, instantaneous and out-of-order batches', () => {
    const e = new PidRateEstimator(opts());
    e.compute(1000, 10_000, 500, 0);
    expect(e.compute(2000, 0, 500, 0)).toBeUndefined();
    expect(e.compute(2000, 100, 0, 0)).toBeUndefined();
    expect(e.compute(500, 100, 10, 0)).toBeUndefined();
  });

  it('never goes below minRate', () => {
    const e = new PidRateEstimator(opts({ minRate: 250 }));
    e.compute(1000, 100_000, 100, 0);
    expect(e.compute(2000, 10, 1000, 60_000)).toBe(250);
  });

  it('refuses impossible options', () => {
    expect(() => new PidRateEstimator(opts({ minRate: 0 }))).toThrow(/minRate/);
    expect(() => new PidRateEstimator(opts({ integral: -1 }))).toThrow(/gains/);
  });
});

describe('RateController', () => {
  it('limits a stream at the lowest rate of the jobs reading it, and forgets an ended job', () => {
    const rc = new RateController(opts());
    const feed = (jobId: string, t: number, records: number, ms: number) =>
      rc.batchCompleted({ jobId, recordsByStream: new Map([['lines', records]]), completedAtMs: t, processingTimeMs: ms, schedulingDelayMs: 0 });
    expect(feed('fast', 1000, 10_000, 100)).toBe(false);
    expect(rc.limit('lines')).toBeUndefined();
    expect(feed('fast', 2000, 10_000, 100)).toBe(true);
    feed('slow', 1000, 10_000, 1000);
    feed('slow', 2000, 10_000, 1000);
    expect(rc.limit('lines')).toBeCloseTo(10_000, 0);
    expect(rc.limits()).toEqual([{ stream: 'lines', recordsPerSecond: rc.limit('lines') }]);
    expect(rc.dropJob('slow')).toBe(true);
    expect(rc.limit('lines')).toBeCloseTo(100_000, 0);
    expect(rc.limit('other')).toBeUndefined();
  });

  it('brings a producer offering 3× capacity down near capacity and drains the backlog (simulated, ManualClock)', () => {
    const clock = new ManualClock(0);
    const interval = 1000;
    const capacity = 50_000; // records/s the job processes
    const overheadMs = 40; // per batch, whatever its size
    const offered = 3 * capacity;
    const rc = new RateController(opts({ batchIntervalMs: interval }));
    // Batches run one at a time in order; a batch's records are what the limit let in during its interval.
    let busyUntil = 0;
    const admitted: number[] = [];
    const delays: number[] = [];
    for (let i = 1; i <= 60; i++) {
      clock.advance(interval);
      const batchTime = clock.now();
      const limit = rc.limit('lines');
      const records = Math.round(Math.min(offered, limit ?? Infinity) * (interval / 1000));
      admitted.push(records);
      const start = Math.max(batchTime, busyUntil);
      const processing = overheadMs + (records / capacity) * 1000;
      busyUntil = start + processing;
      delays.push(start - batchTime);
      // Feed in completion order (this simulation completes each batch before the next is due or soon after).
      rc.batchCompleted({
        jobId: 'j',
        recordsByStream: new Map([['lines', records]]),
        completedAtMs: busyUntil,
        processingTimeMs: processing,
        schedulingDelayMs: start - batchTime,
      });
    }
    const last = admitted.slice(-20);
    const mean = last.reduce((a, b) => a + b, 0) / last.length;
    // Within 25% of what the job can process per second (capacity less the per-batch overhead).
    const sustainable = capacity * (1 - overheadMs / interval);
    expect(mean).toBeGreaterThan(sustainable * 0.75);
    expect(mean).toBeLessThan(sustainable * 1.25);
    // The backlog of the unlimited first batches drained: the last 10 batches start on time (within one interval).
    expect(Math.max(...delays.slice(-10))).toBeLessThan(interval);
  });
});
