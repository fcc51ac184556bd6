/**
 * Idempotent push retries and refusals on a real cluster (nats-server and
 * every service as processes from dist/):
 * - a push retried after an unclear failure — the receiver stored it but the
 *   client never saw the ack — is acked as a duplicate and counted once, on a
 *   new call and after the receiver was killed -9 and restarted (its
 *   write-ahead log carries the session's seqs). Driven with raw Push calls,
 *   so the "lost ack" is exact;
 * - the SDK pusher rides out receiver kills: it re-sends what was not acked
 *   on a new call, and every line is acked and counted exactly once;
 * - a push after its job stopped is refused with FAILED_PRECONDITION naming
 *   the stream, on the open call and on a new one.
 */
import { fileURLToPath } from 'node:url';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { packRecords } from '../../lib/codec/records.js';
import { dial } from '../../lib/grpc/client.js';
import type { PushRequest } from '../../lib/proto/gen/rivulet/v1/PushRequest.js';
import type { PushResponse__Output } from '../../lib/proto/gen/rivulet/v1/PushResponse.js';
import { slowWordcountJob } from '../../scenarios/overload.js';
import type { TransportSecurity } from '../../lib/security/transport.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { expectExactWordCounts, expectJobHealthy, idLine, watchIdBatches } from '../helpers/id-lines.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));

/** One raw Push call in a session: send messages by seq, read its acks. */
async function rawCall(a: { receiver: string; security: TransportSecurity }, stream: string, sessionId: string) {
  const client = dial.receiver(a.receiver, { security: a.security });
  const call: ClientDuplexStream<PushRequest, PushResponse__Output> = client.push();
  const responses: PushResponse__Output[] = [];
  let error: { code?: number; details?: string } | undefined;
  call.on('data', (r: PushResponse__Output) => responses.push(r));
  call.on('error', (e: { code?: number; details?: string }) => (error = e));
  call.write({ open: { stream, clientId: 'push-retry-test', sessionId } });
  await waitFor(() => responses.some((r) => r.kind === 'opened') || error !== undefined, 'opened');
  return {
    responses,
    error: () => error,
    send(seq: number, lines: string[]) {
      call.write({ records: { seq, batch: { count: lines.length, payload: packRecords(lines) } } });
    },
    ackOf: (seq: number) => responses.find((r) => r.kind === 'ack' && Number(r.ack!.seq) === seq)?.ack,
    close() {
      call.cancel();
      client.close();
    },
  };
}

describe('push retries and refusals', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    { executors: 2, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logDir: process.env.RIVULET_TEST_LOG_DIR },
    (started) => ({ cluster, client } = started),
  );

  it('a push retried after its ack was lost is acked as a duplicate and counted once — also after a receiver restart', async () => {
    const job = await client.submitJob(wordcount);
    const watch = watchIdBatches(client, job.jobId);
    const session = 'retry-session-1';
    const first = await rawCall(cluster.addresses(), 'lines', session);
    first.send(1, [idLine(0), idLine(1)]);
    first.send(2, [idLine(2)]);
    await waitFor(() => !!first.ackOf(1) && !!first.ackOf(2), 'both stored and acked');
    expect(first.ackOf(1)!.duplicate).toBe(false);
    // The client "never saw" those acks: the call breaks, it retries both on a new call, plus a new one.
    first.close();
    const second = await rawCall(cluster.addresses(), 'lines', session);
    second.send(1, [idLine(0), idLine(1)]);
    second.send(2, [idLine(2)]);
    second.send(3, [idLine(3)]);
    await waitFor(() => [1, 2, 3].every((s) => second.ackOf(s)), 'the retries and the new push acked');
    expect([1, 2, 3].map((s) => second.ackOf(s)!.duplicate)).toEqual([true, true, false]);
    second.close();

    // kill -9 and restart: the write-ahead log brings the session's stored seqs back.
    await cluster.receiver.kill();
    await cluster.restartReceiver();
    const third = await rawCall(cluster.addresses(), 'lines', session);
    third.send(3, [idLine(3)]);
    third.send(4, [idLine(4)]);
    await waitFor(() => !!third.ackOf(3) && !!third.ackOf(4), 'the retry and the new push acked after the restart', { timeoutMs: 20_000 });
    expect([third.ackOf(3)!.duplicate, third.ackOf(4)!.duplicate]).toEqual([true, false]);
    third.close();

    const acked = new Set([0, 1, 2, 3, 4]);
    await watch.until(acked, 30_000);
    expectExactWordCounts(watch.batches, acked, 5);
    await client.stopJob(job.jobId);
  }, 60_000);

  it('the SDK pusher rides out receiver kills: nothing refused, every line counted exactly once', async () => {
    const job = await client.submitJob(wordcount);
    const watch = watchIdBatches(client, job.jobId);
    const pusher = client.pusher('lines', { retryTimeoutMs: 30_000 });
    const acked = new Set<number>();
    let next = 0;
    let failures = 0;
    let running = true;
    const loop = (async () => {
      const inFlight = new Set<Promise<void>>();
      while (running) {
        const ids = Array.from({ length: 200 }, () => next++);
        const op: Promise<void> = pusher.push(ids.map(idLine)).then(
          () => ids.forEach((i) => acked.add(i)),
          () => void failures++,
        );
        inFlight.add(op);
        void op.finally(() => inFlight.delete(op));
        if (inFlight.size >= 4) await Promise.race(inFlight);
        await new Promise((r) => setTimeout(r, 10));
      }
      await Promise.all(inFlight);
    })();
    for (let k = 0; k < 2; k++) {
      const before = acked.size;
      await waitFor(() => acked.size >= before + 2000, `2000 more acked before kill ${k + 1}`, { timeoutMs: 30_000 });
      await cluster.receiver.kill();
      await cluster.restartReceiver();
    }
    const after = acked.size;
    await waitFor(() => acked.size >= after + 2000, 'pushing goes on after the restarts', { timeoutMs: 30_000 });
    running = false;
    await loop;
    await pusher.close();
    const context = `${acked.size} acked of ${next}; ${pusher.retries} retries`;
    console.log(`push-retry: ${context}`);
    expect(failures, context).toBe(0);
    expect(acked.size, context).toBe(next);
    expect(pusher.retries, context).toBeGreaterThan(0);
    await watch.until(acked, 60_000);
    expectExactWordCounts(watch.batches, acked, next, context);
    await expectJobHealthy(client, job.jobId);
    await client.stopJob(job.jobId);
  }, 120_000);

  it('a push after its job stopped is refused with FAILED_PRECONDITION naming the stream', async () => {
    const job = await client.submitJob(slowWordcountJob);
    const pusher = client.pusher('lines');
    expect(await pusher.push([idLine(1)])).toBe(1);
    await client.stopJob(job.jobId);
    // The receiver learns it from the scheduler's streams message (NATS, sent on change).
    const err = await (async () => {
      for (;;) {
        const e = await pusher.push([idLine(2)]).then(
          () => undefined,
          (x: unknown) => x,
        );
        if (e) return e as { code?: number; message: string };
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    expect(err.code).toBe(Status.FAILED_PRECONDITION);
    expect(err.message).toMatch(/no running job reads stream 'lines'/);
    const fresh = await client.pusher('lines').push([idLine(3)]).catch((e: unknown) => e as { code?: number; message: string });
    expect(fresh).toMatchObject({ code: Status.FAILED_PRECONDITION });
    expect((fresh as Error).message).toMatch(/no running job reads stream 'lines'/);
  }, 30_000);
});
