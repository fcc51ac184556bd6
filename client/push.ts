/**
 * RecordPusher: push records into one input stream over one receiver Push call.
 *
 *   const pusher = new RecordPusher('127.0.0.1:7070', 'lines');
 *   await pusher.push(['to be', 'or not']);   // resolves with 2 once both are stored and acked
 *   await pusher.close();
 *
 * What a resolved `push` means: every record of that call is in a block stored
 * on the receiver's `replication` executors (or as many as were alive), and
 * will be part of the batch named in its ack. A rejected push may have been
 * partly stored (messages of it acked before the failing one); pushing again
 * with a new pusher can therefore duplicate records.
 *
 * Retries, idempotent: each pusher is a session (a random `sessionId` sent in
 * `open`) whose messages are numbered 1, 2, 3…; the receiver remembers which
 * it stored (push-dedupe.ts, across its restarts too). Transient failures —
 * the call breaking or the receiver unreachable (UNAVAILABLE), a deadline
 * (DEADLINE_EXCEEDED), the stream's rate limit or the client's push-rate
 * quota (a nack RESOURCE_EXHAUSTED, waiting the receiver's `retry_after_ms`),
 * a receiver stream quota (the call refused RESOURCE_EXHAUSTED, waiting its
 * `retry-after-ms` metadata) — are retried with exponential backoff
 * (100 ms doubling to 5 s, jittered) for up to `retryTimeoutMs` (default
 * 60 s) without progress: unacknowledged messages are re-sent with the same
 * seq on a new call, so a message the receiver stored before the failure is
 * acked again as a duplicate, never stored twice. Backpressure therefore
 * slows `push` down instead of failing it. Anything else (FAILED_PRECONDITION
 * when no running job reads the stream, INVALID_ARGUMENT, …) fails at once.
 *
 * Records are packed (lib/codec/records.ts) straight into messages of at most
 * `maxBatchRecords` records and the receiver's message size limit, checked
 * first so that nothing msgpack would change (undefined, functions, symbols,
 * bigint, Map/Set, Date, class instances) is ever sent. At most
 * `maxInFlightBytes` of packed data is unacknowledged at a time; beyond that,
 * messages wait for acks (backpressure) rather than piling up in the channel.
 *
 * A Push call that fails for good (a non-transient error, or transient ones
 * for longer than `retryTimeoutMs`) rejects every pending push with the typed
 * error — a ConnectionError naming the receiver when it cannot be reached at
 * all — and makes the pusher unusable.
 */
