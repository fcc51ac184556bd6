/**
 * The TaskSpec of one task attempt: what it computes (the planner decides),
 * which blocks it reads and where each lives, which map outputs it fetches,
 * and what it writes (shuffle buckets, a cached partition, a checkpoint, or
 * result records). Pure: it reads the scheduler's state through
 * `TaskSpecContext` and changes nothing, so it may run at any time — and when
 * it throws (an input block is missing), the task set gives the reserved
 * slot back and counts a failed attempt.
 */
import { checkpointName } from '../../lib/checkpoint/store.js';
import { deepFreeze } from '../../lib/collections.js';
import { sourceInputKey, type OutputNode } from '../../lib/dstream/graph.js';
import { planTask, STATE_KEYS } from '../../lib/dstream/planner.js';
import type { Logger } from '../../lib/log.js';
import type { BlockInput } from '../../lib/proto/gen/rivulet/v1/BlockInput.js';
import type { ShufflePushTarget } from '../../lib/proto/gen/rivulet/v1/ShufflePushTarget.js';
import type { TaskSpec } from '../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import { allPushTargets } from '../../lib/scheduling/group-plan.js';
import type { BatchRun, StageRun } from './batch-run.js';
import type { CachedBlock } from './cache-registry.js';
import type { Locality } from './placement.js';
import { plannedBy, type StateRebuild } from './state-recovery.js';

/** One launch of a task, as TaskSpec building sees it. */
export interface TaskAttemptRef {
  run: BatchRun;
  stageRun: StageRun;
  partition: number;
  taskId: string;
  attempt: number;
  /** The executor it was placed on, and that executor's epoch. */
  executorId: string;
  epoch: number;
  locality: Locality;
  speculative: boolean;
}

export interface ExecutorRef {
  executorId: string;
  address: string;
  epoch: number;
}

/** The lookups TaskSpec building needs; every one is a read. */
export interface TaskSpecContext {
  /** A live executor's address and epoch, undefined when it is not alive. */
  liveExecutor(id: string): ExecutorRef | undefined;
  /** The executor reads map outputs in the compact form (it says so in its heartbeats; HeartbeatMessage.compactMapOutputs). */
  readsCompactMapOutputs(id: string): boolean;
  /** Changes whenever an executor joins, is lost, or changes address (ExecutorTracker.membershipVersion). */
  executorsVersion(): number;
  cachedBlock(jobId: string, nodeId: number, batchTimeMs: number, partition: number): CachedBlock | undefined;
  cachedBlockId(jobId: string, batchTimeMs: number, nodeId: number, partition: number): string;
  stateRebuild(run: BatchRun, nodeId: number, partition: number): StateRebuild | string | undefined;
  shuffleId(run: BatchRun, shuffleNode: number): string;
  traceContext(run: BatchRun, stage: StageRun): Record<string, string>;
  /** TaskSpec.timeout_ms of every task (config taskTimeout, resolved). */
  taskTimeoutMs: number;
  /** ResultSink.max_result_bytes and max_message_bytes of result tasks (config maxTaskResultBytes, maxMessageBytes). */
  maxTaskResultBytes: number;
  maxMessageBytes: number;
  log: Logger;
}

