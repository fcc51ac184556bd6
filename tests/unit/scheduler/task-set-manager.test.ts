/**
 * task-set-manager.ts on its own: a manual clock, real executor tracking,
 * a recording gateway, and a listener standing in for the batch DAG.
 * Launch onto free slots, fencing by epoch and attempt, retries, executor
 * loss, speculation, and the slot of a task whose spec cannot be built.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock.js';
import type { TaskResult__Output } from '../../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { BatchRun, StageRun } from '../../../services/scheduler/batch-run.js';
import { BatchTelemetry } from '../../../services/scheduler/batch-telemetry.js';
import { schedulerConfigSchema } from '../../../services/scheduler/config.js';
import type { SchedulerEvent } from '../../../services/scheduler/events.js';
import type { TaskAttempt } from '../../../services/scheduler/task-attempt.js';
import { TaskSetManager, type TaskSetListener } from '../../../services/scheduler/task-set-manager.js';
import { REFUSED_BACKOFF_MS, SLOW_RETEST_MS } from '../../../services/scheduler/executor-tracker.js';
import type { TaskAttemptRef } from '../../../services/scheduler/task-spec.js';
import { PLANNED_ATTEMPT_BASE } from '../../../lib/scheduling/group-plan.js';
import { heartbeat, log, RecordingGateway, result, runWithStages, specOf, tracker, type FakeExecutor, type Launched } from './fixtures.js';

class Listener implements TaskSetListener {
  readonly succeeded: TaskAttempt[] = [];
  readonly failed: string[] = [];
  readonly lostMaps: string[] = [];
  taskSucceeded(t: TaskAttempt): void {
    t.stageRun.done.add(t.partition);
    t.stageRun.durations.push(10);
    this.succeeded.push(t);
  }
  mapOutputsLost(_run: BatchRun, _s: StageRun, from: string): void {
    this.lostMaps.push(from);
  }
  batchFailed(_run: BatchRun, message: string): void {
    this.failed.push(message);
  }
}

function setup(executors: FakeExecutor[], opts: { config?: Record<string, string>; buildSpec?: (t: TaskAttemptRef) => ReturnType<typeof specOf> } = {}) {
  const clock = new ManualClock(10_000);
  const config = schedulerConfigSchema.parse({ localityWait: '30ms', maxTaskAttempts: '3', ...opts.config });
  const executorsTracker = tracker(clock, executors);
  const gateway = new RecordingGateway();
  const listener = new Listener();
  const events: SchedulerEvent[] = [];
  const post = (e: SchedulerEvent) => {
    events.push(e);
    if (e.type === 'taskResult') tsm.onResult(e.result);
    if (e.type === 'taskResults') tsm.onResults(e.results);
    if (e.type === 'adoptedResults') tsm.onResults(tsm.takeAdoptedResults());
    if (e.type === 'reschedule') tsm.schedule();
  };
  const tsm: TaskSetManager = new TaskSetManager(config, clock, executorsTracker, gateway, opts.buildSpec ?? specOf, new BatchTelemetry(() => 1), post, log);
  tsm.listener = listener;
  const report = (l: Launched, state: 'SUCCEEDED' | 'FAILED' | 'KILLED', overrides: Partial<TaskResult__Output> = {}) =>
    l.cb.onResult(result(l, state, overrides));
  return { clock, config, executors: executorsTracker, gateway, listener, tsm, events, report };
}

const free = (s: ReturnType<typeof setup>, id: string) => s.executors.freeSlots(s.executors.get(id)!);

describe('TaskSetManager', () => {
  it('launches one task per free slot and the next one as a slot frees up', () => {
    const s = setup([{ id: 'e1', slots: 1 }, { id: 'e2', slots: 1 }]);
    const run = runWithStages([{ kind: 'result', numPartitions: 3, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    expect(s.gateway.launched.map((l) => l.executor.id).sort()).toEqual(['e1', 'e2']);
    expect([free(s, 'e1'), free(s, 'e2')]).toEqual([0, 0]);
    expect(s.tsm.pendingCounts().pending).toBe(1);
    s.report(s.gateway.launched[0]!, 'SUCCEEDED');
    expect(s.gateway.launched).toHaveLength(3);
    expect(s.gateway.launched[2]!.executor.id).toBe(s.gateway.launched[0]!.executor.id);
    for (const l of s.gateway.launched.slice(1)) s.report(l, 'SUCCEEDED');
    expect(s.listener.succeeded.map((t) => t.partition).sort()).toEqual([0, 1, 2]);
    expect([free(s, 'e1'), free(s, 'e2')]).toEqual([1, 1]);
  });

  it('takes the results of one message together: one scheduling round after them, not one per result', () => {
    const s = setup([{ id: 'e1', slots: 2 }]);
    const run = runWithStages([{ kind: 'result', numPartitions: 6, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    expect([s.gateway.launched.length, s.gateway.launchCalls]).toEqual([2, 1]);
    // Two results in one message (the executor's outbox packs what finished in one turn): both places refilled in one launch.
    s.gateway.launched[0]!.cb.onResults!([result(s.gateway.launched[0]!, 'SUCCEEDED'), result(s.gateway.launched[1]!, 'SUCCEEDED')]);
    expect(s.listener.succeeded).toHaveLength(2);
    expect([s.gateway.launched.length, s.gateway.launchCalls]).toEqual([4, 2]);
    // One at a time: a round each.
    s.report(s.gateway.launched[2]!, 'SUCCEEDED');
    s.report(s.gateway.launched[3]!, 'SUCCEEDED');
    expect([s.gateway.launched.length, s.gateway.launchCalls]).toEqual([6, 4]);
    // Fencing holds inside a bulk: a result of another incarnation among them counts for nothing.
    s.gateway.launched[4]!.cb.onResults!([result(s.gateway.launched[4]!, 'SUCCEEDED', { epoch: 999 }), result(s.gateway.launched[5]!, 'SUCCEEDED')]);
    expect(s.listener.succeeded.map((t) => t.partition).sort()).toEqual([0, 1, 2, 3, 5]);
    expect(free(s, 'e1')).toBe(1);
  });

  it('fences results: another incarnation or an old attempt number counts for nothing', () => {
    const s = setup([{ id: 'e1', slots: 1 }]);
    const run = runWithStages([{ kind: 'result', numPartitions: 1, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    const l = s.gateway.launched[0]!;
    s.report(l, 'SUCCEEDED', { epoch: l.executor.epoch + 1 });
    s.report(l, 'SUCCEEDED', { attempt: l.spec.attempt! + 5 });
    s.report(l, 'SUCCEEDED', { executorId: 'e9' });
    expect(s.listener.succeeded).toEqual([]);
    expect(free(s, 'e1')).toBe(0);
    s.report(l, 'SUCCEEDED');
    expect(s.listener.succeeded).toHaveLength(1);
    expect(free(s, 'e1')).toBe(1);
    // A duplicate of the result that counted changes nothing.
    s.report(l, 'SUCCEEDED');
    expect(s.listener.succeeded).toHaveLength(1);
    expect(free(s, 'e1')).toBe(1);
  });

  it('retries a failed task on another executor with a new attempt, and fails the batch at maxTaskAttempts', () => {
    const s = setup([{ id: 'e1', slots: 1 }, { id: 'e2', slots: 1 }]);
    const run = runWithStages([{ kind: 'result', numPartitions: 1, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    const first = s.gateway.launched[0]!;
    s.report(first, 'FAILED');
    const second = s.gateway.launched[1]!;
    expect(second.spec.taskId).toBe(first.spec.taskId);
    expect(second.spec.attempt).toBe(first.spec.attempt! + 1);
    expect(second.executor.id).not.toBe(first.executor.id);
    s.report(second, 'FAILED');
    expect(s.listener.failed).toEqual([]);
    s.report(s.gateway.launched[2]!, 'FAILED');
    expect(s.listener.failed).toEqual([`task ${first.spec.taskId} (stage 0, partition 0) failed 3 times; last error: boom`]);
    expect(run.taskFailures).toBe(3);
    expect([free(s, 'e1'), free(s, 'e2')]).toEqual([1, 1]);
  });

  it('reruns the tasks of a lost executor elsewhere without counting them as failures', () => {
    const s = setup([{ id: 'e1', slots: 1 }, { id: 'e2', slots: 1 }]);
    const run = runWithStages([{ kind: 'result', numPartitions: 1, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => ['e1']);
    s.tsm.schedule();
    const first = s.gateway.launched[0]!;
    expect(first.executor.id).toBe('e1');
    const lost = s.executors.markLost(s.executors.get('e1')!, 'test')!;
    s.tsm.onExecutorLost(lost.executor, 'test');
    s.tsm.schedule();
    const second = s.gateway.launched[1]!;
    expect(second.executor.id).toBe('e2');
    // The late result of the lost incarnation is ignored.
    s.report(first, 'SUCCEEDED');
    expect(s.listener.succeeded).toEqual([]);
    s.report(second, 'SUCCEEDED');
    expect(s.listener.succeeded.map((t) => t.failures)).toEqual([0]);
    // A restarted e1 (new epoch) gets its full slots back.
    heartbeat(s.executors, s.clock, { id: 'e1', slots: 1, epoch: 2 });
    expect(free(s, 'e1')).toBe(1);
  });

  it('speculates a straggler on another executor; the first success wins and the other attempt is killed', () => {
    const s = setup([{ id: 'e1', slots: 2 }, { id: 'e2', slots: 2 }], { config: { speculationMinRuntime: '100ms' } });
    const run = runWithStages([{ kind: 'result', numPartitions: 2, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, (p) => (p === 0 ? ['e1'] : ['e2']));
    s.tsm.schedule();
    const [slow, fast] = [s.gateway.launched.find((l) => l.executor.id === 'e1')!, s.gateway.launched.find((l) => l.executor.id === 'e2')!];
    s.clock.advance(10);
    s.report(fast, 'SUCCEEDED');
    s.tsm.speculate();
    expect(s.gateway.launched).toHaveLength(2); // not long enough yet (100 ms minimum)
    s.clock.advance(200);
    s.tsm.speculate();
    expect(s.gateway.launched).toHaveLength(3);
    const copy = s.gateway.launched[2]!;
    expect(copy.spec).toMatchObject({ taskId: slow.spec.taskId, speculative: true });
    expect(copy.executor.id).toBe('e2');
    s.tsm.speculate();
    expect(s.gateway.launched).toHaveLength(3); // one copy per task
    s.report(copy, 'SUCCEEDED');
    expect(s.gateway.killed).toEqual([{ executorId: 'e1', taskId: slow.spec.taskId, attempt: slow.spec.attempt }]);
    s.report(slow, 'SUCCEEDED'); // too late: ignored
    expect(s.listener.succeeded.map((t) => t.partition).sort()).toEqual([0, 1]);
    expect(run.speculativeTasks).toBe(1);
    expect([free(s, 'e1'), free(s, 'e2')]).toEqual([2, 2]);
  });

  it('gives the slot back when a TaskSpec cannot be built, and fails the batch if it never can', () => {
    let throws = true;
    const s = setup([{ id: 'e1', slots: 1 }], {
      buildSpec: (t) => {
        if (throws) throw new Error('no input block for node 0 partition 0');
        return specOf(t);
      },
    });
    const run = runWithStages([{ kind: 'result', numPartitions: 1, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    expect(s.gateway.launched).toEqual([]);
    expect(free(s, 'e1')).toBe(1);
    expect(s.tsm.pendingCounts().pending).toBe(1);
    // Once the spec can be built, the retry launches on the freed slot.
    throws = false;
    s.tsm.schedule();
    expect(s.gateway.launched).toHaveLength(1);
    expect(s.gateway.launched[0]!.spec.attempt).toBe(2);
    s.report(s.gateway.launched[0]!, 'SUCCEEDED');
    expect(free(s, 'e1')).toBe(1);

    // Never buildable: the batch fails at maxTaskAttempts with the reason, and no slot stays taken.
    throws = true;
    const run2 = runWithStages([{ kind: 'result', numPartitions: 1, parentStages: [] }], 2000);
    s.tsm.submit(run2, run2.stages[0]!, () => []);
    for (let i = 0; i < 3; i++) s.tsm.schedule();
    expect(s.listener.failed).toEqual([
      `task job-1/2000/0/0 (stage 0, partition 0) failed 3 times; last error: cannot build the task: no input block for node 0 partition 0`,
    ]);
    expect(free(s, 'e1')).toBe(1);
  });

  it('holds a reduce task back while its map side is incomplete', () => {
    const s = setup([{ id: 'e1', slots: 2 }]);
    const run = runWithStages([
      { kind: 'shuffleMap', numPartitions: 1, parentStages: [] },
      { kind: 'result', numPartitions: 1, parentStages: [0] },
    ]);
    s.tsm.submit(run, run.stages[1]!, () => []);
    s.tsm.schedule();
    expect(s.gateway.launched).toEqual([]);
    run.stages[0]!.done.add(0);
    s.tsm.schedule();
    expect(s.gateway.launched).toHaveLength(1);
  });

  it('abandoning a batch kills its running attempts and frees their slots', () => {
    const s = setup([{ id: 'e1', slots: 1 }]);
    const run = runWithStages([{ kind: 'result', numPartitions: 2, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    run.moveTo('FAILED', log);
    s.tsm.abandonRun(run);
    expect(s.gateway.killed.map((k) => k.taskId)).toEqual([s.gateway.launched[0]!.spec.taskId]);
    expect(free(s, 'e1')).toBe(1);
    expect(s.tsm.pendingCounts().pending).toBe(0);
  });

  it('fills each executor up to slots × taskQueueDepth, so the next task is already there when a slot frees up', () => {
    const s = setup([
      { id: 'e1', slots: 1, queueDepth: 3 },
      { id: 'e2', slots: 1, queueDepth: 3 },
    ]);
    const run = runWithStages([{ kind: 'result', numPartitions: 8, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    // 2 executors × 1 slot × depth 3: six tasks out, three on each, two queued here.
    const on = (id: string) => s.gateway.launched.filter((l) => l.executor.id === id).length;
    expect([on('e1'), on('e2')]).toEqual([3, 3]);
    expect(s.tsm.pendingCounts().pending).toBe(2);
    expect(s.executors.queueRoom(s.executors.get('e1')!)).toBe(0);
    // One result frees one place: exactly one more task goes out, to that executor.
    s.report(s.gateway.launched[0]!, 'SUCCEEDED');
    expect(s.gateway.launched).toHaveLength(7);
    expect(s.gateway.launched[6]!.executor.id).toBe(s.gateway.launched[0]!.executor.id);
    // A round with no room anywhere launches nothing and keeps the queue in order.
    s.tsm.schedule();
    expect(s.gateway.launched).toHaveLength(7);
    for (let i = 1; i < s.gateway.launched.length; i++) s.report(s.gateway.launched[i]!, 'SUCCEEDED');
    s.report(s.gateway.launched[7]!, 'SUCCEEDED');
    expect(s.listener.succeeded.map((t) => t.partition).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(s.executors.queueRoom(s.executors.get('e1')!)).toBe(3);
  });

  it('places a task an executor refused as queue_full again without counting an attempt, after a short backoff', () => {
    const s = setup([{ id: 'e1', slots: 1 }, { id: 'e2', slots: 1 }], { config: { maxTaskAttempts: '1' } });
    const run = runWithStages([{ kind: 'result', numPartitions: 2, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    const refused = s.gateway.launched[0]!;
    s.report(refused, 'FAILED', { queueFull: true, error: 'executor holds 1 tasks' });
    // With maxTaskAttempts 1 a counted failure would have failed the batch.
    expect(s.listener.failed).toEqual([]);
    // Its own count is ahead of the scheduler's (planned tasks not adopted yet): sent again at once, it
    // would be refused again, as fast as the round trip. Nothing goes to it for REFUSED_BACKOFF_MS.
    expect(s.executors.queueRoom(s.executors.get(refused.executor.id)!)).toBe(0);
    s.tsm.schedule();
    expect(s.gateway.launched).toHaveLength(2);
    s.clock.advance(REFUSED_BACKOFF_MS - 1);
    expect(s.gateway.launched).toHaveLength(2);
    // The backoff's own timer places it again.
    s.clock.advance(1);
    const again = s.gateway.launched[2]!;
    expect(again.spec.taskId).toBe(refused.spec.taskId);
    expect(again.spec.attempt).toBeGreaterThan(refused.spec.attempt!);
    // Not excluded from the executor that was merely full.
    expect(again.executor.id).toBe(refused.executor.id);
  });

  it('an executor that refused a task as full takes work again after a result of another of its tasks', () => {
    const s = setup([{ id: 'e1', slots: 2 }], { config: { maxTaskAttempts: '1' } });
    const run = runWithStages([{ kind: 'result', numPartitions: 2, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    const [refused, other] = s.gateway.launched;
    s.report(refused!, 'FAILED', { queueFull: true, error: 'executor holds 2 tasks' });
    expect(s.gateway.launched).toHaveLength(2);
    // A task that left: there is room now.
    s.report(other!, 'SUCCEEDED');
    expect(s.gateway.launched).toHaveLength(3);
    expect(s.gateway.launched[2]!.spec.taskId).toBe(refused!.spec.taskId);
    s.report(s.gateway.launched[2]!, 'SUCCEEDED');
    expect(s.listener.succeeded.map((t) => t.partition).sort()).toEqual([0, 1]);
  });

  it('shares places fairly between jobs: a place that frees up goes to a job under its share, and none idles while any job has work', () => {
    const s = setup([{ id: 'e1', slots: 1 }, { id: 'e2', slots: 1 }]);
    const hog = runWithStages([{ kind: 'result', numPartitions: 6, parentStages: [] }], 1000, 'job-hog');
    const other = runWithStages([{ kind: 'result', numPartitions: 2, parentStages: [] }], 2000, 'job-other');
    s.tsm.submit(hog, hog.stages[0]!, () => []);
    s.tsm.schedule();
    // Alone, the first job takes every place.
    expect(s.gateway.launched.map((l) => l.spec.taskId!.split('/')[0])).toEqual(['job-hog', 'job-hog']);
    s.tsm.submit(other, other.stages[0]!, () => []);
    s.tsm.schedule();
    expect(s.gateway.launched).toHaveLength(2);
    expect(s.tsm.jobLoad('job-hog')).toEqual({ running: 2, queued: 4 });
    // Two places, two jobs with queued tasks: a share of 1 each. The hog holds 2, so the place its task
    // leaves goes to the other job, although the hog's tasks were queued first.
    s.report(s.gateway.launched[0]!, 'SUCCEEDED');
    expect(s.gateway.launched[2]!.spec.taskId!.split('/')[0]).toBe('job-other');
    // The hog's last running task ends: it is under its share (0 of 1) and queued first, so the place is its.
    s.report(s.gateway.launched[1]!, 'SUCCEEDED');
    expect(s.gateway.launched[3]!.spec.taskId!.split('/')[0]).toBe('job-hog');
    // The other job's ends: the hog is at its share, so the other job's second task goes ahead of the hog's.
    s.report(s.gateway.launched[2]!, 'SUCCEEDED');
    expect(s.gateway.launched[4]!.spec.taskId!.split('/')[0]).toBe('job-other');
    // The other job has nothing queued any more: the hog may take every place that frees up.
    s.report(s.gateway.launched[3]!, 'SUCCEEDED');
    expect(s.gateway.launched[5]!.spec.taskId!.split('/')[0]).toBe('job-hog');
    expect(s.tsm.jobLoad('job-other')).toEqual({ running: 1, queued: 0 });
    for (let i = 4; i < s.gateway.launched.length; i++) s.report(s.gateway.launched[i]!, 'SUCCEEDED');
    expect(s.gateway.launched).toHaveLength(8);
    expect(s.tsm.jobLoad('job-hog')).toEqual({ running: 0, queued: 0 });
    expect(s.tsm.jobLoad('job-other')).toEqual({ running: 0, queued: 0 });
  });

  it('a job over its share still gets the places no other job has tasks for (work-conserving)', () => {
    const s = setup([{ id: 'e1', slots: 4 }]);
    const big = runWithStages([{ kind: 'result', numPartitions: 5, parentStages: [] }], 1000, 'job-big');
    const small = runWithStages([{ kind: 'result', numPartitions: 1, parentStages: [] }], 1000, 'job-small');
    s.tsm.submit(big, big.stages[0]!, () => []);
    s.tsm.submit(small, small.stages[0]!, () => []);
    s.tsm.schedule();
    // Four places, two jobs with queued tasks: a share of 2 each; the small job has one task, so the big one
    // gets its two, the small one its one, and the fourth place too.
    const jobs = s.gateway.launched.map((l) => l.spec.taskId!.split('/')[0]);
    expect(jobs.filter((j) => j === 'job-small')).toHaveLength(1);
    expect(jobs.filter((j) => j === 'job-big')).toHaveLength(3);
    expect(s.tsm.jobLoad('job-big')).toEqual({ running: 3, queued: 2 });
  });

  it('a task cancelled while queued is never launched, and its partition can be queued again', () => {
    const s = setup([{ id: 'e1', slots: 1 }]);
    const run = runWithStages([
      { kind: 'result', numPartitions: 3, parentStages: [] },
    ]);
    const stage = run.stages[0]!;
    s.tsm.submit(run, stage, () => []);
    s.tsm.schedule();
    expect(s.gateway.launched).toHaveLength(1);
    s.tsm.withdrawPending(stage);
    expect(s.tsm.pendingCounts().pending).toBe(0);
    expect(stage.inFlight.size).toBe(1);
    s.tsm.submit(run, stage, () => []);
    expect(s.tsm.pendingCounts().pending).toBe(2);
    s.report(s.gateway.launched[0]!, 'SUCCEEDED');
    s.report(s.gateway.launched[1]!, 'SUCCEEDED');
    s.report(s.gateway.launched[2]!, 'SUCCEEDED');
    // Three launches in all: the withdrawn queued attempts never went out.
    expect(s.gateway.launched).toHaveLength(3);
    expect(new Set(s.gateway.launched.map((l) => l.spec.taskId)).size).toBe(3);
    expect(s.listener.succeeded.map((t) => t.partition)).toEqual([0, 1, 2]);
  });

  it('places a reducer where its shuffle input was pushed when that executor has room, holds it back while another reducer fits the free room, and never waits for it', () => {
    const s = setup([{ id: 'e1', slots: 1 }, { id: 'e2', slots: 1 }]);
    const run = runWithStages([{ kind: 'result', numPartitions: 4, parentStages: [] }]);
    // Reducer plan e1, e2, e1, e2 (as batch-dag plans it for 2 executors of one slot).
    s.tsm.submit(run, run.stages[0]!, () => [], (p) => (p % 2 === 0 ? 'e1' : 'e2'));
    s.tsm.schedule();
    // "partition@executor" of every launch so far (the task id ends in the partition).
    const on = () => s.gateway.launched.map((l) => `${l.spec.taskId!.split('/').pop()}@${l.executor.id}`);
    expect(on()).toEqual(['0@e1', '1@e2']);
    // e2 frees up: partition 2 (pushed to the busy e1) is held back, partition 3 (pushed to e2) goes.
    s.report(s.gateway.launched[1]!, 'SUCCEEDED');
    expect(on()).toEqual(['0@e1', '1@e2', '3@e2']);
    expect(s.tsm.pendingCounts().pending).toBe(1);
    // e2 frees up again and e1 is still busy (a straggler): partition 2 is not left waiting for it.
    s.report(s.gateway.launched[2]!, 'SUCCEEDED');
    expect(on()).toEqual(['0@e1', '1@e2', '3@e2', '2@e2']);
  });

  it("steals: an idle executor gets tasks back from a busy one's queue — only ones not started, uncounted, never twice", () => {
    const s = setup([
      { id: 'e1', slots: 1, queueDepth: 3 },
      { id: 'e2', slots: 1, queueDepth: 3 },
    ], { config: { maxTaskAttempts: '1' } });
    const run = runWithStages([{ kind: 'result', numPartitions: 6, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    const onE1 = s.gateway.launched.filter((l) => l.executor.id === 'e1');
    const onE2 = s.gateway.launched.filter((l) => l.executor.id === 'e2');
    expect([onE1.length, onE2.length]).toEqual([3, 3]);
    // e1 runs a long task; e2 finishes its three: it has an idle slot, e1 two queued tasks.
    s.clock.advance(5);
    for (const l of onE2) s.report(l, 'SUCCEEDED');
    // Not yet: e1's queued tasks have waited 5 ms, less than localityWait (30 ms; the stage's tasks took 5 ms each,
    // so its queue would reach them in a moment).
    expect(s.gateway.killed).toEqual([]);
    s.clock.advance(24);
    expect(s.gateway.killed).toEqual([]);
    s.clock.advance(1);
    // Now, with no other event (the timer wakes the round): one idle slot, one task asked back, the one e1 was
    // given last, only if not started.
    expect(s.gateway.killed).toEqual([{ executorId: 'e1', taskId: onE1[2]!.spec.taskId, attempt: onE1[2]!.spec.attempt, onlyIfQueued: true }]);
    // Another round changes nothing: that task is already asked for.
    s.tsm.schedule();
    expect(s.gateway.killed).toHaveLength(1);
    // e1 gives it back (KILLED): it runs on e2, and nothing counts as a failure (maxTaskAttempts is 1).
    s.report(onE1[2]!, 'KILLED');
    const again = s.gateway.launched.at(-1)!;
    expect(again.spec.taskId).toBe(onE1[2]!.spec.taskId);
    expect(again.executor.id).toBe('e2');
    expect(run.stolenTasks).toBe(1);
    expect(run.taskFailures).toBe(0);
    expect(s.listener.failed).toEqual([]);
    // A steal request for a task that had started already: its success counts as usual.
    s.report(again, 'SUCCEEDED');
    expect(s.gateway.killed.at(-1)).toMatchObject({ executorId: 'e1', taskId: onE1[1]!.spec.taskId, onlyIfQueued: true });
    s.report(onE1[1]!, 'SUCCEEDED');
    s.report(onE1[0]!, 'SUCCEEDED');
    expect(s.listener.succeeded.map((t) => t.partition).sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("asks no task back for a slow executor's idle slots: it may not take them, and a task stolen from every fast executor would wait for it", () => {
    const s = setup([
      { id: 'e1', slots: 1, queueDepth: 3 },
      { id: 'e2', slots: 1, queueDepth: 3 },
      { id: 'idle', slots: 2, queueDepth: 3 },
    ]);
    // 'idle' is flagged slow (its recorded tasks were 10× slower) and has nothing to do.
    for (let i = 0; i < 5; i++) for (const [id, ms] of [['e1', 10], ['e2', 10], ['idle', 100]] as const) s.executors.recordTaskTime(s.executors.get(id)!, ms);
    expect([...s.executors.slowExecutors(3)]).toEqual(['idle']);
    const run = runWithStages([{ kind: 'result', numPartitions: 5, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    // e1 and e2 take them all (slot + queue; one of them has room for one more), the slow one none.
    const on = s.gateway.launched.map((l) => l.executor.id).sort();
    expect(on.filter((id) => id === 'idle')).toEqual([]);
    expect(on).toHaveLength(5);
    // Long past the steal wait, rounds with room left: the tasks queued on e1 and e2 stay where they are.
    s.clock.advance(1000);
    s.tsm.schedule();
    expect(s.gateway.killed).toEqual([]);
  });

  it('flags an executor whose tasks are consistently slow and gives it no queued work; the others get the queue', () => {
    const s = setup([
      { id: 'e1', slots: 1, queueDepth: 2 },
      { id: 'e2', slots: 1, queueDepth: 2 },
      { id: 'slow', slots: 1, queueDepth: 2 },
    ]);
    // History: e1 and e2 finish tasks in 10 ms, 'slow' in 100 ms (10×).
    for (let i = 0; i < 5; i++) {
      for (const [id, ms] of [['e1', 10], ['e2', 10], ['slow', 100]] as const) s.executors.recordTaskTime(s.executors.get(id)!, ms);
    }
    expect([...s.executors.slowExecutors(3)]).toEqual(['slow']);
    expect(s.executors.slowExecutors(0).size).toBe(0); // 0 = never
    const run = runWithStages([{ kind: 'result', numPartitions: 8, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    const on = (id: string) => s.gateway.launched.filter((l) => l.executor.id === id).length;
    // e1 and e2 take 2 each (slot + queue); 'slow' nothing: the rest waits for e1 and e2.
    expect([on('e1'), on('e2'), on('slow')]).toEqual([2, 2, 0]);
    expect(s.tsm.pendingCounts().pending).toBe(4);
    // 30 s later its history is dropped: it gets work again, to be measured afresh.
    s.clock.advance(SLOW_RETEST_MS);
    expect(s.executors.slowExecutors(3).size).toBe(0);
    s.tsm.schedule();
    expect(on('slow')).toBe(2);
  });

  it("counts a task's run time from when it took a slot: one launched into the executor's queue starts when the task ahead of it ends", () => {
    const s = setup([{ id: 'e1', slots: 1, queueDepth: 2 }]);
    const run = runWithStages([{ kind: 'result', numPartitions: 2, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    expect(s.gateway.launched).toHaveLength(2);
    s.clock.advance(50);
    s.report(s.gateway.launched[0]!, 'SUCCEEDED');
    s.clock.advance(20);
    s.report(s.gateway.launched[1]!, 'SUCCEEDED');
    const [first, second] = s.listener.succeeded;
    expect(first!.runTimeMs(s.clock.now())).toBe(70);
    // Queued for 50 ms behind the first, then 20 ms in the slot.
    expect(second!.runTimeMs(s.clock.now())).toBe(20);
  });

  it("never speculates a task still waiting in its executor's queue", () => {
    const s = setup([{ id: 'e1', slots: 1, queueDepth: 3 }, { id: 'e2', slots: 1 }], { config: { speculationMinRuntime: '10ms', speculationQuantile: '0.25' } });
    const run = runWithStages([{ kind: 'result', numPartitions: 4, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    const onE2 = s.gateway.launched.find((l) => l.executor.id === 'e2')!;
    s.report(onE2, 'SUCCEEDED'); // e2 takes the fourth task; the stage has a median
    s.clock.advance(1000);
    const before = s.gateway.launched.length;
    s.tsm.speculate();
    const copies = s.gateway.launched.slice(before).filter((l) => l.spec.speculative);
    // Only e1's running task (started at launch) is a straggler; the two queued behind it are not.
    expect(copies.map((l) => l.spec.taskId)).toEqual([s.gateway.launched.find((l) => l.executor.id === 'e1')!.spec.taskId]);
  });

  it('adopts a planned attempt: running on its executor with its slot counted, its time the one its executor measured', () => {
    const s = setup([{ id: 'e1', slots: 1 }, { id: 'e2', slots: 1 }]);
    const run = runWithStages([{ kind: 'result', numPartitions: 2, parentStages: [] }]);
    const stage = run.stages[0]!;
    const attempt = PLANNED_ATTEMPT_BASE + 4;
    s.tsm.adopt(run, stage, 0, attempt, s.executors.get('e1')!, ['e1'], undefined);
    expect(s.gateway.launched).toEqual([]); // nothing sent: its executor started it
    expect(free(s, 'e1')).toBe(0);
    expect(run.plannedTasks).toBe(1);
    expect(s.tsm.isRunning(`job-1/${run.batchTimeMs}/0/0`, attempt)).toBe(true);
    s.clock.advance(500); // the scheduler's clock says nothing about when its executor ran it
    const planned = { spec: { taskId: `job-1/${run.batchTimeMs}/0/0`, attempt }, executor: { id: 'e1', epoch: s.executors.get('e1')!.epoch } } as unknown as Launched;
    s.tsm.onResult(result(planned, 'SUCCEEDED', { metrics: { recordsIn: 1, recordsOut: 1, bytesOut: 1, runMs: 40, fetchMs: 2, queueMs: 0 } }));
    expect(s.listener.succeeded).toHaveLength(1);
    expect(s.listener.succeeded[0]!.runTimeMs(s.clock.now())).toBe(42);
    expect(free(s, 'e1')).toBe(1);

    // One whose result came before its run adopted it (kept by the planner) is done at once.
    const early = { spec: { taskId: `job-1/${run.batchTimeMs}/0/1`, attempt }, executor: { id: 'e2', epoch: s.executors.get('e2')!.epoch } } as unknown as Launched;
    s.tsm.adopt(run, stage, 1, attempt, s.executors.get('e2')!, [], result(early, 'SUCCEEDED'));
    expect(s.listener.succeeded.map((t) => t.partition)).toEqual([0, 1]);
    expect(free(s, 'e2')).toBe(1);
  });

  it("models planned attempts beyond its executor's slots as queued there: only the first ones can straggle, the next starts as one reports", () => {
    const s = setup([{ id: 'e1', slots: 1 }, { id: 'e2', slots: 1 }], { config: { speculationMinRuntime: '10ms', speculationQuantile: '0.25' } });
    const run = runWithStages([{ kind: 'result', numPartitions: 4, parentStages: [] }]);
    const stage = run.stages[0]!;
    const attempt = PLANNED_ATTEMPT_BASE + 1;
    const e1 = s.executors.get('e1')!;
    for (let p = 0; p < 3; p++) s.tsm.adopt(run, stage, p, attempt, e1, ['e1'], undefined);
    s.tsm.adopt(run, stage, 3, attempt, s.executors.get('e2')!, [], undefined);
    const planned = (p: number, on: string) =>
      ({ spec: { taskId: `job-1/${run.batchTimeMs}/0/${p}`, attempt }, executor: { id: on, epoch: s.executors.get(on)!.epoch } }) as unknown as Launched;
    s.tsm.onResult(result(planned(3, 'e2'), 'SUCCEEDED')); // the stage has a median
    s.clock.advance(1000);
    s.tsm.speculate();
    // Partition 0 took e1's one slot at adoption; 1 and 2 wait behind it, as they do on e1.
    const copies = (from: number) => s.gateway.launched.slice(from).filter((l) => l.spec.speculative).map((l) => l.spec.taskId);
    expect(copies(0)).toEqual([`job-1/${run.batchTimeMs}/0/0`]);
    s.tsm.onResult(result(planned(0, 'e1'), 'SUCCEEDED'));
    s.clock.advance(5); // partition 1 took the freed slot: 5 ms is no straggler
    const before = s.gateway.launched.length;
    s.tsm.speculate();
    expect(copies(before)).toEqual([]);
    s.clock.advance(1000); // …but a second is
    s.tsm.speculate();
    expect(copies(before)).toEqual([`job-1/${run.batchTimeMs}/0/1`]);
  });

  it('one long task (a hot key) does not make its executor slow: its median pace decides', () => {
    const s = setup([{ id: 'e1', slots: 1 }, { id: 'e2', slots: 1 }, { id: 'e3', slots: 1 }]);
    for (const id of ['e1', 'e2', 'e3']) for (let i = 0; i < 5; i++) s.executors.recordTaskTime(s.executors.get(id)!, 1);
    s.executors.recordTaskTime(s.executors.get('e3')!, 50);
    expect(s.executors.slowExecutors(3).size).toBe(0);
    // Consistently slow: flagged.
    for (let i = 0; i < 5; i++) s.executors.recordTaskTime(s.executors.get('e3')!, 10);
    expect([...s.executors.slowExecutors(3)]).toEqual(['e3']);
  });

  it('paces a task by its time per input record against its stage: a partition ten times bigger is not slowness; under 5 ms gives no pace', () => {
    const s = setup([{ id: 'e1', slots: 1 }, { id: 'e2', slots: 1 }, { id: 'e3', slots: 1 }]);
    const run = runWithStages([{ kind: 'result', numPartitions: 3, parentStages: [] }]);
    s.tsm.submit(run, run.stages[0]!, () => []);
    s.tsm.schedule();
    const on = (id: string) => s.gateway.launched.filter((l) => l.executor.id === id);
    const metrics = (recordsIn: number) => ({ metrics: { recordsIn, recordsOut: 0, bytesOut: 0, runMs: 0, fetchMs: 0, queueMs: 0 } });
    const paces = (id: string) => s.executors.get(id)!.paces;
    s.clock.advance(10);
    s.report(on('e1')[0]!, 'SUCCEEDED', metrics(100)); // the stage's first: no rate to compare with yet (0.1 ms per record from now)
    expect(paces('e1')).toEqual([]);
    s.clock.advance(90);
    s.report(on('e2')[0]!, 'SUCCEEDED', metrics(1000)); // 100 ms for 10× the records: the stage's rate
    expect(paces('e2')).toEqual([1]);
    s.report(on('e3')[0]!, 'SUCCEEDED', metrics(100)); // 100 ms for the records e1 read in 10: ten times the stage's time per record
    expect(paces('e3')).toEqual([100 / 100 / (110 / 1100)]);
    // Tasks of 4 ms: the launch's own cost, not the executors' speed.
    const short = runWithStages([{ kind: 'result', numPartitions: 3, parentStages: [] }], 2000);
    s.tsm.submit(short, short.stages[0]!, () => []);
    s.tsm.schedule();
    s.clock.advance(4);
    for (const id of ['e1', 'e2', 'e3']) s.report(on(id)[1]!, 'SUCCEEDED', metrics(10));
    expect(s.listener.succeeded).toHaveLength(6);
    expect([paces('e1'), paces('e2'), paces('e3')]).toEqual([[], [1], [10]]);
  });

  it('counts an attempt overtaken by its copy as slower than any finished task: an executor whose tasks all lose to copies is found slow', () => {
    const s = setup([{ id: 'e1', slots: 2 }, { id: 'e2', slots: 2 }, { id: 'slow', slots: 2 }], { config: { speculationMinRuntime: '10ms' } });
    for (let i = 0; i < 5; i++) for (const id of ['e1', 'e2']) s.executors.recordTaskTime(s.executors.get(id)!, 1);
    // Three rounds: an executor is judged once it has three tasks behind it.
    for (let round = 0; round < 3; round++) {
      expect(s.executors.slowExecutors(3).size).toBe(0);
      const run = runWithStages([{ kind: 'result', numPartitions: 3, parentStages: [] }], 1000 * (round + 1));
      s.tsm.submit(run, run.stages[0]!, (p) => [['e1', 'e2', 'slow'][p]!]);
      s.tsm.schedule();
      const mine = s.gateway.launched.filter((l) => l.spec.taskId!.startsWith(`${run.job.id}/${run.batchTimeMs}/`));
      const original = mine.find((l) => l.executor.id === 'slow')!;
      s.clock.advance(20);
      for (const l of mine) if (l !== original) s.report(l, 'SUCCEEDED');
      s.clock.advance(40);
      s.tsm.speculate();
      const copy = s.gateway.launched.at(-1)!;
      expect(copy.spec).toMatchObject({ taskId: original.spec.taskId, speculative: true });
      s.clock.advance(20);
      s.report(copy, 'SUCCEEDED'); // the copy, started later, wins: 'slow' lost the race
      expect(s.gateway.killed.at(-1)).toMatchObject({ executorId: 'slow', taskId: original.spec.taskId });
      s.report(original, 'KILLED');
    }
    expect(s.executors.get('slow')!.paces).toEqual([Infinity, Infinity, Infinity]);
    expect([...s.executors.slowExecutors(3)]).toEqual(['slow']);
  });

  it('keeps a slow executor flagged while the others drift, down to half the ratio; judges nothing against others mostly overtaken', () => {
    const s = setup([{ id: 'e1', slots: 1 }, { id: 'e2', slots: 1 }, { id: 'e3', slots: 1 }]);
    const record = (id: string, pace: number, times = 9) => {
      for (let i = 0; i < times; i++) s.executors.recordTaskTime(s.executors.get(id)!, pace);
    };
    record('e1', 1);
    record('e2', 1);
    record('e3', 4);
    expect([...s.executors.slowExecutors(3)]).toEqual(['e3']);
    expect(s.executors.slowFlagChanges).toBe(1);
    // The others' median moves up to 1.5: 4 is under 3 × 1.5 now, but over half of it — still slow.
    record('e1', 1.5);
    record('e2', 1.5);
    expect([...s.executors.slowExecutors(3)]).toEqual(['e3']);
    expect(s.executors.slowFlagChanges).toBe(1);
    // Up to 3: under 1.5 × 3, released.
    record('e1', 3);
    record('e2', 3);
    expect(s.executors.slowExecutors(3).size).toBe(0);
    expect(s.executors.slowFlagChanges).toBe(2);
    // Others whose recent tasks were overtaken by copies (infinite paces) are no yardstick.
    record('e1', Infinity);
    record('e2', Infinity);
    record('e3', 50);
    expect(s.executors.slowExecutors(3).size).toBe(0);
  });
});
