/**
 * A JetStream stream read as Spark's Kafka *direct* stream: no receiver in the
 * path. At each batch time the scheduler decides, per subject filter, the
 * range of stream sequences the batch reads — from just after the previous
 * batch's range to the stream's last sequence, at most
 * `maxMessagesPerBatch` sequences — journals it before the batch runs, and
 * cuts it into slices of `messagesPerSlice`, one task each. Executors read
 * their slice straight from the stream. Everything here is pure: options,
 * range decisions, slicing, the slice frame executors hand to task workers,
 * and decoding.
 *
 * The direct-source shape (what another log, e.g. Kafka, would implement):
 *   1. a *position* per partition of the log (here: per subject filter, the
 *      next stream sequence), journaled with the job (job-journal.ts);
 *   2. `decideRange(position, head)` → an inclusive range, capped per batch,
 *      decided on the scheduler's loop in batch order and journaled before the
 *      batch is queued (a restarted scheduler re-runs a journaled batch with
 *      the same range and decides new ones after the last journaled end);
 *   3. `sliceRange(range)` → task inputs (InputBlock with a `jetStream` slice:
 *      a Kafka source would add a `kafka` slice of (topic, partition, from, to));
 *   4. an executor-side reader of one slice (services/executor/jetstream-reader.ts)
 *      that returns the slice frame below; decoding and dead letters are shared.
 * Kafka's partitions map to subject filters, its offsets to stream sequences.
 *
 * Must never: read the stream (that is the scheduler's and the executors'
 * business), or decide anything from the clock.
 */
import { Packr, Unpackr } from 'msgpackr';

export type JetStreamDecode = 'json' | 'msgpack' | 'lines' | 'bytes';
export type JetStreamStartAt = 'first' | 'new' | { seq: number };
export type JetStreamOnPurged = 'fail' | 'skip';

/** `ctx.jetStream(name, options)`. */
export interface JetStreamSourceOptions {
  /** The JetStream stream to read (it must exist; executors need NATS permission to read it). */
  stream: string;
  /**
   * Subject filters, each read as its own sequence of ranges (Kafka's
   * partitions). Filters must not overlap (a message matching two would be
   * read twice). @default every subject of the stream, as one filter
   */
  subjects?: string[];
  /**
   * Where a new job starts: `'first'` (the stream's first message), `'new'`
   * (after its last message when the job starts: Spark's `largest`), or
   * `{ seq }`. A resumed job always continues after its last journaled range.
   * @default 'first'
   */
  startAt?: JetStreamStartAt;
  /** How a message's data becomes a record. @default 'lines' (UTF-8 text, one record per message) */
  decode?: JetStreamDecode;
  /**
   * Most stream sequences one batch reads per subject filter (Spark's
   * maxRatePerPartition × batch interval). @default 100000
   */
  maxMessagesPerBatch?: number;
  /** Stream sequences per task: a batch's range is cut into slices of this size. @default 10000 */
  messagesPerSlice?: number;
  /**
   * Messages of a range the stream no longer holds (its retention removed
   * them before they were read): `'fail'` fails the job with a message saying
   * so (as Spark's Kafka source: data loss is an error unless asked
   * otherwise), `'skip'` reads what is left and logs the gap. @default 'fail'
   */
  onPurged?: JetStreamOnPurged;
}

/** The compiled options, as the job graph carries them (plain data: they cross worker boundaries). */
export interface JetStreamSourceSpec {
  stream: string;
  /** '' = every subject. */
  subjects: string[];
  startAt: JetStreamStartAt;
  decode: JetStreamDecode;
  maxMessagesPerBatch: number;
  messagesPerSlice: number;
  onPurged: JetStreamOnPurged;
}

export const JETSTREAM_DEFAULTS = { maxMessagesPerBatch: 100_000, messagesPerSlice: 10_000 } as const;
const MAX_FILTERS = 64;

/** A JetStream stream name: no spaces, dots, wildcards or path separators (as nats-server allows). */
const STREAM_NAME = /^[A-Za-z0-9_-]{1,128}$/;

export class JetStreamOptionsError extends Error {
  override name = 'JetStreamOptionsError';
}

