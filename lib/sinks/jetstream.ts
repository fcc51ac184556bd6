/**
 * The JetStream sink (`output(name).toJetStream(subject, { stream? })`): each
 * record of a batch is one message on `subject`, published with the message
 * id `<job>/<output>/<batchTime>/<index>`. JetStream drops a message whose id
 * it stored within the stream's duplicate_window, so a batch published again
 * after any failure — a retry here, a batch re-run by a restarted scheduler —
 * adds nothing: exactly once, provided the re-run comes within the window and
 * produces the same records in the same order (a batch's records are
 * deterministic). Before the first write of an output, the stream that
 * captures the subject is found and its window checked against
 * `duplicateWindowMs` (sinkDuplicateWindow): shorter fails the job rather
 * than promise what the server would not keep.
 *
 * When no stream captures the subject, the scheduler's own (`sinkStream`, over
 * `sinkSubjects`, with that window and its byte bound) is created here; it is
 * also the one stream whose too-short window is raised rather than refused.
 * The scheduler's NATS user may publish only under `sinkSubjects`
 * (lib/security/nats-permissions.ts), so a subject outside them fails the job
 * naming the option.
 *
 * Bounded: `chunkRecords` publishes in flight at once, each acknowledged within
 * `requestTimeoutMs`. A retried attempt starts at the first chunk not fully
 * acknowledged (the chunks before it are stored; the ids dedupe the rest).
 *
 * Runs in the scheduler's sink worker thread (sink-worker.ts) on a NATS
 * connection of its own, never on the scheduler's event loop.
 */
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { packValue } from '../codec/records.js';
import { errorMessage } from '../errors.js';
import { createOrUpdateStream } from '../nats/replicas.js';
import { SinkError } from './retry.js';
import { subjectAllowed, type JetStreamSinkSpec } from './spec.js';
import type { BatchRef } from './postgres.js';

export const BATCH_TIME_HEADER = 'Rivulet-Batch-Time';
export const INDEX_HEADER = 'Rivulet-Index';

export interface JetStreamWriterOptions {
  /** Subjects the scheduler's NATS user may publish sink records to (sinkSubjects). */
  sinkSubjects: readonly string[];
  /** The stream over sinkSubjects the scheduler creates when missing (sinkStream). */
  sinkStream: string;
  /** Byte bound of that stream, oldest messages discarded (sinkStreamMaxBytes). */
  sinkStreamMaxBytes: number;
  /** The duplicate window every sink stream must have at least (sinkDuplicateWindow), ms. */
  duplicateWindowMs: number;
  /** Copies of the scheduler's sink stream (natsReplicas). */
  replicas: number;
  /** Publishes in flight at once (sinkChunkRecords). */
  chunkRecords: number;
  /** One publish's acknowledgement at most (sinkRequestTimeout). */
  requestTimeoutMs: number;
}

export interface JetStreamWriteResult {
  /** Messages the stream stored now. */
  published: number;
  /** Messages it had already (dropped as duplicates of an earlier attempt or run). */
  duplicates: number;
}

/** Where a write left off, kept across the attempts of one batch. */
export interface PublishProgress {
  /** Records acknowledged from the start of the batch, a whole number of chunks. */
  done: number;
  published: number;
  duplicates: number;
}

/** The message id of a batch's record: the same on every run of the batch. */
export function recordMsgId(batch: BatchRef, index: number): string {
  return `${batch.jobId}/${batch.output}/${batch.batchTimeMs}/${index}`;
}

/** Encode a batch's records as message bodies, once, before the first attempt. */
export function encodeRecords(records: readonly unknown[], encoding: JetStreamSinkSpec['encoding'], maxPayload: number, sink: string): Uint8Array[] {
  const out: Uint8Array[] = new Array<Uint8Array>(records.length);
  for (let i = 0; i < records.length; i++) {
    const body = encoding === 'json' ? Buffer.from(JSON.stringify(records[i]) ?? 'null') : packValue(records[i]);
    // Terminal: the server would refuse it on every attempt.
    if (body.byteLength > maxPayload) throw new SinkError(`${sink}: record ${i} of the batch is ${body.byteLength} bytes, over the NATS server's max_payload (${maxPayload})`, false);
    out[i] = body;
  }
  return out;
}

/**
 * Retryable: the server or stream unreachable for now (timeouts, no
 * responders, a closed or reconnecting connection, JetStream's "temporarily
 * unavailable" 10008). Terminal: any other JetStream API error (the wrong
 * stream, a message over the stream's limits) and a permission violation.
 */
export function classifyNatsError(err: unknown, sink: string): SinkError {
  const e = err as { name?: unknown; code?: unknown } | undefined;
  const message = `${sink}: ${errorMessage(err)}`;
  if (e?.name === 'PermissionViolationError') return new SinkError(`${message} (the scheduler's NATS user may not publish there: see sinkSubjects)`, false, { cause: err });
  if (e?.name === 'JetStreamApiError' && e.code !== 10008) return new SinkError(message, false, { cause: err });
  return new SinkError(message, true, { cause: err });
}

