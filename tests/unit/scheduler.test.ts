/**
 * The Scheduler class on its own: a ManualClock drives the batch clock and
 * liveness; a fake executor gateway (an interface fake, in a unit test) runs
 * each launched task with the real task runtime on the real word-count bundle,
 * so placement, retries, recovery and output commits are checked against real
 * results.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ManualClock } from '../../lib/clock.js';
import { packRecords, unpackRecords } from '../../lib/codec/records.js';
import { bundleJob, type JobBundle } from '../../lib/dstream/bundle.js';
import { loadJob } from '../../lib/dstream/loader.js';
import { runTask, sourceKey } from '../../lib/dstream/runtime.js';
import { createLogger } from '../../lib/log.js';
import type { BatchCompletedMessage, HeartbeatMessage } from '../../lib/nats/subjects.js';
import type { TaskResult__Output } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { TaskSpec } from '../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import { schedulerConfigSchema } from '../../services/scheduler/config.js';
import type { ExecutorEndpoint, LaunchCallbacks } from '../../services/scheduler/executor-gateway.js';
import { Scheduler, type SchedulerPorts } from '../../services/scheduler/scheduler.js';
import { forEachMapOutput } from '../../lib/scheduling/map-outputs.js';

const wordcountPath = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
let wordcount: JobBundle;
beforeAll(async () => {
  wordcount = await bundleJob(wordcountPath);
});

const flush = () => new Promise((r) => setImmediate(r));

interface Launch {
  executor: ExecutorEndpoint;
  tasks: TaskSpec[];
  cb: LaunchCallbacks;
}

/** Executors simulated in memory: blocks and shuffle buckets per executor. */
class FakeCluster {
  /** The epoch each executor's process answers Identify with. */
  readonly epochs = new Map<string, number>();
  readonly stores = new Map<string, Map<string, Buffer>>();
  readonly launches: Launch[] = [];
  readonly ranOn: Array<{ executorId: string; taskId: string; locality: string; speculative: boolean }> = [];
  /** The spec of every task run, with the executor it ran on. */
  readonly ranSpecs: Array<{ executorId: string; spec: TaskSpec }> = [];
  readonly killed: string[] = [];
  /** [executor, job] for every job end the executors were told of (their bundles may go). */
  readonly endedJobs: Array<[string, string]> = [];
  /** Executors whose process is gone: calls to them break with UNAVAILABLE. */
  readonly dead = new Set<string>();
  readonly replications: Array<[string, string, string]> = [];
  failNext: ((spec: TaskSpec, executorId: string) => string | undefined) | undefined;

  store(id: string) {
    let s = this.stores.get(id);
    if (!s) this.stores.set(id, (s = new Map()));
    return s;
  }

  /** Run every queued launch (and any they cause) to completion. */
  async runAll(maxRounds = 50): Promise<void> {
    for (let round = 0; round < maxRounds && this.launches.length > 0; round++) {
      const batch = this.launches.splice(0);
      for (const l of batch) {
        if (this.dead.has(l.executor.id)) l.cb.onLost(l.tasks.map((t) => t.taskId!), 'connection refused (UNAVAILABLE)', true);
        else for (const spec of l.tasks) l.cb.onResult(this.run(l.executor, spec));
      }
      await flush();
    }
  }

  run(e: ExecutorEndpoint, spec: TaskSpec): TaskResult__Output {
    this.ranOn.push({ executorId: e.id, taskId: spec.taskId!, locality: spec.locality!, speculative: !!spec.speculative });
    this.ranSpecs.push({ executorId: e.id, spec });
    const base = {
      taskId: spec.taskId!,
      attempt: spec.attempt!,
      executorId: e.id,
      epoch: e.epoch,
      error: '',
      userError: false,
      bucketBytes: [] as number[],
      records: null,
      metrics: null,
      fetchFailedExecutorId: '',
      queueFull: false,
      recordsOffset: 0,
      recordsTotalBytes: 0,
      deadLetters: null,
    };
    const injected = this.failNext?.(spec, e.id);
    if (injected) return { ...base, state: 'FAILED', error: injected, userError: true };
    const job = loadJob(wordcount.code, wordcount.source);
    const blocks = new Map<string, Uint8Array>();
    for (const b of spec.blocks ?? []) {
      const holder = (b.locations ?? []).find((l) => this.store(l.executorId!).has(b.blockId!));
      if (!holder) return { ...base, state: 'FAILED', error: `block ${b.blockId} not found` };
      blocks.set(sourceKey(b.dataset!.nodeId!, b.partition!), this.store(holder.executorId!).get(b.blockId!)!);
    }
    const shuffles = new Map<number, Uint8Array[]>();
    for (const s of spec.shuffles ?? []) {
      const buckets: Uint8Array[] = [];
      let missing: { id: string; executorId: string } | undefined;
      forEachMapOutput(s, (mapPartition, executor) => {
        const id = `shuffle/${s.shuffleId}/${mapPartition}/${s.reducePartition}`;
        const bucket = this.store(executor!.executorId!).get(id);
        if (bucket) buckets.push(bucket);
        else missing ??= { id, executorId: executor!.executorId! };
      });
      if (missing) return { ...base, state: 'FAILED', error: `fetch failed: ${missing.id}`, fetchFailedExecutorId: missing.executorId };
      shuffles.set(s.dataset!.nodeId!, buckets);
    }
    const sink = spec.shuffleWrite
      ? { kind: 'shuffle' as const, shuffleNodeId: spec.shuffleWrite.dataset!.nodeId!, numPartitions: spec.shuffleWrite.numPartitions! }
      : { kind: 'result' as const };
    const out = runTask(job.graph, spec.dataset!.nodeId!, spec.partition!, { blocks, shuffles }, sink);
    if (out.buckets) {
      out.buckets.forEach((b, r) => this.store(e.id).set(`shuffle/${spec.shuffleWrite!.shuffleId}/${spec.partition}/${r}`, Buffer.from(b)));
      return { ...base, state: 'SUCCEEDED', bucketBytes: out.buckets.map((b) => b.length) };
    }
    return { ...base, state: 'SUCCEEDED', records: { count: out.recordsOut, payload: Buffer.from(out.result!) } };
  }
}

