/**
 * rate-controller.ts alone: Spark's PID estimator term for term, and a
 * simulated pipeline driven by a ManualClock (a job with a fixed capacity, a
 * producer offering 3× that) showing the rate converges near capacity and
 * the backlog drains — and, with an initial rate, that no backlog builds at
 * the job's start.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock.js';
import { PidRateEstimator, RateController, type RateControllerOptions } from '../../../services/scheduler/rate-controller.js';

const opts = (o: Partial<RateControllerOptions> = {}): RateControllerOptions => ({
  batchIntervalMs: 1000,
  proportional: 1,
  integral: 0.2,
  derivative: 0,
  minRate: 100,
  initialRate: 0,
  ...o,
});

/**
 * A job of fixed capacity (records/s, plus a per-batch overhead) behind the
 * controller, batches run one at a time in order, a producer offering
 * `offered` records/s from the job's start (time 0, ManualClock): what each
 * batch admitted, the limit in force while its interval ran, and its
 * scheduling delay.
 */
function simulate(rc: RateController, o: { batches: number; interval: number; capacity: number; overheadMs: number; offered: number }) {
  const clock = new ManualClock(0);
  rc.jobStarted('j', ['lines']);
  let busyUntil = 0;
  const admitted: number[] = [];
  const limits: Array<number | undefined> = [];
  const delays: number[] = [];
  for (let i = 1; i <= o.batches; i++) {
    // The limit the receiver enforced while this batch's interval ran.
    const limit = rc.limit('lines');
    clock.advance(o.interval);
    const batchTime = clock.now();
    limits.push(limit);
    const records = Math.round(Math.min(o.offered, limit ?? Infinity) * (o.interval / 1000));
    admitted.push(records);
    const start = Math.max(batchTime, busyUntil);
    const processing = o.overheadMs + (records / o.capacity) * 1000;
    busyUntil = start + processing;
    delays.push(start - batchTime);
    rc.batchCompleted({
      jobId: 'j',
      recordsByStream: new Map([['lines', records]]),
      completedAtMs: busyUntil,
      processingTimeMs: processing,
      schedulingDelayMs: start - batchTime,
    });
  }
  return { admitted, limits, delays };
}

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
    const interval = 1000;
    const capacity = 50_000; // records/s the job processes
    const overheadMs = 40; // per batch, whatever its size
    const { admitted, delays } = simulate(new RateController(opts({ batchIntervalMs: interval })), {
      batches: 60,
      interval,
      capacity,
      overheadMs,
      offered: 3 * capacity,
    });
    const last = admitted.slice(-20);
    const mean = last.reduce((a, b) => a + b, 0) / last.length;
    // Within 25% of what the job can process per second (capacity less the per-batch overhead).
    const sustainable = capacity * (1 - overheadMs / interval);
    expect(mean).toBeGreaterThan(sustainable * 0.75);
    expect(mean).toBeLessThan(sustainable * 1.25);
    // The backlog of the unlimited first batches drained: the last 10 batches start on time (within one interval).
    expect(Math.max(...delays.slice(-10))).toBeLessThan(interval);
  });

  it('initialRate: a started job\'s streams are limited to it at once, until the first real estimate replaces it', () => {
    const rc = new RateController(opts({ initialRate: 2000 }));
    expect(rc.jobStarted('j', ['lines', 'clicks'])).toBe(true);
    expect(rc.limits()).toEqual([
      { stream: 'clicks', recordsPerSecond: 2000 },
      { stream: 'lines', recordsPerSecond: 2000 },
    ]);
    expect(rc.jobStarted('j', ['lines', 'clicks'])).toBe(false); // a second start changes nothing
    const feed = (t: number, records: number, ms: number) =>
      rc.batchCompleted({ jobId: 'j', recordsByStream: new Map([['lines', records]]), completedAtMs: t, processingTimeMs: ms, schedulingDelayMs: 0 });
    // Empty batches and the first sample (which only seeds the estimator) keep the cap.
    expect(feed(1000, 0, 5)).toBe(false);
    expect(feed(2000, 2000, 100)).toBe(false);
    expect(rc.limit('lines')).toBe(2000);
    // The first real estimate: 2000 records in 100 ms = 20k/s, and it may be above the initial rate.
    expect(feed(3000, 2000, 100)).toBe(true);
    expect(rc.limit('lines')).toBeCloseTo(20_000, 0);
    expect(rc.limit('clicks')).toBe(2000); // no batch of it yet
    expect(rc.dropJob('j')).toBe(true);
    expect(rc.limits()).toEqual([]);
  });

  it('initialRate 0 (the default) leaves a started job unlimited until it is measured; a negative one is refused', () => {
    const rc = new RateController(opts());
    expect(rc.jobStarted('j', ['lines'])).toBe(false);
    expect(rc.limit('lines')).toBeUndefined();
    expect(() => new RateController(opts({ initialRate: -1 }))).toThrow(/initialRate/);
  });

  it('initialRate near capacity: a 3× burst at the job\'s start builds no backlog and the rate never falls to minRate (simulated, ManualClock)', () => {
    const interval = 500;
    const capacity = 15_000;
    const overheadMs = 40;
    const o = { batches: 40, interval, capacity, overheadMs, offered: 3 * capacity };
    const withInitial = simulate(new RateController(opts({ batchIntervalMs: interval, initialRate: capacity })), o);
    const without = simulate(new RateController(opts({ batchIntervalMs: interval })), o);
    // Capped from the very first batch, until the estimator's first rate (after its second batch).
    expect(withInitial.limits.slice(0, 2)).toEqual([capacity, capacity]);
    expect(withInitial.admitted[0]).toBe(capacity * (interval / 1000));
    // No backlog at the start: every batch starts within one interval of its time...
    expect(Math.max(...withInitial.delays)).toBeLessThan(interval);
    // ...and the rate stays well above minRate throughout.
    expect(Math.min(...withInitial.limits.filter((l) => l !== undefined))).toBeGreaterThan(capacity / 2);
    // Without it the first batches take the whole burst: a backlog builds and drives the rate far below capacity while it drains.
    expect(without.admitted[0]).toBe(3 * capacity * (interval / 1000));
    expect(Math.max(...without.delays)).toBeGreaterThan(interval);
    expect(Math.min(...without.limits.filter((l) => l !== undefined))).toBeLessThan(capacity / 4);
  });
});
