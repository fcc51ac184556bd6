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
 * can therefore duplicate records — delivery is at-least-once.
 *
 * Records are packed (lib/codec/records.ts) straight into messages of at most
 * `maxBatchRecords` records and the receiver's message size limit, checked
 * first so that nothing msgpack would change (undefined, functions, symbols,
 * bigint, Map/Set, Date, class instances) is ever sent. At most
 * `maxInFlightBytes` of packed data is unacknowledged at a time; beyond that,
 * messages wait for acks (backpressure) rather than piling up in the channel.
 *
 * A Push call that fails (NOT_FOUND for a stream no job reads, the receiver
 * going away, ...) rejects every pending push with the typed error — a
 * ConnectionError naming the receiver when it cannot be reached at all — and
 * makes the pusher unusable. Nothing is retried or re-sent by the pusher
 * (that could duplicate records): create a new one to retry.
 */
import { status as Status, type ClientDuplexStream, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { packValue } from '../lib/codec/records.js';
import { FailedPreconditionError, fromServiceError, InvalidArgumentError, UnavailableError, type RivuletError } from '../lib/errors.js';
import { dial } from '../lib/grpc/client.js';
import { typedCallError } from './connection.js';
import type { ReceiverClient } from '../lib/proto/index.js';
import type { PushRequest } from '../lib/proto/gen/rivulet/v1/PushRequest.js';
import type { PushResponse__Output } from '../lib/proto/gen/rivulet/v1/PushResponse.js';

export interface RecordPusherOptions {
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
}

/** Room left in a message for everything but the payload (oneof tag, seq, count, length prefixes). */
const MESSAGE_OVERHEAD_BYTES = 64;
/** Deeper nesting is refused (it is almost always a cycle). */
const MAX_DEPTH = 256;

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
}

export class RecordPusher {
  readonly stream: string;
  /** The receiver's address, for error messages. */
  readonly address: string;
  private readonly client: ReceiverClient;
  private readonly ownsClient: boolean;
  private readonly maxBatchRecords: number;
  private readonly maxInFlightBytes: number;
  private readonly clientId: string;
  private readonly openTimeoutMs: number;
  private readonly onProgress: ((ackedTotal: number) => void) | undefined;

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
    this.client = typeof receiver === 'string' ? dial.receiver(receiver) : receiver;
    this.address = typeof receiver === 'string' ? receiver : this.client.getChannel().getTarget().replace(/^dns:/, '');
    this.maxBatchRecords = positiveInt(options.maxBatchRecords ?? 1000, 'maxBatchRecords');
    this.maxInFlightBytes = positiveInt(options.maxInFlightBytes ?? 16 * 1024 * 1024, 'maxInFlightBytes');
    this.clientId = options.clientId ?? '';
    this.openTimeoutMs = positiveInt(options.openTimeoutMs ?? 10_000, 'openTimeoutMs');
    this.onProgress = options.onProgress;
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
      const timer = setTimeout(() => {
        this.fail(new UnavailableError(`receiver did not answer open of stream '${this.stream}' within ${this.openTimeoutMs} ms`));
        this.call?.cancel();
      }, this.openTimeoutMs);
      timer.unref?.();
      this.openWaiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const call = this.client.push();
      this.call = call;
      call.on('data', (res: PushResponse__Output) => this.onResponse(res));
      call.on('error', (err: ServiceError) => this.onCallError(err));
      call.on('status', (status: StatusObject) => {
        if (status.code === Status.OK) this.onCallEnded(status);
      });
      call.write({ open: { stream: this.stream, clientId: this.clientId } });
    });
    return this.opening;
  }

  private onResponse(res: PushResponse__Output): void {
    switch (res.kind) {
      case 'opened': {
        const opened = res.opened!;
        this.maxPayloadBytes = Math.max(1, Number(opened.maxMessageBytes) - MESSAGE_OVERHEAD_BYTES);
        this.batchIntervalMsValue = Number(opened.batchIntervalMs);
        if (this.state === 'opening') this.state = 'open';
        const w = this.openWaiter;
        this.openWaiter = undefined;
        w?.resolve();
        return;
      }
      case 'ack': {
        const ack = res.ack!;
        const m = this.settleMessage(Number(ack.seq));
        if (!m) return;
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
        m.op.remaining--;
        if (!m.op.settled) {
          m.op.settled = true;
          m.op.reject(fromServiceError({ code: nack.code, details: `push seq ${seq} refused: ${nack.message}` }));
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
    if (this.inFlight.size === 0 && this.queueHead === this.queue.length) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private onCallError(err: ServiceError): void {
    const typed = typedCallError(err, 'receiver', this.address);
    this.endWaiter?.(typed);
    this.endWaiter = undefined;
    this.fail(typed);
  }

  private onCallEnded(status: StatusObject): void {
    const pending = this.inFlight.size + (this.queue.length - this.queueHead);
    if (pending > 0 || this.state === 'opening') {
      this.fail(new UnavailableError(`receiver ended the Push call of stream '${this.stream}' with ${pending} messages unacknowledged`));
    } else if (this.state !== 'closing') {
      this.state = 'closed';
    }
    this.endWaiter?.(status);
    this.endWaiter = undefined;
  }

  /** The call is over: reject everything pending with `err`. */
  private fail(err: RivuletError): void {
    if (this.state === 'failed') return;
    const wasClosing = this.state === 'closing';
    this.state = 'failed';
    this.failure = err;
    const w = this.openWaiter;
    this.openWaiter = undefined;
    w?.reject(err);
    const ops = new Set<PushOp>();
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
    if ((this.state !== 'open' && this.state !== 'closing') || !this.call) return;
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

  /** Pack records into messages, copying each packed record once into the reusable scratch buffer. */
  private pack(records: readonly unknown[], op: PushOp): OutMessage[] {
    const limit = this.maxPayloadBytes;
    const messages: OutMessage[] = [];
    let used = 0;
    let count = 0;
    for (let i = 0; i < records.length; i++) {
      const packed = packValue(records[i]);
      if (packed.length > limit) {
        throw new InvalidArgumentError(`record ${i} packs to ${packed.length} bytes, over the receiver's limit of ${limit} bytes per message`);
      }
      if (count > 0 && (count >= this.maxBatchRecords || used + packed.length > limit)) {
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
    return messages;
  }

  private idle(): Promise<void> {
    if (this.inFlight.size === 0 && this.queueHead === this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private assertUsable(): void {
    if (this.state === 'failed') throw this.failure!;
    if (this.state === 'closing' || this.state === 'closed') {
      throw new FailedPreconditionError(`RecordPusher for stream '${this.stream}' is closed`);
    }
  }

  private releaseClient(): void {
    if (this.ownsClient) this.client.close();
  }
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
