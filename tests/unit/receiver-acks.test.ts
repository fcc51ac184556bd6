import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { packRecords, unpackRecords } from '../../lib/codec/records.js';
import { InvalidArgumentError, UnavailableError } from '../../lib/errors.js';
import type { BatchReadyMessage } from '../../lib/nats/subjects.js';
import { PlacingReplicator, type BlockPutter, type BlockReplicator, type BlockToStore, type ReplicaSet } from '../../services/receiver/block-replicator.js';
import { ExecutorDirectory, type ExecutorInfo } from '../../services/receiver/executor-directory.js';
import { Ingest, type AckInfo, type PushSink } from '../../services/receiver/ingest.js';

const log = pino({ level: 'silent' });
const flush = () => new Promise<void>((r) => setImmediate(r));

/** A replicator whose outcomes the test decides, block by block. */
class FakeReplicator implements BlockReplicator {
  readonly calls: Array<{ block: BlockToStore; resolve(r: ReplicaSet): void; reject(e: unknown): void }> = [];
  replicate(block: BlockToStore): Promise<ReplicaSet> {
    return new Promise((resolve, reject) => this.calls.push({ block, resolve, reject }));
  }
  find(predicate: (b: BlockToStore) => boolean) {
    const c = this.calls.find((x) => predicate(x.block));
    if (!c) throw new Error('no such replicate call');
    return c;
  }
}

class RecordingSink implements PushSink {
  acks: AckInfo[] = [];
  nacks: Array<{ seq: number; code: number; message: string }> = [];
  drainedCount = 0;
  ack(a: AckInfo) {
    this.acks.push(a);
  }
  nack(seq: number, code: number, message: string) {
    this.nacks.push({ seq, code, message });
  }
  drained() {
    this.drainedCount++;
  }
}

function setup(opts: { replicator?: BlockReplicator; maxBufferedBytes?: number; start?: number } = {}) {
  const clock = new ManualClock(opts.start ?? 10_050);
  const replicator = opts.replicator ?? new FakeReplicator();
  const announced: BatchReadyMessage[] = [];
  const pressure: boolean[] = [];
  const ingest = new Ingest({
    receiverId: 'r0',
    incarnation: 'inc1',
    blockIntervalMs: 200,
    batchIntervalMs: 1000,
    maxBlockBytes: 1 << 20,
    maxBufferedBytes: opts.maxBufferedBytes ?? 1 << 30,
    retainBatches: 3,
    clock,
    replicator,
    announce: (m) => announced.push(m),
    log,
    onBackpressure: (p) => pressure.push(p),
  });
  return { clock, replicator: replicator as FakeReplicator, ingest, announced, pressure };
}

