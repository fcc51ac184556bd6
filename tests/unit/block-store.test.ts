import { describe, expect, it } from 'vitest';
import { ResourceExhaustedError } from '../../lib/errors.js';
import { BlockStore } from '../../services/executor/block-store.js';

const buf = (n: number, fill = 1) => Buffer.alloc(n, fill);

describe('BlockStore', () => {
  it('enforces its bound with a ResourceExhaustedError naming the bound and the use', () => {
    const store = new BlockStore(1000);
    store.put({ id: 'a', kind: 'input', count: 1, payload: buf(600) });
    let err: unknown;
    try {
      store.put({ id: 'b', kind: 'input', count: 1, payload: buf(500) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect((err as Error).message).toMatch(/block b needs 500 bytes but 600 of the 1000-byte bound \(blockStoreBytes\)/);
    // Nothing was evicted or half-stored.
    expect(store.has('a')).toBe(true);
    expect(store.has('b')).toBe(false);
    expect(store.stats()).toMatchObject({ count: 1, bytes: 600 });
    // Exactly at the bound fits.
    store.put({ id: 'c', kind: 'shuffle', count: 1, payload: buf(400) });
    expect(store.stats().bytes).toBe(1000);
  });

  it('is idempotent by id', () => {
    const store = new BlockStore(1000);
    const first = store.put({ id: 'a', kind: 'input', count: 2, payload: buf(600, 1) });
    // A retried put of a block already here neither fails on the bound nor replaces it.
    const again = store.put({ id: 'a', kind: 'input', count: 2, payload: buf(600, 2) });
    expect(again).toBe(first);
    expect(store.get('a')!.payload[0]).toBe(1);
    expect(store.stats()).toMatchObject({ count: 1, bytes: 600 });
  });

  it('stores a set of buckets all or nothing', () => {
    const store = new BlockStore(1000);
    expect(() =>
      store.putAll([
        { id: 's/0', kind: 'shuffle', count: 1, payload: buf(600) },
        { id: 's/1', kind: 'shuffle', count: 1, payload: buf(600) },
      ]),
    ).toThrow(ResourceExhaustedError);
    expect(store.stats().count).toBe(0);
  });

  it('drops by id and by prefix and reports what it freed', () => {
    const store = new BlockStore(10_000);
    store.put({ id: 'in/1', kind: 'input', count: 1, payload: buf(10) });
    store.put({ id: 'in/2', kind: 'input', count: 1, payload: buf(20) });
    store.putAll([
      { id: 'shuffle/s1/0/0', kind: 'shuffle', count: 1, payload: buf(30) },
      { id: 'shuffle/s1/0/1', kind: 'shuffle', count: 1, payload: buf(40) },
      { id: 'shuffle/s10/0/0', kind: 'shuffle', count: 1, payload: buf(50) },
    ]);
    expect(store.drop(['in/1', 'unknown'])).toEqual({ dropped: 1, bytesFreed: 10 });
    expect(store.drop([], ['shuffle/s1/'])).toEqual({ dropped: 2, bytesFreed: 70 });
    expect(store.has('shuffle/s10/0/0')).toBe(true);
    // An empty prefix must not mean "everything".
    expect(store.drop([], [''])).toEqual({ dropped: 0, bytesFreed: 0 });
    expect(store.stats()).toEqual({ count: 2, bytes: 70, capacityBytes: 10_000, pinnedBytes: 70 });
  });

  it('evicts evictable (cached) blocks LRU-first before refusing, never pinned ones', () => {
    const store = new BlockStore(1000);
    store.put({ id: 'pinned', kind: 'input', count: 1, payload: buf(400) });
    store.put({ id: 'c1', kind: 'cached', count: 1, payload: buf(250) });
    store.put({ id: 'c2', kind: 'cached', count: 1, payload: buf(250) });
    store.get('c1'); // c2 is now least recently used
    store.put({ id: 'new', kind: 'input', count: 1, payload: buf(300) });
    expect(store.has('c2')).toBe(false);
    expect(store.has('c1')).toBe(true);
    expect(store.has('pinned')).toBe(true);
    expect(() => store.put({ id: 'big', kind: 'input', count: 1, payload: buf(400) })).toThrow(ResourceExhaustedError);
    expect(store.has('c1')).toBe(true); // refused before evicting anything
  });

  it('a pushed shuffle copy is evictable, and pinned once this executor writes the same bucket as its own output', () => {
    const store = new BlockStore(1000);
    store.put({ id: 'shuffle/s/0/1', kind: 'shuffle', count: 1, payload: buf(300), pinned: false });
    expect(store.stats().pinnedBytes).toBe(0);
    // Input blocks always get room: the pushed copy goes.
    store.put({ id: 'in/a', kind: 'input', count: 1, payload: buf(800) });
    expect(store.has('shuffle/s/0/1')).toBe(false);
    store.drop(['in/a'], []);
    // Pushed, then written by a map task here (a re-run): now it is this executor's map output.
    store.put({ id: 'shuffle/s/0/2', kind: 'shuffle', count: 1, payload: buf(300), pinned: false });
    store.putAll([{ id: 'shuffle/s/0/2', kind: 'shuffle', count: 1, payload: buf(300) }]);
    expect(store.stats().pinnedBytes).toBe(300);
    expect(() => store.put({ id: 'in/b', kind: 'input', count: 1, payload: buf(800) })).toThrow(ResourceExhaustedError);
    expect(store.has('shuffle/s/0/2')).toBe(true);
  });
});
