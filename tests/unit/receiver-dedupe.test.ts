/**
 * The receiver's flow control and idempotence, on the Ingest alone (a fake
 * replicator and a ManualClock): push deduplication by (session, seq) —
 * including a retry that arrives while the first copy is still being
 * stored, after it was stored but the ack was lost, and after a restart
 * from the write-ahead log — the rate limit's pacing and its
 * RESOURCE_EXHAUSTED refusals with a retry hint, and refusing pushes on a
 * stream no job reads any more.
 */
import { status as Status } from '@grpc/grpc-js';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { packRecords } from '../../lib/codec/records.js';
import { FailedPreconditionError } from '../../lib/errors.js';
import type { BatchReadyMessage } from '../../lib/nats/subjects.js';
import { AllocationLog, type WalKv } from '../../services/receiver/allocation-log.js';
import type { BlockReplicator, BlockToStore, ReplicaSet } from '../../services/receiver/block-replicator.js';
import { Ingest, type AckInfo, type PushSink } from '../../services/receiver/ingest.js';
import { PushDedupe, pushRanges } from '../../services/receiver/push-dedupe.js';
import { IngestRateLimiter } from '../../services/receiver/rate-limiter.js';

const log = pino({ level: 'silent' });
const flush = () => new Promise<void>((r) => setImmediate(r));

class FakeReplicator implements BlockReplicator {
  readonly calls: Array<{ block: BlockToStore; resolve(r: ReplicaSet): void; reject(e: unknown): void }> = [];
  replicate(block: BlockToStore): Promise<ReplicaSet> {
    return new Promise((resolve, reject) => this.calls.push({ block, resolve, reject }));
  }
  storeAll(): void {
    for (const c of this.calls.splice(0)) c.resolve({ executorIds: ['e1', 'e2'] });
  }
  records(): number {
    return this.calls.reduce((n, c) => n + c.block.records, 0);
  }
}

class Sink implements PushSink {
  acks: AckInfo[] = [];
  nacks: Array<{ seq: number; code: number; message: string; retryAfterMs: number | undefined }> = [];
  ack(a: AckInfo) {
    this.acks.push(a);
  }
  nack(seq: number, code: number, message: string, retryAfterMs?: number) {
    this.nacks.push({ seq, code, message, retryAfterMs });
  }
}

class MapKv implements WalKv {
  readonly data = new Map<string, Uint8Array>();
  put(key: string, value: Uint8Array) {
    this.data.set(key, value);
    return Promise.resolve();
  }
  entries(filter: string) {
    const re = new RegExp('^' + filter.replace(/\./g, '\\.').replace(/\*/g, '[^.]+').replace(/>/g, '.+') + '$');
    return Promise.resolve([...this.data].filter(([k]) => re.test(k)).map(([key, value]) => ({ key, value })));
  }
  purge(filter: string) {
    const re = new RegExp('^' + filter.replace(/\./g, '\\.').replace(/\*/g, '[^.]+').replace(/>/g, '.+') + '$');
    for (const k of [...this.data.keys()]) if (re.test(k)) this.data.delete(k);
    return Promise.resolve();
  }
}

function setup(o: { kv?: MapKv; incarnation?: string; rateLimitMaxDelayMs?: number; maxPushSessions?: number; inactive?: boolean } = {}) {
  const clock = new ManualClock(10_050);
  const replicator = new FakeReplicator();
  const announced: BatchReadyMessage[] = [];
  const wal = o.kv
    ? new AllocationLog(o.kv, { receiverId: 'r0', incarnation: o.incarnation ?? 'inc1', batchIntervalMs: 1000, retainBatches: 10, bucket: 'b', log })
    : undefined;
  const ingest = new Ingest({
    receiverId: 'r0',
    incarnation: o.incarnation ?? 'inc1',
    blockIntervalMs: 200,
    batchIntervalMs: 1000,
    maxBlockBytes: 1 << 20,
    maxBufferedBytes: 1 << 30,
    retainBatches: 10,
    clock,
    replicator,
    announce: (m) => announced.push(m),
    log,
    ...(wal ? { wal } : {}),
    ...(o.rateLimitMaxDelayMs !== undefined ? { rateLimitMaxDelayMs: o.rateLimitMaxDelayMs } : {}),
    ...(o.maxPushSessions !== undefined ? { maxPushSessions: o.maxPushSessions } : {}),
  });
  if (!o.inactive) ingest.setActiveStreams(new Set(['s']));
  return { clock, replicator, ingest, announced, wal };
}

const rec = (n: number) => packRecords(Array.from({ length: n }, (_, i) => `r${i}`));

