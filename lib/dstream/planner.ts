/**
 * Turning one batch of a job into stages (Spark's DAGScheduler, for one batch):
 * every output operation is a result stage; walking up from it through narrow
 * dependencies stays in the stage, and every shuffle dependency cuts it — the
 * map side becomes a shuffle-map stage of its own, shared by all stages that
 * read the same shuffle.
 *
 * Partition counts are fixed here, once per batch, and recorded in lineage, so
 * that a recomputation after a failure partitions data exactly the same way.
 */
import { operatorLabel, parentsOf, type GraphNode, type JobGraph } from './graph.js';

export interface PlannedStage {
  /** Index in BatchPlan.stages; parents always have lower ids. */
  id: number;
  kind: 'shuffleMap' | 'result';
  /** The node whose partitions this stage's tasks compute. */
  finalNode: number;
  /** shuffleMap: the shuffle node this stage writes buckets for. */
  shuffleNode?: number;
  /** result: the output node. */
  outputNode?: number;
  numPartitions: number;
  /** Stages whose shuffle output this stage reads. */
  parentStages: number[];
  /** Source nodes whose partitions (receiver blocks) this stage reads. */
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
 * @param blockCounts receiver blocks of each stream in this batch
 * @param defaultParallelism reduce partitions for shuffles that name none
 */
export function planBatch(graph: JobGraph, blockCounts: ReadonlyMap<string, number>, defaultParallelism: number): BatchPlan {
  const partitions: number[] = [];
  for (const node of graph.nodes) partitions[node.id] = partitionCount(node, partitions, blockCounts, defaultParallelism);

  const stages: PlannedStage[] = [];
  const mapStageOf = new Map<number, number>();

  const buildStage = (finalNode: number, kind: PlannedStage['kind'], extra: Partial<PlannedStage>): PlannedStage => {
    const sourceNodes: number[] = [];
    const shuffleReads: number[] = [];
    const parentStages: number[] = [];
    const visit = (id: number) => {
      const node = graph.node(id);
      if (node.kind === 'source') {
        if (!sourceNodes.includes(id)) sourceNodes.push(id);
        return;
      }
      if (node.kind === 'shuffle') {
        if (!shuffleReads.includes(id)) {
          shuffleReads.push(id);
          parentStages.push(mapStage(node.id));
        }
        return;
      }
      for (const p of parentsOf(node)) visit(p);
    };
    // The final node of a shuffle-map stage is the shuffle's parent; it is
    // computed (not read) even when it is itself a shuffle (reduce side).
    visit(finalNode);
    const stage: PlannedStage = {
      id: stages.length,
      kind,
      finalNode,
      numPartitions: partitions[finalNode]!,
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
    const parent = parentsOf(shuffle)[0]!;
    const stage = buildStage(parent, 'shuffleMap', { shuffleNode: shuffleNodeId });
    mapStageOf.set(shuffleNodeId, stage.id);
    return stage.id;
  };

  for (const out of graph.outputs) buildStage(out.id, 'result', { outputNode: out.id });

  const datasets: DatasetPlan[] = graph.nodes.map((n) => ({
    nodeId: n.id,
    operator: operatorLabel(n),
    dependency: n.kind === 'source' ? 'SOURCE' : n.kind === 'shuffle' ? 'SHUFFLE' : 'NARROW',
    parents: parentsOf(n),
    numPartitions: partitions[n.id]!,
  }));
  return { stages, partitions, datasets };
}

function partitionCount(
  node: GraphNode,
  known: number[],
  blockCounts: ReadonlyMap<string, number>,
  defaultParallelism: number,
): number {
  switch (node.kind) {
    case 'source':
      return blockCounts.get(node.stream) ?? 0;
    case 'shuffle':
      return node.numPartitions ?? Math.max(1, defaultParallelism);
    default:
      return known[node.parent]!;
  }
}
