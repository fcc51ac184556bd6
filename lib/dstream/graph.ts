/**
 * The job graph: every D-Stream a job defines is a node, numbered by the order
 * in which the job's code created it. The scheduler and every executor run the
 * same bundle and so build the same numbering; a task names an operator by that
 * number and never ships a closure. Operators Rivulet builds out of others
 * (count = map + reduceByKey + mapPartitions, join = cogroup + flatMapValues)
 * are ordinary nodes with built-in functions, so they are numbered the same way.
 *
 * A node knows how each of its partitions depends on its parents:
 *  - source:  partition p is input block p of the batch (no parent);
 *  - narrow:  partition p is computed from partition p of its one parent;
 *  - union:   narrow with an offset mapping: its partitions are its parents'
 *             partitions concatenated (parent 0's first), so partition p reads
 *             exactly one partition of exactly one parent;
 *  - shuffle: every partition reads one bucket of every partition of every
 *             parent, so it starts a new stage (Spark's ShuffleDependency).
 *             With several parents (cogroup, join) each parent's map side
 *             writes buckets tagged with its side (its index in `parents`);
 *             map partitions are numbered globally, parent 0's first.
 *
 * A source may generate NO dataset in a batch (a queue stream given `null`:
 * Spark's "no RDD for this time"); planner.ts decides, per batch, which nodes
 * have a dataset, following Spark.
 *
 * A node never lists the same parent twice: the API inserts an `identity`
 * node for self-unions and self-joins, so that a partition's lineage (and the
 * map side of a shuffle) is unambiguous.
 */
import type { SinkSpec } from '../sinks/spec.js';

import { deadLetterOutput, type JetStreamSourceSpec } from '../sources/jetstream-ranges.js';

export type UserFn = (...args: never[]) => unknown;

export type NarrowOp = 'map' | 'flatMap' | 'filter' | 'mapValues' | 'flatMapValues' | 'mapPartitions' | 'glom' | 'identity';

/**
 * - combineByKey: records are `[k, v]`; map side folds values into combiners
 *   (when `mapSideCombine`), reduce side merges them (reduceByKey, countByValue, count, reduce);
 * - groupByKey:   `[k, v]` → `[k, v[]]`, no map-side combine (as Spark);
 * - repartition:  any records, spread round-robin over the reduce partitions;
 * - cogroup:      `[k, v]` of every parent → `[k, [v0[], v1[], ...]]`.
 */
export type ShuffleOp = 'combineByKey' | 'groupByKey' | 'repartition' | 'cogroup';

export type SourceOp = 'receiverStream' | 'queueStream' | 'jetStream';

export interface SourceNode {
  kind: 'source';
  id: number;
  op: SourceOp;
  /** The input's name in the job: the receiver stream, queue stream, or JetStream source name. */
  stream: string;
  /** jetStream sources: the compiled options (lib/sources/jetstream-ranges.ts). */
  jetStream?: JetStreamSourceSpec;
}

export interface NarrowNode {
  kind: 'narrow';
  id: number;
  op: NarrowOp;
  parent: number;
  /** Absent for glom and identity. */
  fn?: UserFn;
  /** The user-facing operator this node implements, when not `op` (e.g. join, count). */
  label?: string;
  /** See `strict` on ShuffleNode (count, transform's inputs). */
  strict?: boolean;
}

export interface UnionNode {
  kind: 'union';
  id: number;
  op: 'union';
  parents: number[];
}

export interface Aggregator {
  createCombiner: (v: unknown) => unknown;
  mergeValue: (c: unknown, v: unknown) => unknown;
  mergeCombiners: (a: unknown, b: unknown) => unknown;
}

export interface ShuffleNode {
  kind: 'shuffle';
  id: number;
  op: ShuffleOp;
  parents: number[];
  /** combineByKey only. */
  aggregator?: Aggregator;
  /** combineByKey only: combine on the map side before writing buckets. */
  mapSideCombine?: boolean;
  /** Explicit partition count, or undefined for the cluster's default parallelism. */
  numPartitions?: number;
  /** Set on the values shuffle of a state node (its id): partitioned as the state is, whatever numPartitions says. */
  stateOf?: number;
  /** The user-facing operator (reduceByKey, countByValue, join, ...), when not `op`. */
  label?: string;
  /**
   * Spark builds this operator on transform/transformWith (repartition,
   * cogroup and the joins; count; transform itself), which fail when a parent
   * generated no dataset in the batch; a union always is. See planner.ts.
   */
  strict?: boolean;
}
export type OutputOp = 'output' | 'print' | 'foreachBatch';

