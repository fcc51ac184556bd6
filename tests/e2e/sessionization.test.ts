/**
 * examples/sessionization.ts on a real cluster (nats-server, receiver,
 * scheduler, lineage, 2 executors as processes), submitted and fed through
 * the client SDK as a user would: mapWithState with a 5 s timeout ends a
 * user's session only after 5 s without a click, emits each ended session
 * once with its views and pages, keeps the sessions of users who keep
 * clicking open however long they last, starts a new session for a user who
 * comes back, and `open` counts the sessions still open.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { EndedSession } from '../../examples/sessionization.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

const job = fileURLToPath(new URL('../../examples/sessionization.ts', import.meta.url));
const IDLE_MS = 5000;
const BATCH_MS = 500;

/** What the test pushed for one user, and when (wall clock, ms) its last click was sent and acked. */
interface Pushed {
  pages: string[];
  lastSentMs: number;
  lastAckedMs: number;
}

describe('sessionization on a real cluster', () => {
  let client: RivuletClient;
  useLocalCluster({ executors: 2, slots: 2, batchInterval: `${BATCH_MS}ms`, blockInterval: '100ms', logLevel: 'warn' }, (started) => ({ client } = started));

  it('ends a session after 5 s of inactivity, exactly once, and keeps active users’ sessions open', async () => {
    const submitted = await client.submitJob(job);
    expect(submitted.streams).toEqual(['clicks']);
    expect([...submitted.outputs].sort()).toEqual(['open', 'sessions']);

    const ended: Array<EndedSession & { batchTimeMs: number }> = [];
    const open: Array<{ batchTimeMs: number; n: number }> = [];
    const abort = new AbortController();
    const watch = async (output: string, onBatch: (batchTimeMs: number, records: unknown[]) => void) => {
      for await (const b of client.watchOutput(submitted.jobId, output, { fromBeginning: true, signal: abort.signal })) onBatch(b.batchTimeMs, b.records);
    };
    const watching = Promise.all([
      watch('sessions', (t, records) => ended.push(...(records as EndedSession[]).map((s) => ({ ...s, batchTimeMs: t })))),
      watch('open', (t, records) => open.push({ batchTimeMs: t, n: records[0] as number })),
    ]);

    const pusher = client.pusher('clicks');
    const pushed = new Map<string, Pushed[]>(); // one entry per session the test expects
    const push = async (clicks: Array<[user: string, page: string, timeMs?: number]>, newSession: string[] = []) => {
      const sent = Date.now();
      const lines = clicks.map(([u, p, t]) => (t === undefined ? `${u} ${p}` : `${u} ${p} ${t}`));
      expect(await pusher.push(lines)).toBe(lines.length);
      const acked = Date.now();
      for (const u of new Set(clicks.map(([u]) => u))) {
        const sessions = pushed.get(u) ?? [];
        if (sessions.length === 0 || newSession.includes(u)) sessions.push({ pages: [], lastSentMs: 0, lastAckedMs: 0 });
        Object.assign(sessions.at(-1)!, { lastSentMs: sent, lastAckedMs: acked });
        sessions.at(-1)!.pages.push(...clicks.filter((c) => c[0] === u).map(([, p]) => p));
        pushed.set(u, sessions);
      }
    };
    const endedOf = (user: string) => ended.filter((s) => s.user === user);
    const openNow = () => open.at(-1)?.n;
    /** Wait until the job has completed `n` more batches (the stream's clock moved n × 500 ms on). */
    const batchesPass = async (n: number) => {
      const target = open.length + n;
      await waitFor(() => open.length >= target, `${n} more batches of the job complete`, { timeoutMs: 10_000 });
    };

    const startedMs = Date.now();
    // Users who click, then go quiet: ann with click times of her own (so her
    // duration is exact), ben and cat stamped by the job; fay comes back later.
    // Lines that are not "<user> <page> [<time-ms>]" are ignored.
    await push([
      ['ann', '/home', 1_000],
      ['ben', '/home'],
      ['ann', '/search', 2_500],
      ['cat', '/product/7'],
      ['fay', '/home'],
      ['ben', '/cart'],
      ['ann', '/cart', 4_000],
      ['fay', '/help'],
    ]);
    expect(await pusher.push(['lonely', 'too many words here', 'gus /home not-a-time'])).toBe(3);

    // Users who keep clicking, once a second of batch time: dan and eve
    // throughout; gus pauses about 3 s (under the timeout) once.
    let clicking = true;
    const active = (async () => {
      for (let tick = 0; clicking; tick++) {
        await push([
          ['dan', `/feed/${tick}`],
          ['eve', `/feed/${tick % 3}`],
          ...(tick === 0 || tick === 3 || tick === 4 ? [['gus', `/g/${tick}`] as [string, string]] : []),
        ]);
        await batchesPass(2);
      }
    })();

    try {
      // The quiet users' sessions end, each once; the active ones' do not.
      const quiet = ['ann', 'ben', 'cat', 'fay'];
      await waitFor(() => quiet.every((u) => endedOf(u).length > 0), `the sessions of ${quiet.join(', ')} end`, { timeoutMs: 15_000 });
      const firstEnds = Math.max(...quiet.map((u) => endedOf(u)[0]!.batchTimeMs));
      // dan and eve have been clicking for longer than the timeout by now.
      expect(firstEnds - startedMs).toBeGreaterThan(IDLE_MS);
      expect(endedOf('dan')).toEqual([]);
      expect(endedOf('eve')).toEqual([]);
      await waitFor(() => openNow() === 3 || (openNow() === 2 && endedOf('gus').length > 0), 'open counts dan, eve and gus (or gus ended)');

      // fay comes back: a new session.
      await push(
        [
          ['fay', '/home'],
          ['fay', '/checkout'],
        ],
        ['fay'],
      );
      await waitFor(() => endedOf('fay').length === 2, 'fay’s second session ends', { timeoutMs: 15_000 });
      expect(endedOf('dan')).toEqual([]);
      expect(endedOf('eve')).toEqual([]);
      expect(ended.at(-1)!.batchTimeMs - startedMs).toBeGreaterThan(2 * IDLE_MS);

      // dan and eve stop: their (long) sessions end too, and nothing stays open.
      clicking = false;
      await active;
      await waitFor(() => ['dan', 'eve', 'gus'].every((u) => endedOf(u).length > 0) && openNow() === 0, 'every session ends and none is open', {
        timeoutMs: 15_000,
      });
      // One more timeout's worth of batches: nothing else is emitted (each session ended exactly once).
      await batchesPass(IDLE_MS / BATCH_MS + 2);
    } finally {
      // Also when an expectation above failed: stop clicking and watching.
      clicking = false;
      await active.catch(() => undefined);
      abort.abort();
      await watching.catch(() => undefined);
    }

    // Exactly the expected sessions: user, views and pages (as a multiset:
    // clicks of one batch may reach the mapping function in any order).
    const key = (u: string, pages: string[]) => `${u}:${pages.length}:${[...pages].sort().join(',')}`;
    const expected = [...pushed].flatMap(([u, sessions]) => sessions.map((s) => key(u, s.pages))).sort();
    expect(ended.map((s) => key(s.user, s.pages)).sort()).toEqual(expected);
    for (const s of ended) expect(s.views).toBe(s.pages.length);
    expect(endedOf('gus')).toHaveLength(1);
    expect(endedOf('gus')[0]!.views).toBe(3);

    // ann's clicks carried their times: 1 000 to 4 000 ms.
    expect(endedOf('ann')[0]).toMatchObject({ startMs: 1_000, endMs: 4_000, durationMs: 3_000 });
    // The others were stamped by the job as they were parsed: dan's session spans his clicks.
    const dan = endedOf('dan')[0]!;
    expect(dan.durationMs).toBe(dan.endMs - dan.startMs);
    expect(dan.durationMs).toBeGreaterThan(2 * IDLE_MS - 2000);
    for (const u of ['ben', 'cat']) expect(endedOf(u)[0]!.durationMs).toBeLessThan(2 * BATCH_MS);

    // A session ends only once its user has been idle for the timeout, and
    // in the first batches after that: its batch is more than 5 s after the
    // last click was sent, and within 5 s + 2 batches (+ slack) of its ack.
    for (const [u, sessions] of pushed) {
      sessions.forEach((s, i) => {
        const endedAt = endedOf(u)[i]!.batchTimeMs;
        expect(endedAt, `${u} session ${i + 1}`).toBeGreaterThan(s.lastSentMs + IDLE_MS);
        expect(endedAt, `${u} session ${i + 1}`).toBeLessThanOrEqual(s.lastAckedMs + IDLE_MS + 3 * BATCH_MS);
      });
    }

    // `open` rose with the users and fell back to 0 as their sessions ended.
    // (7 at once: ann, ben, cat, fay, dan, eve and gus.)
    expect(Math.max(...open.map((o) => o.n))).toBe(7);
    const status = await client.status({ recentBatches: 100 });
    const j = status.jobs.find((x) => x.jobId === submitted.jobId)!;
    expect(j.recentBatches.filter((b) => b.state === 'FAILED')).toEqual([]);
    await client.stopJob(submitted.jobId);
  }, 60_000);
});
