/**
 * Group scheduling's shared rules (proto GroupPlan): what the scheduler and a
 * planned executor must compute alike, so a planned batch runs with no launch
 * from the scheduler. Given a plan and the receiver's block list of one of its
 * batches, `plannedTasks` names every task of the batch, the executor that
 * runs it and its full TaskSpec; the scheduler uses the names and placements
 * (its attempts of planned tasks are attempt 0), an executor builds and runs
 * the specs that fall to it.
 *
 * The rules: the map task of block p runs on one of the block's replicas
 * that is a plan member — the (p mod n)-th of them in id order, so map tasks
 * spread over the replicas instead of piling on whichever executor stored
 * blocks first (the receiver placed them; the scheduler follows, so the task
 * reads its input locally); reduce partition p runs on
 * `reducers[p % reducers.length]` (every member once per slot, interleaved);
 * map tasks push each bucket to its reducer's executor (ShuffleWrite.push),
 * and a planned reducer starts once every bucket it reads is in its own block
 * store. A block on no member, or a task whose executor is no longer a valid
 * member, is not planned: the scheduler launches it itself.
 *
 * Pure: no I/O, no clock.
 */
import { appendTo } from '../collections.js';
import type { ExecutorRef__Output } from '../proto/gen/rivulet/v1/ExecutorRef.js';
import type { GroupPlan__Output } from '../proto/gen/rivulet/v1/GroupPlan.js';
import type { PlannedStage__Output } from '../proto/gen/rivulet/v1/PlannedStage.js';
import type { ShufflePushTarget__Output } from '../proto/gen/rivulet/v1/ShufflePushTarget.js';
import type { TaskSpec__Output } from '../proto/gen/rivulet/v1/TaskSpec.js';

/** A partition count (GroupPlan.node_partitions, PlannedStage counts) that means "one per block of the batch". */
export const PER_BLOCK = 0xffffffff;

/**
 * Planned attempts are numbered from here (GroupPlan.attempt = this + the
 * plan's sequence), far above the scheduler's own launches (which number
 * from 1): a result names the plan it was computed under, so one of a
 * revoked plan (other partitioning, other shuffle) is never taken for another's.
 */
export const PLANNED_ATTEMPT_BASE = 0x40000000;

export function isPlannedAttempt(attempt: number): boolean {
  return attempt >= PLANNED_ATTEMPT_BASE;
}

/** A task's id: the same on the scheduler (task-attempt.ts) and on an executor building a planned task. */
export function taskIdOf(jobId: string, batchTimeMs: number, stageId: number, partition: number): string {
  return `${jobId}/${batchTimeMs}/${stageId}/${partition}`;
}

/** `<job>:<batch>:<shuffle node>:<suffix>` (the scheduler's incarnation: scheduler.ts shuffleId). */
export function shuffleIdOf(jobId: string, batchTimeMs: number, shuffleNode: number, suffix: string): string {
  return `${jobId}:${batchTimeMs}:${shuffleNode}:${suffix}`;
}

/** The id of map partition `map`'s bucket for reduce partition `reduce` (executor block store). */
export function shuffleBlockId(shuffleId: string, mapPartition: number, reducePartition: number): string {
  return `shuffle/${shuffleId}/${mapPartition}/${reducePartition}`;
}

/** One block of a planned batch, as the receiver announced it. */
export interface AnnouncedBlock {
  blockId: string;
  executorIds: readonly string[];
}

/** The subset of GroupPlan both sides read (the scheduler builds it, an executor decodes it). */
export type PlanRules = Pick<
  GroupPlan__Output,
  | 'jobId'
  | 'attempt'
  | 'bundleHash'
  | 'epoch'
  | 'members'
  | 'reducers'
  | 'stages'
  | 'nodePartitions'
  | 'shuffleIdSuffix'
  | 'timeoutMs'
  | 'maxResultBytes'
  | 'maxMessageBytes'
> &
  Partial<Pick<GroupPlan__Output, 'totalBytesOnly'>>;

export interface PlannedTask {
  stage: PlannedStage__Output;
  partition: number;
  taskId: string;
  executorId: string;
  /** Shuffle buckets (block ids) that must be in the executor's store before it starts; empty for map tasks. */
  waitsFor: string[];
}

/**
 * The executor that runs the map task of block `index`: of its replicas on
 * members, in id order, the (index mod n)-th — deterministic from the
 * announcement, and spread over the replicas (the order the receiver lists
 * them in is the order they were stored, which favours one executor).
 */
export function mapRunnerOf(block: AnnouncedBlock, members: ReadonlySet<string>, index: number): string | undefined {
  const holders = block.executorIds.filter((id) => members.has(id)).sort();
  return holders.length === 0 ? undefined : holders[index % holders.length];
}

export function reducerOf(reducers: readonly string[], partition: number): string {
  return reducers[partition % reducers.length]!;
}

function count(n: number, blocks: number): number {
  return n === PER_BLOCK ? blocks : n;
}

/**
 * Every planned task of batch `batchTimeMs` with its executor; `only`
 * restricts it to one executor's tasks (an executor building its own).
 */
export function plannedTasks(plan: PlanRules, batchTimeMs: number, blocks: readonly AnnouncedBlock[], only?: string): PlannedTask[] {
  const members = new Set(plan.members.map((m) => m.executorId));
  const out: PlannedTask[] = [];
  for (const stage of plan.stages) {
    const n = count(stage.numPartitions, blocks.length);
    for (let p = 0; p < n; p++) {
      let executorId: string | undefined;
      let waitsFor: string[] = [];
      if (stage.input === 'sourceNode') executorId = mapRunnerOf(blocks[p]!, members, p);
      else {
        executorId = reducerOf(plan.reducers, p);
        if (only !== undefined && executorId !== only) continue;
        const shuffleId = shuffleIdOf(plan.jobId, batchTimeMs, stage.shuffleNode!, plan.shuffleIdSuffix);
        const maps = count(stage.mapPartitions, blocks.length);
        waitsFor = Array.from({ length: maps }, (_, m) => shuffleBlockId(shuffleId, m, p));
      }
      if (executorId === undefined || (only !== undefined && executorId !== only)) continue;
      out.push({ stage, partition: p, taskId: taskIdOf(plan.jobId, batchTimeMs, stage.stageId, p), executorId, waitsFor });
    }
  }
  return out;
}

