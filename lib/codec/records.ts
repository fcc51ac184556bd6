/**
 * The record codec: records are MessagePack values written back to back
 * ("packed"), so a push, a block, a shuffle bucket and an output batch are one
 * opaque buffer plus a count. Blocks are concatenations of pushes and are never
 * re-encoded on their way to an executor.
 *
 * Records are plain data: strings, numbers, booleans, null, arrays (tuples) and
 * plain objects. Maps, class instances and undefined are refused at push time
 * rather than silently changed.
 */
import { Packr, Unpackr } from 'msgpackr';

// No msgpackr "records"/structures extension: the bytes must mean the same on
// every process regardless of what it decoded before.
const packr = new Packr({ useRecords: false, moreTypes: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export type RecordValue = unknown;

/** Pack records into one buffer. */
export function packRecords(records: readonly unknown[]): Buffer {
  if (records.length === 0) return Buffer.alloc(0);
  const parts = new Array<Buffer>(records.length);
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const b = packr.pack(records[i]);
    parts[i] = b;
    total += b.length;
  }
  return Buffer.concat(parts, total);
}

/** Unpack every record of a packed buffer. Throws on malformed input. */
export function unpackRecords(payload: Uint8Array): unknown[] {
  if (payload.length === 0) return [];
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return unpackr.unpackMultiple(buf) as unknown[];
}

/** Pack one value (not a record run): used for internal messages (NATS payloads). */
export function packValue(value: unknown): Buffer {
  return packr.pack(value);
}

export function unpackValue<T>(payload: Uint8Array): T {
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return unpackr.unpack(buf) as T;
}

/**
 * Check that `payload` holds exactly `count` well-formed records. Returns an
 * error message, or undefined when it is valid. Used at the ingestion edge so
 * that nothing malformed is ever acknowledged.
 */
export function validatePacked(payload: Uint8Array, count: number): string | undefined {
  let decoded: unknown[];
  try {
    decoded = unpackRecords(payload);
  } catch (e) {
    return `payload is not valid MessagePack: ${(e as Error).message}`;
  }
  if (decoded.length !== count) return `payload holds ${decoded.length} records but count says ${count}`;
  return undefined;
}
