/**
 * The receiver's domain core: from accepted pushes to acknowledged records and
 * announced batches. Per active stream it runs a BlockGenerator (cutting) and
 * a BatchTracker (allocations, announcements); every sealed block goes to the
 * BlockReplicator, and only when that resolves are the block's pushes acked
 * (stored) or nacked (code 14 UNAVAILABLE, stored nowhere).
 *
 * Semantics the rest of the system relies on:
 * - ack{seq} means every record of that push is in block `blockId` of batch
 *   `batchTimeMs`, stored on at least one executor (on `replication` unless too
 *   few were alive, which is logged) and recorded in the write-ahead log
 *   (allocation-log.ts; log before ack, as Spark's ReceivedBlockTracker does),
 *   so a receiver killed before announcing the batch recovers it on restart.
 *   A block the log cannot record is nacked UNAVAILABLE. Acks of one Push call
 *   may arrive out of seq order: blocks replicate concurrently.
 * - batch.ready(stream, T) is published once per (stream, T), in time order per
 *   stream, for every active stream at every batch boundary from its first
 *   batch on, empty or not, after all blocks of T are stored or failed; it
 *   lists only stored blocks.
 * - Backpressure, two layers. (1) The stream's ingest rate, set by the
 *   scheduler's rate controller (`setRateLimits`, rate-limiter.ts): a push is
 *   held until its admission time, so its ack comes later and a pusher with a
 *   bounded window slows to the rate; a push that would wait longer than
 *   rateLimitMaxDelay is nacked RESOURCE_EXHAUSTED with `retryAfterMs` and
 *   nothing of it is kept. (2) Memory: bytes accepted but not yet acked or
 *   nacked (held ones included) are bounded by maxBufferedBytes; crossing it
 *   calls onBackpressure(true) (the server stops reading client streams) and
 *   falling below calls onBackpressure(false). Nothing is dropped: every
 *   accepted push is acked or nacked.
 * - Idempotent retries: a session with an id (PushOpen.session_id) is
 *   deduplicated by (stream, session, seq) (push-dedupe.ts): a seq stored
 *   before is acked again with `duplicate`, one still being stored is
 *   answered when that finishes, and neither is stored twice. Each logged
 *   block carries its (session, seq) ranges, so this survives a restart.
 * - A push on a stream no running job reads any more (the scheduler said so
 *   since the call opened) ends the call with FAILED_PRECONDITION naming the
 *   stream. Records accepted before the receiver learned it are still stored,
 *   acked and announced (a stopped job does not read them).
 *
 * GetBatchBlocks(stream, T) answers, in order: T's allocation if known
 * (announced, in progress, or recovered from the log); NOT_FOUND when T is at
 * or before the retention window (now's boundary − retainBatches × interval);
 * incomplete while a block generator may still own T; otherwise complete with
 * no blocks — a batch no generator of this process owned and the log has
 * nothing of (e.g. its interval passed while the receiver was down, or before
 * the stream was activated) had nothing acked in it, so the scheduler can move
 * on instead of waiting forever.
 *
 * A stream that stops being active keeps its generator while Push calls on it
 * are open (so their records still get acked and announced); at the first
 * batch boundary with no open call it is retired.
 *
 * Everything here runs on the event loop without awaits in the middle of a
 * state change; replication results come back as callbacks that each apply
 * one whole transition.
 */
import { status as Status } from '@grpc/grpc-js';
import { context, trace, type Span } from '@opentelemetry/api';
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { checkPushedRecords } from '../../lib/codec/records.js';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError, RivuletError, UnavailableError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { encodeToken, type BatchReadyMessage } from '../../lib/nats/subjects.js';
import { BatchTracker, type BatchLookup } from './batch-tracker.js';
import { BlockGenerator, type SealedBlock } from './block-generator.js';
import type { BlockReplicator } from './block-replicator.js';
import type { AllocationLog, RecoveredStream } from './allocation-log.js';
import { PushDedupe, pushRanges, type PushRange } from './push-dedupe.js';
import { IngestRateLimiter } from './rate-limiter.js';
import { instruments } from '../../lib/telemetry/metrics.js';
import { Attr, failSpan, tracer } from '../../lib/telemetry/tracing.js';

export interface AckInfo {
  seq: number;
  count: number;
  blockId: string;
  batchTimeMs: number;
  /** A retry of a seq this session stored before: not stored again. */
  duplicate?: boolean;
}