export interface OutputNode {
  kind: 'output';
  id: number;
  op: OutputOp;
  parent: number;
  /** Unique per job; `print()` outputs are `print-<id>`, `foreachBatch()` ones `foreachBatch-<id>`. */
  name: string;
  /** For print(n): how many records the scheduler logs per batch. */
  printLimit?: number;
  /** For foreachBatch: run for the scheduler, in the job's sandbox worker, with the batch's records. */
  fn?: (records: unknown[], batchTimeMs: number) => unknown;
  /** For output(name): where else each committed batch is written, exactly once (lib/sinks/). */
  sink?: SinkSpec;
}

/**
 * A window over earlier batches of its parent (Spark's WindowedDStream and
 * ReducedWindowedDStream). It generates a dataset only at its slide times and
 * reads the parent's partitions of earlier batches, which the scheduler keeps
 * as cached blocks (see planner.ts `WindowContext`), so within a batch it is a
 * leaf, like a source.
 *  - op 'window':  the union of the parent's partitions over the window
 *                  (oldest batch first), without a shuffle;
 *  - op 'reduceByKeyAndWindow' (with an inverse function): the parent is the
 *                  per-batch `reduceByKey`; partition p merges the window's own
 *                  previous result with the reduced values of the batches that
 *                  left and entered the window (keys hash-partitioned into
 *                  `numPartitions`), as Spark's ReducedWindowedDStream.
 * Durations are ms; they must be multiples of the batch interval (checked
 * when the batch interval is known: job submission and planning).
 */
export interface WindowNode {
  kind: 'window';
  id: number;
  op: 'window' | 'reduceByKeyAndWindow';
  parent: number;
  windowMs: number;
  slideMs: number;
  /** The user-facing operator (countByWindow, ...), when not `op`. */
  label?: string;
  /** reduceByKeyAndWindow only. */
  reduceFn?: (a: unknown, b: unknown) => unknown;
  invFn?: (a: unknown, b: unknown) => unknown;
  filterFn?: (record: unknown) => unknown;
  numPartitions?: number;
}

/**
 * Per-key state carried from batch to batch (Spark's StateDStream and
 * InternalMapWithStateDStream). Its parent is the per-batch `groupByKey` of
 * the user's pairs (the API inserts it, with the state's partition count, see
 * `valuesOf`); partition p of batch t is computed from partition p of the
 * state of the previous batch (kept as a cached block, or rebuilt from the
 * last checkpoint by replaying the values of the batches since: see
 * planner.ts `StateRead`) and partition p of the values of batch t. So, like
 * a window, the state is read across batches and is always kept as cached
 * blocks; unlike a window it is generated every batch (its slide is its
 * parent's).
 *
 * A state partition's records are internal: `[0, key, state, updatedAtMs]`
 * for every key with state and `[1, mapped]` for every record the mapping
 * function emitted this batch (mapWithState). The user-facing streams are
 * narrow nodes over it (`stateEntries`, `mappedRecords` in api.ts).
 */
export interface StateNode {
  kind: 'state';
  id: number;
  op: 'updateStateByKey' | 'mapWithState';
  /** The per-batch values (a groupByKey shuffle node). */
  parent: number;
  /** updateStateByKey: (newValues, previousState | undefined) => newState | undefined/null (removes). */
  /** (values, state), or Spark's time-aware (batchTimeMs, key, values, state) when it declares four parameters. */
  updateFn?: (...args: unknown[]) => unknown;
  /** mapWithState: (key, value | undefined, state) => mapped | undefined (emits nothing). */
  mappingFn?: (key: unknown, value: unknown, state: unknown) => unknown;
  /** mapWithState: keys idle for longer than this (ms) time out. */
  timeoutMs?: number;
  /** `[key, state]` pairs every key starts with (Spark's initialRDD / StateSpec.initialState). */
  initialState?: unknown[];
  /** Fixed partition count; otherwise the cluster's default parallelism when the state is first created. */
  numPartitions?: number;
}

export type GraphNode = SourceNode | NarrowNode | UnionNode | ShuffleNode | OutputNode | WindowNode | StateNode;

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** The function-free description of a graph, for the scheduler and lineage. */
export interface GraphNodeSpec {
  id: number;
  kind: GraphNode['kind'];
  op: string;
  parents: number[];
  stream?: string;
  output?: string;
  numPartitions?: number;
}

export function parentsOf(node: GraphNode): number[] {
  switch (node.kind) {
    case 'source':
      return [];
    case 'union':
    case 'shuffle':
      return node.parents;
    default:
      return [node.parent];
  }
}

