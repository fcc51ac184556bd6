/**
 * The receiver's gRPC handlers: decode each message, hand it to the domain
 * (StreamRegistry, Ingest), write acks/nacks, and end calls with the status
 * lib/errors.ts maps each typed error to. No batching or replication logic
 * lives here.
 *
 * Push call lifecycle: awaiting-open → opening (the call is paused while the
 * registry checks the stream) → open → ended. A client half-close ends the call
 * with OK once every accepted push was acked or nacked. Stream-level errors end
 * the call: FAILED_PRECONDITION (no running job reads the stream — at open,
 * or for a push after its last job stopped; or a batch interval mismatch),
 * INVALID_ARGUMENT (missing/duplicate open, bad seq, malformed payload, a
 * malformed session id), UNAVAILABLE (scheduler unreachable, receiver shutting
 * down), RESOURCE_EXHAUSTED (maxPushSessions remembered). A message over the
 * stream's rate limit is nacked RESOURCE_EXHAUSTED with `retry_after_ms`; the
 * call goes on. Oversized messages never reach this code: grpc-js refuses them
 * with RESOURCE_EXHAUSTED (max_receive_message_length = maxMessageBytes).
 */
import { denied, principalOf } from '../../lib/security/authenticate.js';
import { describePrincipal, mayPushTo } from '../../lib/security/identity.js';
import type * as grpc from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { InvalidArgumentError, toServiceError, UnavailableError, type RivuletError } from '../../lib/errors.js';
import { isValidSessionId } from './push-dedupe.js';
import { checkName, checkText } from '../../lib/names.js';
import { peerAddressKey, type ClientKeyOf, type PushQuotas } from './quotas.js';
import type { Logger } from '../../lib/log.js';
import type { ReceiverHandlers } from '../../lib/proto/gen/rivulet/v1/Receiver.js';
import type { PushRequest__Output } from '../../lib/proto/gen/rivulet/v1/PushRequest.js';
import type { PushResponse } from '../../lib/proto/gen/rivulet/v1/PushResponse.js';
import type { AckInfo, Ingest, PushSession, PushSink } from './ingest.js';

/**
 * The other receivers' shares (README "Several receivers"): read from their
 * write-ahead logs, and the scheduler's merged lists (receiver-peers.ts).
 */
export interface ReceiverShares {
  /** This receiver's id (PushOpened.receiver_id; GetBatchBlocks' receiver_id names it or another). */
  readonly receiverId: string;
  /** Another receiver's logged blocks of a batch. */
  readShare(receiverId: string, stream: string, batchTimeMs: number): Promise<Array<{ blockId: string; records: number; bytes: number; executorIds: string[] }>>;
  /** Remember here the seqs of `sessionId` those receivers logged as stored (a pusher failing over). */
  adoptSession(stream: string, sessionId: string, receiverIds: readonly string[]): Promise<void>;
  /** The merged list of a batch, once the scheduler published it. */
  merged(stream: string, batchTimeMs: number): Array<{ blockId: string; records: number; bytes: number; executorIds: string[] }> | undefined;
}

/** Most previous receivers one PushOpen may name. */
const MAX_PREVIOUS_RECEIVERS = 16;

/** What the server needs from the StreamRegistry. */
export interface StreamGate {
  ensureActive(stream: string): Promise<void>;
}

export interface ReceiverServerOptions {
  ingest: Ingest;
  streams: StreamGate;
  /** Advertised to clients in `opened` (the gRPC receive limit of this server). */
  maxMessageBytes: number;
  /** Stream and push-rate quotas per client (quotas.ts); none: no quotas. */
  quotas?: PushQuotas;
  /** Who a call's client is, for its quotas. @default peerAddressKey */
  clientKey?: ClientKeyOf;
  /** Several receivers; absent (unit tests): GetBatchBlocks answers this receiver's own share only. */
  shares?: ReceiverShares;
  log: Logger;
}

/** Longest PushOpen.client_id (free-form, for logs). */
const MAX_CLIENT_ID_LENGTH = 256;

type PushDuplex = grpc.ServerDuplexStream<PushRequest__Output, PushResponse>;
type CallState = 'awaiting-open' | 'opening' | 'open' | 'ended';

export class ReceiverServer {
  private readonly calls = new Set<PushCall>();
  private draining = false;
  private pausedNow = false;

  constructor(readonly opts: ReceiverServerOptions) {}

