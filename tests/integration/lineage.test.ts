/**
 * The compiled lineage service as a real process against a real nats-server:
 * the gRPC contract, error codes, and durability across SIGKILL. Needs
 * `npx tsc -p tsconfig.json` (or `npm run build`) first.
 */
import { useTestSecurity } from '../helpers/security.js';
import type * as grpc from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceProcess, type ServiceProcess } from '../../lib/cluster/service-process.js';
import { dial, unary } from '../../lib/grpc/client.js';
import type { LineageClient } from '../../lib/proto/index.js';
import type { Dataset } from '../../lib/proto/gen/rivulet/v1/Dataset.js';
import type { DatasetRef } from '../../lib/proto/gen/rivulet/v1/DatasetRef.js';
import type { Location } from '../../lib/proto/gen/rivulet/v1/Location.js';
import type { RegisterBatchRequest } from '../../lib/proto/gen/rivulet/v1/RegisterBatchRequest.js';
import { startNatsServer, type NatsServerHandle } from '../../lib/process/nats-server.js';
import { freePort } from '../../lib/process/ports.js';

const JOB = 'wordcount';
const ref = (batchTimeMs: number, nodeId: number): DatasetRef => ({ jobId: JOB, batchTimeMs, nodeId });
const SRC = 0;
const MAP = 1;
const REDUCE = 2;

function wordCount(t: number): RegisterBatchRequest {
  const datasets: Dataset[] = [
    { ref: ref(t, SRC), operator: 'receiverStream(lines)', dependency: 'SOURCE', parents: [], numPartitions: 2 },
    { ref: ref(t, MAP), operator: 'flatMap', dependency: 'NARROW', parents: [ref(t, SRC)], numPartitions: 2 },
    { ref: ref(t, REDUCE), operator: 'reduceByKey', dependency: 'SHUFFLE', parents: [ref(t, MAP)], numPartitions: 2 },
  ];
  const inputs: Location[] = [
    { kind: 'INPUT_BLOCK', dataset: ref(t, SRC), partition: 0, blockId: `in-${t}-0`, executorIds: ['e1', 'e2'], bytes: 1000 },
    { kind: 'INPUT_BLOCK', dataset: ref(t, SRC), partition: 1, blockId: `in-${t}-1`, executorIds: ['e2', 'e3'], bytes: 1000 },
  ];
  return { jobId: JOB, batchTimeMs: t, datasets, inputs };
}

function ranWordCount(t: number): Location[] {
  return [
    { kind: 'SHUFFLE_OUTPUT', dataset: ref(t, REDUCE), partition: 0, blockId: `sh-${t}-0`, executorIds: ['e1'], bytes: 10 },
    { kind: 'SHUFFLE_OUTPUT', dataset: ref(t, REDUCE), partition: 1, blockId: `sh-${t}-1`, executorIds: ['e2'], bytes: 10 },
    { kind: 'PARTITION', dataset: ref(t, REDUCE), partition: 0, blockId: `rdd-${t}-0`, executorIds: ['e1'], bytes: 5 },
  ];
}

type Method = (req: never, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: never) => void) => grpc.ClientUnaryCall;