/** Check and default `ctx.jetStream` options; throws JetStreamOptionsError naming the option. */
export function compileJetStreamOptions(source: string, o: JetStreamSourceOptions): JetStreamSourceSpec {
  const bad = (what: string) => new JetStreamOptionsError(`jetStream(${JSON.stringify(source)}): ${what}`);
  if (typeof o !== 'object' || o === null) throw bad('options must be an object with at least { stream }');
  if (typeof o.stream !== 'string' || !STREAM_NAME.test(o.stream)) {
    throw bad(`stream must be a JetStream stream name (1-128 letters, digits, _ or -), got ${JSON.stringify(o.stream)}`);
  }
  const subjects = o.subjects ?? [''];
  if (!Array.isArray(subjects) || subjects.length === 0 || subjects.length > MAX_FILTERS) {
    throw bad(`subjects must be a list of 1-${MAX_FILTERS} subject filters, got ${JSON.stringify(o.subjects)}`);
  }
  for (const s of subjects) if (typeof s !== 'string' || (s !== '' && !validSubject(s))) throw bad(`subjects: ${JSON.stringify(s)} is not a subject filter`);
  if (new Set(subjects).size !== subjects.length) throw bad(`subjects lists a filter twice: ${JSON.stringify(subjects)}`);
  for (let i = 0; i < subjects.length; i++) {
    for (let j = i + 1; j < subjects.length; j++) {
      if (subjects[i] === '' || subjects[j] === '' || subjectsOverlap(subjects[i]!, subjects[j]!)) {
        throw bad(`subjects ${JSON.stringify(subjects[i])} and ${JSON.stringify(subjects[j])} overlap: a message matching both would be read twice`);
      }
    }
  }
  const startAt = o.startAt ?? 'first';
  if (!(startAt === 'first' || startAt === 'new' || (typeof startAt === 'object' && startAt !== null && Number.isSafeInteger(startAt.seq) && startAt.seq >= 1))) {
    throw bad(`startAt must be 'first', 'new' or { seq: n } with n >= 1, got ${JSON.stringify(startAt)}`);
  }
  const decode = o.decode ?? 'lines';
  if (!['json', 'msgpack', 'lines', 'bytes'].includes(decode)) throw bad(`decode must be 'json', 'msgpack', 'lines' or 'bytes', got ${JSON.stringify(decode)}`);
  const count = (name: string, v: number | undefined, d: number) => {
    const n = v ?? d;
    if (!Number.isSafeInteger(n) || n < 1 || n > 100_000_000) throw bad(`${name} must be an integer between 1 and 100000000, got ${JSON.stringify(v)}`);
    return n;
  };
  const onPurged = o.onPurged ?? 'fail';
  if (onPurged !== 'fail' && onPurged !== 'skip') throw bad(`onPurged must be 'fail' or 'skip', got ${JSON.stringify(onPurged)}`);
  return {
    stream: o.stream,
    subjects: [...subjects],
    startAt: typeof startAt === 'object' ? { seq: startAt.seq } : startAt,
    decode,
    maxMessagesPerBatch: count('maxMessagesPerBatch', o.maxMessagesPerBatch, JETSTREAM_DEFAULTS.maxMessagesPerBatch),
    messagesPerSlice: count('messagesPerSlice', o.messagesPerSlice, JETSTREAM_DEFAULTS.messagesPerSlice),
    onPurged,
  };
}

function validSubject(s: string): boolean {
  const tokens = s.split('.');
  return tokens.every((t, i) => t.length > 0 && (t === '*' || (t === '>' && i === tokens.length - 1) || !/[\s*>]/.test(t)));
}

/** Whether some subject matches both filters (NATS wildcards: `*` one token, a final `>` one or more). */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    if (p === '>' || q === '>') return (p === '>' ? y.length : x.length) > i;
    if (p === undefined || q === undefined) return p === q;
    if (p !== '*' && q !== '*' && p !== q) return false;
  }
}

/** The stream's state as the scheduler saw it at batch time (STREAM.INFO). */
export interface StreamHead {
  /** First sequence the stream still holds (0 when it is empty and never held anything). */
  firstSeq: number;
  /** Last sequence ever stored (0 when nothing ever was). */
  lastSeq: number;
}

/** One filter's range of a batch: inclusive, empty when `last < first`. */
export interface SeqRange {
  first: number;
  last: number;
}

export type RangeDecision =
  | { kind: 'range'; range: SeqRange; skipped?: SeqRange }
  | { kind: 'purged'; missing: SeqRange };

/** The first position of a new job (no journaled range yet). */
export function startPosition(startAt: JetStreamStartAt, head: StreamHead): number {
  if (startAt === 'new') return head.lastSeq + 1;
  if (startAt === 'first') return Math.max(1, head.firstSeq);
  return startAt.seq;
}

/**
 * The range of the next batch for a filter at position `next` (the first
 * sequence no earlier batch read): up to the stream's last sequence, at most
 * `max` sequences. Sequences below the stream's first are gone: with 'fail'
 * the decision says so, with 'skip' the range starts at the first one left.
 */
export function decideRange(next: number, head: StreamHead, max: number, onPurged: JetStreamOnPurged): RangeDecision {
  let first = next;
  let skipped: SeqRange | undefined;
  if (head.firstSeq > first && head.lastSeq >= first) {
    const missing = { first, last: head.firstSeq - 1 };
    if (onPurged === 'fail') return { kind: 'purged', missing };
    skipped = missing;
    first = head.firstSeq;
  }
  const last = Math.min(head.lastSeq, first + max - 1);
  return skipped ? { kind: 'range', range: { first, last }, skipped } : { kind: 'range', range: { first, last } };
}

