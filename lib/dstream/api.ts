/**
 * The D-Stream API jobs are written against (`import { defineJob } from 'rivulet'`).
 * Names follow Spark Streaming's DStream / PairDStreamFunctions in camelCase;
 * key-value pairs are `[key, value]` tuples.
 *
 * Calling these methods only records nodes in the job graph (lib/dstream/graph.ts);
 * nothing runs until the scheduler plans a batch. A job's build function must
 * therefore be deterministic: every process that loads the bundle has to build
 * the same graph in the same order.
 */
import { JobDefinitionError } from './errors.js';
import { JobGraph, type GraphNode, type NarrowOp } from './graph.js';

export const JOB_MARK = Symbol.for('rivulet.job');

export interface JobOptions {
  /** Display name (defaults to the submitted file's name). */
  name?: string;
}

export interface JobDefinition {
  readonly [JOB_MARK]: true;
  readonly build: (ctx: StreamingContext) => void;
  readonly options: JobOptions;
}

/** Declare a streaming job. The module must `export default defineJob(...)`. */
export function defineJob(build: (ctx: StreamingContext) => void, options: JobOptions = {}): JobDefinition {
  if (typeof build !== 'function') throw new JobDefinitionError('defineJob(build): build must be a function');
  return { [JOB_MARK]: true, build, options };
}

export function isJobDefinition(value: unknown): value is JobDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[JOB_MARK] === true;
}

export type Pair<K, V> = readonly [K, V];

/** What a job's build function receives: the entry point to its input streams. */
export class StreamingContext {
  /** @internal */
  constructor(readonly graph: JobGraph) {}

  /** Records pushed by clients to the receiver under `name`; one partition per receiver block. */
  receiverStream<T = string>(name: string): DStream<T> {
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(name)) {
      throw new JobDefinitionError(
        `receiverStream(${JSON.stringify(name)}): a stream name is 1-128 letters, digits or _ . : -`,
      );
    }
    return new DStream<T>(this.graph, this.graph.add({ kind: 'source', op: 'receiverStream', stream: name }));
  }
}

function requireFn(op: string, fn: unknown): void {
  if (typeof fn !== 'function') throw new JobDefinitionError(`${op}(fn): fn must be a function, got ${typeof fn}`);
}

function checkPartitions(op: string, n: number | undefined): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 10_000)) {
    throw new JobDefinitionError(`${op}: numPartitions must be an integer between 1 and 10000, got ${n}`);
  }
}

export class DStream<T> {
  /** @internal */
  constructor(
    protected readonly graph: JobGraph,
    /** @internal */ readonly node: GraphNode,
  ) {}

  private narrow<U>(op: NarrowOp, fn: unknown): DStream<U> {
    requireFn(op, fn);
    return new DStream<U>(this.graph, this.graph.add({ kind: 'narrow', op, parent: this.node.id, fn: fn as never }));
  }

  map<U>(fn: (value: T) => U): DStream<U> {
    return this.narrow('map', fn);
  }

  flatMap<U>(fn: (value: T) => Iterable<U>): DStream<U> {
    return this.narrow('flatMap', fn);
  }

  filter(fn: (value: T) => boolean): DStream<T> {
    return this.narrow('filter', fn);
  }

  /** fn sees all records of one partition at once and returns the new ones. */
  mapPartitions<U>(fn: (values: T[]) => Iterable<U>): DStream<U> {
    return this.narrow('mapPartitions', fn);
  }

  mapValues<K, V, U>(this: DStream<Pair<K, V>>, fn: (value: V) => U): DStream<Pair<K, U>> {
    return this.narrow('mapValues', fn);
  }

  flatMapValues<K, V, U>(this: DStream<Pair<K, V>>, fn: (value: V) => Iterable<U>): DStream<Pair<K, U>> {
    return this.narrow('flatMapValues', fn);
  }

  /** Merge the values of each key with an associative, commutative fn (combined map-side first). */
  reduceByKey<K, V>(this: DStream<Pair<K, V>>, fn: (a: V, b: V) => V, numPartitions?: number): DStream<Pair<K, V>> {
    requireFn('reduceByKey', fn);
    checkPartitions('reduceByKey', numPartitions);
    return new DStream<Pair<K, V>>(
      this.graph,
      this.graph.add({ kind: 'shuffle', op: 'reduceByKey', parent: this.node.id, reduce: fn as never, numPartitions }),
    );
  }

  /** All values of each key, as `[key, values[]]`. */
  groupByKey<K, V>(this: DStream<Pair<K, V>>, numPartitions?: number): DStream<Pair<K, V[]>> {
    checkPartitions('groupByKey', numPartitions);
    return new DStream<Pair<K, V[]>>(
      this.graph,
      this.graph.add({ kind: 'shuffle', op: 'groupByKey', parent: this.node.id, numPartitions }),
    );
  }

  /**
   * Publish every batch of this stream as the job output `name`: committed once
   * per batch by the scheduler and readable with `rivulet tail` / WatchOutput.
   */
  output(name: string): void {
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(name)) {
      throw new JobDefinitionError(`output(${JSON.stringify(name)}): an output name is 1-128 letters, digits or _ . : -`);
    }
    if (this.graph.outputs.some((o) => o.name === name)) {
      throw new JobDefinitionError(`output(${JSON.stringify(name)}): the job already has an output with that name`);
    }
    this.graph.add({ kind: 'output', op: 'output', parent: this.node.id, name });
  }

  /** Log the first `n` records of every batch in the scheduler's log (Spark's DStream.print). */
  print(n = 10): void {
    if (!Number.isInteger(n) || n < 1) throw new JobDefinitionError(`print(n): n must be a positive integer, got ${n}`);
    const id = this.graph.nodes.length;
    this.graph.add({ kind: 'output', op: 'print', parent: this.node.id, name: `print-${id}`, printLimit: n });
  }
}
