/**
 * Running one task: computing one partition of one dataset of a batch, on an
 * executor's task worker. Narrow operators are fused into one push-based
 * pipeline (each record flows through map → flatMap → filter … without
 * intermediate arrays), which is Spark's stage pipelining without iterators.
 *
 * The task ends in one of two sinks:
 *  - shuffle write: records are `[key, value]` pairs, hashed into buckets for
 *    the downstream shuffle, combined map-side first when the shuffle has a
 *    reduce function (reduceByKey), each bucket packed as one buffer;
 *  - result: records are packed into one buffer for the scheduler (outputs).
 *
 * Nothing here does I/O: inputs arrive as packed buffers, outputs leave as
 * packed buffers, which is what crosses the worker-thread boundary cheaply.
 */
import { packRecords, unpackRecords } from '../codec/records.js';
import { UserFunctionError } from './errors.js';
import { operatorLabel, type GraphNode, type JobGraph, type NarrowNode, type ShuffleNode } from './graph.js';
import { KeyMap, partitionOf } from './keys.js';

export interface TaskInputs {
  /** Packed records of the source partitions this task reads, keyed by `sourceKey(nodeId, partition)`. */
  blocks: ReadonlyMap<string, Uint8Array>;
  /** For each shuffle node the task reads: its bucket from every map output. */
  shuffles: ReadonlyMap<number, readonly Uint8Array[]>;
}

export type TaskSink =
  | { kind: 'result' }
  | { kind: 'shuffle'; shuffleNodeId: number; numPartitions: number };

export interface TaskOutput {
  recordsIn: number;
  recordsOut: number;
  /** result sink: the packed records. */
  result?: Uint8Array;
  /** shuffle sink: one packed bucket per reduce partition. */
  buckets?: Uint8Array[];
  bucketCounts?: number[];
}

export function sourceKey(nodeId: number, partition: number): string {
  return `${nodeId}:${partition}`;
}

type Emit = (record: unknown) => void;

class MissingInputError extends Error {
  override name = 'MissingInputError';
}

/** Compute partition `partition` of node `nodeId` into `sink`. */
export function runTask(graph: JobGraph, nodeId: number, partition: number, inputs: TaskInputs, sink: TaskSink): TaskOutput {
  const counters = { recordsIn: 0 };
  if (sink.kind === 'result') {
    const out: unknown[] = [];
    evaluate(graph, nodeId, partition, inputs, (r) => out.push(r), counters);
    return { recordsIn: counters.recordsIn, recordsOut: out.length, result: packRecords(out) };
  }
  const shuffle = graph.node(sink.shuffleNodeId) as ShuffleNode;
  const n = sink.numPartitions;
  if (shuffle.reduce) {
    // Map-side combine: one value per key per task before anything is written.
    const reduce = shuffle.reduce;
    const combined = new KeyMap<{ v: unknown }>();
    evaluate(
      graph,
      nodeId,
      partition,
      inputs,
      (r) => {
        const [k, v] = asPair(r, shuffle);
        const slot = combined.get(k);
        if (slot) slot.v = callReduce(reduce, slot.v, v, shuffle);
        else combined.set(k, { v });
      },
      counters,
    );
    const buckets: unknown[][] = Array.from({ length: n }, () => []);
    for (const [k, slot] of combined.entries()) buckets[partitionOf(k, n)]!.push([k, slot.v]);
    return packBuckets(buckets, counters.recordsIn);
  }
  const buckets: unknown[][] = Array.from({ length: n }, () => []);
  evaluate(
    graph,
    nodeId,
    partition,
    inputs,
    (r) => {
      const [k] = asPair(r, shuffle);
      buckets[partitionOf(k, n)]!.push(r);
    },
    counters,
  );
  return packBuckets(buckets, counters.recordsIn);
}

function packBuckets(buckets: unknown[][], recordsIn: number): TaskOutput {
  let recordsOut = 0;
  const bucketCounts = buckets.map((b) => {
    recordsOut += b.length;
    return b.length;
  });
  return { recordsIn, recordsOut, buckets: buckets.map((b) => packRecords(b)), bucketCounts };
}

function asPair(r: unknown, node: GraphNode): [unknown, unknown] {
  if (!Array.isArray(r) || r.length !== 2) {
    throw new UserFunctionError(
      node.id,
      operatorLabel(node),
      new TypeError(`${node.op} needs [key, value] pairs, got ${preview(r)}`),
    );
  }
  return r as [unknown, unknown];
}

function preview(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? s.slice(0, 77) + '...' : s;
  } catch {
    return String(v);
  }
}

function callReduce(fn: (a: unknown, b: unknown) => unknown, a: unknown, b: unknown, node: GraphNode): unknown {
  try {
    return fn(a, b);
  } catch (e) {
    throw new UserFunctionError(node.id, operatorLabel(node), e);
  }
}

