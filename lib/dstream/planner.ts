/**
 * Turning one batch of a job into stages (Spark's DAGScheduler, for one batch):
 * every output operation is a result stage; walking up from it through narrow
 * dependencies (and unions) stays in the stage, and every shuffle dependency
 * cuts it — the map side becomes a shuffle-map stage of its own, shared by all
 * stages that read the same shuffle.
 *
 * A shuffle-map stage computes the partitions of every parent of its shuffle
 * (one "side" per parent: cogroup/join have two). Its tasks are numbered by
 * GLOBAL map partition: side i's partition m is task `offset(i) + m`, parent 0's
 * first — the same numbering lineage uses for SHUFFLE_OUTPUT locations.
 *
 * A stream may generate no dataset in a batch (see generatedDatasets): its
 * nodes get 0 partitions and outputs over it get no stage (they do not run).
 *
 * Partition counts are fixed here, once per batch, and recorded in lineage, so
 * that a recomputation after a failure partitions data exactly the same way.
 *
 * `planTask` says, per task, which dataset partition it computes and which
 * (source node, partition) blocks and (shuffle node, reduce partition) inputs
 * it reads; the scheduler builds TaskSpecs and locality preferences from it and
 * never assumes "task p reads block p".
 */
import { operatorLabel, parentsOf, sourceInputKey, type GraphNode, type JobGraph } from './graph.js';

export interface StageSide {
  /** The dataset this side's tasks compute. */
  nodeId: number;
  /** First task (global map partition) of this side. */
  offset: number;
  numPartitions: number;
}

export interface PlannedStage {
  /** Index in BatchPlan.stages; parents always have lower ids. */
  id: number;
  kind: 'shuffleMap' | 'result';
  /** The node whose partitions this stage's tasks compute (shuffleMap: the first side's). */
  finalNode: number;
  /** What the tasks compute: one side for a result stage, one per shuffle parent for a shuffleMap stage. */
  sides: StageSide[];
  /** shuffleMap: the shuffle node this stage writes buckets for. */
  shuffleNode?: number;
  /** result: the output node. */
  outputNode?: number;
  /** Tasks of the stage (the sum over its sides). */
  numPartitions: number;
  /** Stages whose shuffle output this stage reads. */
  parentStages: number[];
  /** Source nodes whose partitions (input blocks) this stage reads. */
  sourceNodes: number[];
  /** Shuffle nodes this stage reads the reduce side of. */
  shuffleReads: number[];
}

export interface DatasetPlan {
  nodeId: number;
  operator: string;
  dependency: 'SOURCE' | 'NARROW' | 'SHUFFLE';
  parents: number[];
  numPartitions: number;
}

export interface BatchPlan {
  stages: PlannedStage[];
  /** Partition count of every node. */
  partitions: number[];
  datasets: DatasetPlan[];
}

/**
 * What one task of a stage computes and reads. Inputs are of the task's own
 * batch today; windows and state will add inputs of earlier batches here
 * (TaskSpec's DatasetRef already carries batch_time_ms).
 */
export interface TaskPlan {
  /** The dataset whose partition the task computes. */
  nodeId: number;
  partition: number;
  /** shuffleMap: the global map partition of this task is `mapPartitionOffset + partition`. */
  mapPartitionOffset: number;
  /** Input partitions of source datasets it reads. */
  blocks: Array<{ nodeId: number; partition: number }>;
  /** Reduce partitions of shuffles it reads. */
  shuffles: Array<{ nodeId: number; reducePartition: number }>;
}

/**
 * @param blockCounts input blocks of each source (by `sourceInputKey`) in this batch
 * @param defaultParallelism reduce partitions for shuffles that name none
 */
export function planBatch(graph: JobGraph, blockCounts: ReadonlyMap<string, number>, defaultParallelism: number): BatchPlan {
  const generated = generatedDatasets(graph, blockCounts);
  const partitions: number[] = [];
  for (const node of graph.nodes) {
    partitions[node.id] = generated[node.id] === true ? partitionCount(node, partitions, blockCounts, defaultParallelism) : 0;
  }

  const stages: PlannedStage[] = [];
  const mapStageOf = new Map<number, number>();

  const buildStage = (sideNodes: number[], kind: PlannedStage['kind'], extra: Partial<PlannedStage>): PlannedStage => {
    const sourceNodes: number[] = [];
    const shuffleReads: number[] = [];
    const parentStages: number[] = [];
    const seen = new Set<number>();
    const visit = (id: number) => {
      if (seen.has(id)) return;
      seen.add(id);
      const node = graph.node(id);
      if (node.kind === 'source') {
        sourceNodes.push(id);
        return;
      }
      if (node.kind === 'shuffle') {
        shuffleReads.push(id);
        const parent = mapStage(node.id);
        if (!parentStages.includes(parent)) parentStages.push(parent);
        return;
      }
      for (const p of parentsOf(node)) visit(p);
    };
    // The nodes a stage computes are visited, not cut, even when they are
    // themselves shuffles (their reduce side is read).
    const sides: StageSide[] = [];
    let offset = 0;
    for (const nodeId of sideNodes) {
      visit(nodeId);
      sides.push({ nodeId, offset, numPartitions: partitions[nodeId]! });
      offset += partitions[nodeId]!;
    }
    const stage: PlannedStage = {
      id: stages.length,
      kind,
      finalNode: sideNodes[0]!,
      sides,
      numPartitions: offset,
      parentStages,
      sourceNodes,
      shuffleReads,
      ...extra,
    };
    stages.push(stage);
    return stage;
  };

  const mapStage = (shuffleNodeId: number): number => {
    const known = mapStageOf.get(shuffleNodeId);
    if (known !== undefined) return known;
    const shuffle = graph.node(shuffleNodeId);
    const stage = buildStage(parentsOf(shuffle), 'shuffleMap', { shuffleNode: shuffleNodeId });
    mapStageOf.set(shuffleNodeId, stage.id);
    return stage.id;
  };

  for (const out of graph.outputs) {
    const g = generated[out.id]!;
    if (typeof g === 'string') throw new BatchPlanError(g);
    // An output over a stream that generated no dataset does not run this batch.
    if (g) buildStage([out.id], 'result', { outputNode: out.id });
  }

  const datasets: DatasetPlan[] = graph.nodes.map((n) => ({
    nodeId: n.id,
    operator: operatorLabel(n),
    dependency: n.kind === 'source' ? 'SOURCE' : n.kind === 'shuffle' ? 'SHUFFLE' : 'NARROW',
    parents: parentsOf(n),
    numPartitions: partitions[n.id]!,
  }));
  return { stages, partitions, datasets };
}

