/**
 * The receiver's write-ahead log of block → batch allocations (Spark's
 * ReceivedBlockTracker WAL), kept in a NATS JetStream KV bucket so that a
 * receiver killed after acking records but before announcing their batch
 * loses nothing: the next process start recovers the batch from the log,
 * announces it and serves it from GetBatchBlocks.
 *
 * Protocol (ingest.ts drives it):
 * - A block is logged (`logBlock`) after it is stored on executors and BEFORE
 *   any of its pushes is acked: one KV put per block, never per push or record.
 *   If the put fails the pushes are nacked UNAVAILABLE — never acked without
 *   the log.
 * - An announced batch is recorded (`markAnnounced`) as one "announced up to T"
 *   marker per stream, written after the batch.ready is published and not
 *   awaited. It only spares a restart from re-announcing old batches: a
 *   re-announcement carries the same blocks and the scheduler ignores it, so a
 *   lost marker write costs a duplicate batch.ready, never data.
 * - `recover` (process start) reads everything this receiverId logged, drops
 *   batches older than the retention window (logged), and returns the rest.
 *
 * Why a KV bucket rather than a plain stream: entries must be dropped per batch
 * (retention), which a KV's per-key subjects make one subject-filtered purge,
 * and the lineage service already keeps its state the same way (one kind of
 * NATS object for operators to back up). Values are MessagePack.
 *
 * Key layout (bucket shared by receivers; one process per receiverId writes):
 *   blk.<receiver>.<stream>.<batchTimeMs>.<incarnation>-<n>   one stored block
 *   ann.<receiver>.<stream>                                     last announced batch
 * `<receiver>` / `<stream>` are the name when made of [A-Za-z0-9_-], otherwise
 * "=" + UTF-8 hex ("=" never occurs in the plain form, so names can't collide).
 *
 * Bounded: whenever a stream announces batch T, the blocks of batches at or
 * before T − retainBatches × batchInterval are purged (the same window
 * GetBatchBlocks answers for); at start, entries outside the window are purged
 * and logged — at error level when they belong to batches never announced,
 * since those are acked records given up on (the receiver was down longer
 * than the window).
 *
 * Each block record also carries the (pusher session, seq) ranges of the
 * pushes it holds (push-dedupe.ts): a receiver restarted from the log still
 * knows those pushes were stored, so a client retrying one (it never saw the
 * ack) is answered `duplicate` instead of storing it twice. Records without
 * the field (written before it existed) recover with no dedupe state.
 *
 * Several receivers share the bucket (README "Several receivers"): each
 * writes only under its own `<receiver>` token, and any of them reads another's
 * entries on two occasions — the scheduler asks for the share of a batch of a
 * receiver it judged gone (`readShare`), and a pusher session failing over from
 * another receiver has that receiver's stored seqs of the session read
 * (`readSessionRanges`) before its first message is accepted here.
 *
 * It must never: report a block as logged before the KV confirmed the put.
 */
