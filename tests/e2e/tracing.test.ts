/**
 * Tracing end to end: the cluster runs as processes (nats-server, lineage,
 * scheduler, receiver, 2 executors) exporting OTLP/gRPC to a small collector
 * in this test (the collector's TraceService/Export on an ephemeral port). One
 * batch of a word count must be ONE trace whose spans come from all four
 * services, linked parent → child across NATS (batch.ready) and gRPC
 * (RegisterBatch, PutBlock, PushBlocks/FetchBlocks), with the semantic
 * convention and rivulet.* attributes docs/telemetry.md lists.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RivuletClient } from '../../client/index.js';
import { startLocalCluster, type LocalCluster } from '../../lib/cluster/local-cluster.js';
import { otelEnv, startCollector, type AttrValue, type CollectedSpan } from '../helpers/otlp-collector.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));

/** The calls that move shuffle data between executors under a task: a map task's push, a reduce task's fetch. */
const SHUFFLE_RPCS = ['rivulet.v1.Executor/PushBlocks', 'rivulet.v1.Executor/FetchBlocks'];

const SERVICES = ['rivulet-receiver', 'rivulet-scheduler', 'rivulet-lineage', 'rivulet-executor'];

describe('tracing: one batch is one trace across all services', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let cluster: LocalCluster;
  let client: RivuletClient;

  beforeAll(async () => {
    collector = await startCollector();
    const otel = otelEnv(collector.port);
    // groupSize 1: this follows a batch launched by the scheduler (stages under the batch span, tasks under
    // their stage). A batch started by its executors from a group plan has its task spans under each
    // executor's `process rivulet.batch.ready` span instead (group-scheduling.test.ts).
    cluster = await startLocalCluster({
      executors: 2,
      slots: 2,
      batchInterval: '1s',
      blockInterval: '100ms',
      logLevel: 'warn',
      env: { all: otel, scheduler: { RIVULET_GROUP_SIZE: '1' } },
    });
    const a = cluster.addresses();
    client = new RivuletClient(a);
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

    // Wait (with a deadline) for a traced batch that read records and completed, and until every
    // span the assertions below look at has reached the collector: each service exports on its own
    // schedule, so "some spans of every service" is not yet "the whole trace".
    const byId = (id: string) => collector.spans.find((s) => s.spanId === id);
    let trace: CollectedSpan[] = [];
    let batch: CollectedSpan | undefined;
    const lastMissing = new Map<string, string>();
    await waitFor(
      () => {
        const batches = collector.spans.filter(
          (s) => s.name === 'rivulet.batch' && s.attributes['rivulet.job.id'] === job.jobId && Number(s.attributes['rivulet.records.in']) > 0,
        );
        for (const b of batches) {
          const spans = collector.spans.filter((s) => s.traceId === b.traceId);
          const missing = missingFromTrace(spans, b);
          if (missing) {
            lastMissing.set(b.traceId, missing);
            continue;
          }
          trace = spans;
          batch = b;
          return true;
        }
        return false;
      },
      'a completed batch trace holds every span the test asserts on',
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; ${collector.spans.length} spans collected; per batch trace, what was missing: ${JSON.stringify([...lastMissing.values()])}`);
    });
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
    // Executors consume batch.ready too (group scheduling's trigger): the scheduler's is the batch's parent.
    const consume = trace.find((s) => s.name === 'process rivulet.batch.ready.*' && s.service === 'rivulet-scheduler')!;
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
    // Speculation is on (the default), so a task may have run twice: the original and a copy on
    // another executor (rivulet.task.speculative), the loser killed. Every task id has a
    // SUCCEEDED attempt; an attempt that did not succeed is one that lost to another.
    const tasks = named('rivulet.task');
    const attemptsOf = groupBy(tasks, (t) => String(t.attributes['rivulet.task.id']));
    for (const t of tasks) {
      expect(t.service).toBe('rivulet-executor');
      expect(parentOf(t)!.name).toBe('rivulet.stage');
      expect(t.attributes['rivulet.executor.id']).toMatch(/^executor-\d$/);
      expect(typeof t.attributes['rivulet.task.id']).toBe('string');
      expect(typeof t.attributes['rivulet.task.partition']).toBe('number');
      expect(t.attributes['rivulet.task.attempt']).toBeGreaterThanOrEqual(1);
      expect(['PROCESS_LOCAL', 'NODE_LOCAL', 'ANY']).toContain(t.attributes['rivulet.task.locality']);
      expect(typeof t.attributes['rivulet.task.speculative']).toBe('boolean');
      expect(typeof t.attributes['rivulet.records.in']).toBe('number');
      expect(typeof t.attributes['rivulet.records.out']).toBe('number');
      const attempts = attemptsOf.get(String(t.attributes['rivulet.task.id']))!;
      expect(attempts.some((a) => a.attributes['rivulet.task.state'] === 'SUCCEEDED'), `task ${String(t.attributes['rivulet.task.id'])} succeeded`).toBe(true);
      if (t.attributes['rivulet.task.state'] !== 'SUCCEEDED') {
        expect(t.attributes['rivulet.task.state'], `a losing attempt of ${String(t.attributes['rivulet.task.id'])}`).toBe('KILLED');
        expect(attempts.length).toBeGreaterThan(1);
      }
      if (t.attributes['rivulet.task.speculative'] === true) {
        // A copy runs on another executor than the attempt it duplicates.
        const originals = attempts.filter((a) => a.attributes['rivulet.task.speculative'] === false);
        expect(originals.length, `the original of speculative ${String(t.attributes['rivulet.task.id'])}`).toBeGreaterThanOrEqual(1);
        for (const o of originals) expect(o.attributes['rivulet.executor.id']).not.toBe(t.attributes['rivulet.executor.id']);
      }
    }
    console.log(`[tracing] ${tasks.length} task spans, ${tasks.filter((t) => t.attributes['rivulet.task.speculative'] === true).length} speculative`);
    // The map side read every record of the batch, counted once per task (not per attempt).
    const mapTaskIds = [...attemptsOf].filter(([, a]) => parentOf(a[0]!)!.attributes['rivulet.stage.kind'] === 'shuffleMap');
    const recordsIn = mapTaskIds.reduce(
      (n, [, a]) => n + Number(a.find((x) => x.attributes['rivulet.task.state'] === 'SUCCEEDED')!.attributes['rivulet.records.in']),
      0,
    );
    expect(recordsIn).toBe(batch!.attributes['rivulet.records.in']);

    // Task launch goes over the executor's long-lived TaskStream, which outlives
    // every batch and so belongs to none: no launch RPC span in the batch's
    // trace, the task spans hang under their stages through the specs'
    // trace context (checked above), and the stream itself is never traced.
    expect(trace.some((s) => s.name.startsWith('rivulet.v1.Executor/RunTasks'))).toBe(false);
    expect(collector.spans.some((s) => s.name === 'rivulet.v1.Executor/TaskStream')).toBe(false);

    // Shuffle data crossing to a peer, under a task: a map task pushing buckets to its reducers'
    // executor (PushBlocks, shufflePush) or a reduce task fetching them (FetchBlocks), each a CLIENT
    // span under the task and the peer's SERVER span under it. Whenever tasks of this batch ran on
    // both executors (counting only tasks that ran once, so that the executor is the one whose
    // output was used), some map output crossed.
    if (unambiguousExecutors(trace).size > 1) {
      const fetchClients = trace.filter((s) => s.name === 'rivulet.v1.Executor/FetchBlocks' && s.kind === 'SPAN_KIND_CLIENT');
      // A FetchBlocks may also come from re-replication (the scheduler restoring a
      // block stored on one executor while the receiver had heard of only one):
      // that one hangs under the ReplicateBlocks server span, not under a task.
      for (const f of fetchClients) expect(['rivulet.task', 'rivulet.v1.Executor/ReplicateBlocks']).toContain(parentOf(f)!.name);
      const crossing = trace.find((s) => SHUFFLE_RPCS.includes(s.name) && s.kind === 'SPAN_KIND_CLIENT' && parentOf(s)!.name === 'rivulet.task');
      expect(crossing, 'a task pushed or fetched shuffle blocks to/from its peer').toBeDefined();
      const server = trace.find((s) => s.name === crossing!.name && s.kind === 'SPAN_KIND_SERVER' && s.parentSpanId === crossing!.spanId)!;
      expect(server.service).toBe('rivulet-executor');
      expect(server.attributes['rpc.grpc.status_code']).toBe(0);
    }

    // Output commit and batch.completed, under the batch.
    expect(one('rivulet.output.commit').parentSpanId).toBe(batch!.spanId);
    expect(one('publish rivulet.batch.completed.*').parentSpanId).toBe(batch!.spanId);

    // Nothing outside a batch is traced: no health checks, no heartbeats.
    expect(collector.spans.some((s) => s.name.startsWith('grpc.health.v1'))).toBe(false);
    expect(collector.spans.some((s) => s.name.includes('heartbeat'))).toBe(false);
  }, 60_000);
});

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
}

/** Executors of the task spans whose task ran exactly once (no speculative copy or retry). */
function unambiguousExecutors(trace: readonly CollectedSpan[]): Set<AttrValue> {
  const attempts = groupBy(
    trace.filter((s) => s.name === 'rivulet.task'),
    (t) => String(t.attributes['rivulet.task.id']),
  );
  return new Set([...attempts.values()].filter((a) => a.length === 1).map((a) => a[0]!.attributes['rivulet.executor.id']));
}

/**
 * What the trace of `batch` still lacks of what the test asserts on (undefined once complete):
 * spans arrive from each service's exporter on its own schedule.
 */
function missingFromTrace(spans: readonly CollectedSpan[], batch: CollectedSpan): string | undefined {
  const has = (pred: (s: CollectedSpan) => boolean) => spans.some(pred);
  const services = new Set(spans.map((s) => s.service));
  for (const svc of SERVICES) if (!services.has(svc)) return `spans of ${svc}`;
  const named = (name: string, kind?: string) => spans.filter((s) => s.name === name && (!kind || s.kind === kind));
  for (const name of ['rivulet.input', 'rivulet.block', 'publish rivulet.batch.ready.*', 'process rivulet.batch.ready.*', 'rivulet.output.commit', 'publish rivulet.batch.completed.*']) {
    if (named(name).length === 0) return name;
  }
  for (const rpc of ['rivulet.v1.Executor/PutBlock', 'rivulet.v1.Lineage/RegisterBatch']) {
    const clients = named(rpc, 'SPAN_KIND_CLIENT');
    if (!clients.some((c) => has((s) => s.name === rpc && s.kind === 'SPAN_KIND_SERVER' && s.parentSpanId === c.spanId))) return `${rpc} client and server`;
  }
  const stages = named('rivulet.stage').filter((s) => s.parentSpanId === batch.spanId);
  if (stages.length < 2) return 'two stages';
  const tasks = named('rivulet.task');
  for (const st of stages) {
    if (st.attributes['rivulet.stage.superseded'] === true) continue;
    const done = new Set(
      tasks.filter((t) => t.parentSpanId === st.spanId && t.attributes['rivulet.task.state'] === 'SUCCEEDED').map((t) => t.attributes['rivulet.task.partition']),
    );
    if (done.size < Number(st.attributes['rivulet.stage.partitions'])) return `the tasks of stage ${String(st.attributes['rivulet.stage.id'])} (${done.size}/${String(st.attributes['rivulet.stage.partitions'])})`;
  }
  // A speculative copy's original ends later (killed or ignored): wait for it too.
  const attempts = groupBy(tasks, (t) => String(t.attributes['rivulet.task.id']));
  for (const [id, a] of attempts) {
    if (a.some((t) => t.attributes['rivulet.task.speculative'] === true) && !a.some((t) => t.attributes['rivulet.task.speculative'] === false)) return `the original attempt of ${id}`;
  }
  if (unambiguousExecutors(spans).size > 1) {
    const crossing = spans.filter((f) => SHUFFLE_RPCS.includes(f.name) && f.kind === 'SPAN_KIND_CLIENT' && tasks.some((t) => t.spanId === f.parentSpanId));
    if (!crossing.some((f) => has((s) => s.name === f.name && s.kind === 'SPAN_KIND_SERVER' && s.parentSpanId === f.spanId))) {
      return 'a task-parented PushBlocks or FetchBlocks client and its server span';
    }
  }
  const ids = new Set(spans.map((s) => s.spanId));
  const orphan = spans.find((s) => s.parentSpanId && !ids.has(s.parentSpanId));
  if (orphan) return `the parent of ${orphan.service}:${orphan.name}`;
  return undefined;
}
