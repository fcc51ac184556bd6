/**
 * The D-Stream API jobs are written against (`import { defineJob } from 'rivulet'`).
 * Names follow Spark Streaming's DStream / PairDStreamFunctions in camelCase;
 * key-value pairs are `[key, value]` tuples.
 *
 * Calling these methods only records nodes in the job graph (lib/dstream/graph.ts);
 * nothing runs until the scheduler plans a batch. A job's build function must
 * therefore be deterministic: every process that loads the bundle has to build
 * the same graph in the same order.
 *
 * Semantics are Spark 3.x's, batch by batch. Where JavaScript forces a choice:
 *  - Records travel as MessagePack, which cannot carry `undefined`: the missing
 *    side of an outer join is `null` (Spark: `None`; `Some(v)` is just `v`).
 *  - `transform(fn)` / `transformWith(other, fn)` / `ctx.transform(streams, fn)` take a function over a
 *    distributed `Dataset` (the batch's records, built with the same operators),
 *    not over a materialised RDD. `fn` runs ONCE, when the job is built, and
 *    its operators become part of the job graph, so they run as ordinary
 *    distributed, pipelined tasks every batch. Unlike Spark, `fn` cannot look at
 *    the batch time or pick different operators per batch, and cannot call
 *    actions (outputs) on the dataset.
 *  - A stream that generates no dataset in a batch (a queue stream given
 *    `null` by the test driver; Spark's "no RDD for this time") follows Spark:
 *    per-record operators and key shuffles generate none either, and output
 *    operations over them do not run that batch; operators Spark builds on
 *    transform/union (union, join/cogroup and outer joins, repartition, count,
 *    transform, transformWith) fail the batch instead, as Spark throws
 *    "Couldn't generate RDD from parent". An EMPTY batch (no records) is a
 *    dataset: outputs run, `count()` gives `[0]`.
 */
import { JobDefinitionError } from './errors.js';
import { Output } from './output.js';
import { NAME_RULE, nameProblem } from '../names.js';
import { parseDuration } from '../config/units.js';
import type { JobGraph, Aggregator, GraphNode, NarrowOp, OutputNode, SourceOp } from './graph.js';
import { compileJetStreamOptions, deadLetterOutput, type JetStreamSourceOptions, type JetStreamSourceSpec } from '../sources/jetstream-ranges.js';

/** A duration: ms, or a string such as "2s" / "500ms" (lib/config/units.ts). */
export type Duration = string | number;

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
    return this.source<T>('receiverStream', name);
  }

  /**
   * Spark's `queueStream`: one list of records per batch, supplied by a driver
   * (`runBatches` from `rivulet/testing`), one partition per block the driver
   * cut it into. A batch for which the driver supplied `null` generates no
   * dataset (see the module doc); outside the test driver nothing feeds it.
   */
  queueStream<T = unknown>(name: string): DStream<T> {
    return this.source<T>('queueStream', name);
  }

  /**
   * Spark's Kafka *direct* stream on a NATS JetStream stream: no receiver;
   * every batch reads the range of stream sequences the scheduler decided and
   * journaled for it, straight from JetStream, one task per slice of
   * `messagesPerSlice` (lib/sources/jetstream-ranges.ts). Messages that fail
   * to decode go to the output `<name>.dead-letter` ({ source, stream, seq,
   * error, data }) and the batch goes on.
   */
  jetStream<T = string>(name: string, options: JetStreamSourceOptions): DStream<T> {
    let spec: JetStreamSourceSpec;
    try {
      spec = compileJetStreamOptions(name, options);
    } catch (e) {
      throw new JobDefinitionError((e as Error).message);
    }
    const deadLetters = deadLetterOutput(name);
    const problem = nameProblem(deadLetters);
    if (problem !== undefined) throw new JobDefinitionError(`jetStream(name): its dead-letter output ${JSON.stringify(deadLetters.slice(0, 40))}… ${problem}; use a shorter source name`);
    if (this.graph.outputs.some((o) => o.name === deadLetters)) {
      throw new JobDefinitionError(`jetStream(${JSON.stringify(name)}): its dead-letter output ${JSON.stringify(deadLetters)} is already an output of the job; rename one of them`);
    }
    return this.source<T>('jetStream', name, spec);
  }

  /** The union of several streams (Spark's StreamingContext.union). */
  union<T>(...streams: DStream<T>[]): DStream<T> {
    if (streams.length === 0) throw new JobDefinitionError('union(...streams): needs at least one stream');
    const [first, ...rest] = streams;
    return rest.length === 0 ? first! : first!.union(...rest);
  }

  /**
   * Spark's StreamingContext.transform(dstreams, transformFunc): `fn` combines
   * the batch datasets of every stream in `streams` (of this job) into one, with
   * the same rules as DStream.transform — it runs once while the job is built,
   * its operators join the graph, and it can neither see the batch time nor call
   * outputs. JavaScript has no `Seq[RDD[_]]`: `fn` gets an array, typed stream
   * by stream.
   */
  transform<S extends readonly DStream<unknown>[], R>(
    streams: readonly [...S],
    fn: (datasets: { [I in keyof S]: S[I] extends DStream<infer T> ? Dataset<T> : never }) => Dataset<R>,
  ): DStream<R> {
    return DStream.transformAll<R>(this.graph, streams, fn as (datasets: Dataset<unknown>[]) => Dataset<R>);
  }

  private source<T>(op: SourceOp, name: string, jetStream?: JetStreamSourceSpec): DStream<T> {
    const problem = nameProblem(name);
    if (problem !== undefined) throw new JobDefinitionError(`${op}(name): the stream name ${problem}: a stream name is ${NAME_RULE}`);
    const clash = this.graph.sources.find((s) => s.stream === name && s.op !== op);
    if (clash) {
      throw new JobDefinitionError(`${op}(${JSON.stringify(name)}): the job already reads ${clash.op}(${JSON.stringify(name)}); use another name`);
    }
    if (op === 'jetStream' && this.graph.sources.some((s) => s.stream === name)) {
      throw new JobDefinitionError(`jetStream(${JSON.stringify(name)}): the job already reads this source; use the same DStream twice instead`);
    }
    return new DStream<T>(this.graph, this.graph.add({ kind: 'source', op, stream: name, ...(jetStream ? { jetStream } : {}) }));
  }
}