/** Where one Push call's outcomes go (server.ts writes them to the call). */
export interface PushSink {
  ack(ack: AckInfo): void;
  /** `retryAfterMs`: with RESOURCE_EXHAUSTED from the rate limit, when to re-send. */
  nack(seq: number, code: number, message: string, retryAfterMs?: number): void;
  /** Every accepted push of the session has been acked or nacked. */
  drained?(): void;
}

export interface IngestOptions {
  receiverId: string;
  /** Differs on every process start; part of every block id. Letters, digits, '-' and '_' only. */
  incarnation: string;
  blockIntervalMs: number;
  batchIntervalMs: number;
  maxBlockBytes: number;
  maxBufferedBytes: number;
  /** Announced batches kept per stream for GetBatchBlocks. */
  retainBatches: number;
  clock: Clock;
  replicator: BlockReplicator;
  /** Publish a batch announcement (NATS `batch.ready`). */
  announce(message: BatchReadyMessage): void;
  log: Logger;
  onBackpressure?(paused: boolean): void;
  /** A push held for the stream's rate limit longer than this is refused instead (RESOURCE_EXHAUSTED with a retry hint). @default 2000 */
  rateLimitMaxDelayMs?: number;
  /** How long an idle pusher session's seqs are remembered for deduplication. @default 600000 */
  pushDedupeRetentionMs?: number;
  /** Most pusher sessions remembered; a new one beyond it is refused RESOURCE_EXHAUSTED. @default 10000 */
  maxPushSessions?: number;
  /**
   * The write-ahead log of allocations. Absent (unit tests only), allocations
   * live in memory alone and a crash loses the acked records of unannounced batches.
   */
  wal?: Pick<AllocationLog, 'logBlock' | 'markAnnounced'>;
}

interface PushRef {
  session: PushSession;
  /** The pusher session id (dedupe), when the call gave one. */
  sessionId: string | undefined;
  seq: number;
  count: number;
  bytes: number;
}

/** A retry of a seq still being stored: answered when the first store settles. */
interface Waiter {
  session: PushSession;
  seq: number;
  count: number;
}

/** A push waiting for its admission time under the stream's rate limit. */
interface HeldPush {
  ref: PushRef;
  payload: Buffer;
  atMs: number;
}

interface StreamState {
  stream: string;
  token: string;
  active: boolean;
  sessions: number;
  generator: BlockGenerator<PushRef> | undefined;
  tracker: BatchTracker;
  lastClosedMs: number | undefined;
  /** Pushes paced by the rate limit, in admission order. */
  held: HeldPush[];
  heldTimer: TimerHandle | undefined;
  /** Records acked (stored) since the stream's state was made, for the receiver heartbeat's rates. */
  ackedRecords: number;
  /** The earliest batch recovered from the write-ahead log (an earlier process acked records in it), if any. */
  firstRecoveredMs: number | undefined;
}

type Lifecycle = 'running' | 'draining' | 'stopped';

/** One Push call's view of the ingest: protocol checks (seq order, payload) and its pending count. */
export class PushSession {
  private lastSeq: number | undefined;
  private pendingPushes = 0;
  private detached = false;

  /** @internal Created by Ingest.open. */
  constructor(
    private readonly ingest: Ingest,
    readonly stream: string,
    private readonly sink: PushSink,
    /** The pusher's session id, for deduplication; undefined: none. */
    readonly sessionId?: string,
  ) {}

  /** Pushes accepted but not yet acked or nacked. */
  get pending(): number {
    return this.pendingPushes;
  }

