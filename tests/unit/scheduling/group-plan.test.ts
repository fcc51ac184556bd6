/**
 * lib/scheduling/group-plan.ts on its own: the rules the scheduler and every
 * planned executor compute alike — who runs each task of a planned batch,
 * the TaskSpec it is built with, and where map tasks push their buckets.
 * The plan is hand-made (a word-count shape: a map stage over blocks writing
 * a shuffle, a result stage reading it) so every count is known.
 */
import { describe, expect, it } from 'vitest';
import type { PlannedStage__Output } from '../../../lib/proto/gen/rivulet/v1/PlannedStage.js';
import {
  mapRunnerOf,
  PER_BLOCK,
  PLANNED_ATTEMPT_BASE,
  isPlannedAttempt,
  plannedTasks,
  plannedTaskSpec,
  pushTargets,
  shuffleBlockId,
  shuffleIdOf,
  taskIdOf,
  type AnnouncedBlock,
  type PlanRules,
} from '../../../lib/scheduling/group-plan.js';
import { TaskAttempt } from '../../../services/scheduler/task-attempt.js';
import { runWithStages } from '../scheduler/fixtures.js';
import { forEachMapOutput } from '../../../lib/scheduling/map-outputs.js';

const T = 7_000;
const REDUCE_PARTITIONS = 5;

const mapStage: PlannedStage__Output = {
  stageId: 0,
  nodeId: 3,
  input: 'sourceNode',
  sourceNode: 0,
  numPartitions: PER_BLOCK,
  mapPartitions: 0,
  sink: 'writeShuffleNode',
  writeShuffleNode: 4,
  writePartitions: REDUCE_PARTITIONS,
};

const reduceStage: PlannedStage__Output = {
  stageId: 1,
  nodeId: 5,
  input: 'shuffleNode',
  shuffleNode: 4,
  numPartitions: REDUCE_PARTITIONS,
  mapPartitions: PER_BLOCK,
  sink: 'resultOutput',
  resultOutput: 'counts',
  writePartitions: 0,
};

/** Members e1 (2 slots), e2, e3 (1 slot each): reducers interleaved per slot. */
function rules(overrides: Partial<PlanRules> = {}): PlanRules {
  return {
    jobId: 'job-1',
    attempt: PLANNED_ATTEMPT_BASE + 3,
    bundleHash: 'hash-1',
    epoch: 99,
    members: [
      { executorId: 'e1', address: 'e1:1', epoch: 11 },
      { executorId: 'e2', address: 'e2:1', epoch: 12 },
      { executorId: 'e3', address: 'e3:1', epoch: 13 },
    ],
    reducers: ['e1', 'e2', 'e3', 'e1'],
    stages: [mapStage, reduceStage],
    nodePartitions: [PER_BLOCK, PER_BLOCK, PER_BLOCK, PER_BLOCK, REDUCE_PARTITIONS, REDUCE_PARTITIONS, REDUCE_PARTITIONS],
    shuffleIdSuffix: 'inc7',
    timeoutMs: 30_000,
    maxResultBytes: 1 << 20,
    maxMessageBytes: 1 << 16,
    ...overrides,
  };
}

/** Block 0's first replica is not a member; block 2 is on no member. */
const blocks: AnnouncedBlock[] = [
  { blockId: 'b0', executorIds: ['outsider', 'e2', 'e1'] },
  { blockId: 'b1', executorIds: ['e3'] },
  { blockId: 'b2', executorIds: ['outsider', 'gone'] },
  { blockId: 'b3', executorIds: ['e1', 'e3'] },
];

const byStage = (stageId: number) => plannedTasks(rules(), T, blocks).filter((t) => t.stage.stageId === stageId);

describe('mapRunnerOf', () => {
  it('is a replica on a member — the (index mod n)-th in id order, whatever order they are listed in — never a non-member', () => {
    const members = new Set(['e1', 'e2']);
    expect(mapRunnerOf({ blockId: 'b', executorIds: ['x', 'e2', 'e1'] }, members, 0)).toBe('e1');
    expect(mapRunnerOf({ blockId: 'b', executorIds: ['x', 'e2', 'e1'] }, members, 1)).toBe('e2');
    expect(mapRunnerOf({ blockId: 'b', executorIds: ['e2', 'e1'] }, members, 2)).toBe('e1');
    expect(mapRunnerOf({ blockId: 'b', executorIds: ['x', 'e2'] }, members, 1)).toBe('e2');
    expect(mapRunnerOf({ blockId: 'b', executorIds: ['x', 'y'] }, members, 0)).toBeUndefined();
    expect(mapRunnerOf({ blockId: 'b', executorIds: [] }, members, 0)).toBeUndefined();
  });

  it('spreads the map tasks of blocks stored on the same executors over them', () => {
    const members = new Set(['e1', 'e2']);
    const runners = [0, 1, 2, 3].map((p) => mapRunnerOf({ blockId: `b${p}`, executorIds: ['e2', 'e1'] }, members, p));
    expect(runners).toEqual(['e1', 'e2', 'e1', 'e2']);
  });
});