function requireFn(op: string, fn: unknown, what = 'fn'): void {
  if (typeof fn !== 'function') throw new JobDefinitionError(`${op}(${what}): ${what} must be a function, got ${typeof fn}`);
}

function checkPartitions(op: string, n: number | undefined): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 10_000)) {
    throw new JobDefinitionError(`${op}: numPartitions must be an integer between 1 and 10000, got ${n}`);
  }
}

// Built-in functions of derived operators. They are module-level so that every
// process builds byte-for-byte the same graph.
const identity = (v: unknown) => v;
const add = (a: unknown, b: unknown) => (a as number) + (b as number);
const toOne = (v: unknown) => [v, 1];
const toNullOne = () => [null, 1];
const toNullKey = (v: unknown) => [null, v];
const secondOf = (r: unknown) => (r as [unknown, unknown])[1];
const countOrZero = (records: unknown[]) => (records.length === 0 ? [0] : records.map(secondOf));
const subtract = (a: unknown, b: unknown) => (a as number) - (b as number);
const toNumOne = () => 1;
const nonZeroCount = (r: unknown) => (r as [unknown, number])[1] !== 0;
const copyValues = (vs: unknown) => [...(vs as unknown[])];
const concatValues = (c: unknown, vs: unknown) => (c as unknown[]).concat(vs as unknown[]);

function duration(op: string, what: string, d: unknown): number {
  let ms: number;
  try {
    ms = parseDuration(d as string | number);
  } catch (e) {
    throw new JobDefinitionError(`${op}: ${what} ${JSON.stringify(d)} is not a duration (ms, or e.g. "2s"): ${(e as Error).message}`);
  }
  if (!Number.isFinite(ms) || ms <= 0) throw new JobDefinitionError(`${op}: ${what} must be a positive duration, got ${JSON.stringify(d)}`);
  return ms;
}

// Internal state records (graph.ts StateNode): [0, key, state, updatedAtMs] | [1, mapped].
function* stateEntries(r: unknown): Iterable<unknown> {
  const rec = r as unknown[];
  if (rec[0] === 0) yield [rec[1], rec[2]];
}
function* mappedRecords(r: unknown): Iterable<unknown> {
  const rec = r as unknown[];
  if (rec[0] === 1) yield rec[1];
}

function checkInitialState(op: string, pairs: unknown): unknown[] {
  if (!Array.isArray(pairs)) throw new JobDefinitionError(`${op}: initialState must be an array of [key, state] pairs, got ${typeof pairs}`);
  pairs.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw new JobDefinitionError(`${op}: initialState[${i}] is not a [key, state] pair`);
  });
  return pairs.map((p) => [...(p as unknown[])]);
}

function* innerJoin(groups: unknown): Iterable<unknown> {
  const [vs, ws] = groups as [unknown[], unknown[]];
  for (const v of vs) for (const w of ws) yield [v, w];
}
function* leftOuterJoin(groups: unknown): Iterable<unknown> {
  const [vs, ws] = groups as [unknown[], unknown[]];
  for (const v of vs) {
    if (ws.length === 0) yield [v, null];
    else for (const w of ws) yield [v, w];
  }
}
function* rightOuterJoin(groups: unknown): Iterable<unknown> {
  const [vs, ws] = groups as [unknown[], unknown[]];
  for (const w of ws) {
    if (vs.length === 0) yield [null, w];
    else for (const v of vs) yield [v, w];
  }
}
function* fullOuterJoin(groups: unknown): Iterable<unknown> {
  const [vs, ws] = groups as [unknown[], unknown[]];
  if (vs.length === 0) for (const w of ws) yield [null, w];
  else if (ws.length === 0) for (const v of vs) yield [v, null];
  else for (const v of vs) for (const w of ws) yield [v, w];
}

/**
 * A stream of batches. Transformations return new streams; output operations
 * (`output`, `print`, `foreachBatch`) make the job run them every batch.
 */
export class DStream<T> {
  /** @internal */
  constructor(
    protected readonly graph: JobGraph,
    /** @internal */ readonly node: GraphNode,
  ) {}

  private make<U>(node: Parameters<JobGraph['add']>[0]): DStream<U> {
    return new DStream<U>(this.graph, this.graph.add(node));
  }

  private narrow<U>(op: NarrowOp, fn: unknown, label?: string, strict = false): DStream<U> {
    if (op !== 'glom' && op !== 'identity') requireFn(label ?? op, fn);
    return this.make<U>({
      kind: 'narrow',
      op,
      parent: this.node.id,
      ...(fn ? { fn: fn as never } : {}),
      ...(label ? { label } : {}),
      ...(strict ? { strict } : {}),
    });
  }

