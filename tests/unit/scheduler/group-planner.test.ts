/**
 * group-planner.ts on its own: a manual clock, a real executor tracker fed
 * heartbeats (fixtures.ts), and a gateway recording every plan and
 * revocation sent. Jobs are loaded from source as the scheduler loads them.
 * Batch interval 1s; executors e1 (2 slots), e2 and e3 (1 slot each).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock.js';
import { loadJob } from '../../../lib/dstream/loader.js';
import type { GroupPlan } from '../../../lib/proto/gen/rivulet/v1/GroupPlan.js';
import type { PlanRevocation } from '../../../lib/proto/gen/rivulet/v1/PlanRevocation.js';
import type { TaskResult__Output } from '../../../lib/proto/gen/rivulet/v1/TaskResult.js';
import { PER_BLOCK, PLANNED_ATTEMPT_BASE } from '../../../lib/scheduling/group-plan.js';
import { schedulerConfigSchema } from '../../../services/scheduler/config.js';
import type { BundleRef, ExecutorEndpoint } from '../../../services/scheduler/executor-gateway.js';
import { GroupPlanner } from '../../../services/scheduler/group-planner.js';
import type { Job } from '../../../services/scheduler/job-registry.js';
import { log, tracker, type FakeExecutor } from './fixtures.js';

const I = 1_000;

interface Sent {
  executorId: string;
  epoch: number;
  job: BundleRef | undefined;
  plans: GroupPlan[];
  revocations: PlanRevocation[];
}

class RecordingPlanGateway {
  readonly sent: Sent[] = [];
  sendPlans(e: ExecutorEndpoint, job: BundleRef | undefined, plans: GroupPlan[], revocations: PlanRevocation[]): void {
    this.sent.push({ executorId: e.id, epoch: e.epoch, job, plans, revocations });
  }
  take(): Sent[] {
    return this.sent.splice(0);
  }
}

function jobOf(id: string, body: string): Job {
  const code = `const { defineJob } = require('rivulet');\nmodule.exports.default = defineJob((ctx) => {\n${body}\n});\n`;
  const loaded = loadJob(code, `${id}.js`);
  return {
    id,
    name: id,
    source: `${id}.js`,
    bundle: code,
    bundleHash: loaded.bundleHash,
    graph: loaded.graph,
    state: 'RUNNING',
    submittedAtMs: 0,
    firstBatchTimeMs: 0,
    nextBatchTimeMs: 0,
    zeroTimeMs: 0,
    batchesCompleted: 0,
    recordsProcessed: 0,
  } as Job;
}

const wordcount = () =>
  jobOf('wc', `ctx.receiverStream('lines').flatMap((l) => l.split(' ')).map((w) => [w, 1]).reduceByKey((a, b) => a + b).output('counts');`);

const EXECUTORS: FakeExecutor[] = [
  { id: 'e2', slots: 1, epoch: 22 },
  { id: 'e1', slots: 2, epoch: 11 },
  { id: 'e3', slots: 1, epoch: 33 },
];

function setup(config: Record<string, string> = {}, executors: FakeExecutor[] = EXECUTORS) {
  const clock = new ManualClock(5_000);
  const cfg = schedulerConfigSchema.parse({ batchInterval: '1s', batchReadyTimeout: '400ms', maxGroupSize: '8', ...config });
  const tracked = tracker(clock, executors);
  const gateway = new RecordingPlanGateway();
  const waiting = { batches: 0 };
  const planner = new GroupPlanner({
    config: cfg,
    clock,
    executors: tracked,
    gateway,
    shuffleIdSuffix: 'inc1',
    receiverAddress: 'receiver:7070',
    waitingBatches: () => waiting.batches,
    limits: { timeoutMs: 30_000, maxResultBytes: 1 << 20, maxMessageBytes: 1 << 16, inputWaitTimeoutMs: 2_500 },
    log,
  });
  return { clock, config: cfg, executors: tracked, gateway, planner, waiting };
}

/** The plans sent by the last refresh: one GroupPlan per executor. */
function plansOf(sent: Sent[]): Array<{ executorId: string; plan: GroupPlan }> {
  return sent.map((s) => {
    expect(s.plans).toHaveLength(1);
    expect(s.revocations).toEqual([]);
    return { executorId: s.executorId, plan: s.plans[0]! };
  });
}