/** Inclusive slices of at most `size` sequences covering `range` (none when it is empty). */
export function sliceRange(range: SeqRange, size: number): SeqRange[] {
  const out: SeqRange[] = [];
  for (let a = range.first; a <= range.last; a += size) out.push({ first: a, last: Math.min(range.last, a + size - 1) });
  return out;
}

/** The input block id of a slice: its provenance, as lineage records it. */
export function sliceBlockId(source: string, filterIndex: number, s: SeqRange): string {
  return `js/${source}/${filterIndex}/${s.first}-${s.last}`;
}

// ---------------------------------------------------------------- the slice frame

/**
 * What an executor hands a task worker for one slice: every message read, as
 * `[seq: float64 LE][length: uint32 LE][data]` back to back. One buffer, no
 * per-message objects on the executor's event loop; the worker decodes.
 */
export function frameSize(dataBytes: number, messages: number): number {
  return dataBytes + messages * 12;
}

export function writeFrame(out: Buffer, offset: number, seq: number, data: Uint8Array): number {
  out.writeDoubleLE(seq, offset);
  out.writeUInt32LE(data.byteLength, offset + 8);
  out.set(data, offset + 12);
  return offset + 12 + data.byteLength;
}

/** Call `fn(seq, data)` for each message of a frame (data is a view, valid during the call). */
export function forEachFramed(frame: Uint8Array, fn: (seq: number, data: Uint8Array) => void): void {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let o = 0;
  while (o < frame.byteLength) {
    if (o + 12 > frame.byteLength) throw new RangeError(`JetStream slice frame cut short at byte ${o} of ${frame.byteLength}`);
    const seq = view.getFloat64(o, true);
    const len = view.getUint32(o + 8, true);
    const start = o + 12;
    if (start + len > frame.byteLength) throw new RangeError(`JetStream slice frame cut short at byte ${o} of ${frame.byteLength}`);
    fn(seq, frame.subarray(start, start + len));
    o = start + len;
  }
}

// ---------------------------------------------------------------- decoding

const utf8 = new TextDecoder('utf-8', { fatal: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** The record a message's data decodes to; throws (with why) when it does not. */
export function decodeMessage(decode: JetStreamDecode, data: Uint8Array): unknown {
  switch (decode) {
    case 'bytes':
      // A copy: the frame it is a view of is reused.
      return Uint8Array.prototype.slice.call(data);
    case 'lines':
      return utf8.decode(data);
    case 'json':
      return JSON.parse(utf8.decode(data));
    case 'msgpack': {
      // Exactly one value: trailing bytes or the reserved 0xc1 mean the message is not what the producer meant.
      const values = unpackr.unpackMultiple(Buffer.from(data.buffer, data.byteOffset, data.byteLength)) as unknown[];
      if (values.length !== 1) throw new Error(`the message holds ${values.length} MessagePack values, not one`);
      const v = values[0];
      if (typeof v === 'object' && v !== null && v.constructor?.name === 'C1Type') throw new Error('the message is the reserved MessagePack byte 0xc1');
      return v;
    }
  }
}

/** A message that did not decode, as the dead-letter output shows it. */
export interface DeadLetter {
  source: string;
  stream: string;
  seq: number;
  error: string;
  /** The first bytes of the message, base64 (at most DEAD_LETTER_DATA_BYTES of them). */
  data: string;
}

export const DEAD_LETTER_DATA_BYTES = 256;

/** The dead-letter output of a JetStream source. */
export function deadLetterOutput(source: string): string {
  return `${source}.dead-letter`;
}

const deadPackr = new Packr({ useRecords: false, moreTypes: false, variableMapSize: true });

/** Pack dead letters as output records. */
export function packDeadLetters(letters: readonly DeadLetter[]): Buffer {
  return Buffer.concat(letters.map((l) => deadPackr.pack(l)));
}

/**
 * What to say when Rivulet's NATS users may not read a source stream (the scheduler, when it
 * cannot read the stream's state; an executor, when its read is refused — the scheduler may
 * read every stream's state when its sinks check duplicate windows, so the executor's refusal
 * is where an unlisted stream shows first).
 */
export function notGrantedMessage(stream: string): string {
  return (
    `Rivulet's NATS users may not read the stream ${JSON.stringify(stream)}: ` +
    'list it among the source streams the NATS configuration grants (sourceStreams, lib/security/nats-permissions.ts: ' +
    `node scripts/nats-security-conf.mjs --source-streams ${stream}; rivulet up --jetstream-sources ${stream})`
  );
}