  /** Parents for a multi-parent node; a stream listed twice gets an identity alias. */
  private distinctParents(op: string, others: readonly DStream<unknown>[]): number[] {
    const ids = [this.node.id];
    for (const o of others) {
      if (!(o instanceof DStream) || o.graph !== this.graph) {
        throw new JobDefinitionError(`${op}: every stream must be a DStream of the same job`);
      }
      ids.push(ids.includes(o.node.id) ? this.graph.add({ kind: 'narrow', op: 'identity', parent: o.node.id }).id : o.node.id);
    }
    return ids;
  }

  // ------------------------------------------------------------ narrow

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

  /** One array per partition holding its records (an empty partition gives `[]`). */
  glom(): DStream<T[]> {
    return this.narrow('glom', undefined);
  }

  mapValues<K, V, U>(this: DStream<Pair<K, V>>, fn: (value: V) => U): DStream<Pair<K, U>> {
    return this.narrow('mapValues', fn);
  }

  flatMapValues<K, V, U>(this: DStream<Pair<K, V>>, fn: (value: V) => Iterable<U>): DStream<Pair<K, U>> {
    return this.narrow('flatMapValues', fn);
  }

  /**
   * Every batch, the records of this stream and of `others` (Spark's union):
   * the partitions of each, concatenated in order, without a shuffle.
   */
  union(...others: DStream<T>[]): DStream<T> {
    if (others.length === 0) throw new JobDefinitionError('union(...others): needs at least one other stream');
    return this.make<T>({ kind: 'union', op: 'union', parents: this.distinctParents('union', others as DStream<unknown>[]) });
  }

  // ------------------------------------------------------------ shuffles

  /** Redistribute the records of every batch over `numPartitions` partitions (round-robin). */
  repartition(numPartitions: number): DStream<T> {
    if (numPartitions === undefined) throw new JobDefinitionError('repartition(numPartitions): numPartitions is required');
    checkPartitions('repartition', numPartitions);
    return this.make<T>({ kind: 'shuffle', op: 'repartition', parents: [this.node.id], numPartitions, strict: true });
  }

  /**
   * Spark's combineByKey: per key, the first value makes a combiner, later
   * values are merged into it, and combiners of different partitions are
   * merged — map-side first, so only one combiner per key per map task is shuffled.
   */
  combineByKey<K, V, C>(
    this: DStream<Pair<K, V>>,
    createCombiner: (value: V) => C,
    mergeValue: (combiner: C, value: V) => C,
    mergeCombiners: (a: C, b: C) => C,
    numPartitions?: number,
  ): DStream<Pair<K, C>> {
    requireFn('combineByKey', createCombiner, 'createCombiner');
    requireFn('combineByKey', mergeValue, 'mergeValue');
    requireFn('combineByKey', mergeCombiners, 'mergeCombiners');
    checkPartitions('combineByKey', numPartitions);
    return this.combine<Pair<K, C>>('combineByKey', { createCombiner, mergeValue, mergeCombiners } as unknown as Aggregator, numPartitions);
  }

  private combine<U>(label: string, aggregator: Aggregator, numPartitions: number | undefined, from: DStream<unknown> = this): DStream<U> {
    return this.make<U>({
      kind: 'shuffle',
      op: 'combineByKey',
      parents: [from.node.id],
      aggregator,
      mapSideCombine: true,
      ...(numPartitions !== undefined ? { numPartitions } : {}),
      ...(label !== 'combineByKey' ? { label } : {}),
    });
  }

  /** Merge the values of each key with an associative, commutative fn (combined map-side first). */
  reduceByKey<K, V>(this: DStream<Pair<K, V>>, fn: (a: V, b: V) => V, numPartitions?: number): DStream<Pair<K, V>> {
    requireFn('reduceByKey', fn);
    checkPartitions('reduceByKey', numPartitions);
    return this.combine('reduceByKey', { createCombiner: identity, mergeValue: fn, mergeCombiners: fn } as unknown as Aggregator, numPartitions);
  }

  /** All values of each key, as `[key, values[]]`. */
  groupByKey<K, V>(this: DStream<Pair<K, V>>, numPartitions?: number): DStream<Pair<K, V[]>> {
    checkPartitions('groupByKey', numPartitions);
    return this.make({ kind: 'shuffle', op: 'groupByKey', parents: [this.node.id], ...(numPartitions !== undefined ? { numPartitions } : {}) });
  }

  /** `[value, count]` for every distinct value of the batch. */
  countByValue(numPartitions?: number): DStream<Pair<T, number>> {
    checkPartitions('countByValue', numPartitions);
    const pairs = this.narrow<unknown>('map', toOne, 'countByValue');
    return this.combine('countByValue', { createCombiner: identity, mergeValue: add, mergeCombiners: add }, numPartitions, pairs);
  }

  /** One record per batch: the number of records (`0` for an empty batch, as Spark). */
  count(): DStream<number> {
    const ones = this.narrow<unknown>('map', toNullOne, 'count', true);
    const total = this.combine<unknown>('count', { createCombiner: identity, mergeValue: add, mergeCombiners: add }, 1, ones);
    return total.narrow<number>('mapPartitions', countOrZero, 'count');
  }

