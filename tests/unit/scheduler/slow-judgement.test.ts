/** executor-tracker's slowExecutors: judged again after enough new task times, not after each one, on a large cluster. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock.js';
import { tracker } from './fixtures.js';

// Every executor starts with three task times of 1 (enough to be judged); an executor's pace is the
// upper median of its last nine, so three times of 10 make it 10 and one more of 1 brings it back to 1.
function cluster(n: number) {
  const clock = new ManualClock(1_000_000);
  const ids = Array.from({ length: n }, (_, i) => `e${String(i).padStart(2, '0')}`);
  const t = tracker(clock, ids.map((id) => ({ id, slots: 4 })));
  const record = (id: string, pace: number, times = 1) => {
    for (let i = 0; i < times; i++) t.recordTaskTime(t.get(id)!, pace);
  };
  for (const id of ids) record(id, 1, 3);
  return { t, record, slow: () => [...t.slowExecutors(3)] };
}

describe('slowExecutors', () => {
  it('on 16 executors is judged again once 2 new task times came (16 / 8), and at once after a loss', () => {
    const { t, record, slow } = cluster(16);
    expect(slow()).toEqual([]);
    record('e00', 10, 3);
    expect(slow()).toEqual(['e00']);
    // One new time that would release it: the last judgement stands…
    record('e00', 1);
    expect(slow()).toEqual(['e00']);
    // …until a second came.
    record('e01', 1);
    expect(slow()).toEqual([]);
    record('e02', 10, 2);
    expect(slow()).toEqual([]);
    // The one that makes e02 slow: not judged yet…
    record('e02', 10);
    expect(slow()).toEqual([]);
    // …but an executor lost is judged again at once.
    t.markLost(t.get('e15')!, 'test');
    expect(slow()).toEqual(['e02']);
  });

  it('below 8 executors is judged again after every new task time', () => {
    const { record, slow } = cluster(4);
    record('e00', 10, 2);
    expect(slow()).toEqual([]);
    record('e00', 10);
    expect(slow()).toEqual(['e00']);
    record('e00', 1);
    expect(slow()).toEqual([]);
  });
});