/**
 * Executors e1 and e2 beat, the word count is submitted, its first batch gets `blocks` (by default one block on
 * each: "a b a" on e1, "b c" on e2) and is due: its tasks are launched, not yet run (`cluster.runAll`).
 */
async function wordCountOfTwoBlocks(
  s: ReturnType<typeof setup>,
  blocks: Parameters<ReturnType<typeof setup>['announce']>[1] = [
    { lines: ['a b a'], on: ['e1'] },
    { lines: ['b c'], on: ['e2'] },
  ],
) {
  s.heartbeat('e1');
  s.heartbeat('e2');
  const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
  const out = s.collect(job.id);
  const t = job.firstBatchTimeMs;
  s.announce(t, blocks);
  s.advance(t - s.clock.now(), ['e1', 'e2']);
  await flush();
  return { job, out, t };
}

function setup(overrides: Record<string, string> = {}) {
  const clock = new ManualClock(1_000_000);
  const cluster = new FakeCluster();
  const completed: BatchCompletedMessage[] = [];
  const lost: string[] = [];
  const registered: string[] = [];
  const forgotten: string[] = [];
  const ports: SchedulerPorts = {
    gateway: {
      launch: (executor, _job, tasks, cb) => void cluster.launches.push({ executor, tasks, cb }),
      drop: (e, ids, prefixes) => {
        const s = cluster.store(e.id);
        for (const id of ids) s.delete(id);
        for (const k of [...s.keys()]) if (prefixes.some((p) => k.startsWith(p))) s.delete(k);
      },
      kill: (_e, tasks) => void cluster.killed.push(...tasks.map((t) => t.taskId)),
      jobEnded: (e, jobId) => void cluster.endedJobs.push([e.id, jobId]),
      forget: () => {},
      probe: (e) => Promise.resolve(!cluster.dead.has(e.id)),
      // The executor answering at an address: `<id>:1` is executor <id> at the epoch it last beat with, unless dead.
      identify: (address) => {
        const id = address.replace(/:1$/, '');
        return Promise.resolve(cluster.dead.has(id) ? undefined : { executorId: id, epoch: cluster.epochs.get(id) ?? 1 });
      },
      replicate: (target, blocks) => {
        for (const b of blocks) cluster.store(target.id).set(b.blockId, cluster.store(b.source.id).get(b.blockId)!);
        cluster.replications.push(...blocks.map((b) => [b.blockId, b.source.id, target.id] as [string, string, string]));
        return Promise.resolve();
      },
      expect: () => {},
      sendPlans: () => {},
      launchMessages: () => cluster.launches.length,
    },
    recordReplicas: () => {},
    registerBatch: (run) => {
      registered.push(run.key);
      return Promise.resolve();
    },
    recordMapOutput: () => {},
    forgetBatches: () => {},
    removeExecutorFromLineage: () => {},
    fetchBatchBlocks: () => Promise.resolve({ complete: false, blocks: [] }),
    publishBatchCompleted: (m) => void completed.push(m),
    publishExecutorLost: (m) => void lost.push(m.executorId),
    publishStreams: () => {},
    forgetJob: (jobId, journaled) => {
      forgotten.push(jobId);
      // No recordJob here: nothing was journaled, so the journal must not be asked to purge anything.
      if (journaled) throw new Error(`job ${jobId} forgotten as journaled, but this scheduler has no journal`);
    },
  };
  // groupSize 1: these tests drive launches through the fake cluster; group scheduling has its own (group-planner.test.ts).
  const config = schedulerConfigSchema.parse({ batchInterval: '1s', localityWait: '30ms', defaultParallelism: 2, groupSize: 1, ...overrides });
  const scheduler = new Scheduler(config, clock, ports, createLogger('test', 'silent'));
  scheduler.start();
  const slotsOf = new Map<string, number>();
  /** Executors whose heartbeats say they read compact map outputs (HeartbeatMessage.compactMapOutputs). */
  const compactReaders = new Set<string>();
  const heartbeat = (id: string, slots = slotsOf.get(id) ?? 2, epoch = 1) => {
    slotsOf.set(id, slots);
    scheduler.post({
      type: 'heartbeat',
      msg: {
        executorId: id,
        epoch,
        address: `${id}:1`,
        host: 'host-a',
        slots,
        freeSlots: slots,
        runningTasks: 0,
        blockCount: 0,
        blockBytes: 0,
        blockCapacityBytes: 1e9,
        sentAtMs: clock.now(),
        ...(compactReaders.has(id) ? { compactMapOutputs: true } : {}),
      } satisfies HeartbeatMessage,
    });
  };
  /** Put blocks of `lines` on executors and announce them for batch t. */
  const announce = (t: number, blocks: Array<{ lines: string[]; on: string[] }>) => {
    const refs = blocks.map((b, i) => {
      const blockId = `blk-${t}-${i}`;
      for (const e of b.on) cluster.store(e).set(blockId, packRecords(b.lines));
      return { blockId, records: b.lines.length, bytes: 10, executorIds: b.on };
    });
    scheduler.post({ type: 'batchReady', msg: { stream: 'lines', batchTimeMs: t, batchIntervalMs: 1000, blocks: refs } });
  };
  const collect = (jobId: string) => {
    const got: Array<{ t: number; counts: Map<string, number> }> = [];
    scheduler.outputs.watch(
      jobId,
      'counts',
      {
        send: (b) => got.push({ t: b.batchTimeMs, counts: new Map(unpackRecords(b.payload) as [string, number][]) }),
        end: () => {},
        interrupt: () => {},
      },
      true,
    );
    return got;
  };
  /** Advance time in heartbeat-sized steps while `alive` executors keep beating. */
  const advance = (ms: number, alive: string[]) => {
    const end = clock.now() + ms;
    while (clock.now() < end) {
      clock.advance(Math.min(250, end - clock.now()));
      for (const id of alive) heartbeat(id);
    }
  };
  return { clock, cluster, scheduler, completed, lost, registered, forgotten, heartbeat, announce, collect, advance, compactReaders };
}