  /** One record per batch: all records reduced with fn; nothing for an empty batch (as Spark). */
  reduce(fn: (a: T, b: T) => T): DStream<T> {
    requireFn('reduce', fn);
    const keyed = this.narrow<unknown>('map', toNullKey, 'reduce');
    const reduced = this.combine<unknown>('reduce', { createCombiner: identity, mergeValue: fn, mergeCombiners: fn } as unknown as Aggregator, 1, keyed);
    return reduced.narrow<T>('map', secondOf, 'reduce');
  }

  /**
   * Group the values of each key in this stream and in `other` (same batch):
   * `[key, [valuesOfThis[], valuesOfOther[]]]` for every key in either.
   */
  cogroup<K, V, W>(this: DStream<Pair<K, V>>, other: DStream<Pair<K, W>>, numPartitions?: number): DStream<Pair<K, [V[], W[]]>> {
    checkPartitions('cogroup', numPartitions);
    return this.cogroupAs('cogroup', other as DStream<unknown>, numPartitions);
  }

  private cogroupAs<U>(label: string, other: DStream<unknown>, numPartitions: number | undefined): DStream<U> {
    return this.make<U>({
      kind: 'shuffle',
      op: 'cogroup',
      parents: this.distinctParents(label, [other]),
      strict: true,
      ...(numPartitions !== undefined ? { numPartitions } : {}),
      ...(label !== 'cogroup' ? { label } : {}),
    });
  }

  private joinAs<U>(label: string, other: DStream<unknown>, numPartitions: number | undefined, expand: (g: unknown) => Iterable<unknown>): DStream<U> {
    checkPartitions(label, numPartitions);
    return this.cogroupAs<unknown>(label, other, numPartitions).narrow<U>('flatMapValues', expand, label);
  }

  /** `[key, [v, w]]` for every pair of values of a key present in both streams in the same batch. */
  join<K, V, W>(this: DStream<Pair<K, V>>, other: DStream<Pair<K, W>>, numPartitions?: number): DStream<Pair<K, [V, W]>> {
    return this.joinAs('join', other as DStream<unknown>, numPartitions, innerJoin);
  }

  /** As join, plus `[key, [v, null]]` for keys with no value in `other` (Spark: `None`). */
  leftOuterJoin<K, V, W>(this: DStream<Pair<K, V>>, other: DStream<Pair<K, W>>, numPartitions?: number): DStream<Pair<K, [V, W | null]>> {
    return this.joinAs('leftOuterJoin', other as DStream<unknown>, numPartitions, leftOuterJoin);
  }

  /** As join, plus `[key, [null, w]]` for keys with no value in this stream. */
  rightOuterJoin<K, V, W>(this: DStream<Pair<K, V>>, other: DStream<Pair<K, W>>, numPartitions?: number): DStream<Pair<K, [V | null, W]>> {
    return this.joinAs('rightOuterJoin', other as DStream<unknown>, numPartitions, rightOuterJoin);
  }

  /** As join, plus `[key, [v, null]]` and `[key, [null, w]]` for keys on one side only. */
  fullOuterJoin<K, V, W>(this: DStream<Pair<K, V>>, other: DStream<Pair<K, W>>, numPartitions?: number): DStream<Pair<K, [V | null, W | null]>> {
    return this.joinAs('fullOuterJoin', other as DStream<unknown>, numPartitions, fullOuterJoin);
  }

  // ------------------------------------------------------------ windows
  //
  // Spark's window operations. Durations are ms or strings ("3s"); they must
  // be multiples of the batch interval (of the parent's slide, for a window
  // over a window), which is checked when the job is submitted. A window of
  // length w sliding by s generates a dataset only at batch times t with
  // (t - zeroTime) % s == 0, where zeroTime is the job's first batch time
  // minus one batch interval (runBatches: 0, so batch i is at i × interval);
  // outputs over it do not run in the other batches (no runBatches entry),
  // as in Spark. A window at t holds the parent's batches in (t - w, t].
  //
  // Overloads follow Spark's positional signatures: when the second argument
  // is a function it is the inverse function (reduceByWindow,
  // reduceByKeyAndWindow), otherwise a duration.

  private windowNode<U>(op: string, windowDuration: Duration, slideDuration: Duration | undefined, from: DStream<unknown> = this): DStream<U> {
    const windowMs = duration(op, 'windowDuration', windowDuration);
    const slideMs = slideDuration === undefined ? 0 : duration(op, 'slideDuration', slideDuration);
    return this.make<U>({
      kind: 'window',
      op: 'window',
      parent: from.node.id,
      windowMs,
      slideMs,
      ...(op !== 'window' ? { label: op } : {}),
    });
  }

  /**
   * Every slide, the records of the last `windowDuration` of batches (Spark's
   * window); `slideDuration` defaults to this stream's slide (the batch interval).
   */
  window(windowDuration: Duration, slideDuration?: Duration): DStream<T> {
    return this.windowNode<T>('window', windowDuration, slideDuration);
  }

  /**
   * One record per slide: the records in the window (Spark: an inverse
   * reduce of 1s, so it is `[0]` once a window empties, and nothing before
   * the first record arrives).
   */
  countByWindow(windowDuration: Duration, slideDuration: Duration): DStream<number> {
    const ones = this.narrow<number>('map', toNumOne, 'countByWindow');
    return ones.reduceByWindow(add as (a: number, b: number) => number, subtract as (a: number, b: number) => number, windowDuration, slideDuration);
  }

