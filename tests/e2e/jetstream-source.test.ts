/**
 * A JetStream direct source end to end (ctx.jetStream): a word count reading a
 * JetStream stream of numbered lines published by the test's own NATS client
 * (a producer user of the cluster's NATS, tests/helpers/security via the local
 * cluster's natsAccess) before and during the run; exact counts (every line in
 * exactly one batch), the lag reported and reaching 0, and the same exactness
 * after kill -9 of an executor and of the scheduler mid-stream; a message that
 * is not UTF-8 goes to the dead-letter output with its sequence.
 *
 * JETSTREAM_E2E_MESSAGES sets the size (default 150k: the CI form, ~1 minute
 * here); `node dist/bench/jetstream-source.js` is the 1M form with its figures.
 */
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { natsSourceProducer } from '../../lib/security/nats-permissions.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { expectExactWordCounts, idLine, type IdBatch } from '../helpers/id-lines.js';
import { waitFor } from '../helpers/wait.js';

const job = fileURLToPath(new URL('./jobs/jetstream-wordcount.ts', import.meta.url));
const STREAM = 'LINES';
const TOTAL = Number(process.env.JETSTREAM_E2E_MESSAGES ?? 150_000);
const BEFORE = Math.floor(TOTAL / 3);
/** The bad message is published right after this many good ones. */
const BAD_AFTER = BEFORE + 10;
const BAD = new Uint8Array([0xff, 0xfe, 0x41]);

/** Publish id lines from..to-1 (and the bad message at its place), a window of acks at a time. */
async function publish(js: JetStreamClient, from: number, to: number, onBad: (seq: number) => void): Promise<void> {
  const WINDOW = 2000;
  for (let i = from; i < to; i += WINDOW) {
    const acks: Array<Promise<unknown>> = [];
    for (let k = i; k < Math.min(to, i + WINDOW); k++) {
      acks.push(js.publish(`lines.${k % 3}`, idLine(k)));
      if (k === BAD_AFTER) {
        const bad = js.publish('lines.bad', BAD);
        acks.push(bad.then((a) => onBad(a.seq)));
      }
    }
    await Promise.all(acks);
  }
}

