/**
 * planned-tasks.ts on its own: an executor's group plans driven by a manual
 * clock, with interface fakes for the rest — a session recording the tasks
 * it is told to start and the results reported for tasks that never started,
 * a block store reduced to a set of ids with put listeners, and the
 * receiver's GetBatchBlocks answering from a queue the test fills.
 *
 * The plan: job-1 over stream `lines`, batches 10s, 11s, 12s; members e1 (this
 * executor) and e2; a map stage over blocks writing 2 reduce partitions,
 * reduce partition 0 on e1 and 1 on e2. Block b0 is on e1, b1 on e2.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock.js';
import { createLogger } from '../../../lib/log.js';
import type { GroupPlan__Output } from '../../../lib/proto/gen/rivulet/v1/GroupPlan.js';
import type { TaskResult } from '../../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { TaskSpec__Output } from '../../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import { PER_BLOCK, PLANNED_ATTEMPT_BASE, type AnnouncedBlock } from '../../../lib/scheduling/group-plan.js';
import { PlannedTasks, type PlanSession } from '../../../services/executor/planned-tasks.js';
import { forEachMapOutput } from '../../../lib/scheduling/map-outputs.js';

const log = createLogger('test', 'silent');

const EPOCH = 5;
const T1 = 10_000;
const T2 = 11_000;
const T3 = 12_000;
const READY_TIMEOUT = 500;
const INPUT_WAIT = 2_000;
/** The plan's attempt number (PLANNED_ATTEMPT_BASE + its sequence). */
const ATTEMPT = PLANNED_ATTEMPT_BASE + 7;

function plan(overrides: Partial<GroupPlan__Output> = {}): GroupPlan__Output {
  return {
    planId: 'job-1/g1',
    jobId: 'job-1',
    attempt: ATTEMPT,
    bundleHash: 'hash-1',
    epoch: EPOCH,
    stream: 'lines',
    firstBatchMs: T1,
    lastBatchMs: T3,
    batchIntervalMs: 1_000,
    members: [
      { executorId: 'e1', address: 'e1:1', epoch: EPOCH },
      { executorId: 'e2', address: 'e2:1', epoch: 8 },
    ],
    reducers: ['e1', 'e2'],
    stages: [
      { stageId: 0, nodeId: 3, input: 'sourceNode', sourceNode: 0, numPartitions: PER_BLOCK, mapPartitions: 0, sink: 'writeShuffleNode', writeShuffleNode: 4, writePartitions: 2 },
      { stageId: 1, nodeId: 5, input: 'shuffleNode', shuffleNode: 4, numPartitions: 2, mapPartitions: PER_BLOCK, sink: 'resultOutput', resultOutput: 'counts', writePartitions: 0 },
    ],
    nodePartitions: [PER_BLOCK, PER_BLOCK, PER_BLOCK, PER_BLOCK, 2, 2],
    shuffleIdSuffix: 'inc',
    timeoutMs: 30_000,
    maxResultBytes: 1 << 20,
    maxMessageBytes: 1 << 16,
    receiverAddress: 'receiver:7070',
    batchReadyTimeoutMs: READY_TIMEOUT,
    inputWaitTimeoutMs: INPUT_WAIT,
    totalBytesOnly: true,
    ...overrides,
  };
}

const blocks: AnnouncedBlock[] = [
  { blockId: 'b0', executorIds: ['e1', 'e2'] },
  { blockId: 'b1', executorIds: ['e2', 'e1'] },
];

/** The bucket of map partition `m` for reduce partition `r` of batch `t`. */
const bucket = (t: number, m: number, r: number) => `shuffle/job-1:${t}:4:inc/${m}/${r}`;
const mapTask = (t: number, p: number) => `job-1/${t}/0/${p}`;
const reduceTask = (t: number, p: number) => `job-1/${t}/1/${p}`;

class FakeSession implements PlanSession {
  isOpen = true;
  readonly started: TaskSpec__Output[] = [];
  readonly reports: TaskResult[] = [];
  start(spec: TaskSpec__Output): void {
    this.started.push(spec);
  }
  report(result: TaskResult): void {
    this.reports.push(result);
  }
  get startedIds(): string[] {
    return this.started.map((s) => s.taskId);
  }
}

