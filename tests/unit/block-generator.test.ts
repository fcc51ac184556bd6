import { describe, expect, it } from 'vitest';
import { ManualClock, type Clock, type TimerHandle } from '../../lib/clock.js';
import { packRecords, unpackRecords } from '../../lib/codec/records.js';
import { BlockGenerator, type SealedBlock } from '../../services/receiver/block-generator.js';

type Event = { kind: 'block'; block: SealedBlock<string> } | { kind: 'closed'; batchTimeMs: number };

function setup(opts: { start: number; maxBlockBytes?: number; clock?: Clock; minBatchTimeMs?: number }) {
  const clock = opts.clock ?? new ManualClock(opts.start);
  const events: Event[] = [];
  let n = 0;
  const gen = new BlockGenerator<string>(
    {
      stream: 's',
      blockIntervalMs: 200,
      batchIntervalMs: 1000,
      maxBlockBytes: opts.maxBlockBytes ?? 1 << 20,
      clock,
      newBlockId: (t) => `b${++n}@${t}`,
      minBatchTimeMs: opts.minBatchTimeMs,
    },
    {
      onBlock: (block) => events.push({ kind: 'block', block }),
      onBatchClosed: (batchTimeMs) => events.push({ kind: 'closed', batchTimeMs }),
    },
  );
  gen.start();
  const blocks = () => events.filter((e): e is Extract<Event, { kind: 'block' }> => e.kind === 'block').map((e) => e.block);
  const closed = () => events.filter((e): e is Extract<Event, { kind: 'closed' }> => e.kind === 'closed').map((e) => e.batchTimeMs);
  return { clock: clock as ManualClock, gen, events, blocks, closed };
}

const buf = (s: string) => Buffer.from(s);

/** A clock whose timers never fire: stands in for an event loop that runs timers late. */
class StuckClock implements Clock {
  constructor(public time: number) {}
  now() {
    return this.time;
  }
  setTimeout(): TimerHandle {
    return { id: 0 };
  }
  clearTimeout(): void {}
}

