/**
 * The job graph: every D-Stream a job defines is a node, numbered by the order
 * in which the job's code created it. The scheduler and every executor run the
 * same bundle and so build the same numbering; a task names an operator by that
 * number and never ships a closure.
 *
 * A node knows how each of its partitions depends on its parents:
 *  - source:  partition p is receiver block p of the batch (no parent);
 *  - narrow:  partition p is computed from partition p of its parent;
 *  - shuffle: every partition reads one bucket of every parent partition, so
 *             it starts a new stage (Spark's ShuffleDependency).
 */

export type UserFn = (...args: never[]) => unknown;

export type NarrowOp = 'map' | 'flatMap' | 'filter' | 'mapValues' | 'flatMapValues' | 'mapPartitions';
export type ShuffleOp = 'reduceByKey' | 'groupByKey';

export interface SourceNode {
  kind: 'source';
  id: number;
  op: 'receiverStream';
  stream: string;
}

export interface NarrowNode {
  kind: 'narrow';
  id: number;
  op: NarrowOp;
  parent: number;
  fn: UserFn;
}

export interface ShuffleNode {
  kind: 'shuffle';
  id: number;
  op: ShuffleOp;
  parent: number;
  /** Combines two values of a key (reduceByKey); absent for groupByKey. */
  reduce?: (a: unknown, b: unknown) => unknown;
  /** Explicit partition count, or undefined for the cluster's default parallelism. */
  numPartitions?: number;
}

export interface OutputNode {
  kind: 'output';
  id: number;
  op: 'output' | 'print';
  parent: number;
  /** Unique per job; `print()` outputs are named `print-<id>`. */
  name: string;
  /** For print(n): how many records the scheduler logs per batch. */
  printLimit?: number;
}

export type GraphNode = SourceNode | NarrowNode | ShuffleNode | OutputNode;

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
  return node.kind === 'source' ? [] : [node.parent];
}

export function operatorLabel(node: GraphNode): string {
  switch (node.kind) {
    case 'source':
      return `receiverStream(${node.stream})`;
    case 'output':
      return `${node.op}(${node.name})`;
    default:
      return node.op;
  }
}

export class JobGraph {
  readonly nodes: GraphNode[] = [];

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

  get streams(): string[] {
    return [...new Set(this.sources.map((s) => s.stream))].sort();
  }

  spec(): GraphNodeSpec[] {
    return this.nodes.map((n) => ({
      id: n.id,
      kind: n.kind,
      op: n.op,
      parents: parentsOf(n),
      ...(n.kind === 'source' ? { stream: n.stream } : {}),
      ...(n.kind === 'output' ? { output: n.name } : {}),
      ...(n.kind === 'shuffle' && n.numPartitions !== undefined ? { numPartitions: n.numPartitions } : {}),
    }));
  }
}
