/**
 * The receiver's quotas on its clients (Kafka's connection limits and
 * producer byte-rate quotas): how many Push calls it holds open at once
 * (`maxConcurrentStreams`), how many of those one client may hold
 * (`maxClientStreams`), and how many bytes of records per second one
 * client may push (`clientPushRate`, a token bucket holding one second's
 * worth).
 *
 * A refusal is RESOURCE_EXHAUSTED with a retry hint: a Push call over a
 * stream quota ends at open with `retry-after-ms` metadata (ResourceExhaustedError);
 * a message over the rate is nacked with `retry_after_ms` and nothing of it
 * is stored, so the SDK re-sends it (same seq) after the hint — nothing acked
 * is ever refused.
 *
 * "A client" is whatever `ClientKeyOf` says: the peer's address (host,
 * without the port) by default; with security on, main.ts keys a call by
 * its authenticated user (`user:<name>`, so one user's pushers from many
 * hosts share a quota, and users behind one NAT do not), falling back to
 * the peer address for other callers. Owns: counts and buckets per client key. May not:
 * look at records or streams. Time comes from the injected clock.
 */
import type { Metadata } from '@grpc/grpc-js';
import type { Clock } from '../../lib/clock.js';
import { ResourceExhaustedError } from '../../lib/errors.js';

export interface PushQuotaOptions {
  /** Push calls open at once on this receiver. */
  maxConcurrentStreams: number;
  /** Push calls open at once per client. */
  maxClientStreams: number;
  /** Bytes of records per second per client (1 s burst); 0 = no limit. */
  clientPushRate: number;
  clock: Clock;
}

/** What identifies a client for its quotas, from its call. */
export type ClientKeyOf = (call: { getPeer(): string; metadata: Metadata }) => string;

/**
 * The peer's host: `ipv4:10.0.0.7:51234` / `10.0.0.7:51234` → `10.0.0.7`,
 * `ipv6:[::1]:51234` / `[::1]:51234` → `::1`; all Unix-socket peers share
 * the key `unix`. Several clients behind one NAT share a quota.
 */
export const peerAddressKey: ClientKeyOf = (call) => {
  const raw = call.getPeer();
  if (raw.startsWith('unix:')) return 'unix';
  const peer = raw.replace(/^ipv[46]:/, '');
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(peer);
  if (bracket) return bracket[1]!;
  const colon = peer.lastIndexOf(':');
  // More than one colon without brackets: a bare IPv6 address, no port.
  if (colon > 0 && peer.indexOf(':') === colon) return peer.slice(0, colon);
  return peer;
};

/** Hint given with a refused stream: a slot frees when some call ends, which the receiver cannot predict. */
export const STREAM_RETRY_AFTER_MS = 1000;

interface ClientState {
  streams: number;
  /** Token bucket of the push rate, in bytes; may go negative (a message larger than the bucket is let through, then paid for). */
  tokens: number;
  refilledAtMs: number;
}

/** How often idle clients' entries are looked for and dropped. */
const SWEEP_INTERVAL_MS = 10_000;

export class PushQuotas {
  private open = 0;
  private readonly clients = new Map<string, ClientState>();
  private lastSweepMs: number;

  constructor(private readonly opts: PushQuotaOptions) {
    this.lastSweepMs = opts.clock.now();
  }

  /** Push calls open now (all clients). */
  get openStreams(): number {
    return this.open;
  }

  /** Clients with an entry (open calls, or a rate bucket still refilling). */
  get trackedClients(): number {
    return this.clients.size;
  }

  /**
   * Admit a new Push call of `client`, or throw ResourceExhaustedError with
   * retryAfterMs. Returns the release to call once when the call ends.
   */
  admitStream(client: string): () => void {
    this.sweep();
    const { maxConcurrentStreams, maxClientStreams } = this.opts;
    if (this.open >= maxConcurrentStreams) {
      throw new ResourceExhaustedError(
        `the receiver has ${this.open} Push streams open, its limit (maxConcurrentStreams=${maxConcurrentStreams}); retry after ${STREAM_RETRY_AFTER_MS} ms`,
        { retryAfterMs: STREAM_RETRY_AFTER_MS },
      );
    }
    const state = this.state(client);
    if (state.streams >= maxClientStreams) {
      throw new ResourceExhaustedError(
        `client ${client} has ${state.streams} Push streams open, its limit (maxClientStreams=${maxClientStreams}); retry after ${STREAM_RETRY_AFTER_MS} ms`,
        { retryAfterMs: STREAM_RETRY_AFTER_MS },
      );
    }
    state.streams++;
    this.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.streams--;
      this.open--;
      this.forgetIfIdle(client, state);
    };
  }

  /**
   * Charge a message of `bytes` to `client`'s push rate: 0 when admitted
   * (charged), else how many ms to wait before re-sending it (not charged).
   */
  chargePush(client: string, bytes: number): number {
    const rate = this.opts.clientPushRate;
    if (rate <= 0) return 0;
    const state = this.state(client);
    this.refill(state);
    if (state.tokens <= 0) return Math.max(1, Math.ceil((-state.tokens / rate) * 1000));
    state.tokens -= bytes;
    return 0;
  }

  private state(client: string): ClientState {
    let s = this.clients.get(client);
    if (!s) {
      s = { streams: 0, tokens: this.opts.clientPushRate, refilledAtMs: this.opts.clock.now() };
      this.clients.set(client, s);
    }
    return s;
  }

  private refill(s: ClientState): void {
    const now = this.opts.clock.now();
    const rate = this.opts.clientPushRate;
    s.tokens = Math.min(rate, s.tokens + ((now - s.refilledAtMs) / 1000) * rate);
    s.refilledAtMs = now;
  }

  /** No open call and a full bucket: the entry holds nothing a new one would not (reconnecting does not reset a debt). */
  private forgetIfIdle(client: string, s: ClientState): void {
    if (s.streams > 0) return;
    if (this.opts.clientPushRate > 0) {
      this.refill(s);
      if (s.tokens < this.opts.clientPushRate) return;
    }
    this.clients.delete(client);
  }

  private sweep(): void {
    const now = this.opts.clock.now();
    if (now - this.lastSweepMs < SWEEP_INTERVAL_MS) return;
    this.lastSweepMs = now;
    for (const [client, s] of this.clients) this.forgetIfIdle(client, s);
  }
}
