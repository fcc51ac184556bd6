/**
 * Running one task: computing one partition of one dataset of a batch, on an
 * executor's task worker. Narrow operators are fused into one push-based
 * pipeline (each record flows through map → flatMap → filter … without
 * intermediate arrays), which is Spark's stage pipelining without iterators;
 * only mapPartitions and glom gather their partition into an array. A union
 * partition is the one partition of one parent it maps to (offset mapping).
 *
 * The task ends in one of two sinks:
 *  - shuffle write: records are hashed into buckets for the downstream
 *    shuffle — `[key, value]` pairs by key (combined map-side first for
 *    combineByKey: reduceByKey, countByValue, count, reduce), any record
 *    round-robin for repartition — each bucket packed as one buffer. For a
 *    shuffle with several parents (cogroup) every bucket starts with one extra
 *    record, the side (index of the parent) it was written for, so the reduce
 *    side needs nothing but the buckets themselves;
 *  - result: records are packed into one buffer for the scheduler (outputs).
 *
 * Nothing here does I/O: inputs arrive as packed buffers, outputs leave as
 * packed buffers, which is what crosses the worker-thread boundary cheaply.
 */
import { forEachRecord, packRecords, unpackRecords } from '../codec/records.js';
import { UserFunctionError } from './errors.js';
import { operatorLabel, type GraphNode, type JobGraph, type NarrowNode, type ShuffleNode, type SourceNode, type StateNode, type WindowNode } from './graph.js';
import { DEAD_LETTER_DATA_BYTES, decodeMessage, forEachFramed, packDeadLetters, type DeadLetter, type JetStreamSourceSpec } from '../sources/jetstream-ranges.js';
import { KeyMap, partitionOf } from './keys.js';
import { cachedInputKey, STATE_KEYS, unionParentPartition } from './planner.js';

/**
 * Where the id of the graph node whose user function runs now is written
 * (-1: none). The executor's task worker points it at memory shared with the
 * main thread, so a task stopped by its timeout names the operator that was
 * looping; a plain array otherwise. One integer store per user call.
 */
let operatorProbe: Int32Array = new Int32Array(1);

/** Point the operator probe at `probe` (an Int32Array over a SharedArrayBuffer in the task worker). */
export function setOperatorProbe(probe: Int32Array): void {
  operatorProbe = probe;
}

export interface TaskInputs {
  /** Packed records of the source partitions this task reads, keyed by `sourceKey(nodeId, partition)`. */
  blocks: ReadonlyMap<string, Uint8Array>;
  /** For each shuffle node the task reads: its bucket from every map output, in map-partition order. */
  shuffles: ReadonlyMap<number, readonly Uint8Array[]>;
  /** Partition count of every node in this batch (BatchPlan.partitions); needed to map union partitions. */
  partitions?: readonly number[];
  /** The batch's time (state: update times and timeouts). */
  batchTimeMs?: number;
  /**
   * A state task rebuilding a lost previous state: the batches to replay, in
   * order, between its base (checkpoint or initial state) and this batch.
   */
  stateReplay?: readonly number[];
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
  /** JetStream sources: messages of the task's slices that failed to decode, packed DeadLetter records. */
  deadLetters?: { count: number; payload: Uint8Array };
}

export function sourceKey(nodeId: number, partition: number): string {
  return `${nodeId}:${partition}`;
}

type Emit = (record: unknown) => void;
/** `cancelled`: asked every CANCEL_CHECK_EVERY records of an input; true stops the task (TaskCancelledError). */
type Counters = { recordsIn: number; deadLetters?: DeadLetter[]; cancelled: (() => boolean) | undefined };

class MissingInputError extends Error {
  override name = 'MissingInputError';
}

/** A task stopped because it was killed (runTask's `cancelled` said so): its output is wanted by no one. */
export class TaskCancelledError extends Error {
  override name = 'TaskCancelledError';
  constructor() {
    super('task killed');
  }
}

/** Records of an input read between two looks at `cancelled` (a power of two; the look is one shared-memory load). */
const CANCEL_CHECK_EVERY = 1024;

function checkCancelled(counters: Counters, i: number): void {
  if ((i & (CANCEL_CHECK_EVERY - 1)) === CANCEL_CHECK_EVERY - 1 && counters.cancelled?.()) throw new TaskCancelledError();
}

