/**
 * The receiver's write-ahead log of block allocations (allocation-log.ts) and
 * its recovery in Ingest: acks wait for the log, a log failure nacks, and a
 * new process announces exactly what the killed one acked but had not
 * announced. The KV is faked at the WalKv interface (an in-memory map with
 * NATS subject-wildcard filters); the real one is exercised by
 * tests/chaos/receiver-restart.test.ts.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { packRecords } from '../../lib/codec/records.js';
import type { BatchReadyMessage } from '../../lib/nats/subjects.js';
import { AllocationLog, type WalKv } from '../../services/receiver/allocation-log.js';
import type { BlockReplicator, BlockToStore, ReplicaSet } from '../../services/receiver/block-replicator.js';
import { Ingest, type AckInfo, type PushSink } from '../../services/receiver/ingest.js';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

function matches(filter: string, key: string): boolean {
  const f = filter.split('.');
  const k = key.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return k.length > i;
    if (i >= k.length || (f[i] !== '*' && f[i] !== k[i])) return false;
  }
  return f.length === k.length;
}

class FakeKv implements WalKv {
  readonly data = new Map<string, Uint8Array>();
  failPuts = false;
  /** When set, puts wait until released. */
  held: Array<() => void> | undefined;
  async put(key: string, value: Uint8Array): Promise<void> {
    if (this.held) await new Promise<void>((r) => this.held!.push(r));
    if (this.failPuts) throw new Error('TimeoutError: timeout');
    this.data.set(key, value);
  }
  entries(filter: string) {
    return Promise.resolve([...this.data].filter(([k]) => matches(filter, k)).map(([key, value]) => ({ key, value })));
  }
  purge(filter: string) {
    for (const k of [...this.data.keys()]) if (matches(filter, k)) this.data.delete(k);
    return Promise.resolve();
  }
  listKeys(filter: string) {
    return Promise.resolve([...this.data.keys()].filter((k) => matches(filter, k)));
  }
  keys(prefix: string): string[] {
    return [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}

/** Stores every block at once on e1+e2, or (when `hold`) waits for the test. */
class Replicator implements BlockReplicator {
  hold = false;
  readonly waiting: Array<() => void> = [];
  readonly blocks: BlockToStore[] = [];
  replicate(block: BlockToStore): Promise<ReplicaSet> {
    this.blocks.push(block);
    if (!this.hold) return Promise.resolve({ executorIds: ['e1', 'e2'] });
    return new Promise((r) => this.waiting.push(() => r({ executorIds: ['e1', 'e2'] })));
  }
}

class Sink implements PushSink {
  acks: AckInfo[] = [];
  nacks: Array<{ seq: number; code: number; message: string }> = [];
  ack(a: AckInfo) {
    this.acks.push(a);
  }
  nack(seq: number, code: number, message: string) {
    this.nacks.push({ seq, code, message });
  }
}

interface Logged {
  level: string;
  msg: string;
  obj: Record<string, unknown>;
}

/** One receiver process: its own clock, incarnation, log and Ingest over the shared KV. */
function receiverProcess(kv: FakeKv, startMs: number, incarnation: string, retainBatches = 5, receiverId = 'r0') {
  const clock = new ManualClock(startMs);
  const lines: Logged[] = [];
  const log = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(((o) => ({ level: pino.levels.labels[o.level]!, msg: o.msg, obj: o }))(JSON.parse(line))) },
  );
  const wal = new AllocationLog(kv, { receiverId, incarnation, batchIntervalMs: 1000, retainBatches, bucket: 'test-wal', log });
  const replicator = new Replicator();
  const announced: BatchReadyMessage[] = [];
  const ingest = new Ingest({
    receiverId,
    incarnation,
    blockIntervalMs: 200,
    batchIntervalMs: 1000,
    maxBlockBytes: 1 << 20,
    maxBufferedBytes: 1 << 30,
    retainBatches,
    clock,
    replicator,
    announce: (m) => announced.push(m),
    log,
    wal,
  });
  const restart = async () => {
    const boundary = Math.floor(startMs / 1000) * 1000;
    ingest.recover(await wal.recover(boundary - retainBatches * 1000));
    await flush();
  };
  return { clock, ingest, wal, replicator, announced, lines, restart };
}

const summary = (msgs: BatchReadyMessage[]) => msgs.map((m) => `${m.stream}@${m.batchTimeMs}:${m.blocks.map((b) => b.records).join('+')}`);