export function operatorLabel(node: GraphNode): string {
  switch (node.kind) {
    case 'source':
      return `${node.op}(${node.stream})`;
    case 'output':
      return `${node.op}(${node.name})`;
    case 'narrow':
    case 'shuffle':
    case 'window':
      return node.label ?? node.op;
    case 'state':
      return node.op;
    default:
      return node.op;
  }
}

/** Window nodes of a graph, and every node some window reads earlier batches of. */
export function windowNodes(graph: JobGraph): WindowNode[] {
  return graph.nodes.filter((n): n is WindowNode => n.kind === 'window');
}

/** State nodes of a graph (updateStateByKey, mapWithState). */
export function stateNodes(graph: JobGraph): StateNode[] {
  return graph.nodes.filter((n): n is StateNode => n.kind === 'state');
}

/** Whether batches of the job read datasets of earlier batches (windows, state). */
export function readsEarlierBatches(graph: JobGraph): boolean {
  return graph.nodes.some((n) => n.kind === 'window' || n.kind === 'state');
}

/**
 * The key under which a source's input blocks of one batch are known
 * (BatchRun.inputs, planBatch's blockCounts): the stream name, for receiver
 * and queue streams alike. A job may not use one name for both kinds.
 */
export function sourceInputKey(node: SourceNode): string {
  return node.stream;
}

export class JobGraph {
  readonly nodes: GraphNode[] = [];
  /** @internal >0 while a transform()/transformWith() function builds its sub-graph. */
  transformDepth = 0;

  /** A graph from node descriptions built elsewhere (sandbox.ts): ids are their positions. */
  static fromNodes(nodes: readonly GraphNode[]): JobGraph {
    const graph = new JobGraph();
    nodes.forEach((n, i) => {
      if (n.id !== i) throw new RangeError(`node ${i} of a described graph has id ${n.id}`);
      graph.nodes.push(n);
    });
    return graph;
  }

  add(node: WithoutId<GraphNode>): GraphNode {
    const withId = { ...node, id: this.nodes.length } as GraphNode;
    this.nodes.push(withId);
    return withId;
  }

  node(id: number): GraphNode {
    const n = this.nodes[id];
    if (!n) throw new RangeError(`no node ${id} in job graph of ${this.nodes.length} nodes`);
    return n;
  }

  get sources(): SourceNode[] {
    return this.nodes.filter((n): n is SourceNode => n.kind === 'source');
  }

  get outputs(): OutputNode[] {
    return this.nodes.filter((n): n is OutputNode => n.kind === 'output');
  }

  /** Receiver streams read by the job (the receiver accepts pushes to these). */
  get streams(): string[] {
    return [...new Set(this.sources.filter((s) => s.op === 'receiverStream').map((s) => s.stream))].sort();
  }

  /** JetStream direct sources (ctx.jetStream): read by the executors straight from JetStream, ranges decided by the scheduler. */
  get jetStreamSources(): Array<SourceNode & { jetStream: JetStreamSourceSpec }> {
    return this.sources.filter((s): s is SourceNode & { jetStream: JetStreamSourceSpec } => s.op === 'jetStream' && s.jetStream !== undefined);
  }

  /** The dead-letter output of every JetStream source (`<source>.dead-letter`): committed every batch like `output(name)`. */
  get deadLetterOutputs(): string[] {
    return this.jetStreamSources.map((s) => deadLetterOutput(s.stream));
  }

  /** Every output name a client may watch: `output(name)` / print nodes and the dead-letter outputs. */
  get outputNames(): string[] {
    return [...this.outputs.map((o) => o.name), ...this.deadLetterOutputs];
  }

  /** Every input a clocked batch waits for before it may run: receiver streams and JetStream sources. */
  get inputKeys(): string[] {
    return [...this.streams, ...this.jetStreamSources.map((s) => s.stream)];
  }

  /** Queue streams (ctx.queueStream): fed per batch by a driver, never by the receiver. */
  get queueStreams(): string[] {
    return [...new Set(this.sources.filter((s) => s.op === 'queueStream').map((s) => s.stream))].sort();
  }

  spec(): GraphNodeSpec[] {
    return this.nodes.map((n) => ({
      id: n.id,
      kind: n.kind,
      op: n.op,
      parents: parentsOf(n),
      ...(n.kind === 'source' ? { stream: n.stream } : {}),
      ...(n.kind === 'output' ? { output: n.name } : {}),
      ...((n.kind === 'shuffle' || n.kind === 'window' || n.kind === 'state') && n.numPartitions !== undefined ? { numPartitions: n.numPartitions } : {}),
    }));
  }
}