import { clientSecurityFromEnv, type TransportSecurity } from './credentials.js';
import { status as Status, type ClientDuplexStream, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { MAX_RECORD_DEPTH, packRecords, packValue } from '../lib/codec/records.js';
import { randomBytes } from 'node:crypto';
import {
  FailedPreconditionError,
  fromServiceError,
  InvalidArgumentError,
  isRetryable,
  retryAfterMsOf,
  UnavailableError,
  type RivuletError,
} from '../lib/errors.js';
import { dial } from '../lib/grpc/client.js';
import { typedCallError } from './connection.js';
import type { ReceiverClient } from '../lib/proto/index.js';
import type { PushRequest } from '../lib/proto/gen/rivulet/v1/PushRequest.js';
import type { PushResponse__Output } from '../lib/proto/gen/rivulet/v1/PushResponse.js';

export interface RecordPusherOptions {
  /** TLS material and credential when the pusher dials the receiver itself. @default client/credentials.ts `clientSecurityFromEnv()` */
  security?: TransportSecurity;
  /** Most records in one Push message. @default 1000 */
  maxBatchRecords?: number;
  /** Most packed bytes sent but not yet acknowledged; push() waits for acks beyond it. @default 16 MiB (16777216) */
  maxInFlightBytes?: number;
  /** Sent in `open`, for the receiver's logs. @default "" */
  clientId?: string;
  /** How long to wait for the receiver's `opened` reply. @default 10000 */
  openTimeoutMs?: number;
  /** Called after every ack with the total number of records acknowledged so far. @default undefined */
  onProgress?: (ackedTotal: number) => void;
  /**
   * How long transient failures (UNAVAILABLE, DEADLINE_EXCEEDED,
   * RESOURCE_EXHAUSTED — a broken call, a restarting receiver, backpressure)
   * are retried without progress before pushes fail; 0 = never retry.
   * @default 60000
   */
  retryTimeoutMs?: number;
  /**
   * The session id the receiver deduplicates retries by (1–64 of
   * [A-Za-z0-9_-]). Unique per pusher; give one only to resume a session.
   * @default 24 random hex characters
   */
  sessionId?: string;
  /**
   * With several receiver addresses (comma-separated): the one this pusher starts on (modulo their number);
   * `RivuletClient.pusher` gives each pusher the next, so pushers spread over the receivers. @default 0
   */
  startIndex?: number;
}

/** Most receivers a session names in PushOpen.previous_receiver_ids (the receiver's bound). */
const MAX_PREVIOUS_RECEIVERS = 16;

/** Backoff between retries of a broken call or a refused message: doubling from the first to the last, jittered ±20%. */
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 5000;
/** Longest a receiver's retry-after hint on a refused call is honoured. */
const HINT_MAX_MS = 30_000;

/** Room left in a message for everything but the payload (oneof tag, seq, count, length prefixes). */
const MESSAGE_OVERHEAD_BYTES = 64;
/** Deeper nesting is refused (it is almost always a cycle); the receiver refuses it too. */
const MAX_DEPTH = MAX_RECORD_DEPTH;

type PusherState = 'idle' | 'opening' | 'open' | 'closing' | 'closed' | 'failed';

interface PushOp {
  count: number;
  /** Messages not yet acked or nacked. */
  remaining: number;
  settled: boolean;
  resolve(count: number): void;
  reject(err: RivuletError): void;
}

interface OutMessage {
  seq: number;
  count: number;
  payload: Buffer;
  op: PushOp;
  /** When this message was first refused with a transient error (its retry budget runs from here). */
  failingSinceMs?: number;
}

export class RecordPusher {
  readonly stream: string;
  /** The receiver's address(es) as given, for error messages. */
  readonly address: string;
  /** The receiver addresses this pusher may use (several: it fails over from one to the next). */
  private readonly addresses: string[];
  private addressIndex = 0;
  private readonly clients = new Map<string, ReceiverClient>();
  private readonly security: TransportSecurity | undefined;
  private client: ReceiverClient;
  private readonly ownsClient: boolean;
  /** Receivers this session opened calls on (PushOpened.receiver_id), newest last. */
  private readonly receiverIds: string[] = [];
  private readonly maxBatchRecords: number;
  private readonly maxInFlightBytes: number;
  private readonly clientId: string;
  private readonly openTimeoutMs: number;
  private readonly onProgress: ((ackedTotal: number) => void) | undefined;
  private readonly retryTimeoutMs: number;
  /** The session the receiver deduplicates this pusher's messages by. */
  readonly sessionId: string;
  /** Refused messages to send again (same seq), lowest seq first, before the queue. */
  private readonly resend: OutMessage[] = [];
  /** No message is sent before this (the receiver's retry hint / backoff). */
  private pausedUntilMs = 0;
  private pauseTimer: NodeJS.Timeout | undefined;
  /** Since when calls have been failing without an `opened` in between. */
  private outageSinceMs: number | undefined;
  private reconnectAttempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private retriesValue = 0;
  /** The last ack or `opened`: a refused message's retry budget runs from the later of this and its first refusal. */
  private lastProgressMs = 0;

  private state: PusherState = 'idle';
  private call: ClientDuplexStream<PushRequest, PushResponse__Output> | undefined;
  private opening: Promise<void> | undefined;
  private openWaiter: { resolve(): void; reject(err: RivuletError): void } | undefined;
  private failure: RivuletError | undefined;
  private maxPayloadBytes = 0;
  private batchIntervalMsValue = 0;
  private nextSeq = 1;
  private readonly queue: OutMessage[] = [];
  private queueHead = 0;
  private readonly inFlight = new Map<number, OutMessage>();
  private inFlightBytes = 0;
  private ackedRecords = 0;
  private idleWaiters: Array<() => void> = [];
  private endWaiter: ((status: StatusObject | RivuletError) => void) | undefined;
  /** Reused packing buffer; grows up to the message payload limit. */
  private scratch: Buffer = Buffer.allocUnsafe(64 * 1024);

  /**
   * @param receiver a client from `dial.receiver(address)` (not closed by the pusher) or an address (the pusher dials and closes its own channel)
   * @param stream the input stream to push to; a running job must read it
   */
  constructor(receiver: ReceiverClient | string, stream: string, options: RecordPusherOptions = {}) {
    if (!stream) throw new InvalidArgumentError('RecordPusher: stream name is empty');
    this.stream = stream;
    this.ownsClient = typeof receiver === 'string';
    this.addresses = typeof receiver === 'string' ? receiver.split(',').map((a) => a.trim()).filter((a) => a.length > 0) : [];
    if (typeof receiver === 'string' && this.addresses.length === 0) throw new InvalidArgumentError('RecordPusher: no receiver address given');
    this.security = typeof receiver === 'string' ? (options.security ?? clientSecurityFromEnv()) : undefined;
    const start = options.startIndex ?? 0;
    if (!Number.isSafeInteger(start) || start < 0) throw new InvalidArgumentError(`RecordPusher option startIndex must be a non-negative integer, got ${start}`);
    this.addressIndex = this.addresses.length > 0 ? start % this.addresses.length : 0;
    this.client = typeof receiver === 'string' ? this.clientAt(this.addresses[this.addressIndex]!) : receiver;
    this.address = typeof receiver === 'string' ? receiver : this.client.getChannel().getTarget().replace(/^dns:/, '');
    this.maxBatchRecords = positiveInt(options.maxBatchRecords ?? 1000, 'maxBatchRecords');
    this.maxInFlightBytes = positiveInt(options.maxInFlightBytes ?? 16 * 1024 * 1024, 'maxInFlightBytes');
    this.clientId = options.clientId ?? '';
    this.openTimeoutMs = positiveInt(options.openTimeoutMs ?? 10_000, 'openTimeoutMs');
    this.onProgress = options.onProgress;
    const retry = options.retryTimeoutMs ?? 60_000;
    if (!Number.isSafeInteger(retry) || retry < 0) throw new InvalidArgumentError(`RecordPusher option retryTimeoutMs must be a non-negative integer, got ${retry}`);
    this.retryTimeoutMs = retry;
    this.sessionId = options.sessionId ?? randomBytes(12).toString('hex');
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(this.sessionId)) throw new InvalidArgumentError('RecordPusher option sessionId must be 1-64 characters of [A-Za-z0-9_-]');
  }

  /** Transient failures retried so far (re-opened calls and re-sent refused messages). */
  get retries(): number {
    return this.retriesValue;
  }

  /** Records acknowledged so far by this pusher. */
  get acked(): number {
    return this.ackedRecords;
  }

  /** The receiver's batch interval (known once the first push has opened the stream; 0 before). */
  get batchIntervalMs(): number {
    return this.batchIntervalMsValue;
  }

  /**
   * Send `records` and resolve with their count once every one is acknowledged.
   * Rejects with InvalidArgumentError, before sending anything, for a record
   * msgpack cannot represent faithfully or one larger than a message; with the
   * nack's typed error if the receiver could not store some of them; and with
   * the call's typed error (e.g. NotFoundError) if the Push call fails.
   */
  async push(records: readonly unknown[]): Promise<number> {
    if (!Array.isArray(records)) throw new InvalidArgumentError('push(records): records must be an array');
    this.assertUsable();
    if (records.length === 0) return 0;
    for (let i = 0; i < records.length; i++) {
      const problem = unrepresentable(records[i], 0);
      if (problem !== undefined) throw new InvalidArgumentError(`record ${i}${problem.path}: ${problem.what} cannot be pushed (records are plain data: strings, numbers, booleans, null, arrays, plain objects, Uint8Array)`);
    }
    await this.open();
    this.assertUsable();
    return new Promise<number>((resolve, reject) => {
      const op: PushOp = { count: records.length, remaining: 0, settled: false, resolve, reject };
      const messages = this.pack(records, op); // throws InvalidArgumentError before anything is queued
      op.remaining = messages.length;
      for (const m of messages) this.queue.push(m);
      this.pump();
    });
  }

  /**
   * Wait until every push is acknowledged (or refused), then half-close the
   * call and wait for the receiver to end it. Idempotent. Pushes after close()
   * reject with FailedPreconditionError.
   */
  async close(): Promise<void> {
    if (this.state === 'idle' || this.state === 'closed' || this.state === 'failed') {
      this.state = this.state === 'failed' ? 'failed' : 'closed';
      this.releaseClient();
      return;
    }
    if (this.state === 'opening') await this.opening!.catch(() => undefined);
    if (this.state === 'open') this.state = 'closing';
    await this.idle();
    const call = this.call;
    if (this.state === 'closing' && call) {
      const ended = new Promise<StatusObject | RivuletError>((resolve) => (this.endWaiter = resolve));
      call.end();
      await ended;
      this.state = 'closed';
    }
    this.releaseClient();
  }

  // ── the call ──────────────────────────────────────────────────────────

  private open(): Promise<void> {
    if (this.state === 'open') return Promise.resolve();
    if (this.opening) return this.opening;
    this.state = 'opening';
    this.opening = new Promise<void>((resolve, reject) => {
      this.openWaiter = { resolve, reject };
      this.startCall();
    });
    return this.opening;
  }

  /** Open a Push call (the first, or a new one after a transient failure) in this pusher's session. */
  private startCall(): void {
    const call = this.client.push();
    this.call = call;
    const timer = setTimeout(() => {
      if (this.call !== call || this.awaitingOpened !== call) return;
      this.call = undefined;
      call.cancel();
      this.onTransientCallFailure(new UnavailableError(`receiver did not answer open of stream '${this.stream}' within ${this.openTimeoutMs} ms`));
    }, this.openTimeoutMs);
    timer.unref?.();
    this.awaitingOpened = call;
    this.openTimer = timer;
    // Events of a call given up on (timed out, replaced) are ignored.
    call.on('data', (res: PushResponse__Output) => {
      if (this.call === call) this.onResponse(res);
    });
    call.on('error', (err: ServiceError) => {
      if (this.call === call) this.onCallError(err);
    });
    call.on('status', (status: StatusObject) => {
      if (this.call === call && status.code === Status.OK) this.onCallEnded(status);
    });
    // The receivers this session used before: the one opened now adopts what they stored of it (no duplicate on failover).
    call.write({ open: { stream: this.stream, clientId: this.clientId, sessionId: this.sessionId, previousReceiverIds: this.receiverIds } });
  }

  private awaitingOpened: ClientDuplexStream<PushRequest, PushResponse__Output> | undefined;
  private openTimer: NodeJS.Timeout | undefined;

  /**
   * The call broke (or never opened) with a transient error: keep the
   * unacknowledged messages and open a new call after a backoff, unless
   * calls have been failing for longer than retryTimeoutMs.
   */
  private onTransientCallFailure(err: RivuletError, retryAfterMs?: number): void {
    if (this.openTimer) clearTimeout(this.openTimer);
    this.awaitingOpened = undefined;
    this.call = undefined;
    const now = Date.now();
    this.outageSinceMs ??= now;
    const pending = this.inFlight.size + this.resend.length + (this.queue.length - this.queueHead);
    if (this.state === 'closing' && pending === 0) {
      this.state = 'closed';
      this.endWaiter?.(err);
      this.endWaiter = undefined;
      return;
    }
    if (now - this.outageSinceMs >= this.retryTimeoutMs) {
      const waited = now - this.outageSinceMs;
      this.fail(this.retryTimeoutMs > 0 ? withRetryNote(err, waited) : err);
      return;
    }
    if (pending === 0 && this.state === 'open') {
      // Nothing to deliver: the next push opens a new call (same session).
      this.state = 'idle';
      this.opening = undefined;
      this.outageSinceMs = undefined;
      return;
    }
    this.retriesValue++;
    // The receiver's hint, jittered so that refused pushers do not all return at once, capped by the retry budget's pace.
    const hinted = retryAfterMs !== undefined && retryAfterMs > 0 ? Math.min(HINT_MAX_MS, retryAfterMs) * (1 + Math.random() * 0.2) : 0;
    const delay = Math.max(backoff(this.reconnectAttempts++), hinted);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.state === 'failed' || this.state === 'closed') return;
      // In flight on the broken call: sent again on the new one, same seqs (the receiver deduplicates).
      for (const m of this.inFlight.values()) this.resend.push(m);
      this.inFlight.clear();
      this.inFlightBytes = 0;
      this.resend.sort((a, b) => a.seq - b.seq);
      // Several receivers: the next one (a receiver's loss must not stall this producer while it restarts).
      if (this.addresses.length > 1) {
        this.addressIndex = (this.addressIndex + 1) % this.addresses.length;
        this.client = this.clientAt(this.addresses[this.addressIndex]!);
      }
      this.startCall();
    }, delay);
  }

  private onResponse(res: PushResponse__Output): void {
    switch (res.kind) {
      case 'opened': {
        const opened = res.opened!;
        if (this.openTimer) clearTimeout(this.openTimer);
        this.awaitingOpened = undefined;
        this.outageSinceMs = undefined;
        this.reconnectAttempts = 0;
        this.lastProgressMs = Date.now();
        this.maxPayloadBytes = Math.max(1, Number(opened.maxMessageBytes) - MESSAGE_OVERHEAD_BYTES);
        this.batchIntervalMsValue = Number(opened.batchIntervalMs);
        const rid = opened.receiverId;
        if (rid && this.receiverIds.at(-1) !== rid) {
          const i = this.receiverIds.indexOf(rid);
          if (i >= 0) this.receiverIds.splice(i, 1);
          this.receiverIds.push(rid);
          if (this.receiverIds.length > MAX_PREVIOUS_RECEIVERS) this.receiverIds.shift();
        }
        if (this.state === 'opening') this.state = 'open';
        const w = this.openWaiter;
        this.openWaiter = undefined;
        w?.resolve();
        this.pump();
        return;
      }
      case 'ack': {
        const ack = res.ack!;
        const m = this.settleMessage(Number(ack.seq));
        if (!m) return;
        this.reconnectAttempts = 0;
        this.lastProgressMs = Date.now();
        this.ackedRecords += m.count;
        this.onProgress?.(this.ackedRecords);
        if (--m.op.remaining === 0 && !m.op.settled) {
          m.op.settled = true;
          m.op.resolve(m.op.count);
        }
        this.afterSettle();
        return;
      }
      case 'nack': {
        const nack = res.nack!;
        const seq = Number(nack.seq);
        const m = this.settleMessage(seq);
        if (!m) return;
        const refusal = fromServiceError({ code: nack.code, details: `push seq ${seq} refused: ${nack.message}` });
        if (!m.op.settled && isRetryable(refusal)) {
          const now = Date.now();
          m.failingSinceMs ??= now;
          if (now - Math.max(m.failingSinceMs, this.lastProgressMs) < this.retryTimeoutMs) {
            // Transient (rate limit, no executor for a moment): send it again, same seq, after the hint or a backoff.
            this.retriesValue++;
            const hint = Number(nack.retryAfterMs) || 0;
            this.pauseUntil(now + (hint > 0 ? Math.min(hint, BACKOFF_MAX_MS) : backoff(Math.min(6, this.resend.length))));
            insertBySeq(this.resend, m);
            this.afterSettle();
            return;
          }
        }
        m.op.remaining--;
        if (!m.op.settled) {
          m.op.settled = true;
          const waited = m.failingSinceMs !== undefined ? Date.now() - m.failingSinceMs : undefined;
          m.op.reject(waited !== undefined && this.retryTimeoutMs > 0 ? withRetryNote(refusal, waited) : refusal);
        }
        this.afterSettle();
        return;
      }
      default:
        return;
    }
  }

  private settleMessage(seq: number): OutMessage | undefined {
    const m = this.inFlight.get(seq);
    if (!m) return undefined;
    this.inFlight.delete(seq);
    this.inFlightBytes -= m.payload.length;
    return m;
  }

  private afterSettle(): void {
    this.pump();
    if (this.inFlight.size === 0 && this.resend.length === 0 && this.queueHead === this.queue.length) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private onCallError(err: ServiceError): void {
    const typed = typedCallError(err, 'receiver', this.address);
    if (isRetryable(typed) && this.retryTimeoutMs > 0) {
      // A receiver quota (maxConcurrentStreams, maxClientStreams) says when to come back: `retry-after-ms`.
      this.onTransientCallFailure(typed, retryAfterMsOf(err));
      return;
    }
    this.endWaiter?.(typed);
    this.endWaiter = undefined;
    this.fail(typed);
  }

  private onCallEnded(status: StatusObject): void {
    const pending = this.inFlight.size + this.resend.length + (this.queue.length - this.queueHead);
    if (pending > 0 || this.state === 'opening') {
      const err = new UnavailableError(`receiver ended the Push call of stream '${this.stream}' with ${pending} messages unacknowledged`);
      if (this.retryTimeoutMs > 0) this.onTransientCallFailure(err);
      else this.fail(err);
      return;
    } else if (this.state !== 'closing') {
      this.state = 'closed';
    }
    this.endWaiter?.(status);
    this.endWaiter = undefined;
  }

  /** The call is over: reject everything pending with `err`. */
  private fail(err: RivuletError): void {
    const ops0 = new Set<PushOp>();
    if (this.state === 'failed') return;
    const wasClosing = this.state === 'closing';
    this.state = 'failed';
    this.failure = err;
    for (const t of [this.openTimer, this.reconnectTimer, this.pauseTimer]) if (t) clearTimeout(t);
    this.call?.cancel();
    for (const m of this.resend) ops0.add(m.op);
    this.resend.length = 0;
    const w = this.openWaiter;
    this.openWaiter = undefined;
    w?.reject(err);
    const ops = ops0;
    for (const m of this.inFlight.values()) ops.add(m.op);
    for (let i = this.queueHead; i < this.queue.length; i++) ops.add(this.queue[i]!.op);
    this.inFlight.clear();
    this.inFlightBytes = 0;
    this.queue.length = 0;
    this.queueHead = 0;
    for (const op of ops) {
      if (!op.settled) {
        op.settled = true;
        op.reject(err);
      }
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const iw of waiters) iw();
    // A failure while closing with nothing pending is not the closer's problem.
    if (wasClosing && ops.size === 0) this.state = 'closed';
  }

  // ── sending ───────────────────────────────────────────────────────────

  /** Send queued messages while the in-flight budget allows (always at least one, so a big message can't stall). */
  private pump(): void {
    if ((this.state !== 'open' && this.state !== 'closing') || !this.call || this.awaitingOpened) return;
    if (Date.now() < this.pausedUntilMs) {
      // A timer may fire a little before Date.now() reaches its time: re-arm rather than stall.
      this.armPauseTimer();
      return;
    }
    while (this.resend.length > 0) {
      const m = this.resend[0]!;
      if (this.inFlight.size > 0 && this.inFlightBytes + m.payload.length > this.maxInFlightBytes) return;
      this.resend.shift();
      this.inFlight.set(m.seq, m);
      this.inFlightBytes += m.payload.length;
      this.call.write({ records: { seq: m.seq, batch: { count: m.count, payload: m.payload } } });
    }
    while (this.queueHead < this.queue.length) {
      const m = this.queue[this.queueHead]!;
      if (this.inFlight.size > 0 && this.inFlightBytes + m.payload.length > this.maxInFlightBytes) break;
      this.queue[this.queueHead++] = undefined as never;
      m.seq = this.nextSeq++;
      this.inFlight.set(m.seq, m);
      this.inFlightBytes += m.payload.length;
      this.call.write({ records: { seq: m.seq, batch: { count: m.count, payload: m.payload } } });
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    }
  }

  /**
   * Pack records into messages of at most `maxBatchRecords` records and
   * `maxPayloadBytes` bytes, in order. Each run of `maxBatchRecords` records is
   * packed in one go; a run that packs over the byte limit is cut record by
   * record instead, each record copied once into the reusable scratch buffer.
   */
  private pack(records: readonly unknown[], op: PushOp): OutMessage[] {
    const messages: OutMessage[] = [];
    const max = this.maxBatchRecords;
    for (let from = 0; from < records.length; from += max) {
      const run = from === 0 && records.length <= max ? records : records.slice(from, from + max);
      const payload = packRecords(run);
      if (payload.length <= this.maxPayloadBytes) messages.push({ seq: 0, count: run.length, payload, op });
      else this.packRecordByRecord(run, from, op, messages);
    }
    return messages;
  }

  /** `records` (the push's from `first` on) cut into messages under the byte limit, appended to `messages`. */
  private packRecordByRecord(records: readonly unknown[], first: number, op: PushOp, messages: OutMessage[]): void {
    const limit = this.maxPayloadBytes;
    let used = 0;
    let count = 0;
    for (let i = 0; i < records.length; i++) {
      const packed = packValue(records[i]);
      if (packed.length > limit) {
        throw new InvalidArgumentError(`record ${first + i} packs to ${packed.length} bytes, over the receiver's limit of ${limit} bytes per message`);
      }
      if (count > 0 && used + packed.length > limit) {
        messages.push({ seq: 0, count, payload: Buffer.from(this.scratch.subarray(0, used)), op });
        used = 0;
        count = 0;
      }
      if (used + packed.length > this.scratch.length) {
        const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(this.scratch.length * 2, used + packed.length)));
        this.scratch.copy(grown, 0, 0, used);
        this.scratch = grown;
      }
      packed.copy(this.scratch, used);
      used += packed.length;
      count++;
    }
    if (count > 0) messages.push({ seq: 0, count, payload: Buffer.from(this.scratch.subarray(0, used)), op });
  }

  /** Send nothing before `atMs` (a refusal's retry hint or backoff), then pump. */
  private pauseUntil(atMs: number): void {
    if (atMs <= this.pausedUntilMs) return;
    this.pausedUntilMs = atMs;
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    this.armPauseTimer();
  }

  private armPauseTimer(): void {
    if (this.pauseTimer || this.state === 'failed') return;
    this.pauseTimer = setTimeout(
      () => {
        this.pauseTimer = undefined;
        this.pump();
      },
      Math.max(1, this.pausedUntilMs - Date.now() + 1),
    );
  }

  private idle(): Promise<void> {
    if (this.inFlight.size === 0 && this.resend.length === 0 && this.queueHead === this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private assertUsable(): void {
    if (this.state === 'failed') throw this.failure!;
    if (this.state === 'closing' || this.state === 'closed') {
      throw new FailedPreconditionError(`RecordPusher for stream '${this.stream}' is closed`);
    }
  }

  /** The pusher's own channel to one receiver address (dialled once, closed with the pusher). */
  private clientAt(address: string): ReceiverClient {
    let c = this.clients.get(address);
    if (!c) this.clients.set(address, (c = dial.receiver(address, { security: this.security })));
    return c;
  }

  private releaseClient(): void {
    if (this.ownsClient) for (const c of this.clients.values()) c.close();
  }
}

function backoff(attempt: number): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

function insertBySeq(list: OutMessage[], m: OutMessage): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.seq > m.seq) i--;
  list.splice(i, 0, m);
}