  /**
   * Accept one push. Throws InvalidArgumentError for a non-increasing seq or a
   * malformed payload, UnavailableError when the receiver is shutting down;
   * either way nothing of the push was accepted.
   */
  push(seq: number, count: number, payload: Buffer): void {
    if (this.detached) throw new Error('push on a detached session');
    if (!Number.isSafeInteger(seq) || seq < 0) throw new InvalidArgumentError(`records.seq ${seq} is not a valid sequence number`);
    // With a session, seq names the message within the session (retries re-send it); without, it must increase.
    if (this.sessionId === undefined && this.lastSeq !== undefined && seq <= this.lastSeq) {
      throw new InvalidArgumentError(`records.seq must increase within a Push call: got ${seq} after ${this.lastSeq}`);
    }
    if (!(count >= 1)) throw new InvalidArgumentError(`records seq ${seq}: batch.count must be at least 1`);
    const problem = checkPushedRecords(payload, count);
    if (problem) throw new InvalidArgumentError(`records seq ${seq}: ${problem}`);
    this.ingest.assertActive(this.stream);
    this.lastSeq = seq;
    if (this.sessionId !== undefined) {
      const verdict = this.ingest.dedupeCheck(this.stream, this.sessionId, seq);
      if (verdict.kind === 'acked') {
        this.ingest.countDuplicate(this.stream, count);
        const a = verdict.ack;
        this.sink.ack({ seq, count, blockId: a?.blockId ?? '', batchTimeMs: a?.batchTimeMs ?? 0, duplicate: true });
        return;
      }
      if (verdict.kind === 'pending') {
        this.pendingPushes++;
        verdict.waiters.push({ session: this, seq, count });
        return;
      }
    }
    const ref: PushRef = { session: this, sessionId: this.sessionId, seq, count, bytes: payload.length };
    this.pendingPushes++;
    let admitted: boolean;
    try {
      admitted = this.ingest.accept(this, ref, payload);
    } catch (err) {
      this.pendingPushes--;
      throw err;
    }
    if (!admitted) this.pendingPushes--;
  }

  /** @internal A refusal decided at acceptance (rate limit): nothing was kept. */
  refuse(seq: number, code: number, message: string, retryAfterMs?: number): void {
    if (!this.detached) this.sink.nack(seq, code, message, retryAfterMs);
  }

  /** @internal A retry that waited for the first store of its seq. */
  settleWaiter(w: Waiter, outcome: { ack: AckInfo } | { code: number; message: string }): void {
    this.pendingPushes--;
    if (this.detached) return;
    if ('ack' in outcome) this.sink.ack({ ...outcome.ack, seq: w.seq, count: w.count, duplicate: true });
    else this.sink.nack(w.seq, outcome.code, outcome.message);
    if (this.pendingPushes === 0) this.sink.drained?.();
  }

  /** The call ended: later outcomes are dropped (the records are still stored and announced). */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.ingest.detach(this);
  }

  /** @internal */
  settle(ref: PushRef, outcome: { ack: AckInfo } | { code: number; message: string }): void {
    this.pendingPushes--;
    if (this.detached) return;
    if ('ack' in outcome) this.sink.ack(outcome.ack);
    else this.sink.nack(ref.seq, outcome.code, outcome.message);
    if (this.pendingPushes === 0) this.sink.drained?.();
  }
}

export class Ingest {
  private readonly streams = new Map<string, StreamState>();
  private lifecycle: Lifecycle = 'running';
  private buffered = 0;
  private pausedNow = false;
  private inflightBlocks = 0;
  private blockCounter = 0;
  private drainWaiters: Array<() => void> = [];
  private readonly log: Logger;
  /**
   * The trace of each (stream, batch) being received: its `rivulet.input`
   * span, the root of the batch's trace (docs/telemetry.md), from the first
   * sealed block to batch.ready.
   */
  private readonly inputSpans = new Map<string, Span>();
  private readonly limiter: IngestRateLimiter;
  private readonly dedupe: PushDedupe<Waiter>;
  /** Called when a stream's block generator starts (main.ts heartbeats at once: the scheduler learns its first batch). */
  onStreamStarted: (() => void) | undefined;

  constructor(private readonly opts: IngestOptions) {
    if (!/^[A-Za-z0-9_-]+$/.test(opts.incarnation)) throw new RangeError(`incarnation '${opts.incarnation}' must be a NATS-safe token`);
    this.log = opts.log;
    this.limiter = new IngestRateLimiter(opts.rateLimitMaxDelayMs ?? 2000);
    this.dedupe = new PushDedupe<Waiter>({ retentionMs: opts.pushDedupeRetentionMs ?? 600_000, maxSessions: opts.maxPushSessions ?? 10_000 });
  }

  /** Backpressure's ingest rates (NATS `rivulet.rate-limits`): a full snapshot; streams not in it are not limited. */
  setRateLimits(limits: ReadonlyArray<{ stream: string; recordsPerSecond: number }>): void {
    const remap = this.limiter.setLimits(limits, this.opts.clock.now());
    for (const [stream, at] of remap) {
      const state = this.streams.get(stream);
      if (!state || state.held.length === 0) continue;
      for (const h of state.held) h.atMs = at(h.atMs);
      if (state.heldTimer) this.opts.clock.clearTimeout(state.heldTimer);
      state.heldTimer = undefined;
      this.releaseHeld(state, this.opts.clock.now());
    }
  }