function evaluate(
  graph: JobGraph,
  nodeId: number,
  partition: number,
  inputs: TaskInputs,
  emit: Emit,
  counters: { recordsIn: number },
): void {
  const node = graph.node(nodeId);
  switch (node.kind) {
    case 'source': {
      const buf = inputs.blocks.get(sourceKey(nodeId, partition));
      if (!buf) throw new MissingInputError(`task input missing: block of ${operatorLabel(node)} partition ${partition}`);
      const records = unpackRecords(buf);
      counters.recordsIn += records.length;
      for (let i = 0; i < records.length; i++) emit(records[i]);
      return;
    }
    case 'narrow':
      if (node.op === 'mapPartitions') {
        const all: unknown[] = [];
        evaluate(graph, node.parent, partition, inputs, (r) => all.push(r), counters);
        let out: Iterable<unknown>;
        try {
          out = (node.fn as (v: unknown[]) => Iterable<unknown>)(all);
          for (const r of out) emit(r);
        } catch (e) {
          if (e instanceof UserFunctionError) throw e;
          throw new UserFunctionError(node.id, node.op, e);
        }
        return;
      }
      evaluate(graph, node.parent, partition, inputs, compose(node, emit), counters);
      return;
    case 'shuffle':
      readShuffle(node, inputs, emit, counters);
      return;
    case 'output':
      evaluate(graph, node.parent, partition, inputs, emit, counters);
      return;
  }
}

function compose(node: NarrowNode, emit: Emit): Emit {
  const fail = (e: unknown): never => {
    if (e instanceof UserFunctionError) throw e;
    throw new UserFunctionError(node.id, node.op, e);
  };
  switch (node.op) {
    case 'map': {
      const fn = node.fn as (v: unknown) => unknown;
      return (r) => {
        let out: unknown;
        try {
          out = fn(r);
        } catch (e) {
          fail(e);
        }
        emit(out);
      };
    }
    case 'filter': {
      const fn = node.fn as (v: unknown) => unknown;
      return (r) => {
        let keep: unknown;
        try {
          keep = fn(r);
        } catch (e) {
          fail(e);
        }
        if (keep) emit(r);
      };
    }
    case 'flatMap': {
      const fn = node.fn as (v: unknown) => Iterable<unknown>;
      return (r) => {
        let out: Iterable<unknown>;
        try {
          out = fn(r);
        } catch (e) {
          return fail(e);
        }
        if (Array.isArray(out)) {
          for (let i = 0; i < out.length; i++) emit(out[i]);
          return;
        }
        if (out == null || typeof (out as Iterable<unknown>)[Symbol.iterator] !== 'function') {
          fail(new TypeError(`flatMap function must return an iterable, got ${preview(out)}`));
        }
        try {
          for (const x of out) emit(x);
        } catch (e) {
          fail(e);
        }
      };
    }
    case 'mapValues': {
      const fn = node.fn as (v: unknown) => unknown;
      return (r) => {
        const [k, v] = asPair(r, node);
        let out: unknown;
        try {
          out = fn(v);
        } catch (e) {
          fail(e);
        }
        emit([k, out]);
      };
    }
    case 'flatMapValues': {
      const fn = node.fn as (v: unknown) => Iterable<unknown>;
      return (r) => {
        const [k, v] = asPair(r, node);
        let out: Iterable<unknown>;
        try {
          out = fn(v);
          for (const x of out) emit([k, x]);
        } catch (e) {
          fail(e);
        }
      };
    }
    case 'mapPartitions':
      throw new Error('mapPartitions is evaluated as a whole partition');
  }
}

function readShuffle(node: ShuffleNode, inputs: TaskInputs, emit: Emit, counters: { recordsIn: number }): void {
  const buckets = inputs.shuffles.get(node.id);
  if (!buckets) throw new MissingInputError(`task input missing: shuffle of ${operatorLabel(node)}`);
  if (node.reduce) {
    const reduce = node.reduce;
    const merged = new KeyMap<{ v: unknown }>();
    for (const bucket of buckets) {
      const records = unpackRecords(bucket);
      counters.recordsIn += records.length;
      for (let i = 0; i < records.length; i++) {
        const [k, v] = records[i] as [unknown, unknown];
        const slot = merged.get(k);
        if (slot) slot.v = callReduce(reduce, slot.v, v, node);
        else merged.set(k, { v });
      }
    }
    for (const [k, slot] of merged.entries()) emit([k, slot.v]);
    return;
  }
  const groups = new KeyMap<unknown[]>();
  for (const bucket of buckets) {
    const records = unpackRecords(bucket);
    counters.recordsIn += records.length;
    for (let i = 0; i < records.length; i++) {
      const [k, v] = records[i] as [unknown, unknown];
      const g = groups.get(k);
      if (g) g.push(v);
      else groups.set(k, [v]);
    }
  }
  for (const [k, values] of groups.entries()) emit([k, values]);
}
