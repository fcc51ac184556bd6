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
 * It never holds a reference to a request once it settled (no long-lived
 * promise is raced against, which would accumulate reactions).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { systemClock, type Clock } from '../clock.js';
import { UnavailableError } from '../errors.js';

type Connection = 'connected' | 'disconnected' | 'closed';

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
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
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
            if (generation === this.generation || this.state === 'closed') finish(() => reject(err instanceof Error ? err : new Error(String(err))));
          },
        );
      };
      const onChange = () => {
        if (settled) return;
        if (this.state === 'closed' || (this.state === 'connected' && inFlight !== this.generation)) send();
      };
      const timer = this.clock.setTimeout(
        () => finish(() => reject(new UnavailableError(`timeout: no answer from NATS within ${timeoutMs} ms${this.connected ? '' : ' (disconnected)'}`))),
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
