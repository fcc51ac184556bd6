/**
 * JetStream requests that survive a NATS reconnect without waiting out their
 * timeout.
 *
 * nats.js discards everything it buffered for the server each time it dials
 * again (@nats-io/nats-core ProtocolHandler.prepare → resetOutbound), and the
 * reply to a request sent on the old connection dies with it. So a request
 * sent while disconnected, or in flight when the connection dropped, is never
 * answered: it fails only at its timeout, up to that long after NATS is back,
 * and whatever waits on it waits too — lineage's one mutation queue (and so
 * the next batch's registration), a block's acks and its batch's
 * announcement. This is what made batches run late for up to a second after
 * a nats-server restart.
 *
 * `ConnectionWatch.request(op, timeoutMs)` runs one request so that it is sent
 * only while connected, and sent again as soon as the connection is back when
 * it dropped before the answer came; it still fails after `timeoutMs` in all,
 * as the bare request would. It must only be used for idempotent requests (a
 * KV put of a fixed value under a fixed key, a purge, a publish with a msgID
 * inside the stream's duplicate window): an attempt cut off by a disconnect
 * may have been applied before it is sent again.
 *
 * The same holds for a NATS *cluster* (natsReplicas > 1), where losing a
 * server has two more faces. The client fails over to another server: a
 * 'disconnect' then a 'reconnect' like any other, and the attempt is sent
 * again there. And a stream whose leader was on the lost server has no leader
 * until JetStream elects one (seconds, nats-server's Raft election timeout):
 * meanwhile a request to it is answered at once with "no responders", which
 * nats.js turns into JetStreamNotEnabled. For an idempotent request that is a
 * transient condition like the disconnect, so it is tried again after a short
 * backoff (LEADERLESS_RETRY_*), within the same `timeoutMs` in all.
 *
 * It never holds a reference to a request once it settled (no long-lived
 * promise is raced against, which would accumulate reactions).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { systemClock, type Clock } from '../clock.js';
import { UnavailableError } from '../errors.js';

type Connection = 'connected' | 'disconnected' | 'closed';

/** First wait before sending again to a stream that had no leader; doubles up to the max. */
const LEADERLESS_RETRY_MS = 50;
const LEADERLESS_RETRY_MAX_MS = 500;

/**
 * Does `err` say the stream (or JetStream's meta group) has no leader right
 * now? "No responders" to a JetStream request (nats.js JetStreamNotEnabled —
 * on a server that has JetStream, only a leaderless stream answers so), or
 * JetStream's own "temporarily unavailable" (API error 10008).
 */
export function isLeaderless(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown } | undefined;
  return e?.name === 'JetStreamNotEnabled' || (e?.name === 'JetStreamApiError' && e.code === 10008);
}

export class ConnectionWatch {
  private state: Connection = 'connected';
  /** Bumped at every disconnect: an attempt sent in an earlier generation will not be answered. */
  private generation = 0;
  private readonly listeners = new Set<() => void>();

  /** Starts as connected: made right after a connect resolved (connectionWatch). */
  constructor(private readonly clock: Clock = systemClock) {}

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** A nats.js status type ('disconnect', 'reconnect', 'close'; the rest are ignored). */
  observe(type: string): void {
    switch (type) {
      case 'disconnect':
        if (this.state !== 'connected') return;
        this.state = 'disconnected';
        this.generation++;
        break;
      case 'reconnect':
        if (this.state !== 'disconnected') return;
        this.state = 'connected';
        break;
      case 'close':
        this.state = 'closed';
        break;
      default:
        return;
    }
    for (const listener of [...this.listeners]) listener();
  }

  /**
   * Run the idempotent request `op` (see the module comment): while
   * disconnected it waits for the reconnect; an attempt the connection dropped
   * under is sent again on the reconnect; a success of any attempt resolves.
   * Rejects with what the current attempt rejected with, or UnavailableError
   * "timeout" after `timeoutMs`. Once the connection is closed, `op` runs as
   * is (it fails at once, as nats.js fails requests on a closed connection).
   */
  request<T>(op: () => Promise<T>, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      /** Generation of the attempt in flight; undefined while none is. */
      let inFlight: number | undefined;
      /** The wait before sending again to a leaderless stream, while one is pending. */
      let backoff: ReturnType<Clock['setTimeout']> | undefined;
      let retryDelayMs = LEADERLESS_RETRY_MS;
      /** What the last leaderless answer said, for the timeout's message. */
      let leaderless: string | undefined;
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        if (backoff !== undefined) this.clock.clearTimeout(backoff);
        this.listeners.delete(onChange);
        settle();
      };
      const send = () => {
        const generation = this.generation;
        inFlight = generation;
        new Promise<T>((r) => r(op())).then(
          (value) => finish(() => resolve(value)),
          (err: unknown) => {
            // An attempt from before a disconnect failing (typically its own
            // timeout) says nothing: it was sent again, or will be on the reconnect.
            if (generation !== this.generation && this.state !== 'closed') return;
            if (settled) return;
            if (this.state === 'connected' && isLeaderless(err)) {
              // Sent again after the backoff, or at the reconnect should the connection drop meanwhile.
              inFlight = undefined;
              leaderless = err instanceof Error ? err.message : String(err);
              backoff = this.clock.setTimeout(() => {
                backoff = undefined;
                if (!settled && this.state === 'connected' && inFlight === undefined) send();
              }, retryDelayMs);
              retryDelayMs = Math.min(retryDelayMs * 2, LEADERLESS_RETRY_MAX_MS);
              return;
            }
            finish(() => reject(err instanceof Error ? err : new Error(String(err))));
          },
        );
      };
      const onChange = () => {
        if (settled) return;
        if (this.state === 'closed' || (this.state === 'connected' && inFlight !== this.generation)) send();
      };
      const timer = this.clock.setTimeout(
        () =>
          finish(() =>
            reject(
              new UnavailableError(
                `timeout: no answer from NATS within ${timeoutMs} ms${this.connected ? '' : ' (disconnected)'}` +
                  (leaderless ? ` (the stream had no leader: ${leaderless})` : ''),
              ),
            ),
          ),
        timeoutMs,
      );
      this.listeners.add(onChange);
      if (this.state !== 'disconnected') send();
    });
  }
}

const watches = new WeakMap<NatsConnection, ConnectionWatch>();

/** The one ConnectionWatch of `nc` (made on first use, following nc.status() from then on). */
export function connectionWatch(nc: NatsConnection): ConnectionWatch {
  const known = watches.get(nc);
  if (known) return known;
  const created = new ConnectionWatch();
  watches.set(nc, created);
  if (nc.isClosed()) created.observe('close');
  (async () => {
    for await (const s of nc.status()) created.observe(s.type);
  })().catch(() => {});
  return created;
}
