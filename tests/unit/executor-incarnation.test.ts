/** The executor's Incarnation on its own: a ManualClock, a real BlockStore, fakes for the task runner and heartbeat. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { createLogger } from '../../lib/log.js';
import { BlockStore } from '../../services/executor/block-store.js';
import { ANNOUNCE_BEATS, Incarnation } from '../../services/executor/incarnation.js';

function setup() {
  const clock = new ManualClock(5_000);
  const store = new BlockStore(1 << 20);
  store.put({ id: 'input.a', kind: 'input', count: 1, payload: Buffer.from('a') });
  store.put({ id: 'input.b', kind: 'input', count: 1, payload: Buffer.from('b') });
  store.put({ id: 'shuffle/j:1:2:x/0/0', kind: 'shuffle', count: 1, payload: Buffer.from('s') });
  store.put({ id: 'rdd/j:1:3:x/0', kind: 'cached', count: 1, payload: Buffer.from('c') });
  const killedBelow: number[] = [];
  let beats = 0;
  const inc = new Incarnation({
    executorId: 'e1',
    clock,
    store,
    killOlderThan: (epoch) => {
      killedBelow.push(epoch);
      return 2;
    },
    beat: () => beats++,
    log: createLogger('test', 'silent'),
  });
  return { clock, store, inc, killedBelow, beats: () => beats };
}

describe('Incarnation', () => {
  it('announces its input blocks on the first heartbeats after it starts', () => {
    const { inc } = setup();
    expect(inc.epoch).toBe(5_000);
    for (let i = 0; i < ANNOUNCE_BEATS; i++) expect(inc.announcement()).toEqual(['input.a', 'input.b']);
    expect(inc.announcement()).toBeUndefined();
  });

  it('declared lost: a new higher epoch, old tasks killed, derived blocks dropped, input blocks kept and announced at once', () => {
    const { inc, store, killedBelow, beats } = setup();
    while (inc.announcement()) {
      /* the start announcement runs out */
    }
    expect(inc.declaredLost(4_000, 'an older incarnation')).toBe(false);
    expect(inc.epoch).toBe(5_000);
    expect(inc.declaredLost(5_000, 'no heartbeat for 1200 ms')).toBe(true);
    expect(inc.epoch).toBe(5_001); // the clock did not move: still higher
    expect(killedBelow).toEqual([5_001]);
    expect(store.idsOf('input')).toEqual(['input.a', 'input.b']);
    expect(store.idsOf('shuffle')).toEqual([]);
    expect(store.idsOf('cached')).toEqual([]);
    expect(beats()).toBe(1);
    expect(inc.announcement()).toEqual(['input.a', 'input.b']);
    // A repeated notice for the old epoch changes nothing.
    expect(inc.declaredLost(5_000, 'again')).toBe(false);
    expect(inc.rejoins).toBe(1);
  });

  it('announces again after a NATS reconnect, keeping its epoch', () => {
    const { clock, inc, beats } = setup();
    while (inc.announcement()) {
      /* the start announcement runs out */
    }
    clock.advance(10_000);
    inc.reconnected();
    expect(inc.epoch).toBe(5_000);
    expect(beats()).toBe(1);
    expect(inc.announcement()).toEqual(['input.a', 'input.b']);
  });
});