/**
 * Compute partition `partition` of node `nodeId` into `sink`. `cancelled`, when given, is asked as
 * the task reads its inputs; once it says true the task throws TaskCancelledError (a killed task
 * stops at its next look, not only when its thread is stopped).
 */
export function runTask(graph: JobGraph, nodeId: number, partition: number, inputs: TaskInputs, sink: TaskSink, cancelled?: () => boolean): TaskOutput {
  const counters: Counters = { recordsIn: 0, cancelled };
  operatorProbe[0] = -1;
  const output = runTaskInto(graph, nodeId, partition, inputs, sink, counters);
  if (counters.deadLetters) output.deadLetters = { count: counters.deadLetters.length, payload: packDeadLetters(counters.deadLetters) };
  return output;
}

function runTaskInto(graph: JobGraph, nodeId: number, partition: number, inputs: TaskInputs, sink: TaskSink, counters: Counters): TaskOutput {
  if (sink.kind === 'result') {
    const out: unknown[] = [];
    evaluate(graph, nodeId, partition, inputs, (r) => out.push(r), counters);
    return { recordsIn: counters.recordsIn, recordsOut: out.length, result: packRecords(out) };
  }
  const shuffle = graph.node(sink.shuffleNodeId);
  if (shuffle.kind !== 'shuffle') throw new Error(`node ${sink.shuffleNodeId} is not a shuffle`);
  const side = shuffle.parents.indexOf(nodeId);
  if (side < 0) throw new Error(`node ${nodeId} is not a parent of shuffle node ${shuffle.id}`);
  const n = sink.numPartitions;
  const buckets: unknown[][] = Array.from({ length: n }, () => []);
  const evalInto = (emit: Emit) => evaluate(graph, nodeId, partition, inputs, emit, counters);

  switch (shuffle.op) {
    case 'combineByKey': {
      const agg = shuffle.aggregator!;
      if (!shuffle.mapSideCombine) {
        evalInto((r) => buckets[partitionOf(asPair(r, shuffle)[0], n)]!.push(r));
        break;
      }
      // Map-side combine: one combiner per key per task before anything is written.
      const combined = new KeyMap<{ c: unknown }>();
      evalInto((r) => {
        const [k, v] = asPair(r, shuffle);
        const slot = combined.get(k);
        if (slot) slot.c = callUser(agg.mergeValue, slot.c, v, shuffle);
        else combined.set(k, { c: callUser(agg.createCombiner, v, undefined, shuffle) });
      });
      for (const [k, slot] of combined.entries()) buckets[partitionOf(k, n)]!.push([k, slot.c]);
      break;
    }
    case 'groupByKey':
      evalInto((r) => buckets[partitionOf(asPair(r, shuffle)[0], n)]!.push(r));
      break;
    case 'cogroup':
      for (const b of buckets) b.push(side);
      evalInto((r) => buckets[partitionOf(asPair(r, shuffle)[0], n)]!.push(r));
      break;
    case 'repartition': {
      // Spark's repartition: round-robin from a start that depends only on the map partition.
      let next = partitionOf(partition, n);
      evalInto((r) => {
        buckets[next]!.push(r);
        next = next + 1 === n ? 0 : next + 1;
      });
      break;
    }
  }
  return packBuckets(buckets, counters.recordsIn, shuffle.op === 'cogroup' ? 1 : 0);
}

function packBuckets(buckets: unknown[][], recordsIn: number, tagRecords: number): TaskOutput {
  let recordsOut = 0;
  const bucketCounts = buckets.map((b) => {
    recordsOut += b.length - tagRecords;
    return b.length;
  });
  return { recordsIn, recordsOut, buckets: buckets.map((b) => packRecords(b)), bucketCounts };
}