describe('receiver write-ahead log', () => {
  it('acks a block only after its allocation is in the log, one put per block', async () => {
    const kv = new FakeKv();
    const p = receiverProcess(kv, 10_050, 'inc1');
    const sink = new Sink();
    const session = p.ingest.open('s', sink);
    session.push(1, 2, packRecords(['a', 'b']));
    session.push(2, 1, packRecords(['c']));
    kv.held = [];
    p.clock.advance(150); // seals one block at 10_200
    await flush();
    expect(p.replicator.blocks).toHaveLength(1);
    expect(sink.acks).toEqual([]); // stored, but the log write is pending
    expect(kv.held).toHaveLength(1);
    const release = kv.held;
    kv.held = undefined;
    release.forEach((r) => r());
    await flush();
    expect(sink.acks.map((a) => a.seq)).toEqual([1, 2]);
    const keys = kv.keys('blk.');
    expect(keys).toHaveLength(1); // one put for the block, not one per push or record
    expect(keys[0]).toMatch(/^blk\.r0\.s\.11000\.inc1-\d+$/);
  });

  it('nacks UNAVAILABLE, never acks, when the log cannot be written; the block is not announced', async () => {
    const kv = new FakeKv();
    const p = receiverProcess(kv, 10_050, 'inc1');
    const sink = new Sink();
    const session = p.ingest.open('s', sink);
    kv.failPuts = true;
    session.push(1, 1, packRecords(['a']));
    p.clock.advance(150);
    await flush();
    expect(sink.acks).toEqual([]);
    expect(sink.nacks).toHaveLength(1);
    expect(sink.nacks[0]!.code).toBe(14);
    expect(sink.nacks[0]!.message).toMatch(/write-ahead log \(JetStream KV bucket "test-wal"\).*TimeoutError/);
    kv.failPuts = false;
    p.clock.advance(800); // closes 11_000
    await flush();
    expect(summary(p.announced)).toEqual(['s@11000:']);
  });

  it('after a SIGKILL, a new process announces every acked block of the unannounced batches, once, and serves them', async () => {
    const kv = new FakeKv();
    const old = receiverProcess(kv, 10_050, 'inc1');
    const sink = new Sink();
    const session = old.ingest.open('s', sink);
    session.push(1, 1, packRecords(['a']));
    old.clock.advance(150); // block of 11_000 sealed at 10_200
    await flush();
    old.clock.advance(800); // 11_000 closed and announced
    await flush();
    session.push(2, 2, packRecords(['b', 'c']));
    old.clock.advance(200); // block of 12_000 sealed at 11_200, acked
    await flush();
    session.push(3, 1, packRecords(['d']));
    old.clock.advance(400); // block of 12_000 sealed at 11_600, acked
    await flush();
    old.replicator.hold = true;
    session.push(4, 1, packRecords(['e']));
    old.clock.advance(200); // block sealed at 11_800, still replicating: not logged, not acked
    await flush();
    expect(sink.acks.map((a) => `${a.seq}@${a.batchTimeMs}`)).toEqual(['1@11000', '2@12000', '3@12000']);
    expect(summary(old.announced)).toEqual(['s@11000:1']);
    // SIGKILL at 11_850: 12_000 was never announced. A new process starts in the same interval.
    const next = receiverProcess(kv, 11_900, 'inc2');
    await next.restart();
    expect(summary(next.announced)).toEqual(['s@12000:2+1']); // not 11_000 again, not the unacked block
    expect(next.announced[0]!.blocks.map((b) => b.blockId)).toEqual(sink.acks.slice(1).map((a) => a.blockId));
    expect(next.ingest.getBatchBlocks('s', 12_000)).toMatchObject({ complete: true, blocks: [{ records: 2 }, { records: 1 }] });
    expect(next.ingest.getBatchBlocks('s', 11_000)).toMatchObject({ complete: true, blocks: [{ records: 1 }] });
    // Its own first batch comes after the recovered one, even though 12_000 is still in progress by the clock.
    const sink2 = new Sink();
    next.ingest.open('s', sink2).push(1, 1, packRecords(['f']));
    next.clock.advance(100); // tick 12_000
    await flush();
    expect(sink2.acks.map((a) => a.batchTimeMs)).toEqual([13_000]);
    next.clock.advance(1000);
    await flush();
    expect(summary(next.announced)).toEqual(['s@12000:2+1', 's@13000:1']);
  });

  it('a batch it has no record of, whose interval passed while it was down, is complete and empty', async () => {
    const kv = new FakeKv();
    const old = receiverProcess(kv, 10_050, 'inc1');
    const session = old.ingest.open('s', new Sink());
    session.push(1, 1, packRecords(['a']));
    old.clock.advance(150);
    await flush();
    // Killed at 10_300; restarted at 14_500: 11_000 recovered, 12_000..14_000 had nothing acked.
    const next = receiverProcess(kv, 14_500, 'inc2');
    await next.restart();
    expect(summary(next.announced)).toEqual(['s@11000:1']);
    for (const t of [12_000, 13_000, 14_000]) expect(next.ingest.getBatchBlocks('s', t)).toEqual({ complete: true, blocks: [] });
    expect(next.ingest.getBatchBlocks('s', 15_000)).toEqual({ complete: false, blocks: [] }); // still to come
    expect(() => next.ingest.getBatchBlocks('s', 9_000)).toThrow(/keeps the last 5 batches/); // out of the window
    next.ingest.setActiveStreams(new Set(['s']));
    expect(next.ingest.getBatchBlocks('s', 15_000)).toEqual({ complete: false, blocks: [] });
    next.clock.advance(500);
    await flush();
    expect(summary(next.announced)).toEqual(['s@11000:1', 's@15000:']);
  });

  it('does not re-announce batches recorded as announced; recovers again after a second crash', async () => {
    const kv = new FakeKv();
    const a = receiverProcess(kv, 10_050, 'inc1');
    const session = a.ingest.open('s', new Sink());
    session.push(1, 1, packRecords(['a']));
    a.clock.advance(950); // 11_000 announced
    await flush();
    expect(kv.keys('ann.')).toEqual(['ann.r0.s']);
    const b = receiverProcess(kv, 11_500, 'inc2');
    await b.restart();
    expect(b.announced).toEqual([]);
    expect(b.ingest.getBatchBlocks('s', 11_000).complete).toBe(true);
    const c = receiverProcess(kv, 12_500, 'inc3');
    await c.restart();
    expect(c.announced).toEqual([]);
    expect(c.ingest.getBatchBlocks('s', 11_000)).toMatchObject({ complete: true, blocks: [{ records: 1 }] });
  });

  it('keeps the log bounded: drops batches out of the retention window, and says so', async () => {
    const kv = new FakeKv();
    const p = receiverProcess(kv, 10_050, 'inc1', 2);
    const session = p.ingest.open('s', new Sink());
    for (let i = 1; i <= 5; i++) {
      session.push(i, 1, packRecords([`r${i}`]));
      p.clock.advance(1000);
      await flush();
    }
    // Announced 11_000..15_000; with retainBatches = 2, 11_000..13_000 were purged.
    expect(kv.keys('blk.').map((k) => k.split('.')[3])).toEqual(['14000', '15000']);
    expect(p.lines.some((l) => l.level === 'info' && /purging blocks of batches older than retainBatches/.test(l.msg))).toBe(true);
    expect(p.lines.filter((l) => l.level === 'debug' && /purging the blocks of a batch/.test(l.msg)).map((l) => l.obj.batchTimeMs)).toEqual([
      11_000, 12_000, 13_000,
    ]);

    // A process down longer than the window: its unannounced batch is dropped with an error, not recovered.
    const kv2 = new FakeKv();
    const old = receiverProcess(kv2, 10_050, 'inc1', 2);
    old.ingest.open('s', new Sink()).push(1, 3, packRecords(['x', 'y', 'z']));
    old.clock.advance(150);
    await flush();
    const late = receiverProcess(kv2, 20_000, 'inc2', 2);
    await late.restart();
    expect(late.announced).toEqual([]);
    expect(kv2.keys('blk.')).toEqual([]);
    const err = late.lines.find((l) => l.level === 'error');
    expect(err?.msg).toMatch(/never announced/);
    expect(err?.obj).toMatchObject({ stream: 's', unannouncedBatches: [11_000], unannouncedRecords: 3 });
  });

  it('keys streams whose names are not KV-safe without collisions', async () => {
    const kv = new FakeKv();
    const old = receiverProcess(kv, 10_050, 'inc1');
    old.ingest.open('a.b c', new Sink()).push(1, 1, packRecords(['a']));
    old.ingest.open('x612e62', new Sink()).push(1, 2, packRecords(['b', 'c']));
    old.clock.advance(150);
    await flush();
    const next = receiverProcess(kv, 10_500, 'inc2');
    await next.restart();
    expect(summary(next.announced).sort()).toEqual(['a.b c@11000:1', 'x612e62@11000:2']);
  });
});

