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
import { JobDefinitionError } from './errors.js';
import { operatorLabel, parentsOf, readsEarlierBatches, sourceInputKey, type GraphNode, type JobGraph, type StateNode, type WindowNode } from './graph.js';

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
  /**
   * persist: computes every partition of `persistNode` and keeps each as a
   * cached block on its executor, for windows of later batches (see WindowContext).
   */
  kind: 'shuffleMap' | 'result' | 'persist';
  /** The node whose partitions this stage's tasks compute (shuffleMap: the first side's). */
  finalNode: number;
  /** What the tasks compute: one side for a result stage, one per shuffle parent for a shuffleMap stage. */
  sides: StageSide[];
  /** shuffleMap: the shuffle node this stage writes buckets for. */
  shuffleNode?: number;
  /** result: the output node. */
  outputNode?: number;
  /** persist: the node whose partitions are cached. */
  persistNode?: number;
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
  /** Parents of earlier batches (a state's previous state), after `parents`. */
  earlierParents?: Array<{ nodeId: number; batchTimeMs: number }>;
  numPartitions: number;
}

export interface BatchPlan {
  stages: PlannedStage[];
  /** Partition count of every node. */
  partitions: number[];
  datasets: DatasetPlan[];
  /** What each window node generated this batch reads (by node id). */
  windows: Map<number, WindowRead>;
  /** Nodes whose partitions this batch keeps as cached blocks (a persist stage each). */
  persisted: number[];
  /** What each state node generated this batch reads (by node id). */
  states: Map<number, StateRead>;
  /** The batch's time, when planned with a window context. */
  batchTimeMs?: number;
}

/**
 * A state node's inputs in one batch: the previous batch's state (absent when
 * the state starts now, from its initial state), the values of this batch
 * (the state's parent, cached: absent when the parent generated no dataset),
 * and whether this batch checkpoints the state. Partition p of the state
 * reads partition p of each (the state's partition count never changes).
 * When the previous state partition is lost on every executor, the scheduler
 * replaces it with the last checkpoint and the values of the batches since
 * (TaskSpec.state_replay).
 */
export interface StateRead {
  nodeId: number;
  previous?: CachedRead;
  /** The values dataset (the state's parent) of this batch, when generated. */
  values?: CachedRead;
  numPartitions: number;
  checkpoint: boolean;
}

/** One dataset of one batch, kept as cached blocks. */
export interface CachedRead {
  nodeId: number;
  batchTimeMs: number;
  numPartitions: number;
}

/**
 * A window node's inputs in one batch. op 'window': `slices`, the parent's
 * datasets in the window, oldest first (its partitions are theirs,
 * concatenated). op 'reduceByKeyAndWindow': the window's own previous result
 * (absent for the first window), the reduced batches that left the window
 * (`old`) and those that entered it (`added`); `numPartitions` key partitions.
 */
export interface WindowRead {
  nodeId: number;
  slices: CachedRead[];
  previous?: CachedRead;
  old: CachedRead[];
  added: CachedRead[];
  numPartitions: number;
}

/**
 * What the planner needs to plan windows: the batch's time, the job's zero
 * time (the first batch time minus one interval; Spark's zeroTime), and which
 * datasets of earlier batches are kept as cached blocks.
 */
export interface WindowContext {
  batchTimeMs: number;
  batchIntervalMs: number;
  zeroTimeMs: number;
  /** Partition count of a cached dataset of an earlier batch, or undefined when none is kept (none was generated). */
  cachedPartitions(nodeId: number, batchTimeMs: number): number | undefined;
  /** State jobs: batches whose time since the zero time is a multiple of this checkpoint their state. */
  checkpointIntervalMs?: number;
}

/**
 * The slide (ms) of every node: the batch interval for sources, `slideMs` (or
 * the parent's slide) for windows, the parents' for everything else. Throws
 * JobDefinitionError, with Spark's rules, when a window's duration or slide
 * is not a multiple of its parent's slide, or when streams with different
 * slides are combined (union, cogroup/join).
 */