function asPair(r: unknown, node: GraphNode): [unknown, unknown] {
  if (!Array.isArray(r) || r.length !== 2) {
    throw new UserFunctionError(
      node.id,
      operatorLabel(node),
      new TypeError(`${operatorLabel(node)} needs [key, value] pairs, got ${preview(r)}`),
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

function callUser(fn: (a: unknown, b: unknown) => unknown, a: unknown, b: unknown, node: GraphNode): unknown {
  operatorProbe[0] = node.id;
  try {
    return fn(a, b);
  } catch (e) {
    throw new UserFunctionError(node.id, operatorLabel(node), e);
  }
}

function evaluate(graph: JobGraph, nodeId: number, partition: number, inputs: TaskInputs, emit: Emit, counters: Counters): void {
  const node = graph.node(nodeId);
  switch (node.kind) {
    case 'source': {
      const buf = inputs.blocks.get(sourceKey(nodeId, partition));
      if (!buf) throw new MissingInputError(`task input missing: block of ${operatorLabel(node)} partition ${partition}`);
      if (node.jetStream) return readJetStreamSlice(node, node.jetStream, buf, emit, counters);
      counters.recordsIn += forEachRecord(buf, (r, i) => {
        checkCancelled(counters, i);
        emit(r);
      });
      return;
    }
    case 'narrow':
      if (node.op === 'mapPartitions' || node.op === 'glom') {
        const all: unknown[] = [];
        evaluate(graph, node.parent, partition, inputs, (r) => all.push(r), counters);
        if (node.op === 'glom') return emit(all);
        let out: Iterable<unknown>;
        operatorProbe[0] = node.id;
        try {
          out = (node.fn as (v: unknown[]) => Iterable<unknown>)(all);
          if (out == null || typeof (out as Iterable<unknown>)[Symbol.iterator] !== 'function') {
            throw new TypeError(`${operatorLabel(node)} function must return an iterable, got ${preview(out)}`);
          }
          for (const r of out) emit(r);
        } catch (e) {
          if (e instanceof UserFunctionError) throw e;
          throw new UserFunctionError(node.id, operatorLabel(node), e);
        }
        return;
      }
      if (node.op === 'identity') return evaluate(graph, node.parent, partition, inputs, emit, counters);
      evaluate(graph, node.parent, partition, inputs, compose(node, emit), counters);
      return;
    case 'union': {
      if (!inputs.partitions) throw new MissingInputError(`task input missing: partition counts for ${operatorLabel(node)} (node ${node.id})`);
      const from = unionParentPartition(node.parents, inputs.partitions, partition);
      evaluate(graph, from.parent, from.partition, inputs, emit, counters);
      return;
    }
    case 'shuffle':
      if (node.stateOf !== undefined && readCached(nodeId, partition, inputs, emit, counters)) return;
      readShuffle(node, inputs, emit, counters);
      return;
    case 'state':
      if (readCached(nodeId, partition, inputs, emit, counters)) return;
      computeState(node, partition, inputs, emit, counters);
      return;
    case 'output':
      evaluate(graph, node.parent, partition, inputs, emit, counters);
      return;
    case 'window':
      if (node.op === 'window') {
        // One cached partition of one batch of the parent (planner.ts windowTaskBlocks).
        const buf = inputs.blocks.get(sourceKey(nodeId, partition));
        if (!buf) throw new MissingInputError(`task input missing: cached partition for ${operatorLabel(node)} partition ${partition}`);
        counters.recordsIn += forEachRecord(buf, (r) => emit(r));
        return;
      }
      reduceWindow(node, partition, inputs, emit, counters);
      return;
  }
}

/**
 * One slice of a JetStream source (the executor's frame of the messages it
 * read): each message decoded as the source says; one that does not decode
 * becomes a dead letter instead of a record, and the task goes on.
 */
function readJetStreamSlice(node: SourceNode, spec: JetStreamSourceSpec, frame: Uint8Array, emit: Emit, counters: Counters): void {
  forEachFramed(frame, (seq, data) => {
    counters.recordsIn++;
    let record: unknown;
    try {
      record = decodeMessage(spec.decode, data);
    } catch (e) {
      (counters.deadLetters ??= []).push({
        source: node.stream,
        stream: spec.stream,
        seq,
        error: `cannot decode as ${spec.decode}: ${e instanceof Error ? e.message : String(e)}`,
        data: Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, DEAD_LETTER_DATA_BYTES)).toString('base64'),
      });
      return;
    }
    emit(record);
  });
}

/** Emit a partition cached earlier in this batch (planner.ts readFromCache); false when the task computes it instead. */
function readCached(nodeId: number, partition: number, inputs: TaskInputs, emit: Emit, counters: Counters): boolean {
  const buf = inputs.blocks.get(cachedInputKey(nodeId, partition));
  if (!buf) return false;
  const records = unpackRecords(buf);
  counters.recordsIn += records.length;
  for (let i = 0; i < records.length; i++) emit(records[i]);
  return true;
}

/** One key's state and the batch time it was last updated or touched. */
interface StateSlot {
  s: unknown;
  t: number;
}

/**
 * Partition p of a state (graph.ts StateNode): start from the previous
 * state (or the checkpoint it is rebuilt from, or the initial state), step
 * through the replayed batches (their mapped records discarded: they were
 * emitted when those batches ran), then through this batch, emitting its
 * mapped records and then every key's state, as internal records.
 */
function computeState(node: StateNode, partition: number, inputs: TaskInputs, emit: Emit, counters: Counters): void {
  const T = inputs.batchTimeMs;
  if (T === undefined) throw new MissingInputError(`task input missing: batch time for ${operatorLabel(node)} (node ${node.id})`);
  const n = inputs.partitions?.[node.id] ?? 0;
  const replay = inputs.stateReplay ?? [];
  const slots = new KeyMap<StateSlot>();
  const base = inputs.blocks.get(STATE_KEYS.checkpoint) ?? inputs.blocks.get(STATE_KEYS.previous);
  if (base) {
    const records = unpackRecords(base);
    counters.recordsIn += records.length;
    for (const r of records) {
      const rec = r as unknown[];
      if (rec[0] === 0) slots.set(rec[1], { s: rec[2], t: rec[3] as number });
    }
  } else if (node.initialState) {
    // Spark's createFromPairRDD: the initial state is stamped with the first batch's time.
    const t0 = replay[0] ?? T;
    for (const pair of node.initialState) {
      const [k, v] = pair as [unknown, unknown];
      if (n <= 1 || partitionOf(k, n) === partition) slots.set(k, { s: v, t: t0 });
    }
  }
  const discard: Emit = () => {};
  for (const b of replay) stepState(node, slots, inputs.blocks.get(STATE_KEYS.replay(b)), b, discard, counters);
  stepState(node, slots, inputs.blocks.get(STATE_KEYS.values), T, emit, counters);
  for (const [k, slot] of slots.entries()) emit([0, k, slot.s, slot.t]);
}

/** One batch of a state: `values` are the batch's `[key, values[]]` (absent: the parent generated none). */
function stepState(node: StateNode, slots: KeyMap<StateSlot>, values: Uint8Array | undefined, b: number, emit: Emit, counters: Counters): void {
  const groups = values ? (unpackRecords(values) as Array<[unknown, unknown[]]>) : [];
  counters.recordsIn += groups.length;
  if (node.op === 'updateStateByKey') {
    // Spark's StateDStream: every key with state or with new values, once. Spark's two forms,
    // (values, state) and (batchTime, key, values, state), told apart by arity (api.ts).
    const user = node.updateFn!;
    const timed = user.length >= 4;
    const update = (k: unknown, vs: unknown[], st: unknown): unknown => {
      operatorProbe[0] = node.id;
      try {
        return timed ? user(b, k, vs, st) : user(vs, st);
      } catch (e) {
        throw new UserFunctionError(node.id, operatorLabel(node), e);
      }
    };
    const fresh = new KeyMap<unknown[]>();
    const byKey = new KeyMap<unknown[]>();
    for (const [k, vs] of groups) {
      byKey.set(k, vs);
      if (!slots.get(k)) fresh.set(k, vs);
    }
    for (const [k, slot] of slots.entries()) {
      const next = update(k, byKey.get(k) ?? [], slot.s);
      if (next === undefined || next === null) slots.delete(k);
      else slots.set(k, { s: next, t: b });
    }
    for (const [k, vs] of fresh.entries()) {
      const next = update(k, vs, undefined);
      if (next !== undefined && next !== null) slots.set(k, { s: next, t: b });
    }
    return;
  }
  // Spark's MapWithStateRDDRecord.updateRecordWithData, record by record.
  // Spark's two forms: (key, value, state) and (batchTime, key, value, state), told apart by arity.
  const user = node.mappingFn! as (...args: unknown[]) => unknown;
  const full = user.length >= 4;
  const fn = (k: unknown, v: unknown, st: KeyState): unknown => {
    operatorProbe[0] = node.id;
    try {
      return full ? user(b, k, v, st) : user(k, v, st);
    } catch (e) {
      throw new UserFunctionError(node.id, operatorLabel(node), e);
    }
  };
  const threshold = node.timeoutMs === undefined ? undefined : b - node.timeoutMs;
  for (const [k, vs] of groups) {
    for (const v of vs) {
      const slot = slots.get(k);
      const state = new KeyState(slot);
      const mapped = fn(k, v, state);
      if (state.removed) slots.delete(k);
      else if (state.updated) slots.set(k, { s: state.value, t: b });
      else if (slot && threshold !== undefined) slot.t = b; // data for the key keeps it alive
      if (mapped !== undefined) emit([1, mapped]);
    }
  }
  if (threshold === undefined) return;
  for (const [k, slot] of slots.entries()) {
    if (slot.t >= threshold) continue;
    const state = new KeyState(slot, true);
    const mapped = fn(k, undefined, state);
    slots.delete(k);
    if (mapped !== undefined) emit([1, mapped]);
  }
}

/** Spark's StateImpl: what the mapping function sees of one key's state. */
class KeyState {
  value: unknown;
  defined: boolean;
  updated = false;
  removed = false;
  constructor(
    slot: StateSlot | undefined,
    private readonly timingOut = false,
  ) {
    this.defined = slot !== undefined;
    this.value = slot?.s;
  }
  exists(): boolean {
    return this.defined;
  }
  get(): unknown {
    if (!this.defined) throw new Error('State is not set');
    return this.value;
  }
  getOption(): unknown {
    return this.defined ? this.value : undefined;
  }
  update(s: unknown): void {
    if (this.removed) throw new Error('Cannot update the state after it has been removed');
    if (this.timingOut) throw new Error('Cannot update the state that is timing out');
    this.value = s;
    this.defined = true;
    this.updated = true;
  }
  remove(): void {
    if (this.timingOut) throw new Error('Cannot remove the state that is timing out');
    if (this.removed) throw new Error('Cannot remove the state that has already been removed');
    this.defined = false;
    this.updated = false;
    this.removed = true;
  }
  isTimingOut(): boolean {
    return this.timingOut;
  }
}

/**
 * Partition p of an inverse-reduce window (Spark's ReducedWindowedDStream
 * mergeValues): per key, the previous window's value, `invFn`-ed with the
 * reduced values of the batches that left the window and `fn`-ed with those
 * that entered it; a key with no previous value gets the reduction of its new
 * values. A key with neither (Spark throws "Neither previous window has value
 * for key, nor new values found") is dropped. Then the optional filter.
 */
function reduceWindow(node: WindowNode, partition: number, inputs: TaskInputs, emit: Emit, counters: Counters): void {
  const n = inputs.partitions?.[node.id] ?? 0;
  const prefix = `w${node.id}/${partition}/`;
  const fn = node.reduceFn!;
  const inv = node.invFn!;
  type Slot = { prev?: { v: unknown }; old: Map<number, unknown>; added: Map<number, unknown> };
  const byKey = new KeyMap<Slot>();
  for (const [key, buf] of inputs.blocks) {
    if (!key.startsWith(prefix)) continue;
    const [role, index] = key.slice(prefix.length).split('/') as [string, string];
    const i = Number(index);
    const records = unpackRecords(buf);
    counters.recordsIn += records.length;
    for (const r of records) {
      const [k, v] = asPair(r, node);
      if (n > 1 && partitionOf(k, n) !== partition) continue;
      let slot = byKey.get(k);
      if (!slot) byKey.set(k, (slot = { old: new Map(), added: new Map() }));
      if (role === 'p') slot.prev = { v };
      else {
        // One value per key per reduced batch; several only if its partitions were read whole.
        const m = role === 'o' ? slot.old : slot.added;
        m.set(i, m.has(i) ? callUser(fn, m.get(i), v, node) : v);
      }
    }
  }
  const reduceAll = (m: Map<number, unknown>): { v: unknown } | undefined => {
    let acc: { v: unknown } | undefined;
    for (const i of [...m.keys()].sort((a, b) => a - b)) acc = acc ? { v: callUser(fn, acc.v, m.get(i), node) } : { v: m.get(i) };
    return acc;
  };
  for (const [k, slot] of byKey.entries()) {
    const added = reduceAll(slot.added);
    let value: unknown;
    if (!slot.prev) {
      if (!added) continue;
      value = added.v;
    } else {
      value = slot.prev.v;
      const old = reduceAll(slot.old);
      if (old) value = callUser(inv, value, old.v, node);
      if (added) value = callUser(fn, value, added.v, node);
    }
    const record = [k, value];
    if (node.filterFn) {
      let keep: unknown;
      operatorProbe[0] = node.id;
      try {
        keep = node.filterFn(record);
      } catch (e) {
        throw new UserFunctionError(node.id, operatorLabel(node), e);
      }
      if (!keep) continue;
    }
    emit(record);
  }
}

function compose(node: NarrowNode, emit: Emit): Emit {
  const label = operatorLabel(node);
  const id = node.id;
  const fail = (e: unknown): never => {
    if (e instanceof UserFunctionError) throw e;
    throw new UserFunctionError(node.id, label, e);
  };
  switch (node.op) {
    case 'map': {
      const fn = node.fn as (v: unknown) => unknown;
      return (r) => {
        let out: unknown;
        operatorProbe[0] = id;
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
        operatorProbe[0] = id;
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
        operatorProbe[0] = id;
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
          // A generator resumes user code of this operator after each emit.
          for (const x of out) {
            emit(x);
            operatorProbe[0] = id;
          }
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
        operatorProbe[0] = id;
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
        operatorProbe[0] = id;
        try {
          out = fn(v);
        } catch (e) {
          return fail(e);
        }
        if (Array.isArray(out)) {
          for (let i = 0; i < out.length; i++) emit([k, out[i]]);
          return;
        }
        if (out == null || typeof (out as Iterable<unknown>)[Symbol.iterator] !== 'function') {
          fail(new TypeError(`flatMapValues function must return an iterable, got ${preview(out)}`));
        }
        // Built-in generators (join) pull lazily: errors from downstream
        // operators must pass through untouched.
        const it = out[Symbol.iterator]();
        for (;;) {
          let step: IteratorResult<unknown>;
          try {
            step = it.next();
          } catch (e) {
            return fail(e);
          }
          if (step.done) return;
          emit([k, step.value]);
          operatorProbe[0] = id;
        }
      };
    }
    case 'mapPartitions':
    case 'glom':
    case 'identity':
      throw new Error(`${node.op} is not a per-record operator`);
  }
}

function readShuffle(node: ShuffleNode, inputs: TaskInputs, emit: Emit, counters: Counters): void {
  const buckets = inputs.shuffles.get(node.id);
  if (!buckets) throw new MissingInputError(`task input missing: shuffle of ${operatorLabel(node)}`);
  switch (node.op) {
    case 'combineByKey': {
      const agg = node.aggregator!;
      const merged = new KeyMap<{ c: unknown }>();
      const combined = node.mapSideCombine === true;
      for (const bucket of buckets) {
        counters.recordsIn += forEachRecord(bucket, (r, i) => {
          checkCancelled(counters, i);
          const [k, v] = r as [unknown, unknown];
          const slot = merged.get(k);
          if (slot) slot.c = callUser(combined ? agg.mergeCombiners : agg.mergeValue, slot.c, v, node);
          else merged.set(k, { c: combined ? v : callUser(agg.createCombiner, v, undefined, node) });
        });
      }
      for (const [k, slot] of merged.entries()) emit([k, slot.c]);
      return;
    }
    case 'groupByKey': {
      const groups = new KeyMap<unknown[]>();
      for (const bucket of buckets) {
        counters.recordsIn += forEachRecord(bucket, (r, i) => {
          checkCancelled(counters, i);
          const [k, v] = r as [unknown, unknown];
          const g = groups.get(k);
          if (g) g.push(v);
          else groups.set(k, [v]);
        });
      }
      for (const [k, values] of groups.entries()) emit([k, values]);
      return;
    }
    case 'repartition':
      for (const bucket of buckets) {
        counters.recordsIn += forEachRecord(bucket, (r, i) => {
          checkCancelled(counters, i);
          emit(r);
        });
      }
      return;
    case 'cogroup': {
      const sides = node.parents.length;
      const groups = new KeyMap<unknown[][]>();
      for (const bucket of buckets) {
        const records = unpackRecords(bucket);
        if (records.length === 0) continue;
        const side = records[0];
        if (typeof side !== 'number' || !(side >= 0 && side < sides)) {
          throw new Error(`shuffle bucket of ${operatorLabel(node)} (node ${node.id}) has no valid side tag`);
        }
        counters.recordsIn += records.length - 1;
        for (let i = 1; i < records.length; i++) {
          checkCancelled(counters, i);
          const [k, v] = records[i] as [unknown, unknown];
          let g = groups.get(k);
          if (!g) groups.set(k, (g = Array.from({ length: sides }, () => [])));
          g[side]!.push(v);
        }
      }
      for (const [k, values] of groups.entries()) emit([k, values]);
      return;
    }
  }
}