  handlers(): ReceiverHandlers {
    return {
      Push: (call) => {
        const client = (this.opts.clientKey ?? peerAddressKey)(call);
        const c = new PushCall(this, call, client);
        this.calls.add(c);
        c.start();
        try {
          c.release = this.opts.quotas?.admitStream(client);
        } catch (err) {
          c.fail(err);
        }
      },
      GetBatchBlocks: (call, callback) => {
        try {
          const stream = checkName('GetBatchBlocks stream', call.request.stream);
          const batchTimeMs = Number(call.request.batchTimeMs);
          const whose = call.request.receiverId;
          if (whose) checkName('GetBatchBlocks receiver_id', whose);
          const answer = (found: { complete: boolean; blocks: Array<{ blockId: string; records: number; bytes: number; executorIds: string[] }> }) =>
            callback(null, {
              stream,
              batchTimeMs,
              complete: found.complete,
              blocks: found.blocks.map((b) => ({ blockId: b.blockId, stream, records: b.records, bytes: b.bytes, executorIds: b.executorIds })),
            });
          const shares = this.opts.shares;
          if (call.request.merged) {
            const blocks = shares?.merged(stream, batchTimeMs);
            return answer(blocks ? { complete: true, blocks } : shares ? { complete: false, blocks: [] } : this.opts.ingest.getBatchBlocks(stream, batchTimeMs));
          }
          if (!whose || !shares || whose === shares.receiverId) return answer(this.opts.ingest.getBatchBlocks(stream, batchTimeMs));
          shares.readShare(whose, stream, batchTimeMs).then(
            (blocks) => answer({ complete: true, blocks }),
            (err: unknown) => callback(toServiceError(err)),
          );
        } catch (err) {
          callback(toServiceError(err));
        }
      },
    };
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Backpressure from the Ingest: stop (or resume) reading every client stream. */
  setPaused(paused: boolean): void {
    this.pausedNow = paused;
    for (const c of this.calls) c.applyFlow();
  }

  /** Shutdown, step 1: refuse new Push calls. Open ones continue until the Ingest stops. */
  beginDrain(): void {
    this.draining = true;
  }

  /** Shutdown, last step: end every remaining Push call with `err`. */
  endAll(err: RivuletError): void {
    for (const c of [...this.calls]) c.fail(err);
  }

  /** @internal */
  forget(c: PushCall): void {
    this.calls.delete(c);
  }
}

class PushCall implements PushSink {
  private state: CallState = 'awaiting-open';
  private session: PushSession | undefined;
  private halfClosed = false;
  /** Messages that arrived while opening (normally none: the call is paused). */
  private early: PushRequest__Output[] = [];
  private stream = '';
  /** Gives back this call's stream quota (set once admitted). */
  release: (() => void) | undefined;

  constructor(
    private readonly server: ReceiverServer,
    private readonly call: PushDuplex,
    private readonly client: string,
  ) {}

  start(): void {
    this.call.on('data', (req: PushRequest__Output) => this.onMessage(req));
    this.call.on('end', () => {
      this.halfClosed = true;
      if (this.state === 'awaiting-open') this.finish();
      else this.maybeFinish();
    });
    this.call.on('cancelled', () => this.onGone('cancelled'));
    this.call.on('close', () => this.onGone('closed'));
    // Errors on the call itself (including the one fail() emits) end it; nothing more to do.
    this.call.on('error', () => undefined);
  }

  // ── PushSink ──────────────────────────────────────────────────────────
  ack(a: AckInfo): void {
    if (this.state === 'ended') return;
    this.call.write({ ack: { seq: a.seq, count: a.count, blockId: a.blockId, batchTimeMs: a.batchTimeMs, duplicate: a.duplicate ?? false } });
  }

  nack(seq: number, code: number, message: string, retryAfterMs?: number): void {
    if (this.state === 'ended') return;
    this.call.write({ nack: { seq, code, message, retryAfterMs: retryAfterMs ?? 0 } });
  }

  drained(): void {
    this.maybeFinish();
  }

  // ── flow ──────────────────────────────────────────────────────────────
  applyFlow(): void {
    if (this.state === 'ended') return;
    if (this.state === 'opening' || this.server.paused) this.call.pause();
    else this.call.resume();
  }

  fail(err: unknown): void {
    if (this.state === 'ended') return;
    this.end();
    const status = toServiceError(err);
    this.server.opts.log.info({ stream: this.stream, code: status.code, details: status.details }, 'push call ended with error');
    this.call.emit('error', status);
  }

  private onMessage(req: PushRequest__Output): void {
    switch (this.state) {
      case 'ended':
        return;
      case 'opening':
        this.early.push(req);
        return;
      case 'awaiting-open':
        this.onOpen(req);
        return;
      case 'open':
        this.onRecords(req);
        return;
    }
  }

