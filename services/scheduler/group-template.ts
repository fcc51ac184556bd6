/**
 * Plan once, instantiate per batch: the stage template of a job for group
 * scheduling — its stages as GroupPlan.stages, with every partition count
 * either fixed or "one per block" — or the reason the job cannot be planned
 * ahead (then every batch is launched by the scheduler, as with groupSize 1).
 *
 * A job qualifies when each batch's DAG depends on nothing but the batch's
 * own blocks: one input stream, no windows or state (those read earlier
 * batches and must run in order), and every stage either reads block p of
 * the stream (a map-side chain) or reduce partition p of one shuffle. The
 * template is found by planning the job for two block counts with the real
 * planner and checking that every task has that shape and every count is
 * either the same in both or equal to the block count — so it can never
 * disagree with how the batch is planned when it runs (batch-dag.ts plans a
 * planned batch with the template's parallelism).
 *
 * Pure.
 */
import { readsEarlierBatches, sourceInputKey, type JobGraph, type OutputNode } from '../../lib/dstream/graph.js';
import { planBatch, planTask, type BatchPlan } from '../../lib/dstream/planner.js';
import type { PlannedStage } from '../../lib/proto/gen/rivulet/v1/PlannedStage.js';
import { PER_BLOCK } from '../../lib/scheduling/group-plan.js';

export interface StageTemplate {
  stream: string;
  /** The reduce-partition default the template was made with (slots × partitionsPerSlot, or defaultParallelism). */
  parallelism: number;
  stages: PlannedStage[];
  nodePartitions: number[];
}

const A = 3;
const B = 1;

export function stageTemplate(graph: JobGraph, parallelism: number): StageTemplate | string {
  if (readsEarlierBatches(graph)) return 'the job reads earlier batches (windows or state), which run in order';
  // Their ranges are decided at each batch's turn, after the stream's state is read: nothing to start ahead (README, JetStream sources).
  if (graph.jetStreamSources.length > 0) return 'the job reads a JetStream source, whose batches the scheduler launches once their ranges are journaled';
  if (graph.streams.length !== 1) return `the job reads ${graph.streams.length} streams; group scheduling plans jobs with one`;
  const stream = graph.streams[0]!;
  let a: BatchPlan;
  let b: BatchPlan;
  try {
    a = planBatch(graph, new Map([[stream, A]]), parallelism);
    b = planBatch(graph, new Map([[stream, B]]), parallelism);
  } catch (err) {
    return `cannot plan the job: ${(err as Error).message}`;
  }
  if (a.stages.length !== b.stages.length) return 'its stages depend on the block count';
  const count = (x: number, y: number) => (x === y ? x : x === A && y === B ? PER_BLOCK : undefined);
  const nodePartitions: number[] = [];
  for (let i = 0; i < a.partitions.length; i++) {
    const n = count(a.partitions[i]!, b.partitions[i]!);
    if (n === undefined) return `node ${i}'s partitions depend on the block count in a way a plan cannot express`;
    nodePartitions.push(n);
  }
  const stages: PlannedStage[] = [];
  for (let i = 0; i < a.stages.length; i++) {
    const sa = a.stages[i]!;
    const sb = b.stages[i]!;
    if (sa.kind === 'persist') return 'it caches partitions';
    if (sa.id !== sb.id || sa.kind !== sb.kind || sa.sides.length !== 1) return `stage ${sa.id} has a shape group scheduling does not plan`;
    const numPartitions = count(sa.numPartitions, sb.numPartitions);
    if (numPartitions === undefined) return `stage ${sa.id}'s partitions depend on the block count`;
    const planned: PlannedStage = { stageId: sa.id, nodeId: sa.finalNode, numPartitions };
    for (let p = 0; p < sa.numPartitions; p++) {
      const tp = planTask(graph, a, sa, p);
      if (tp.partition !== p || tp.mapPartitionOffset !== 0 || tp.nodeId !== sa.finalNode) return `stage ${sa.id}'s tasks are not one per partition`;
      if (tp.blocks.length === 1 && tp.shuffles.length === 0) {
        const blk = tp.blocks[0]!;
        const node = graph.node(blk.nodeId);
        if (blk.batchTimeMs !== undefined || blk.key !== undefined || blk.partition !== p || node.kind !== 'source' || sourceInputKey(node) !== stream) {
          return `stage ${sa.id} reads its blocks in a way group scheduling does not plan`;
        }
        if (planned.shuffleNode !== undefined || (planned.sourceNode !== undefined && planned.sourceNode !== blk.nodeId)) return `stage ${sa.id} mixes inputs`;
        planned.sourceNode = blk.nodeId;
      } else if (tp.shuffles.length === 1 && tp.blocks.length === 0) {
        const sh = tp.shuffles[0]!;
        if (sh.reducePartition !== p) return `stage ${sa.id} reads shuffle partitions out of order`;
        if (planned.sourceNode !== undefined || (planned.shuffleNode !== undefined && planned.shuffleNode !== sh.nodeId)) return `stage ${sa.id} mixes inputs`;
        planned.shuffleNode = sh.nodeId;
      } else return `stage ${sa.id} reads several inputs per task`;
    }
    if (sa.numPartitions === 0) return 'a stage with no partitions cannot be planned';
    if (planned.sourceNode !== undefined && numPartitions !== PER_BLOCK) return `stage ${sa.id} reads blocks but not one task per block`;
    if (planned.shuffleNode !== undefined) {
      const mapStage = a.stages.find((s) => s.kind === 'shuffleMap' && s.shuffleNode === planned.shuffleNode);
      const mapStageB = b.stages.find((s) => s.kind === 'shuffleMap' && s.shuffleNode === planned.shuffleNode);
      const maps = mapStage && mapStageB ? count(mapStage.numPartitions, mapStageB.numPartitions) : undefined;
      if (maps === undefined) return `the map side of shuffle ${planned.shuffleNode} cannot be planned`;
      planned.mapPartitions = maps;
      if (numPartitions === PER_BLOCK) return `stage ${sa.id} reads a shuffle with one partition per block`;
    }
    if (sa.kind === 'shuffleMap') {
      const writes = count(a.partitions[sa.shuffleNode!]!, b.partitions[sa.shuffleNode!]!);
      if (writes === undefined || writes === PER_BLOCK) return `shuffle ${sa.shuffleNode}'s partitions depend on the block count`;
      planned.writeShuffleNode = sa.shuffleNode!;
      planned.writePartitions = writes;
    } else {
      planned.resultOutput = (graph.node(sa.outputNode!) as OutputNode).name;
    }
    stages.push(planned);
  }
  return { stream, parallelism, stages, nodePartitions };
}