export class JetStreamWriter {
  private readonly js: JetStreamClient;
  private jsm?: JetStreamManager;
  /** The sink stream made sure of (once per writer). */
  private ownStream?: Promise<void>;
  /** Per subject (and expected stream): the stream checked to capture it with a long enough window. */
  private readonly checked = new Map<string, string>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: JetStreamWriterOptions,
  ) {
    this.js = jetstream(nc, { timeout: options.requestTimeoutMs });
  }

  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  /**
   * The stream that will store `spec.subject`, checked (see the module
   * comment). Throws a terminal SinkError when it cannot be used.
   */
  async checkStream(spec: JetStreamSinkSpec, sink: string): Promise<string> {
    const key = `${spec.subject}\u0000${spec.stream ?? ''}`;
    const known = this.checked.get(key);
    if (known) return known;
    const o = this.options;
    if (!subjectAllowed(spec.subject, o.sinkSubjects)) {
      throw new SinkError(
        `${sink}: the subject is outside sinkSubjects (${o.sinkSubjects.join(', ')}), the subjects the scheduler's NATS user may publish to; publish under them, or grant the subject (README "Sources and sinks")`,
        false,
      );
    }
    this.jsm ??= await jetstreamManager(this.nc, { timeout: o.requestTimeoutMs });
    const jsm = this.jsm;
    const ours = spec.stream === undefined || spec.stream === o.sinkStream;
    let name = await this.findStream(spec.subject, sink);
    if (name === undefined) {
      if (!ours) throw new SinkError(`${sink}: no JetStream stream captures the subject (the job names stream ${spec.stream}): create it with a duplicate_window of at least sinkDuplicateWindow`, false);
      // No stream captures it: the scheduler's own, over sinkSubjects (fails if they overlap another stream's).
      await this.ensureOwnStream(jsm);
      name = o.sinkStream;
    }
    if (spec.stream !== undefined && name !== spec.stream) {
      throw new SinkError(`${sink}: the subject is captured by stream ${name}, not by stream ${spec.stream} as the job says`, false);
    }
    const info = await jsm.streams.info(name);
    const windowMs = Math.floor((info.config.duplicate_window ?? 0) / 1_000_000);
    if (windowMs < o.duplicateWindowMs) {
      if (name === o.sinkStream) {
        await this.ensureOwnStream(jsm); // ours to raise
      } else {
        throw new SinkError(
          `${sink}: stream ${name} remembers message ids for ${windowMs} ms (duplicate_window), less than sinkDuplicateWindow (${o.duplicateWindowMs} ms): ` +
            'a batch re-run after a longer recovery could be published twice; raise the stream’s duplicate_window (or lower sinkDuplicateWindow knowingly)',
          false,
        );
      }
    }
    this.checked.set(key, name);
    return name;
  }

  /** The stream capturing `subject`, or undefined when none does. */
  private async findStream(subject: string, sink: string): Promise<string | undefined> {
    try {
      return await this.jsm!.streams.find(subject);
    } catch (e) {
      if (/no stream matches/i.test(errorMessage(e))) return undefined;
      throw classifyNatsError(e, sink);
    }
  }

  /** Create or update the scheduler's sink stream (sinkStream over sinkSubjects, sinkDuplicateWindow, sinkStreamMaxBytes). */
  private async ensureOwnStream(jsm: JetStreamManager): Promise<void> {
    const o = this.options;
    this.ownStream ??= createOrUpdateStream(
      jsm,
      {
        name: o.sinkStream,
        subjects: [...o.sinkSubjects],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        max_bytes: o.sinkStreamMaxBytes,
        duplicate_window: o.duplicateWindowMs * 1_000_000,
      },
      { replicas: o.replicas },
    ).catch((e: unknown) => {
      this.ownStream = undefined;
      throw e;
    });
    await this.ownStream;
  }

  /**
   * One attempt at publishing a batch's encoded records, from `progress.done`
   * on, `chunkRecords` at a time. Throws on the first failure; `progress`
   * then says where the next attempt starts.
   */
  async publish(stream: string, batch: BatchRef, subject: string, bodies: readonly Uint8Array[], progress: PublishProgress): Promise<JetStreamWriteResult> {
    const chunk = this.options.chunkRecords;
    const batchTime = String(batch.batchTimeMs);
    while (progress.done < bodies.length) {
      const end = Math.min(bodies.length, progress.done + chunk);
      const acks = [];
      for (let i = progress.done; i < end; i++) {
        const h = natsHeaders();
        h.set(BATCH_TIME_HEADER, batchTime);
        h.set(INDEX_HEADER, String(i));
        acks.push(this.js.publish(subject, bodies[i]!, { msgID: recordMsgId(batch, i), headers: h, expect: { streamName: stream }, timeout: this.options.requestTimeoutMs }));
      }
      // Every publish of the chunk settles before the next attempt may send them again.
      const settled = await Promise.allSettled(acks);
      const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failure) throw failure.reason;
      for (const s of settled) {
        if ((s as PromiseFulfilledResult<{ duplicate: boolean }>).value.duplicate) progress.duplicates++;
        else progress.published++;
      }
      progress.done = end;
    }
    return { published: progress.published, duplicates: progress.duplicates };
  }
}