describe('PushDedupe', () => {
  it('moves its watermark over stored seqs, forgets refused ones, and expires idle sessions', () => {
    const d = new PushDedupe<string>({ retentionMs: 1000, maxSessions: 2 });
    expect(d.open('s', 'a', 0)).toBe(true);
    d.begin('s', 'a', 1, 0);
    d.begin('s', 'a', 2, 0);
    expect(d.check('s', 'a', 2, 0)).toEqual({ kind: 'pending', waiters: [] });
    d.settle('s', 'a', 2, { blockId: 'b2', batchTimeMs: 1000 }, 0);
    expect(d.check('s', 'a', 2, 0)).toEqual({ kind: 'acked', ack: { blockId: 'b2', batchTimeMs: 1000 } });
    d.settle('s', 'a', 1, undefined, 0); // nacked: a retry is new
    expect(d.check('s', 'a', 1, 0)).toEqual({ kind: 'new' });
    d.begin('s', 'a', 1, 0);
    d.settle('s', 'a', 1, { blockId: 'b1', batchTimeMs: 1000 }, 0);
    expect(d.check('s', 'a', 1, 0)).toEqual({ kind: 'acked', ack: undefined }); // under the watermark now
    expect(d.check('other-stream', 'a', 1, 0)).toEqual({ kind: 'new' });
    expect(d.open('s', 'b', 0)).toBe(true);
    expect(d.open('s', 'c', 10)).toBe(false); // bounded: refused, not silently dropped
    expect(d.open('s', 'c', 1000)).toBe(true); // a and b idle for the retention: forgotten
    expect(d.size).toBe(1);
  });

  it('ranges of a block\'s session seqs', () => {
    expect(
      pushRanges([
        { sessionId: 'a', seq: 3 },
        { sessionId: 'a', seq: 1 },
        { sessionId: 'a', seq: 2 },
        { sessionId: undefined, seq: 9 },
        { sessionId: 'b', seq: 7 },
        { sessionId: 'a', seq: 5 },
      ]),
    ).toEqual([
      ['a', 1, 3],
      ['a', 5, 5],
      ['b', 7, 7],
    ]);
  });
});

describe('receiver ingest: idempotent retries by (session, seq)', () => {
  it('a retry on a new call while the first copy is still being stored is acked once that finishes, and stored once', async () => {
    const { clock, replicator, ingest } = setup();
    const first = new Sink();
    const s1 = ingest.open('s', first, 'sess-1');
    s1.push(1, 3, rec(3));
    s1.detach(); // the call broke before any ack
    const second = new Sink();
    const s2 = ingest.open('s', second, 'sess-1');
    s2.push(1, 3, rec(3));
    s2.push(2, 2, rec(2));
    clock.advance(150);
    await flush();
    expect(replicator.records()).toBe(5); // seq 1 once, seq 2 once
    replicator.storeAll();
    await flush();
    expect(first.acks).toEqual([]);
    expect(second.acks.map((a) => [a.seq, a.count, a.duplicate ?? false]).sort()).toEqual([
      [1, 3, true],
      [2, 2, false],
    ]);
    expect(s2.pending).toBe(0);
  });

  it('a retry after the ack was lost is acked as a duplicate, not stored again', async () => {
    const { clock, replicator, ingest } = setup();
    const s1 = ingest.open('s', new Sink(), 'sess-1');
    s1.push(1, 3, rec(3));
    clock.advance(150);
    await flush();
    replicator.storeAll();
    await flush();
    s1.detach();
    const again = new Sink();
    const s2 = ingest.open('s', again, 'sess-1');
    s2.push(1, 3, rec(3));
    expect(again.acks).toHaveLength(1);
    // Seq 1 is under the session's watermark: its block is no longer remembered, only that it was stored.
    expect(again.acks[0]).toEqual({ seq: 1, count: 3, duplicate: true, blockId: '', batchTimeMs: 0 });
    clock.advance(200);
    await flush();
    expect(replicator.calls).toHaveLength(0);
  });

  it('a refused (nacked) seq is stored when retried', async () => {
    const { clock, replicator, ingest } = setup();
    const sink = new Sink();
    const s1 = ingest.open('s', sink, 'sess-1');
    s1.push(1, 2, rec(2));
    clock.advance(150);
    await flush();
    replicator.calls.splice(0).forEach((c) => c.reject(new Error('disk full')));
    await flush();
    expect(sink.nacks.map((n) => n.seq)).toEqual([1]);
    s1.push(1, 2, rec(2)); // same call, same seq: allowed with a session
    clock.advance(200);
    await flush();
    expect(replicator.records()).toBe(2);
    replicator.storeAll();
    await flush();
    expect(sink.acks.map((a) => [a.seq, a.duplicate ?? false])).toEqual([[1, false]]);
  });

  it('a retry after a receiver restart is a duplicate: the write-ahead log carries the session seqs', async () => {
    const kv = new MapKv();
    const a = setup({ kv });
    const s1 = a.ingest.open('s', new Sink(), 'sess-1');
    s1.push(1, 3, rec(3));
    s1.push(2, 1, rec(1));
    a.clock.advance(150);
    await flush();
    a.replicator.storeAll();
    await flush();
    a.ingest.dispose();

    const b = setup({ kv, incarnation: 'inc2', inactive: true });
    b.ingest.recover(await b.wal!.recover(0));
    b.ingest.setActiveStreams(new Set(['s']));
    const again = new Sink();
    const s2 = b.ingest.open('s', again, 'sess-1');
    s2.push(1, 3, rec(3));
    s2.push(2, 1, rec(1));
    s2.push(3, 4, rec(4));
    b.clock.advance(1000);
    await flush();
    expect(b.replicator.records()).toBe(4); // only seq 3 is new
    expect(again.acks.map((x) => [x.seq, x.duplicate])).toEqual([
      [1, true],
      [2, true],
    ]);
  });

  it('without a session id, seq must still increase within a call (no dedupe)', () => {
    const { ingest } = setup();
    const s = ingest.open('s', new Sink());
    s.push(2, 1, rec(1));
    expect(() => s.push(2, 1, rec(1))).toThrow(/must increase/);
  });

  it('refuses a new session beyond maxPushSessions with RESOURCE_EXHAUSTED', () => {
    const { ingest } = setup({ maxPushSessions: 1 });
    ingest.open('s', new Sink(), 'one');
    expect(() => ingest.open('s', new Sink(), 'two')).toThrow(expect.objectContaining({ code: Status.RESOURCE_EXHAUSTED }) as Error);
  });
});

