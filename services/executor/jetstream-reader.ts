/**
 * Reading one slice of a JetStream direct source (lib/sources/jetstream-ranges.ts)
 * on an executor, with the executor's own NATS connection: an ordered consumer
 * (ephemeral, no acks, started at the slice's first sequence, on its subject
 * filter) fetched until the slice's last sequence or the end of the stream.
 * The messages go into one frame buffer the task worker decodes: the
 * executor's event loop makes no record objects.
 *
 * The slice was journaled by the scheduler; reading it again (a retry, a lost
 * partition recomputed) reads the same messages, unless the stream's
 * retention removed some since: with onPurged 'fail' that fails the task with
 * a message saying so (retried, then the batch and job fail — nothing is
 * silently lost); with 'skip' what is left is read.
 *
 * Must never: ack, create durable consumers, or read past the slice.
 */
import { DeliverPolicy, jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorMessage } from '../../lib/errors.js';
import { frameSize, notGrantedMessage, writeFrame } from '../../lib/sources/jetstream-ranges.js';
import type { JetStreamSlice__Output } from '../../lib/proto/gen/rivulet/v1/JetStreamSlice.js';

/** Messages asked for per pull. */
const PULL_BATCH = 2000;
/** A pull that brings nothing for this long ends the slice (the range's end was deleted or lies past the stream's end). */
const PULL_EXPIRES_MS = 1000;

export class JetStreamReadError extends Error {
  override name = 'JetStreamReadError';
}

export interface JetStreamReader {
  /** The slice's messages as a frame (jetstream-ranges.ts writeFrame), and how many. */
  read(slice: JetStreamSlice__Output, signal: AbortSignal): Promise<{ frame: Uint8Array; messages: number }>;
}

export function jetStreamReader(nc: NatsConnection): JetStreamReader {
  let js: JetStreamClient | undefined;
  let jsm: JetStreamManager | undefined;
  return {
    async read(slice, signal) {
      js ??= jetstream(nc);
      jsm ??= await jetstreamManager(nc);
      const first = Number(slice.firstSeq);
      const last = Number(slice.lastSeq);
      const where = `stream ${slice.stream}${slice.filterSubject ? ` (subjects ${slice.filterSubject})` : ''}, sequences ${first}-${last}`;
      let firstHeld: number;
      let lastHeld: number;
      try {
        const info = await jsm.streams.info(slice.stream);
        firstHeld = info.state.first_seq;
        lastHeld = info.state.last_seq;
      } catch (e) {
        if (isStreamNotFound(e)) throw new JetStreamReadError(`cannot read ${where}: the stream does not exist (deleted?)`, { cause: e });
        if (isPermissionViolation(e)) throw new JetStreamReadError(`cannot read ${where}: ${notGrantedMessage(slice.stream)}`, { cause: e });
        throw new JetStreamReadError(`cannot read ${where}: ${errorMessage(e)}`, { cause: e });
      }
      if (firstHeld > first && slice.onPurged !== 'skip') {
        throw new JetStreamReadError(
          `cannot read ${where}: the stream no longer holds sequences ${first}-${Math.min(last, firstHeld - 1)} (its retention removed them before they were read; the source's onPurged is 'fail')`,
        );
      }
      if (lastHeld < first && firstHeld <= first) return { frame: new Uint8Array(0), messages: 0 };
      const chunks: Array<{ seq: number; data: Uint8Array }> = [];
      let bytes = 0;
      const start = Math.max(first, firstHeld);
      if (start <= last) {
        try {
          await readInto(js, slice, start, last, signal, where, (seq, data) => {
            chunks.push({ seq, data });
            bytes += data.byteLength;
          });
        } catch (e) {
          if (e instanceof JetStreamReadError) throw e;
          if (isPermissionViolation(e)) throw new JetStreamReadError(`cannot read ${where}: ${notGrantedMessage(slice.stream)}`, { cause: e });
          throw new JetStreamReadError(`cannot read ${where}: ${errorMessage(e)}`, { cause: e });
        }
      }
      const frame = Buffer.allocUnsafe(frameSize(bytes, chunks.length));
      let o = 0;
      for (const c of chunks) o = writeFrame(frame, o, c.seq, c.data);
      return { frame, messages: chunks.length };
    },
  };
}

/** Pull the slice's messages in order, from `start`, until its last sequence or the stream's end. */
async function readInto(
  js: JetStreamClient,
  slice: JetStreamSlice__Output,
  start: number,
  last: number,
  signal: AbortSignal,
  where: string,
  take: (seq: number, data: Uint8Array) => void,
): Promise<void> {
  const consumer = await js.consumers.get(slice.stream, {
    ...(slice.filterSubject ? { filter_subjects: slice.filterSubject } : {}),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: start,
  });
  let next = start;
  for (;;) {
    if (signal.aborted) throw new JetStreamReadError(`reading ${where} was cancelled`);
    const batch = await consumer.fetch({ max_messages: Math.min(PULL_BATCH, last - next + 1), expires: PULL_EXPIRES_MS });
    let got = 0;
    let done = false;
    for await (const m of batch) {
      got++;
      if (m.seq > last) {
        done = true;
        break;
      }
      take(m.seq, m.data);
      next = m.seq + 1;
      if (m.seq === last || m.info.pending === 0) {
        done = true;
        break;
      }
    }
    if (done) await batch.close().catch(() => undefined);
    // Nothing more came: the rest of the range holds no message of this filter (deleted, or none matched).
    if (done || got === 0) return;
  }
}

/** JetStream says the stream does not exist (err_code 10059, status 404). */
function isStreamNotFound(e: unknown): boolean {
  return e instanceof JetStreamApiError && (e.status === 404 || e.code === 10059);
}

/** The NATS server refused the request for this user (its permissions do not cover the stream). */
function isPermissionViolation(e: unknown): boolean {
  return /permissions violation/i.test(errorMessage(e));
}
