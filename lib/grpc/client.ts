/**
 * Dialling Rivulet services: one place for channel options, deadlines and the
 * retry policy. Unary callers use `unary(...)` and say how many `attempts` a
 * call may take instead of writing their own retry loops; only RETRYABLE_CODES
 * (lib/errors.ts) are retried. Streaming calls (Push, WatchOutput, RunTasks)
 * are never retried here: their owners decide what a retry means.
 */
import * as grpc from '@grpc/grpc-js';
import { fromServiceError, isRetryable } from '../errors.js';
import { rivuletV1, healthV1 } from '../proto/index.js';
import type { ServiceRole } from '../security/identity.js';
import { processSecurity } from '../security/service-security.js';
import { channelCredentials, type ExpectedPeer, type TransportSecurity } from '../security/transport.js';
import { tracingClientInterceptor } from '../telemetry/grpc.js';
import type { ExecutorClient, HealthClient, LineageClient, ReceiverClient, SchedulerClient } from '../proto/index.js';

export interface DialOptions {
  maxMessageBytes?: number;
  /**
   * TLS material and token to dial with. @default this process's
   * (a service's own identity; insecure in a process that set up none)
   */
  security?: TransportSecurity;
  /** Run on every call after tracing (e.g. the leading scheduler's term, lib/grpc/leader-term.ts). */
  interceptors?: grpc.Interceptor[];
}

function channelOptions(opts: DialOptions = {}): grpc.ClientOptions {
  const max = opts.maxMessageBytes ?? 64 * 1024 * 1024;
  return {
    // TLS peers are checked by role, not by name (lib/security/transport.ts); a fixed
    // server name keeps Node from sending an IP address as SNI, which RFC 6066 forbids.
    'grpc.ssl_target_name_override': 'rivulet',
    // Trace context on every call made inside a trace (lib/telemetry/grpc.ts).
    interceptors: [tracingClientInterceptor, ...(opts.interceptors ?? [])],
    'grpc.max_receive_message_length': max,
    'grpc.max_send_message_length': max,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    // Reconnect fast: a restarted peer on loopback is back within ms.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 2000,
  };
}

/** Credentials for a server that must prove it is `expected` (lib/security/transport.ts). */
const creds = (expected: ExpectedPeer, o?: DialOptions) => channelCredentials(o?.security ?? processSecurity().transport, expected);
const role = (r: ServiceRole): ExpectedPeer => [r];

export const dial = {
  receiver: (address: string, o?: DialOptions): ReceiverClient => new rivuletV1.Receiver(address, creds(role('receiver'), o), channelOptions(o)),
  scheduler: (address: string, o?: DialOptions): SchedulerClient => new rivuletV1.Scheduler(address, creds(role('scheduler'), o), channelOptions(o)),
  lineage: (address: string, o?: DialOptions): LineageClient => new rivuletV1.Lineage(address, creds(role('lineage'), o), channelOptions(o)),
  executor: (address: string, o?: DialOptions): ExecutorClient => new rivuletV1.Executor(address, creds(role('executor'), o), channelOptions(o)),
  /** An Executor client of another class of the same service (the scheduler's: its own TaskStream encoder). */
  executorAs: (cls: grpc.ServiceClientConstructor, address: string, o?: DialOptions): ExecutorClient =>
    new cls(address, creds(role('executor'), o), channelOptions(o)) as unknown as ExecutorClient,
  health: (address: string, o?: DialOptions): HealthClient => new healthV1.Health(address, creds('any-service', o), channelOptions(o)),
};

export interface CallOptions {
  /** Per-attempt deadline. @default 5000 */
  timeoutMs?: number;
  /** Total attempts; only RETRYABLE_CODES are tried again. @default 1 (never retried) */
  attempts?: number;
  /** First backoff between attempts, doubled each time. @default 50 */
  backoffMs?: number;
  metadata?: grpc.Metadata;
}

// Shaped like the LAST overload of a generated client method (argument,
// callback), which is the one TypeScript infers Req/Res from; at run time the
// method is called with metadata and call options too.
type UnaryMethod<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => grpc.ClientUnaryCall;
type FullUnaryMethod = (
  req: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: unknown) => void,
) => grpc.ClientUnaryCall;

/**
 * Call a unary method with a deadline, retrying retryable codes with
 * exponential backoff. Rejects with a typed RivuletError.
 */
export async function unary<Req, Res>(
  client: grpc.Client,
  method: UnaryMethod<Req, Res>,
  request: Req,
  opts: CallOptions = {},
): Promise<Res> {
  const once = () =>
    new Promise<Res>((resolve, reject) => {
      (method as unknown as FullUnaryMethod).call(
        client,
        request,
        opts.metadata ?? new grpc.Metadata(),
        { deadline: Date.now() + (opts.timeoutMs ?? 5000) },
        (err, res) => (err ? reject(err) : resolve(res as Res)),
      );
    });
  try {
    return await withRetries(once, opts.attempts ?? 1, opts.backoffMs ?? 50);
  } catch (err) {
    throw fromServiceError(err);
  }
}

/**
 * `unary` for a request the caller encoded itself (one large request sent to
 * several peers is encoded once): `method` is the service definition's entry,
 * e.g. `rivuletV1.Executor.service.PutBlock`.
 */
export function unaryEncoded<Res>(
  client: grpc.Client,
  method: { path: string; responseDeserialize: (bytes: Buffer) => unknown },
  encoded: Buffer,
  opts: CallOptions = {},
): Promise<Res> {
  const call: FullUnaryMethod = (req, metadata, options, cb) =>
    client.makeUnaryRequest(method.path, passEncoded, method.responseDeserialize, req as Buffer, metadata, options, cb);
  return unary<Buffer, Res>(client, call as unknown as UnaryMethod<Buffer, Res>, encoded, opts);
}

const passEncoded = (request: Buffer): Buffer => request;

/**
 * Run `attempt` up to `attempts` times while it fails with a retryable code
 * (RETRYABLE_CODES), waiting `backoffMs` before the second, doubled each time;
 * rejects with the last failure as it came. Shared by unary calls and reads
 * over server streams (RivuletClient.slice).
 */
export async function withRetries<T>(attempt: () => Promise<T>, attempts: number, backoffMs = 50): Promise<T> {
  let backoff = backoffMs;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= attempts || !isRetryable(err)) throw err;
      await new Promise((r) => setTimeout(r, backoff));
      backoff *= 2;
    }
  }
}

/** Resolve when `address` answers grpc.health.v1 SERVING, or reject after timeoutMs. */
export async function waitForServing(address: string, timeoutMs = 15_000, security?: TransportSecurity): Promise<void> {
  const client = dial.health(address, { security });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        const res = await unary(client, client.check, { service: '' }, { timeoutMs: 1000 });
        if (res.status === 'SERVING') return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`${address} did not become SERVING within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
}
