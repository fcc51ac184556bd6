/**
 * Enforcing backpressure's ingest rates (the scheduler's rate-controller.ts,
 * NATS `rivulet.rate-limits`) on the receiver, per stream: Spark's
 * RateLimiter on a receiver, as a virtual schedule (GCRA). Each stream has a
 * "next free" time; a push of n records is admitted at max(now, nextFree)
 * and moves nextFree on by n / rate. The caller holds the push until its
 * admission time (pacing: its ack comes that much later, so a pusher with a
 * bounded window slows to the rate) — unless that is more than `maxDelayMs`
 * away: then the push is refused (RESOURCE_EXHAUSTED) with how long to wait,
 * and nothing of it is admitted.
 *
 * A stream with no limit (none published yet, backpressure off, or the
 * stream absent from the latest snapshot) is admitted at once. Pure: times
 * are passed in.
 */

export type Admission = { ok: true; delayMs: number } | { ok: false; retryAfterMs: number; recordsPerSecond: number };

export class IngestRateLimiter {
  private readonly limits = new Map<string, number>();
  private readonly nextFreeMs = new Map<string, number>();

  constructor(private readonly maxDelayMs: number) {}

  /**
   * Replace every limit with a full snapshot (streams not in it are not
   * limited; non-positive or non-finite rates are ignored). What was admitted
   * ahead of `nowMs` under the old rate is re-paced at the new one: the
   * schedule's future is scaled by old/new around now (a stream whose rate
   * rose after a backlog must not keep waiting out the slow rate's schedule),
   * and never left more than maxDelay ahead.
   * Returns, per stream whose rate rose (or is no longer limited), the
   * function that maps an admission time given under the old rate to the new
   * one, for held pushes; held pushes are never moved later (they were
   * admitted, at most maxDelay ahead).
   */
  setLimits(limits: ReadonlyArray<{ stream: string; recordsPerSecond: number }>, nowMs: number): Map<string, (atMs: number) => number> {
    const old = new Map(this.limits);
    this.limits.clear();
    for (const l of limits) if (Number.isFinite(l.recordsPerSecond) && l.recordsPerSecond > 0) this.limits.set(l.stream, l.recordsPerSecond);
    const remap = new Map<string, (atMs: number) => number>();
    for (const [stream, next] of this.nextFreeMs) {
      const before = old.get(stream);
      const after = this.limits.get(stream);
      if (before === after) continue;
      if (after === undefined || before === undefined) {
        this.nextFreeMs.delete(stream);
        remap.set(stream, (at) => Math.min(at, nowMs));
        continue;
      }
      const scale = (at: number) => (at <= nowMs ? at : nowMs + ((at - nowMs) * before) / after);
      // Never more than maxDelay of debt: a rate that fell (say, to minRate while a backlog drains) must still
      // admit a push soon, or no batch would have records and the rate controller would never raise it again.
      this.nextFreeMs.set(stream, Math.min(scale(next), nowMs + this.maxDelayMs));
      if (after > before) remap.set(stream, scale);
    }
    return remap;
  }

  limit(stream: string): number | undefined {
    return this.limits.get(stream);
  }

  admit(stream: string, records: number, nowMs: number): Admission {
    const rate = this.limits.get(stream);
    if (rate === undefined) return { ok: true, delayMs: 0 };
    const start = Math.max(nowMs, this.nextFreeMs.get(stream) ?? nowMs);
    const delayMs = start - nowMs;
    if (delayMs > this.maxDelayMs) {
      // Capped at maxDelay: the rate may rise meanwhile (a new estimate each batch), so a client comes back soon rather than waiting out a slow schedule.
      return { ok: false, retryAfterMs: Math.max(1, Math.min(this.maxDelayMs, Math.ceil(delayMs - this.maxDelayMs))), recordsPerSecond: rate };
    }
    this.nextFreeMs.set(stream, start + (records / rate) * 1000);
    return { ok: true, delayMs };
  }
}