  /**
   * All records of the window reduced with `fn` (Spark's reduceByWindow).
   * `reduceByWindow(fn, windowDuration, slideDuration)` reduces every window
   * afresh (nothing for an empty window); `reduceByWindow(fn, invFn,
   * windowDuration, slideDuration)` updates the previous window's value with
   * `fn` / `invFn` as batches enter and leave it, so an emptied window
   * keeps the neutral value (Spark's behaviour).
   */
  reduceByWindow(fn: (a: T, b: T) => T, windowDuration: Duration, slideDuration: Duration): DStream<T>;
  reduceByWindow(fn: (a: T, b: T) => T, invFn: (a: T, b: T) => T, windowDuration: Duration, slideDuration: Duration): DStream<T>;
  reduceByWindow(fn: (a: T, b: T) => T, b: unknown, c: unknown, d?: unknown): DStream<T> {
    requireFn('reduceByWindow', fn);
    if (typeof b === 'function') {
      const keyed = this.narrow<Pair<null, T>>('map', toNullKey, 'reduceByWindow');
      const reduced = keyed.reduceByKeyAndWindowInv('reduceByWindow', fn, b as (a: T, b: T) => T, c as Duration, d as Duration, 1, undefined);
      return reduced.narrow<T>('map', secondOf, 'reduceByWindow');
    }
    if (d !== undefined) throw new JobDefinitionError('reduceByWindow(fn, windowDuration, slideDuration): too many arguments (an inverse function must be the second)');
    return this.reduce(fn).windowNode<T>('reduceByWindow', b as Duration, c as Duration).reduce(fn);
  }

  /** `[value, count]` of every distinct value in the window; values whose count drops to 0 are removed (Spark). */
  countByValueAndWindow(windowDuration: Duration, slideDuration: Duration, numPartitions?: number): DStream<Pair<T, number>> {
    checkPartitions('countByValueAndWindow', numPartitions);
    const pairs = this.narrow<Pair<T, number>>('map', toOne, 'countByValueAndWindow');
    return pairs.reduceByKeyAndWindowInv(
      'countByValueAndWindow',
      add as (a: number, b: number) => number,
      subtract as (a: number, b: number) => number,
      windowDuration,
      slideDuration,
      numPartitions,
      nonZeroCount,
    );
  }

  /** `[key, values[]]` over the window (Spark: groupByKey per batch, window, then concatenated). */
  groupByKeyAndWindow<K, V>(this: DStream<Pair<K, V>>, windowDuration: Duration, slideDuration?: Duration, numPartitions?: number): DStream<Pair<K, V[]>> {
    checkPartitions('groupByKeyAndWindow', numPartitions);
    const grouped = this.groupByKey(numPartitions);
    const windowed = grouped.windowNode<unknown>('groupByKeyAndWindow', windowDuration, slideDuration);
    return windowed.combine('groupByKeyAndWindow', { createCombiner: copyValues, mergeValue: concatValues, mergeCombiners: concatValues }, numPartitions);
  }

  /**
   * Spark's reduceByKeyAndWindow, both forms (told apart by the second argument):
   *  - `reduceByKeyAndWindow(fn, windowDuration, slideDuration?, numPartitions?, filterFunc?)`:
   *    reduceByKey per batch, window, reduceByKey again; every window afresh.
   *    (`filterFunc` is a Rivulet extra here: records it rejects are dropped.)
   *  - `reduceByKeyAndWindow(fn, invFn, windowDuration, slideDuration, numPartitions?, filterFunc?)`:
   *    the previous window's value of each key, `invFn`-ed with the values of
   *    batches that left the window and `fn`-ed with those that entered it
   *    (Spark's ReducedWindowedDStream). Keys stay, at their neutral value,
   *    after their values have left the window, unless `filterFunc([k, v])`
   *    returns false for them.
   */
  reduceByKeyAndWindow<K, V>(
    this: DStream<Pair<K, V>>,
    fn: (a: V, b: V) => V,
    windowDuration: Duration,
    slideDuration?: Duration,
    numPartitions?: number,
    filterFunc?: (record: Pair<K, V>) => boolean,
  ): DStream<Pair<K, V>>;
  reduceByKeyAndWindow<K, V>(
    this: DStream<Pair<K, V>>,
    fn: (a: V, b: V) => V,
    invFn: (a: V, b: V) => V,
    windowDuration: Duration,
    slideDuration: Duration,
    numPartitions?: number,
    filterFunc?: (record: Pair<K, V>) => boolean,
  ): DStream<Pair<K, V>>;
  reduceByKeyAndWindow<K, V>(this: DStream<Pair<K, V>>, fn: (a: V, b: V) => V, ...rest: unknown[]): DStream<Pair<K, V>> {
    requireFn('reduceByKeyAndWindow', fn);
    if (typeof rest[0] === 'function') {
      const [invFn, w, s, n, filterFunc] = rest as [(a: V, b: V) => V, Duration, Duration, number | undefined, ((r: Pair<K, V>) => boolean) | undefined];
      if (s === undefined) throw new JobDefinitionError('reduceByKeyAndWindow(fn, invFn, windowDuration, slideDuration): slideDuration is required with an inverse function');
      checkPartitions('reduceByKeyAndWindow', n);
      if (filterFunc !== undefined) requireFn('reduceByKeyAndWindow', filterFunc, 'filterFunc');
      return this.reduceByKeyAndWindowInv('reduceByKeyAndWindow', fn, invFn, w, s, n, filterFunc);
    }
    const [w, s, n, filterFunc] = rest as [Duration, Duration | undefined, number | undefined, ((r: Pair<K, V>) => boolean) | undefined];
    checkPartitions('reduceByKeyAndWindow', n);
    if (filterFunc !== undefined) requireFn('reduceByKeyAndWindow', filterFunc, 'filterFunc');
    const windowed = this.reduceByKey(fn, n).windowNode<Pair<K, V>>('reduceByKeyAndWindow', w, s);
    const reduced = windowed.reduceByKey(fn, n);
    return filterFunc ? reduced.narrow('filter', filterFunc, 'reduceByKeyAndWindow') : reduced;
  }