describe('receiver ingest: the stream rate limit', () => {
  it('IngestRateLimiter paces to the rate and refuses beyond maxDelay with a retry hint', () => {
    const l = new IngestRateLimiter(1000);
    expect(l.admit('s', 1000, 0)).toEqual({ ok: true, delayMs: 0 }); // unlimited
    l.setLimits([{ stream: 's', recordsPerSecond: 1000 }], 0);
    expect(l.admit('s', 500, 0)).toEqual({ ok: true, delayMs: 0 });
    expect(l.admit('s', 500, 0)).toEqual({ ok: true, delayMs: 500 });
    expect(l.admit('s', 500, 0)).toEqual({ ok: true, delayMs: 1000 });
    expect(l.admit('s', 500, 0)).toEqual({ ok: false, retryAfterMs: 500, recordsPerSecond: 1000 });
    expect(l.admit('s', 500, 600)).toEqual({ ok: true, delayMs: 900 });
    // The rate doubles: what was scheduled ahead is re-paced at the new rate (next free 2000 → 600 + 1400/2).
    const remap = l.setLimits([{ stream: 's', recordsPerSecond: 2000 }], 600);
    expect(remap.get('s')!(1900)).toBe(1250);
    expect(l.admit('s', 500, 600)).toEqual({ ok: true, delayMs: 700 });
    l.setLimits([], 600);
    expect(l.admit('s', 1e6, 600)).toEqual({ ok: true, delayMs: 0 });
  });

  it('held pushes are re-paced when the rate rises', async () => {
    const { clock, replicator, ingest } = setup({ rateLimitMaxDelayMs: 10_000 });
    ingest.setRateLimits([{ stream: 's', recordsPerSecond: 100 }]);
    const s = ingest.open('s', new Sink(), 'sess-1');
    for (let seq = 1; seq <= 3; seq++) s.push(seq, 100, rec(100)); // due at +0, +1 s, +2 s
    ingest.setRateLimits([{ stream: 's', recordsPerSecond: 10_000 }]); // now due at +0, +10 ms, +20 ms
    clock.advance(150);
    await flush();
    expect(replicator.records()).toBe(300);
  });

  it('holds pushes until their admission time and nacks RESOURCE_EXHAUSTED with retryAfterMs beyond rateLimitMaxDelay', async () => {
    const { clock, replicator, ingest } = setup({ rateLimitMaxDelayMs: 1000 });
    ingest.setRateLimits([{ stream: 's', recordsPerSecond: 100 }]);
    const sink = new Sink();
    const s = ingest.open('s', sink, 'sess-1');
    for (let seq = 1; seq <= 4; seq++) s.push(seq, 50, rec(50)); // 0, 500, 1000 ms, then 1500 > max
    expect(sink.nacks).toEqual([expect.objectContaining({ seq: 4, code: Status.RESOURCE_EXHAUSTED, retryAfterMs: 500 })]);
    expect(sink.nacks[0]!.message).toMatch(/stream 's' is over its ingest rate limit of 100 records\/s/);
    clock.advance(150); // block at 10_200: only the first push is due
    await flush();
    expect(replicator.records()).toBe(50);
    clock.advance(1000); // by 11_200 all three admitted
    await flush();
    expect(replicator.records()).toBe(150);
    expect(s.pending).toBe(3);
  });

  it('a push after the stream\'s last job stopped is refused with FAILED_PRECONDITION naming the stream', () => {
    const { ingest } = setup();
    const s = ingest.open('s', new Sink(), 'sess-1');
    s.push(1, 1, rec(1));
    ingest.setActiveStreams(new Set());
    expect(() => s.push(2, 1, rec(1))).toThrow(FailedPreconditionError);
    expect(() => s.push(2, 1, rec(1))).toThrow(/no running job reads stream 's'/);
  });
});