describe('plannedTasks', () => {
  it('places the map task of block p on a member replica, and plans no task for a block on no member', () => {
    const maps = byStage(0);
    expect(maps.map((t) => [t.partition, t.executorId])).toEqual([
      [0, 'e1'], // b0 on e1, e2: the 0th
      [1, 'e3'],
      [3, 'e3'], // b3 on e1, e3: the (3 mod 2)-th
    ]);
    for (const t of maps) expect(t.waitsFor).toEqual([]);
  });

  it('places reduce partition p on reducers[p % reducers.length]', () => {
    expect(byStage(1).map((t) => [t.partition, t.executorId])).toEqual([
      [0, 'e1'],
      [1, 'e2'],
      [2, 'e3'],
      [3, 'e1'],
      [4, 'e1'],
    ]);
  });

  it('names every task with the scheduler\'s task id', () => {
    const ids = plannedTasks(rules(), T, blocks).map((t) => t.taskId);
    expect(ids).toEqual([
      'job-1/7000/0/0',
      'job-1/7000/0/1',
      'job-1/7000/0/3',
      'job-1/7000/1/0',
      'job-1/7000/1/1',
      'job-1/7000/1/2',
      'job-1/7000/1/3',
      'job-1/7000/1/4',
    ]);
  });

  it('with `only`, gives exactly that executor\'s share of the full plan', () => {
    const all = plannedTasks(rules(), T, blocks);
    for (const id of ['e1', 'e2', 'e3']) {
      const mine = plannedTasks(rules(), T, blocks, id);
      expect(mine.every((t) => t.executorId === id)).toBe(true);
      expect(mine.map((t) => t.taskId)).toEqual(all.filter((t) => t.executorId === id).map((t) => t.taskId));
    }
    expect(plannedTasks(rules(), T, blocks, 'e1').map((t) => t.taskId)).toEqual(['job-1/7000/0/0', 'job-1/7000/1/0', 'job-1/7000/1/3', 'job-1/7000/1/4']);
    expect(plannedTasks(rules(), T, blocks, 'outsider')).toEqual([]);
  });

  it('makes a reducer wait for exactly the bucket of every map partition (one per block) for its partition', () => {
    const shuffleId = 'job-1:7000:4:inc7';
    const r2 = byStage(1).find((t) => t.partition === 2)!;
    expect(r2.waitsFor).toEqual([0, 1, 2, 3].map((m) => `shuffle/${shuffleId}/${m}/2`));
    // Even block 2, whose map task is not planned: the scheduler runs it and its bucket still has to arrive.
    const oneBlock = plannedTasks(rules(), T, blocks.slice(0, 1)).find((t) => t.stage.stageId === 1 && t.partition === 4)!;
    expect(oneBlock.waitsFor).toEqual([`shuffle/${shuffleId}/0/4`]);
  });

  it('reads a fixed map partition count when the stage has one', () => {
    const fixed = rules({ stages: [mapStage, { ...reduceStage, mapPartitions: 2 }] });
    const r0 = plannedTasks(fixed, T, blocks).find((t) => t.stage.stageId === 1 && t.partition === 0)!;
    expect(r0.waitsFor).toEqual(['shuffle/job-1:7000:4:inc7/0/0', 'shuffle/job-1:7000:4:inc7/1/0']);
  });
});