  private reduceByKeyAndWindowInv<U>(
    label: string,
    fn: (a: never, b: never) => unknown,
    invFn: (a: never, b: never) => unknown,
    windowDuration: Duration,
    slideDuration: Duration,
    numPartitions: number | undefined,
    filterFunc: ((r: never) => unknown) | undefined,
  ): DStream<U> {
    requireFn(label, invFn, 'invFn');
    const reduced = (this as DStream<Pair<unknown, unknown>>).reduceByKey(fn as (a: unknown, b: unknown) => unknown, numPartitions);
    const windowMs = duration(label, 'windowDuration', windowDuration);
    const slideMs = duration(label, 'slideDuration', slideDuration);
    return this.make<U>({
      kind: 'window',
      op: 'reduceByKeyAndWindow',
      parent: reduced.node.id,
      windowMs,
      slideMs,
      reduceFn: fn as (a: unknown, b: unknown) => unknown,
      invFn: invFn as (a: unknown, b: unknown) => unknown,
      ...(filterFunc ? { filterFn: filterFunc as (r: unknown) => unknown } : {}),
      ...(numPartitions !== undefined ? { numPartitions } : {}),
      ...(label !== 'reduceByKeyAndWindow' ? { label } : {}),
    });
  }

  // ------------------------------------------------------------ state
  //
  // Per-key state carried across batches (Spark's updateStateByKey and
  // mapWithState). The state is a partitioned dataset kept on the executors
  // (two copies) from one batch to the next and checkpointed every N batches
  // (scheduler option stateCheckpointInterval) to the checkpoint store, so
  // that losing every copy costs a replay of the batches since the last
  // checkpoint, never the whole history. Keys hash-partition the state as they
  // do a shuffle.

  /**
   * Spark's updateStateByKey: every batch, for every key with new values in
   * the batch or with state, `updateFn(newValues, previousState)` gives the
   * key's new state; `undefined` as the previous state means none, and
   * returning `undefined` or `null` removes the key (Spark's None). The stream
   * is every key's state, `[key, state]`, every batch. A batch in which the
   * parent generated no dataset (a `null` queue-stream input) still updates
   * the existing state with `[]` (as Spark); with no state yet it generates
   * nothing.
   *
   * `options` is a partition count or `{ numPartitions, initialState }`, where
   * `initialState` (`[key, state]` pairs; Spark's initialRDD) is the state the
   * first batch with data updates; Spark's positional form
   * `updateStateByKey(fn, numPartitions, initialState)` works too.
   *
   * Spark's time-aware form, `updateFn(batchTimeMs, key, values, state)`, gets
   * the batch time (ms) and the key as well. JavaScript cannot overload on
   * parameter types, so — as for mapWithState — the two are told apart by the
   * function's declared parameter count (`fn.length`): four or more is the
   * time-aware form. Default and rest parameters do not count: write all four.
   */
  updateStateByKey<K, V, S>(
    this: DStream<Pair<K, V>>,
    updateFn: (values: V[], state: S | undefined) => S | undefined | null,
    options?: number | { numPartitions?: number; initialState?: ReadonlyArray<Pair<K, S>> },
    initialState?: ReadonlyArray<Pair<K, S>>,
  ): DStream<Pair<K, S>>;
  updateStateByKey<K, V, S>(
    this: DStream<Pair<K, V>>,
    updateFn: (batchTimeMs: number, key: K, values: V[], state: S | undefined) => S | undefined | null,
    options?: number | { numPartitions?: number; initialState?: ReadonlyArray<Pair<K, S>> },
    initialState?: ReadonlyArray<Pair<K, S>>,
  ): DStream<Pair<K, S>>;
  updateStateByKey<K, V, S>(
    this: DStream<Pair<K, V>>,
    updateFn: (...args: never[]) => S | undefined | null,
    options?: number | { numPartitions?: number; initialState?: ReadonlyArray<Pair<K, S>> },
    initialState?: ReadonlyArray<Pair<K, S>>,
  ): DStream<Pair<K, S>> {
    requireFn('updateStateByKey', updateFn, 'updateFn');
    // Spark's positional form too: updateStateByKey(fn, numPartitions, initialRDD).
    const opts =
      typeof options === 'number' || options === undefined
        ? { ...(options !== undefined ? { numPartitions: options } : {}), ...(initialState !== undefined ? { initialState } : {}) }
        : options;
    if (typeof opts !== 'object') throw new JobDefinitionError(`updateStateByKey(updateFn, options): options must be a number or an object, got ${typeof opts}`);
    checkPartitions('updateStateByKey', opts.numPartitions);
    const initial = opts.initialState === undefined ? undefined : checkInitialState('updateStateByKey', opts.initialState);
    const state = this.stateNode('updateStateByKey', {
      updateFn: updateFn as (...args: unknown[]) => unknown,
      ...(initial ? { initialState: initial } : {}),
      ...(opts.numPartitions !== undefined ? { numPartitions: opts.numPartitions } : {}),
    });
    return state.narrow<Pair<K, S>>('flatMap', stateEntries, 'updateStateByKey');
  }

