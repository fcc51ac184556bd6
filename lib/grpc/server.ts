/**
 * Starting a gRPC server the same way in every service: TLS and access
 * control (lib/security/), message size bounds, the standard grpc.health.v1 service, server reflection of
 * the services it serves (lib/grpc/reflection.ts), bind + advertise address, and a
 * graceful shutdown that gives in-flight calls a moment before forcing.
 */
import * as grpc from '@grpc/grpc-js';
import { healthV1 } from '../proto/index.js';
import type { Logger } from '../log.js';
import { accessControlInterceptor } from '../security/authenticate.js';
import { processSecurity } from '../security/service-security.js';
import { serverCredentials } from '../security/transport.js';
import { tracingServerInterceptor } from '../telemetry/grpc.js';
import { addReflection, recordServices } from './reflection.js';
import type { HealthHandlers } from '../proto/gen/grpc/health/v1/Health.js';
import type { HealthCheckResponse } from '../proto/gen/grpc/health/v1/HealthCheckResponse.js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/**
 * The grpc.health.v1 implementation: one status for the whole server (""
 * service, what liveness checks ask), and optionally one per named service
 * (the scheduler's `rivulet.v1.Scheduler` is SERVING only while it leads: a
 * readiness check that sends clients to the leader). A name never set is
 * NOT_FOUND, as the health protocol says.
 */
export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>([['', 'NOT_SERVING']]);
  private watchers = new Set<{ service: string; call: grpc.ServerWritableStream<unknown, HealthCheckResponse> }>();

  set(status: ServingStatus, service = ''): void {
    this.statuses.set(service, status);
    for (const w of this.watchers) if (w.service === service) w.call.write({ status });
  }

  /** Every service, and the server, NOT_SERVING (shutting down). */
  stopServing(): void {
    for (const service of this.statuses.keys()) this.set('NOT_SERVING', service);
  }

  get(service = ''): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  handlers(): HealthHandlers {
    return {
      Check: (call, cb) => {
        const status = this.statuses.get(call.request.service ?? '');
        if (status === undefined) cb({ code: grpc.status.NOT_FOUND, details: `no health status for service "${call.request.service}"` }, null);
        else cb(null, { status });
      },
      Watch: (call) => {
        const service = call.request.service ?? '';
        const w = { service, call };
        this.watchers.add(w);
        call.write({ status: this.statuses.get(service) ?? 'SERVICE_UNKNOWN' });
        call.on('cancelled', () => this.watchers.delete(w));
        call.on('close', () => this.watchers.delete(w));
      },
    };
  }
}

export interface StartedServer {
  server: grpc.Server;
  health: HealthService;
  port: number;
  /** host:port others should dial. */
  address: string;
  shutdown(graceMs?: number): Promise<void>;
}

export interface ServerOptions {
  host: string;
  port: number;
  advertiseAddress?: string;
  maxMessageBytes: number;
  /** Where refused calls are logged as audit events. */
  log?: Logger;
  /** Run after access control and tracing (e.g. the leader-term fence, lib/grpc/leader-term.ts). */
  interceptors?: grpc.ServerInterceptor[];
  /** Serve gRPC server reflection (grpc.reflection.v1 and v1alpha) for the registered services. @default true */
  grpcReflection?: boolean;
}

export async function startServer(
  opts: ServerOptions,
  register: (server: grpc.Server) => void,
): Promise<StartedServer> {
  // The process's identity and access control (lib/security/service-security.ts); insecure where none was set up.
  const security = processSecurity();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxMessageBytes,
    'grpc.max_send_message_length': opts.maxMessageBytes,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    // Who may call what first (lib/security/access-policy.ts), then the caller's trace (lib/telemetry/grpc.ts).
    interceptors: [
      accessControlInterceptor(security.transport.insecure ? undefined : security.authenticator, opts.log),
      tracingServerInterceptor,
      ...(opts.interceptors ?? []),
    ],
  });
  const health = new HealthService();
  const served = recordServices(server, (s) => {
    s.addService(healthV1.Health.service, health.handlers());
    register(s);
  });
  if (opts.grpcReflection ?? true) addReflection(server, served);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host}:${opts.port}`, serverCredentials(security.transport), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const advertiseHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const address = opts.advertiseAddress || `${advertiseHost}:${port}`;
  return {
    server,
    health,
    port,
    address,
    shutdown: (graceMs = 2000) =>
      new Promise<void>((resolve) => {
        health.stopServing();
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