describe('lineage service (process + nats-server)', () => {
  let nats: NatsServerHandle;
  let lineage: ServiceProcess | undefined;
  let client: LineageClient;

  // 'info', not 'warn': lib/service-main.ts logs the `listening` line the
  // launcher waits for at info level, so 'warn' would hide it.
  const tls = useTestSecurity();
  const env = () => ({ ...tls.env('lineage'), RIVULET_NATS_URL: nats.url, RIVULET_PORT: '0', RIVULET_LOG_LEVEL: 'info', RIVULET_MAX_BATCHES_PER_JOB: '50' });

  async function startLineage(): Promise<void> {
    lineage = await startServiceProcess({ service: 'lineage', env: env() });
    client?.close();
    // The test stands in for the scheduler, the only caller lineage accepts.
    client = dial.lineage(lineage.address, { security: tls.as('scheduler') });
  }

  // A small typed shim: unary() wants the 4-argument overload of a client method.
  const call = <Res>(method: keyof LineageClient, req: unknown): Promise<Res> =>
    unary<unknown, Res>(client, (client[method] as Method).bind(client) as never, req, { timeoutMs: 5000 });

  const codeOf = async (p: Promise<unknown>): Promise<number | undefined> => {
    try {
      await p;
      return Status.OK;
    } catch (e) {
      return (e as { code?: number }).code;
    }
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    await startLineage();
  });

  afterAll(async () => {
    client?.close();
    await lineage?.stop();
    await nats?.stop();
  });

  it('records batches and locations that survive SIGKILL and restart', async () => {
    await call('registerBatch', wordCount(1000));
    await call('registerBatch', wordCount(1000)); // idempotent retry
    await call('registerBatch', wordCount(2000));
    await call('recordLocations', { locations: [...ranWordCount(1000), ...ranWordCount(2000)] });
    // Merge a second executor into an existing location.
    await call('recordLocations', {
      locations: [{ kind: 'PARTITION', dataset: ref(2000, REDUCE), partition: 0, blockId: 'rdd-2000-0', executorIds: ['e3'], bytes: 0 }],
    });
    expect(await call('removeExecutor', { executorId: 'e1' })).toEqual({ locationsUpdated: 6 });

    const before = {
      b1000: await call('getBatch', { jobId: JOB, batchTimeMs: 1000 }),
      b2000: await call('getBatch', { jobId: JOB, batchTimeMs: 2000 }),
      stats: await call('getStats', {}),
      lostE2: await call('lostOnExecutor', { executorId: 'e2' }),
      plan: await call('planRebuild', { partitions: [{ dataset: ref(1000, REDUCE), partition: 0 }] }),
    };
    expect(before.stats).toEqual({ jobs: 1, batches: 2, datasets: 6, locations: 10, maxDepth: 2 });
    expect((before.b2000 as { locations: Location[] }).locations.find((l) => l.blockId === 'rdd-2000-0')!.executorIds).toEqual(['e3']);
    expect(before.plan).toEqual({
      tasks: [
        // The map task reads the surviving input block; the reduce task reads only map outputs.
        { partition: { dataset: ref(1000, MAP), partition: 0 }, shuffleFor: ref(1000, REDUCE), depth: 0, reads: [{ dataset: ref(1000, SRC), partition: 0 }] },
        { partition: { dataset: ref(1000, REDUCE), partition: 0 }, shuffleFor: null, depth: 1, reads: [] },
      ],
      unrecoverable: [],
    });

    await lineage!.kill();
    await startLineage();

    expect(await call('getBatch', { jobId: JOB, batchTimeMs: 1000 })).toEqual(before.b1000);
    expect(await call('getBatch', { jobId: JOB, batchTimeMs: 2000 })).toEqual(before.b2000);
    expect(await call('getStats', {})).toEqual(before.stats);
    // The executor index is rebuilt from the loaded locations.
    expect(await call('lostOnExecutor', { executorId: 'e2' })).toEqual(before.lostE2);
    expect(await call('planRebuild', { partitions: [{ dataset: ref(1000, REDUCE), partition: 0 }] })).toEqual(before.plan);
    // Registration after restart is still idempotent against the loaded graph.
    await call('registerBatch', wordCount(2000));
  });

  it('forgets batches durably', async () => {
    expect(await call('forgetBatches', { jobId: JOB, beforeBatchTimeMs: 1500 })).toEqual({ batchesForgotten: 1 });
    expect(await codeOf(call('getBatch', { jobId: JOB, batchTimeMs: 1000 }))).toBe(Status.NOT_FOUND);

    await lineage!.kill();
    await startLineage();

    expect(await codeOf(call('getBatch', { jobId: JOB, batchTimeMs: 1000 }))).toBe(Status.NOT_FOUND);
    expect(await codeOf(call('getBatch', { jobId: JOB, batchTimeMs: 2000 }))).toBe(Status.OK);
    expect(await call('getStats', {})).toEqual({ jobs: 1, batches: 1, datasets: 3, locations: 5, maxDepth: 2 });
  });

  it('serialises concurrent RecordLocations on one batch without losing updates', async () => {
    const location = (executorId: string): Location => ({
      kind: 'PARTITION',
      dataset: ref(2000, MAP),
      partition: 1,
      blockId: 'rdd-2000-map-1',
      executorIds: [executorId],
      bytes: 7,
    });
    const executors = Array.from({ length: 24 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    await Promise.all(executors.map((e) => call('recordLocations', { locations: [location(e)] })));
    const batch = await call<{ locations: Location[] }>('getBatch', { jobId: JOB, batchTimeMs: 2000 });
    expect(batch.locations.find((l) => l.blockId === 'rdd-2000-map-1')!.executorIds).toEqual(executors);
    // Durable too: the last write holds the merged set, not the last request's.
    await lineage!.kill();
    await startLineage();
    const reloaded = await call<{ locations: Location[] }>('getBatch', { jobId: JOB, batchTimeMs: 2000 });
    expect(reloaded.locations.find((l) => l.blockId === 'rdd-2000-map-1')!.executorIds).toEqual(executors);
  });

  it('answers malformed requests with INVALID_ARGUMENT, unknown batches with NOT_FOUND, conflicts with ALREADY_EXISTS, and keeps serving', async () => {
    const good = wordCount(3000);
    const goodDatasets = good.datasets!;
    const missingRef = { ...good, datasets: [{ ...goodDatasets[0], ref: null }, ...goodDatasets.slice(1)] };
    expect(await codeOf(call('registerBatch', missingRef))).toBe(Status.INVALID_ARGUMENT);
    const unknownParent = { ...good, datasets: [...goodDatasets.slice(0, 2), { ...goodDatasets[2], parents: [ref(3000, 9)] }] };
    expect(await codeOf(call('registerBatch', unknownParent))).toBe(Status.INVALID_ARGUMENT);
    const zeroPartitions = { ...good, datasets: [{ ...goodDatasets[0], numPartitions: 0 }, ...goodDatasets.slice(1)] };
    expect(await codeOf(call('registerBatch', zeroPartitions))).toBe(Status.INVALID_ARGUMENT);
    expect(await codeOf(call('registerBatch', { jobId: '', batchTimeMs: 1, datasets: [], inputs: [] }))).toBe(Status.INVALID_ARGUMENT);
    expect(await codeOf(call('registerBatch', {}))).toBe(Status.INVALID_ARGUMENT);
    expect(await codeOf(call('recordLocations', { locations: [{ kind: 'PARTITION', dataset: null }] }))).toBe(Status.INVALID_ARGUMENT);
    expect(await codeOf(call('removeExecutor', { executorId: '' }))).toBe(Status.INVALID_ARGUMENT);
    expect(await codeOf(call('planRebuild', { partitions: [{ dataset: ref(2000, REDUCE), partition: 7 }] }))).toBe(Status.INVALID_ARGUMENT);

    expect(await codeOf(call('getBatch', { jobId: JOB, batchTimeMs: 999_999 }))).toBe(Status.NOT_FOUND);
    expect(await codeOf(call('recordLocations', { locations: ranWordCount(999_999) }))).toBe(Status.NOT_FOUND);
    expect(await codeOf(call('planRebuild', { partitions: [{ dataset: ref(999_999, 0), partition: 0 }] }))).toBe(Status.NOT_FOUND);

    const conflicting = { ...wordCount(2000), datasets: wordCount(2000).datasets!.map((d, i) => (i === 1 ? { ...d, operator: 'map' } : d)) };
    expect(await codeOf(call('registerBatch', conflicting))).toBe(Status.ALREADY_EXISTS);
    // ...unless the caller asks to replace it (a restarted scheduler re-planning its in-flight batch).
    await call('registerBatch', { ...conflicting, replace: true });
    expect(((await call('getBatch', { jobId: JOB, batchTimeMs: 2000 })) as { datasets: Array<{ operator: string }> }).datasets[1]!.operator).toBe('map');
    await call('registerBatch', { ...wordCount(2000), replace: true });
    await call('recordLocations', { locations: ranWordCount(2000) });

    const health = dial.health(lineage!.address, { security: tls.admin() });
    try {
      const res = await unary<{ service: string }, { status?: string }>(health, health.check as never, { service: '' });
      expect(res.status).toBe('SERVING');
    } finally {
      health.close();
    }
    expect(lineage!.process.exitCode).toBeNull();
    // Batch 2000 as registered again: its 2 input blocks and the 3 locations of ranWordCount.
    expect(await call('getStats', {})).toEqual({ jobs: 1, batches: 1, datasets: 3, locations: 5, maxDepth: 2 });
  });

  it('exits with a clear error when NATS is unavailable at start', async () => {
    const deadPort = await freePort();
    await expect(
      startServiceProcess({
        service: 'lineage',
        name: 'lineage-no-nats',
        env: { ...env(), RIVULET_NATS_URL: `nats://127.0.0.1:${deadPort}` },
        startTimeoutMs: 15_000,
      }),
    ).rejects.toThrow(/exited \(1\)[\s\S]*cannot connect to NATS at nats:\/\/127\.0\.0\.1/);
  });
});