describe('Scheduler', () => {
  it('refuses a heartbeat claiming a live executor restarted while its incarnation still answers, and accepts a real restart', async () => {
    const s = setup();
    s.heartbeat('e1', 2, 1);
    s.cluster.epochs.set('e1', 1);
    const state = () => s.scheduler.status(0).executors?.find((e) => e.executorId === 'e1');
    expect(state()).toMatchObject({ state: 'ALIVE', epoch: 1 });
    // Forged: epoch 7 while epoch 1 still answers at e1's address.
    s.heartbeat('e1', 64, 7);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(state()).toMatchObject({ state: 'ALIVE', epoch: 1, slots: 2 });
    expect(s.lost).toEqual([]);
    // A real restart: the old incarnation is gone; the new epoch is accepted (the old one lost).
    s.cluster.dead.add('e1');
    s.clock.advance(31_000);
    s.heartbeat('e1', 2, 8);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(state()).toMatchObject({ state: 'ALIVE', epoch: 8 });
  });


  it('refuses a job when no executor is alive, with UNAVAILABLE', async () => {
    const { scheduler } = setup();
    await expect(scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc')).rejects.toThrow(/no executors alive/);
  });

  it('runs a word-count batch: map tasks on the executors holding their blocks, output committed once', async () => {
    const s = setup();
    const { job, out, t } = await wordCountOfTwoBlocks(s);
    expect(s.registered).toEqual([`${job.id}@${t}`]);
    await s.cluster.runAll();
    expect(out).toEqual([{ t, counts: new Map([['a', 2], ['b', 2], ['c', 1]]) }]);
    const mapTasks = s.cluster.ranOn.filter((r) => r.taskId.includes('/0/'));
    expect(mapTasks.map((r) => [r.taskId.split('/').pop(), r.executorId, r.locality]).sort()).toEqual([
      ['0', 'e1', 'PROCESS_LOCAL'],
      ['1', 'e2', 'PROCESS_LOCAL'],
    ]);
    expect(s.completed).toHaveLength(1);
    expect(s.completed[0]).toMatchObject({ jobId: job.id, batchTimeMs: t, state: 'COMPLETED', inputRecords: 2 });
    // Shuffle buckets and input blocks are dropped once the batch is done.
    expect([...s.cluster.store('e1').keys(), ...s.cluster.store('e2').keys()]).toEqual([]);
    const status = s.scheduler.status();
    expect(status.jobs![0]!.recentBatches![0]).toMatchObject({ state: 'COMPLETED', processLocalTasks: 2, anyTasks: 0 });
  });

  it("names a reducer's map outputs compactly only to an executor that says it reads that form (an older one gets the list)", async () => {
    const s = setup({ defaultParallelism: '4' });
    s.compactReaders.add('e1');
    const { out, t } = await wordCountOfTwoBlocks(s);
    await s.cluster.runAll();
    expect(out).toEqual([{ t, counts: new Map([['a', 2], ['b', 2], ['c', 1]]) }]);
    const reducers = s.cluster.ranSpecs.filter((r) => (r.spec.shuffles ?? []).length > 0);
    expect(reducers.length).toBeGreaterThanOrEqual(4);
    const forms = new Set<string>();
    for (const { executorId, spec } of reducers) {
      const sh = spec.shuffles![0]!;
      const form = (sh.mapOutputHolders ?? []).length > 0 ? 'compact' : 'list';
      forms.add(form);
      expect(form, `${spec.taskId} on ${executorId}`).toBe(executorId === 'e1' ? 'compact' : 'list');
      // Either way, both map outputs with their holders, in map-partition order.
      const read: string[] = [];
      forEachMapOutput(sh, (m, executor) => read.push(`${m}@${executor!.executorId!}`));
      expect(read).toEqual(['0@e1', '1@e2']);
    }
    expect([...forms].sort()).toEqual(['compact', 'list']);
  });

  it('runs an empty batch and commits an empty output', async () => {
    const s = setup();
    s.heartbeat('e1');
    const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
    const out = s.collect(job.id);
    s.announce(job.firstBatchTimeMs, []);
    s.advance(job.firstBatchTimeMs - s.clock.now(), ['e1']);
    await flush();
    await s.cluster.runAll();
    expect(out).toEqual([{ t: job.firstBatchTimeMs, counts: new Map() }]);
  });

  it('waits up to localityWait for a busy local executor, then runs the task elsewhere', async () => {
    // replication 1: a single-copy block stays single, so only delay scheduling is at play.
    const s = setup({ localityWait: '30ms', replication: '1' });
    s.heartbeat('e1', 1);
    s.heartbeat('e2', 1);
    const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
    const out = s.collect(job.id);
    const t = job.firstBatchTimeMs;
    // Both blocks live only on e1, which has one slot.
    s.announce(t, [
      { lines: ['x'], on: ['e1'] },
      { lines: ['y'], on: ['e1'] },
    ]);
    s.advance(t - s.clock.now(), [...s.scheduler.executors.alive().map((e) => e.id)]);
    await flush();
    expect(s.cluster.launches.flatMap((l) => l.tasks.map((x) => [l.executor.id, x.locality]))).toEqual([['e1', 'PROCESS_LOCAL']]);
    s.clock.advance(31);
    expect(s.cluster.launches.flatMap((l) => l.tasks.map((x) => [l.executor.id, x.locality]))).toEqual([
      ['e1', 'PROCESS_LOCAL'],
      ['e2', 'NODE_LOCAL'],
    ]);
    // e2 has no copy of the block: its attempt fails and is retried on e1.
    await s.cluster.runAll();
    expect(out[0]!.counts).toEqual(new Map([['x', 1], ['y', 1]]));
  });

  it('retries a failed task on another executor, and fails the job with the error after maxTaskAttempts', async () => {
    const s = setup({ maxTaskAttempts: '3' });
    s.heartbeat('e1');
    s.heartbeat('e2');
    const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
    const out = s.collect(job.id);
    let ended: string | undefined;
    s.scheduler.outputs.watch(job.id, 'counts', { send: () => {}, end: (_ok, msg) => (ended = msg), interrupt: () => {} }, false);
    const t = job.firstBatchTimeMs;
    s.announce(t, [{ lines: ['a'], on: ['e1', 'e2'] }]);
    let failures = 0;
    s.cluster.failNext = (spec) => (spec.stageId === 0 && failures++ < 1 ? 'user function of map (node 1) threw Error: flaky' : undefined);
    s.advance(t - s.clock.now(), [...s.scheduler.executors.alive().map((e) => e.id)]);
    await flush();
    await s.cluster.runAll();
    expect(out).toHaveLength(1);
    const attempts = s.cluster.ranOn.filter((r) => r.taskId.endsWith('/0/0'));
    expect(attempts).toHaveLength(2);
    expect(attempts[0]!.executorId).not.toBe(attempts[1]!.executorId);

    // Now a task that always throws.
    s.cluster.failNext = (spec) => (spec.stageId === 0 ? 'user function of map (node 1) threw Error: always' : undefined);
    const t2 = t + 1000;
    s.announce(t2, [{ lines: ['b'], on: ['e1', 'e2'] }]);
    s.advance(1000, ['e1', 'e2']);
    await flush();
    await s.cluster.runAll();
    expect(job.state).toBe('FAILED');
    expect(job.error).toMatch(/failed 3 times; last error: user function of map \(node 1\) threw Error: always/);
    expect(ended).toMatch(/job .* failed: batch .* failed/);
    expect(s.completed.at(-1)).toMatchObject({ state: 'FAILED', batchTimeMs: t2 });
  });

  it('recomputes map outputs of a lost executor and still commits the right counts', async () => {
    const s = setup({ maxMissedHeartbeats: '4' });
    const { out, t } = await wordCountOfTwoBlocks(s, [
      { lines: ['a a'], on: ['e1', 'e2'] },
      { lines: ['b'], on: ['e2', 'e1'] },
    ]);
    // The map stage runs; e1 then dies with its shuffle buckets.
    const maps = s.cluster.launches.splice(0);
    expect(maps.map((l) => l.executor.id).sort()).toEqual(['e1', 'e2']);
    for (const l of maps) for (const spec of l.tasks) l.cb.onResult(s.cluster.run(l.executor, spec));
    await flush();
    s.cluster.stores.delete('e1');
    s.cluster.dead.add('e1');
    // Reduce tasks sent to e1 never answer; those on e2 find e1's buckets gone.
    const reduces = s.cluster.launches.splice(0);
    for (const l of reduces) if (l.executor.id === 'e2') for (const spec of l.tasks) l.cb.onResult(s.cluster.run(l.executor, spec));
    await flush();
    // e2 keeps beating; e1 falls silent past the timeout and is declared lost.
    s.advance(2000, ['e2']);
    expect(s.lost).toEqual(['e1']);
    await s.cluster.runAll();
    expect(out).toEqual([{ t, counts: new Map([['a', 2], ['b', 1]]) }]);
    expect(s.scheduler.status().executors!.find((e) => e.executorId === 'e1')!.state).toBe('LOST');
    // Everything after the loss ran on e2.
    expect(s.cluster.ranOn.slice(maps.flatMap((l) => l.tasks).length).every((r) => r.executorId === 'e2')).toBe(true);
  });

  it('onFallingBehind=fail: fails a job that falls more than maxQueuedBatches behind, with a clear error', async () => {
    const s = setup({ maxQueuedBatches: '3', onFallingBehind: 'fail' });
    s.heartbeat('e1');
    const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
    // No batch.ready ever arrives (the receiver is gone): batches pile up.
    s.advance(job.firstBatchTimeMs - s.clock.now() + 4000, ['e1']);
    expect(job.state).toBe('FAILED');
    expect(job.error).toMatch(/fell 3 batches behind \(maxQueuedBatches=3, onFallingBehind=fail\)/);
  });

  it('by default (onFallingBehind=backpressure) a job past maxQueuedBatches stays RUNNING and its next batches wait, in order', async () => {
    const s = setup({ maxQueuedBatches: '3' });
    s.heartbeat('e1');
    const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
    s.advance(job.firstBatchTimeMs - s.clock.now() + 4000, ['e1']);
    expect(job.state).toBe('RUNNING');
    const st = s.scheduler.status().jobs!.find((j) => j.jobId === job.id)!;
    expect(st.queuedBatches).toBe(3);
    expect(st.fallingBehind).toBe(true);
    // The waiting batches are not skipped: the next one due is the first not queued.
    expect(job.nextBatchTimeMs).toBe(job.firstBatchTimeMs + 3000);
  });

  it('speculates a straggler on another executor; the first finisher wins and the other is killed', async () => {
    const s = setup({ speculationMinRuntime: '100ms', speculationMultiplier: '1.5', speculationQuantile: '0.5' });
    s.heartbeat('e1', 1);
    s.heartbeat('e2', 1);
    s.heartbeat('e3', 1);
    const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
    const out = s.collect(job.id);
    const t = job.firstBatchTimeMs;
    s.announce(t, [
      { lines: ['a'], on: ['e1', 'e3'] },
      { lines: ['b'], on: ['e2', 'e3'] },
    ]);
    s.advance(t - s.clock.now(), ['e1', 'e2', 'e3']);
    await flush();
    const maps = s.cluster.launches.splice(0);
    expect(maps.map((l) => l.executor.id).sort()).toEqual(['e1', 'e2']);
    // e1's map task finishes after 20 ms; e2's hangs (a straggler).
    s.advance(20, ['e1', 'e2', 'e3']);
    const fast = maps.find((l) => l.executor.id === 'e1')!;
    fast.cb.onResult(s.cluster.run(fast.executor, fast.tasks[0]!));
    await flush();
    s.cluster.launches.splice(0); // nothing else is launchable yet (reduce waits for the map stage)
    s.advance(200, ['e1', 'e2', 'e3']);
    const copies = s.cluster.launches.splice(0);
    expect(copies).toHaveLength(1);
    expect(copies[0]!.executor.id).toBe('e3');
    expect(copies[0]!.tasks[0]).toMatchObject({ taskId: maps.find((l) => l.executor.id === 'e2')!.tasks[0]!.taskId, speculative: true, attempt: 2 });
    // The copy wins; the straggler is killed and its late result ignored.
    copies[0]!.cb.onResult(s.cluster.run(copies[0]!.executor, copies[0]!.tasks[0]!));
    await flush();
    expect(s.cluster.killed).toEqual([copies[0]!.tasks[0]!.taskId]);
    const slow = maps.find((l) => l.executor.id === 'e2')!;
    slow.cb.onResult(s.cluster.run(slow.executor, slow.tasks[0]!));
    await s.cluster.runAll();
    expect(out).toEqual([{ t, counts: new Map([['a', 1], ['b', 1]]) }]);
  });

  it('a broken RunTasks call does not count against the task, and an unreachable executor is declared lost at once', async () => {
    const s = setup({ maxTaskAttempts: '1' });
    s.heartbeat('e1');
    s.heartbeat('e2');
    const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
    const out = s.collect(job.id);
    const t = job.firstBatchTimeMs;
    s.announce(t, [{ lines: ['x y'], on: ['e1', 'e2'] }]);
    s.advance(t - s.clock.now(), ['e1', 'e2']);
    await flush();
    const first = s.cluster.launches.splice(0)[0]!;
    // The executor dies: its call breaks with UNAVAILABLE and its health probe fails.
    s.cluster.stores.delete(first.executor.id);
    s.cluster.dead.add(first.executor.id);
    first.cb.onLost(first.tasks.map((x) => x.taskId!), 'RunTasks failed: UNAVAILABLE', true);
    await flush();
    await flush();
    expect(s.lost).toEqual([first.executor.id]);
    await s.cluster.runAll();
    // maxTaskAttempts=1, yet the batch completed: the loss was not the task's failure.
    expect(job.state).toBe('RUNNING');
    expect(out).toEqual([{ t, counts: new Map([['x', 1], ['y', 1]]) }]);
  });

  it('copies input blocks that lost a replica to another executor, spreading the copies', async () => {
    const s = setup();
    for (const id of ['e1', 'e2', 'e3']) s.heartbeat(id);
    const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
    const t = job.firstBatchTimeMs;
    s.announce(t, []);
    // A batch that is announced but not yet run holds blocks on e1 (lost next) and e2.
    s.announce(t + 1000, [
      { lines: ['p'], on: ['e1', 'e2'] },
      { lines: ['q'], on: ['e1', 'e3'] },
      { lines: ['r'], on: ['e2', 'e3'] },
    ]);
    s.cluster.stores.delete('e1');
    s.cluster.dead.add('e1');
    s.advance(1100, ['e2', 'e3']);
    expect(s.lost).toEqual(['e1']);
    expect(s.scheduler.status().underReplicatedBlocks).toBe(2);
    await flush();
    expect(s.scheduler.status().underReplicatedBlocks).toBe(0);
    expect(s.cluster.replications.sort()).toEqual([
      [`blk-${t + 1000}-0`, 'e2', 'e3'],
      [`blk-${t + 1000}-1`, 'e3', 'e2'],
    ]);
    // The copies count as locations from now on: the batch runs local on them.
    const out = s.collect(job.id);
    s.advance(t + 1000 - s.clock.now(), ['e2', 'e3']);
    await flush();
    await s.cluster.runAll();
    expect(out.at(-1)).toEqual({ t: t + 1000, counts: new Map([['p', 1], ['q', 1], ['r', 1]]) });
    expect(s.cluster.ranOn.filter((r) => r.taskId.includes('/0/')).every((r) => r.locality === 'PROCESS_LOCAL')).toBe(true);
  });
});

describe('Scheduler liveness: judging only when it can see, executors that rejoin', () => {
  it('a paused scheduler declares nobody lost: the late liveness check runs before the queued heartbeats and does not judge', () => {
    const s = setup();
    s.heartbeat('e1');
    s.heartbeat('e2');
    s.advance(1000, ['e1', 'e2']);
    // SIGSTOP for 10 s: on resume the overdue liveness check fires first (Node runs timers before reading sockets)…
    s.clock.stall(10_000);
    s.clock.advance(0);
    expect(s.lost).toEqual([]);
    expect(s.scheduler.liveness.status().state).toBe('SUSPENDED');
    // …then the heartbeats queued in the socket are read, and everyone is fine.
    s.heartbeat('e1');
    s.heartbeat('e2');
    s.advance(3000, ['e1', 'e2']);
    expect(s.lost).toEqual([]);
    expect(s.scheduler.aliveExecutors().map((e) => e.id)).toEqual(['e1', 'e2']);
    // It still judges real silence once it can see again.
    s.advance(1500, ['e1']);
    expect(s.lost).toEqual(['e2']);
  });

  it('declares nobody lost while NATS is down, and gives everyone a full timeout after it is back', () => {
    const s = setup();
    s.heartbeat('e1');
    s.heartbeat('e2');
    s.scheduler.post({ type: 'livenessSignal', signal: { kind: 'disconnected' } });
    s.advance(5000, []);
    expect(s.lost).toEqual([]);
    s.scheduler.post({ type: 'livenessSignal', signal: { kind: 'reconnected' } });
    s.advance(900, []);
    s.heartbeat('e1');
    s.heartbeat('e2');
    s.advance(2000, ['e1', 'e2']);
    expect(s.lost).toEqual([]);
  });

  it('a lost executor is told again while it heartbeats as the fenced incarnation, rejoins with a new epoch, and its input blocks are re-adopted: the batch that waited for them runs', async () => {
    // replication 1: nothing copies the block elsewhere behind the test's back.
    const s = setup({ replication: '1' });
    s.heartbeat('e1');
    s.heartbeat('e2');
    const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
    const out = s.collect(job.id);
    const t = job.firstBatchTimeMs;
    // Its only replica is on e1.
    s.announce(t, [{ lines: ['a', 'b', 'a'], on: ['e1'] }]);
    s.advance(t - s.clock.now(), ['e1', 'e2']);
    await flush();
    s.cluster.launches.length = 0; // launched on e1, which is paused before it answers
    s.advance(1500, ['e2']);
    expect(s.lost).toEqual(['e1']);
    // Nowhere to read the block from: the task waits (and says why) instead of failing attempt after attempt.
    s.advance(2000, ['e2']);
    await s.cluster.runAll();
    expect(s.scheduler.findJob(job.id)!.state).toBe('RUNNING');
    const waiting = s.scheduler.status().jobs![0]!.recentBatches!.find((b) => Number(b.batchTimeMs) === t)!;
    expect(waiting.waitingReason).toMatch(/no live replica/);
    // e1 resumes: its heartbeats of the fenced incarnation are answered with executor.lost again (at most once per interval).
    s.heartbeat('e1', 2, 1);
    s.heartbeat('e1', 2, 1);
    expect(s.lost).toEqual(['e1', 'e1']);
    // It rejoins with a new epoch, reporting the input blocks it holds.
    s.scheduler.post({
      type: 'heartbeat',
      msg: {
        executorId: 'e1',
        epoch: 2,
        address: 'e1:1',
        host: 'host-a',
        slots: 2,
        freeSlots: 2,
        runningTasks: 0,
        blockCount: 1,
        blockBytes: 10,
        blockCapacityBytes: 1e9,
        sentAtMs: s.clock.now(),
        inputBlocks: [`blk-${t}-0`, 'blk-not-needed'],
      },
    });
    expect(s.scheduler.aliveExecutors().map((e) => `${e.id}@${e.epoch}`)).toEqual(['e1@2', 'e2@1']);
    await flush();
    await s.cluster.runAll();
    expect(out).toEqual([{ t, counts: new Map([['a', 2], ['b', 1]]) }]);
    expect(s.scheduler.findJob(job.id)!.state).toBe('RUNNING');
  });

  it('with no executor alive, batches wait and say why, then run when an executor joins', async () => {
    const s = setup();
    s.heartbeat('e1');
    const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
    const out = s.collect(job.id);
    const t = job.firstBatchTimeMs;
    s.announce(t, []);
    s.advance(1500, []);
    expect(s.lost).toEqual(['e1']);
    s.advance(t - s.clock.now() + 2000, []);
    await flush();
    const batch = s.scheduler.status().jobs![0]!.recentBatches!.find((b) => Number(b.batchTimeMs) === t)!;
    expect(batch.waitingReason).toMatch(/no executor is alive/);
    s.heartbeat('e2');
    s.advance(250, ['e2']);
    await flush();
    await s.cluster.runAll();
    expect(out[0]).toEqual({ t, counts: new Map() });
    expect(s.scheduler.findJob(job.id)!.state).toBe('RUNNING');
  });
});

/** Metrics read on demand (the SDK's reader API; no export). */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
  async points(name: string): Promise<Array<DataPoint<unknown>>> {
    const { resourceMetrics } = await this.collect();
    return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as Array<DataPoint<unknown>>);
  }
}