describe('BlockGenerator', () => {
  it('cuts one block per block interval, aligned to multiples of the interval, and none when idle', () => {
    const { clock, gen, blocks } = setup({ start: 10_050 });
    gen.add(buf('a'), 1, 'p1');
    clock.advance(149); // 10_199: the first tick (10_200) has not come
    expect(blocks()).toHaveLength(0);
    clock.advance(1); // 10_200
    expect(blocks()).toHaveLength(1);
    expect(blocks()[0]).toMatchObject({ sealedAtMs: 10_200, batchTimeMs: 11_000, records: 1, bytes: 1, pushes: ['p1'] });
    clock.advance(400); // idle ticks at 10_400, 10_600 produce nothing
    expect(blocks()).toHaveLength(1);
    gen.add(buf('b'), 1, 'p2');
    clock.advance(200); // 10_800
    expect(blocks().map((b) => b.sealedAtMs)).toEqual([10_200, 10_800]);
  });

  it('assigns a block sealed exactly at T to batch T, then closes T before any block of the next batch', () => {
    const { clock, gen, events } = setup({ start: 10_050 });
    clock.advance(850); // 10_900
    gen.add(buf('x'), 1, 'late-in-T');
    clock.advance(100); // 11_000 = T
    gen.add(buf('y'), 1, 'at-T-after-tick'); // arrives at T, after T's tick: next batch
    clock.advance(200); // 11_200
    const summary = events.map((e) => (e.kind === 'block' ? `block ${e.block.pushes.join()}@${e.block.batchTimeMs}` : `closed ${e.batchTimeMs}`));
    expect(summary).toEqual(['block late-in-T@11000', 'closed 11000', 'block at-T-after-tick@12000']);
  });

  it('closes every batch boundary from the first one after start, even without data', () => {
    const { clock, closed, blocks } = setup({ start: 10_000 });
    clock.advance(3000);
    // Started exactly at 10_000: batch 10_000 belongs to whoever ran before.
    expect(closed()).toEqual([11_000, 12_000, 13_000]);
    expect(blocks()).toHaveLength(0);
  });

  it('never assigns or closes a batch before minBatchTimeMs', () => {
    const { clock, gen, closed, blocks } = setup({ start: 10_100, minBatchTimeMs: 12_000 });
    gen.add(buf('a'), 1, 'p');
    clock.advance(2_900); // to 13_000
    expect(blocks()[0]!.batchTimeMs).toBe(12_000);
    expect(closed()).toEqual([12_000, 13_000]);
  });

  it('seals early at maxBlockBytes without ever splitting a push', () => {
    const { clock, gen, blocks } = setup({ start: 10_050, maxBlockBytes: 10 });
    gen.add(buf('aaaa'), 1, 'p1');
    gen.add(buf('bbbb'), 1, 'p2');
    expect(blocks()).toHaveLength(0);
    gen.add(buf('cccc'), 1, 'p3'); // 8 + 4 > 10: the first two go out first
    expect(blocks().map((b) => b.pushes)).toEqual([['p1', 'p2']]);
    gen.add(buf('dddddddddddd'), 1, 'big'); // 4 + 12 > 10 → seal p3; then 12 ≥ 10 → its own block
    expect(blocks().map((b) => b.pushes)).toEqual([['p1', 'p2'], ['p3'], ['big']]);
    expect(blocks().map((b) => b.bytes)).toEqual([8, 4, 12]);
    expect(blocks().every((b) => b.batchTimeMs === 11_000 && b.sealedAtMs === 10_050)).toBe(true);
    clock.advance(150);
    expect(blocks()).toHaveLength(3); // nothing left to seal at the tick
  });

  it('an early seal exactly at an already-closed boundary goes to the next batch', () => {
    const { clock, gen, blocks, closed } = setup({ start: 10_050, maxBlockBytes: 4 });
    clock.advance(950); // 11_000: tick processed, batch 11_000 closed
    expect(closed()).toEqual([11_000]);
    gen.add(buf('abcd'), 1, 'p'); // sealed at once, at 11_000
    expect(blocks()[0]).toMatchObject({ sealedAtMs: 11_000, batchTimeMs: 12_000 });
  });

  it('block payload is the concatenation of the pushed payloads, in push order', () => {
    const { clock, gen, blocks } = setup({ start: 10_050 });
    const p1 = packRecords([{ w: 'to' }, 1]);
    const p2 = packRecords(['be', [2, 3]]);
    const p3 = packRecords([null]);
    gen.add(p1, 2, 'p1');
    gen.add(p2, 2, 'p2');
    gen.add(p3, 1, 'p3');
    clock.advance(150);
    const [block] = blocks();
    expect(block!.payload.equals(Buffer.concat([p1, p2, p3]))).toBe(true);
    expect(block!.records).toBe(5);
    expect(unpackRecords(block!.payload)).toEqual([{ w: 'to' }, 1, 'be', [2, 3], null]);
  });

  it('keeps blocks and batches in order and block ids unique across many intervals', () => {
    const { clock, gen, events } = setup({ start: 10_050, maxBlockBytes: 3 });
    for (let i = 0; i < 60; i++) {
      gen.add(buf('ab'), 1, `p${i}`);
      clock.advance(70);
    }
    let lastBatch = 0;
    let lastClosed = 0;
    const ids = new Set<string>();
    const pushes: string[] = [];
    for (const e of events) {
      if (e.kind === 'block') {
        expect(e.block.batchTimeMs).toBeGreaterThanOrEqual(lastBatch);
        expect(e.block.batchTimeMs).toBeGreaterThan(lastClosed);
        lastBatch = e.block.batchTimeMs;
        ids.add(e.block.blockId);
        pushes.push(...e.block.pushes);
      } else {
        expect(e.batchTimeMs).toBeGreaterThan(lastClosed);
        lastClosed = e.batchTimeMs;
      }
    }
    expect(ids.size).toBe(events.filter((e) => e.kind === 'block').length);
    // Every push exactly once, in order (the last ones may still be buffered).
    expect(pushes).toEqual(Array.from({ length: pushes.length }, (_, i) => `p${i}`));
    expect(pushes.length + gen.buffered.pushes).toBe(60);
  });

  it('processes overdue ticks before buffering, so a late timer never moves records into a closed batch', () => {
    const clock = new StuckClock(10_050);
    const { gen, events } = setup({ start: 10_050, clock });
    gen.add(buf('a'), 1, 'before-T');
    clock.time = 11_100; // the timers for 10_200…11_000 "did not fire"
    gen.add(buf('b'), 1, 'after-T');
    const summary = events.map((e) => (e.kind === 'block' ? `block ${e.block.pushes.join()}@${e.block.batchTimeMs} sealed ${e.block.sealedAtMs}` : `closed ${e.batchTimeMs}`));
    // 'before-T' was buffered before the 10_200 tick: sealed at that tick's time, in batch 11_000.
    expect(summary).toEqual(['block before-T@11000 sealed 10200', 'closed 11000']);
    expect(gen.buffered.pushes).toBe(1);
    expect(gen.openBatchTimeMs).toBe(12_000);
  });

  it('stopAtNextBoundary completes the batch in progress, then refuses pushes', () => {
    const { clock, gen, blocks, closed } = setup({ start: 10_050 });
    gen.add(buf('a'), 1, 'p1');
    gen.stopAtNextBoundary();
    clock.advance(500);
    expect(gen.add(buf('b'), 1, 'p2')).toBe(true); // still in batch 11_000
    clock.advance(450); // 11_000
    expect(closed()).toEqual([11_000]);
    expect(gen.running).toBe(false);
    expect(blocks().flatMap((b) => b.pushes)).toEqual(['p1', 'p2']);
    expect(gen.add(buf('c'), 1, 'p3')).toBe(false);
    clock.advance(5000);
    expect(closed()).toEqual([11_000]);
  });

  it('rejects a batch interval that is not a multiple of the block interval', () => {
    expect(
      () =>
        new BlockGenerator(
          { stream: 's', blockIntervalMs: 300, batchIntervalMs: 1000, maxBlockBytes: 10, clock: new ManualClock(), newBlockId: () => 'x' },
          { onBlock: () => {}, onBatchClosed: () => {} },
        ),
    ).toThrow(/multiple of blockInterval/);
  });
});
