/**
 * A minimal OTLP/gRPC trace collector for tests (TraceService/Export on an
 * ephemeral port): keeps every span the services export, decoded to plain
 * objects, so a test can wait until the spans it asserts on have arrived.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const otlpProto = fileURLToPath(new URL('../fixtures/otlp/trace_service.proto', import.meta.url));

export type AttrValue = string | number | boolean | AttrValue[] | undefined;

export interface CollectedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  service: string;
  attributes: Record<string, AttrValue>;
  links: Array<{ traceId: string; spanId: string }>;
  status: string;
}

interface AnyValueMsg {
  value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values: AnyValueMsg[] };
}
interface KeyValueMsg {
  key: string;
  value?: AnyValueMsg;
}

/** The decoded ExportTraceServiceRequest, as far as this collector reads it. */
interface ExportRequestMsg {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValueMsg[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId?: Buffer;
        spanId?: Buffer;
        parentSpanId?: Buffer;
        name: string;
        kind: string;
        attributes?: KeyValueMsg[];
        links?: Array<{ traceId: Buffer; spanId: Buffer }>;
        status?: { code?: string };
      }>;
    }>;
  }>;
}

function anyValue(v: AnyValueMsg | undefined): AttrValue {
  switch (v?.value) {
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'intValue':
      return Number(v.intValue);
    case 'doubleValue':
      return v.doubleValue;
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map(anyValue);
    default:
      return undefined;
  }
}

const attrs = (kvs: KeyValueMsg[] | undefined) => Object.fromEntries((kvs ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
const hex = (b: Buffer | undefined) => (b && b.length > 0 ? b.toString('hex') : '');

/** A minimal OTLP/gRPC trace collector: keeps every span it is sent. */
export async function startCollector(): Promise<{ port: number; spans: CollectedSpan[]; close(): void }> {
  const def = protoLoader.loadSync(otlpProto, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    opentelemetry: { proto: { collector: { trace: { v1: { TraceService: grpc.ServiceClientConstructor } } } } };
  };
  const spans: CollectedSpan[] = [];
  const server = new grpc.Server();
  server.addService(pkg.opentelemetry.proto.collector.trace.v1.TraceService.service, {
    Export: (call: grpc.ServerUnaryCall<ExportRequestMsg, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      for (const rs of call.request.resourceSpans ?? []) {
        const service = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              traceId: hex(s.traceId),
              spanId: hex(s.spanId),
              parentSpanId: hex(s.parentSpanId),
              name: s.name,
              kind: s.kind,
              service,
              attributes: attrs(s.attributes),
              links: (s.links ?? []).map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId) })),
              status: s.status?.code ?? 'STATUS_CODE_UNSET',
            });
          }
        }
      }
      cb(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, spans, close: () => server.forceShutdown() };
}

/** Env for every service of a cluster exporting its traces to a collector on `port`. */
export function otelEnv(port: number): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    // This collector only speaks the trace service.
    OTEL_METRICS_EXPORTER: 'none',
  };
}
