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

/** A completed batch of the job, as status reported it. */
export interface CompletedBatch {
  batchTimeMs: number;
  records: number;
  processingTimeMs: number;
}

/**
 * Sample acked and processed counts (and the job's scheduling delay and rate
 * limit) every `everyMs`, and collect every completed batch status shows
 * (the last 10 each time: enough for several batches per sample).
 */
export function sampleRates(client: RivuletClient, jobId: string, load: OfferedLoad, everyMs = 500) {
  const samples: RateSample[] = [];
  const completed = new Map<number, CompletedBatch>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const st = await client.status({ recentBatches: 10 });
      const job = st.jobs.find((j) => j.jobId === jobId);
      for (const b of job?.recentBatches ?? []) {
        if (b.state !== 'COMPLETED') continue;
        const t = Number(b.batchTimeMs);
        completed.set(t, { batchTimeMs: t, records: Number(b.inputRecords), processingTimeMs: Number(b.processingTimeMs) });
      }
      samples.push({
        atMs: Date.now(),
        acked: load.acked.size,
        processed: Number(job?.recordsProcessed ?? 0),
        rateLimit: st.rateLimits.find((l) => l.stream === 'lines')?.recordsPerSecond,
        // The last 4 batches only (2 s at 500 ms batches): looking further back would carry a drained backlog into later samples.
        maxSchedulingDelayMs: Math.max(0, ...(job?.recentBatches ?? []).slice(-4).map((b) => Number(b.schedulingDelayMs))),
        state: job?.state ?? 'UNKNOWN',
      });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    samples,
    completed,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/**
 * What the job processes per second of processing, over the completed
 * batches timed in [fromMs, toMs]: Σ records / Σ processing time — the rate
 * it would sustain busy all the time (Spark's PID estimator aims the ingest
 * rate at each batch's records / processing time). The figure producers
 * should have been slowed to.
 */
export function processingCapacity(completed: ReadonlyMap<number, CompletedBatch>, fromMs: number, toMs: number): { recordsPerSec: number; batches: number } {
  let records = 0;
  let ms = 0;
  let batches = 0;
  for (const b of completed.values()) {
    if (b.batchTimeMs < fromMs || b.batchTimeMs > toMs || b.records === 0) continue;
    records += b.records;
    ms += b.processingTimeMs;
    batches++;
  }
  return { recordsPerSec: ms > 0 ? (records / ms) * 1000 : NaN, batches };
}

/** Rates (per second) between the first sample at or after `fromMs` and the last one. */
export function ratesBetween(samples: readonly RateSample[], fromMs: number): { ackedPerSec: number; processedPerSec: number; seconds: number } {
  const a = samples.find((s) => s.atMs >= fromMs)!;
  const b = samples.at(-1)!;
  const seconds = (b.atMs - a.atMs) / 1000;
  return { ackedPerSec: (b.acked - a.acked) / seconds, processedPerSec: (b.processed - a.processed) / seconds, seconds };
}
