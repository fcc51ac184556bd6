/**
 * batch-dag.ts with its real neighbours (job manager, job generator, cache,
 * state recovery, output store) and two interface fakes: a task set that
 * records what was submitted, and the ports. The word-count job's real plan:
 * a map stage, then the result stage reading its shuffle.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock.js';
import { packRecords, unpackRecords } from '../../../lib/codec/records.js';
import { bundleJob, type JobBundle } from '../../../lib/dstream/bundle.js';
import type { BatchCompletedMessage } from '../../../lib/nats/subjects.js';
import type { TaskResult__Output } from '../../../lib/proto/gen/rivulet/v1/TaskResult.js';
import { BatchDag } from '../../../services/scheduler/batch-dag.js';
import type { BatchRun, StageRun } from '../../../services/scheduler/batch-run.js';
import { BatchTelemetry } from '../../../services/scheduler/batch-telemetry.js';
import { CacheRegistry } from '../../../services/scheduler/cache-registry.js';
import { schedulerConfigSchema } from '../../../services/scheduler/config.js';
import type { SchedulerEvent } from '../../../services/scheduler/events.js';
import { JobGenerator } from '../../../services/scheduler/job-generator.js';
import { JobManager } from '../../../services/scheduler/job-manager.js';
import { JobRegistry } from '../../../services/scheduler/job-registry.js';
import { OutputStore } from '../../../services/scheduler/output-store.js';
import type { SchedulerPorts } from '../../../services/scheduler/ports.js';
import { ReplicationManager } from '../../../services/scheduler/replication-manager.js';
import { StateRecovery } from '../../../services/scheduler/state-recovery.js';
import { TaskAttempt } from '../../../services/scheduler/task-attempt.js';
import { SLOTS_MEMORY_MS } from '../../../services/scheduler/executor-tracker.js';
import { heartbeat, log, RecordingGateway, tracker } from './fixtures.js';

const wordcountPath = fileURLToPath(new URL('../../../examples/wordcount.ts', import.meta.url));
const sessionizationPath = fileURLToPath(new URL('../../../examples/sessionization.ts', import.meta.url));
let wordcount: JobBundle;
let sessionization: JobBundle;
/** The word count with reduceByKey(fn, 3): an operator that names its partitions. */
let reduceInto3: JobBundle;
/** The word count whose output also writes to a Postgres sink. */
let withSink: JobBundle;
beforeAll(async () => {
  wordcount = await bundleJob(wordcountPath);
  sessionization = await bundleJob(sessionizationPath);
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-batch-dag-'));
  const path = join(dir, 'reduce-into-3.ts');
  writeFileSync(
    path,
    `import { defineJob } from 'rivulet';
export default defineJob((ctx) => {
  ctx.receiverStream<string>('lines').map((w): [string, number] => [w, 1]).reduceByKey((a, b) => a + b, 3).output('counts');
});
`,
  );
  const sinkPath = join(dir, 'with-sink.ts');
  writeFileSync(
    sinkPath,
    `import { defineJob } from 'rivulet';
export default defineJob((ctx) => {
  ctx.receiverStream<string>('lines').map((w): [string, number] => [w, 1]).reduceByKey((a, b) => a + b).map(([word, count]) => ({ word, count })).output('counts').toPostgres({ table: 'counts', connection: 'main' });
});
`,
  );
  try {
    reduceInto3 = await bundleJob(path);
    withSink = await bundleJob(sinkPath);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A task set that only records which stage partitions were submitted or withdrawn. */
class RecordingTaskSet {
  readonly submitted: Array<{ stage: number; partitions: number[] }> = [];
  readonly withdrawn: number[] = [];
  submit(run: BatchRun, s: StageRun): void {
    const partitions: number[] = [];
    for (let p = 0; p < s.stage.numPartitions; p++) {
      if (s.done.has(p) || s.inFlight.has(p)) continue;
      s.inFlight.add(p);
      partitions.push(p);
    }
    this.submitted.push({ stage: s.stage.id, partitions });
  }
  withdrawPending(s: StageRun): void {
    this.withdrawn.push(s.stage.id);
  }
  abandonRun(): void {}
  adopt(): void {
    throw new Error('no batch is planned ahead in these tests (groupSize 1)');
  }
}

async function setup(opts: { config?: Record<string, unknown>; bundle?: JobBundle; stream?: string; writeSinks?: SchedulerPorts['writeSinks'] } = {}) {
  const clock = new ManualClock(100_000);
  const config = schedulerConfigSchema.parse({ batchInterval: '1s', defaultParallelism: '2', groupSize: '1', ...opts.config });
  const stream = opts.stream ?? 'lines';
  const executors = tracker(clock, [{ id: 'e1', slots: 2 }, { id: 'e2', slots: 2 }]);
  const gateway = new RecordingGateway();
  const completed: BatchCompletedMessage[] = [];
  const registered: string[] = [];
  /** The bytes of each map output recorded with lineage. */
  const mapOutputBytes: number[] = [];
  const events: SchedulerEvent[] = [];
  const ports: SchedulerPorts = {
    gateway,
    registerBatch: (run: BatchRun) => {
      registered.push(run.key);
      return Promise.resolve();
    },
    recordMapOutput: (_run, _stage, _partition, _executorId, bytes) => void mapOutputBytes.push(bytes),
    recordReplicas: () => {},
    forgetBatches: () => {},
    removeExecutorFromLineage: () => {},
    fetchBatchBlocks: () => Promise.resolve({ complete: false, blocks: [] }),
    publishBatchCompleted: (m: BatchCompletedMessage) => void completed.push(m),
    publishExecutorLost: () => {},
    publishStreams: () => {},
    ...(opts.writeSinks ? { writeSinks: opts.writeSinks } : {}),
  };
  const post = (e: SchedulerEvent) => void events.push(e);
  const jobs = new JobRegistry(log);
  const outputs = new OutputStore(100, 1 << 20);
  const manager = new JobManager(config, clock, jobs, outputs, executors, ports, log);
  const generator = new JobGenerator(config, clock, jobs, executors, ports, post, log);
  const cache = new CacheRegistry(executors, ports, 'inc');
  const state = new StateRecovery(cache, ports, post, log);
  const replication = new ReplicationManager(2, executors, cache, ports, post, log);
  const tasks = new RecordingTaskSet();
  const foreach = { run: () => Promise.resolve(undefined) };
  const planner = { planOf: () => undefined, placements: () => new Map<string, string>(), take: () => undefined, batchFinished: () => {} };
  const dag = new BatchDag({ config, clock, executors, jobs: manager, generator, tasks, planner, cache, state, replication, outputs, foreach, telemetry: new BatchTelemetry(() => 2), ports, post, log });
  manager.listener = { jobAdded: (job) => generator.addJob(job), jobEnded: (job, reason) => dag.abandonBatches(job, reason) };
  const bundle = opts.bundle ?? wordcount;
  const job = manager.submit(await manager.load(bundle.code, 'job.js', 'job', { journal: false, batches: 'clock' }));
  /** Queue batch t with one block per executor and run it up to RUNNING. */
  const startBatch = async (t: number): Promise<BatchRun> => {
    generator.createDueRuns(job, t);
    generator.batchReady(stream, t, [
      { blockId: `b1@${t}`, records: 1, bytes: 10, executorIds: ['e1'] },
      { blockId: `b2@${t}`, records: 1, bytes: 10, executorIds: ['e2'] },
    ]);
    dag.startReadyBatches();
    const run = generator.queue(job.id).find((r) => r.batchTimeMs === t)!;
    expect(run.state).toBe('REGISTERING');
    await Promise.resolve();
    await Promise.resolve();
    const ev = events.find((e) => e.type === 'batchRegistered' && e.run === run);
    expect(ev).toBeDefined();
    dag.batchRegistered(run);
    return run;
  };
  /** A successful attempt of partition p of stage s, on `executorId`. */
  const succeed = (run: BatchRun, stage: number, p: number, executorId: string, records: unknown[] = [], fields: Partial<TaskResult__Output> = {}) => {
    const s = run.stages[stage]!;
    const t = new TaskAttempt({ run, stageRun: s, partition: p, failures: 0, lostAttempts: 0, speculative: false, recovery: false, preferred: [], excluded: new Set(), readySinceMs: 0 });
    const e = executors.get(executorId)!;
    t.start(run.nextAttempt(t.taskId), { executorId, epoch: e.epoch, launchedAtMs: clock.now(), locality: 'ANY' }, log);
    s.inFlight.delete(p);
    const r = {
      taskId: t.taskId,
      attempt: t.attempt,
      executorId,
      epoch: e.epoch,
      state: 'SUCCEEDED',
      bucketBytes: s.stage.kind === 'shuffleMap' ? [1, 1] : [],
      records: s.stage.kind === 'result' ? { count: records.length, payload: packRecords(records) } : null,
      ...fields,
    } as unknown as TaskResult__Output;
    dag.taskSucceeded(t, r);
  };
  /** Every task of the batch succeeds, stage by stage as they are submitted, on e1. */
  const finish = (run: BatchRun) => {
    for (let guard = 0; run.state === 'RUNNING' && guard < 100; guard++) {
      const open = run.stages.filter((st) => st.inFlight.size > 0);
      for (const st of open) for (const p of [...st.inFlight]) succeed(run, st.stage.id, p, 'e1');
    }
    expect(run.state).toBe('COMPLETED');
  };
  return { clock, config, executors, job, dag, tasks, outputs, completed, registered, mapOutputBytes, generator, events, manager, startBatch, succeed, finish };
}

describe('JobGenerator: a job held back by maxQueuedBatches (onFallingBehind=backpressure)', () => {
  it('keeps the announced inputs of the batches it holds back, however long it is held, and queues them when it resumes', async () => {
    const { generator, job, config } = await setup({ config: { maxQueuedBatches: '2' } });
    const interval = config.batchInterval;
    const first = job.nextBatchTimeMs;
    const announce = (t: number) => generator.batchReady('lines', t, [{ blockId: `b@${t}`, records: 1, bytes: 10, executorIds: ['e1'] }]);
    // 15 intervals (more than the 10 an unclaimed announcement is kept): two batches queued, the rest held back.
    for (let i = 0; i < 15; i++) {
      const t = first + i * interval;
      generator.tick(t);
      announce(t);
    }
    expect(generator.fallingBehind(job.id)).toBe(true);
    expect(generator.queue(job.id).map((r) => r.batchTimeMs)).toEqual([first, first + interval]);
    // The queue drains: the held batches are created — with the inputs announced long ago, none left waiting for them.
    for (const run of [...generator.queue(job.id)]) generator.retire(run);
    generator.tick(first + 15 * interval);
    const resumed = generator.queue(job.id);
    expect(resumed.map((r) => r.batchTimeMs)).toEqual([first + 2 * interval, first + 3 * interval]);
    expect(resumed.map((r) => r.state)).toEqual(['QUEUED', 'QUEUED']);
    expect(resumed[0]!.inputs.get('lines')!.map((b) => b.blockId)).toEqual([`b@${first + 2 * interval}`]);
  });
});

describe('BatchDag: how many reduce partitions a batch gets', () => {
  /** Reduce partitions of the word count's shuffle in a batch planned now. */
  const reducePartitions = async (s: Awaited<ReturnType<typeof setup>>, t: number) => {
    const run = await s.startBatch(t);
    return run.stages.find((st) => st.stage.kind === 'result')!.stage.numPartitions;
  };

  it('by default, partitionsPerSlot per slot of the executors; defaultParallelism > 0 and an operator’s numPartitions win', async () => {
    const s = await setup({ config: { defaultParallelism: 0 } });
    expect(s.config.partitionsPerSlot).toBe(2);
    expect(await reducePartitions(s, s.job.firstBatchTimeMs)).toBe(8); // (2 + 2 slots) × 2
    const three = await setup({ config: { defaultParallelism: 0, partitionsPerSlot: 3 } });
    expect(await reducePartitions(three, three.job.firstBatchTimeMs)).toBe(12);
    const fixed = await setup({ config: { defaultParallelism: 5, partitionsPerSlot: 3 } });
    expect(await reducePartitions(fixed, fixed.job.firstBatchTimeMs)).toBe(5);
    const named = await setup({ config: { defaultParallelism: 0 }, bundle: reduceInto3 });
    expect(await reducePartitions(named, named.job.firstBatchTimeMs)).toBe(3);
  });

  it('an executor briefly missing does not shrink the plan; one gone for good stops counting 30 s later', async () => {
    const s = await setup({ config: { defaultParallelism: 0 } });
    const t0 = s.job.firstBatchTimeMs;
    s.finish(await s.startBatch(t0));
    s.clock.advance(1100); // e2 falls silent; e1 keeps beating
    heartbeat(s.executors, s.clock, { id: 'e1', slots: 2 });
    expect(s.executors.expire().map((c) => `${c.kind} ${c.executor.id}`)).toEqual(['lost e2']);
    expect(s.executors.totalSlots()).toBe(2);
    const missing = await s.startBatch(t0 + 1000);
    expect(missing.stages.find((st) => st.stage.kind === 'result')!.stage.numPartitions).toBe(8); // still (2 + 2) × 2
    s.finish(missing);
    // e2 is replaced by an executor with another id (a new pod): counted once, not with the lost one.
    heartbeat(s.executors, s.clock, { id: 'e3', slots: 2 });
    expect(await reducePartitionsAfter(s, missing)).toBe(8);
    // Gone for good (the replacement too): the plan follows the slots left once the memory runs out.
    s.clock.advance(1100);
    heartbeat(s.executors, s.clock, { id: 'e1', slots: 2 });
    s.executors.expire();
    s.clock.advance(SLOTS_MEMORY_MS);
    heartbeat(s.executors, s.clock, { id: 'e1', slots: 2 });
    expect(s.executors.plannedSlots()).toBe(2);
    expect(s.executors.plannedSlots() * s.config.partitionsPerSlot).toBe(4);
  });

  /** Finish `prev` and plan the batch after it; its reduce partitions. */
  async function reducePartitionsAfter(s: Awaited<ReturnType<typeof setup>>, prev: BatchRun): Promise<number> {
    if (prev.state === 'RUNNING') s.finish(prev);
    const run = await s.startBatch(prev.batchTimeMs + 1000);
    const n = run.stages.find((st) => st.stage.kind === 'result')!.stage.numPartitions;
    s.finish(run);
    return n;
  }

  it('a state keeps the partition count it started with when the slots change', async () => {
    const s = await setup({ config: { defaultParallelism: 0 }, bundle: sessionization, stream: 'clicks' });
    const stateNode = s.job.graph.nodes.find((n) => n.kind === 'state')!.id;
    const t0 = s.job.firstBatchTimeMs;
    const first = await s.startBatch(t0);
    expect(first.plan!.states.get(stateNode)!.numPartitions).toBe(8);
    s.finish(first);
    heartbeat(s.executors, s.clock, { id: 'e3', slots: 4 }); // 8 slots now: a new shuffle would get 16
    const second = await s.startBatch(t0 + 1000);
    expect(second.plan!.states.get(stateNode)!.numPartitions).toBe(8);
    expect(second.plan!.states.get(stateNode)!.previous?.numPartitions).toBe(8);
  });
});

describe('BatchDag', () => {
  it('registers with lineage before running, submits the reduce stage only after the whole map stage, and commits once', async () => {
    const s = await setup();
    const t = s.job.firstBatchTimeMs;
    const run = await s.startBatch(t);
    expect(s.registered).toEqual([`${s.job.id}@${t}`]);
    expect(run.stages.map((st) => st.stage.kind)).toEqual(['shuffleMap', 'result']);
    expect(s.tasks.submitted).toEqual([{ stage: 0, partitions: [0, 1] }]);
    s.succeed(run, 0, 0, 'e1');
    expect(s.tasks.submitted).toHaveLength(1); // map side incomplete: no reduce yet
    s.succeed(run, 0, 1, 'e2');
    expect(s.tasks.submitted).toEqual([
      { stage: 0, partitions: [0, 1] },
      { stage: 1, partitions: [0, 1] },
    ]);
    const watched: number[] = [];
    s.outputs.watch(s.job.id, 'counts', { send: (b) => watched.push(b.batchTimeMs), end: () => {}, interrupt: () => {} }, false);
    s.succeed(run, 1, 0, 'e1', [['a', 2]]);
    expect(run.state).toBe('RUNNING');
    s.succeed(run, 1, 1, 'e2', [['b', 1]]);
    expect(run.state).toBe('COMPLETED');
    expect(watched).toEqual([t]);
    expect(unpackRecords(s.outputs.retained(s.job.id, 'counts')[0]!.payload)).toEqual([['a', 2], ['b', 1]]);
    expect(s.completed).toMatchObject([{ jobId: s.job.id, batchTimeMs: t, state: 'COMPLETED', inputRecords: 2 }]);
    expect(s.job.lastCompletedBatchMs).toBe(t);
    expect(s.generator.queue(s.job.id)).toEqual([]);
  });

  it('records a map output\'s bytes: the total a result reports in bytes_out, or an older executor\'s bucket sizes added up', async () => {
    const s = await setup();
    const run = await s.startBatch(s.job.firstBatchTimeMs);
    s.succeed(run, 0, 0, 'e1', [], { bucketBytes: [], metrics: { recordsIn: 3, recordsOut: 2, bytesOut: 4096, runMs: 1, fetchMs: 0, queueMs: 0 } });
    s.succeed(run, 0, 1, 'e2', [], { bucketBytes: [100, 23], metrics: { recordsIn: 3, recordsOut: 2, bytesOut: 999, runMs: 1, fetchMs: 0, queueMs: 0 } });
    expect(s.mapOutputBytes).toEqual([4096, 123]);
  });

  it('a batch re-run after a restart does not commit an output batch that was already committed', async () => {
    const s = await setup();
    const t = s.job.firstBatchTimeMs;
    s.outputs.restore(s.job.id, 'counts', [{ batchTimeMs: t, count: 1, payload: packRecords([['a', 2]]) }]);
    const run = await s.startBatch(t);
    s.succeed(run, 0, 0, 'e1');
    s.succeed(run, 0, 1, 'e2');
    s.succeed(run, 1, 0, 'e1', [['a', 2]]);
    s.succeed(run, 1, 1, 'e2', []);
    expect(run.state).toBe('COMPLETED');
    expect(run.commits).toEqual([]); // nothing new to make durable
    expect(s.outputs.retained(s.job.id, 'counts')).toHaveLength(1);
  });

  it('rebuilds only the map outputs lost with an executor, then runs the reduce stage', async () => {
    const s = await setup();
    const run = await s.startBatch(s.job.firstBatchTimeMs);
    s.succeed(run, 0, 0, 'e1');
    s.succeed(run, 0, 1, 'e2');
    s.succeed(run, 1, 0, 'e1', []);
    // Reduce partition 1 could not fetch from e2 (the task set ends that attempt, as it does on a
    // fetch failure): e2's map output is rebuilt, and the reduce side waits for it.
    run.stages[1]!.inFlight.delete(1);
    s.dag.mapOutputsLost(run, run.stages[1]!, 'e2');
    expect(s.tasks.withdrawn).toEqual([1]);
    expect(s.tasks.submitted.at(-1)).toEqual({ stage: 0, partitions: [1] });
    expect(run.stages[0]!.resubmissions).toBe(1);
    s.succeed(run, 0, 1, 'e1');
    expect(s.tasks.submitted.at(-1)).toEqual({ stage: 1, partitions: [1] });
    s.succeed(run, 1, 1, 'e1', [['c', 1]]);
    expect(run.state).toBe('COMPLETED');
  });

  it('a batch that fails fails its job, and the job’s queued batches end FAILED', async () => {
    const s = await setup();
    const t = s.job.firstBatchTimeMs;
    const run = await s.startBatch(t);
    s.generator.createDueRuns(s.job, t + 1000); // queued behind it
    s.dag.batchFailed(run, 'task x failed 4 times');
    expect(s.job.state).toBe('FAILED');
    expect(s.job.error).toMatch(/^batch .* failed: task x failed 4 times$/);
    expect(run.state).toBe('FAILED');
    expect(s.generator.queue(s.job.id)).toEqual([]);
    expect(s.completed.map((c) => c.state)).toEqual(['FAILED']); // only the started batch is announced
  });

  it('a registration that failed is tried again after its delay, or at once when NATS is back', async () => {
    const s = await setup();
    const t = s.job.firstBatchTimeMs;
    s.generator.createDueRuns(s.job, t);
    s.generator.batchReady('lines', t, [{ blockId: `b1@${t}`, records: 1, bytes: 10, executorIds: ['e1'] }]);
    s.dag.startReadyBatches();
    const run = s.generator.queue(s.job.id)[0]!;
    expect(s.registered).toHaveLength(1);
    s.dag.batchRegisterFailed(run, 'cannot write lineage state: timeout');
    s.clock.advance(499);
    expect(s.registered).toHaveLength(1);
    s.clock.advance(1);
    expect(s.registered).toHaveLength(2); // the retry delay
    s.dag.batchRegisterFailed(run, 'cannot write lineage state: timeout');
    s.clock.advance(100);
    s.dag.natsReconnected(); // the waiting retry goes now
    expect(s.registered).toHaveLength(3);
    s.clock.advance(1000);
    expect(s.registered).toHaveLength(3); // its delayed retry was cancelled
    // This attempt was sent after the reconnect: its failure waits out the delay again.
    s.dag.batchRegisterFailed(run, 'cannot write lineage state: timeout');
    s.clock.advance(499);
    expect(s.registered).toHaveLength(3);
    s.clock.advance(1);
    expect(s.registered).toHaveLength(4);
    expect(run.state).toBe('REGISTERING');
  });

  it('a registration sent during the outage that fails after NATS is back is tried again at once', async () => {
    const s = await setup();
    const t = s.job.firstBatchTimeMs;
    s.generator.createDueRuns(s.job, t);
    s.generator.batchReady('lines', t, [{ blockId: `b1@${t}`, records: 1, bytes: 10, executorIds: ['e1'] }]);
    s.dag.startReadyBatches();
    const run = s.generator.queue(s.job.id)[0]!;
    s.clock.advance(900);
    s.dag.natsReconnected(); // nothing waits: the registration is in flight
    expect(s.registered).toHaveLength(1);
    s.clock.advance(80);
    s.dag.batchRegisterFailed(run, 'cannot write lineage state: timeout (disconnected)');
    expect(s.registered).toHaveLength(2);
  });
});

describe('BatchDag: outputs with a sink', () => {
  /** A sink writer whose answers the test gives. */
  const writer = () => {
    const calls: Array<{ jobId: string; batchTimeMs: number; outputs: string[]; records: unknown[] }> = [];
    let answer: (error: string | undefined) => void = () => undefined;
    const writeSinks: NonNullable<SchedulerPorts['writeSinks']> = (job, batchTimeMs, sinkCalls) => {
      calls.push({ jobId: job.id, batchTimeMs, outputs: sinkCalls.map((c) => c.output), records: sinkCalls.flatMap((c) => unpackRecords(c.payload)) });
      return new Promise((resolve) => (answer = resolve));
    };
    return { calls, writeSinks, answer: (error?: string) => answer(error) };
  };
  /** Run the batch's tasks; its sinks are being written. */
  const runToSinks = async (s: Awaited<ReturnType<typeof setup>>) => {
    const run = await s.startBatch(s.job.firstBatchTimeMs);
    for (let guard = 0; guard < 10 && run.stages.some((st) => st.inFlight.size > 0); guard++) {
      for (const st of run.stages) for (const p of [...st.inFlight]) s.succeed(run, st.stage.id, p, 'e1', st.stage.kind === 'result' && p === 0 ? [{ word: 'a', count: 2 }] : []);
    }
    return run;
  };

  it('commits the outputs, announces and journals the batch only after every sink has it', async () => {
    const w = writer();
    const s = await setup({ bundle: withSink, writeSinks: w.writeSinks });
    const run = await runToSinks(s);
    expect(w.calls).toEqual([{ jobId: s.job.id, batchTimeMs: run.batchTimeMs, outputs: ['counts'], records: [{ word: 'a', count: 2 }] }]);
    // Written off the loop: until it answers, nothing of the batch is committed or announced.
    expect(run.state).toBe('RUNNING');
    expect(s.outputs.retained(s.job.id, 'counts')).toEqual([]);
    expect(s.completed).toEqual([]);
    // A stage finishing again meanwhile does not write the sinks twice.
    s.dag.advance(run);
    expect(w.calls).toHaveLength(1);
    w.answer(undefined);
    await Promise.resolve();
    await Promise.resolve();
    const written = s.events.find((e) => e.type === 'sinksWritten' && e.run === run);
    expect(written).toEqual({ type: 'sinksWritten', run });
    s.dag.sinksWritten(run, undefined);
    expect(run.state).toBe('COMPLETED');
    expect(unpackRecords(s.outputs.retained(s.job.id, 'counts')[0]!.payload)).toEqual([{ word: 'a', count: 2 }]);
    expect(s.completed).toMatchObject([{ batchTimeMs: run.batchTimeMs, state: 'COMPLETED' }]);
  });

  it('fails the batch, and so the job, with the sink’s error, committing nothing', async () => {
    const w = writer();
    const s = await setup({ bundle: withSink, writeSinks: w.writeSinks });
    const run = await runToSinks(s);
    w.answer('sink postgres:main/counts of output counts: gave up');
    await Promise.resolve();
    await Promise.resolve();
    const e = s.events.find((ev) => ev.type === 'sinksWritten' && ev.run === run);
    expect(e).toEqual({ type: 'sinksWritten', run, error: 'sink postgres:main/counts of output counts: gave up' });
    s.dag.sinksWritten(run, 'sink postgres:main/counts of output counts: gave up');
    expect(s.job.state).toBe('FAILED');
    expect(s.job.error).toMatch(/^batch .* failed: sink postgres:main\/counts of output counts: gave up$/);
    expect(s.outputs.retained(s.job.id, 'counts')).toEqual([]);
  });

  it('fails the batch when this scheduler has no sink writer', async () => {
    const s = await setup({ bundle: withSink });
    await runToSinks(s);
    expect(s.job.state).toBe('FAILED');
    expect(s.job.error).toMatch(/the job writes to sinks but this scheduler has no sink writer/);
  });
});