describe('a JetStream direct source', () => {
  let client: RivuletClient;
  let cluster: LocalCluster;
  useLocalCluster(
    {
      executors: 2,
      slots: 2,
      batchInterval: '500ms',
      blockInterval: '100ms',
      logLevel: 'warn',
      natsAccess: { sourceStreams: [STREAM], users: [{ name: 'producer', permissions: natsSourceProducer([STREAM], ['lines.>']) }] },
    },
    (started) => ({ client, cluster } = started),
  );

  async function producer(): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
    const nc = await connect({ servers: cluster.natsUrl, tls: cluster.security!.natsClientTls('producer') });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM, subjects: ['lines.>'] }).catch(async () => jsm.streams.info(STREAM));
    return { nc, js: jetstream(nc) };
  }

  it('counts every message exactly once across kill -9 of an executor and of the scheduler, reports the lag, dead-letters a bad message', async () => {
    const { nc, js } = await producer();
    let badSeq = 0;
    let sampling = true;
    try {
      await publish(js, 0, BEFORE, (s) => (badSeq = s));
      const submitted = await client.submitJob(job);
      expect(submitted.outputs).toEqual(['counts', 'lines.dead-letter']);
      const batches: IdBatch[] = [];
      const seenT = new Set<number>();
      const ids = new Set<number>();
      const abort = new AbortController();
      const abortLetters = new AbortController();
      const watching = (async () => {
        for await (const b of client.watchOutput(submitted.jobId, 'counts', { fromBeginning: true, signal: abort.signal, reconnect: true })) {
          if (seenT.has(b.batchTimeMs)) continue;
          seenT.add(b.batchTimeMs);
          const counts = new Map(b.records as [string, number][]);
          batches.push({ t: b.batchTimeMs, counts });
          for (const w of counts.keys()) if (w.startsWith('id')) ids.add(Number(w.slice(2)));
        }
      })().catch((err: unknown) => {
        if (!abort.signal.aborted) throw err;
      });
      const letters: unknown[] = [];
      const lettersT = new Set<number>();
      const watchingLetters = (async () => {
        for await (const b of client.watchOutput(submitted.jobId, 'lines.dead-letter', { fromBeginning: true, signal: abortLetters.signal, reconnect: true })) {
          if (lettersT.has(b.batchTimeMs)) continue;
          lettersT.add(b.batchTimeMs);
          letters.push(...b.records);
        }
      })().catch((err: unknown) => {
        if (!abortLetters.signal.aborted) throw err;
      });
      let maxLag = 0;
      const lagOf = async () => {
        const j = (await client.status()).jobs.find((x) => x.jobId === submitted.jobId);
        const lag = (j?.jetStreamSources ?? []).reduce((n, s) => n + Number(s.lag), 0);
        maxLag = Math.max(maxLag, lag);
        return { lag, j };
      };

      // The lag is sampled all through the run: the backlog published before the job is
      // behind for several batches (20k messages a batch), but a single sample taken
      // once part of it was counted can find the job already caught up (a CI run did).
      const lagSampler = (async () => {
        while (sampling) {
          await lagOf().catch(() => undefined); // the scheduler is killed mid-run: a refused status is expected then
          await new Promise((r) => setTimeout(r, 50));
        }
      })();

      // Publishing goes on during the run, with an executor and then the scheduler killed mid-stream.
      const during = publish(js, BEFORE, TOTAL, (s) => (badSeq = s));
      await waitFor(() => ids.size > BEFORE / 2, 'the job counted part of the messages published before it', { timeoutMs: 60_000, intervalMs: 50 });
      const victim = cluster.executors[1]!;
      await victim.kill();
      await waitFor(() => ids.size > BEFORE, 'the job goes on after the executor was killed', { timeoutMs: 60_000, intervalMs: 50 });
      const countedAtSchedulerKill = ids.size;
      await cluster.scheduler.kill();
      await cluster.restartScheduler();
      await during;
      await waitFor(() => ids.size >= TOTAL, `every message counted (${ids.size} of ${TOTAL})`, { timeoutMs: 120_000, intervalMs: 100 }).catch(
        async (err: unknown) => {
          // Seen once in CI (68k of 150k counted, then nothing): the cluster's own view of the job says which batch waits for what.
          const status = await client.status().catch((e: unknown) => `status refused: ${String(e)}`);
          throw new Error(`${String(err)}\nstatus at the timeout: ${JSON.stringify(status, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 20_000)}`);
        },
      );
      sampling = false;
      await lagSampler;
      await waitFor(async () => (await lagOf()).lag === 0, 'the lag reaches 0', { timeoutMs: 30_000, intervalMs: 100 });
      await waitFor(() => letters.length > 0, 'the bad message reached the dead-letter output', { timeoutMs: 10_000 });
      abort.abort();
      abortLetters.abort();
      await Promise.all([watching, watchingLetters]);

      const all = new Set(Array.from({ length: TOTAL }, (_, i) => i));
      expectExactWordCounts(batches, all, TOTAL, 'JetStream source across kills');
      expect(maxLag, 'the lag was reported while the job caught up').toBeGreaterThan(0);
      expect(countedAtSchedulerKill, 'the scheduler was killed mid-stream').toBeLessThan(TOTAL);
      const { j } = await lagOf();
      expect(j!.state).toBe('RUNNING');
      const src = j!.jetStreamSources[0]!;
      expect(src).toMatchObject({ source: 'lines', stream: STREAM, lag: 0 });
      expect(Number(src.committedSequence)).toBe(TOTAL + 1);

      // The bad message: one dead letter, with its sequence, and no record of it anywhere.
      expect(letters).toEqual([expect.objectContaining({ source: 'lines', stream: STREAM, seq: badSeq, error: expect.stringContaining('cannot decode as lines') })]);
    } finally {
      sampling = false;
      await nc.close();
    }
  }, 240_000);
});
