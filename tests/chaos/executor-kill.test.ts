/**
 * Chaos: kill -9 one of 3 executors mid-stream, 10 times at random moments,
 * replacing each with a fresh one. Every acked record must be counted exactly
 * once, and every batch's output must equal what a failure-free run computes
 * for the records of that batch.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RivuletClient } from '../../client/index.js';
import { startLocalCluster, type LocalCluster } from '../../lib/cluster/local-cluster.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const WORDS = ['red', 'green', 'blue', 'cyan', 'magenta', 'yellow', 'black'];

/** Line i's words are a function of i, so any set of lines has a known word count. */
function line(i: number): string {
  const words = [`id${i}`];
  for (let k = 0; k <= i % 3; k++) words.push(WORDS[(i + k * 5) % WORDS.length]!);
  return words.join(' ');
}

function countWords(lines: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) for (const w of l.split(' ')) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

describe('chaos: executors killed with SIGKILL mid-stream', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;

  beforeAll(async () => {
    cluster = await startLocalCluster({ executors: 3, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logLevel: 'info', logDir: process.env.RIVULET_TEST_LOG_DIR });
    const a = cluster.addresses();
    client = new RivuletClient({ scheduler: a.scheduler, receiver: a.receiver });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('10 random kills: every acked record counted exactly once, every batch correct', async () => {
    const job = await client.submitJob(wordcount);
    const batches: Array<{ t: number; counts: Map<string, number> }> = [];
    const abort = new AbortController();
    let idsSeen = 0;
    let target = Infinity;
    const watching = (async () => {
      for await (const b of client.watchOutput(job.jobId, 'counts', { fromBeginning: true, signal: abort.signal })) {
        const counts = new Map(b.records as [string, number][]);
        batches.push({ t: b.batchTimeMs, counts });
        for (const w of counts.keys()) if (w.startsWith('id')) idsSeen++;
        if (idsSeen >= target) abort.abort();
      }
    })();

    // Push continuously; remember which lines were acked and which refused.
    const pusher = client.pusher('lines');
    const acked = new Set<number>();
    const refused = new Set<number>();
    let next = 0;
    let pushing = true;
    const pushLoop = (async () => {
      const inFlight = new Set<Promise<void>>();
      while (pushing) {
        const ids = Array.from({ length: 400 }, () => next++);
        const op: Promise<void> = pusher.push(ids.map(line)).then(
          () => ids.forEach((i) => acked.add(i)),
          () => ids.forEach((i) => refused.add(i)),
        );
        inFlight.add(op);
        op.finally(() => inFlight.delete(op));
        if (inFlight.size >= 4) await Promise.race(inFlight);
        await new Promise((r) => setTimeout(r, 40));
      }
      await Promise.all(inFlight);
    })();

    const kills: string[] = [];
    for (let k = 0; k < 10; k++) {
      await new Promise((r) => setTimeout(r, 800 + Math.random() * 1200));
      const victim = cluster.executors[Math.floor(Math.random() * cluster.executors.length)]!;
      kills.push(victim.name);
      await victim.kill();
      cluster.executors.splice(cluster.executors.indexOf(victim), 1);
      // The guarantee covers one failure at a time: wait until the scheduler
      // has declared the loss and copied the victim's blocks back to two
      // replicas before the next kill can strike their other replica.
      for (;;) {
        const st = await client.status({ recentBatches: 0 });
        const lost = st.executors.find((e) => e.executorId === victim.name)?.state === 'LOST';
        if (lost && st.underReplicatedBlocks === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await cluster.addExecutor();
    }
    pushing = false;
    await pushLoop;
    await pusher.close();
    expect(kills).toHaveLength(10);
    expect(acked.size).toBeGreaterThan(5000);

    target = acked.size;
    const timeout = setTimeout(() => abort.abort(), 60_000);
    if (idsSeen >= target) abort.abort();
    await watching;
    clearTimeout(timeout);

    // Exactly once: every acked id in exactly one batch, with count 1; no refused id anywhere.
    const seenIn = new Map<number, number>();
    for (const b of batches) {
      for (const [w, c] of b.counts) {
        if (!w.startsWith('id')) continue;
        const id = Number(w.slice(2));
        expect(c).toBe(1);
        expect(seenIn.has(id)).toBe(false);
        seenIn.set(id, b.t);
      }
    }
    for (const id of acked) expect(seenIn.has(id)).toBe(true);
    for (const id of refused) expect(seenIn.has(id)).toBe(false);
    // Every batch equals the failure-free word count of the lines it holds.
    for (const b of batches) {
      const lines = [...b.counts.keys()].filter((w) => w.startsWith('id')).map((w) => line(Number(w.slice(2))));
      expect(b.counts).toEqual(countWords(lines));
    }
    const status = await client.status({ recentBatches: 1000 });
    const j = status.jobs.find((x) => x.jobId === job.jobId)!;
    expect(j.state).toBe('RUNNING');
    expect(j.recentBatches.filter((b) => b.state === 'FAILED')).toEqual([]);
  }, 180_000);
});