  /**
   * Per stream with a running generator: the first batch this receiver owns (the scheduler waits
   * for this receiver's share of a batch only from then on) and the records acked so far (a counter).
   */
  streamsSummary(): Array<{ stream: string; firstBatchTimeMs: number; ackedRecords: number }> {
    const out: Array<{ stream: string; firstBatchTimeMs: number; ackedRecords: number }> = [];
    for (const state of this.streams.values()) {
      if (!state.generator?.running) continue;
      // A restarted receiver holds (in its log) what its previous process acked: it owns those batches too.
      const first = Math.min(state.generator.firstBatchTimeMs, state.firstRecoveredMs ?? Number.POSITIVE_INFINITY);
      out.push({ stream: state.stream, firstBatchTimeMs: first, ackedRecords: state.ackedRecords });
    }
    return out;
  }

  /**
   * A pusher session failing over from another receiver: the seqs that receiver logged as stored
   * (read from its write-ahead log) are remembered here as stored, so a retry of one is acked `duplicate`.
   */
  adoptSessionRanges(stream: string, ranges: readonly PushRange[]): void {
    if (ranges.length > 0) this.dedupe.restore(stream, ranges, this.opts.clock.now());
  }

  /** The rate limit now enforced on a stream (records/s), if any. */
  rateLimit(stream: string): number | undefined {
    return this.limiter.limit(stream);
  }

  /** Pusher sessions remembered for deduplication. */
  get pushSessions(): number {
    return this.dedupe.size;
  }

  /** Bytes accepted but not yet acked or nacked, across all streams. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True while bufferedBytes ≥ maxBufferedBytes: client streams must not be read. */
  get paused(): boolean {
    return this.pausedNow;
  }

  get state(): Lifecycle {
    return this.lifecycle;
  }

  /** The batch interval every announced batch time is a multiple of. */
  get batchIntervalMs(): number {
    return this.opts.batchIntervalMs;
  }

  /** Replace the set of active streams (a full snapshot from the StreamRegistry). */
  setActiveStreams(active: ReadonlySet<string>): void {
    for (const state of this.streams.values()) state.active = active.has(state.stream);
    for (const stream of active) {
      const state = this.stateOf(stream);
      state.active = true;
      if (this.lifecycle === 'running') this.ensureGenerator(state);
    }
  }

  /**
   * Start a Push session on an active stream (the caller checked it with the
   * StreamRegistry). `sessionId`: the pusher's session, for deduplication.
   * Throws ResourceExhaustedError when maxPushSessions are remembered already.
   */
  open(stream: string, sink: PushSink, sessionId?: string): PushSession {
    if (this.lifecycle !== 'running') throw new UnavailableError('receiver is shutting down');
    if (sessionId !== undefined && !this.dedupe.open(stream, sessionId, this.opts.clock.now())) {
      throw new ResourceExhaustedError(
        `receiver ${this.opts.receiverId} remembers ${this.dedupe.size} pusher sessions already (maxPushSessions); ` +
          'idle ones are forgotten after pushDedupeRetention — retry later',
      );
    }
    const state = this.stateOf(stream);
    // The registry said a job reads it; NATS may not have told us yet.
    state.active = true;
    this.ensureGenerator(state);
    state.sessions++;
    return new PushSession(this, stream, sink, sessionId);
  }

  /** @internal Throws FailedPreconditionError when no running job reads `stream` any more. */
  assertActive(stream: string): void {
    if (this.streams.get(stream)?.active) return;
    throw new FailedPreconditionError(`no running job reads stream '${stream}' any more (its last job stopped); the push is refused`);
  }

  /** @internal */
  dedupeCheck(stream: string, sessionId: string, seq: number) {
    return this.dedupe.check(stream, sessionId, seq, this.opts.clock.now());
  }

  /** @internal */
  countDuplicate(stream: string, records: number): void {
    instruments().receiverRecords.add(records, { [Attr.STREAM]: stream, 'rivulet.outcome': 'duplicate' });
  }