  /**
   * Spark's mapWithState: for every record `[key, value]` of a batch, in
   * order, `spec`'s function gets the key, the value and the key's `State`
   * (exists/get/getOption/update/remove/isTimingOut) and returns a record of
   * the resulting stream (`undefined`: none). With a timeout, a key that has
   * received no data and no update for longer than the timeout is removed,
   * and the function is called once more for it with `value` undefined and
   * `state.isTimingOut()` true (its return value is emitted). Unlike Spark,
   * which looks for idle keys only in checkpoint batches, Rivulet does so
   * every batch, so a key times out in the first batch more than `timeout`
   * after its last activity. The stream generates a dataset every batch.
   * `stateSnapshots()` of the result is every key's `[key, state]`.
   */
  mapWithState<K, V, S, M>(this: DStream<Pair<K, V>>, spec: StateSpec<K, V, S, M>): MapWithStateDStream<K, S, M> {
    if (!(spec instanceof StateSpec)) {
      throw new JobDefinitionError('mapWithState(spec): spec must be a StateSpec, e.g. StateSpec.function((key, value, state) => ...)');
    }
    const state = this.stateNode('mapWithState', {
      mappingFn: spec.fn as (key: unknown, value: unknown, state: unknown) => unknown,
      ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}),
      ...(spec.initial ? { initialState: spec.initial as unknown[] } : {}),
      ...(spec.partitions !== undefined ? { numPartitions: spec.partitions } : {}),
    });
    const mapped = state.graph.add({ kind: 'narrow', op: 'flatMap', parent: state.node.id, fn: mappedRecords as never, label: 'mapWithState' });
    return new MapWithStateDStream<K, S, M>(state.graph, mapped, state.node.id);
  }

  private stateNode(op: 'updateStateByKey' | 'mapWithState', fields: Record<string, unknown>): DStream<unknown> {
    // The values of each batch, grouped by key and partitioned as the state
    // is: the state node is created next, so its id is known.
    const stateId = this.graph.nodes.length + 1;
    const values = this.make<unknown>({ kind: 'shuffle', op: 'groupByKey', parents: [this.node.id], stateOf: stateId, label: op });
    return values.make<unknown>({ kind: 'state', op, parent: values.node.id, ...fields });
  }

  // ------------------------------------------------------------ transform

  /**
   * Spark's transform, over a distributed Dataset instead of an RDD: `fn` runs
   * once while the job is built and its operators join the job graph (see the
   * module doc for how this differs from Spark).
   */
  transform<U>(fn: (dataset: Dataset<T>) => Dataset<U>): DStream<U> {
    requireFn('transform', fn);
    return this.inTransform('transform', () => fn(this.narrow<T>('identity', undefined, 'transform', true)));
  }

  /** Spark's transformWith: `fn` combines this stream's and `other`'s batch (same rules as transform). */
  transformWith<U, R>(other: DStream<U>, fn: (dataset: Dataset<T>, other: Dataset<U>) => Dataset<R>): DStream<R> {
    requireFn('transformWith', fn);
    if (!(other instanceof DStream) || other.graph !== this.graph) {
      throw new JobDefinitionError('transformWith(other, fn): other must be a DStream of the same job');
    }
    return this.inTransform('transformWith', () =>
      fn(this.narrow<T>('identity', undefined, 'transformWith', true), other.narrow<U>('identity', undefined, 'transformWith', true)),
    );
  }

  /** @internal StreamingContext.transform: the streams' datasets, built like transformWith's. */
  static transformAll<R>(graph: JobGraph, streams: readonly DStream<unknown>[], fn: (datasets: Dataset<unknown>[]) => Dataset<R>): DStream<R> {
    requireFn('transform', fn);
    if (!Array.isArray(streams as unknown) || streams.length === 0) throw new JobDefinitionError('transform(streams, fn): streams must be a non-empty array of DStreams');
    for (const s of streams) {
      if (!(s instanceof DStream) || s.graph !== graph) throw new JobDefinitionError('transform(streams, fn): every stream must be a DStream of this job');
    }
    const first: DStream<unknown> = streams[0]!;
    return first.inTransform<R>('transform', () => fn(streams.map((s: DStream<unknown>) => s.narrow<unknown>('identity', undefined, 'transform', true))));
  }

  private inTransform<U>(op: string, build: () => unknown): DStream<U> {
    this.graph.transformDepth++;
    let out: unknown;
    try {
      out = build();
    } finally {
      this.graph.transformDepth--;
    }
    if (!(out instanceof DStream) || out.graph !== this.graph) {
      throw new JobDefinitionError(`${op}(fn): fn must return a dataset built from the one(s) it was given, got ${describe(out)}`);
    }
    return out as DStream<U>;
  }

  // ------------------------------------------------------------ outputs

  private checkOutput(op: string): void {
    if (this.graph.transformDepth > 0) {
      throw new JobDefinitionError(`${op}: output operations cannot be called inside transform()/transformWith(); call them on the returned stream`);
    }
  }

  /**
   * Publish every batch of this stream as the job output `name`: committed once
   * per batch by the scheduler and readable with `rivulet tail` / WatchOutput.
   * The returned Output can also write each batch to a sink, exactly once:
   * `.toJetStream(subject)` or `.toPostgres({ table, connection })`.
   */
  output(name: string): Output {
    this.checkOutput('output');
    const problem = nameProblem(name);
    if (problem !== undefined) throw new JobDefinitionError(`output(name): the output name ${problem}: an output name is ${NAME_RULE}`);
    if (this.graph.outputs.some((o) => o.name === name)) {
      throw new JobDefinitionError(`output(${JSON.stringify(name)}): the job already has an output with that name`);
    }
    if (this.graph.deadLetterOutputs.includes(name)) {
      throw new JobDefinitionError(`output(${JSON.stringify(name)}): that is the dead-letter output of a JetStream source of the job; choose another name`);
    }
    return new Output(this.graph.add({ kind: 'output', op: 'output', parent: this.node.id, name }) as OutputNode);
  }

  /** Log the first `n` records of every batch in the scheduler's log (Spark's DStream.print). */
  print(n = 10): void {
    this.checkOutput('print');
    if (!Number.isInteger(n) || n < 1) throw new JobDefinitionError(`print(n): n must be a positive integer, got ${n}`);
    const id = this.graph.nodes.length;
    this.graph.add({ kind: 'output', op: 'print', parent: this.node.id, name: `print-${id}`, printLimit: n });
  }

  /**
   * Spark's foreachRDD: every batch (empty ones included), once the batch's
   * records are collected, `fn(records, batchTimeMs)` runs on the scheduler's
   * host, in a worker thread of this job's own (never on the scheduler's event
   * loop), in output order, before the batch's other outputs are committed.
   * If it throws, or runs past the scheduler's `foreachBatchTimeout`, the
   * batch fails (and with it the job) with the error. A returned promise is
   * not awaited; its rejection is logged.
   */
  foreachBatch(fn: (records: T[], batchTimeMs: number) => unknown): void {
    this.checkOutput('foreachBatch');
    requireFn('foreachBatch', fn);
    const id = this.graph.nodes.length;
    this.graph.add({ kind: 'output', op: 'foreachBatch', parent: this.node.id, name: `foreachBatch-${id}`, fn: fn as never });
  }
}