describe('receiver ingest: acks after store', () => {
  it('acks every push of a block only after the block is stored', async () => {
    const { clock, ingest, replicator } = setup();
    ingest.setActiveStreams(new Set(['s']));
    const sink = new RecordingSink();
    const session = ingest.open('s', sink);
    session.push(1, 2, packRecords(['a', 'b']));
    session.push(5, 1, packRecords(['c']));
    clock.advance(150); // tick at 10_200 seals one block
    await flush();
    expect(replicator.calls).toHaveLength(1);
    const { block } = replicator.calls[0]!;
    expect(block.records).toBe(3);
    expect(unpackRecords(block.payload)).toEqual(['a', 'b', 'c']);
    expect(sink.acks).toEqual([]);
    expect(session.pending).toBe(2);

    replicator.calls[0]!.resolve({ executorIds: ['e1', 'e2'] });
    await flush();
    expect(sink.acks).toEqual([
      { seq: 1, count: 2, blockId: block.blockId, batchTimeMs: 11_000 },
      { seq: 5, count: 1, blockId: block.blockId, batchTimeMs: 11_000 },
    ]);
    expect(sink.nacks).toEqual([]);
    expect(session.pending).toBe(0);
    expect(sink.drainedCount).toBe(1);
    expect(block.blockId).toMatch(/^input\.r0\.inc1\.s\.11000\.\d+$/);
  });

  it('nacks every push of a block with 14 UNAVAILABLE when no executor is alive', async () => {
    const clock = new ManualClock(10_050);
    const directory = new ExecutorDirectory({ clock, executorTimeoutMs: 1500 });
    const putter: BlockPutter = { put: () => Promise.reject(new Error('must not be called')), close: () => {} };
    const replicator = new PlacingReplicator({ directory, putter, replication: 2, log });
    const { ingest, clock: c2, announced } = setup({ replicator });
    ingest.setActiveStreams(new Set(['s']));
    const sink = new RecordingSink();
    const session = ingest.open('s', sink);
    session.push(1, 1, packRecords(['a']));
    session.push(2, 1, packRecords(['b']));
    c2.advance(950); // block sealed at 10_200; batch 11_000 closes
    await flush();
    expect(sink.acks).toEqual([]);
    expect(sink.nacks.map((n) => [n.seq, n.code])).toEqual([
      [1, 14],
      [2, 14],
    ]);
    expect(sink.nacks[0]!.message).toMatch(/^no executors alive to store block input\.r0\.inc1\.s\.11000\.\d+$/);
    expect(ingest.bufferedBytes).toBe(0);
    // The failed block is not announced, but the batch is.
    expect(announced).toEqual([{ stream: 's', batchTimeMs: 11_000, batchIntervalMs: 1000, blocks: [] }]);
  });

  it('a replica confirmed by an executor declared lost before the ack is placed elsewhere', async () => {
    const clock = new ManualClock(10_050);
    const directory = new ExecutorDirectory({ clock, executorTimeoutMs: 1500 });
    for (const id of ['e1', 'e2', 'e3']) {
      directory.observe({
        executorId: id,
        epoch: 1,
        address: `${id}:1`,
        host: 'h',
        slots: 1,
        freeSlots: 1,
        runningTasks: 0,
        blockCount: 0,
        blockBytes: 0,
        blockCapacityBytes: id === 'e3' ? 1 : 1e9, // e3 last choice
        sentAtMs: 0,
      });
    }
    const puts: string[] = [];
    const putter: BlockPutter = {
      put: (target) => {
        puts.push(target.executorId);
        // e1 stores it, but the scheduler declares e1 lost before the puts complete.
        if (target.executorId === 'e1') directory.lost('e1', 1);
        return Promise.resolve({ executorId: target.executorId, epoch: 1 });
      },
      close: () => {},
    };
    const replicator = new PlacingReplicator({ directory, putter, replication: 2, log });
    const res = await replicator.replicate({ blockId: 'b1', stream: 's', records: 1, payload: Buffer.from('x') });
    expect(puts.slice(0, 2).sort()).toEqual(['e1', 'e2']);
    expect(puts[2]).toBe('e3');
    expect(res.executorIds.sort()).toEqual(['e2', 'e3']);
  });

  it('a put in flight to an executor declared lost is abandoned at once and the block placed elsewhere', async () => {
    const clock = new ManualClock(10_050);
    const directory = new ExecutorDirectory({ clock, executorTimeoutMs: 1500 });
    for (const id of ['e1', 'e2', 'e3']) {
      directory.observe({
        executorId: id,
        epoch: 1,
        address: `${id}:1`,
        host: 'h',
        slots: 1,
        freeSlots: 1,
        runningTasks: 0,
        blockCount: 0,
        blockBytes: 0,
        blockCapacityBytes: id === 'e3' ? 1 : 1e9,
        sentAtMs: 0,
      });
    }
    const putter: BlockPutter = {
      // e1 is frozen: its put never answers (until a deadline this test never reaches).
      put: (target) => (target.executorId === 'e1' ? new Promise(() => {}) : Promise.resolve({ executorId: target.executorId, epoch: 1 })),
      close: () => {},
    };
    const replicator = new PlacingReplicator({ directory, putter, replication: 2, log });
    const pending = replicator.replicate({ blockId: 'b1', stream: 's', records: 1, payload: Buffer.from('x') });
    await flush();
    directory.lost('e1', 1);
    const res = await pending;
    expect(res.executorIds.sort()).toEqual(['e2', 'e3']);
  });

  it('announces only stored blocks, with their executors, after every block of the batch resolved', async () => {
    const { clock, ingest, replicator, announced } = setup();
    ingest.setActiveStreams(new Set(['s']));
    const sink = new RecordingSink();
    const session = ingest.open('s', sink);
    session.push(1, 1, packRecords(['a']));
    clock.advance(150); // block 1 at 10_200
    session.push(2, 2, packRecords(['b', 'c']));
    clock.advance(200); // block 2 at 10_400
    clock.advance(600); // 11_000: batch closed, but both blocks still replicating
    await flush();
    expect(announced).toEqual([]);
    const [b1, b2] = replicator.calls;
    b2!.resolve({ executorIds: ['e2', 'e3'] });
    await flush();
    expect(announced).toEqual([]);
    b1!.reject(new UnavailableError(`no executors alive to store block ${b1!.block.blockId}`));
    await flush();
    expect(announced).toEqual([
      { stream: 's', batchTimeMs: 11_000, batchIntervalMs: 1000, blocks: [{ blockId: b2!.block.blockId, records: 2, bytes: b2!.block.payload.length, executorIds: ['e2', 'e3'] }] },
    ]);
    expect(sink.nacks.map((n) => n.seq)).toEqual([1]);
    expect(sink.acks.map((a) => a.seq)).toEqual([2]);
  });

  it('announces every active stream at every boundary, empty batches included, in time order', async () => {
    const { clock, ingest, replicator, announced } = setup();
    ingest.setActiveStreams(new Set(['s', 'quiet']));
    const session = ingest.open('s', new RecordingSink());
    session.push(1, 1, packRecords(['a']));
    clock.advance(950); // 11_000
    session.push(2, 1, packRecords(['b']));
    clock.advance(1000); // 12_000
    await flush();
    // Stream 's': 11_000 is replicating, so 12_000 (also replicating) waits behind it.
    expect(announced.map((m) => `${m.stream}@${m.batchTimeMs}:${m.blocks.length}`)).toEqual(['quiet@11000:0', 'quiet@12000:0']);
    replicator.calls[1]!.resolve({ executorIds: ['e1'] }); // the later batch finishes first
    await flush();
    expect(announced.filter((m) => m.stream === 's')).toEqual([]);
    replicator.calls[0]!.resolve({ executorIds: ['e2'] });
    await flush();
    expect(announced.filter((m) => m.stream === 's').map((m) => `${m.batchTimeMs}:${m.blocks.map((b) => b.executorIds.join('+')).join()}`)).toEqual([
      '11000:e2',
      '12000:e1',
    ]);
  });

  it('GetBatchBlocks: incomplete while open or replicating, complete once announced, NOT_FOUND when forgotten', async () => {
    const { clock, ingest, replicator } = setup();
    ingest.setActiveStreams(new Set(['s']));
    const session = ingest.open('s', new RecordingSink());
    expect(ingest.getBatchBlocks('s', 11_000)).toEqual({ complete: false, blocks: [] });
    expect(ingest.getBatchBlocks('s', 15_000)).toEqual({ complete: false, blocks: [] });
    session.push(1, 1, packRecords(['a']));
    clock.advance(950);
    await flush();
    expect(ingest.getBatchBlocks('s', 11_000)).toEqual({ complete: false, blocks: [] });
    replicator.calls[0]!.resolve({ executorIds: ['e1', 'e2'] });
    await flush();
    const done = ingest.getBatchBlocks('s', 11_000);
    expect(done.complete).toBe(true);
    expect(done.blocks).toEqual([{ blockId: replicator.calls[0]!.block.blockId, records: 1, bytes: 2, executorIds: ['e1', 'e2'] }]);
    clock.advance(3000); // three more batches: retainBatches = 3 forgets 11_000
    expect(() => ingest.getBatchBlocks('s', 11_000)).toThrow(/no allocation for batch 11000/);
    expect(() => ingest.getBatchBlocks('s', 10_000)).toThrow(/no allocation/);
    expect(() => ingest.getBatchBlocks('s', 11_500)).toThrow(InvalidArgumentError);
    expect(() => ingest.getBatchBlocks('nope', 11_000)).toThrow(/no batches of stream 'nope'/);
  });

  it('refuses a non-increasing seq and a malformed payload without accepting anything', () => {
    const { ingest } = setup();
    const session = ingest.open('s', new RecordingSink());
    session.push(3, 1, packRecords(['a']));
    expect(() => session.push(3, 1, packRecords(['b']))).toThrow(/seq must increase/);
    expect(() => session.push(4, 2, packRecords(['b']))).toThrow(/holds 1 records but count says 2/);
    expect(() => session.push(5, 1, Buffer.from([0xa5, 0x61]))).toThrow(/not valid MessagePack/);
    expect(session.pending).toBe(1);
    expect(ingest.bufferedBytes).toBe(2);
  });

  it('backpressure: pauses above maxBufferedBytes and resumes once acks bring it below', async () => {
    const { clock, ingest, replicator, pressure } = setup({ maxBufferedBytes: 10 });
    const session = ingest.open('s', new RecordingSink());
    session.push(1, 1, packRecords(['abcdefgh'])); // 9 bytes
    expect(ingest.paused).toBe(false);
    session.push(2, 1, packRecords(['ab'])); // 12 bytes buffered
    expect(ingest.paused).toBe(true);
    expect(pressure).toEqual([true]);
    clock.advance(150);
    await flush();
    replicator.calls[0]!.resolve({ executorIds: ['e1'] });
    await flush();
    expect(ingest.bufferedBytes).toBe(0);
    expect(pressure).toEqual([true, false]);
  });

  it('stop() finishes the batch in progress, waits for its blocks, then refuses pushes', async () => {
    const { clock, ingest, replicator, announced } = setup();
    ingest.setActiveStreams(new Set(['s']));
    const sink = new RecordingSink();
    const session = ingest.open('s', sink);
    session.push(1, 1, packRecords(['a']));
    let stopped = false;
    void ingest.stop().then(() => (stopped = true));
    expect(() => ingest.open('s', new RecordingSink())).toThrow(UnavailableError);
    session.push(2, 1, packRecords(['b'])); // still before the boundary: accepted
    clock.advance(950); // 11_000
    await flush();
    expect(stopped).toBe(false);
    expect(() => session.push(3, 1, packRecords(['c']))).toThrow(/shutting down/);
    replicator.calls.forEach((c) => c.resolve({ executorIds: ['e1'] }));
    await flush();
    expect(stopped).toBe(true);
    expect(sink.acks.map((a) => a.seq)).toEqual([1, 2]);
    expect(announced.map((m) => m.batchTimeMs)).toEqual([11_000]);
  });
});