describe('AllocationLog: another receiver\'s entries (several receivers)', () => {
  const log = pino({ level: 'silent' });
  const walOf = (kv: FakeKv, receiverId: string) =>
    new AllocationLog(kv, { receiverId, incarnation: 'i1', batchIntervalMs: 1000, retainBatches: 10, bucket: 'b', log });

  it("reads a receiver's share of one batch and one session's stored seqs, and nothing of another receiver, stream or batch", async () => {
    const kv = new FakeKv();
    const a = walOf(kv, 'r-a');
    const b = walOf(kv, 'r.b'); // a name that is not a plain token
    const blk = (blockId: string, stream: string, batchTimeMs: number, pushes: Array<[string, number, number]>) => ({
      stream,
      batchTimeMs,
      blockId,
      records: 3,
      bytes: 9,
      executorIds: ['e1', 'e2'],
      pushes,
    });
    await a.logBlock(blk('input.r-a.2', 'lines', 2000, [['s1', 1, 4]]));
    await a.logBlock(blk('input.r-a.1', 'lines', 2000, [['s1', 5, 5], ['s2', 1, 2]]));
    await a.logBlock(blk('input.r-a.3', 'lines', 3000, [['s1', 6, 9]]));
    await a.logBlock(blk('input.r-a.4', 'other', 2000, [['s1', 1, 1]]));
    await b.logBlock(blk('input.r.b.1', 'lines', 2000, [['s1', 10, 12]]));

    const reader = walOf(kv, 'r-c');
    expect((await reader.readShare('r-a', 'lines', 2000)).map((x) => x.blockId)).toEqual(['input.r-a.1', 'input.r-a.2']);
    expect(await reader.readShare('r-a', 'lines', 4000)).toEqual([]);
    expect((await reader.readShare('r.b', 'lines', 2000)).map((x) => x.executorIds)).toEqual([['e1', 'e2']]);
    expect((await reader.readSessionRanges('r-a', 'lines', 's1')).sort((x, y) => x[1] - y[1])).toEqual([
      ['s1', 1, 4],
      ['s1', 5, 5],
      ['s1', 6, 9],
    ]);
    expect(await reader.readSessionRanges('r-a', 'lines', 's3')).toEqual([]);
  });

  it("purges at start the entries of receivers that logged nothing within the window (gone for good), never its own or a recent one's", async () => {
    const kv = new FakeKv();
    const blk = (blockId: string, batchTimeMs: number) => ({ stream: 'lines', batchTimeMs, blockId, records: 1, bytes: 1, executorIds: ['e1'] });
    await walOf(kv, 'old-pod').logBlock(blk('input.old.1', 1000));
    walOf(kv, 'old-pod').markAnnounced('lines', 1000);
    await walOf(kv, 'live-pod').logBlock(blk('input.live.1', 1000));
    await walOf(kv, 'live-pod').logBlock(blk('input.live.2', 9000));
    await walOf(kv, 'me').logBlock(blk('input.me.1', 1000));
    await flush();
    expect(await walOf(kv, 'me').purgeOrphans(5000)).toEqual(['old-pod']);
    expect(kv.keys('blk.old-pod.')).toEqual([]);
    expect(kv.keys('ann.old-pod.')).toEqual([]);
    expect(kv.keys('blk.live-pod.')).toHaveLength(2);
    expect(kv.keys('blk.me.')).toHaveLength(1);
  });
});

