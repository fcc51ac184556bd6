/**
 * Committed outputs, durable: every committed batch of every (job, output) of
 * a journaled job is also stored in a JetStream stream, so that a scheduler
 * killed and restarted still has them for WatchOutput (`fromBeginning`
 * replays) — including a batch committed just before the crash, which a
 * watcher may not have received — and so that a batch re-run after the
 * restart is stored once (JetStream's duplicate window, keyed by job, output,
 * batch time and chunk). The scheduler journals a batch as completed only
 * after its outputs are stored here (scheduler.ts finishRun).
 *
 * One subject per (job, output): `<stream>.<job>.<hex(output)>` (output names
 * may hold dots). A batch larger than one NATS message (the server's
 * max_payload, 1 MiB by default) is stored as several chunks, each with the
 * batch's time, record count, its index and the chunk count in headers;
 * `load` returns only batches whose chunks are all there.
 *
 * Bounds, per subject, enforced here (JetStream has no per-subject byte
 * limit): at most `retentionBatches` batches and `retentionBytes` bytes —
 * the oldest batches are purged first, the newest is kept even when larger.
 * Writes to one subject are serialised so that a purge never cuts a batch
 * that is being written. A stopped or failed job's outputs are purged.
 *
 * Every publish and purge goes through the connection's ConnectionWatch
 * (lib/nats/reconnect.ts): one NATS dropped before answering is sent again on
 * the reconnect rather than failing at its timeout — a publish is deduplicated
 * by its msgID, a purge up to a sequence is idempotent — so a nats-server
 * restart does not leave the batches committed meanwhile out of the stream.
 */
import { headers as natsHeaders } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorMessage, UnavailableError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { connectionWatch } from '../../lib/nats/reconnect.js';
import { createOrUpdateStream, NatsReplicasError } from '../../lib/nats/replicas.js';
import { validatePacked } from '../../lib/codec/records.js';
import { checkInput, rejectInput } from '../../lib/validation.js';
import { z } from 'zod';
import type { CommittedBatch } from './output-store.js';

export interface DurableOutputs {
  /** Resolves once every batch is stored. */
  persist(jobId: string, commits: ReadonlyArray<{ output: string; batch: CommittedBatch }>): Promise<void>;
  /** The retained batches of one output, oldest first. */
  load(jobId: string, output: string): Promise<CommittedBatch[]>;
  /** Forget a job's outputs (it was stopped or failed). */
  purge(jobId: string): Promise<void>;
}

const BATCH_TIME = 'Rivulet-Batch-Time';
const COUNT = 'Rivulet-Count';
const CHUNK = 'Rivulet-Chunk';
const CHUNKS = 'Rivulet-Chunks';

/** Headers of one stored chunk, as read back: nothing unchecked reaches the output store. */
const headerInt = (max: number) => z.coerce.number().int().min(0).max(max);
const chunkHeadersSchema = z
  .object({
    batchTimeMs: headerInt(Number.MAX_SAFE_INTEGER),
    count: headerInt(Number.MAX_SAFE_INTEGER),
    chunks: headerInt(1_000_000).pipe(z.number().min(1)),
    chunk: headerInt(1_000_000),
  })
  .refine((h) => h.chunk < h.chunks, { message: 'chunk index beyond the chunk count' });

/** Deadline of one publish or purge, waiting for a reconnect included (the JetStream client's default). */
const REQUEST_TIMEOUT_MS = 5000;

/** Room left in a NATS message for headers and protocol. */
const HEADER_ROOM = 16 * 1024;

/** A stored batch as the per-subject bound sees it. */
interface Stored {
  batchTimeMs: number;
  /** Stream sequence of its first chunk: a purge up to it keeps this batch whole. */
  firstSeq: number;
  bytes: number;
}

export interface DurableOutputsOptions {
  retentionBatches: number;
  retentionBytes: number;
  maxMessageBytes: number;
  /** Copies of the stream (natsReplicas, lib/nats/replicas.ts). @default 1 */
  replicas?: number;
}

/** Split `payload` into pieces of at most `size` bytes (one empty piece for an empty payload). */
export function chunkPayload(payload: Uint8Array, size: number): Uint8Array[] {
  if (payload.byteLength <= size) return [payload];
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.byteLength; off += size) out.push(payload.subarray(off, Math.min(off + size, payload.byteLength)));
  return out;
}

