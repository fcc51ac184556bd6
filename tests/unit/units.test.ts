import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bytes, duration, envName, flagName, int, loadConfig } from '../../lib/config/index.js';
import { parseBytes, parseDuration } from '../../lib/config/units.js';
import { forEachRecord, packRecords, unpackRecords, validatePacked } from '../../lib/codec/records.js';

describe('units', () => {
  it('parses durations', () => {
    expect(parseDuration('200ms')).toBe(200);
    expect(parseDuration('1s')).toBe(1000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration(250)).toBe(250);
    expect(() => parseDuration('fast')).toThrow(/invalid duration "fast"/);
  });
  it('parses sizes', () => {
    expect(parseBytes('4MiB')).toBe(4 * 1024 * 1024);
    expect(parseBytes('512kb')).toBe(512_000);
    expect(parseBytes('1024')).toBe(1024);
    expect(() => parseBytes('4 parsecs')).toThrow(/invalid size/);
  });
});

describe('loadConfig', () => {
  const schema = z.object({ blockInterval: duration('200ms'), maxBytes: bytes('1MiB'), slots: int(2, 1, 8) });
  it('maps option names to flags and env names', () => {
    expect(flagName('blockInterval')).toBe('--block-interval');
    expect(envName('blockInterval')).toBe('RIVULET_BLOCK_INTERVAL');
  });
  it('reads defaults, env, then flags', () => {
    expect(loadConfig(schema, [], {})).toEqual({ blockInterval: 200, maxBytes: 1024 * 1024, slots: 2 });
    expect(loadConfig(schema, [], { RIVULET_SLOTS: '4' }).slots).toBe(4);
    expect(loadConfig(schema, ['--slots', '6'], { RIVULET_SLOTS: '4' }).slots).toBe(6);
    expect(loadConfig(schema, ['--block-interval=1s'], {}).blockInterval).toBe(1000);
  });
  it('names the flag and env variable of an invalid value', () => {
    expect(() => loadConfig(schema, ['--slots', '0'], {})).toThrow(/--slots \/ RIVULET_SLOTS/);
    expect(() => loadConfig(schema, ['--block-interval', 'soon'], {})).toThrow(/invalid duration "soon"/);
    expect(() => loadConfig(schema, ['--colour', 'red'], {})).toThrow(/unknown option --colour/);
  });
});

describe('record codec', () => {
  it('round-trips packed records', () => {
    const records = ['a', 1, [2, 'b'], { k: [true, null] }, ''];
    const packed = packRecords(records);
    expect(unpackRecords(packed)).toEqual(records);
    expect(validatePacked(packed, records.length)).toBeUndefined();
  });
  it('rejects a wrong count and malformed bytes', () => {
    const packed = packRecords(['a', 'b']);
    expect(validatePacked(packed, 3)).toMatch(/holds 2 records but count says 3/);
    expect(validatePacked(Buffer.from([0xd9, 0x05, 0x61]), 1)).toMatch(/not valid MessagePack/);
    expect(validatePacked(packed.subarray(0, packed.length - 1), 2)).toBeDefined();
  });
  it('reads records one at a time with forEachRecord, in order, and counts them', () => {
    const records = ['a', 1, [2, 'b'], { k: [true, null] }, ''];
    const seen: Array<[unknown, number]> = [];
    expect(forEachRecord(packRecords(records), (r, i) => seen.push([r, i]))).toBe(5);
    expect(seen).toEqual(records.map((r, i) => [r, i]));
    expect(forEachRecord(Buffer.alloc(0), () => expect.unreachable())).toBe(0);
    expect(() => forEachRecord(Buffer.from([0xd9, 0x05, 0x61]), () => undefined)).toThrow();
  });
  it('forEachRecord stops at a throw and rethrows it untouched, primitives included', () => {
    const packed = packRecords(['a', 'b', 'c']);
    const err = new Error('user');
    const calls: unknown[] = [];
    let caught: unknown;
    try {
      forEachRecord(packed, (r) => {
        calls.push(r);
        if (r === 'b') throw err;
      });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(err);
    expect(Object.keys(err)).toEqual([]); // nothing added on the way out
    expect(calls).toEqual(['a', 'b']);
    let thrownPrimitive: unknown;
    try {
      forEachRecord(packed, () => {
        throw 'a string'; // eslint-disable-line @typescript-eslint/only-throw-error
      });
    } catch (e) {
      thrownPrimitive = e;
    }
    expect(thrownPrimitive).toBe('a string');
  });
});