type Answer = { complete: boolean; blocks: AnnouncedBlock[] } | Error;

function setup(startMs = 9_500) {
  const clock = new ManualClock(startMs);
  const state = { epoch: EPOCH };
  const stored = new Set<string>();
  const listeners: Array<(id: string) => void> = [];
  const asked: Array<{ address: string; stream: string; batchTimeMs: number; atMs: number }> = [];
  const answers: Answer[] = [];
  const planned = new PlannedTasks({
    executorId: 'e1',
    epoch: () => state.epoch,
    has: (id) => stored.has(id),
    onPut: (l) => void listeners.push(l),
    fetchBatchBlocks: (address, stream, batchTimeMs) => {
      asked.push({ address, stream, batchTimeMs, atMs: clock.now() });
      const a = answers.shift() ?? { complete: false, blocks: [] };
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
    clock,
    log,
  });
  const put = (id: string) => {
    stored.add(id);
    for (const l of listeners) l(id);
  };
  const session = new FakeSession();
  return { clock, state, stored, put, asked, answers, planned, session };
}

/** Let the fake receiver's answers (promises) be handled. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('PlannedTasks', () => {
  it('starts this executor\'s map tasks as soon as a planned batch is announced, and no other executor\'s', () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    expect(s.session.started).toEqual([]);
    s.planned.batchReady('other-stream', T1, blocks);
    expect(s.session.started).toEqual([]);

    s.planned.batchReady('lines', T1, blocks);
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);
    const spec = s.session.started[0]!;
    expect(spec.attempt).toBe(ATTEMPT);
    expect(spec.epoch).toBe(EPOCH);
    expect(spec.blocks[0]?.blockId).toBe('b0');
    expect(s.planned.started).toBe(1);
    expect(s.session.reports).toEqual([]);
  });

  it('starts a reducer only when the last bucket it misses is stored, and exactly once', () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.planned.batchReady('lines', T1, blocks);
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);

    s.put(bucket(T1, 0, 0));
    s.put(bucket(T1, 0, 1)); // another reducer's bucket
    s.put(bucket(T2, 1, 0)); // another batch's
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);

    s.put(bucket(T1, 1, 0));
    expect(s.session.startedIds).toEqual([mapTask(T1, 0), reduceTask(T1, 0)]);
    const r = s.session.started[1]!;
    expect(r.attempt).toBe(ATTEMPT);
    const holders: string[] = [];
    forEachMapOutput(r.shuffles[0]!, (_m, executor) => holders.push(executor!.executorId));
    expect(holders).toEqual(['e1', 'e1']);

    // Stored again, or time passing past the input wait: nothing more.
    s.put(bucket(T1, 1, 0));
    s.put(bucket(T1, 0, 0));
    s.clock.advance(INPUT_WAIT * 2);
    expect(s.session.startedIds).toEqual([mapTask(T1, 0), reduceTask(T1, 0)]);
    expect(s.session.reports).toEqual([]);
  });

  it('starts a reducer at once when its buckets are already stored when the batch is announced', () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.put(bucket(T1, 0, 0));
    s.put(bucket(T1, 1, 0));
    s.planned.batchReady('lines', T1, blocks);
    expect(s.session.startedIds).toEqual([mapTask(T1, 0), reduceTask(T1, 0)]);
  });

  it('starts nothing more for a batch announced twice', () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.planned.batchReady('lines', T1, blocks);
    s.planned.batchReady('lines', T1, blocks);
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);
    s.put(bucket(T1, 0, 0));
    s.put(bucket(T1, 1, 0));
    s.planned.batchReady('lines', T1, blocks);
    expect(s.session.startedIds).toEqual([mapTask(T1, 0), reduceTask(T1, 0)]);
    // Its GetBatchBlocks fallback is off too.
    s.clock.advance(T1 + READY_TIMEOUT - s.clock.now());
    expect(s.asked.filter((a) => a.batchTimeMs === T1)).toEqual([]);
  });

  it('starts nothing for a batch time the plan does not cover', () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.planned.batchReady('lines', T1 - 1_000, blocks);
    s.planned.batchReady('lines', T3 + 1_000, blocks);
    s.planned.batchReady('lines', T1 + 500, blocks); // between two batches of the plan
    expect(s.session.started).toEqual([]);
  });

  it('starts nothing for a batch after a revocation\'s afterBatchMs, and stops asking the receiver for it', async () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.planned.revoke({ planId: 'job-1/g1', afterBatchMs: T1 });
    s.planned.batchReady('lines', T2, blocks);
    s.planned.batchReady('lines', T3, blocks);
    expect(s.session.started).toEqual([]);

    // A batch up to afterBatchMs keeps its plan.
    s.planned.batchReady('lines', T1, blocks);
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);

    s.clock.advance(T3 + READY_TIMEOUT + 1_000 - s.clock.now());
    await settle();
    expect(s.asked).toEqual([]);
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);
  });

  it('ignores a plan made for another incarnation', async () => {
    const s = setup();
    s.planned.accept(plan({ epoch: EPOCH - 1 }), s.session);
    expect(s.planned.planCount).toBe(0);
    s.planned.batchReady('lines', T1, blocks);
    s.clock.advance(T3 + READY_TIMEOUT + 1_000 - s.clock.now());
    await settle();
    expect(s.session.started).toEqual([]);
    expect(s.asked).toEqual([]);
  });

  it('answers KILLED for a killed waiting reducer, which never starts afterwards', () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.planned.batchReady('lines', T1, blocks);
    s.put(bucket(T1, 0, 0));

    expect(s.planned.kill(reduceTask(T1, 0), ATTEMPT)).toBe(true);
    expect(s.session.reports).toEqual([{ taskId: reduceTask(T1, 0), attempt: ATTEMPT, executorId: 'e1', epoch: EPOCH, state: 'KILLED' }]);

    s.put(bucket(T1, 1, 0));
    s.clock.advance(INPUT_WAIT * 2);
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);
    expect(s.session.reports).toHaveLength(1);
    // Nothing waits any more.
    expect(s.planned.kill(reduceTask(T1, 0), ATTEMPT)).toBe(false);
  });

  it('kills only a task that waits: a started one, another attempt or an unknown task is not answered', () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.planned.batchReady('lines', T1, blocks);
    expect(s.planned.kill(mapTask(T1, 0), ATTEMPT)).toBe(false); // started
    expect(s.planned.kill(reduceTask(T1, 0), 1)).toBe(false); // not the planned attempt
    expect(s.planned.kill(reduceTask(T1, 1), ATTEMPT)).toBe(false); // e2's
    expect(s.session.reports).toEqual([]);
  });

  it('gives up on a reducer still missing buckets after the input wait: FAILED, queue_full, naming how many are missing', () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.planned.batchReady('lines', T1, blocks);
    s.put(bucket(T1, 0, 0));

    s.clock.advance(INPUT_WAIT - 1);
    expect(s.session.reports).toEqual([]);
    s.clock.advance(1);
    expect(s.session.reports).toHaveLength(1);
    const r = s.session.reports[0]!;
    expect(r).toMatchObject({ taskId: reduceTask(T1, 0), attempt: ATTEMPT, executorId: 'e1', epoch: EPOCH, state: 'FAILED', queueFull: true });
    expect(r.error).toMatch(/1 shuffle bucket\(s\)/);
    expect(r.error).toContain(`${INPUT_WAIT} ms`);

    // Given up: its late bucket does not start it.
    s.put(bucket(T1, 1, 0));
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);
  });

  it('counts every missing bucket when none arrived', () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.planned.batchReady('lines', T1, blocks);
    s.clock.advance(INPUT_WAIT);
    expect(s.session.reports[0]?.error).toMatch(/2 shuffle bucket\(s\)/);
  });

  it('asks the receiver for a batch whose batch.ready does not come, at batch time + batchReadyTimeout, and starts its tasks from the answer', async () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.answers.push({ complete: true, blocks });
    s.clock.advance(T1 + READY_TIMEOUT - 1 - s.clock.now());
    expect(s.asked).toEqual([]);
    s.clock.advance(1);
    expect(s.asked).toEqual([{ address: 'receiver:7070', stream: 'lines', batchTimeMs: T1, atMs: T1 + READY_TIMEOUT }]);
    await settle();
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);

    // A batch.ready that comes late starts nothing more.
    s.planned.batchReady('lines', T1, blocks);
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);
  });

  it('asks again after an incomplete answer, and after a failed call', async () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.answers.push({ complete: false, blocks: [] }, new Error('receiver unavailable'), { complete: true, blocks });
    s.clock.advance(T1 + READY_TIMEOUT - s.clock.now());
    await settle();
    expect(s.asked).toHaveLength(1);
    expect(s.session.started).toEqual([]);

    s.clock.advance(100);
    await settle();
    expect(s.asked).toHaveLength(2);
    expect(s.session.started).toEqual([]);

    s.clock.advance(500);
    await settle();
    expect(s.asked.map((a) => a.batchTimeMs)).toEqual([T1, T1, T1]);
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);
  });

  it('keeps asking for a batch whose answer was incomplete even when a later batch of the plan started meanwhile', async () => {
    const s = setup();
    s.planned.accept(plan({ lastBatchMs: T2 }), s.session);
    s.answers.push({ complete: false, blocks: [] });
    s.clock.advance(T1 + READY_TIMEOUT - s.clock.now());
    expect(s.asked.map((a) => a.batchTimeMs)).toEqual([T1]);
    // T2's batch.ready comes while the receiver's answer for T1 is on its way.
    s.planned.batchReady('lines', T2, blocks);
    expect(s.session.startedIds).toEqual([mapTask(T2, 0)]);
    await settle();

    s.answers.push({ complete: true, blocks });
    s.clock.advance(100);
    await settle();
    expect(s.asked.map((a) => a.batchTimeMs)).toEqual([T1, T1]);
    expect(s.session.startedIds).toEqual([mapTask(T2, 0), mapTask(T1, 0)]);
  });

  it('drops the plans of an older incarnation: nothing starts for them, and their waiting reducers are forgotten', async () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.planned.batchReady('lines', T1, blocks);
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);

    s.state.epoch = EPOCH + 1;
    s.planned.dropOlderThan(EPOCH + 1);
    expect(s.planned.planCount).toBe(0);

    s.planned.batchReady('lines', T2, blocks);
    s.put(bucket(T1, 0, 0));
    s.put(bucket(T1, 1, 0));
    s.clock.advance(T3 + READY_TIMEOUT + INPUT_WAIT - s.clock.now());
    await settle();
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);
    expect(s.asked).toEqual([]);
    expect(s.session.reports).toEqual([]);
  });

  it('keeps the plans of the current incarnation on dropOlderThan', () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.planned.dropOlderThan(EPOCH);
    expect(s.planned.planCount).toBe(1);
    s.planned.batchReady('lines', T1, blocks);
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);
  });

  it('starts nothing on a session that is closed, and drops its plan', async () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.session.isOpen = false;
    s.planned.batchReady('lines', T1, blocks);
    expect(s.session.started).toEqual([]);
    expect(s.planned.planCount).toBe(0);
    s.clock.advance(T3 + READY_TIMEOUT - s.clock.now());
    await settle();
    expect(s.asked).toEqual([]);
    expect(s.session.started).toEqual([]);
  });

  it('does not start a waiting reducer whose session closed before its buckets came', () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.planned.batchReady('lines', T1, blocks);
    s.session.isOpen = false;
    s.put(bucket(T1, 0, 0));
    s.put(bucket(T1, 1, 0));
    expect(s.session.startedIds).toEqual([mapTask(T1, 0)]);
  });

  it('retires a plan once each of its batches started or was revoked', () => {
    const s = setup();
    s.planned.accept(plan(), s.session);
    s.planned.batchReady('lines', T1, blocks);
    s.planned.batchReady('lines', T2, blocks);
    expect(s.planned.planCount).toBe(1);
    s.planned.revoke({ planId: 'job-1/g1', afterBatchMs: T2 });
    expect(s.planned.planCount).toBe(0);
  });
});