export function buildTaskSpec(t: TaskAttemptRef, ctx: TaskSpecContext): TaskSpec {
  const run = t.run;
  const job = run.job;
  const stage = t.stageRun.stage;
  const T = run.batchTimeMs;
  const ref = (nodeId: number) => ({ jobId: job.id, batchTimeMs: T, nodeId });
  const live = (ids: readonly string[]) => ids.map((id) => ctx.liveExecutor(id)).filter((x) => x !== undefined);
  // What this task computes and reads (union offsets, cogroup sides): the planner decides.
  const tp = planTask(job.graph, run.plan!, stage, t.partition);
  const blocks: BlockInput[] = tp.blocks.map(({ nodeId: src, partition, batchTimeMs, key }) => {
    if (batchTimeMs !== undefined) {
      // A cached partition (a window's input), possibly of an earlier batch.
      const cached = ctx.cachedBlock(job.id, src, batchTimeMs, partition);
      return {
        dataset: { jobId: job.id, batchTimeMs, nodeId: src },
        partition,
        blockId: cached?.blockId ?? ctx.cachedBlockId(job.id, batchTimeMs, src, partition),
        locations: live(cached?.executorIds ?? []),
        inputKey: key ?? '',
      };
    }
    const node = job.graph.node(src);
    const block = node.kind === 'source' ? run.inputs.get(sourceInputKey(node))?.[partition] : undefined;
    if (!block) throw new Error(`no input block for node ${src} partition ${partition}`);
    // A JetStream slice is read from the stream by whichever executor runs the task (it has no location).
    if (block.jetStream) return { dataset: ref(src), partition, blockId: block.blockId, locations: [], jetStream: block.jetStream };
    return { dataset: ref(src), partition, blockId: block.blockId, locations: live(block.executorIds) };
  });
  const shuffles = tp.shuffles.map(({ nodeId: shuffleNode, reducePartition }) => {
    const mapStage = run.stages.find((s) => s.stage.shuffleNode === shuffleNode)!;
    if (mapStage.mapOutputs.size !== mapStage.stage.numPartitions) {
      // The task set holds such tasks back (inputsReady); reaching here would lose records silently.
      ctx.log.error(
        { taskId: t.taskId, shuffleNode, mapOutputs: mapStage.mapOutputs.size, mapPartitions: mapStage.stage.numPartitions },
        'launching a reduce task without every map output',
      );
    }
    return {
      dataset: ref(shuffleNode),
      reducePartition,
      shuffleId: ctx.shuffleId(run, shuffleNode),
      // Built once per stage's outputs (every reduce task of the shuffle lists them all).
      ...mapStage.mapOutputs.specFields(ctx.readsCompactMapOutputs(t.executorId)),
    };
  });
  const spec: TaskSpec = {
    taskId: t.taskId,
    jobId: job.id,
    bundleHash: job.bundleHash,
    batchTimeMs: T,
    stageId: stage.id,
    partition: tp.partition,
    attempt: t.attempt,
    epoch: t.epoch,
    dataset: ref(tp.nodeId),
    blocks,
    shuffles,
    nodePartitions: run.plan!.partitions,
    locality: t.locality,
    speculative: t.speculative,
    traceContext: ctx.traceContext(run, t.stageRun),
    timeoutMs: ctx.taskTimeoutMs,
  };
  switch (stage.kind) {
    case 'shuffleMap':
      spec.shuffleWrite = {
        shuffleId: ctx.shuffleId(run, stage.shuffleNode!),
        dataset: ref(stage.shuffleNode!),
        numPartitions: run.plan!.partitions[stage.shuffleNode!]!,
        mapPartitionOffset: tp.mapPartitionOffset,
        push: pushTargets(run.reducerPlan, run.plan!.partitions[stage.shuffleNode!]!, t.executorId, ctx),
        // The total comes in the result's metrics (bytes_out): no list of every bucket's size per map task.
        totalBytesOnly: true,
      };
      break;
    case 'persist': {
      const nodeId = stage.persistNode!;
      const state = run.plan!.states.get(nodeId);
      spec.cache = {
        blockId: ctx.cachedBlockId(job.id, T, nodeId, tp.partition),
        ...(state?.checkpoint ? { checkpoint: checkpointName(job.id, nodeId, T, tp.partition) } : {}),
      };
      const rebuild = state ? ctx.stateRebuild(run, nodeId, tp.partition) : undefined;
      if (rebuild && typeof rebuild !== 'string') addStateRebuild(spec, blocks, rebuild, t, nodeId, tp.partition, live, ctx.log);
      break;
    }
    case 'result':
      spec.result = {
        output: (job.graph.node(stage.outputNode!) as OutputNode).name,
        maxResultBytes: ctx.maxTaskResultBytes,
        maxMessageBytes: ctx.maxMessageBytes,
      };
      break;
  }
  return spec;
}