import { errorMessage, UnavailableError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { z } from 'zod';
import { packValue, unpackValue } from '../../lib/codec/records.js';
import { checkInput, rejectInput } from '../../lib/validation.js';
import type { StoredBlockRef } from './batch-tracker.js';
import type { PushRange } from './push-dedupe.js';

/**
 * The few KV operations the log needs (JetStream KV in production, a map in
 * unit tests). Filters use NATS subject wildcards (`*` one token, `>` the rest).
 */
export interface WalKv {
  /** Resolves once the value is durably stored; rejects otherwise. */
  put(key: string, value: Uint8Array): Promise<void>;
  /** Every current value whose key matches `filter`. */
  entries(filter: string): Promise<Array<{ key: string; value: Uint8Array }>>;
  /** Remove every key matching `filter`, leaving no marker behind. */
  purge(filter: string): Promise<void>;
  /** Every key matching `filter` (values not read). Absent: orphans of other receivers are not purged. */
  listKeys?(filter: string): Promise<string[]>;
}

export interface LoggedBlock extends StoredBlockRef {
  stream: string;
  batchTimeMs: number;
  /** The pusher sessions' seqs stored in the block (for deduplicating retries after a restart). */
  pushes?: PushRange[];
}

/** A recovered block: where it is stored, and which session seqs it holds. */
export type RecoveredBlock = StoredBlockRef & { pushes?: PushRange[] };

/** What a previous process of this receiverId left, per stream. */
export interface RecoveredStream {
  stream: string;
  /** Batches with logged blocks, oldest first (blocks in log order of their ids). */
  batches: Array<{ batchTimeMs: number; blocks: RecoveredBlock[] }>;
  /** The last batch the previous process recorded as announced. */
  lastAnnouncedMs: number | undefined;
}

export interface AllocationLogOptions {
  receiverId: string;
  /** This process's incarnation (part of every block key). */
  incarnation: string;
  batchIntervalMs: number;
  retainBatches: number;
  /** Named in errors and logs. */
  bucket: string;
  log: Logger;
}

const FORMAT = 1;

export function kvToken(name: string): string {
  return /^[A-Za-z0-9_-]+$/.test(name) ? name : '=' + Buffer.from(name, 'utf8').toString('hex');
}

const safeInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const name = z.string().min(1).max(1024);

/** One (session, first seq, last seq) range of pushes a block holds (push-dedupe.ts). */
const pushRangeSchema = z
  .tuple([name, safeInt, safeInt])
  .refine(([, first, last]) => first <= last, 'a push range ends before it starts');

/** A block record read back: parsed before it becomes a recovered batch (lib/validation.ts). */
const blockRecordSchema = z.object({
  format: z.literal(FORMAT),
  stream: name,
  batchTimeMs: safeInt,
  blockId: name,
  records: safeInt,
  bytes: safeInt,
  executorIds: z.array(name).min(1).max(16),
  pushes: z.array(pushRangeSchema).optional(),
});

/** An announcement marker read back. */
const announcedRecordSchema = z.object({ format: z.literal(FORMAT), stream: name, batchTimeMs: safeInt });

interface StreamLog {
  token: string;
  /** Batch times with logged blocks not yet purged. */
  batches: Set<number>;
  /** Marker write in flight / the latest value still to write. */
  markerBusy: boolean;
  markerNext: number | undefined;
  retentionLogged: boolean;
}

export class AllocationLog {
  private readonly recv: string;
  private readonly streams = new Map<string, StreamLog>();
  private blockSeq = 0;
  private readonly log: Logger;

  constructor(
    private readonly kv: WalKv,
    private readonly opts: AllocationLogOptions,
  ) {
    this.recv = kvToken(opts.receiverId);
    this.log = opts.log;
  }

  get bucket(): string {
    return this.opts.bucket;
  }

  /** Durably record one stored block. Rejects with UnavailableError when the KV did not confirm. */
  async logBlock(block: LoggedBlock): Promise<void> {
    const s = this.streamLog(block.stream);
    const key = `blk.${this.recv}.${s.token}.${block.batchTimeMs}.${this.opts.incarnation}-${++this.blockSeq}`;
    const value = packValue({
      format: FORMAT,
      stream: block.stream,
      batchTimeMs: block.batchTimeMs,
      blockId: block.blockId,
      records: block.records,
      bytes: block.bytes,
      executorIds: block.executorIds,
      ...(block.pushes && block.pushes.length > 0 ? { pushes: block.pushes } : {}),
    });
    try {
      await this.kv.put(key, value);
    } catch (e) {
      // The put may still have landed (e.g. a timeout): remove it if we can, so
      // a restart does not bring back records that were refused to the client.
      this.kv.purge(key).catch(() => undefined);
      throw new UnavailableError(
        `records stored but not acknowledged: cannot write block ${block.blockId} to the receiver's write-ahead log ` +
          `(JetStream KV bucket "${this.opts.bucket}"): ${errorMessage(e)}; retry the push`,
        { cause: e },
      );
    }
    s.batches.add(block.batchTimeMs);
  }

  /** Record that `stream` announced up to `batchTimeMs` and purge what fell out of the window. Never throws. */
  markAnnounced(stream: string, batchTimeMs: number): void {
    const s = this.streamLog(stream);
    s.markerNext = Math.max(s.markerNext ?? 0, batchTimeMs);
    if (!s.markerBusy) void this.writeMarker(stream, s);
    this.prune(stream, s, batchTimeMs - this.opts.retainBatches * this.opts.batchIntervalMs);
  }

  /**
   * Read what earlier processes of this receiverId logged. Batches at or before
   * `horizonMs` are purged (and logged) instead of returned. Rejects with
   * UnavailableError when the KV cannot be read: a receiver that cannot
   * recover must not start.
   */
  async recover(horizonMs: number): Promise<RecoveredStream[]> {
    let blockEntries: Array<{ key: string; value: Uint8Array }>;
    let markerEntries: Array<{ key: string; value: Uint8Array }>;
    try {
      blockEntries = await this.kv.entries(`blk.${this.recv}.>`);
      markerEntries = await this.kv.entries(`ann.${this.recv}.*`);
    } catch (e) {
      throw new UnavailableError(`cannot read the receiver's write-ahead log (JetStream KV bucket "${this.opts.bucket}"): ${errorMessage(e)}`, { cause: e });
    }
    const byStream = new Map<string, RecoveredStream & { byTime: Map<number, RecoveredBlock[]> }>();
    const get = (stream: string) => {
      let r = byStream.get(stream);
      if (!r) {
        r = { stream, batches: [], lastAnnouncedMs: undefined, byTime: new Map() };
        byStream.set(stream, r);
      }
      return r;
    };
    let corrupt = 0;
    // Every record is parsed before it becomes state; a bad one is skipped, counted and logged once.
    const source = `kv:${this.opts.bucket}`;
    const decode = <T>(schema: z.ZodType<T>, key: string, value: Uint8Array): T | undefined => {
      let raw: unknown;
      try {
        raw = unpackValue<unknown>(value);
      } catch (e) {
        rejectInput(source, `write-ahead log record ${key} is not MessagePack: ${errorMessage(e)}`, this.log);
        return undefined;
      }
      return checkInput(schema, raw, source, this.log);
    };
    for (const { key, value } of markerEntries) {
      const m = decode(announcedRecordSchema, key, value);
      if (!m) {
        corrupt++;
        continue;
      }
      get(m.stream).lastAnnouncedMs = m.batchTimeMs;
    }
    for (const { key, value } of blockEntries) {
      const b = decode(blockRecordSchema, key, value);
      if (!b) {
        corrupt++;
        continue;
      }
      const r = get(b.stream);
      const list = r.byTime.get(b.batchTimeMs) ?? [];
      list.push({ blockId: b.blockId, records: b.records, bytes: b.bytes, executorIds: b.executorIds, ...(b.pushes ? { pushes: b.pushes as PushRange[] } : {}) });
      r.byTime.set(b.batchTimeMs, list);
    }
    const out: RecoveredStream[] = [];
    for (const r of byStream.values()) {
      const s = this.streamLog(r.stream);
      const dropped: Array<{ batchTimeMs: number; records: number; announced: boolean }> = [];
      for (const t of [...r.byTime.keys()].sort((a, b) => a - b)) {
        const blocks = r.byTime.get(t)!.sort((a, b) => (a.blockId < b.blockId ? -1 : a.blockId > b.blockId ? 1 : 0));
        if (t <= horizonMs) {
          dropped.push({ batchTimeMs: t, records: blocks.reduce((n, b) => n + b.records, 0), announced: r.lastAnnouncedMs !== undefined && t <= r.lastAnnouncedMs });
          s.batches.add(t);
        } else {
          s.batches.add(t);
          r.batches.push({ batchTimeMs: t, blocks });
        }
      }
      if (dropped.length > 0) {
        const lost = dropped.filter((d) => !d.announced);
        const fields = { stream: r.stream, horizonMs, retainBatches: this.opts.retainBatches, batches: dropped.length, firstMs: dropped[0]!.batchTimeMs, lastMs: dropped.at(-1)!.batchTimeMs };
        if (lost.length > 0) {
          this.log.error(
            { ...fields, unannouncedBatches: lost.map((d) => d.batchTimeMs), unannouncedRecords: lost.reduce((n, d) => n + d.records, 0) },
            'write-ahead log: dropping batches older than the retention window that were never announced (the receiver was down longer than retainBatches × batchInterval); their acked records will not be processed',
          );
        } else {
          this.log.info(fields, 'write-ahead log: dropping announced batches older than the retention window');
        }
      }
      this.prune(r.stream, s, horizonMs);
      if (r.lastAnnouncedMs !== undefined && r.lastAnnouncedMs <= horizonMs && r.batches.length === 0) {
        // A stream with nothing inside the window: forget its marker too.
        this.kv.purge(`ann.${this.recv}.${s.token}`).catch((e: unknown) => this.log.warn({ err: errorMessage(e), stream: r.stream }, 'could not purge an old announcement marker'));
        continue;
      }
      out.push({ stream: r.stream, batches: r.batches, lastAnnouncedMs: r.lastAnnouncedMs });
    }
    if (corrupt > 0) this.log.error({ corrupt, bucket: this.opts.bucket }, 'write-ahead log: records skipped as undecodable');
    return out.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
  }

  /**
   * Purge the entries of other receivers whose newest logged batch is at or before `horizonMs` (a receiver id
   * that is gone for good — a replaced pod's name — would otherwise leave its last retainBatches of blocks in the
   * bucket forever; a live receiver purges its own). Best-effort, at start; returns the receiver tokens purged.
   */
  async purgeOrphans(horizonMs: number): Promise<string[]> {
    if (!this.kv.listKeys) return [];
    const newest = new Map<string, number>();
    for (const key of await this.kv.listKeys('blk.>')) {
      // blk.<receiver>.<stream>.<batchTimeMs>.<incarnation>-<n>
      const parts = key.split('.');
      if (parts.length !== 5 || parts[1] === this.recv) continue;
      const t = Number(parts[3]);
      if (Number.isFinite(t)) newest.set(parts[1]!, Math.max(newest.get(parts[1]!) ?? 0, t));
    }
    const purged: string[] = [];
    for (const [recv, t] of newest) {
      if (t > horizonMs) continue;
      await this.kv.purge(`blk.${recv}.>`);
      await this.kv.purge(`ann.${recv}.*`);
      purged.push(recv);
    }
    if (purged.length > 0) {
      this.log.info({ receivers: purged, horizonMs, bucket: this.opts.bucket }, 'write-ahead log: purged the entries of receivers that logged nothing within the retention window (gone for good)');
    }
    return purged;
  }

  /**
   * Another receiver's logged blocks of one batch (its share, as it acked it), in block id order.
   * Final only when that receiver is gone (its log no longer grows): the caller decides that.
   */
  async readShare(receiverId: string, stream: string, batchTimeMs: number): Promise<StoredBlockRef[]> {
    const entries = await this.readEntries(`blk.${kvToken(receiverId)}.${kvToken(stream)}.${batchTimeMs}.>`);
    const out: StoredBlockRef[] = [];
    for (const { key, value } of entries) {
      const b = this.decodeBlock(key, value);
      if (b && b.stream === stream && b.batchTimeMs === batchTimeMs) out.push({ blockId: b.blockId, records: b.records, bytes: b.bytes, executorIds: b.executorIds });
    }
    return out.sort((a, b) => (a.blockId < b.blockId ? -1 : a.blockId > b.blockId ? 1 : 0));
  }

  /** The seq ranges of one pusher session that another receiver logged as stored for `stream` (within its retention). */
  async readSessionRanges(receiverId: string, stream: string, sessionId: string): Promise<PushRange[]> {
    const entries = await this.readEntries(`blk.${kvToken(receiverId)}.${kvToken(stream)}.>`);
    const out: PushRange[] = [];
    for (const { key, value } of entries) {
      const b = this.decodeBlock(key, value);
      if (!b || b.stream !== stream || !b.pushes) continue;
      for (const r of b.pushes) if (r[0] === sessionId) out.push(r as PushRange);
    }
    return out;
  }

  private async readEntries(filter: string): Promise<Array<{ key: string; value: Uint8Array }>> {
    try {
      return await this.kv.entries(filter);
    } catch (e) {
      throw new UnavailableError(`cannot read the receivers' write-ahead log (JetStream KV bucket "${this.opts.bucket}"): ${errorMessage(e)}`, { cause: e });
    }
  }

  private decodeBlock(key: string, value: Uint8Array): z.infer<typeof blockRecordSchema> | undefined {
    let raw: unknown;
    try {
      raw = unpackValue<unknown>(value);
    } catch (e) {
      rejectInput(`kv:${this.opts.bucket}`, `write-ahead log record ${key} is not MessagePack: ${errorMessage(e)}`, this.log);
      return undefined;
    }
    return checkInput(blockRecordSchema, raw, `kv:${this.opts.bucket}`, this.log);
  }

  private streamLog(stream: string): StreamLog {
    let s = this.streams.get(stream);
    if (!s) {
      s = { token: kvToken(stream), batches: new Set(), markerBusy: false, markerNext: undefined, retentionLogged: false };
      this.streams.set(stream, s);
    }
    return s;
  }

  private async writeMarker(stream: string, s: StreamLog): Promise<void> {
    s.markerBusy = true;
    try {
      while (s.markerNext !== undefined) {
        const t = s.markerNext;
        s.markerNext = undefined;
        try {
          await this.kv.put(`ann.${this.recv}.${s.token}`, packValue({ format: FORMAT, stream, batchTimeMs: t }));
        } catch (e) {
          // Harmless: a restart re-announces these batches (same blocks; the scheduler ignores duplicates).
          this.log.warn({ stream, batchTimeMs: t, err: errorMessage(e) }, 'could not record an announced batch in the write-ahead log');
        }
      }
    } finally {
      s.markerBusy = false;
    }
  }

  /** Purge the logged blocks of every batch at or before `horizonMs`. */
  private prune(stream: string, s: StreamLog, horizonMs: number): void {
    for (const t of s.batches) {
      if (t > horizonMs) continue;
      s.batches.delete(t);
      if (!s.retentionLogged) {
        s.retentionLogged = true;
        this.log.info(
          { stream, retainBatches: this.opts.retainBatches, bucket: this.opts.bucket },
          'write-ahead log: purging blocks of batches older than retainBatches (each purge is logged at debug level)',
        );
      }
      this.log.debug({ stream, batchTimeMs: t }, 'write-ahead log: purging the blocks of a batch out of the retention window');
      this.kv
        .purge(`blk.${this.recv}.${s.token}.${t}.>`)
        .catch((e: unknown) =>
          this.log.warn({ stream, batchTimeMs: t, err: errorMessage(e) }, 'could not purge old write-ahead log entries; they are purged at the next start'),
        );
    }
  }
}