describe('plannedTaskSpec', () => {
  const specOf = (stageId: number, partition: number, overrides: Partial<PlanRules> = {}) => {
    const task = plannedTasks(rules(overrides), T, blocks).find((t) => t.stage.stageId === stageId && t.partition === partition)!;
    return plannedTaskSpec(rules(overrides), T, blocks, task);
  };

  it('builds a map task as the plan\'s attempt reading its block where members hold it, pushing buckets to other executors\' reducers', () => {
    const spec = specOf(0, 0); // on e1
    // The plan's attempt number: far above the scheduler's own (from 1), so a result names its plan.
    expect(spec.attempt).toBe(PLANNED_ATTEMPT_BASE + 3);
    expect(isPlannedAttempt(spec.attempt)).toBe(true);
    expect(isPlannedAttempt(1)).toBe(false);
    expect(spec.taskId).toBe('job-1/7000/0/0');
    expect(spec.epoch).toBe(11);
    expect(spec.bundleHash).toBe('hash-1');
    expect(spec.locality).toBe('PROCESS_LOCAL');
    expect(spec.nodePartitions).toEqual([4, 4, 4, 4, 5, 5, 5]);
    expect(spec.blocks).toEqual([
      {
        dataset: { jobId: 'job-1', batchTimeMs: T, nodeId: 0 },
        partition: 0,
        blockId: 'b0',
        locations: [
          { executorId: 'e2', address: 'e2:1', epoch: 12 },
          { executorId: 'e1', address: 'e1:1', epoch: 11 },
        ],
        inputKey: '',
        checkpoint: '',
        jetStream: null,
      },
    ]);
    expect(spec.shuffles).toEqual([]);
    expect(spec.sink).toBe('shuffleWrite');
    expect(spec.shuffleWrite?.shuffleId).toBe('job-1:7000:4:inc7');
    expect(spec.shuffleWrite?.numPartitions).toBe(REDUCE_PARTITIONS);
    expect(spec.shuffleWrite?.push).toEqual([
      { executor: { executorId: 'e2', address: 'e2:1', epoch: 12 }, reducePartitions: [1] },
      { executor: { executorId: 'e3', address: 'e3:1', epoch: 13 }, reducePartitions: [2] },
    ]);
    // Bucket sizes only if the plan asks for them (an older scheduler's plan says nothing: listed).
    expect(spec.shuffleWrite?.totalBytesOnly).toBe(false);
    expect(specOf(0, 0, { totalBytesOnly: true }).shuffleWrite?.totalBytesOnly).toBe(true);
  });

  it('builds a reducer reading every map bucket locally from itself, writing the result', () => {
    const spec = specOf(1, 2); // on e3
    expect(spec.attempt).toBe(PLANNED_ATTEMPT_BASE + 3);
    expect(spec.epoch).toBe(13);
    expect(spec.locality).toBe('ANY');
    expect(spec.blocks).toEqual([]);
    expect(spec.shuffles).toHaveLength(1);
    const sh = spec.shuffles[0]!;
    expect(sh.shuffleId).toBe('job-1:7000:4:inc7');
    expect(sh.reducePartition).toBe(2);
    const read: unknown[] = [];
    forEachMapOutput(sh, (mapPartition, executor) => read.push({ mapPartition, executor }));
    expect(read).toEqual([0, 1, 2, 3].map((m) => ({ mapPartition: m, executor: { executorId: 'e3', address: 'e3:1', epoch: 13 } })));
    expect(spec.sink).toBe('result');
    expect(spec.result).toEqual({ output: 'counts', maxResultBytes: 1 << 20, maxMessageBytes: 1 << 16 });
    expect(spec.shuffleWrite).toBeUndefined();
  });

  it('expands PER_BLOCK node partitions to the batch\'s block count', () => {
    const task = plannedTasks(rules(), T, blocks.slice(0, 2))[0]!;
    expect(plannedTaskSpec(rules(), T, blocks.slice(0, 2), task).nodePartitions).toEqual([2, 2, 2, 2, 5, 5, 5]);
  });
});

describe('pushTargets', () => {
  it('groups reduce partitions by executor, leaving out the map task\'s own', () => {
    const plan = rules();
    expect(pushTargets(plan, 5, 'e1')).toEqual([
      { executor: { executorId: 'e2', address: 'e2:1', epoch: 12 }, reducePartitions: [1] },
      { executor: { executorId: 'e3', address: 'e3:1', epoch: 13 }, reducePartitions: [2] },
    ]);
    expect(pushTargets(plan, 5, 'e3')).toEqual([
      { executor: { executorId: 'e1', address: 'e1:1', epoch: 11 }, reducePartitions: [0, 3, 4] },
      { executor: { executorId: 'e2', address: 'e2:1', epoch: 12 }, reducePartitions: [1] },
    ]);
  });

  it('pushes to every reducer when the map task runs on no reducer', () => {
    const targets = pushTargets(rules(), 2, 'elsewhere');
    expect(targets.map((t) => [t.executor!.executorId, t.reducePartitions])).toEqual([
      ['e1', [0]],
      ['e2', [1]],
    ]);
  });
});

describe('ids', () => {
  it('taskIdOf is the scheduler\'s TaskAttempt id', () => {
    const run = runWithStages([{ kind: 'shuffleMap', numPartitions: 2, parentStages: [] }, { kind: 'result', numPartitions: 3, parentStages: [0] }], 4_000);
    const attempt = new TaskAttempt({
      run,
      stageRun: run.stages[1]!,
      partition: 2,
      failures: 0,
      lostAttempts: 0,
      speculative: false,
      recovery: false,
      preferred: [],
      excluded: new Set(),
      readySinceMs: 0,
    });
    expect(taskIdOf(run.job.id, 4_000, 1, 2)).toBe(attempt.taskId);
    expect(attempt.taskId).toBe('job-1/4000/1/2');
  });

  it('shuffle and bucket ids follow `shuffle/<job>:<t>:<node>:<suffix>/<map>/<reduce>`', () => {
    expect(shuffleBlockId(shuffleIdOf('j', 3000, 4, 'x'), 1, 2)).toBe('shuffle/j:3000:4:x/1/2');
  });
});
