/**
 * The scheduler's receiver tracker (services/scheduler/receiver-tracker.ts):
 * when a batch's input is complete with several receivers, and what the merged
 * list is. Driven by a ManualClock; messages as the receivers send them.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock.js';
import type { BatchReadyMessage, ReceiverHeartbeatMessage } from '../../../lib/nats/subjects.js';
import { ReceiverTracker } from '../../../services/scheduler/receiver-tracker.js';

const log = pino({ level: 'silent' });
const INTERVAL = 500;

function setup(opts: { warmAtMs?: number } = {}) {
  const clock = new ManualClock(10_000);
  const tracker = new ReceiverTracker({ clock, batchIntervalMs: INTERVAL, receiverTimeoutMs: 1000, warmAtMs: opts.warmAtMs ?? 0, log });
  return { clock, tracker };
}

const hb = (receiverId: string, firstBatchTimeMs = 10_000, incarnation = 'a'): ReceiverHeartbeatMessage => ({
  receiverId,
  incarnation,
  address: `${receiverId}:1`,
  sentAtMs: 0,
  streams: [{ stream: 'lines', firstBatchTimeMs, recordsPerSecond: 0 }],
});

const share = (receiverId: string | undefined, t: number, ...blockIds: string[]): BatchReadyMessage => ({
  stream: 'lines',
  batchTimeMs: t,
  batchIntervalMs: INTERVAL,
  blocks: blockIds.map((blockId) => ({ blockId, records: 1, bytes: 1, executorIds: ['e1'] })),
  ...(receiverId !== undefined ? { receiverId } : {}),
});

const ids = (blocks: BatchReadyMessage['blocks'] | undefined) => blocks?.map((b) => b.blockId);

describe('ReceiverTracker', () => {
  it('completes a batch once every live receiver announced its share, merged in receiver id order', () => {
    const { tracker } = setup();
    tracker.heartbeat(hb('r-b'));
    tracker.heartbeat(hb('r-a'));
    expect(tracker.share(share('r-b', 10_500, 'b1', 'b2'))).toBeUndefined();
    expect(tracker.missing('lines', 10_500)).toEqual([{ receiverId: 'r-a', address: 'r-a:1' }]);
    expect(ids(tracker.share(share('r-a', 10_500, 'a1')))).toEqual(['a1', 'b1', 'b2']);
    // Decided once: a repeat (a re-announcement, a late GetBatchBlocks answer) changes nothing.
    expect(tracker.share(share('r-a', 10_500, 'a1'))).toBeUndefined();
    expect(tracker.missing('lines', 10_500)).toEqual([]);
  });

  it('does not wait for a receiver for batches before its first one of the stream', () => {
    const { tracker } = setup();
    tracker.heartbeat(hb('r-a'));
    tracker.heartbeat(hb('r-b', 11_000));
    expect(ids(tracker.share(share('r-a', 10_500, 'a1')))).toEqual(['a1']);
    expect(tracker.share(share('r-a', 11_000, 'a2'))).toBeUndefined();
    expect(ids(tracker.share(share('r-b', 11_000)))).toEqual(['a2']);
  });

  it('a receiver that goes silent is gone after receiverTimeout: its share of a batch it may have cut is asked of a live receiver (its log), not skipped', () => {
    const { clock, tracker } = setup();
    tracker.heartbeat(hb('r-a'));
    tracker.heartbeat(hb('r-b'));
    expect(tracker.share(share('r-a', 10_500, 'a1'))).toBeUndefined();
    clock.advance(900);
    tracker.heartbeat(hb('r-a'));
    expect(tracker.expire()).toEqual([]);
    clock.advance(200);
    expect(tracker.expire()).toEqual(['r-b']);
    // Still missing: r-b was alive during the batch; a live receiver reads its write-ahead log.
    expect(tracker.reevaluate()).toEqual([]);
    expect(tracker.missing('lines', 10_500)).toEqual([{ receiverId: 'r-b', address: 'r-a:1' }]);
    expect(ids(tracker.share(share('r-b', 10_500, 'b1')))).toEqual(['a1', 'b1']);
    // A batch long after r-b went silent does not wait for it.
    clock.advance(5000);
    tracker.heartbeat(hb('r-a'));
    expect(ids(tracker.share(share('r-a', 16_000, 'a9')))).toEqual(['a9']);
  });

  it('a receiver heard again (restarted) is waited for again', () => {
    const { clock, tracker } = setup();
    tracker.heartbeat(hb('r-a'));
    tracker.heartbeat(hb('r-b'));
    clock.advance(1100);
    tracker.heartbeat(hb('r-a'));
    expect(tracker.expire()).toEqual(['r-b']);
    tracker.heartbeat(hb('r-b', 12_000, 'b'));
    clock.advance(1000);
    tracker.heartbeat(hb('r-a'));
    expect(tracker.share(share('r-a', 12_000, 'a1'))).toBeUndefined();
    expect(ids(tracker.share(share('r-b', 12_000, 'b1')))).toEqual(['a1', 'b1']);
  });

  it('completes nothing before the first heartbeat round unless told the membership is known (a standby that listened)', () => {
    const { clock, tracker } = setup({ warmAtMs: 10_375 });
    tracker.heartbeat(hb('r-a'));
    expect(tracker.share(share('r-a', 10_500, 'a1'))).toBeUndefined();
    tracker.heartbeat(hb('r-b'));
    expect(tracker.share(share('r-b', 10_500, 'b1'))).toBeUndefined();
    clock.advance(400);
    expect(tracker.reevaluate().map((c) => ids(c.blocks))).toEqual([['a1', 'b1']]);

    const standby = setup({ warmAtMs: 99_999 }).tracker;
    standby.heartbeat(hb('r-a'), undefined, true);
    expect(ids(standby.share(share('r-a', 10_500, 'a1')))).toEqual(['a1']);
  });

  it('takes a share without a receiver id (an older receiver) as the whole batch, and asks nobody when no receiver was heard', () => {
    const { tracker } = setup();
    expect(tracker.missing('lines', 10_500)).toBeUndefined();
    expect(ids(tracker.share(share(undefined, 10_500, 'x1')))).toEqual(['x1']);
  });

  it('settles a batch no receiver may hold records of (all were down, or started after it) as empty — not before membership is known', () => {
    const { clock, tracker } = setup();
    tracker.heartbeat(hb('r-a'));
    // r-a is silent through 10_500 … 12_000, judged gone, then restarts with its first batch after.
    clock.advance(3000);
    expect(tracker.expire()).toEqual(['r-a']);
    // Gone and no live receiver to read its log: batch 10_500 (it was alive then) waits.
    expect(tracker.settle('lines', 10_500)).toBeUndefined();
    tracker.heartbeat(hb('r-a', 13_500, 'b'));
    // Batch 12_500: r-a was silent long before and its new process starts after it: nobody holds anything.
    expect(tracker.settle('lines', 12_500)).toEqual([]);
    // Batch 10_500: r-a's new process says it owns nothing before 13_500 — its log held nothing of 10_500 (a restarted
    // receiver's first batch is its earliest recovered one, ingest.ts streamsSummary) — so nothing is missing.
    expect(tracker.missing('lines', 10_500)).toEqual([]);
    expect(tracker.settle('lines', 10_500)).toEqual([]);
    expect(setup({ warmAtMs: 99_999 }).tracker.settle('lines', 10_500)).toBeUndefined();
  });

  it('with probes, a silent receiver is judged gone only when its health probe fails; one that answers is still waited for', () => {
    const clock = new ManualClock(10_000);
    const probes: string[] = [];
    const tracker = new ReceiverTracker({ clock, batchIntervalMs: INTERVAL, receiverTimeoutMs: 1000, warmAtMs: 0, log, probe: (r) => probes.push(r.receiverId) });
    tracker.heartbeat(hb('r-a'));
    tracker.heartbeat(hb('r-b'));
    expect(tracker.share(share('r-a', 10_500, 'a1'))).toBeUndefined();
    clock.advance(1100);
    tracker.heartbeat(hb('r-a'));
    expect(tracker.expire()).toEqual([]);
    expect(probes).toEqual(['r-b']);
    // One probe at a time.
    expect(tracker.expire()).toEqual([]);
    expect(probes).toEqual(['r-b']);
    // It answers: busy, not dead — still waited for, and probed again only after another silent timeout.
    expect(tracker.probed('r-b', 'a', true)).toBe(false);
    expect(tracker.missing('lines', 10_500)).toEqual([{ receiverId: 'r-b', address: 'r-b:1' }]);
    clock.advance(500);
    tracker.heartbeat(hb('r-a'));
    tracker.expire();
    expect(probes).toEqual(['r-b']);
    clock.advance(600);
    tracker.heartbeat(hb('r-a'));
    tracker.expire();
    expect(probes).toEqual(['r-b', 'r-b']);
    // Now it does not answer: gone, its share asked of r-a (its log).
    expect(tracker.probed('r-b', 'a', false)).toBe(true);
    expect(tracker.missing('lines', 10_500)).toEqual([{ receiverId: 'r-b', address: 'r-a:1' }]);
    // A stale answer (another incarnation, or heard from meanwhile) judges nothing.
    expect(tracker.probed('r-b', 'a', false)).toBe(false);
  });
});