  /**
   * Process start: put back what the write-ahead log holds (allocation-log.ts
   * `recover`). Every recovered batch becomes complete with its logged blocks
   * and is announced unless the previous process recorded it as announced; a
   * stream's next generator starts after its last recovered batch, so no batch
   * is ever owned twice. Call before any session is opened.
   */
  recover(streams: readonly RecoveredStream[]): void {
    for (const r of streams) {
      const state = this.stateOf(r.stream);
      if (state.generator || state.tracker.pendingBatches > 0) throw new Error(`cannot recover stream '${r.stream}': it is already receiving`);
      let records = 0;
      let reannounced = 0;
      if (r.batches.length > 0) state.firstRecoveredMs = Math.min(state.firstRecoveredMs ?? Number.POSITIVE_INFINITY, r.batches[0]!.batchTimeMs);
      for (const b of r.batches) {
        const announced = r.lastAnnouncedMs !== undefined && b.batchTimeMs <= r.lastAnnouncedMs;
        if (!announced) reannounced++;
        records += b.blocks.reduce((n, x) => n + x.records, 0);
        state.tracker.restore(
          b.batchTimeMs,
          b.blocks.map(({ blockId, records: n, bytes, executorIds }) => ({ blockId, records: n, bytes, executorIds })),
          announced,
        );
        for (const blk of b.blocks) if (blk.pushes) this.dedupe.restore(r.stream, blk.pushes, this.opts.clock.now());
      }
      const last = Math.max(r.batches.at(-1)?.batchTimeMs ?? 0, r.lastAnnouncedMs ?? 0);
      if (last > 0) state.lastClosedMs = Math.max(state.lastClosedMs ?? 0, last);
      this.log.info(
        { stream: r.stream, batches: r.batches.length, records, announcedNow: reannounced, lastAnnouncedMs: r.lastAnnouncedMs, nextBatchAfterMs: state.lastClosedMs },
        'recovered batches from the write-ahead log',
      );
    }
  }

  /** The allocation of one batch (GetBatchBlocks); the rules are in this module's header. */
  getBatchBlocks(stream: string, batchTimeMs: number): BatchLookup {
    const interval = this.opts.batchIntervalMs;
    if (!Number.isSafeInteger(batchTimeMs) || batchTimeMs <= 0 || batchTimeMs % interval !== 0) {
      throw new InvalidArgumentError(`batch time ${batchTimeMs} is not a multiple of the batch interval ${interval} ms`);
    }
    const state = this.streams.get(stream);
    if (!state) throw new NotFoundError(`receiver ${this.opts.receiverId} has no batches of stream '${stream}'`);
    const known = state.tracker.lookup(batchTimeMs);
    if (known) return known;
    const boundary = Math.floor(this.opts.clock.now() / interval) * interval;
    const forgotten = () =>
      new NotFoundError(
        `receiver ${this.opts.receiverId} (incarnation ${this.opts.incarnation}) has no allocation for batch ${batchTimeMs} of stream '${stream}': ` +
          `it keeps the last ${this.opts.retainBatches} batches per stream`,
      );
    if (batchTimeMs <= boundary - this.opts.retainBatches * interval) throw forgotten();
    const gen = state.generator;
    if (gen?.running && batchTimeMs >= gen.firstBatchTimeMs) {
      // Still to come (open, or in the future), unless it was closed and forgotten.
      if (batchTimeMs > (state.lastClosedMs ?? -Infinity)) return { complete: false, blocks: [] };
      throw forgotten();
    }
    // Without a running generator, one started now would own the batch after `boundary` on.
    if (!gen?.running && batchTimeMs > boundary) return { complete: false, blocks: [] };
    // No generator of this process owned it and the log has nothing of it: nothing was acked in it.
    return { complete: true, blocks: [] };
  }