/** The previous state is lost everywhere: the task starts from the checkpoint (or a kept older state) and replays. */
function addStateRebuild(
  spec: TaskSpec,
  blocks: BlockInput[],
  rebuild: StateRebuild,
  t: TaskAttemptRef,
  nodeId: number,
  partition: number,
  live: (ids: readonly string[]) => ExecutorRef[],
  log: Logger,
): void {
  const jobId = t.run.job.id;
  spec.blocks = blocks.filter((b) => b.inputKey !== STATE_KEYS.previous);
  if (rebuild.previous) {
    const kept = rebuild.previous;
    spec.blocks.push({
      dataset: { jobId, batchTimeMs: kept.batchTimeMs, nodeId: kept.nodeId },
      partition,
      blockId: kept.blockId,
      locations: live(kept.executorIds),
      inputKey: STATE_KEYS.previous,
    });
  }
  if (rebuild.checkpoint) {
    spec.blocks.push({
      dataset: { jobId, batchTimeMs: rebuild.checkpoint.batchTimeMs, nodeId },
      partition,
      blockId: rebuild.checkpoint.name,
      locations: [],
      inputKey: STATE_KEYS.checkpoint,
      checkpoint: rebuild.checkpoint.name,
    });
  }
  for (const v of rebuild.values) {
    spec.blocks.push({
      dataset: { jobId, batchTimeMs: v.batchTimeMs, nodeId: v.block.nodeId },
      partition,
      blockId: v.block.blockId,
      locations: live(v.block.executorIds),
      inputKey: STATE_KEYS.replay(v.batchTimeMs),
    });
  }
  spec.stateReplay = rebuild.replay;
  log.warn(
    {
      jobId,
      batchTimeMs: t.run.batchTimeMs,
      nodeId,
      partition,
      checkpoint: rebuild.checkpoint?.batchTimeMs,
      from: rebuild.previous?.batchTimeMs,
      replay: rebuild.replay.length,
      planned: plannedBy(t.run.stateRebuilds.get(`${nodeId}/${partition}`)),
    },
    'rebuilding a lost state partition',
  );
}

/**
 * Where a map task pushes copies of its buckets: every reduce partition
 * grouped by the live executor planned for it (run.reducerPlan), except the
 * executor the map task runs on (its buckets are already there). The grouping
 * is the same for every map task of the shuffle: kept per reducer plan while
 * the planned executors alive (and their incarnations) stay the same.
 */
function pushTargets(plan: readonly string[] | undefined, reducePartitions: number, self: string, ctx: TaskSpecContext): ShufflePushTarget[] {
  if (!plan || plan.length === 0) return [];
  let kept = groupedPushTargets.get(plan);
  // Checked against the live executors only when they changed (an O(N) check per task was O(N·S) per batch).
  const version = ctx.executorsVersion();
  if (kept && kept.reducePartitions === reducePartitions && kept.version !== version && sameLive(kept, ctx)) kept.version = version;
  if (!kept || kept.reducePartitions !== reducePartitions || kept.version !== version) {
    const ids = [...new Set(plan)];
    const live = ids.map((id) => ctx.liveExecutor(id));
    // The same grouping as a group plan's map tasks (lib/scheduling/group-plan.ts), over the executors alive now.
    // Frozen, as the lists below: shared by every map task, never changed (and the task stream's encoder keeps
    // the bytes of frozen lists, task-request-encoding.ts).
    const all = deepFreeze(allPushTargets({ reducers: plan, members: live.filter((e) => e !== undefined) }, reducePartitions));
    groupedPushTargets.set(plan, (kept = { ids, live, version, reducePartitions, all, bySelf: new Map() }));
  }
  // One list per executor a map task runs on (the others'), shared by its map tasks.
  let mine = kept.bySelf.get(self);
  if (!mine) kept.bySelf.set(self, (mine = Object.freeze(kept.all.filter((t) => t.executor!.executorId !== self)) as ShufflePushTarget[]));
  return mine;
}

/** Map tasks' push targets kept per reducer plan (a run's, or a group's shared by its batches); gone with the plan. */
const groupedPushTargets = new WeakMap<
  readonly string[],
  {
    ids: string[];
    live: Array<ExecutorRef | undefined>;
    /** executorsVersion when `live` was last found to hold. */
    version: number;
    reducePartitions: number;
    all: ShufflePushTarget[];
    bySelf: Map<string, ShufflePushTarget[]>;
  }
>();

/** The plan's executors are alive as they were (same incarnation and address): its push targets still hold. */
function sameLive(kept: { ids: string[]; live: Array<ExecutorRef | undefined> }, ctx: TaskSpecContext): boolean {
  for (let i = 0; i < kept.ids.length; i++) {
    const now = ctx.liveExecutor(kept.ids[i]!);
    const then = kept.live[i];
    if (now?.epoch !== then?.epoch || now?.address !== then?.address) return false;
  }
  return true;
}