describe('Scheduler telemetry (in-memory exporter)', () => {
  const spans = new InMemorySpanExporter();
  const reader = new TestReader();
  beforeAll(() => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  });
  afterAll(() => {
    trace.disable();
    propagation.disable();
    metrics.disable();
  });
  const finished = () => spans.getFinishedSpans();
  const idOf = (s: ReadableSpan) => s.spanContext().spanId;
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
  const sumOf = async (name: string, attrs: Record<string, unknown> = {}) =>
    (await reader.points(name)).filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + Number(p.value), 0);

  it('a lost executor’s map outputs are recomputed under rivulet.recovery; every task carries its stage’s trace context', async () => {
    spans.reset();
    const s = setup({ maxMissedHeartbeats: '4' });
    s.heartbeat('e1');
    s.heartbeat('e2');
    const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
    const t = job.firstBatchTimeMs;
    s.announce(t, [
      { lines: ['a a'], on: ['e1', 'e2'] },
      { lines: ['b'], on: ['e2', 'e1'] },
    ]);
    s.advance(t - s.clock.now(), ['e1', 'e2']);
    await flush();
    const maps = s.cluster.launches.splice(0);
    for (const l of maps) for (const spec of l.tasks) l.cb.onResult(s.cluster.run(l.executor, spec));
    await flush();
    s.cluster.stores.delete('e1');
    s.cluster.dead.add('e1');
    const reduces = s.cluster.launches.splice(0);
    const launched = [...maps, ...reduces].flatMap((l) => l.tasks);
    for (const l of reduces) if (l.executor.id === 'e2') for (const spec of l.tasks) l.cb.onResult(s.cluster.run(l.executor, spec));
    await flush();
    s.advance(2000, ['e2']);
    const after = [...s.cluster.launches];
    await s.cluster.runAll();
    launched.push(...after.flatMap((l) => l.tasks));

    const batch = finished().find((x) => x.name === 'rivulet.batch')!;
    expect(batch.attributes).toMatchObject({ 'rivulet.job.id': job.id, 'rivulet.batch.time_ms': t, 'rivulet.batch.state': 'COMPLETED' });
    const recovery = finished().find((x) => x.name === 'rivulet.recovery')!;
    expect(recovery, 'a rivulet.recovery span').toBeDefined();
    expect(parentOf(recovery)).toBe(idOf(batch));
    expect(recovery.attributes['rivulet.executor.id']).toBe('e1');
    const stages = finished().filter((x) => x.name === 'rivulet.stage');
    const resubmitted = stages.filter((x) => Number(x.attributes['rivulet.stage.resubmission']) > 0);
    expect(resubmitted.length).toBeGreaterThan(0);
    for (const x of resubmitted) expect(parentOf(x)).toBe(idOf(recovery));
    for (const x of stages.filter((x) => x.attributes['rivulet.stage.resubmission'] === 0)) expect(parentOf(x)).toBe(idOf(batch));
    // Every task names a stage span of this trace as its parent.
    const stageIds = new Set(stages.map(idOf));
    for (const spec of launched) {
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(spec.traceContext?.traceparent ?? '');
      expect(m, `task ${spec.taskId} carries a traceparent`).not.toBeNull();
      expect(m![1]).toBe(batch.spanContext().traceId);
      expect(stageIds.has(m![2]!)).toBe(true);
    }
    expect(await sumOf('rivulet.recoveries')).toBe(1);
    expect(await sumOf('rivulet.batches', { 'rivulet.batch.state': 'COMPLETED' })).toBeGreaterThanOrEqual(1);
  });

  it('a speculative copy is its own task (speculative=true, own attempt) under the stage span, and is counted', async () => {
    spans.reset();
    const before = await sumOf('rivulet.tasks.speculative');
    const s = setup({ speculationMinRuntime: '100ms', speculationMultiplier: '1.5', speculationQuantile: '0.5' });
    for (const id of ['e1', 'e2', 'e3']) s.heartbeat(id, 1);
    const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
    const t = job.firstBatchTimeMs;
    s.announce(t, [
      { lines: ['a'], on: ['e1', 'e3'] },
      { lines: ['b'], on: ['e2', 'e3'] },
    ]);
    s.advance(t - s.clock.now(), ['e1', 'e2', 'e3']);
    await flush();
    const maps = s.cluster.launches.splice(0);
    s.advance(20, ['e1', 'e2', 'e3']);
    const fast = maps.find((l) => l.executor.id === 'e1')!;
    fast.cb.onResult(s.cluster.run(fast.executor, fast.tasks[0]!));
    await flush();
    s.cluster.launches.splice(0);
    s.advance(200, ['e1', 'e2', 'e3']);
    const copy = s.cluster.launches.splice(0)[0]!.tasks[0]!;
    const original = maps.find((l) => l.executor.id === 'e2')!.tasks[0]!;
    expect(copy).toMatchObject({ taskId: original.taskId, speculative: true, attempt: 2 });
    // Same stage span as the original attempt: the executor's span of the copy is a sibling of the straggler's.
    expect(copy.traceContext!.traceparent!.split('-')[2]).toBe(original.traceContext!.traceparent!.split('-')[2]);
    expect((await sumOf('rivulet.tasks.speculative')) - before).toBe(1);
    expect(await sumOf('rivulet.tasks.launched', { 'rivulet.task.speculative': true })).toBeGreaterThanOrEqual(1);
    expect(await sumOf('rivulet.executors.alive')).toBe(3);
  });

  it('drops a dead replica named by a late announcement and restores the replication', async () => {
    const s = setup();
    for (const id of ['e1', 'e2', 'e3']) s.heartbeat(id);
    const job = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'wc');
    const t = job.firstBatchTimeMs;
    s.announce(t, []);
    // e1 dies and is declared lost first...
    s.cluster.stores.delete('e1');
    s.cluster.dead.add('e1');
    s.advance(1100, ['e2', 'e3']);
    expect(s.lost).toEqual(['e1']);
    // ...then an announcement made before its death arrives, naming it.
    s.cluster.store('e2').set(`blk-${t + 1000}-0`, packRecords(['late']));
    s.scheduler.post({
      type: 'batchReady',
      msg: { stream: 'lines', batchTimeMs: t + 1000, batchIntervalMs: 1000, blocks: [{ blockId: `blk-${t + 1000}-0`, records: 1, bytes: 10, executorIds: ['e1', 'e2'] }] },
    });
    await flush();
    expect(s.cluster.replications).toEqual([[`blk-${t + 1000}-0`, 'e2', 'e3']]);
  });
});

