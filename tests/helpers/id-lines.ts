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

/**
 * Collect every committed batch of a word-count output until `until(ids)` has
 * seen each of those ids (or its deadline passed). A failing watch is an error
 * of `until`, never swallowed.
 */
export function watchIdBatches(client: RivuletClient, jobId: string, output = 'counts') {
  const batches: IdBatch[] = [];
  const seen = new Set<number>();
  const abort = new AbortController();
  let ended = false;
  let failed: unknown;
  const watching = (async () => {
    for await (const b of client.watchOutput(jobId, output, { fromBeginning: true, signal: abort.signal })) {
      const counts = new Map(b.records as [string, number][]);
      batches.push({ t: b.batchTimeMs, counts });
      for (const w of counts.keys()) if (w.startsWith('id')) seen.add(Number(w.slice(2)));
    }
  })().then(
    () => void (ended = true),
    (err: unknown) => void ((failed = err), (ended = true)),
  );
  return {
    batches,
    /** Ids seen so far in any batch. */
    seen,
    /**
     * Resolve once every id of `ids` was seen, or after `timeoutMs` with whatever
     * arrived (the caller's assertions then say what is missing); stops watching.
     */
    async until(ids: Iterable<number>, timeoutMs = 60_000): Promise<void> {
      const want = [...ids];
      let k = 0;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (k < want.length && seen.has(want[k]!)) k++;
        if (k === want.length || ended || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      abort.abort();
      await watching;
      if (failed !== undefined) throw new Error(`watching ${output} of ${jobId} failed: ${failed instanceof Error ? failed.message : JSON.stringify(failed)}`, { cause: failed });
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

/**
 * The whole check of a word count over id lines against an independent
 * reference: every acked id counted exactly once; nothing counted that was
 * never pushed (ids >= `pushed`); and every batch's counts equal the word
 * count, computed here with countWords, of exactly the lines whose ids it
 * holds (so no word is lost, added or moved to another batch). `context`
 * (seed, kills) goes into every failure message. Returns id → batch time.
 */
export function expectExactWordCounts(
  batches: readonly IdBatch[],
  acked: ReadonlySet<number>,
  pushed: number,
  context = '',
): Map<number, number> {
  const seenIn = expectIdsAtMostOnce(batches);
  const missing = [...acked].filter((id) => !seenIn.has(id)).sort((a, b) => a - b);
  expect(missing, `acked ids never counted: ${missing.length} of ${acked.size} (${missing[0]}..${missing.at(-1)}); last batch ${batches.at(-1)?.t}; ${context}`).toEqual([]);
  const neverPushed = [...seenIn.keys()].filter((id) => id >= pushed);
  expect(neverPushed, `ids counted that were never pushed; ${context}`).toEqual([]);
  for (const b of batches) {
    const lines = [...b.counts.keys()].filter((w) => w.startsWith('id')).map((w) => idLine(Number(w.slice(2))));
    expect(b.counts, `batch ${b.t}: the word count of its lines; ${context}`).toEqual(countWords(lines));
  }
  return seenIn;
}

/**
 * Push the id lines 0..n-1 through `pushFrom` and check, watching with
 * `watchWith`, that the word count holds each exactly once with exact counts.
 * The two clients may be different users (a push token, the job's owner).
 */
export async function pushIdsAndExpectExactCounts(pushFrom: RivuletClient, watchWith: RivuletClient, jobId: string, n: number, timeoutMs = 30_000): Promise<void> {
  const watch = watchIdBatches(watchWith, jobId);
  const ids = Array.from({ length: n }, (_, i) => i);
  const pusher = pushFrom.pusher('lines');
  try {
    expect(await pusher.push(ids.map(idLine))).toBe(n);
  } finally {
    await pusher.close();
  }
  await watch.until(ids, timeoutMs);
  expectExactWordCounts(watch.batches, new Set(ids), n);
}

/** The job is still running and none of its recent batches failed. */
export async function expectJobHealthy(client: RivuletClient, jobId: string): Promise<void> {
  const status = await client.status({ recentBatches: 1000 });
  const j = status.jobs.find((x) => x.jobId === jobId)!;
  expect(j.state).toBe('RUNNING');
  expect(j.recentBatches.filter((b) => b.state === 'FAILED')).toEqual([]);
}

/**
 * Push id lines continuously (`perPush` per call, up to `maxInFlight` (4)
 * calls in flight, `pauseMs` (20) apart; ids from `firstId` (0)) until `stop()`; a pusher that fails (its receiver or scheduler went away) is
 * replaced by a new one. `acked` holds the ids whose push was acknowledged:
 * the ones that must be counted exactly once. Refused pushes are not retried
 * (a retry could legitimately count them twice).
 */
export function pushIdsContinuously(
  client: RivuletClient,
  stream = 'lines',
  perPush = 200,
  opts: { pauseMs?: number; maxInFlight?: number; firstId?: number } = {},
) {
  const pauseMs = opts.pauseMs ?? 20;
  const maxInFlight = opts.maxInFlight ?? 4;
  const acked = new Set<number>();
  const refused = new Set<number>();
  let pusher = client.pusher(stream);
  let next = opts.firstId ?? 0;
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
        () => {
          ids.forEach((i) => refused.add(i));
          broken = true;
        },
      );
      inFlight.add(op);
      void op.finally(() => inFlight.delete(op));
      if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      await new Promise((r) => setTimeout(r, broken ? 200 : pauseMs));
    }
    await Promise.all(inFlight);
  })();
  return {
    acked,
    /** Ids whose push was refused (they may still be counted, at most once: stored before the failure). */
    refused,
    /** One past the last id handed to a push so far (ids firstId..pushed()-1). */
    pushed: () => next,
    /** Stop pushing, wait for the pushes in flight, close the pusher. */
    async stop(): Promise<void> {
      pushing = false;
      await loop;
      await pusher.close().catch(() => undefined);
    },
  };
}