export function nodeSlides(graph: JobGraph, batchIntervalMs: number): number[] {
  const slides: number[] = [];
  const fmt = (ms: number) => `${ms} ms`;
  for (const node of graph.nodes) {
    if (node.kind === 'source') {
      slides[node.id] = batchIntervalMs;
      continue;
    }
    const parents = parentsOf(node);
    const ps = slides[parents[0]!]!;
    if (node.kind === 'window') {
      const label = operatorLabel(node);
      const slide = node.slideMs || ps;
      if (node.windowMs % ps !== 0) {
        throw new JobDefinitionError(
          `${label} (node ${node.id}): the window duration ${fmt(node.windowMs)} must be a multiple of the parent's slide duration ${fmt(ps)}` +
            (ps === batchIntervalMs ? ' (the batch interval)' : ''),
        );
      }
      if (slide % ps !== 0) {
        throw new JobDefinitionError(
          `${label} (node ${node.id}): the slide duration ${fmt(slide)} must be a multiple of the parent's slide duration ${fmt(ps)}` +
            (ps === batchIntervalMs ? ' (the batch interval)' : ''),
        );
      }
      slides[node.id] = slide;
      continue;
    }
    const other = parents.find((p) => slides[p] !== ps);
    if (other !== undefined) {
      throw new JobDefinitionError(
        `${operatorLabel(node)} (node ${node.id}) combines streams with different slide durations (${fmt(ps)} and ${fmt(slides[other]!)}); ` +
          'as in Spark, they must be equal',
      );
    }
    slides[node.id] = ps;
  }
  return slides;
}