/**
 * What `transform` / `transformWith` functions receive and return: the batch's
 * records as a distributed dataset, with the same transformations as a DStream
 * (output operations are refused inside the function).
 */
export type Dataset<T> = DStream<T>;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return typeof v;
}

/**
 * What mapWithState's function gets for the record's key (Spark's State):
 * the key's state before this record, which it may update or remove.
 */
export interface State<S> {
  exists(): boolean;
  /** The state; throws when there is none. */
  get(): S;
  getOption(): S | undefined;
  /** Throws when the key is timing out (it is being removed). */
  update(state: S): void;
  /** Throws when the key is timing out or was already removed. */
  remove(): void;
  /** True only in the extra call made for a key that timed out. */
  isTimingOut(): boolean;
}

export type MappingFunction<K, V, S, M> =
  | ((key: K, value: V | undefined, state: State<S>) => M | undefined)
  | ((batchTimeMs: number, key: K, value: V | undefined, state: State<S>) => M | undefined);

/**
 * Spark's StateSpec: `StateSpec.function((key, value, state) => mapped)`,
 * optionally `.timeout(duration)`, `.initialState(pairs)`, `.numPartitions(n)`.
 * Each setter returns the same spec, as in Spark.
 */
export class StateSpec<K, V, S, M> {
  /** @internal */ timeoutMs?: number;
  /** @internal */ initial?: Array<Pair<K, S>>;
  /** @internal */ partitions?: number;

  private constructor(/** @internal */ readonly fn: MappingFunction<K, V, S, M>) {}

  /**
   * `(key, value, state) => mapped`, or Spark's full form
   * `(batchTimeMs, key, value, state) => mapped` (recognised by its four
   * declared parameters), whose batch time is the batch's (the same when a
   * lost state is rebuilt by replaying it).
   */
  static function<K, V, S, M>(fn: (key: K, value: V | undefined, state: State<S>) => M | undefined): StateSpec<K, V, S, M>;
  static function<K, V, S, M>(fn: (batchTimeMs: number, key: K, value: V | undefined, state: State<S>) => M | undefined): StateSpec<K, V, S, M>;
  static function<K, V, S, M>(fn: MappingFunction<K, V, S, M>): StateSpec<K, V, S, M> {
    requireFn('StateSpec.function', fn);
    return new StateSpec(fn);
  }

  timeout(idle: Duration): this {
    this.timeoutMs = duration('StateSpec.timeout', 'idle duration', idle);
    return this;
  }

  initialState(pairs: ReadonlyArray<Pair<K, S>>): this {
    this.initial = checkInitialState('StateSpec.initialState', pairs) as Array<Pair<K, S>>;
    return this;
  }

  numPartitions(n: number): this {
    checkPartitions('StateSpec.numPartitions', n);
    this.partitions = n;
    return this;
  }
}

/** The stream mapWithState returns: the mapped records, plus every key's state via stateSnapshots(). */
export class MapWithStateDStream<K, S, M> extends DStream<M> {
  /** @internal */
  constructor(
    graph: JobGraph,
    node: GraphNode,
    private readonly stateNodeId: number,
  ) {
    super(graph, node);
  }

  /** Every key's `[key, state]` after each batch (Spark's stateSnapshots). */
  stateSnapshots(): DStream<Pair<K, S>> {
    return new DStream<Pair<K, S>>(this.graph, this.graph.add({ kind: 'narrow', op: 'flatMap', parent: this.stateNodeId, fn: stateEntries as never, label: 'stateSnapshots' }));
  }
}