/** What every planned task of one batch shares: worked out once per batch, not once per task. */
export interface PlannedBatchShared {
  members: ReadonlyMap<string, ExecutorRef__Output>;
  nodePartitions: number[];
}

export function plannedBatchShared(plan: PlanRules, blocks: readonly AnnouncedBlock[]): PlannedBatchShared {
  return {
    members: new Map(plan.members.map((m) => [m.executorId, m])),
    nodePartitions: plan.nodePartitions.map((n) => count(n, blocks.length)),
  };
}

/** The TaskSpec of a planned task, exactly as the executor running it is told (every input local or fetched like any task's). */
export function plannedTaskSpec(
  plan: PlanRules,
  batchTimeMs: number,
  blocks: readonly AnnouncedBlock[],
  task: PlannedTask,
  shared: PlannedBatchShared = plannedBatchShared(plan, blocks),
): TaskSpec__Output {
  const { stage, partition } = task;
  const jobId = plan.jobId;
  const ref = (nodeId: number) => ({ jobId, batchTimeMs, nodeId });
  const members = shared.members;
  const spec: TaskSpec__Output = {
    taskId: task.taskId,
    jobId,
    bundleHash: plan.bundleHash,
    batchTimeMs,
    stageId: stage.stageId,
    partition,
    attempt: plan.attempt,
    epoch: members.get(task.executorId)?.epoch ?? plan.epoch,
    dataset: ref(stage.nodeId),
    blocks: [],
    shuffles: [],
    nodePartitions: shared.nodePartitions,
    locality: stage.input === 'sourceNode' ? 'PROCESS_LOCAL' : 'ANY',
    speculative: false,
    traceContext: {},
    timeoutMs: plan.timeoutMs,
    stateReplay: [],
  };
  if (stage.input === 'sourceNode') {
    const block = blocks[partition]!;
    const locations: ExecutorRef__Output[] = [];
    for (const id of block.executorIds) {
      const m = members.get(id);
      if (m) locations.push({ executorId: m.executorId, address: m.address, epoch: m.epoch });
    }
    spec.blocks = [{ dataset: ref(stage.sourceNode!), partition, blockId: block.blockId, locations, inputKey: '', checkpoint: '', jetStream: null }];
  } else {
    const shuffleId = shuffleIdOf(jobId, batchTimeMs, stage.shuffleNode!, plan.shuffleIdSuffix);
    const self = members.get(task.executorId)!;
    const maps = count(stage.mapPartitions, blocks.length);
    spec.shuffles = [
      {
        dataset: ref(stage.shuffleNode!),
        reducePartition: partition,
        shuffleId,
        // Every bucket is here before the task starts (it waits for them): each is read locally. Compact form
        // (lib/scheduling/map-outputs.ts): one holder, this executor, for each of the map partitions.
        mapOutputs: [],
        mapOutputExecutors: [{ executorId: self.executorId, address: self.address, epoch: self.epoch }],
        mapOutputHolders: new Array<number>(maps).fill(0),
      },
    ];
  }
  if (stage.sink === 'writeShuffleNode') {
    spec.shuffleWrite = {
      shuffleId: shuffleIdOf(jobId, batchTimeMs, stage.writeShuffleNode!, plan.shuffleIdSuffix),
      dataset: ref(stage.writeShuffleNode!),
      numPartitions: stage.writePartitions,
      mapPartitionOffset: 0,
      push: pushTargets(plan, stage.writePartitions, task.executorId),
      totalBytesOnly: plan.totalBytesOnly === true,
    };
    spec.sink = 'shuffleWrite';
  } else {
    spec.result = { output: stage.resultOutput!, maxResultBytes: plan.maxResultBytes, maxMessageBytes: plan.maxMessageBytes };
    spec.sink = 'result';
  }
  return spec;
}

/** Every reduce partition grouped by its planned executor, except the map task's own (its buckets are already there). */
export function pushTargets(
  plan: { reducers: readonly string[]; members: readonly ExecutorRef__Output[] },
  reducePartitions: number,
  self: string,
): ShufflePushTarget__Output[] {
  return allPushTargets(plan, reducePartitions).filter((t) => t.executor!.executorId !== self);
}

/**
 * Every reduce partition grouped by its planned executor (among `members`): what each map task of the
 * shuffle pushes, less its own executor's group. The same for every map task, so callers that build many
 * map tasks' specs keep it (the scheduler, per reducer plan) instead of grouping S partitions per task.
 */
export function allPushTargets(plan: { reducers: readonly string[]; members: readonly ExecutorRef__Output[] }, reducePartitions: number): ShufflePushTarget__Output[] {
  const members = new Map(plan.members.map((m) => [m.executorId, m]));
  const byExecutor = new Map<string, number[]>();
  for (let r = 0; r < reducePartitions; r++) appendTo(byExecutor, reducerOf(plan.reducers, r), r);
  const targets: ShufflePushTarget__Output[] = [];
  for (const [id, partitions] of byExecutor) {
    const m = members.get(id);
    if (m) targets.push({ executor: { executorId: m.executorId, address: m.address, epoch: m.epoch }, reducePartitions: partitions });
  }
  return targets;
}