/** Nodes whose datasets later batches read: every window's parent, and inverse-reduce windows themselves. */
export function cachedNodes(graph: JobGraph): number[] {
  const out = new Set<number>();
  for (const n of graph.nodes) {
    if (n.kind === 'state') {
      out.add(n.parent);
      out.add(n.id);
    }
    if (n.kind !== 'window') continue;
    out.add(n.parent);
    if (n.op === 'reduceByKeyAndWindow') out.add(n.id);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Nodes read from their cached blocks by the other stages of the same batch
 * instead of being recomputed: a state (recomputing would run the user's
 * state function twice) and its values. Window inputs are recomputed
 * (pipelined), as before.
 */
function readFromCache(node: GraphNode): boolean {
  return node.kind === 'state' || (node.kind === 'shuffle' && node.stateOf !== undefined);
}

/** The key a task finds a partition of a dataset cached in this batch under (runtime.ts cachedKey). */
export function cachedInputKey(nodeId: number, partition: number): string {
  return `c${nodeId}:${partition}`;
}

/** Keys of a state task's inputs (runtime.ts computeState). */
export const STATE_KEYS = {
  previous: 's/prev',
  checkpoint: 's/ckpt',
  values: 's/vals',
  replay: (batchTimeMs: number) => `s/r/${batchTimeMs}`,
} as const;

/**
 * How long (ms, back from the latest completed batch) a cached dataset of
 * each node must be kept: a dataset of batch b is still needed while
 * b > latest - retention (a window reads (t - w, t]; an inverse window also
 * the batches that just left it, and its own previous result).
 */
export function cacheRetention(graph: JobGraph, batchIntervalMs: number): Map<number, number> {
  const slides = nodeSlides(graph, batchIntervalMs);
  const out = new Map<number, number>();
  const keep = (id: number, ms: number) => out.set(id, Math.max(out.get(id) ?? 0, ms));
  for (const n of graph.nodes) {
    if (n.kind === 'state') {
      // The previous state, until the next batch is done with it. The values
      // are kept until a checkpoint covers their batch (the scheduler's rule:
      // they are what a lost state is replayed from).
      keep(n.id, slides[n.id]!);
      keep(n.parent, Number.POSITIVE_INFINITY);
      continue;
    }
    if (n.kind !== 'window') continue;
    const s = slides[n.id]!;
    if (n.op === 'reduceByKeyAndWindow') {
      keep(n.parent, n.windowMs + s);
      keep(n.id, s);
    } else keep(n.parent, n.windowMs);
  }
  return out;
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
  /**
   * Input partitions of source datasets it reads; for a window, cached
   * partitions of (`nodeId`, `batchTimeMs`), which the task finds under `key`.
   */
  blocks: Array<{ nodeId: number; partition: number; batchTimeMs?: number; key?: string }>;
  /** Reduce partitions of shuffles it reads. */
  shuffles: Array<{ nodeId: number; reducePartition: number }>;
}

/**
 * @param blockCounts input blocks of each source (by `sourceInputKey`) in this batch
 * @param defaultParallelism reduce partitions for shuffles that name none
 */
export function planBatch(
  graph: JobGraph,
  blockCounts: ReadonlyMap<string, number>,
  defaultParallelism: number,
  windowCtx?: WindowContext,
): BatchPlan {
  const hasWindows = readsEarlierBatches(graph);
  if (hasWindows && !windowCtx) throw new BatchPlanError('the job reads earlier batches (windows, state) but the batch was planned without a window context');
  const slides = windowCtx ? nodeSlides(graph, windowCtx.batchIntervalMs) : undefined;
  const generated = generatedDatasets(graph, blockCounts, windowCtx, slides);
  // A state keeps the partition count it started with (its keys stay where they are).
  const previousState = new Map<number, CachedRead>();
  const stateParts = new Map<number, number>();
  for (const node of graph.nodes) {
    if (node.kind !== 'state' || generated[node.id] !== true) continue;
    const prev = previousStateOf(node, windowCtx!, slides!);
    if (prev) previousState.set(node.id, prev);
    stateParts.set(node.id, prev?.numPartitions ?? node.numPartitions ?? Math.max(1, defaultParallelism));
  }
  const partitions: number[] = [];
  const windows = new Map<number, WindowRead>();
  for (const node of graph.nodes) {
    if (node.kind === 'window' && generated[node.id] === true) {
      const read = windowRead(node, windowCtx!, slides!, generated, partitions, defaultParallelism);
      windows.set(node.id, read);
      partitions[node.id] = node.op === 'window' ? read.slices.reduce((n, d) => n + d.numPartitions, 0) : read.numPartitions;
      continue;
    }
    const ownCount = node.kind === 'state' ? node.id : node.kind === 'shuffle' ? node.stateOf : undefined;
    if (ownCount !== undefined && generated[node.id] === true && stateParts.has(ownCount)) {
      partitions[node.id] = stateParts.get(ownCount)!;
      continue;
    }
    partitions[node.id] = generated[node.id] === true ? partitionCount(node, partitions, blockCounts, defaultParallelism) : 0;
  }
  const states = new Map<number, StateRead>();
  for (const [nodeId, numPartitions] of stateParts) {
    const node = graph.node(nodeId) as StateNode;
    const T0 = windowCtx!.batchTimeMs;
    const every = windowCtx!.checkpointIntervalMs ?? 0;
    const previous = previousState.get(nodeId);
    states.set(nodeId, {
      nodeId,
      ...(previous ? { previous } : {}),
      ...(generated[node.parent] === true ? { values: { nodeId: node.parent, batchTimeMs: T0, numPartitions } } : {}),
      numPartitions,
      checkpoint: every > 0 && (T0 - windowCtx!.zeroTimeMs) % every === 0,
    });
  }

  const stages: PlannedStage[] = [];
  const mapStageOf = new Map<number, number>();
  const persistStageOf = new Map<number, number>();
  const T = windowCtx?.batchTimeMs;

  const buildStage = (sideNodes: number[], kind: PlannedStage['kind'], extra: Partial<PlannedStage>): PlannedStage => {
    const sourceNodes: number[] = [];
    const shuffleReads: number[] = [];
    const parentStages: number[] = [];
    const seen = new Set<number>();
    const visit = (id: number) => {
      if (seen.has(id)) return;
      seen.add(id);
      const node = graph.node(id);
      if (readFromCache(node) && !(kind === 'persist' && sideNodes.includes(id))) {
        // Computed by its own persist stage; read here from its cached blocks.
        const parent = persistStage(id);
        if (!parentStages.includes(parent)) parentStages.push(parent);
        return;
      }
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
      if (node.kind === 'window') {
        // A leaf: it reads cached blocks, this batch's from persist stages.
        const read = windows.get(id);
        for (const d of read ? [...read.slices, ...read.old, ...read.added] : []) {
          if (d.batchTimeMs !== T) continue;
          const parent = persistStage(d.nodeId);
          if (!parentStages.includes(parent)) parentStages.push(parent);
        }
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

  const persistStage = (nodeId: number): number => {
    const known = persistStageOf.get(nodeId);
    if (known !== undefined) return known;
    const stage = buildStage([nodeId], 'persist', { persistNode: nodeId });
    persistStageOf.set(nodeId, stage.id);
    return stage.id;
  };

  for (const out of graph.outputs) {
    const g = generated[out.id]!;
    if (typeof g === 'string') throw new BatchPlanError(g);
    // An output over a stream that generated no dataset does not run this batch.
    if (g) buildStage([out.id], 'result', { outputNode: out.id });
  }
  // Every dataset a later window reads is kept, whether or not an output ran on it now.
  const persisted: number[] = [];
  if (hasWindows) {
    for (const id of cachedNodes(graph)) {
      const g = generated[id]!;
      if (typeof g === 'string') throw new BatchPlanError(g);
      if (!g) continue;
      persistStage(id);
      persisted.push(id);
    }
  }

  const datasets: DatasetPlan[] = graph.nodes.map((n) => {
    const read = n.kind === 'state' ? states.get(n.id) : undefined;
    if (read) {
      // Partition p of a state is made of partition p of this batch's values
      // and of the previous state: narrow, one parent crossing batches (a
      // checkpoint of it cuts the chain). Started from its initial state
      // with no values, it reads nothing lineage knows: a source.
      const parents = read.values ? [(n as StateNode).parent] : [];
      const earlierParents = read.previous ? [{ nodeId: n.id, batchTimeMs: read.previous.batchTimeMs }] : [];
      return {
        nodeId: n.id,
        operator: operatorLabel(n),
        dependency: parents.length + earlierParents.length === 0 ? 'SOURCE' : 'NARROW',
        parents,
        ...(earlierParents.length > 0 ? { earlierParents } : {}),
        numPartitions: partitions[n.id]!,
      };
    }
    return {
      nodeId: n.id,
      operator: operatorLabel(n),
      // A window reads earlier batches (kept by the scheduler's cache registry,
      // not by lineage): lineage sees a wide dependency on its parent.
      dependency: n.kind === 'source' ? 'SOURCE' : n.kind === 'shuffle' || n.kind === 'window' ? 'SHUFFLE' : 'NARROW',
      parents: parentsOf(n),
      numPartitions: partitions[n.id]!,
    };
  });
  return { stages, partitions, datasets, windows, persisted, states, ...(windowCtx ? { batchTimeMs: windowCtx.batchTimeMs } : {}) };
}

/** The state dataset of the batch before (when it generated one): what this batch's state starts from. */
function previousStateOf(node: StateNode, ctx: WindowContext, slides: number[]): CachedRead | undefined {
  const prevTime = ctx.batchTimeMs - slides[node.id]!;
  if (prevTime <= ctx.zeroTimeMs) return undefined;
  const n = ctx.cachedPartitions(node.id, prevTime);
  return n === undefined ? undefined : { nodeId: node.id, batchTimeMs: prevTime, numPartitions: n };
}

/** Times in [from, to] stepping by `step`, after the zero time (Spark's DStream.slice). */
function timesIn(from: number, to: number, step: number, zero: number): number[] {
  const out: number[] = [];
  for (let t = from; t <= to; t += step) if (t > zero) out.push(t);
  return out;
}

function windowRead(
  node: WindowNode,
  ctx: WindowContext,
  slides: number[],
  generated: Array<boolean | string>,
  partitions: number[],
  defaultParallelism: number,
): WindowRead {
  const t = ctx.batchTimeMs;
  const ps = slides[node.parent]!;
  const s = slides[node.id]!;
  const w = node.windowMs;
  const dataset = (nodeId: number, b: number): CachedRead | undefined => {
    if (b === t) {
      if (nodeId === node.id) return undefined;
      return generated[nodeId] === true ? { nodeId, batchTimeMs: b, numPartitions: partitions[nodeId]! } : undefined;
    }
    const n = ctx.cachedPartitions(nodeId, b);
    return n === undefined ? undefined : { nodeId, batchTimeMs: b, numPartitions: n };
  };
  const slice = (from: number, to: number) =>
    timesIn(from, to, ps, ctx.zeroTimeMs)
      .map((b) => dataset(node.parent, b))
      .filter((d): d is CachedRead => d !== undefined);
  if (node.op === 'window') {
    return { nodeId: node.id, slices: slice(t - w + ps, t), old: [], added: [], numPartitions: 0 };
  }
  // Spark's ReducedWindowedDStream.compute: current window (t - w, t], previous (t - s - w, t - s].
  const numPartitions = node.numPartitions ?? Math.max(1, defaultParallelism);
  const prevTime = t - s;
  let previous: CachedRead | undefined;
  if (prevTime > ctx.zeroTimeMs) {
    previous = dataset(node.id, prevTime);
    if (!previous) {
      throw new BatchPlanError(
        `${operatorLabel(node)} (node ${node.id}): the window's previous result (batch ${prevTime}) is no longer kept; ` +
          'it is lost with its executors and an inverse-reduce window cannot be recomputed without it',
      );
    }
  }
  return {
    nodeId: node.id,
    slices: [],
    ...(previous ? { previous } : {}),
    old: slice(t - s - w + ps, t - w),
    added: slice(t - s + ps, t),
    numPartitions,
  };
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
function generatedDatasets(
  graph: JobGraph,
  blockCounts: ReadonlyMap<string, number>,
  ctx: WindowContext | undefined,
  slides: number[] | undefined,
): Array<boolean | string> {
  const out: Array<boolean | string> = [];
  for (const node of graph.nodes) {
    if (node.kind === 'source') {
      out[node.id] = node.op !== 'queueStream' || blockCounts.has(sourceInputKey(node));
      continue;
    }
    // Spark's isTimeValid: a stream generates only at multiples of its slide after the zero time.
    if (ctx && slides) {
      const since = ctx.batchTimeMs - ctx.zeroTimeMs;
      if (since <= 0 || since % slides[node.id]! !== 0) {
        out[node.id] = false;
        continue;
      }
      // A window always generates at its slide times (the union of what its batches generated).
      if (node.kind === 'window') {
        out[node.id] = true;
        continue;
      }
      // A state generates when its parent does or it already exists (Spark's
      // StateDStream maps the old state over no new values); mapWithState
      // always does (from its initial state, possibly empty).
      if (node.kind === 'state') {
        const g = out[node.parent]!;
        if (typeof g === 'string') out[node.id] = g;
        else out[node.id] = g || node.op === 'mapWithState' || previousStateOf(node, ctx, slides) !== undefined;
        continue;
      }
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
  const own = stage.kind === 'persist' ? stage.persistNode : undefined;
  for (;;) {
    const node = graph.node(id);
    if (readFromCache(node) && id !== own) {
      tp.blocks.push({ nodeId: id, partition: p, batchTimeMs: plan.batchTimeMs!, key: cachedInputKey(id, p) });
      return tp;
    }
    switch (node.kind) {
      case 'source':
        tp.blocks.push({ nodeId: id, partition: p });
        return tp;
      case 'shuffle':
        tp.shuffles.push({ nodeId: id, reducePartition: p });
        return tp;
      case 'window':
        windowTaskBlocks(node, plan, p, tp.blocks);
        return tp;
      case 'state': {
        // The state's own persist task: the previous state and this batch's values.
        const read = plan.states.get(id);
        if (!read) throw new RangeError(`${operatorLabel(node)} (node ${id}) generated no dataset in this batch`);
        if (read.previous) tp.blocks.push({ nodeId: id, partition: p, batchTimeMs: read.previous.batchTimeMs, key: STATE_KEYS.previous });
        if (read.values) tp.blocks.push({ nodeId: read.values.nodeId, partition: p, batchTimeMs: read.values.batchTimeMs, key: STATE_KEYS.values });
        return tp;
      }
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

/**
 * Block key of one cached input of partition `p` of an inverse-reduce window:
 * `w<node>/<p>/<role>/<i>/<partition>`, role p(revious) / o(ld) / n(ew), i the
 * dataset's index in its list. The runtime groups the inputs by role.
 */
export function windowInputKey(nodeId: number, p: number, role: 'p' | 'o' | 'n', i: number, partition: number): string {
  return `w${nodeId}/${p}/${role}/${i}/${partition}`;
}

function windowTaskBlocks(node: WindowNode, plan: BatchPlan, p: number, out: TaskPlan['blocks']): void {
  const read = plan.windows.get(node.id);
  if (!read) throw new RangeError(`${operatorLabel(node)} (node ${node.id}) generated no dataset in this batch`);
  if (node.op === 'window') {
    let offset = 0;
    for (const d of read.slices) {
      if (p < offset + d.numPartitions) {
        out.push({ nodeId: d.nodeId, partition: p - offset, batchTimeMs: d.batchTimeMs, key: `${node.id}:${p}` }); // runtime.ts sourceKey
        return;
      }
      offset += d.numPartitions;
    }
    throw new RangeError(`window partition ${p} is out of range (the window has ${offset} partitions)`);
  }
  // Key-partitioned inputs with the window's partition count hold exactly
  // partition p's keys; others (the cluster's parallelism changed) are read
  // whole and filtered by key in the runtime.
  const add = (role: 'p' | 'o' | 'n', i: number, d: CachedRead) => {
    const parts = d.numPartitions === read.numPartitions ? [p] : [...Array(d.numPartitions).keys()];
    for (const q of parts) out.push({ nodeId: d.nodeId, partition: q, batchTimeMs: d.batchTimeMs, key: windowInputKey(node.id, p, role, i, q) });
  };
  if (read.previous) add('p', 0, read.previous);
  read.old.forEach((d, i) => add('o', i, d));
  read.added.forEach((d, i) => add('n', i, d));
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
