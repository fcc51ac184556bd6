/**
 * Connecting to NATS and publishing/subscribing MessagePack payloads.
 */
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { packValue, unpackValue } from '../codec/records.js';
import type { Logger } from '../log.js';

export type { NatsConnection, Subscription };

export async function connectNats(url: string, name: string, log?: Logger): Promise<NatsConnection> {
  const nc = await connect({
    servers: url.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  (async () => {
    for await (const s of nc.status()) log?.debug({ nats: s.type }, 'nats status');
  })().catch(() => {});
  return nc;
}

export function publish(nc: NatsConnection, subject: string, message: unknown): void {
  nc.publish(subject, packValue(message));
}

/** Subscribe and hand each decoded message to `onMessage`; bad payloads are logged and dropped. */
export function subscribe<T>(
  nc: NatsConnection,
  subject: string,
  onMessage: (msg: T, subject: string) => void,
  log?: Logger,
): Subscription {
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) {
        log?.warn({ err, subject }, 'nats subscription error');
        return;
      }
      let decoded: T;
      try {
        decoded = unpackValue<T>(msg.data);
      } catch (e) {
        log?.warn({ subject: msg.subject, err: e }, 'dropping undecodable NATS message');
        return;
      }
      onMessage(decoded, msg.subject);
    },
  });
}
