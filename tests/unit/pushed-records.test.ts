import { describe, expect, it } from 'vitest';
import { checkPushedRecords, MAX_RECORD_DEPTH, packRecords, packValue, unpackRecords } from '../../lib/codec/records.js';
import { mulberry32 as seeded } from '../helpers/seeded-random.js';

/** Plain data of every kind the client may push: numbers of every width, strings of every header size, bytes, nesting. */
function plainValue(rnd: () => number, depth: number): unknown {
  const pick = Math.floor(rnd() * (depth > 3 ? 8 : 11));
  switch (pick) {
    case 0: return null;
    case 1: return rnd() < 0.5;
    case 2: return Math.floor(rnd() * 256) - 128;
    case 3: return [0, 200, 70_000, 5_000_000_000, -40_000, -3_000_000_000][Math.floor(rnd() * 6)];
    case 4: return rnd() * 1e6 - 5e5;
    case 5: return 'w'.repeat(Math.floor(rnd() * 40)) + 'é';
    case 6: return 'x'.repeat([300, 70_000][Math.floor(rnd() * 2)]!);
    case 7: return Uint8Array.from({ length: Math.floor(rnd() * 300) }, (_, i) => i & 0xff);
    case 8: return Array.from({ length: Math.floor(rnd() * 20) }, () => plainValue(rnd, depth + 1));
    case 9: return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 20) }, (_, i) => [`k${i}`, plainValue(rnd, depth + 1)]));
    default: return [plainValue(rnd, depth + 1), plainValue(rnd, depth + 1)];
  }
}

function nestedArrays(levels: number): Buffer {
  // `levels` one-element arrays around a 1: 0x91 … 0x91 0x01.
  return Buffer.concat([Buffer.alloc(levels, 0x91), Buffer.from([0x01])]);
}

describe('packRecords', () => {
  it('gives the records packed one by one, back to back, at every array header size', () => {
    const rnd = seeded(7);
    for (const n of [1, 15, 16, 300, 65_535, 65_536, 70_000]) {
      const records = Array.from({ length: n }, (_, i) => (n > 1000 ? `r${i}` : plainValue(rnd, 0)));
      const packed = packRecords(records);
      expect(packed.equals(Buffer.concat(records.map((r) => packValue(r))))).toBe(true);
      expect(packRecords(unpackRecords(packed)).equals(packed)).toBe(true);
    }
  });
});

describe('checkPushedRecords (the receiver check of a push, without decoding)', () => {
  it('accepts plain records and counts them exactly', () => {
    const rnd = seeded(11);
    for (let run = 0; run < 200; run++) {
      const records = Array.from({ length: 1 + Math.floor(rnd() * 30) }, () => plainValue(rnd, 0));
      const packed = packRecords(records);
      expect(checkPushedRecords(packed, records.length)).toBeUndefined();
      expect(checkPushedRecords(packed, records.length + 1)).toBe(`payload holds ${records.length} records but count says ${records.length + 1}`);
    }
  });

  it('refuses every cut of a valid payload short of its end, naming the truncation or the count', () => {
    const records = ['alpha', 1234567, { k: ['x'.repeat(40), 2.5, null] }, Uint8Array.of(1, 2, 3), [true, false]];
    const packed = packRecords(records);
    for (let cut = 1; cut < packed.length; cut++) {
      expect(checkPushedRecords(packed.subarray(0, cut), records.length)).toMatch(/truncated at byte|holds \d records but count says 5/);
    }
  });

  it('refuses extension types, the unused byte and container map keys, naming the record', () => {
    expect(checkPushedRecords(Buffer.concat([packValue('a'), packValue(new Date(0))]), 2)).toMatch(/^record 1: a MessagePack extension type/);
    expect(checkPushedRecords(Buffer.from([0xc1]), 1)).toMatch(/byte 0xc1 at 0 is never used/);
    expect(checkPushedRecords(Buffer.from([0x81, 0x91, 0x01, 0x01]), 1)).toMatch(/^record 0: a map key at byte 1 is not a string or a number/);
    expect(checkPushedRecords(Buffer.from([0x81, 0xc0, 0x01]), 1)).toMatch(/a map key at byte 1/);
    expect(checkPushedRecords(Buffer.from([0x81, 0x07, 0x01]), 1)).toBeUndefined();
  });

  it(`refuses nesting deeper than ${MAX_RECORD_DEPTH} levels, as the client does`, () => {
    expect(checkPushedRecords(nestedArrays(MAX_RECORD_DEPTH), 1)).toBeUndefined();
    expect(checkPushedRecords(nestedArrays(MAX_RECORD_DEPTH + 1), 1)).toBe(`record 0: nesting deeper than ${MAX_RECORD_DEPTH} levels`);
    expect(checkPushedRecords(nestedArrays(100_000), 1)).toMatch(/nesting deeper/);
  });

  // 64-bit integers (which msgpackr never writes for a JS number) decode as BigInt, as they always have.
  it('never accepts what the decoder cannot turn into exactly that many plain records (every byte, then mutated payloads)', () => {
    const agrees = (payload: Buffer, count: number): void => {
      if (checkPushedRecords(payload, count) !== undefined) return;
      const decoded = unpackRecords(payload);
      expect(decoded).toHaveLength(count);
      const plain = (v: unknown): boolean =>
        v === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof v) || v instanceof Uint8Array ||
        (Array.isArray(v) ? v.every(plain) : typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && Object.values(v as object).every(plain));
      expect(decoded.every(plain)).toBe(true);
    };
    for (let b = 0; b < 256; b++) agrees(Buffer.from([b, 0, 0, 0, 0, 0, 0, 0, 0]).subarray(0, b >= 0xc0 ? 9 : 1), 1);
    const rnd = seeded(23);
    let accepted = 0;
    for (let run = 0; run < 3000; run++) {
      const records = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => plainValue(rnd, 2));
      const packed = Buffer.from(packRecords(records));
      for (let flips = 1 + Math.floor(rnd() * 3); flips > 0; flips--) packed[Math.floor(rnd() * packed.length)] = Math.floor(rnd() * 256);
      if (checkPushedRecords(packed, records.length) === undefined) accepted++;
      agrees(packed, records.length);
    }
    expect(accepted).toBeGreaterThan(100); // the property was exercised on accepted payloads, not only refusals
  });
});