describe('Scheduler status bounds (GetStatus paging)', () => {
  it('pages jobs by page size and by bytes, in submission order, and every job is listed exactly once', async () => {
    const s = setup();
    s.heartbeat('e1');
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) ids.push((await s.scheduler.submitJob(wordcount.code, 'wordcount.js', `wc-${i}`)).id);
    const walk = (query: { pageSize?: number; maxBytes?: number }) => {
      const seen: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const st = s.scheduler.status({ recentBatches: 10, ...query, pageToken: token });
        expect(st.jobsTotal).toBe(23);
        expect(Buffer.byteLength(JSON.stringify(st))).toBeLessThanOrEqual(query.maxBytes ?? 4 * 1024 * 1024);
        seen.push(...st.jobs!.map((j) => j.jobId!));
        token = st.nextPageToken!;
        pages++;
      } while (token);
      return { seen, pages };
    };
    expect(walk({ pageSize: 5 })).toEqual({ seen: ids, pages: 5 });
    const bySize = walk({ maxBytes: 8 * 1024 });
    expect(bySize.seen).toEqual(ids);
    expect(bySize.pages).toBeGreaterThan(2);
    expect(() => s.scheduler.status({ recentBatches: 1, pageToken: 'job-x' })).toThrow(/page_token/);
  });

  it('a withdrawn submission (its journal write failed) is neither listed nor found; a long error is cut', async () => {
    const s = setup();
    s.heartbeat('e1');
    const kept = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'kept');
    const refused = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'refused');
    await s.scheduler.withdrawJob(refused.id, 'submission refused: journal unavailable');
    const st = s.scheduler.status();
    expect(st.jobs!.map((j) => j.jobId)).toEqual([kept.id]);
    expect(st.jobsTotal).toBe(1);
    expect(s.scheduler.findJob(refused.id)).toBeUndefined();
    expect(s.scheduler.outputs.has(refused.id, 'counts')).toBe(false);
    kept.error = 'x'.repeat(1024 * 1024);
    expect(s.scheduler.status().jobs![0]!.error!.length).toBeLessThan(4200);
  });

  it('keeps retainedEndedJobs ended jobs, forgetting the earliest submitted beyond it (status, outputs, journal)', async () => {
    const s = setup({ retainedEndedJobs: '2' });
    s.heartbeat('e1');
    const jobs = [];
    for (let i = 0; i < 4; i++) jobs.push(await s.scheduler.submitJob(wordcount.code, 'wordcount.js', `wc-${i}`));
    const [a, b, c, d] = jobs.map((j) => j.id) as [string, string, string, string];
    await s.scheduler.stopJob(c);
    await s.scheduler.stopJob(a);
    await s.scheduler.stopJob(b);
    // Three ended, two kept: the earliest submitted ended job (a) is forgotten, whenever it ended.
    expect(s.forgotten).toEqual([a]);
    expect(s.scheduler.findJob(a)).toBeUndefined();
    expect(s.scheduler.outputs.has(a, 'counts')).toBe(false);
    expect(s.scheduler.status().jobs!.map((j) => [j.name, j.state])).toEqual([
      ['wc-1', 'STOPPED'],
      ['wc-2', 'STOPPED'],
      ['wc-3', 'RUNNING'],
    ]);
    // A running job is never forgotten, however many have ended.
    await s.scheduler.stopJob(d);
    expect(s.forgotten).toEqual([a, b]);
    expect(s.scheduler.status().jobs!.map((j) => j.name)).toEqual(['wc-2', 'wc-3']);
  });

  it('tells every live executor of each job that ends (stopped or withdrawn), and no other, so its bundle can go', async () => {
    const s = setup();
    s.heartbeat('e1');
    s.heartbeat('e2');
    const a = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'a');
    const b = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'b');
    const c = await s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'c');
    expect(s.cluster.endedJobs).toEqual([]);
    await s.scheduler.stopJob(a.id);
    expect(s.cluster.endedJobs).toEqual([
      ['e1', a.id],
      ['e2', a.id],
    ]);
    await s.scheduler.withdrawJob(c.id, 'submission refused: journal unavailable');
    expect(s.cluster.endedJobs.slice(2)).toEqual([
      ['e1', c.id],
      ['e2', c.id],
    ]);
    // Stopping an ended job again tells nobody again; the running one was never named.
    await s.scheduler.stopJob(a.id);
    expect(s.cluster.endedJobs).toHaveLength(4);
    expect(s.cluster.endedJobs.some(([, id]) => id === b.id)).toBe(false);
    // An incarnation that joins later — a new process, or one rejoining after it was declared lost while those
    // jobs ended — is told of every ended job still known (a withdrawn submission is forgotten at once).
    s.heartbeat('e3');
    expect(s.cluster.endedJobs.slice(4)).toEqual([['e3', a.id]]);
  });

  it('refuses an invalid job name declared or asked for, before registering anything', async () => {
    const s = setup();
    s.heartbeat('e1');
    await expect(s.scheduler.submitJob(wordcount.code, 'wordcount.js', 'x'.repeat(4096))).rejects.toThrow(/SubmitJob name is 4096 characters long/);
    expect(s.scheduler.status().jobsTotal).toBe(0);
  });
});
