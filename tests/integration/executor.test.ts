/**
 * Two real executor processes and a real nats-server, driven over real gRPC
 * the way the scheduler and receiver will drive them. Needs the compiled
 * services: run `npx tsc -p tsconfig.json` (or `npm run build`) first.
 */
import type { TransportSecurity } from '../../lib/security/transport.js';
import { useTestSecurity } from '../helpers/security.js';
import { fileURLToPath } from 'node:url';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceProcess, type ServiceProcess } from '../../lib/cluster/service-process.js';
import { checkpointName } from '../../lib/checkpoint/store.js';
import { packRecords, unpackRecords } from '../../lib/codec/records.js';
import { bundleJob, type JobBundle } from '../../lib/dstream/bundle.js';
import { bundleHash, loadJob } from '../../lib/dstream/loader.js';
import { planBatch, STATE_KEYS, type PlannedStage } from '../../lib/dstream/planner.js';
import { dial, unary } from '../../lib/grpc/client.js';
import { openBlobStore } from '../../lib/nats/blob-store.js';
import { connectNats, publish, subscribe, type NatsConnection } from '../../lib/nats/connection.js';
import { subjects, type HeartbeatMessage } from '../../lib/nats/subjects.js';
import { heartbeatSchema } from '../../lib/nats/schemas.js';
import { startNatsServer, type NatsServerHandle } from '../../lib/process/nats-server.js';
import { freePort } from '../../lib/process/ports.js';
import type { ExecutorClient } from '../../lib/proto/index.js';
import type { TaskSpec } from '../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import type { TaskResult__Output } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { TaskResults__Output } from '../../lib/proto/gen/rivulet/v1/TaskResults.js';
import type { ExecutorRef } from '../../lib/proto/gen/rivulet/v1/ExecutorRef.js';

const wordcountPath = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const STORE_BYTES = 4 * 1024 * 1024;

type Call = Parameters<typeof unary>[1];

async function call<Res>(client: ExecutorClient, method: keyof ExecutorClient, req: unknown): Promise<Res> {
  return unary(client, (client[method] as Call).bind(client) as Call, req, { timeoutMs: 10_000 }) as Promise<Res>;
}

function runTasks(
  client: ExecutorClient,
  tasks: TaskSpec[],
  onResult?: (r: TaskResult__Output) => void,
): Promise<TaskResult__Output[]> {
  return new Promise((resolve, reject) => {
    const out: TaskResult__Output[] = [];
    const stream = client.runTasks({ tasks }, { deadline: Date.now() + 30_000 });
    stream.on('data', (r: TaskResult__Output) => {
      out.push(r);
      onResult?.(r);
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
  });
}

function fetchBlocks(client: ExecutorClient, blockIds: string[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const out: unknown[] = [];
    const stream = client.fetchBlocks({ blockIds }, { deadline: Date.now() + 10_000 });
    stream.on('data', (b) => out.push(b));
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
  });
}

async function statusOf(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as ServiceError).code, details: (e as ServiceError).details ?? (e as Error).message };
  }
  throw new Error('expected the call to fail');
}

async function serving(address: string, security: TransportSecurity): Promise<string | undefined> {
  const h = dial.health(address, { security });
  try {
    const res = await unary<{ service: string }, { status?: string }>(h, h.check as never, { service: '' }, { timeoutMs: 3000 });
    return res.status;
  } finally {
    h.close();
  }
}

function inlineJob(name: string, body: string): { code: string; hash: string; source: string } {
  const code = `const { defineJob } = require('rivulet');\nmodule.exports = { default: defineJob((ctx) => ${body}) };`;
  return { code, hash: bundleHash(code), source: name };
}