  private onOpen(req: PushRequest__Output): void {
    if (req.kind !== 'open' || !req.open) {
      this.fail(new InvalidArgumentError('the first message of a Push call must be `open`'));
      return;
    }
    const stream = req.open.stream;
    try {
      checkName('open.stream', stream);
      checkText('open.client_id', req.open.clientId, MAX_CLIENT_ID_LENGTH);
    } catch (err) {
      this.fail(err);
      return;
    }
    const principal = principalOf(this.call);
    if (!mayPushTo(principal, stream)) {
      this.fail(denied(this.server.opts.log, '/rivulet.v1.Receiver/Push', principal, `${describePrincipal(principal)} may not push to stream ${JSON.stringify(stream)}`));
      return;
    }
    const sessionId = req.open.sessionId || undefined;
    if (sessionId !== undefined && !isValidSessionId(sessionId)) {
      this.fail(new InvalidArgumentError('open.session_id must be 1-64 characters of [A-Za-z0-9_-]'));
      return;
    }
    if (this.server.isDraining) {
      this.fail(new UnavailableError('receiver is shutting down'));
      return;
    }
    const shares = this.server.opts.shares;
    const previous = (req.open.previousReceiverIds ?? []).filter((id) => id !== shares?.receiverId);
    try {
      if (previous.length > MAX_PREVIOUS_RECEIVERS) throw new InvalidArgumentError(`open.previous_receiver_ids names ${previous.length} receivers, over ${MAX_PREVIOUS_RECEIVERS}`);
      for (const id of previous) checkName('open.previous_receiver_ids', id);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.stream = stream;
    this.state = 'opening';
    this.applyFlow();
    this.server.opts.streams
      .ensureActive(stream)
      // A session failing over: what the receivers it used before stored is known before its first message is.
      .then(() => (shares && sessionId !== undefined && previous.length > 0 ? shares.adoptSession(stream, sessionId, previous) : undefined))
      .then(
        () => this.opened(req.open!.clientId, sessionId),
        (err) => this.fail(err),
      );
  }

  private opened(clientId: string, sessionId: string | undefined): void {
    if (this.state !== 'opening') return; // cancelled meanwhile
    try {
      if (this.server.isDraining) throw new UnavailableError('receiver is shutting down');
      this.session = this.server.opts.ingest.open(this.stream, this, sessionId);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.state = 'open';
    this.server.opts.log.debug({ stream: this.stream, clientId, sessionId }, 'push call opened');
    this.call.write({
      opened: {
        stream: this.stream,
        batchIntervalMs: this.server.opts.ingest.batchIntervalMs,
        maxMessageBytes: this.server.opts.maxMessageBytes,
        receiverId: this.server.opts.shares?.receiverId ?? '',
      },
    });
    const early = this.early;
    this.early = [];
    for (const req of early) this.onMessage(req);
    this.applyFlow();
    this.maybeFinish();
  }

  private onRecords(req: PushRequest__Output): void {
    if (req.kind === 'open') {
      this.fail(new InvalidArgumentError('`open` may be sent only once per Push call'));
      return;
    }
    const records = req.records;
    if (req.kind !== 'records' || !records || !records.batch) {
      this.fail(new InvalidArgumentError('a Push message after `open` must be `records` with a batch'));
      return;
    }
    const seq = Number(records.seq);
    const waitMs = this.server.opts.quotas?.chargePush(this.client, records.batch.payload.length) ?? 0;
    if (waitMs > 0) {
      // Over the client's rate: nothing stored, re-sent by the client after the hint (same seq).
      this.nack(seq, Status.RESOURCE_EXHAUSTED, `client ${this.client} is over its push rate (clientPushRate); retry in ${waitMs} ms`, waitMs);
      return;
    }
    try {
      this.session!.push(seq, records.batch.count, records.batch.payload);
    } catch (err) {
      this.fail(err);
    }
  }

  private maybeFinish(): void {
    if (this.state === 'open' && this.halfClosed && this.session && this.session.pending === 0) this.finish();
  }

  /** End with OK. */
  private finish(): void {
    if (this.state === 'ended') return;
    this.end();
    this.call.end();
  }

  private onGone(why: string): void {
    if (this.state === 'ended') return;
    this.server.opts.log.debug({ stream: this.stream, why }, 'push call gone');
    this.end();
  }

  private end(): void {
    this.state = 'ended';
    this.session?.detach();
    this.release?.();
    this.server.forget(this);
  }
}