/** The error, its message saying how long it was retried (its type kept: a ConnectionError stays one). */
function withRetryNote(err: RivuletError, waitedMs: number): RivuletError {
  err.message = `${err.message} (retried for ${Math.round(waitedMs / 100) / 10} s; retryTimeoutMs)`;
  return err;
}

function positiveInt(v: number, name: string): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw new InvalidArgumentError(`RecordPusher option ${name} must be a positive integer, got ${v}`);
  return v;
}

interface Problem {
  what: string;
  path: string;
}

/**
 * Why msgpack would not give `v` back unchanged, or undefined when it would.
 * The path is built only on failure, so the common case allocates nothing
 * beyond what Object.getOwnPropertySymbols returns.
 */
function unrepresentable(v: unknown, depth: number): Problem | undefined {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return undefined;
    case 'undefined':
      return { what: 'undefined', path: '' };
    case 'function':
      return { what: 'a function', path: '' };
    case 'symbol':
      return { what: 'a symbol', path: '' };
    case 'bigint':
      return { what: 'a bigint', path: '' };
    case 'object': {
      if (v === null) return undefined;
      if (depth >= MAX_DEPTH) return { what: `nesting deeper than ${MAX_DEPTH} levels (or a cycle)`, path: '' };
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          // Holes read as undefined and are refused like undefined.
          const p = unrepresentable(v[i], depth + 1);
          if (p) return { what: p.what, path: `[${i}]${p.path}` };
        }
        return undefined;
      }
      if (v instanceof Uint8Array) return undefined;
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        const name = (proto as { constructor?: { name?: string } } | undefined)?.constructor?.name || 'an object with a custom prototype';
        return { what: `a ${name} instance`, path: '' };
      }
      if (Object.getOwnPropertySymbols(v).length > 0) return { what: 'an object with symbol keys', path: '' };
      for (const key in v) {
        const p = unrepresentable((v as Record<string, unknown>)[key], depth + 1);
        if (p) return { what: p.what, path: `.${key}${p.path}` };
      }
      return undefined;
    }
    default:
      return { what: `a ${typeof v}`, path: '' };
  }
}