export async function openDurableOutputs(nc: NatsConnection, stream: string, opts: DurableOutputsOptions, log: Logger): Promise<DurableOutputs> {
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
  const nats = connectionWatch(nc);
  const chunkBytes = Math.max(1024, Math.min(maxPayload, opts.maxMessageBytes) - HEADER_ROOM);
  try {
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    const config = {
      subjects: [`${stream}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      // Bounded per subject below, by batches and bytes: a batch may be many messages.
      max_msgs_per_subject: -1,
      max_msg_size: maxPayload,
      duplicate_window: 2 * 60 * 1_000_000_000, // ns
    };
    await createOrUpdateStream(jsm, { name: stream, ...config }, { replicas: opts.replicas ?? 1, log });
  } catch (e) {
    if (e instanceof NatsReplicasError) throw e;
    throw new UnavailableError(`cannot open the JetStream stream "${stream}" of committed outputs: ${errorMessage(e)}`, { cause: e });
  }
  const subject = (jobId: string, output: string) => `${stream}.${jobId}.${Buffer.from(output).toString('hex')}`;
  /** What each subject holds, oldest first (learned from writes and from `load` after a restart). */
  const stored = new Map<string, Stored[]>();
  /** Writes per subject, one after another. */
  const chains = new Map<string, Promise<void>>();
  const serialised = (subj: string, write: () => Promise<void>): Promise<void> => {
    const result = (chains.get(subj) ?? Promise.resolve()).then(write);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    chains.set(subj, settled);
    void settled.then(() => {
      if (chains.get(subj) === settled) chains.delete(subj);
    });
    return result;
  };

  async function store(jobId: string, output: string, batch: CommittedBatch): Promise<void> {
    const subj = subject(jobId, output);
    const chunks = chunkPayload(batch.payload, chunkBytes);
    let firstSeq = 0;
    let duplicate = false;
    for (let i = 0; i < chunks.length; i++) {
      const h = natsHeaders();
      h.set(BATCH_TIME, String(batch.batchTimeMs));
      h.set(COUNT, String(batch.count));
      h.set(CHUNK, String(i));
      h.set(CHUNKS, String(chunks.length));
      const msgID = `${jobId}/${output}/${batch.batchTimeMs}` + (i === 0 ? '' : `#${i}`);
      const chunk = chunks[i]!;
      const ack = await nats.request(() => js.publish(subj, chunk, { msgID, headers: h }), REQUEST_TIMEOUT_MS);
      if (i === 0) {
        firstSeq = ack.seq;
        duplicate = ack.duplicate;
      }
    }
    const list = stored.get(subj) ?? [];
    stored.set(subj, list);
    // Stored before (a batch re-run after a restart) and already counted.
    if (duplicate && list.some((b) => b.batchTimeMs === batch.batchTimeMs)) return;
    list.push({ batchTimeMs: batch.batchTimeMs, firstSeq, bytes: batch.payload.byteLength });
    await trim(subj, list);
  }

  async function trim(subj: string, list: Stored[]): Promise<void> {
    let bytes = list.reduce((n, b) => n + b.bytes, 0);
    let dropped = 0;
    while (list.length > 1 && (list.length > opts.retentionBatches || bytes > opts.retentionBytes)) {
      bytes -= list.shift()!.bytes;
      dropped++;
    }
    if (dropped === 0) return;
    try {
      const seq = list[0]!.firstSeq;
      await nats.request(() => jsm.streams.purge(stream, { filter: subj, seq }), REQUEST_TIMEOUT_MS);
    } catch (e) {
      // Harmless until the next write to this subject purges again.
      log.warn({ subject: subj, err: errorMessage(e) }, 'cannot purge old committed outputs');
    }
  }

  return {
    async persist(jobId, commits) {
      await Promise.all(commits.map(({ output, batch }) => serialised(subject(jobId, output), () => store(jobId, output, batch))));
    },
    async load(jobId, output) {
      const subj = subject(jobId, output);
      // One subject as a string: filter_subject (nats-server 2.9 has no filter_subjects).
      const consumer = await js.consumers.get(stream, { filter_subjects: subj });
      try {
        const pending = (await consumer.info()).num_pending;
        if (pending === 0) return [];
        const parts = new Map<number, { count: number; chunks: Array<Uint8Array | undefined>; firstSeq: number }>();
        const messages = await consumer.fetch({ max_messages: pending, expires: 5000 });
        const source = `stream:${stream}`;
        for await (const m of messages) {
          const h = checkInput(
            chunkHeadersSchema,
            {
              batchTimeMs: m.headers?.get(BATCH_TIME),
              count: m.headers?.get(COUNT),
              chunks: m.headers?.get(CHUNKS) || 1,
              chunk: m.headers?.get(CHUNK) || 0,
            },
            source,
            log,
          );
          if (h) {
            let p = parts.get(h.batchTimeMs);
            if (!p || p.chunks.length !== h.chunks) {
              p = { count: h.count, chunks: new Array<Uint8Array | undefined>(h.chunks), firstSeq: m.seq };
              parts.set(h.batchTimeMs, p);
            }
            p.chunks[h.chunk] = m.data;
            p.firstSeq = Math.min(p.firstSeq, m.seq);
          }
          if (m.info.pending === 0) break;
        }
        const out: CommittedBatch[] = [];
        const index: Stored[] = [];
        for (const [batchTimeMs, p] of parts) {
          if (p.chunks.some((c) => c === undefined)) {
            log.warn({ subject: subj, batchTimeMs }, 'skipping a committed output batch with missing chunks');
            continue;
          }
          const payload = Buffer.concat(p.chunks as Uint8Array[]);
          // The records must be what the header says: a corrupt batch is dropped (counted, logged once), never replayed.
          const invalid = validatePacked(payload, p.count);
          if (invalid !== undefined) {
            rejectInput(source, `committed output batch ${batchTimeMs} of ${subj}: ${invalid}`, log);
            continue;
          }
          out.push({ batchTimeMs, count: p.count, payload });
          index.push({ batchTimeMs, firstSeq: p.firstSeq, bytes: payload.byteLength });
        }
        stored.set(subj, index.sort((a, b) => a.firstSeq - b.firstSeq));
        return out.sort((a, b) => a.batchTimeMs - b.batchTimeMs);
      } finally {
        await consumer.delete().catch(() => undefined);
      }
    },
    async purge(jobId) {
      for (const k of [...stored.keys()]) if (k.startsWith(`${stream}.${jobId}.`)) stored.delete(k);
      try {
        await nats.request(() => jsm.streams.purge(stream, { filter: `${stream}.${jobId}.>` }), REQUEST_TIMEOUT_MS);
      } catch (e) {
        log.warn({ jobId, err: errorMessage(e) }, 'cannot purge a finished job’s committed outputs');
      }
    },
  };
}
