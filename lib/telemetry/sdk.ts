/**
 * Starting (and flushing on shutdown) the OpenTelemetry Node SDK of one
 * service process. Called only from lib/service-main.ts — main.ts's shared
 * skeleton; no other module imports the SDK (libraries use the API only).
 *
 * Configured by the standard OTEL_* variables, with these Rivulet defaults:
 * - traces are exported only when OTEL_EXPORTER_OTLP_ENDPOINT (or
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or OTEL_TRACES_EXPORTER is set; with
 *   neither, no tracer provider is registered and every span is a no-op;
 * - the OTLP protocol defaults to `grpc` (OTEL_EXPORTER_OTLP_PROTOCOL may say
 *   `http/protobuf` or `http/json`);
 * - OTLP metrics are exported when an endpoint is set (unless
 *   OTEL_METRICS_EXPORTER=none), every OTEL_METRIC_EXPORT_INTERVAL (60 s);
 * - `metricsPort` > 0 serves Prometheus text on http://<metricsHost>:<port>/metrics;
 * - service.name is OTEL_SERVICE_NAME, else `rivulet-<service>`;
 * - OTEL_SDK_DISABLED=true turns everything off.
 * Nothing configured: the SDK is not started at all.
 */
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPMetricExporter as OTLPMetricExporterGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as OTLPMetricExporterHttp } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPMetricExporterProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PeriodicExportingMetricReader, type IMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';

export interface TelemetryOptions {
  /** Short service name (`scheduler`); service.name defaults to `rivulet-<service>`. */
  service: string;
  /** Prometheus endpoint port; 0 = none. @default 0 */
  metricsPort?: number;
  /** Interface the Prometheus endpoint binds to. @default "0.0.0.0" */
  metricsHost?: string;
  /** The environment to read OTEL_* from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Told about a part that could not start (e.g. the metrics port is taken); the rest runs on. */
  onError?: (err: unknown, what: string) => void;
}

export interface Telemetry {
  /** Spans are recorded and exported. */
  readonly tracing: boolean;
  /** The Prometheus scrape URL, when serving one. */
  readonly metricsUrl?: string;
  /** Flush and stop exporting (SIGTERM); never rejects. */
  shutdown(): Promise<void>;
}

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

function otlpMetricExporter(protocol: string): PushMetricExporter {
  if (protocol === 'http/protobuf') return new OTLPMetricExporterProto();
  if (protocol === 'http/json') return new OTLPMetricExporterHttp();
  return new OTLPMetricExporterGrpc();
}

export async function startTelemetry(opts: TelemetryOptions): Promise<Telemetry> {
  const env = opts.env ?? process.env;
  const off: Telemetry = { tracing: false, shutdown: async () => {} };
  if (['true', '1'].includes((env.OTEL_SDK_DISABLED ?? '').toLowerCase())) return off;

  const tracesExporters = list(env.OTEL_TRACES_EXPORTER);
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const tracing = tracesExporters.length > 0 ? !tracesExporters.includes('none') : !!tracesEndpoint;

  const metricsExporters = list(env.OTEL_METRICS_EXPORTER);
  const metricsEndpoint = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const otlpMetrics = metricsExporters.length > 0 ? metricsExporters.includes('otlp') : !!metricsEndpoint;
  const metricsPort = opts.metricsPort ?? 0;

  if (!tracing && !otlpMetrics && metricsPort === 0) return off;

  // The SDK reads the protocol from the environment; Rivulet's default is gRPC.
  if (!env.OTEL_EXPORTER_OTLP_PROTOCOL && !env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = 'grpc';
  const metricsProtocol = (env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'grpc').trim();

  const readers: IMetricReader[] = [];
  let prometheus: PrometheusExporter | undefined;
  if (metricsPort > 0) {
    const host = opts.metricsHost ?? '0.0.0.0';
    try {
      await new Promise<void>((resolve, reject) => {
        prometheus = new PrometheusExporter({ host, port: metricsPort }, (err) => (err ? reject(err) : resolve()));
      });
      readers.push(prometheus!);
    } catch (err) {
      // Like the status page: a window on the service, not part of it.
      opts.onError?.(err, `Prometheus endpoint on ${host}:${metricsPort}`);
      prometheus = undefined;
    }
  }
  if (!tracing && !otlpMetrics && readers.length === 0) return off;
  if (otlpMetrics) {
    const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL) || 60_000;
    readers.push(new PeriodicExportingMetricReader({ exporter: otlpMetricExporter(metricsProtocol), exportIntervalMillis: interval }));
  }

  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ? undefined : `rivulet-${opts.service}`,
    // Empty: no tracer provider (tracing off); undefined: from OTEL_* (exporter, protocol, batching).
    spanProcessors: tracing ? undefined : [],
    metricReaders: readers,
    // Rivulet logs with pino, not the OTel logs API.
    logRecordProcessors: [],
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  return {
    tracing,
    metricsUrl: prometheus ? `http://${opts.metricsHost ?? '0.0.0.0'}:${metricsPort}/metrics` : undefined,
    shutdown: () => (stopped ??= sdk.shutdown().catch(() => undefined)),
  };
}
