/**
 * Connecting to NATS and publishing/subscribing MessagePack payloads. Every
 * message published inside a trace carries its W3C trace context in NATS
 * headers, and a subscriber handles such a message inside that trace
 * (lib/telemetry/nats.ts). A subscriber sees only messages that decode and
 * parse with their subject's schema (lib/nats/schemas.ts); the rest are
 * dropped, counted and logged once per subject (lib/validation.ts).
 */
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { z } from 'zod';
import { packValue, unpackValue } from '../codec/records.js';
import type { Logger } from '../log.js';
import { subjectTemplate, tracedProcess, tracedPublish } from '../telemetry/nats.js';
import { subjects } from './subjects.js';
import { checkInput, rejectInput } from '../validation.js';
import { processSecurity } from '../security/service-security.js';
import { connectionWatch } from './reconnect.js';

/** Wildcard subjects, for low-cardinality span names. */
const templates: readonly string[] = Object.values(subjects as Record<string, unknown>).filter(
  (s): s is string => typeof s === 'string' && s.endsWith('.*'),
);

export type { NatsConnection, Subscription };

/**
 * Connect, reconnecting forever. `onStatus` sees every connection status
 * change by its nats.js type ('disconnect', 'reconnect', …): the scheduler's
 * liveness guard and the executors' re-announcement follow it.
 */
export async function connectNats(
  url: string,
  name: string,
  log?: Logger,
  onStatus?: (type: string) => void,
  /** TLS files to connect with. @default this process's service certificate (none in a process that set up no security) */
  tlsFiles?: { caFile: string; certFile: string; keyFile: string },
): Promise<NatsConnection> {
  // A `tls://` URL: the service connects with its certificate, which NATS maps to the service's
  // user (lib/security/nats-permissions.ts). A `nats://` URL is plaintext, as for any NATS client.
  const own = processSecurity().transport;
  const wantsTls = url.split(',').some((u) => u.trim().startsWith('tls://'));
  const tls = tlsFiles ?? (wantsTls && !own.insecure && own.files ? { caFile: own.files.caFile, certFile: own.files.certFile, keyFile: own.files.keyFile } : undefined);
  if (!wantsTls && !own.insecure) {
    log?.warn({ natsUrl: url }, 'security is on but the NATS URL is not tls://: NATS traffic is plaintext and unauthenticated (README "Security")');
  }
  const nc = await connect({
    servers: url.split(',').map((s) => s.trim()),
    name,
    ...(tls ? { tls } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  (async () => {
    for await (const s of nc.status()) {
      log?.debug({ nats: s.type }, 'nats status');
      onStatus?.(s.type);
    }
  })().catch(() => {});
  return nc;
}

/** Where a connection is: the server it uses now and that server's cluster (status pages; no request is made). */
export interface NatsConnectionInfo {
  connected: boolean;
  serverName: string;
  /** host:port of the server in use (the last one while reconnecting). */
  serverUrl: string;
  /** '' for a single server. */
  cluster: string;
  /** Servers the connected server advertises to clients, itself included (its latest INFO); 1 for a single server. */
  clusterSize: number;
}

export function natsConnectionInfo(nc: NatsConnection): NatsConnectionInfo {
  const info = nc.info;
  return {
    connected: !nc.isClosed() && connectionWatch(nc).connected,
    serverName: info?.server_name ?? '',
    serverUrl: nc.getServer(),
    cluster: info?.cluster ?? '',
    clusterSize: Math.max(1, info?.connect_urls?.length ?? 1),
  };
}

export function publish(nc: NatsConnection, subject: string, message: unknown): void {
  const data = packValue(message);
  tracedPublish(subject, subjectTemplate(subject, templates), data.byteLength, (headers) =>
    nc.publish(subject, data, headers ? { headers } : undefined),
  );
}

/**
 * Subscribe and hand each message that decodes and parses with `schema` to
 * `onMessage`; anything else is dropped, counted in `rivulet.invalid_inputs`
 * (source: the subject) and logged once.
 */
export function subscribe<T>(
  nc: NatsConnection,
  subject: string,
  schema: z.ZodType<T>,
  onMessage: (msg: T, subject: string) => void,
  log?: Logger,
): Subscription {
  const source = subjectTemplate(subject, templates);
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) {
        log?.warn({ err, subject }, 'nats subscription error');
        return;
      }
      let decoded: unknown;
      try {
        decoded = unpackValue<unknown>(msg.data);
      } catch (e) {
        rejectInput(source, `not MessagePack: ${(e as Error).message}`, log);
        return;
      }
      const valid = checkInput(schema, decoded, source, log);
      if (valid === undefined) return;
      tracedProcess(msg.subject, subjectTemplate(msg.subject, templates), msg.data.byteLength, msg.headers, () => onMessage(valid, msg.subject));
    },
  });
}
