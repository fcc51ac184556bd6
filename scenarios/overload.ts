/**
 * Overload experiments (tests/chaos/overload.test.ts, bench/overload.ts):
 * producers offering a fixed rate of numbered lines to a job slower than that
 * (jobs/slow-wordcount.ts), through the SDK pusher (which retries and slows
 * down under backpressure), with the acked and processed rates sampled over
 * time. In scenarios/ so both a test and a benchmark may use it
 * (steady-wordcount.ts says why); it imports product code only.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RivuletClient } from '../client/index.js';

/** Word count costing 100 µs per line (slept, not burnt); from scenarios/ (source) or dist/scenarios/ (compiled). */
export const slowWordcountJob = ['./jobs/slow-wordcount.ts', '../../scenarios/jobs/slow-wordcount.ts']
  .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  .find((p) => existsSync(p))!;

export interface OfferedLoad {
  /** Ids acknowledged (must each be counted exactly once). */
  acked: Set<number>;
  /** Ids whose push failed for good (the pusher gave up): none expected. */
  refused: Set<number>;
  /** Ids handed to a push so far (ids 0..pushed()-1). */
  pushed(): number;
  /** Transient failures the pushers retried (rate-limit refusals included). */
  retries(): number;
  stop(): Promise<void>;
}

/**
 * `producers` pushers, together offering `linesPerSecond`: each pushes
 * `perPush` lines when its schedule says so and it has fewer than
 * `maxInFlight` pushes waiting; a slowed pusher falls behind its schedule
 * (that is backpressure), it never buffers beyond its window.
 */
export function offerLoad(
  client: RivuletClient,
  o: { line: (i: number) => string; stream?: string; linesPerSecond: number; producers?: number; perPush?: number; maxInFlight?: number },
): OfferedLoad {
  const stream = o.stream ?? 'lines';
  const producers = o.producers ?? 2;
  const perPush = o.perPush ?? 500;
  const maxInFlight = o.maxInFlight ?? 4;
  const acked = new Set<number>();
  const refused = new Set<number>();
  let next = 0;
  let running = true;
  const pushers = Array.from({ length: producers }, (_, i) => client.pusher(stream, { clientId: `overload-${i}` }));
  const start = Date.now();
  const loops = pushers.map(async (pusher) => {
    const inFlight = new Set<Promise<void>>();
    let mine = 0;
    while (running) {
      const due = start + ((mine + perPush) / (o.linesPerSecond / producers)) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 50)));
      if (Date.now() < due || !running) continue;
      const ids = Array.from({ length: perPush }, () => next++);
      mine += perPush;
      const op: Promise<void> = pusher.push(ids.map(o.line)).then(
        () => ids.forEach((id) => acked.add(id)),
        () => ids.forEach((id) => refused.add(id)),
      );
      inFlight.add(op);
      void op.finally(() => inFlight.delete(op));
      if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    await pusher.close().catch(() => undefined);
  });
  return {
    acked,
    refused,
    pushed: () => next,
    retries: () => pushers.reduce((n, p) => n + p.retries, 0),
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

export interface RateSample {
  atMs: number;
  acked: number;
  processed: number;
  rateLimit: number | undefined;
  maxSchedulingDelayMs: number;
  state: string;
}

/** Sample acked and processed counts (and the job's scheduling delay and rate limit) every `everyMs`. */
export function sampleRates(client: RivuletClient, jobId: string, load: OfferedLoad, everyMs = 500) {
  const samples: RateSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const st = await client.status({ recentBatches: 4 });
      const job = st.jobs.find((j) => j.jobId === jobId);
      samples.push({
        atMs: Date.now(),
        acked: load.acked.size,
        processed: Number(job?.recordsProcessed ?? 0),
        rateLimit: st.rateLimits.find((l) => l.stream === 'lines')?.recordsPerSecond,
        maxSchedulingDelayMs: Math.max(0, ...(job?.recentBatches ?? []).map((b) => Number(b.schedulingDelayMs))),
        state: job?.state ?? 'UNKNOWN',
      });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Rates (per second) between the first sample at or after `fromMs` and the last one. */
export function ratesBetween(samples: readonly RateSample[], fromMs: number): { ackedPerSec: number; processedPerSec: number; seconds: number } {
  const a = samples.find((s) => s.atMs >= fromMs)!;
  const b = samples.at(-1)!;
  const seconds = (b.atMs - a.atMs) / 1000;
  return { ackedPerSec: (b.acked - a.acked) / seconds, processedPerSec: (b.processed - a.processed) / seconds, seconds };
}