describe('a pusher session failing over to another receiver', () => {
  it("is answered `duplicate` for a seq the previous receiver stored (its ack lost), and stores the rest once", async () => {
    const kv = new FakeKv();
    const a = receiverProcess(kv, 10_050, 'inc1', 5, 'r-a');
    const sinkA = new Sink();
    const onA = a.ingest.open('s', sinkA, 'sess');
    onA.push(1, 1, packRecords(['a']));
    onA.push(2, 1, packRecords(['b']));
    a.clock.advance(150);
    await flush();
    expect(sinkA.acks.map((x) => x.seq)).toEqual([1, 2]);

    // The pusher never saw ack 2 (say) and re-sends it, with seq 3, on receiver r-b, naming r-a as a previous receiver.
    const b = receiverProcess(kv, 10_300, 'inc2', 5, 'r-b');
    b.ingest.adoptSessionRanges('s', await b.wal.readSessionRanges('r-a', 's', 'sess'));
    const sinkB = new Sink();
    const onB = b.ingest.open('s', sinkB, 'sess');
    onB.push(2, 1, packRecords(['b']));
    onB.push(3, 1, packRecords(['c']));
    b.clock.advance(100);
    await flush();
    expect(sinkB.acks.map((x) => ({ seq: x.seq, duplicate: x.duplicate === true }))).toEqual([
      { seq: 2, duplicate: true },
      { seq: 3, duplicate: false },
    ]);
    // Only seq 3 was stored again: one block of one record.
    expect(b.replicator.blocks.map((x) => x.records)).toEqual([1]);
  });
});