/** The batch cannot run: an operator needs a dataset a parent did not generate (as Spark throws). */
export class BatchPlanError extends Error {
  override name = 'BatchPlanError';
}

/**
 * Which nodes generate a dataset this batch (Spark's `getOrCompute(time)`
 * returning Some/None): true, false, or the error a strict operator raises.
 * A receiver stream always does (possibly empty); a queue stream does when
 * the batch has an entry for it in `blockCounts` (even with 0 blocks). A node
 * generates one when its parents do; a strict node (built on Spark's
 * transform/union) with a parent that generated none is an error, which
 * fails the batch only if an output needs it.
 */
function generatedDatasets(graph: JobGraph, blockCounts: ReadonlyMap<string, number>): Array<boolean | string> {
  const out: Array<boolean | string> = [];
  for (const node of graph.nodes) {
    if (node.kind === 'source') {
      out[node.id] = node.op === 'receiverStream' || blockCounts.has(sourceInputKey(node));
      continue;
    }
    const parents = parentsOf(node);
    const failed = parents.map((p) => out[p]!).find((g) => typeof g === 'string');
    if (failed !== undefined) {
      out[node.id] = failed;
      continue;
    }
    const missing = parents.find((p) => out[p] === false);
    if (missing === undefined) out[node.id] = true;
    else if (node.kind === 'union' || ((node.kind === 'narrow' || node.kind === 'shuffle') && node.strict)) {
      out[node.id] =
        `${operatorLabel(node)} (node ${node.id}) needs a dataset from each of its parents, but ` +
        `${operatorLabel(graph.node(missing))} (node ${missing}) generated none in this batch (a null queue-stream input); ` +
        "Spark fails the same way (\"Couldn't generate RDD from parent\")";
    } else out[node.id] = false;
  }
  return out;
}

/**
 * Which partition of which parent partition `p` of a union reads: its parents'
 * partitions are concatenated in order.
 */
export function unionParentPartition(parents: readonly number[], partitions: readonly number[], p: number): { parent: number; partition: number } {
  let offset = 0;
  for (const parent of parents) {
    const n = partitions[parent] ?? 0;
    if (p < offset + n) return { parent, partition: p - offset };
    offset += n;
  }
  throw new RangeError(`union partition ${p} is out of range (the union has ${offset} partitions)`);
}

/** The dataset partition task `task` of `stage` computes, and the inputs it reads. */
export function planTask(graph: JobGraph, plan: BatchPlan, stage: PlannedStage, task: number): TaskPlan {
  const side = stage.sides.find((s) => task >= s.offset && task < s.offset + s.numPartitions);
  if (!side) throw new RangeError(`stage ${stage.id} has no task ${task} (it has ${stage.numPartitions})`);
  const tp: TaskPlan = { nodeId: side.nodeId, partition: task - side.offset, mapPartitionOffset: side.offset, blocks: [], shuffles: [] };
  let id = side.nodeId;
  let p = tp.partition;
  for (;;) {
    const node = graph.node(id);
    switch (node.kind) {
      case 'source':
        tp.blocks.push({ nodeId: id, partition: p });
        return tp;
      case 'shuffle':
        tp.shuffles.push({ nodeId: id, reducePartition: p });
        return tp;
      case 'union': {
        const from = unionParentPartition(node.parents, plan.partitions, p);
        id = from.parent;
        p = from.partition;
        break;
      }
      default:
        id = node.parent;
    }
  }
}

function partitionCount(
  node: GraphNode,
  known: number[],
  blockCounts: ReadonlyMap<string, number>,
  defaultParallelism: number,
): number {
  switch (node.kind) {
    case 'source':
      return blockCounts.get(sourceInputKey(node)) ?? 0;
    case 'shuffle':
      return node.numPartitions ?? Math.max(1, defaultParallelism);
    case 'union':
      return node.parents.reduce((n, p) => n + known[p]!, 0);
    default:
      return known[node.parent]!;
  }
}
