/**
 * W3C trace context across gRPC, without monkey-patching: a client
 * interceptor (lib/grpc/client.ts puts it on every channel it dials) and a
 * server interceptor (lib/grpc/server.ts puts it on every server).
 *
 * Policy: a call is traced when it is made on behalf of a traced operation —
 * the client has an active span — and the server continues the caller's trace
 * when the request metadata carries one. Calls outside any trace (health
 * checks, periodic housekeeping, clients that send no traceparent) produce no
 * spans at all, so traces stay about batches and backends are not flooded.
 *
 * Span names and attributes follow the RPC semantic conventions:
 * `<package.Service>/<Method>`, rpc.system=grpc, rpc.service, rpc.method,
 * rpc.grpc.status_code; kind CLIENT / SERVER. The server span is the active
 * span while the handler runs (and in everything it starts asynchronously).
 */
import * as grpc from '@grpc/grpc-js';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { Attr, hasSpan, tracer } from './tracing.js';

const metadataSetter: TextMapSetter<grpc.Metadata> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

const metadataGetter: TextMapGetter<grpc.Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get: (carrier, key) => {
    const values = carrier.get(key);
    if (values.length === 0) return undefined;
    return values.map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
  },
};

/** Inject the W3C trace context of `ctx` into gRPC metadata (for calls made outside the interceptor). */
export function injectMetadata(metadata: grpc.Metadata, ctx: Context = context.active()): grpc.Metadata {
  propagation.inject(ctx, metadata, metadataSetter);
  return metadata;
}

/** The trace context gRPC metadata carries, on top of the active context. */
export function extractMetadata(metadata: grpc.Metadata): Context {
  return propagation.extract(context.active(), metadata, metadataGetter);
}

function splitPath(path: string): { service: string; method: string } {
  // "/rivulet.v1.Executor/RunTasks"
  const i = path.lastIndexOf('/');
  return { service: path.slice(1, i), method: path.slice(i + 1) };
}

/** Never traced: polled constantly and meaningless inside a batch. */
function untraced(service: string): boolean {
  return service === 'grpc.health.v1.Health';
}

function endWithStatus(span: Span, code: grpc.status, details: string): void {
  span.setAttribute(Attr.RPC_GRPC_STATUS_CODE, code);
  if (code !== grpc.status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: `${grpc.status[code] ?? code}: ${details}` });
  span.end();
}

/** Client interceptor: a CLIENT span per call made inside a trace, its context in the request metadata. */
export const tracingClientInterceptor: grpc.Interceptor = (options, nextCall) => {
  const parent = context.active();
  const { service, method } = splitPath(options.method_definition.path);
  if (!hasSpan(parent) || untraced(service)) return new grpc.InterceptingCall(nextCall(options));
  const span = tracer().startSpan(
    `${service}/${method}`,
    { kind: SpanKind.CLIENT, attributes: { [Attr.RPC_SYSTEM]: 'grpc', [Attr.RPC_SERVICE]: service, [Attr.RPC_METHOD]: method } },
    parent,
  );
  const ctx = trace.setSpan(parent, span);
  return new grpc.InterceptingCall(nextCall(options), {
    start(metadata, _listener, next) {
      propagation.inject(ctx, metadata, metadataSetter);
      next(metadata, {
        onReceiveStatus(status, nextStatus) {
          endWithStatus(span, status.code, status.details);
          nextStatus(status);
        },
      });
    },
  });
};

/** Server interceptor: a SERVER span per call whose metadata carries a trace context. */
export const tracingServerInterceptor: grpc.ServerInterceptor = (methodDescriptor, call) => {
  const { service, method } = splitPath(methodDescriptor.path);
  if (untraced(service)) return new grpc.ServerInterceptingCall(call);
  let span: Span | undefined;
  let ctx: Context | undefined;
  const inSpan = <T>(fn: () => T): T => (ctx ? context.with(ctx, fn) : fn());
  return new grpc.ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMetadata(metadata, nextMetadata) {
          const parent = extractMetadata(metadata);
          if (hasSpan(parent)) {
            span = tracer().startSpan(
              `${service}/${method}`,
              { kind: SpanKind.SERVER, attributes: { [Attr.RPC_SYSTEM]: 'grpc', [Attr.RPC_SERVICE]: service, [Attr.RPC_METHOD]: method } },
              parent,
            );
            ctx = trace.setSpan(parent, span);
          }
          inSpan(() => nextMetadata(metadata));
        },
        onReceiveMessage(message, nextMessage) {
          inSpan(() => nextMessage(message));
        },
        onReceiveHalfClose(nextHalfClose) {
          inSpan(() => nextHalfClose());
        },
        onCancel() {
          if (span) endWithStatus(span, grpc.status.CANCELLED, 'cancelled by the client');
          span = undefined;
        },
      });
    },
    sendStatus(status, nextStatus) {
      if (span) endWithStatus(span, status.code, status.details);
      span = undefined;
      nextStatus(status);
    },
  });
};
