/**
 * Tracing end to end: the cluster runs as processes (nats-server, lineage,
 * scheduler, receiver, 2 executors) exporting OTLP/gRPC to a small collector
 * in this test (the collector's TraceService/Export on an ephemeral port). One
 * batch of a word count must be ONE trace whose spans come from all four
 * services, linked parent → child across NATS (batch.ready) and gRPC
 * (RegisterBatch, RunTasks, PutBlock, FetchBlocks), with the semantic
 * convention and rivulet.* attributes docs/telemetry.md lists.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RivuletClient } from '../../client/index.js';
import { startLocalCluster, type LocalCluster } from '../../lib/cluster/local-cluster.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const otlpProto = fileURLToPath(new URL('../fixtures/otlp/trace_service.proto', import.meta.url));

type AttrValue = string | number | boolean | AttrValue[] | undefined;

interface CollectedSpan {
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
async function startCollector(): Promise<{ port: number; spans: CollectedSpan[]; close(): void }> {
  const def = protoLoader.loadSync(otlpProto, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    opentelemetry: { proto: { collector: { trace: { v1: { TraceService: grpc.ServiceClientConstructor } } } } };
  };
  const spans: CollectedSpan[] = [];
  const server = new grpc.Server();
  server.addService(pkg.opentelemetry.proto.collector.trace.v1.TraceService.service, {
    Export: (call: grpc.ServerUnaryCall<any, unknown>, cb: grpc.sendUnaryData<unknown>) => {
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
              links: (s.links ?? []).map((l: { traceId: Buffer; spanId: Buffer }) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId) })),
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

const SERVICES = ['rivulet-receiver', 'rivulet-scheduler', 'rivulet-lineage', 'rivulet-executor'];

describe('tracing: one batch is one trace across all services', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let cluster: LocalCluster;
  let client: RivuletClient;

  beforeAll(async () => {
    collector = await startCollector();
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      // This collector only speaks the trace service.
      OTEL_METRICS_EXPORTER: 'none',
    };
    cluster = await startLocalCluster({ executors: 2, slots: 2, batchInterval: '1s', blockInterval: '100ms', logLevel: 'warn', env: { all: otel } });
    const a = cluster.addresses();
    client = new RivuletClient({ scheduler: a.scheduler, receiver: a.receiver });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
    collector?.close();
  });

  it('links receiver → NATS → scheduler → lineage / executors → peers in one trace with semantic-convention attributes', async () => {
    const job = await client.submitJob(wordcount);
    // Several pushes a little apart: several blocks, so map tasks land on both executors and reducers fetch from peers.
    const pusher = client.pusher('lines');
    let acked = 0;
    for (let i = 0; i < 6; i++) {
      acked += await pusher.push(Array.from({ length: 200 }, (_, k) => `alpha beta w${(i * 200 + k) % 50}`));
      await new Promise((r) => setTimeout(r, 60));
    }
    await pusher.close();
    expect(acked).toBe(1200);

    // Wait for a traced batch that read records and completed, and for its spans from every service.
    const byId = (id: string) => collector.spans.find((s) => s.spanId === id);
    let trace: CollectedSpan[] = [];
    let batch: CollectedSpan | undefined;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const batches = collector.spans.filter(
        (s) => s.name === 'rivulet.batch' && s.attributes['rivulet.job.id'] === job.jobId && Number(s.attributes['rivulet.records.in']) > 0,
      );
      for (const b of batches) {
        const spans = collector.spans.filter((s) => s.traceId === b.traceId);
        const services = new Set(spans.map((s) => s.service));
        const complete =
          SERVICES.every((svc) => services.has(svc)) &&
          spans.some((s) => s.name === 'rivulet.input') &&
          spans.filter((s) => s.name === 'rivulet.task').length >= 2 &&
          spans.every((s) => !s.parentSpanId || spans.some((p) => p.spanId === s.parentSpanId));
        if (complete) {
          trace = spans;
          batch = b;
          break;
        }
      }
      if (batch || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(batch, `no complete batch trace among ${collector.spans.length} spans`).toBeDefined();
    const named = (name: string) => trace.filter((s) => s.name === name);
    const one = (name: string) => {
      const found = named(name);
      expect(found.length, name).toBeGreaterThanOrEqual(1);
      return found[0]!;
    };
    const parentOf = (s: CollectedSpan) => byId(s.parentSpanId);

    // One trace, all four services, one root: the receiver's input span.
    expect(new Set(trace.map((s) => s.traceId)).size).toBe(1);
    expect(new Set(trace.map((s) => s.service))).toEqual(new Set(SERVICES));
    const roots = trace.filter((s) => !s.parentSpanId);
    expect(roots.map((s) => `${s.service}:${s.name}`)).toEqual(['rivulet-receiver:rivulet.input']);
    const input = roots[0]!;
    expect(input.attributes['rivulet.stream']).toBe('lines');
    expect(input.attributes['rivulet.batch.time_ms']).toBe(batch!.attributes['rivulet.batch.time_ms']);

    // Receiver: blocks sealed under the input span, each stored on executors with PutBlock (gRPC client → server).
    const block = one('rivulet.block');
    expect(parentOf(block)).toBe(input);
    const putClient = trace.find((s) => s.name === 'rivulet.v1.Executor/PutBlock' && s.kind === 'SPAN_KIND_CLIENT')!;
    expect(putClient.service).toBe('rivulet-receiver');
    expect(parentOf(putClient)!.name).toBe('rivulet.block');
    const putServer = trace.find((s) => s.name === 'rivulet.v1.Executor/PutBlock' && s.kind === 'SPAN_KIND_SERVER' && s.parentSpanId === putClient.spanId)!;
    expect(putServer.service).toBe('rivulet-executor');

    // batch.ready over NATS: receiver PRODUCER → scheduler CONSUMER → the scheduler's batch span.
    const publish = trace.find((s) => s.name === 'publish rivulet.batch.ready.*')!;
    expect(publish).toMatchObject({ kind: 'SPAN_KIND_PRODUCER', service: 'rivulet-receiver' });
    expect(parentOf(publish)).toBe(input);
    expect(publish.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.destination.name': 'rivulet.batch.ready.lines',
      'messaging.operation': 'publish',
    });
    const consume = trace.find((s) => s.name === 'process rivulet.batch.ready.*')!;
    expect(consume).toMatchObject({ kind: 'SPAN_KIND_CONSUMER', service: 'rivulet-scheduler', parentSpanId: publish.spanId });
    expect(consume.attributes['messaging.operation']).toBe('process');
    expect(batch!.service).toBe('rivulet-scheduler');
    expect(batch!.parentSpanId).toBe(consume.spanId);
    expect(batch!.attributes).toMatchObject({ 'rivulet.job.name': 'wordcount', 'rivulet.batch.state': 'COMPLETED' });

    // Lineage registration: scheduler CLIENT → lineage SERVER, under the batch.
    const regClient = trace.find((s) => s.name === 'rivulet.v1.Lineage/RegisterBatch' && s.kind === 'SPAN_KIND_CLIENT')!;
    expect(regClient.parentSpanId).toBe(batch!.spanId);
    expect(regClient.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'rivulet.v1.Lineage', 'rpc.method': 'RegisterBatch', 'rpc.grpc.status_code': 0 });
    const regServer = trace.find((s) => s.name === 'rivulet.v1.Lineage/RegisterBatch' && s.kind === 'SPAN_KIND_SERVER')!;
    expect(regServer).toMatchObject({ service: 'rivulet-lineage', parentSpanId: regClient.spanId });

    // Stages under the batch (word count: a map stage and a result stage), tasks under their stage on executors.
    const stages = named('rivulet.stage');
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.parentSpanId).toBe(batch!.spanId);
    const tasks = named('rivulet.task');
    const executorsSeen = new Set<AttrValue>();
    for (const t of tasks) {
      expect(t.service).toBe('rivulet-executor');
      expect(parentOf(t)!.name).toBe('rivulet.stage');
      expect(t.attributes['rivulet.executor.id']).toMatch(/^executor-\d$/);
      expect(typeof t.attributes['rivulet.task.partition']).toBe('number');
      expect(t.attributes['rivulet.task.attempt']).toBeGreaterThanOrEqual(1);
      expect(['PROCESS_LOCAL', 'NODE_LOCAL', 'ANY']).toContain(t.attributes['rivulet.task.locality']);
      expect(t.attributes['rivulet.task.speculative']).toBe(false);
      expect(t.attributes['rivulet.task.state']).toBe('SUCCEEDED');
      expect(typeof t.attributes['rivulet.records.in']).toBe('number');
      expect(typeof t.attributes['rivulet.records.out']).toBe('number');
      executorsSeen.add(t.attributes['rivulet.executor.id']);
    }
    const recordsIn = tasks.filter((t) => parentOf(t)!.attributes['rivulet.stage.kind'] === 'shuffleMap').reduce((n, t) => n + Number(t.attributes['rivulet.records.in']), 0);
    expect(recordsIn).toBe(batch!.attributes['rivulet.records.in']);

    // Task launch: scheduler RunTasks CLIENT under the batch → executor SERVER.
    const runClient = trace.find((s) => s.name === 'rivulet.v1.Executor/RunTasks' && s.kind === 'SPAN_KIND_CLIENT')!;
    expect(runClient.parentSpanId).toBe(batch!.spanId);
    expect(trace.some((s) => s.name === 'rivulet.v1.Executor/RunTasks' && s.kind === 'SPAN_KIND_SERVER' && s.parentSpanId === runClient.spanId)).toBe(true);

    // Shuffle fetches from a peer: task → FetchBlocks CLIENT → the peer's SERVER span.
    if (executorsSeen.size > 1) {
      const fetchClients = trace.filter((s) => s.name === 'rivulet.v1.Executor/FetchBlocks' && s.kind === 'SPAN_KIND_CLIENT');
      // A FetchBlocks may also come from re-replication (the scheduler restoring a
      // block stored on one executor while the receiver had heard of only one):
      // that one hangs under the ReplicateBlocks server span, not under a task.
      for (const f of fetchClients) expect(['rivulet.task', 'rivulet.v1.Executor/ReplicateBlocks']).toContain(parentOf(f)!.name);
      const fetchClient = fetchClients.find((s) => parentOf(s)!.name === 'rivulet.task');
      expect(fetchClient, 'a reduce task fetched shuffle blocks from its peer').toBeDefined();
      const fetchServer = trace.find((s) => s.name === 'rivulet.v1.Executor/FetchBlocks' && s.kind === 'SPAN_KIND_SERVER' && s.parentSpanId === fetchClient!.spanId)!;
      expect(fetchServer.service).toBe('rivulet-executor');
      expect(fetchServer.attributes['rpc.grpc.status_code']).toBe(0);
    }

    // Output commit and batch.completed, under the batch.
    expect(one('rivulet.output.commit').parentSpanId).toBe(batch!.spanId);
    expect(one('publish rivulet.batch.completed.*').parentSpanId).toBe(batch!.spanId);

    // Nothing outside a batch is traced: no health checks, no heartbeats.
    expect(collector.spans.some((s) => s.name.startsWith('grpc.health.v1'))).toBe(false);
    expect(collector.spans.some((s) => s.name.includes('heartbeat'))).toBe(false);
  }, 60_000);
});