  /**
   * Graceful stop: refuse new sessions, keep cutting until the next batch
   * boundary, then seal and announce that batch normally and resolve once every
   * block is stored or failed (every accepted push acked or nacked). Pushes
   * after that boundary are refused with UNAVAILABLE.
   */
  stop(): Promise<void> {
    if (this.lifecycle === 'running') {
      this.lifecycle = 'draining';
      // Held pushes were accepted: they go into this last batch, unpaced.
      for (const state of this.streams.values()) this.releaseHeld(state, Number.POSITIVE_INFINITY);
      for (const state of this.streams.values()) state.generator?.stopAtNextBoundary();
    }
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      this.checkDrained();
    });
  }

  /** Stop at once: buffered pushes not in a block are nacked UNAVAILABLE. For tests and forced shutdowns. */
  dispose(): void {
    this.lifecycle = 'stopped';
    for (const span of this.inputSpans.values()) span.end();
    this.inputSpans.clear();
    for (const state of this.streams.values()) {
      if (state.heldTimer) this.opts.clock.clearTimeout(state.heldTimer);
      state.heldTimer = undefined;
      const refs = [...state.held.map((h) => h.ref), ...(state.generator?.dispose() ?? [])];
      state.held = [];
      state.generator = undefined;
      for (const ref of refs) {
        this.buffered -= ref.bytes;
        this.release(ref, { code: Status.UNAVAILABLE, message: 'receiver stopped before the records were stored' });
      }
    }
    this.updatePressure();
    this.checkDrained();
  }

  /**
   * @internal PushSession.push → buffer the payload in its stream's generator,
   * now or (rate limit) at its admission time. Returns false when the rate
   * limit refused it (the session was told, nothing was kept).
   */
  accept(session: PushSession, ref: PushRef, payload: Buffer): boolean {
    const state = this.streams.get(session.stream);
    const gen = state?.generator;
    if (!state || !gen || !gen.running) throw new UnavailableError('receiver is shutting down: records after its last batch are not accepted');
    const now = this.opts.clock.now();
    // Draining: the last batch takes whatever is accepted, unpaced.
    const admission = this.lifecycle === 'running' ? this.limiter.admit(state.stream, ref.count, now) : { ok: true as const, delayMs: 0 };
    if (!admission.ok) {
      instruments().receiverRecords.add(ref.count, { [Attr.STREAM]: state.stream, 'rivulet.outcome': 'throttled' });
      session.refuse(
        ref.seq,
        Status.RESOURCE_EXHAUSTED,
        `stream '${state.stream}' is over its ingest rate limit of ${Math.round(admission.recordsPerSecond)} records/s (backpressure); ` +
          `retry in ${admission.retryAfterMs} ms`,
        admission.retryAfterMs,
      );
      return false;
    }
    if (ref.sessionId !== undefined) this.dedupe.begin(state.stream, ref.sessionId, ref.seq, now);
    this.buffered += payload.length;
    if (admission.delayMs > 0 || state.held.length > 0) {
      state.held.push({ ref, payload, atMs: now + admission.delayMs });
      this.scheduleHeld(state);
    } else if (!gen.add(payload, ref.count, ref)) {
      this.buffered -= payload.length;
      if (ref.sessionId !== undefined) this.dedupe.settle(state.stream, ref.sessionId, ref.seq, undefined, now);
      throw new UnavailableError('receiver is shutting down: records after its last batch are not accepted');
    }
    this.updatePressure();
    return true;
  }

  private scheduleHeld(state: StreamState): void {
    if (state.heldTimer || state.held.length === 0) return;
    const wait = Math.max(0, state.held[0]!.atMs - this.opts.clock.now());
    state.heldTimer = this.opts.clock.setTimeout(() => {
      state.heldTimer = undefined;
      this.releaseHeld(state, this.opts.clock.now());
    }, wait);
  }

  /** Move the held pushes due by `untilMs` into the stream's generator (in order). */
  private releaseHeld(state: StreamState, untilMs: number): void {
    let i = 0;
    for (; i < state.held.length && state.held[i]!.atMs <= untilMs; i++) {
      const { ref, payload } = state.held[i]!;
      if (!state.generator || !state.generator.add(payload, ref.count, ref)) {
        this.buffered -= ref.bytes;
        this.release(ref, { code: Status.UNAVAILABLE, message: 'receiver is shutting down: records after its last batch are not accepted' });
      }
    }
    if (i > 0) state.held.splice(0, i);
    if (state.held.length === 0 && state.heldTimer) {
      this.opts.clock.clearTimeout(state.heldTimer);
      state.heldTimer = undefined;
    }
    this.updatePressure();
    this.scheduleHeld(state);
  }

  /** @internal */
  detach(session: PushSession): void {
    const state = this.streams.get(session.stream);
    if (state) state.sessions--;
  }

  private stateOf(stream: string): StreamState {
    let state = this.streams.get(stream);
    if (!state) {
      state = {
        stream,
        token: encodeToken(stream),
        active: false,
        sessions: 0,
        generator: undefined,
        tracker: new BatchTracker({
          stream,
          batchIntervalMs: this.opts.batchIntervalMs,
          retainBatches: this.opts.retainBatches,
          announce: (msg) => this.announce(msg),
        }),
        lastClosedMs: undefined,
        held: [],
        heldTimer: undefined,
        ackedRecords: 0,
        firstRecoveredMs: undefined,
      };
      this.streams.set(stream, state);
    }
    return state;
  }

  private ensureGenerator(state: StreamState): void {
    if (state.generator) return;
    const gen: BlockGenerator<PushRef> = new BlockGenerator<PushRef>(
      {
        stream: state.stream,
        blockIntervalMs: this.opts.blockIntervalMs,
        batchIntervalMs: this.opts.batchIntervalMs,
        maxBlockBytes: this.opts.maxBlockBytes,
        clock: this.opts.clock,
        // A re-activated stream continues after the last batch it announced.
        minBatchTimeMs: state.lastClosedMs !== undefined ? state.lastClosedMs + this.opts.batchIntervalMs : undefined,
        newBlockId: (batchTimeMs) =>
          `input.${encodeToken(this.opts.receiverId)}.${this.opts.incarnation}.${state.token}.${batchTimeMs}.${++this.blockCounter}`,
      },
      {
        onBlock: (block) => this.onBlock(state, block),
        onBatchClosed: (batchTimeMs) => this.onBatchClosed(state, gen, batchTimeMs),
      },
    );
    state.generator = gen;
    gen.start();
    this.onStreamStarted?.();
    this.log.debug({ stream: state.stream, firstBatchTimeMs: gen.firstBatchTimeMs }, 'cutting blocks for stream');
  }

  private inputSpan(stream: string, batchTimeMs: number): Span {
    const key = `${stream}@${batchTimeMs}`;
    let span = this.inputSpans.get(key);
    if (!span) {
      span = tracer().startSpan('rivulet.input', {
        root: true,
        attributes: { [Attr.STREAM]: stream, [Attr.BATCH_TIME_MS]: batchTimeMs, [Attr.RECEIVER_ID]: this.opts.receiverId },
      });
      this.inputSpans.set(key, span);
    }
    return span;
  }

  private onBlock(state: StreamState, block: SealedBlock<PushRef>): void {
    const blockSpan = tracer().startSpan(
      'rivulet.block',
      { attributes: { [Attr.STREAM]: block.stream, [Attr.BATCH_TIME_MS]: block.batchTimeMs, [Attr.BLOCK_ID]: block.blockId, [Attr.RECORDS_IN]: block.records, [Attr.BLOCK_BYTES]: block.bytes } },
      trace.setSpan(context.active(), this.inputSpan(state.stream, block.batchTimeMs)),
    );
    context.with(trace.setSpan(context.active(), blockSpan), () => this.storeBlock(state, block, blockSpan));
  }

  /** Replicate a sealed block (its PutBlock calls are children of `blockSpan`). */
  private storeBlock(state: StreamState, block: SealedBlock<PushRef>, blockSpan: Span): void {
    state.tracker.blockSealed(block.batchTimeMs, block.blockId, block.records, block.bytes);
    this.inflightBlocks++;
    this.log.debug({ stream: state.stream, blockId: block.blockId, batchTimeMs: block.batchTimeMs, records: block.records, bytes: block.bytes }, 'block sealed');
    const toStore = { blockId: block.blockId, stream: block.stream, records: block.records, payload: block.payload };
    // Deferred so a replicator that throws synchronously still ends in a nack.
    Promise.resolve()
      .then(() => this.opts.replicator.replicate(toStore))
      .then(async (replicas) => {
        // Log before ack: the allocation is durable before any client hears "stored".
        if (this.opts.wal && replicas.executorIds.length > 0) {
          await this.opts.wal.logBlock({
            stream: state.stream,
            batchTimeMs: block.batchTimeMs,
            blockId: block.blockId,
            records: block.records,
            bytes: block.bytes,
            executorIds: replicas.executorIds,
            pushes: pushRanges(block.pushes),
          });
        }
        return replicas;
      })
      .then(
        (replicas) => this.onReplicated(state, block, replicas.executorIds, undefined, blockSpan),
        (err: unknown) => this.onReplicated(state, block, undefined, err, blockSpan),
      );
  }

  /** One whole transition: settle every push of the block, then let the tracker announce. */
  private onReplicated(state: StreamState, block: SealedBlock<PushRef>, executorIds: string[] | undefined, err?: unknown, blockSpan?: Span): void {
    this.inflightBlocks--;
    const stored = !!executorIds && executorIds.length > 0;
    blockSpan?.setAttribute(Attr.BLOCK_REPLICAS, executorIds?.length ?? 0);
    if (!stored && blockSpan) failSpan(blockSpan, `block not stored: ${err ? errorMessage(err) : 'no replica confirmed'}`);
    blockSpan?.end();
    const m = instruments();
    m.receiverRecords.add(block.records, { [Attr.STREAM]: state.stream, 'rivulet.outcome': stored ? 'acked' : 'rejected' });
    if (stored) m.receiverBlocks.add(1, { [Attr.STREAM]: state.stream });
    if (executorIds && executorIds.length > 0) {
      state.ackedRecords += block.records;
      for (const ref of block.pushes) {
        this.release(ref, { ack: { seq: ref.seq, count: ref.count, blockId: block.blockId, batchTimeMs: block.batchTimeMs } });
      }
    } else {
      const message =
        err instanceof UnavailableError ? err.message : `block ${block.blockId} could not be stored: ${err ? errorMessage(err) : 'no replica confirmed'}`;
      const code = err instanceof RivuletError ? err.code : Status.UNAVAILABLE;
      this.log.error({ stream: state.stream, blockId: block.blockId, pushes: block.pushes.length, records: block.records, err }, 'block not stored; nacking its pushes');
      for (const ref of block.pushes) this.release(ref, { code, message });
      executorIds = undefined;
    }
    // The block's bytes leave the buffer once, whatever the outcome.
    this.buffered -= block.bytes;
    this.updatePressure();
    state.tracker.blockResolved(block.batchTimeMs, block.blockId, executorIds);
    this.checkDrained();
  }

  private onBatchClosed(state: StreamState, gen: BlockGenerator<PushRef>, batchTimeMs: number): void {
    state.lastClosedMs = batchTimeMs;
    const forgotten = this.dedupe.sweep(this.opts.clock.now());
    if (forgotten > 0) this.log.debug({ forgotten, remembered: this.dedupe.size }, 'idle pusher sessions forgotten (pushDedupeRetention)');
    state.tracker.batchClosed(batchTimeMs);
    if (!gen.running) {
      // Stopped at this boundary (graceful stop).
      if (state.generator === gen) state.generator = undefined;
      this.checkDrained();
    } else if (!state.active && state.sessions === 0 && state.held.length === 0) {
      // No job reads it and nobody pushes: stop announcing it.
      gen.dispose();
      if (state.generator === gen) state.generator = undefined;
      this.log.info({ stream: state.stream, lastBatchTimeMs: batchTimeMs }, 'stream retired');
    }
  }

  private release(ref: PushRef, outcome: { ack: AckInfo } | { code: number; message: string }): void {
    ref.session.settle(ref, outcome);
    if (ref.sessionId === undefined) return;
    // Retries of this seq that arrived meanwhile (on this call or a newer one) get the same answer.
    const waiters = this.dedupe.settle(ref.session.stream, ref.sessionId, ref.seq, 'ack' in outcome ? outcome.ack : undefined, this.opts.clock.now());
    for (const w of waiters) w.session.settleWaiter(w, outcome);
  }

  private announce(msg: BatchReadyMessage): void {
    this.log.debug({ stream: msg.stream, batchTimeMs: msg.batchTimeMs, blocks: msg.blocks.length }, 'batch ready');
    // An empty batch's trace starts (and ends) here.
    const span = this.inputSpan(msg.stream, msg.batchTimeMs);
    this.inputSpans.delete(`${msg.stream}@${msg.batchTimeMs}`);
    span.setAttributes({ [Attr.BLOCK_COUNT]: msg.blocks.length, [Attr.RECORDS_IN]: msg.blocks.reduce((n, b) => n + b.records, 0) });
    try {
      // batch.ready carries this trace to the scheduler in its NATS headers.
      context.with(trace.setSpan(context.active(), span), () => this.opts.announce(msg));
      this.opts.wal?.markAnnounced(msg.stream, msg.batchTimeMs);
    } catch (err) {
      // NATS is best-effort here: the scheduler falls back to GetBatchBlocks.
      failSpan(span, `could not publish batch.ready: ${errorMessage(err)}`);
      this.log.warn({ err, stream: msg.stream, batchTimeMs: msg.batchTimeMs }, 'could not publish batch.ready');
    } finally {
      span.end();
    }
  }

  private updatePressure(): void {
    const paused = this.buffered >= this.opts.maxBufferedBytes;
    if (paused === this.pausedNow) return;
    this.pausedNow = paused;
    this.log.info({ bufferedBytes: this.buffered, maxBufferedBytes: this.opts.maxBufferedBytes }, paused ? 'backpressure: pausing client streams' : 'backpressure released');
    this.opts.onBackpressure?.(paused);
  }

  private checkDrained(): void {
    if (this.lifecycle === 'running' || this.inflightBlocks > 0) return;
    for (const state of this.streams.values()) if (state.generator?.running) return;
    this.lifecycle = 'stopped';
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
