/**
 * RecordPusher's retries alone, against a scripted Receiver on a real gRPC
 * server (127.0.0.1:0): a RESOURCE_EXHAUSTED nack with a retry hint is
 * waited out and the same seq re-sent; a call that breaks is re-opened in
 * the same session and its unacked messages re-sent with the same seqs; a
 * non-transient refusal (FAILED_PRECONDITION) is not retried.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RecordPusher } from '../../client/index.js';
import { startServer, type StartedServer } from '../../lib/grpc/server.js';
import type { PushRequest__Output } from '../../lib/proto/gen/rivulet/v1/PushRequest.js';
import type { PushResponse } from '../../lib/proto/gen/rivulet/v1/PushResponse.js';
import { rivuletV1 } from '../../lib/proto/index.js';
import { unpackRecords } from '../../lib/codec/records.js';

/** The fake servers here are plaintext, in-process: these tests are about retries, not security. */
const PLAINTEXT = { insecure: true } as const;

type Call = grpc.ServerDuplexStream<PushRequest__Output, PushResponse>;
/** What the fake receiver does with one records message: its answer, or 'break' (end the call UNAVAILABLE, unanswered). */
type Script = (seq: number, callNo: number, nth: number) => { ack: true } | { nack: number; retryAfterMs?: number } | 'break';

describe('RecordPusher retries', () => {
  let server: StartedServer;
  let script: Script = () => ({ ack: true });
  const opens: Array<{ sessionId: string }> = [];
  const received: Array<{ callNo: number; seq: number; at: number; count: number; payload: Buffer }> = [];
  let openError: grpc.status | undefined;

  beforeAll(async () => {
    server = await startServer({ host: '127.0.0.1', port: 0, maxMessageBytes: 4 * 1024 * 1024 }, (s) =>
      s.addService(rivuletV1.Receiver.service, {
        Push: (call: Call) => {
          const callNo = opens.length;
          let nth = 0;
          call.on('data', (req: PushRequest__Output) => {
            if (req.kind === 'open') {
              opens.push({ sessionId: req.open!.sessionId });
              if (openError !== undefined) {
                call.emit('error', { code: openError, details: 'no running job reads stream \'lines\'' });
                return;
              }
              call.write({ opened: { stream: req.open!.stream, batchIntervalMs: 1000, maxMessageBytes: 4 * 1024 * 1024 } });
              return;
            }
            const seq = Number(req.records!.seq);
            received.push({ callNo, seq, at: Date.now(), count: req.records!.batch!.count, payload: Buffer.from(req.records!.batch!.payload) });
            const what = script(seq, callNo, nth++);
            if (what === 'break') call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'Connection dropped' });
            else if ('ack' in what) call.write({ ack: { seq, count: req.records!.batch!.count, blockId: 'b', batchTimeMs: 1000 } });
            else call.write({ nack: { seq, code: what.nack, message: 'refused', retryAfterMs: what.retryAfterMs ?? 0 } });
          });
          call.on('end', () => call.end());
          call.on('error', () => undefined);
        },
        GetBatchBlocks: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED }),
      }),
    );
  });
  afterAll(async () => server.shutdown(100));
  beforeEach(() => {
    opens.length = 0;
    received.length = 0;
    openError = undefined;
  });

  it('waits out a RESOURCE_EXHAUSTED retry hint and re-sends the same seq', async () => {
    script = (_seq, _call, nth) => (nth === 0 ? { nack: grpc.status.RESOURCE_EXHAUSTED, retryAfterMs: 300 } : { ack: true });
    const pusher = new RecordPusher(server.address, 'lines', { security: PLAINTEXT, maxBatchRecords: 2 });
    try {
      expect(await pusher.push(['a', 'b'])).toBe(2);
      expect(received.map((r) => r.seq)).toEqual([1, 1]);
      expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(300);
      expect(pusher.retries).toBe(1);
    } finally {
      await pusher.close();
    }
  });

  it('re-opens a broken call in the same session and re-sends the unacked messages with their seqs', async () => {
    // The first call acks seq 1 and breaks on seq 2 (seq 3, sent behind it, is never answered there).
    script = (seq, callNo) => (callNo === 0 && seq >= 2 ? 'break' : { ack: true });
    const pusher = new RecordPusher(server.address, 'lines', { security: PLAINTEXT, maxBatchRecords: 1 });
    try {
      expect(await pusher.push(['a', 'b', 'c'])).toBe(3);
      expect(opens).toHaveLength(2);
      expect(opens[0]!.sessionId).toMatch(/^[0-9a-f]{24}$/);
      expect(opens[1]!.sessionId).toBe(opens[0]!.sessionId);
      expect(received.filter((r) => r.callNo === 1).map((r) => r.seq)).toEqual([2, 3]);
      expect(pusher.retries).toBe(1);
    } finally {
      await pusher.close();
    }
  });

  it('cuts a push into messages of at most maxBatchRecords records and the message size, in order, every record once', async () => {
    script = () => ({ ack: true });
    const pusher = new RecordPusher(server.address, 'lines', { security: PLAINTEXT, maxBatchRecords: 3 });
    // Runs of 3 small records go whole; the run with two 2.5 MiB records packs over the 4 MiB message: cut record by record.
    const big = (c: string) => c.repeat(2.5 * 1024 * 1024);
    const records = ['a', 'b', 'c', 'd', big('x'), big('y'), 'e', 'f'];
    try {
      expect(await pusher.push(records)).toBe(records.length);
      expect(received.map((r) => r.count)).toEqual([3, 2, 1, 2]);
      expect(received.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
      expect(unpackRecords(Buffer.concat(received.map((r) => r.payload)))).toEqual(records);
      for (const r of received) expect(unpackRecords(r.payload)).toHaveLength(r.count);
    } finally {
      await pusher.close();
    }
  });

  it('does not retry FAILED_PRECONDITION (no running job reads the stream)', async () => {
    openError = grpc.status.FAILED_PRECONDITION;
    const pusher = new RecordPusher(server.address, 'lines', { security: PLAINTEXT });
    const err = (await pusher.push(['a']).catch((e: unknown) => e)) as { code?: number; message: string };
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(opens).toHaveLength(1);
    expect(pusher.retries).toBe(0);
    await pusher.close();
  });
});
