import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import type { HeartbeatMessage } from '../../lib/nats/subjects.js';
import { ExecutorDirectory } from '../../services/receiver/executor-directory.js';

function hb(executorId: string, over: Partial<HeartbeatMessage> = {}): HeartbeatMessage {
  return {
    executorId,
    epoch: 1,
    address: `127.0.0.1:${7000 + Number(executorId.replace(/\D/g, '') || 0)}`,
    host: 'h',
    slots: 2,
    freeSlots: 2,
    runningTasks: 0,
    blockCount: 0,
    blockBytes: 0,
    blockCapacityBytes: 1_000_000,
    sentAtMs: 0,
    ...over,
  };
}

function setup(timeout = 1500) {
  const clock = new ManualClock(100_000);
  const dir = new ExecutorDirectory({ clock, executorTimeoutMs: timeout });
  return { clock, dir };
}

const ids = (xs: { executorId: string }[]) => xs.map((x) => x.executorId);

describe('ExecutorDirectory', () => {
  it('an executor is alive until executorTimeout passes without a heartbeat', () => {
    const { clock, dir } = setup();
    expect(dir.observe(hb('e1'))).toBe('new');
    expect(dir.observe(hb('e2'))).toBe('new');
    clock.advance(1000);
    expect(dir.observe(hb('e2'))).toBe('updated');
    clock.advance(499); // e1 last seen 1499 ms ago
    expect(ids(dir.alive())).toEqual(['e1', 'e2']);
    clock.advance(1); // 1500 ms: expired
    expect(ids(dir.alive())).toEqual(['e2']);
    expect(dir.isAlive('e1')).toBe(false);
    expect(ids(dir.choose({ count: 2, bytes: 1 }))).toEqual(['e2']);
    dir.observe(hb('e1'));
    expect(ids(dir.alive())).toEqual(['e1', 'e2']);
  });

  it('a heartbeat with a new epoch replaces the old incarnation; an older epoch is ignored', () => {
    const { dir } = setup();
    dir.observe(hb('e1', { epoch: 5, address: 'old:1' }));
    expect(dir.observe(hb('e1', { epoch: 6, address: 'new:2' }))).toBe('replaced');
    expect(dir.alive()).toHaveLength(1);
    expect(dir.alive()[0]).toMatchObject({ epoch: 6, address: 'new:2' });
    expect(dir.observe(hb('e1', { epoch: 5, address: 'old:1' }))).toBe('stale');
    expect(dir.alive()[0]).toMatchObject({ epoch: 6, address: 'new:2' });
  });

  it('executor.lost removes that incarnation but not a newer one', () => {
    const { dir } = setup();
    dir.observe(hb('e1', { epoch: 7 }));
    dir.lost('e1', 6);
    expect(ids(dir.alive())).toEqual(['e1']);
    dir.lost('e1', 7);
    expect(dir.alive()).toEqual([]);
  });

  it('follows executor.lost as a fence: later heartbeats of that incarnation do not bring it back; its next incarnation does', () => {
    const { dir } = setup();
    dir.observe(hb('e1', { epoch: 7 }));
    dir.observe(hb('e2', { epoch: 3 }));
    dir.lost('e1', 7);
    // A paused executor resumes and beats before it learns it was declared lost.
    expect(dir.observe(hb('e1', { epoch: 7 }))).toBe('stale');
    expect(ids(dir.alive())).toEqual(['e2']);
    expect(ids(dir.choose({ count: 2, bytes: 1 }))).toEqual(['e2']);
    expect(dir.isFenced('e1', 7)).toBe(true);
    expect(dir.isFenced('e1', 8)).toBe(false);
    expect(dir.isFenced('e2', 3)).toBe(false);
    // It rejoins with a new epoch.
    expect(dir.observe(hb('e1', { epoch: 8 }))).toBe('new');
    expect(ids(dir.alive())).toEqual(['e1', 'e2']);
  });

  it('placement picks distinct executors and spreads equal blocks evenly', () => {
    const { dir } = setup();
    for (const id of ['e1', 'e2', 'e3']) dir.observe(hb(id));
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const chosen = ids(dir.choose({ count: 2, bytes: 1000 }));
      expect(chosen).toHaveLength(2);
      expect(new Set(chosen).size).toBe(2);
      for (const id of chosen) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual([20, 20, 20]);
  });

  it('prefers the executor with the most free block-store capacity', () => {
    const { dir } = setup();
    dir.observe(hb('e1', { blockBytes: 900_000 }));
    dir.observe(hb('e2', { blockBytes: 100_000 }));
    dir.observe(hb('e3', { blockBytes: 500_000 }));
    expect(ids(dir.choose({ count: 2, bytes: 10 }))).toEqual(['e2', 'e3']);
    // What we place counts until the next heartbeat: 450 kB more on e2 makes e3 the roomiest.
    dir.choose({ count: 1, bytes: 450_000 });
    expect(ids(dir.choose({ count: 1, bytes: 10 }))).toEqual(['e3']);
    // A heartbeat resets the estimate to what the executor reports.
    dir.observe(hb('e2', { blockBytes: 0 }));
    expect(ids(dir.choose({ count: 1, bytes: 10 }))).toEqual(['e2']);
  });

  it('returns fewer than asked when fewer are alive, none when none are, and honours exclude', () => {
    const { dir } = setup();
    expect(dir.choose({ count: 2, bytes: 1 })).toEqual([]);
    dir.observe(hb('e1'));
    dir.observe(hb('e2'));
    expect(ids(dir.choose({ count: 3, bytes: 1 })).sort()).toEqual(['e1', 'e2']);
    expect(ids(dir.choose({ count: 2, bytes: 1, exclude: new Set(['e1']) }))).toEqual(['e2']);
    expect(dir.choose({ count: 2, bytes: 1, exclude: new Set(['e1', 'e2']) })).toEqual([]);
  });

  it('avoids an executor a PutBlock just failed on, unless nothing else is alive', () => {
    const { clock, dir } = setup();
    dir.observe(hb('e1', { blockBytes: 0 }));
    dir.observe(hb('e2', { blockBytes: 500_000 }));
    dir.markFailed('e1', 1);
    expect(ids(dir.choose({ count: 1, bytes: 1 }))).toEqual(['e2']);
    expect(ids(dir.choose({ count: 2, bytes: 1 }))).toEqual(['e2', 'e1']);
    clock.advance(1000);
    dir.observe(hb('e1', { blockBytes: 0 }));
    dir.observe(hb('e2', { blockBytes: 500_000 }));
    clock.advance(600); // suspicion (executorTimeout) over
    dir.observe(hb('e1', { blockBytes: 0 }));
    dir.observe(hb('e2', { blockBytes: 500_000 }));
    expect(ids(dir.choose({ count: 1, bytes: 1 }))).toEqual(['e1']);
  });
});