describe('PlacingReplicator', () => {
  function cluster(alive: string[]) {
    const clock = new ManualClock(1_000);
    const directory = new ExecutorDirectory({ clock, executorTimeoutMs: 1500 });
    for (const id of alive) {
      directory.observe({ executorId: id, epoch: 1, address: `${id}:1`, host: 'h', slots: 1, freeSlots: 1, runningTasks: 0, blockCount: 0, blockBytes: 0, blockCapacityBytes: 0, sentAtMs: 0 });
    }
    return directory;
  }
  const block: BlockToStore = { blockId: 'b1', stream: 's', records: 1, payload: packRecords(['x']) };

  it('replaces a failed put with another alive executor', async () => {
    const directory = cluster(['e1', 'e2', 'e3']);
    const tried: string[] = [];
    const putter: BlockPutter = {
      put: (t: ExecutorInfo) => {
        tried.push(t.executorId);
        if (t.executorId === 'e1') return Promise.reject(new UnavailableError('connection refused'));
        return Promise.resolve({ executorId: t.executorId, epoch: 1 });
      },
      close: () => {},
    };
    const r = await new PlacingReplicator({ directory, putter, replication: 2, log }).replicate(block);
    expect(r.executorIds.sort()).toEqual(['e2', 'e3']);
    expect(tried).toContain('e1');
    expect(new Set(tried).size).toBe(tried.length); // never the same executor twice
  });

  it('stores on what exists when fewer than `replication` are alive', async () => {
    const directory = cluster(['e1']);
    const putter: BlockPutter = { put: (t) => Promise.resolve({ executorId: t.executorId, epoch: 1 }), close: () => {} };
    const r = await new PlacingReplicator({ directory, putter, replication: 2, log }).replicate(block);
    expect(r.executorIds).toEqual(['e1']);
  });

  it('fails with UnavailableError naming the block when every put fails', async () => {
    const directory = cluster(['e1', 'e2']);
    const putter: BlockPutter = { put: async () => Promise.reject(new UnavailableError('down')), close: () => {} };
    await expect(new PlacingReplicator({ directory, putter, replication: 2, log }).replicate(block)).rejects.toThrow(
      /^no executors alive to store block b1: PutBlock failed on e\d \(down\), e\d \(down\)$/,
    );
  });
});
