/**
 * Inputs whose exactly-once fate is visible in a word count: line i holds a
 * unique token `id<i>` plus words that are a function of i, so any set of
 * lines has a known count and every record's batch can be found in the output.
 */
import { expect } from 'vitest';
import type { RivuletClient } from '../../client/index.js';

const WORDS = ['red', 'green', 'blue', 'cyan', 'magenta', 'yellow', 'black'];

export function idLine(i: number): string {
  const words = [`id${i}`];
  for (let k = 0; k <= i % 3; k++) words.push(WORDS[(i + k * 5) % WORDS.length]!);
  return words.join(' ');
}

export function countWords(lines: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) for (const w of l.split(' ')) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

export interface IdBatch {
  t: number;
  counts: Map<string, number>;
}

/** Collect every committed batch of a word-count output until `until(n)` has seen n ids (or times out). */
export function watchIdBatches(client: RivuletClient, jobId: string, output = 'counts') {
  const batches: IdBatch[] = [];
  const abort = new AbortController();
  let idsSeen = 0;
  let target = Infinity;
  const watching = (async () => {
    for await (const b of client.watchOutput(jobId, output, { fromBeginning: true, signal: abort.signal })) {
      const counts = new Map(b.records as [string, number][]);
      batches.push({ t: b.batchTimeMs, counts });
      for (const w of counts.keys()) if (w.startsWith('id')) idsSeen++;
      if (idsSeen >= target) abort.abort();
    }
  })();
  return {
    batches,
    /** Resolve once `n` ids were seen, or after `timeoutMs` with whatever arrived. */
    async until(n: number, timeoutMs = 60_000): Promise<void> {
      target = n;
      const timeout = setTimeout(() => abort.abort(), timeoutMs);
      if (idsSeen >= target) abort.abort();
      await watching;
      clearTimeout(timeout);
    },
  };
}

/**
 * Exactly once: each id in at most one batch, with count 1; returns id → batch time.
 */
export function expectIdsAtMostOnce(batches: readonly IdBatch[]): Map<number, number> {
  const seenIn = new Map<number, number>();
  for (const b of batches) {
    for (const [w, c] of b.counts) {
      if (!w.startsWith('id')) continue;
      const id = Number(w.slice(2));
      expect(c).toBe(1);
      expect(seenIn.has(id), `id${id} in batches ${seenIn.get(id)} and ${b.t}`).toBe(false);
      seenIn.set(id, b.t);
    }
  }
  return seenIn;
}

/** The job is still running and none of its recent batches failed. */
export async function expectJobHealthy(client: RivuletClient, jobId: string): Promise<void> {
  const status = await client.status({ recentBatches: 1000 });
  const j = status.jobs.find((x) => x.jobId === jobId)!;
  expect(j.state).toBe('RUNNING');
  expect(j.recentBatches.filter((b) => b.state === 'FAILED')).toEqual([]);
}

/**
 * Push id lines continuously (`perPush` per call, up to 4 calls in flight)
 * until `stop()`; a pusher that fails (its receiver or scheduler went away) is
 * replaced by a new one. `acked` holds the ids whose push was acknowledged:
 * the ones that must be counted exactly once. Refused pushes are not retried
 * (a retry could legitimately count them twice).
 */
export function pushIdsContinuously(client: RivuletClient, stream = 'lines', perPush = 200) {
  const acked = new Set<number>();
  let pusher = client.pusher(stream);
  let next = 0;
  let pushing = true;
  let broken = false;
  const loop = (async () => {
    const inFlight = new Set<Promise<void>>();
    while (pushing) {
      if (broken) {
        await Promise.all(inFlight);
        await pusher.close().catch(() => undefined);
        pusher = client.pusher(stream);
        broken = false;
      }
      const ids = Array.from({ length: perPush }, () => next++);
      const op: Promise<void> = pusher.push(ids.map(idLine)).then(
        () => ids.forEach((i) => acked.add(i)),
        () => void (broken = true),
      );
      inFlight.add(op);
      void op.finally(() => inFlight.delete(op));
      if (inFlight.size >= 4) await Promise.race(inFlight);
      await new Promise((r) => setTimeout(r, broken ? 200 : 20));
    }
    await Promise.all(inFlight);
  })();
  return {
    acked,
    /** Stop pushing, wait for the pushes in flight, close the pusher. */
    async stop(): Promise<void> {
      pushing = false;
      await loop;
      await pusher.close().catch(() => undefined);
    },
  };
}
