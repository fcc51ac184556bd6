/** placement.ts: locality levels, delay scheduling, exclusions. Pure: no clock needed beyond the numbers given. */
import { describe, expect, it } from 'vitest';
import { place, waitingByDesign, type PlacementExecutor } from '../../../services/scheduler/placement.js';

const e = (id: string, freeSlots: number, host = `h-${id}`, queueRoom = freeSlots): PlacementExecutor => ({ id, host, freeSlots, queueRoom });
const task = (preferred: string[], readySinceMs = 0, excluded: string[] = []) => ({ preferred, excluded: new Set(excluded), readySinceMs });

describe('placement', () => {
  it('runs PROCESS_LOCAL on a preferred executor with a free slot, the one with most free slots first', () => {
    expect(place(task(['a', 'b']), [e('a', 1), e('b', 3), e('c', 8)], 0, 30)).toEqual({ kind: 'launch', executorId: 'b', locality: 'PROCESS_LOCAL' });
  });

  it('waits up to localityWait for a busy preferred executor, then takes NODE_LOCAL, then ANY', () => {
    const alive = [e('a', 0, 'h1'), e('b', 2, 'h1'), e('c', 4, 'h2')];
    expect(place(task(['a'], 100), alive, 110, 30)).toEqual({ kind: 'wait', untilMs: 130 });
    expect(place(task(['a'], 100), alive, 129, 30)).toEqual({ kind: 'wait', untilMs: 130 });
    // The wait is over: same host as the preferred executor first...
    expect(place(task(['a'], 100), alive, 130, 30)).toEqual({ kind: 'launch', executorId: 'b', locality: 'NODE_LOCAL' });
    // ...and any executor when no executor on that host is free.
    expect(place(task(['a'], 100), [e('a', 0, 'h1'), e('c', 4, 'h2')], 130, 30)).toEqual({ kind: 'launch', executorId: 'c', locality: 'ANY' });
  });

  it('does not wait for a preferred executor that is not alive', () => {
    expect(place(task(['gone'], 100), [e('c', 1)], 101, 30)).toEqual({ kind: 'launch', executorId: 'c', locality: 'ANY' });
  });

  it('runs a task without preferences on the executor with most free slots', () => {
    expect(place(task([]), [e('a', 1), e('b', 2)], 0, 30)).toEqual({ kind: 'launch', executorId: 'b', locality: 'ANY' });
  });

  it('avoids executors the task failed on, unless every live executor is one of them', () => {
    expect(place(task([], 0, ['b']), [e('a', 1), e('b', 5)], 0, 30)).toEqual({ kind: 'launch', executorId: 'a', locality: 'ANY' });
    expect(place(task([], 0, ['a', 'b']), [e('a', 1), e('b', 5)], 0, 30)).toEqual({ kind: 'launch', executorId: 'b', locality: 'ANY' });
    // An excluded preferred executor is not waited for.
    expect(place(task(['b'], 0, ['b']), [e('a', 1), e('b', 5)], 0, 30)).toEqual({ kind: 'launch', executorId: 'a', locality: 'ANY' });
  });

  it('places nothing when no usable executor has a free slot', () => {
    expect(place(task([]), [e('a', 0), e('b', 0)], 0, 30)).toEqual({ kind: 'none' });
    expect(place(task(['a'], 0), [e('a', 0), e('b', 0)], 100, 30)).toEqual({ kind: 'none' });
  });

  it('queues a task on its busy preferred executor while it has queue room (slots × taskQueueDepth), instead of waiting or going remote', () => {
    // a: no idle slot but room for 2 more in its queue; b: idle.
    expect(place(task(['a'], 100), [e('a', 0, 'h1', 2), e('b', 4, 'h2')], 101, 30)).toEqual({ kind: 'launch', executorId: 'a', locality: 'PROCESS_LOCAL' });
    // Its queue full too: the task waits for locality as before.
    expect(place(task(['a'], 100), [e('a', 0, 'h1', 0), e('b', 4, 'h2')], 101, 30)).toEqual({ kind: 'wait', untilMs: 130 });
  });

  it("gives a task without preferences to an idle slot before anyone's queue, then to the most queue room", () => {
    expect(place(task([]), [e('a', 0, 'h', 6), e('b', 1, 'h', 1)], 0, 30)).toEqual({ kind: 'launch', executorId: 'b', locality: 'ANY' });
    expect(place(task([]), [e('a', 0, 'h', 1), e('b', 0, 'h', 3)], 0, 30)).toEqual({ kind: 'launch', executorId: 'b', locality: 'ANY' });
    expect(waitingByDesign(task([], 0), [e('a', 0, 'h', 1)], 0, 30, false)).toBe(false);
  });

  it('takes a task with an affinity (pushed shuffle input) to that executor when it has room, and elsewhere at once when it has none', () => {
    const t = { ...task([]), affinity: 'a' };
    expect(place(t, [e('a', 0, 'h', 1), e('b', 4)], 0, 30)).toEqual({ kind: 'launch', executorId: 'a', locality: 'ANY' });
    expect(place(t, [e('a', 0, 'h', 0), e('b', 4)], 0, 30)).toEqual({ kind: 'launch', executorId: 'b', locality: 'ANY' });
    expect(place({ ...t, affinity: 'gone' }, [e('b', 4)], 0, 30)).toEqual({ kind: 'launch', executorId: 'b', locality: 'ANY' });
  });

  it('chooses a slow executor last among those with room', () => {
    const slow = { ...e('s', 4), slow: true };
    expect(place(task([]), [slow, e('a', 1)], 0, 30)).toEqual({ kind: 'launch', executorId: 'a', locality: 'ANY' });
    expect(place(task([]), [slow, e('a', 0)], 0, 30)).toEqual({ kind: 'launch', executorId: 's', locality: 'ANY' });
  });

  it('tells a task waiting by design (locality, no free slot) from one that could run', () => {
    expect(waitingByDesign(task(['a'], 100), [e('a', 0), e('b', 1)], 110, 30, false)).toBe(true);
    expect(waitingByDesign(task(['a'], 100), [e('a', 0), e('b', 1)], 140, 30, false)).toBe(false);
    expect(waitingByDesign(task(['a'], 100), [e('a', 0), e('b', 1)], 140, 30, true)).toBe(true);
    expect(waitingByDesign(task([], 0), [e('a', 0)], 0, 30, false)).toBe(true);
  });
});