/** See batch `t` announced and refresh; returns the [first, last] of the plan sent (undefined: none). */
function seeAndRefresh(s: ReturnType<typeof setup>, job: Job, t: number): [number, number] | undefined {
  s.planner.batchSeen('lines', t);
  s.planner.refresh([job]);
  const sent = s.gateway.take();
  if (sent.length === 0) return undefined;
  const p = sent[0]!.plans[0]!;
  return [Number(p.firstBatchMs), Number(p.lastBatchMs)];
}

const A = PLANNED_ATTEMPT_BASE + 1;

function result(taskId: string, attempt = A, executorId = 'e1'): TaskResult__Output {
  return { taskId, attempt, executorId, epoch: 11, state: 'SUCCEEDED' } as TaskResult__Output;
}

describe('GroupPlanner', () => {
  it('sends nothing before any batch of the stream was seen', () => {
    const s = setup();
    s.planner.refresh([wordcount()]);
    expect(s.gateway.sent).toEqual([]);
    expect(s.planner.plansSent).toBe(0);
  });

  it('after a batch is seen, sends every alive member one plan starting two batches ahead, covering groupSize batches', () => {
    const s = setup();
    const job = wordcount();
    s.planner.batchSeen('lines', 10_000);
    s.planner.refresh([job]);
    const sent = plansOf(s.gateway.take());
    expect(sent.map((x) => x.executorId)).toEqual(['e1', 'e2', 'e3']);
    expect(s.planner.plansSent).toBe(3);

    const epochs: Record<string, number> = { e1: 11, e2: 22, e3: 33 };
    const planIds = new Set(sent.map((x) => x.plan.planId));
    expect(planIds.size).toBe(1);
    for (const { executorId, plan } of sent) {
      expect(plan).toMatchObject({
        jobId: 'wc',
        bundleHash: job.bundleHash,
        epoch: epochs[executorId],
        stream: 'lines',
        firstBatchMs: 12_000,
        lastBatchMs: 13_000, // auto starts at 2
        batchIntervalMs: I,
        receiverAddress: 'receiver:7070',
        batchReadyTimeoutMs: 400,
        inputWaitTimeoutMs: 2_500,
        // Its own suffix per plan: a revoked plan's buckets never mix with the batch run without it.
        shuffleIdSuffix: 'inc1g1',
        timeoutMs: 30_000,
      });
      expect(plan.members).toEqual([
        { executorId: 'e1', address: 'e1:1', epoch: 11 },
        { executorId: 'e2', address: 'e2:1', epoch: 22 },
        { executorId: 'e3', address: 'e3:1', epoch: 33 },
      ]);
      // One entry per slot, interleaved by slot: e1 has two.
      expect(plan.reducers).toEqual(['e1', 'e2', 'e3', 'e1']);
      // The word-count template at the default parallelism: total slots (4) × partitionsPerSlot (2).
      expect(plan.stages).toHaveLength(2);
      expect(plan.stages![0]).toMatchObject({ stageId: 0, input: 'sourceNode', numPartitions: PER_BLOCK, sink: 'writeShuffleNode', writePartitions: 8 });
      expect(plan.stages![1]).toMatchObject({ stageId: 1, input: 'shuffleNode', numPartitions: 8, mapPartitions: PER_BLOCK, sink: 'resultOutput', resultOutput: 'counts' });
    }
  });

  it('sends the job\'s bundle with each plan', () => {
    const s = setup();
    const job = wordcount();
    s.planner.batchSeen('lines', 10_000);
    s.planner.refresh([job]);
    for (const x of s.gateway.take()) expect(x.job).toEqual({ jobId: 'wc', bundle: job.bundle, bundleHash: job.bundleHash });
  });

  it('sends nothing more while the coming batches are covered, and the next group right after the last', () => {
    const s = setup();
    const job = wordcount();
    expect(seeAndRefresh(s, job, 10_000)).toEqual([12_000, 13_000]);
    s.planner.refresh([job]);
    expect(s.gateway.sent).toEqual([]);
    expect(seeAndRefresh(s, job, 11_000)).toBeUndefined();
    // Covered up to 13s only: with 12s seen, 14s is planned now (two batches ahead).
    expect(seeAndRefresh(s, job, 12_000)).toEqual([14_000, 15_000]);
    expect(s.planner.plansSent).toBe(6);
  });

  it('plans a job with a defaultParallelism at that parallelism', () => {
    const s = setup({ defaultParallelism: '6' });
    s.planner.batchSeen('lines', 10_000);
    s.planner.refresh([wordcount()]);
    const plan = plansOf(s.gateway.take())[0]!.plan;
    expect(plan.stages![1]!.numPartitions).toBe(6);
    expect(plan.stages![0]!.writePartitions).toBe(6);
  });

  it('leaves out slow executors while a faster one is alive', () => {
    const s = setup();
    for (const id of ['e1', 'e2', 'e3']) {
      const e = s.executors.get(id)!;
      for (let i = 0; i < 5; i++) s.executors.recordTaskTime(e, id === 'e2' ? 10 : 1);
    }
    s.planner.batchSeen('lines', 10_000);
    s.planner.refresh([wordcount()]);
    const sent = plansOf(s.gateway.take());
    expect(sent.map((x) => x.executorId)).toEqual(['e1', 'e3']);
    expect(sent[0]!.plan.reducers).toEqual(['e1', 'e3', 'e1']);
  });

  it('revokes and plans again as soon as results turn an executor slow, not at the next batch', () => {
    const s = setup();
    const job = wordcount();
    expect(seeAndRefresh(s, job, 10_000)).toEqual([12_000, 13_000]);
    s.planner.slowFlagsSeen([job]);
    expect(s.gateway.take()).toEqual([]); // no flag changed: nothing sent
    for (const id of ['e1', 'e2', 'e3']) {
      const e = s.executors.get(id)!;
      for (let i = 0; i < 5; i++) s.executors.recordTaskTime(e, id === 'e2' ? 10 : 1);
    }
    s.executors.slowExecutors(3); // the scheduling round after the results judges
    s.planner.slowFlagsSeen([job]);
    const sent = s.gateway.take();
    // Batches after 10 000 revoked at every member, then a plan without e2 from 12 000.
    expect(sent.filter((x) => x.revocations.length > 0).map((x) => [x.executorId, Number(x.revocations[0]!.afterBatchMs)])).toEqual([
      ['e1', 10_000],
      ['e2', 10_000],
      ['e3', 10_000],
    ]);
    expect(sent.filter((x) => x.plans.length > 0).map((x) => [x.executorId, Number(x.plans[0]!.firstBatchMs)])).toEqual([
      ['e1', 12_000],
      ['e3', 12_000],
    ]);
  });

  it('plans no job that is restoring or not running', () => {
    const s = setup();
    s.planner.batchSeen('lines', 10_000);
    s.planner.refresh([{ ...wordcount(), restoring: true }, { ...wordcount(), id: 'stopped', state: 'STOPPED' } as Job]);
    expect(s.gateway.sent).toEqual([]);
  });

  it('on a placement change, revokes the batches after the latest seen at every live member, and plans afresh', () => {
    const s = setup();
    const job = wordcount();
    seeAndRefresh(s, job, 10_000);
    const planId = String(s.planner.planOf('wc', 12_000)!.id);

    s.executors.markLost(s.executors.get('e3')!, 'test');
    s.planner.placementChanged('executor e3 lost');
    const revoked = s.gateway.take();
    expect(revoked).toEqual([
      { executorId: 'e1', epoch: 11, job: undefined, plans: [], revocations: [{ planId, afterBatchMs: 10_000 }] },
      { executorId: 'e2', epoch: 22, job: undefined, plans: [], revocations: [{ planId, afterBatchMs: 10_000 }] },
    ]);
    expect(s.planner.planOf('wc', 12_000)).toBeUndefined();
    expect(s.planner.planOf('wc', 13_000)).toBeUndefined();

    // Revoking again revokes nothing more.
    s.planner.placementChanged('again');
    expect(s.gateway.sent).toEqual([]);

    s.planner.refresh([job]);
    const replanned = plansOf(s.gateway.take());
    expect(replanned.map((x) => x.executorId)).toEqual(['e1', 'e2']);
    expect(replanned[0]!.plan).toMatchObject({ firstBatchMs: 12_000, lastBatchMs: 13_000, reducers: ['e1', 'e2', 'e1'] });
    expect(replanned[0]!.plan.planId).not.toBe(planId);
    expect(s.planner.planOf('wc', 12_000)?.id).toBe(replanned[0]!.plan.planId);
  });

  it('stops planning a job that is falling behind, revoking what is not announced, and plans again once caught up', () => {
    const s = setup();
    const job = wordcount();
    expect(seeAndRefresh(s, job, 10_000)).toEqual([12_000, 13_000]);
    const planId = String(s.planner.planOf('wc', 12_000)!.id);
    s.waiting.batches = 2; // two announced batches wait behind the running one
    s.planner.batchSeen('lines', 11_000);
    s.planner.refresh([job]);
    const sent = s.gateway.take();
    expect(sent.every((x) => x.plans.length === 0)).toBe(true);
    expect(sent.flatMap((x) => x.revocations)).toEqual([
      { planId, afterBatchMs: 11_000 },
      { planId, afterBatchMs: 11_000 },
      { planId, afterBatchMs: 11_000 },
    ]);
    expect(s.planner.planOf('wc', 12_000)).toBeUndefined();
    expect(seeAndRefresh(s, job, 12_000)).toBeUndefined(); // still behind: nothing planned
    s.waiting.batches = 1;
    expect(seeAndRefresh(s, job, 13_000)).toEqual([15_000, 16_000]);
  });

  it('keeps an announced batch planned: planOf respects revokedAfterMs', () => {
    const s = setup();
    const job = wordcount();
    seeAndRefresh(s, job, 10_000);
    const plan = s.planner.planOf('wc', 12_000)!;
    s.planner.batchSeen('lines', 12_000);
    s.planner.placementChanged('executor e4 added');
    expect(plan.revokedAfterMs).toBe(12_000);
    expect(s.gateway.take().map((x) => x.revocations)).toEqual([1, 2, 3].map(() => [{ planId: plan.id, afterBatchMs: 12_000 }]));
    expect(s.planner.planOf('wc', 12_000)).toBe(plan);
    expect(s.planner.planOf('wc', 13_000)).toBeUndefined();
    expect(s.planner.planOf('wc', 11_000)).toBeUndefined();

    // A plan entirely announced is not revoked.
    s.planner.batchSeen('lines', 13_000);
    s.planner.placementChanged('again');
    expect(s.gateway.sent).toEqual([]);
  });

  it('grows an auto group size by doubling after clean groups, up to maxGroupSize, and halves it after failures, down to 2', () => {
    const s = setup();
    const job = wordcount();
    const sizes: number[] = [];
    let latest = 10_000;
    /** Plan the next group and finish its batches, `failing` the one at that index. */
    const group = (failing?: number) => {
      const range = seeAndRefresh(s, job, latest)!;
      sizes.push((range[1] - range[0]) / I + 1);
      for (let t = range[0], i = 0; t <= range[1]; t += I, i++) {
        s.planner.batchSeen('lines', t);
        s.planner.batchFinished('wc', t, i === failing ? 1 : 0);
      }
      latest = range[1];
    };
    group();
    expect(s.planner.describe('wc')).toEqual({ size: 4, note: '' });
    group();
    group();
    group();
    group(0);
    group(2);
    group(1);
    group(1);
    group();
    expect(sizes).toEqual([2, 4, 8, 8, 8, 4, 2, 2, 2]);
    expect(s.planner.describe('wc').size).toBe(4);
  });

  it('grows the size only at the last batch of a group', () => {
    const s = setup();
    const job = wordcount();
    seeAndRefresh(s, job, 10_000);
    s.planner.batchFinished('wc', 12_000, 0);
    expect(s.planner.describe('wc').size).toBe(2);
    s.planner.batchFinished('wc', 13_000, 0);
    expect(s.planner.describe('wc').size).toBe(4);
  });

  it('starts small again (auto) after a placement change', () => {
    const s = setup();
    const job = wordcount();
    seeAndRefresh(s, job, 10_000);
    s.planner.batchFinished('wc', 12_000, 0);
    s.planner.batchFinished('wc', 13_000, 0);
    expect(s.planner.describe('wc').size).toBe(4);
    s.planner.placementChanged('executor e4 added');
    expect(s.planner.describe('wc').size).toBe(2);
    expect(seeAndRefresh(s, job, 13_000)).toEqual([15_000, 16_000]);
  });

  it('after a placement change, grows again from 2 only with groups planned since: a revoked group\'s end does not count', () => {
    const s = setup();
    const job = wordcount();
    // Grow to 8: groups of 2 and 4, clean.
    expect(seeAndRefresh(s, job, 10_000)).toEqual([12_000, 13_000]);
    for (const t of [12_000, 13_000]) s.planner.batchFinished('wc', t, 0);
    expect(seeAndRefresh(s, job, 13_000)).toEqual([15_000, 18_000]);
    for (const t of [15_000, 16_000, 17_000, 18_000]) s.planner.batchFinished('wc', t, 0);
    expect(seeAndRefresh(s, job, 18_000)).toEqual([20_000, 27_000]);

    // 20s and 21s announced, then an executor joins: 22s..27s revoked, the next group is small.
    s.planner.batchSeen('lines', 20_000);
    s.planner.batchSeen('lines', 21_000);
    s.planner.placementChanged('executor e4 added');
    expect(s.planner.describe('wc').size).toBe(2);
    s.gateway.take();
    expect(seeAndRefresh(s, job, 21_000)).toEqual([23_000, 24_000]);

    // The revoked group's last batch (21s) ends: that group was cut short, not completed.
    s.planner.batchFinished('wc', 20_000, 0);
    s.planner.batchFinished('wc', 21_000, 0);
    expect(s.planner.describe('wc').size).toBe(2);
    // The first group planned after the change ends clean: it doubles once.
    s.planner.batchFinished('wc', 23_000, 0);
    s.planner.batchFinished('wc', 24_000, 0);
    expect(s.planner.describe('wc').size).toBe(4);
  });

  it('treats a broken task stream of a member as a placement change', () => {
    const s = setup();
    const job = wordcount();
    seeAndRefresh(s, job, 10_000);
    const plan = s.planner.planOf('wc', 12_000)!;
    s.planner.channelBroken('not-a-member', 1);
    expect(s.gateway.sent).toEqual([]);
    expect(plan.broken.size).toBe(0);

    s.planner.channelBroken('e2', 22);
    expect(plan.broken).toEqual(new Set(['e2']));
    expect(plan.revokedAfterMs).toBe(10_000);
    expect(s.gateway.take().map((x) => x.executorId)).toEqual(['e1', 'e2', 'e3']);
  });

  it('leaves an executor whose task stream broke out of new plans until it answers a probe', () => {
    const s = setup();
    const job = wordcount();
    seeAndRefresh(s, job, 10_000);
    s.planner.channelBroken('e2', 22);
    s.gateway.take(); // the revocations
    // Planned again at once, without e2: a plan counting on a dead executor's share would have the
    // others' reducers wait for buckets it never pushes.
    s.planner.batchSeen('lines', 10_000);
    s.planner.refresh([job]);
    const without = plansOf(s.gateway.take());
    expect(without.map((x) => x.executorId)).toEqual(['e1', 'e3']);
    expect(without[0]!.plan.members!.map((m) => m.executorId)).toEqual(['e1', 'e3']);
    expect(without[0]!.plan.reducers).not.toContain('e2');

    // Another incarnation's answer does not clear it; its own does, and the next plan has it back.
    expect(s.planner.executorAnswered('e2', 21)).toBe(false);
    expect(s.planner.executorAnswered('e2', 22)).toBe(true);
    expect(s.planner.executorAnswered('e2', 22)).toBe(false);
    s.planner.batchSeen('lines', 11_000);
    s.planner.refresh([job]);
    // The members differ from the plan in force: it is revoked, and the new one has e2 back.
    const sent = s.gateway.take();
    expect(sent.filter((x) => x.revocations.length > 0).map((x) => x.executorId)).toEqual(['e1', 'e3']);
    const back = plansOf(sent.filter((x) => x.plans.length > 0));
    expect(back.map((x) => x.executorId)).toEqual(['e1', 'e2', 'e3']);
  });

  it('keeps a fixed group size whatever happens', () => {
    const s = setup({ groupSize: '3' });
    const job = wordcount();
    expect(seeAndRefresh(s, job, 10_000)).toEqual([12_000, 14_000]);
    for (const t of [12_000, 13_000, 14_000]) s.planner.batchFinished('wc', t, 0);
    s.planner.placementChanged('executor e4 added');
    expect(s.planner.describe('wc').size).toBe(3);
    expect(seeAndRefresh(s, job, 14_000)).toEqual([16_000, 18_000]);
  });

  it('stashes early results by job and batch until taken, and forgets a finished batch\'s', () => {
    const s = setup();
    const a = result('wc/12000/1/0');
    const b = result('wc/12000/0/3');
    const other = result('wc/13000/1/0');
    s.planner.keep(a);
    s.planner.keep(b);
    s.planner.keep(other);

    expect(s.planner.take('wc', 13_000, 'wc/12000/1/0', A, 'e1')).toBeUndefined();
    expect(s.planner.take('other-job', 12_000, 'wc/12000/1/0', A, 'e1')).toBeUndefined();
    // Another plan's attempt, or the same attempt from another executor, is not this one's result.
    expect(s.planner.take('wc', 12_000, 'wc/12000/1/0', A + 1, 'e1')).toBeUndefined();
    expect(s.planner.take('wc', 12_000, 'wc/12000/1/0', A, 'e2')).toBeUndefined();
    expect(s.planner.take('wc', 12_000, 'wc/12000/1/0', A, 'e1')).toBe(a);
    expect(s.planner.take('wc', 12_000, 'wc/12000/1/0', A, 'e1')).toBeUndefined();

    s.planner.batchFinished('wc', 12_000, 0);
    expect(s.planner.take('wc', 12_000, 'wc/12000/0/3', A, 'e1')).toBeUndefined();
    expect(s.planner.take('wc', 13_000, 'wc/13000/1/0', A, 'e1')).toBe(other);
  });

  it('forgets an ended job\'s stash and plans', () => {
    const s = setup();
    const job = wordcount();
    seeAndRefresh(s, job, 10_000);
    s.planner.keep(result('wc/12000/1/0'));
    s.planner.jobEnded('wc');
    expect(s.planner.take('wc', 12_000, 'wc/12000/1/0', A, 'e1')).toBeUndefined();
    expect(s.planner.planOf('wc', 12_000)).toBeUndefined();
  });

  it('plans nothing with groupSize 1', () => {
    const s = setup({ groupSize: '1' });
    expect(s.planner.enabled).toBe(false);
    s.planner.batchSeen('lines', 10_000);
    s.planner.refresh([wordcount()]);
    s.planner.placementChanged('executor e4 added');
    expect(s.gateway.sent).toEqual([]);
    expect(s.planner.planOf('wc', 12_000)).toBeUndefined();
    expect(s.planner.describe('wc')).toEqual({ size: 0, note: 'groupSize is 1' });
  });

  it('plans no job that does not qualify, and says why', () => {
    const s = setup();
    const windowed = jobOf('win', `ctx.receiverStream('lines').map((w) => [w, 1]).reduceByKeyAndWindow((a, b) => a + b, '3s', '1s').output('counts');`);
    s.planner.batchSeen('lines', 10_000);
    s.planner.refresh([windowed]);
    expect(s.gateway.sent).toEqual([]);
    expect(s.planner.planOf('win', 12_000)).toBeUndefined();
    const d = s.planner.describe('win');
    expect(d.size).toBe(0);
    expect(d.note).toMatch(/earlier batches/);

    // A qualifying job next to it is planned.
    s.planner.refresh([windowed, wordcount()]);
    expect(new Set(plansOf(s.gateway.take()).map((x) => x.plan.jobId))).toEqual(new Set(['wc']));
  });
});