describe('executor service (2 processes, real gRPC + NATS)', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let ca: ExecutorClient;
  let cb: ExecutorClient;
  const heartbeats = new Map<string, HeartbeatMessage[]>();
  let wordcount: JobBundle;
  let mapStage: PlannedStage;
  let resultStage: PlannedStage;
  let refA: ExecutorRef;
  let refB: ExecutorRef;

  const blocks: Record<string, string[]> = {
    'in/lines/1000/0': ['the quick brown fox', 'jumps over the lazy dog'],
    'in/lines/1000/1': ['the end', '', '  spaced   out  '],
    'in/lines/1000/2': Array.from({ length: 300 }, (_, i) => `w${i % 17} the w${i % 5}`),
  };
  const blockIds = Object.keys(blocks);
  const REDUCERS = 3;
  const SHUFFLE = 'wc/1000/0';

  /** exec-b's Prometheus endpoint (its rivulet.invalid_inputs counter) and its log lines. */
  let metricsPortB = 0;
  const logB: string[] = [];

  const tls = useTestSecurity();
  /** A client of `p` as another executor (FetchBlocks is for peers only), closed in afterAll. */
  const peers: ExecutorClient[] = [];
  const peerOf = (p: ServiceProcess) => {
    const c = dial.executor(p.address, { security: tls.as('executor') });
    peers.push(c);
    return c;
  };
  const start = (id: string, extra: Record<string, string> = {}, onLine?: (line: string) => void) =>
    startServiceProcess({
      service: 'executor',
      name: id,
      ...(onLine ? { onLine } : {}),
      env: {
        ...tls.env('executor'),
        ...extra,
        RIVULET_NATS_URL: nats.url,
        RIVULET_EXECUTOR_ID: id,
        RIVULET_PORT: '0',
        RIVULET_SLOTS: '2',
        // 2 slots × 4: room for the 5 tasks one RunTasks call below sends at once.
        RIVULET_TASK_QUEUE_DEPTH: '4',
        // Not 'warn': lib/service-main.ts logs the `listening` line the launcher
        // waits for at info level, so a warn-level service never looks started.
        RIVULET_LOG_LEVEL: 'info',
        RIVULET_BLOCK_STORE_BYTES: String(STORE_BYTES),
        RIVULET_HEARTBEAT_INTERVAL: '100ms',
      },
    });

  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connectNats(nats.url, 'executor-test');
    subscribe(nc, subjects.heartbeatAll, heartbeatSchema, (m) => {
      const list = heartbeats.get(m.executorId) ?? [];
      list.push(m);
      heartbeats.set(m.executorId, list);
    });
    metricsPortB = await freePort();
    [a, b] = await Promise.all([start('exec-a'), start('exec-b', { RIVULET_METRICS_PORT: String(metricsPortB) }, (l) => logB.push(l))]);
    // The test stands in for the scheduler (LoadJob, RunTasks) and, where it fetches, a peer.
    ca = dial.executor(a.address, { security: tls.as('scheduler') });
    cb = dial.executor(b.address, { security: tls.as('scheduler') });
    const bundle = await bundleJob(wordcountPath);
    wordcount = bundle;
    const plan = planBatch(loadJob(bundle.code, bundle.source).graph, new Map([['lines', blockIds.length]]), REDUCERS);
    [mapStage, resultStage] = plan.stages as [PlannedStage, PlannedStage];
  });

  afterAll(async () => {
    ca?.close();
    cb?.close();
    for (const c of peers) c.close();
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await nc?.close();
    await nats?.stop();
  });

  const latest = (id: string) => heartbeats.get(id)?.at(-1);

  async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = fn();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  function mapTask(partition: number, blockId: string, holders: ExecutorRef[]): TaskSpec {
    return {
      taskId: `map-${partition}`,
      jobId: 'wc',
      bundleHash: wordcount.hash,
      batchTimeMs: 1000,
      stageId: mapStage.id,
      partition,
      attempt: 0,
      dataset: { jobId: 'wc', batchTimeMs: 1000, nodeId: mapStage.finalNode },
      blocks: [
        {
          dataset: { jobId: 'wc', batchTimeMs: 1000, nodeId: mapStage.sourceNodes[0]! },
          partition,
          blockId,
          locations: holders,
        },
      ],
      shuffleWrite: {
        shuffleId: SHUFFLE,
        dataset: { jobId: 'wc', batchTimeMs: 1000, nodeId: mapStage.shuffleNode! },
        numPartitions: REDUCERS,
      },
    };
  }

  function reduceTask(r: number, mapOutputs: ExecutorRef[], attempt = 0): TaskSpec {
    return {
      taskId: `reduce-${r}`,
      jobId: 'wc',
      bundleHash: wordcount.hash,
      batchTimeMs: 1000,
      stageId: resultStage.id,
      partition: r,
      attempt,
      dataset: { jobId: 'wc', batchTimeMs: 1000, nodeId: resultStage.finalNode },
      shuffles: [
        {
          dataset: { jobId: 'wc', batchTimeMs: 1000, nodeId: resultStage.shuffleReads[0]! },
          reducePartition: r,
          shuffleId: SHUFFLE,
          mapOutputs: mapOutputs.map((executor, m) => ({ mapPartition: m, executor })),
        },
      ],
      result: { output: 'counts' },
    };
  }

  it('publishes heartbeats with its identity, slots and block-store bound', async () => {
    const hbA = await waitFor('heartbeat of exec-a', () => latest('exec-a'));
    const hbB = await waitFor('heartbeat of exec-b', () => latest('exec-b'));
    expect(hbA).toMatchObject({
      executorId: 'exec-a',
      address: a.address,
      slots: 2,
      taskQueueDepth: 4,
      freeSlots: 2,
      runningTasks: 0,
      blockCount: 0,
      blockBytes: 0,
      blockCapacityBytes: STORE_BYTES,
      jobBundles: 0,
      compactMapOutputs: true,
      streamDrops: true,
    });
    expect(hbA.epoch).toBeGreaterThan(0);
    expect(typeof hbA.host).toBe('string');
    expect(hbB.address).toBe(b.address);
    expect(hbB.epoch).not.toBe(0);
    refA = { executorId: 'exec-a', address: a.address, epoch: hbA.epoch };
    refB = { executorId: 'exec-b', address: b.address, epoch: hbB.epoch };
  });

  it('stores blocks (idempotently) and reports them in heartbeats', async () => {
    const put = (c: ExecutorClient, id: string) =>
      call<{ executorId: string; epoch: number }>(c, 'putBlock', {
        blockId: id,
        stream: 'lines',
        batch: { count: blocks[id]!.length, payload: packRecords(blocks[id]!) },
      });
    // Block 0 on A, block 1 on B, block 2 only on A (B must fetch it as a map input).
    expect(await put(ca, blockIds[0]!)).toEqual({ executorId: 'exec-a', epoch: refA.epoch });
    expect(await put(cb, blockIds[1]!)).toEqual({ executorId: 'exec-b', epoch: refB.epoch });
    await put(ca, blockIds[2]!);
    await put(ca, blockIds[2]!); // a retried put is accepted and stored once
    const bytes = packRecords(blocks[blockIds[0]!]!).length + packRecords(blocks[blockIds[2]!]!).length;
    await waitFor('heartbeat with 2 blocks', () => (latest('exec-a')?.blockCount === 2 ? true : undefined));
    expect(latest('exec-a')!.blockBytes).toBe(bytes);
  });

  it('loads a job bundle by hash and refuses one whose hash does not match', async () => {
    const bad = await statusOf(call(ca, 'loadJob', { jobId: 'wc', bundleHash: 'f'.repeat(64), bundle: Buffer.from(wordcount.code) }));
    expect(bad.code).toBe(Status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/does not match the sha256 of the bundle/);
    const garbage = await statusOf(call(ca, 'loadJob', { jobId: 'wc', bundleHash: 'nope', bundle: Buffer.from('x') }));
    expect(garbage.code).toBe(Status.INVALID_ARGUMENT);
    for (const c of [ca, cb]) await call(c, 'loadJob', { jobId: 'wc', bundleHash: wordcount.hash, bundle: Buffer.from(wordcount.code) });
    await call(ca, 'loadJob', { jobId: 'wc', bundleHash: wordcount.hash, bundle: Buffer.from(wordcount.code) }); // idempotent
  });

  it('runs word count: map tasks on A and B, reduce tasks on B fetching from A', async () => {
    const [onA, onB] = await Promise.all([
      runTasks(ca, [mapTask(0, blockIds[0]!, [refA])]),
      runTasks(cb, [mapTask(1, blockIds[1]!, [refB]), mapTask(2, blockIds[2]!, [refA])]),
    ]);
    for (const r of [...onA, ...onB]) {
      expect(r).toMatchObject({ state: 'SUCCEEDED', error: '', userError: false });
      expect(r.bucketBytes).toHaveLength(REDUCERS);
      expect(r.metrics!.bytesOut).toBe(r.bucketBytes.reduce((x, y) => x + y, 0));
    }
    expect(onA[0]).toMatchObject({ taskId: 'map-0', executorId: 'exec-a', epoch: refA.epoch });
    expect(onB.map((r) => r.executorId)).toEqual(['exec-b', 'exec-b']);
    expect(onB.every((r) => r.epoch === refB.epoch)).toBe(true);
    const fetched = onB.find((r) => r.taskId === 'map-2')!;
    expect(fetched.metrics!.recordsIn).toBe(300);
    expect(fetched.metrics!.fetchMs).toBeGreaterThan(0);

    // Map output 0 lives on A, 1 and 2 on B.
    const results = await runTasks(
      cb,
      Array.from({ length: REDUCERS }, (_, r) => reduceTask(r, [refA, refB, refB])),
    );
    expect(results).toHaveLength(REDUCERS);
    const counts = new Map<string, number>();
    for (const r of results) {
      expect(r).toMatchObject({ state: 'SUCCEEDED', executorId: 'exec-b', fetchFailedExecutorId: '' });
      const records = unpackRecords(r.records!.payload) as [string, number][];
      expect(r.records!.count).toBe(records.length);
      for (const [w, c] of records) counts.set(w, (counts.get(w) ?? 0) + c);
    }
    const expected = new Map<string, number>();
    for (const line of Object.values(blocks).flat()) for (const w of line.split(/\s+/)) if (w) expected.set(w, (expected.get(w) ?? 0) + 1);
    expect(counts).toEqual(expected);

    // Buckets are ordinary blocks: readable by id from the executor that wrote them.
    const fetchedBuckets = await fetchBlocks(peerOf(a), [`shuffle/${SHUFFLE}/0/0`, `shuffle/${SHUFFLE}/0/1`]);
    expect(fetchedBuckets).toHaveLength(2);
  });

  it('a map task asked for its total only (total_bytes_only) reports it in bytes_out and lists no bucket sizes', async () => {
    const asked = (totalBytesOnly: boolean): TaskSpec => {
      const spec = mapTask(0, blockIds[0]!, [refA]);
      return { ...spec, taskId: `map-0-total-${totalBytesOnly}`, shuffleWrite: { ...spec.shuffleWrite!, shuffleId: `${SHUFFLE}-total-${totalBytesOnly}`, totalBytesOnly } };
    };
    const [[totalOnly], [listed]] = await Promise.all([runTasks(ca, [asked(true)]), runTasks(ca, [asked(false)])]);
    expect(totalOnly).toMatchObject({ state: 'SUCCEEDED', bucketBytes: [] });
    expect(listed!.bucketBytes).toHaveLength(REDUCERS);
    expect(totalOnly!.metrics!.bytesOut).toBe(listed!.bucketBytes.reduce((x, y) => x + y, 0));
    expect(totalOnly!.metrics!.bytesOut).toBeGreaterThan(0);
  });

  it('reports a throwing map function as a user error', async () => {
    const thrower = inlineJob(
      'thrower.js',
      `ctx.receiverStream('lines').map((l) => { if (l.includes('fox')) throw new Error('no foxes'); return l; }).output('o')`,
    );
    await call(ca, 'loadJob', { jobId: 'thrower', bundleHash: thrower.hash, bundle: Buffer.from(thrower.code) });
    const [r] = await runTasks(ca, [
      {
        taskId: 't-1',
        attempt: 2,
        bundleHash: thrower.hash,
        partition: 0,
        dataset: { jobId: 'thrower', batchTimeMs: 1000, nodeId: 2 },
        blocks: [{ dataset: { nodeId: 0 }, partition: 0, blockId: blockIds[0]!, locations: [refA] }],
        result: { output: 'o' },
      },
    ]);
    expect(r).toMatchObject({ taskId: 't-1', attempt: 2, state: 'FAILED', userError: true, executorId: 'exec-a' });
    expect(r!.error).toMatch(/user function of map \(node 1\) threw Error: no foxes/);
  });

  it('fails clearly on a bundle never loaded and on malformed specs, and keeps serving', async () => {
    const results = await runTasks(cb, [
      { ...reduceTask(0, [refA, refB, refB]), taskId: 'unloaded', bundleHash: 'a'.repeat(64) },
      { taskId: 'no-dataset', bundleHash: wordcount.hash, result: { output: 'x' } },
      { ...mapTask(0, blockIds[0]!, [refA]), taskId: 'zero-parts', shuffleWrite: { shuffleId: 's', dataset: { nodeId: 4 }, numPartitions: 0 } },
      { ...mapTask(0, 'no-such-block', []), taskId: 'nowhere' },
      { ...mapTask(0, 'lost-here', [refB]), taskId: 'lost-here' },
      { ...mapTask(0, 'has space', [refA]), taskId: 'bad-block-id' },
    ]);
    const byId = new Map(results.map((r) => [r.taskId, r]));
    expect(byId.get('unloaded')).toMatchObject({ state: 'FAILED', userError: false, executorId: 'exec-b' });
    expect(byId.get('unloaded')!.error).toBe(`job bundle ${'a'.repeat(64)} not loaded on executor exec-b; call LoadJob before RunTasks`);
    expect(byId.get('no-dataset')!.error).toMatch(/invalid task spec: task no-dataset has no dataset/);
    expect(byId.get('zero-parts')!.error).toMatch(/num_partitions must be 1..65536, got 0/);
    expect(byId.get('nowhere')).toMatchObject({ state: 'FAILED', fetchFailedExecutorId: '' });
    expect(byId.get('nowhere')!.error).toMatch(/no-such-block is not on executor exec-b and the task names no location/);

    expect(byId.get('lost-here')).toMatchObject({ state: 'FAILED', userError: false, fetchFailedExecutorId: 'exec-b' });
    // Names and ids follow lib/names.ts: a task naming a malformed block is failed before it runs.
    expect(byId.get('bad-block-id')!.error).toMatch(/^task refused: blocks\.block_id "has space" has a character outside/);

    const missing = await statusOf(fetchBlocks(peerOf(b), [blockIds[1]!, 'in/none', 'in/none2']));
    expect(missing).toEqual({ code: Status.NOT_FOUND, details: 'block in/none not found on executor exec-b' });
    const empty = await statusOf(call(cb, 'putBlock', { blockId: '', batch: { count: 0, payload: Buffer.alloc(0) } }));
    expect(empty.code).toBe(Status.INVALID_ARGUMENT);
    expect(await call(cb, 'dropBlocks', { blockIds: ['unknown'], prefixes: [] })).toEqual({ dropped: 0, bytesFreed: 0 });
    expect(await serving(b.address, tls.admin())).toBe('SERVING');
  });

  /** A map task writing to its own shuffle, so later tests still find the word-count shuffle's buckets only where they put them. */
  function isolated(t: TaskSpec, taskId: string): TaskSpec {
    return { ...t, taskId, shuffleWrite: { ...t.shuffleWrite!, shuffleId: `isolated-${taskId}` } };
  }

  it('refuses tasks beyond slots × taskQueueDepth with queue_full (not a failure of the task), and serves the rest', async () => {
    // exec-b: 2 slots × depth 4 = 8 tasks at once; the ninth and tenth are refused.
    const tasks = Array.from({ length: 10 }, (_, i) => isolated(mapTask(i % 3, blockIds[i % 3]!, [refA, refB]), `q-${i}`));
    const results = await runTasks(cb, tasks);
    const refused = results.filter((r) => r.queueFull);
    expect(refused.map((r) => r.taskId).sort()).toEqual(['q-8', 'q-9']);
    for (const r of refused) expect(r).toMatchObject({ state: 'FAILED', userError: false, executorId: 'exec-b' });
    expect(refused[0]!.error).toBe('executor exec-b already holds 8 tasks (slots × taskQueueDepth)');
    expect(results.filter((r) => r.state === 'SUCCEEDED')).toHaveLength(8);
  });

  it('TaskStream: tasks sent on one long-lived call, results packed back, the call ends after the scheduler half-closes', async () => {
    const stream = cb.taskStream();
    const messages: TaskResults__Output[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (m: TaskResults__Output) => messages.push(m));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    stream.write({ tasks: [0, 1, 2].map((p) => isolated(mapTask(p, blockIds[p]!, [refA, refB]), `s1-${p}`)) });
    // A second launch on the same call, as the scheduler does when slots free up.
    await waitFor('first results', () => (messages.length > 0 ? true : undefined));
    stream.write({ tasks: [isolated(mapTask(0, blockIds[0]!, [refA, refB]), 's2-0')] });
    await waitFor('every result', () => (messages.flatMap((m) => m.results).length === 4 ? true : undefined));
    stream.end();
    await ended;
    const results = messages.flatMap((m) => m.results);
    expect(results.map((r) => r.taskId).sort()).toEqual(['s1-0', 's1-1', 's1-2', 's2-0']);
    expect(results.every((r) => r.state === 'SUCCEEDED' && r.executorId === 'exec-b')).toBe(true);
  });

  it('TaskStream ended_jobs: a bundle is dropped once every job that loaded it has ended, and its tasks are refused after', async () => {
    const code = inlineJob('ends.js', `ctx.receiverStream('lines').output('o')`);
    const held = () => latest('exec-b')?.jobBundles;
    const { n: before } = await waitFor('a heartbeat', () => (held() === undefined ? undefined : { n: held()! }));
    for (const jobId of ['ends-1', 'ends-2']) await call(cb, 'loadJob', { jobId, bundleHash: code.hash, bundle: Buffer.from(code.code) });
    await waitFor('the bundle held', () => (held() === before + 1 ? true : undefined));
    const stream = cb.taskStream();
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', () => undefined);
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    // One of its two jobs ended (and one it never loaded): still held.
    stream.write({ endedJobs: ['ends-1', 'never-loaded'] });
    const spec: TaskSpec = { taskId: 'after-end', attempt: 0, bundleHash: code.hash, dataset: { nodeId: 1 }, blocks: [{ dataset: { nodeId: 0 }, partition: 0, blockId: blockIds[0]!, locations: [refA] }], result: { output: 'o' } };
    expect((await runTasks(cb, [spec]))[0]).toMatchObject({ state: 'SUCCEEDED' });
    stream.write({ endedJobs: ['ends-2'] });
    await waitFor('the bundle dropped', () => (held() === before ? true : undefined));
    stream.end();
    await ended;
    const [refused] = await runTasks(cb, [{ ...spec, taskId: 'after-both' }]);
    expect(refused).toMatchObject({ state: 'FAILED', userError: false });
    expect(refused!.error).toMatch(/not loaded on executor exec-b/);
  });

  it('TaskStream drops: blocks named on the stream are dropped as DropBlocks would; drops past its bounds drop nothing', async () => {
    const put = (id: string) => call(cb, 'putBlock', { blockId: id, stream: 'lines', batch: { count: 1, payload: packRecords(['x']) } });
    const count = () => latest('exec-b')?.blockCount;
    const { n: before } = await waitFor('a heartbeat', () => (count() === undefined ? undefined : { n: count()! }));
    for (const id of ['drop-1', 'drop-2', 'drop-pre-1', 'drop-pre-2']) await put(id);
    await waitFor('4 more blocks', () => (count() === before + 4 ? true : undefined));
    const stream = cb.taskStream();
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', () => undefined);
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    // Over the DropBlocks bound (100,000 ids): refused whole, nothing dropped.
    stream.write({ drops: { blockIds: Array.from({ length: 100_001 }, (_, i) => (i === 0 ? 'drop-pre-1' : `none-${i}`)), prefixes: [] } });
    stream.write({ drops: { blockIds: ['drop-1', 'drop-2', 'never-stored'], prefixes: [] } });
    await waitFor('2 dropped by id', () => (count() === before + 2 ? true : undefined));
    stream.write({ drops: { blockIds: [], prefixes: ['drop-pre-'] } });
    await waitFor('2 more dropped by prefix', () => (count() === before ? true : undefined));
    stream.end();
    await ended;
    // Gone: nothing left to drop.
    expect(await call(cb, 'dropBlocks', { blockIds: ['drop-1', 'drop-2', 'drop-pre-1', 'drop-pre-2'], prefixes: [] })).toEqual({ dropped: 0, bytesFreed: 0 });
  });

  it('streams each result as it finishes, and kills a running task (KILLED on its stream)', async () => {
    const spinner = inlineJob('spinner.js', `ctx.receiverStream('lines').map((l) => { if (l === 'the end') for (;;) {} return l; }).output('o')`);
    await call(cb, 'loadJob', { jobId: 'spin', bundleHash: spinner.hash, bundle: Buffer.from(spinner.code) });
    const spec = (taskId: string): TaskSpec => ({
      taskId,
      attempt: 0,
      bundleHash: spinner.hash,
      dataset: { nodeId: 2 },
      blocks: [{ dataset: { nodeId: 0 }, partition: 0, blockId: taskId === 'spin' ? blockIds[1]! : blockIds[0]!, locations: [refA] }],
      result: { output: 'o' },
    });
    const seen: TaskResult__Output[] = [];
    const pending = runTasks(cb, [spec('spin'), spec('quick')], (r) => seen.push(r));
    // The quick task's result arrives while the spinning one still holds its slot.
    await waitFor('quick result', () => (seen.length === 1 ? true : undefined));
    expect(seen[0]).toMatchObject({ taskId: 'quick', state: 'SUCCEEDED' });
    expect(unpackRecords(seen[0]!.records!.payload)).toEqual(blocks[blockIds[0]!]);
    await waitFor('spinner counted as running', () => (latest('exec-b')?.runningTasks === 1 ? true : undefined));
    expect(await call(cb, 'killTasks', { tasks: [{ taskId: 'spin', attempt: 0 }, { taskId: 'nope', attempt: 0 }] })).toEqual({ killed: 1 });
    const all = await pending;
    expect(all.map((r) => [r.taskId, r.state])).toEqual([
      ['quick', 'SUCCEEDED'],
      ['spin', 'KILLED'],
    ]);
    expect(all[1]).toMatchObject({ executorId: 'exec-b', epoch: refB.epoch });
    await waitFor('slot freed', () => (latest('exec-b')?.freeSlots === 2 ? true : undefined));
  });

  it('gives back only tasks not started when asked with only_if_queued (stealing): a queued task is KILLED, running ones keep running', async () => {
    const spinner = inlineJob('spinner2.js', `ctx.receiverStream('lines').map((l) => { if (l === 'the end') for (;;) {} return l; }).output('o')`);
    await call(cb, 'loadJob', { jobId: 'spin2', bundleHash: spinner.hash, bundle: Buffer.from(spinner.code) });
    const spec = (taskId: string, spins: boolean): TaskSpec => ({
      taskId,
      attempt: 0,
      bundleHash: spinner.hash,
      dataset: { nodeId: 2 },
      blocks: [{ dataset: { nodeId: 0 }, partition: 0, blockId: spins ? blockIds[1]! : blockIds[0]!, locations: [refA] }],
      result: { output: 'o' },
    });
    // Two spinners hold exec-b's 2 slots; the third task waits in its queue.
    const seen: TaskResult__Output[] = [];
    const pending = runTasks(cb, [spec('spin-a', true), spec('spin-b', true), spec('queued', false)], (r) => seen.push(r));
    await waitFor('both slots busy', () => (latest('exec-b')?.runningTasks === 3 && latest('exec-b')?.freeSlots === 0 ? true : undefined));
    // Asked for a running task and the queued one: only the queued one is given back.
    expect(await call(cb, 'killTasks', { tasks: [{ taskId: 'spin-a', attempt: 0 }, { taskId: 'queued', attempt: 0 }], onlyIfQueued: true })).toEqual({ killed: 1 });
    await waitFor('the queued task reported', () => (seen.length === 1 ? true : undefined));
    expect(seen[0]).toMatchObject({ taskId: 'queued', state: 'KILLED', executorId: 'exec-b' });
    // The spinners still run; stop them the ordinary way.
    expect(await call(cb, 'killTasks', { tasks: [{ taskId: 'spin-a', attempt: 0 }, { taskId: 'spin-b', attempt: 0 }] })).toEqual({ killed: 2 });
    expect((await pending).map((r) => r.state).sort()).toEqual(['KILLED', 'KILLED', 'KILLED']);
    await waitFor('slots freed', () => (latest('exec-b')?.freeSlots === 2 ? true : undefined));
  });

  it('refuses a block beyond blockStoreBytes with RESOURCE_EXHAUSTED', async () => {
    const big = Buffer.alloc(STORE_BYTES + 1024, 0xc0); // 0xc0 = msgpack nil, so it is also valid records
    const res = await statusOf(call(cb, 'putBlock', { blockId: 'in/big', stream: 'lines', batch: { count: big.length, payload: big } }));
    expect(res.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(res.details).toMatch(new RegExp(`block in/big needs ${big.length} bytes but \\d+ of the ${STORE_BYTES}-byte bound`));
    expect(await serving(b.address, tls.admin())).toBe('SERVING');
  });

  it('sends a block larger than a message in slices, which a reduce task on a peer reassembles', async () => {
    // A third executor whose messages are bounded at 64 KiB; its map output (one
    // bucket of every line) is ~5x that, yet B reads it whole.
    const small = await startServiceProcess({
      service: 'executor',
      name: 'exec-small',
      env: {
        ...tls.env('executor'),
        RIVULET_NATS_URL: nats.url,
        RIVULET_EXECUTOR_ID: 'exec-small',
        RIVULET_PORT: '0',
        RIVULET_SLOTS: '1',
        RIVULET_TASK_QUEUE_DEPTH: '3',
        RIVULET_LOG_LEVEL: 'info',
        RIVULET_MAX_MESSAGE_BYTES: '64KiB',
      },
    });
    const cs = dial.executor(small.address, { maxMessageBytes: 64 * 1024, security: tls.as('scheduler') });
    try {
      const refS = { executorId: 'exec-small', address: small.address, epoch: (await waitFor('exec-small heartbeat', () => latest('exec-small'))).epoch };
      // Each map task writes its block's lines 8 times into one bucket: ~4x the message bound.
      const job = inlineJob(
        'big.js',
        `ctx.receiverStream('lines').flatMap((l) => (l.startsWith('keep') ? [l] : Array(8).fill(l))).repartition(1).filter((l) => l.startsWith('keep')).output('o')`,
      );
      await call(cs, 'loadJob', { jobId: 'big', bundleHash: job.hash, bundle: Buffer.from(job.code) });
      await call(cb, 'loadJob', { jobId: 'big', bundleHash: job.hash, bundle: Buffer.from(job.code) });
      const lines = (k: number) => Array.from({ length: 300 }, (_, i) => (i === 7 ? `keep ${k}` : `${k}:${i} ${'x'.repeat(100)}`));
      const inputIds = [0, 1, 2].map((k) => `in/big/${k}`);
      for (const [k, id] of inputIds.entries()) await call(cs, 'putBlock', { blockId: id, stream: 'lines', batch: { count: 300, payload: packRecords(lines(k)) } });
      const graph = loadJob(job.code, job.source).graph;
      const plan = planBatch(graph, new Map([['lines', inputIds.length]]), 1);
      const [map, reduce] = plan.stages as [PlannedStage, PlannedStage];
      const mapResults = await runTasks(
        cs,
        inputIds.map((id, p) => ({
          taskId: `big-map-${p}`,
          bundleHash: job.hash,
          batchTimeMs: 1000,
          partition: p,
          dataset: { jobId: 'big', batchTimeMs: 1000, nodeId: map.finalNode },
          blocks: [{ dataset: { nodeId: map.sourceNodes[0]! }, partition: p, blockId: id, locations: [refS] }],
          shuffleWrite: { shuffleId: 'big', dataset: { nodeId: map.shuffleNode! }, numPartitions: 1 },
        })),
      );
      expect(mapResults.map((r) => r.state)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
      for (const r of mapResults) expect(r.bucketBytes[0]!).toBeGreaterThan(3 * 64 * 1024);
      const [res] = await runTasks(cb, [
        {
          taskId: 'big-reduce',
          bundleHash: job.hash,
          batchTimeMs: 1000,
          partition: 0,
          dataset: { jobId: 'big', batchTimeMs: 1000, nodeId: reduce.finalNode },
          shuffles: [
            {
              dataset: { nodeId: reduce.shuffleReads[0]! },
              reducePartition: 0,
              shuffleId: 'big',
              mapOutputs: inputIds.map((_, m) => ({ mapPartition: m, executor: refS })),
            },
          ],
          result: { output: 'o' },
        },
      ]);
      expect(res).toMatchObject({ state: 'SUCCEEDED', error: '' });
      expect((unpackRecords(res!.records!.payload) as string[]).sort()).toEqual(inputIds.map((_, k) => `keep ${k}`));
      expect(res!.metrics!.recordsIn).toBe(3 * (299 * 8 + 1));
    } finally {
      cs.close();
      await small.stop();
    }
  });

  it('refuses a corrupt state checkpoint with a clear task error (counted, logged once), as a missing one, and still rebuilds from a sound one', async () => {
    const job = inlineJob('state.js', `ctx.receiverStream('lines').map((l) => [l, 1]).updateStateByKey((vs, s) => (s ?? 0) + vs.length).output('totals')`);
    await call(cb, 'loadJob', { jobId: 'st', bundleHash: job.hash, bundle: Buffer.from(job.code) });
    const stateNode = loadJob(job.code, job.source).graph.nodes.find((n) => n.kind === 'state')!.id;
    // The executors' checkpoint bucket (checkpointBucket's default), written here as a damaged or foreign writer would.
    const checkpoints = await openBlobStore(nc, 'rivulet-checkpoints', { replicas: 1 });
    const name = (tag: string) => checkpointName(`st-${tag}`, stateNode, 5000, 0);
    await checkpoints.put(name('sound'), packRecords([[0, 'river', 2, 5000], [0, 'stream', 1, 5000], [1, 'a mapped record']]));
    // Cut off inside a 3-element array: not MessagePack at all.
    await checkpoints.put(name('truncated'), Buffer.from([0x93, 0x00, 0xa5, 0x72]));
    // Well-formed MessagePack, but not state records: a time that is not a number, then a bare string.
    await checkpoints.put(name('misshapen'), packRecords([[0, 'river', 2, 5000], [0, 'stream', 1, 'yesterday'], 'garbage']));
    // A state task rebuilding its previous state from a checkpoint (task-spec.ts addStateRebuild), with no new values.
    const rebuild = (tag: string): TaskSpec => ({
      taskId: `ckpt-${tag}`,
      jobId: 'st',
      bundleHash: job.hash,
      batchTimeMs: 6000,
      partition: 0,
      attempt: 0,
      dataset: { jobId: 'st', batchTimeMs: 6000, nodeId: stateNode },
      blocks: [
        {
          dataset: { jobId: 'st', batchTimeMs: 5000, nodeId: stateNode },
          partition: 0,
          blockId: name(tag),
          locations: [],
          inputKey: STATE_KEYS.checkpoint,
          checkpoint: name(tag),
        },
      ],
      cache: { blockId: `rdd/st:6000:${stateNode}:${tag}/0` },
    });
    const results = await runTasks(cb, ['truncated', 'misshapen', 'absent', 'sound'].map(rebuild));
    const byId = new Map(results.map((r) => [r.taskId, r]));
    // Corrupt: FAILED, not the user's fault and no peer to blame, so the scheduler retries it like a missing checkpoint.
    for (const tag of ['truncated', 'misshapen', 'absent']) {
      expect(byId.get(`ckpt-${tag}`), tag).toMatchObject({ state: 'FAILED', userError: false, fetchFailedExecutorId: '', executorId: 'exec-b' });
    }
    expect(byId.get('ckpt-truncated')!.error).toBe(
      `checkpoint ${name('truncated')} in the checkpoint store (bucket rivulet-checkpoints) is corrupt, refused: not MessagePack records: Unexpected end of MessagePack data`,
    );
    expect(byId.get('ckpt-misshapen')!.error).toMatch(
      new RegExp(`^checkpoint ${name('misshapen')} in the checkpoint store \\(bucket rivulet-checkpoints\\) is corrupt, refused: record 1 of 3 is not a state record`),
    );
    expect(byId.get('ckpt-absent')!.error).toBe(`checkpoint ${name('absent')} is not in the checkpoint store`);
    // The sound one: both keys' states come back (the mapped record is read, not kept).
    expect(byId.get('ckpt-sound')).toMatchObject({ state: 'SUCCEEDED', error: '', records: { count: 2 } });
    expect(byId.get('ckpt-sound')!.metrics!.recordsIn).toBe(3);

    // Two corrupt checkpoints: counted twice, logged once.
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPortB}/metrics`)).text();
    const counter = metrics.split('\n').find((l) => l.startsWith('rivulet_invalid_inputs_total{') && l.includes('rivulet_input_source="obj:rivulet-checkpoints"'));
    expect(counter, metrics).toBeDefined();
    expect(Number(counter!.slice(counter!.lastIndexOf(' ') + 1))).toBe(2);
    expect(logB.filter((l) => l.includes('dropping invalid input') && l.includes('obj:rivulet-checkpoints'))).toHaveLength(1);
    expect(await serving(b.address, tls.admin())).toBe('SERVING');
  });

  it('reports FetchFailed naming A when A dies holding map outputs', async () => {
    await a.kill();
    const results = await runTasks(cb, [reduceTask(1, [refA, refB, refB], 1)]);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      taskId: 'reduce-1',
      attempt: 1,
      state: 'FAILED',
      userError: false,
      fetchFailedExecutorId: 'exec-a',
      executorId: 'exec-b',
    });
    expect(results[0]!.error).toMatch(/exec-a/);
    // Reduce tasks whose map outputs are all on live executors still run.
    const survivorsOnly = reduceTask(2, [refB, refB], 2);
    survivorsOnly.shuffles![0]!.mapOutputs = [
      { mapPartition: 1, executor: refB },
      { mapPartition: 2, executor: refB },
    ];
    const [ok] = await runTasks(cb, [survivorsOnly]);
    expect(ok!.state).toBe('SUCCEEDED');
    expect(await serving(b.address, tls.admin())).toBe('SERVING');
  });

  it('declared lost, B rejoins as a new incarnation: a higher epoch, its input blocks reported on its heartbeats, its shuffle buckets dropped', async () => {
    // A stale notice (an older epoch) changes nothing.
    publish(nc, subjects.executorLost('exec-b'), { executorId: 'exec-b', epoch: Number(refB.epoch) - 1, reason: 'test: older incarnation' });
    publish(nc, subjects.executorLost('exec-b'), { executorId: 'exec-b', epoch: Number(refB.epoch), reason: 'test: no heartbeat' });
    const rejoined = await waitFor('a heartbeat of a new incarnation of exec-b', () => {
      const hb = latest('exec-b');
      return hb && Number(hb.epoch) > Number(refB.epoch) ? hb : undefined;
    });
    const announced = heartbeats.get('exec-b')!.find((hb) => Number(hb.epoch) === Number(rejoined.epoch) && hb.inputBlocks);
    expect(announced?.inputBlocks).toContain(blockIds[1]);
    expect(announced!.inputBlocks!.every((id) => !id.startsWith('shuffle/'))).toBe(true);
    // Input blocks are kept; derived blocks of the fenced incarnation are gone.
    const fetched = await new Promise<string[]>((resolve, reject) => {
      const ids: string[] = [];
      const st = peerOf(b).fetchBlocks({ blockIds: [blockIds[1]!] });
      st.on('data', (f: { blockId: string }) => ids.push(f.blockId));
      st.on('end', () => resolve(ids));
      st.on('error', reject);
    });
    expect(fetched).toEqual([blockIds[1]]);
    const gone = await new Promise<{ code?: number }>((resolve) => {
      const st = peerOf(b).fetchBlocks({ blockIds: [`shuffle/${SHUFFLE}/1/0`] });
      st.on('data', () => undefined);
      st.on('end', () => resolve({}));
      st.on('error', (e: ServiceError) => resolve({ code: e.code }));
    });
    expect(gone.code).toBe(Status.NOT_FOUND);
    // Puts are confirmed by the new incarnation.
    const res = await call<{ executorId: string; epoch: number }>(cb, 'putBlock', { blockId: 'in/after-rejoin', stream: 'lines', batch: { count: 1, payload: packRecords(['x']) } });
    expect(Number(res.epoch)).toBe(Number(rejoined.epoch));
  });
});
