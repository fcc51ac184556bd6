/**
 * Messages between the executor's main thread (task-pool.ts) and its task
 * workers (task-worker.ts). Only buffers and flat arrays of numbers/strings
 * cross the boundary: every input of a task travels in ONE ArrayBuffer
 * (transferred, not cloned) with [start, end) offsets, and every output
 * comes back the same way, because structured-cloning object graphs costs
 * ~100x more than moving a buffer.
 *
 * Tasks travel in batches: one message hands a worker several queued tasks of
 * its bundle, which it runs one after the other, and their answers come back
 * packed. A thread hop (waking the other thread, a message, an event-loop
 * turn) costs far more than a tiny task; batching pays it once per batch.
 *
 * Which task of a batch runs is agreed through memory both threads share:
 * each task has a state word in `RunMessage.states` that the worker moves
 * NOT_STARTED → STARTED before running it and the pool moves NOT_STARTED →
 * WITHDRAWN to take a task back (a kill or a steal) — a compare-and-exchange,
 * so exactly one of them wins and a withdrawn task never runs. The worker
 * also writes into its probe (TaskWorkerData.probe) which task runs and since
 * when, so a task's timeout counts from its own start.
 */
import type { TaskSink } from '../../lib/dstream/runtime.js';

/**
 * `bytes` of uninitialised memory in an ArrayBuffer of its own, to be filled
 * whole and transferred (task inputs and outputs). Not `new Uint8Array(bytes)`:
 * that zero-fills first, which measured 0.9 ms against 0.04 ms for 400 kB
 * (2-core EPYC VM) — the largest item of an executor's main thread.
 */
export function transferableBytes(bytes: number): Uint8Array<ArrayBuffer> {
  // allocUnsafeSlow: never from Node's shared pool, so the ArrayBuffer is exactly these bytes.
  return Buffer.allocUnsafeSlow(bytes) as Uint8Array<ArrayBuffer>;
}

/** RunMessage.states values. */
export const TASK_NOT_STARTED = 0;
export const TASK_STARTED = 1;
export const TASK_WITHDRAWN = 2;
/**
 * Killed while running (the pool moves it from TASK_STARTED): the task's
 * record loops see it within ~1024 records and stop (TaskCancelledError), so
 * the worker — warm, its job's code compiled — goes on to its next task
 * instead of being stopped and replaced after the kill grace.
 */
export const TASK_KILLED = 3;

/** Int32 slots of the probe: [PROBE_NODE] the graph node whose user code runs (-1: none; lib/dstream/runtime.ts), [PROBE_TASK] the index in its batch of the task running (-1: none). */
export const PROBE_NODE = 0;
export const PROBE_TASK = 1;
/**
 * [PROBE_TASK] while the worker loads its job's code (its first batch): no task's time — the load is
 * bounded on its own (the pool's loadTimeoutMs), and the first task's clock starts when it is done.
 */
export const PROBE_LOADING = -2;
/** Float64 slot of the probe: when the running task started, or with none running when the last one ended (performance.timeOrigin + performance.now(), ms). */
export const PROBE_STARTED_AT = 1;
/** Bytes of a probe: two Int32 then one Float64. */
export const PROBE_BYTES = 16;

/** One task of a batch. */
export interface TaskMessage {
  seq: number;
  nodeId: number;
  partition: number;
  sink: TaskSink;
  /** Every input payload, back to back. Transferred. */
  input: ArrayBuffer;
  /** `sourceKey(nodeId, partition)` of each block input. */
  blockKeys: string[];
  /** [start, end) of each block input in `input`, flattened. */
  blockRanges: number[];
  /** Shuffle node id of each shuffle input. */
  shuffleNodes: number[];
  /** For each shuffle input, [start, end) of each bucket in `input`, flattened. */
  shuffleRanges: number[][];
  /** Partition count of every node in the task's batch (maps union partitions). */
  nodePartitions?: number[];
  batchTimeMs?: number;
  stateReplay?: number[];
}

export interface RunMessage {
  type: 'run';
  bundleHash: string;
  /** The bundle's code, sent only the first time this worker sees the hash. */
  code?: string;
  /** Name used in errors from loading the bundle. */
  source: string;
  /** tests/demos only: sleep this long before running each task (a straggler). */
  delayMs: number;
  /** Post the answers so far once this long has passed since the last post, even mid-batch (0: after every task). */
  flushMs: number;
  /** Int32Array(tasks.length) over it: each task's TASK_* state. */
  states: SharedArrayBuffer;
  tasks: TaskMessage[];
}

export type ToWorker = RunMessage;

export interface ReadyMessage {
  type: 'ready';
}

export interface DoneMessage {
  type: 'done';
  seq: number;
  recordsIn: number;
  recordsOut: number;
  /** The result payload (result sink) or every bucket back to back (shuffle sink). Transferred. */
  output: ArrayBuffer;
  /** [start, end) of each bucket (shuffle sink) or of the result (result sink), flattened. */
  ranges: number[];
  /** Records per bucket (shuffle sink). */
  bucketCounts?: number[];
  /** JetStream sources: the messages that failed to decode (runtime.ts TaskOutput.deadLetters); cloned, they are few. */
  deadLetters?: { count: number; payload: Uint8Array };
  runMs: number;
  /** From the batch's arrival in the worker to this task's start: its wait behind the tasks before it. */
  waitMs: number;
}

export interface FailMessage {
  type: 'fail';
  seq: number;
  /** The job's own code threw (a user function, or the bundle failed to build). */
  userError: boolean;
  message: string;
  runMs: number;
  waitMs: number;
}

export type TaskAnswer = DoneMessage | FailMessage;

/** Answers of tasks of the current batch, in batch order (withdrawn tasks have none). */
export interface ResultsMessage {
  type: 'results';
  answers: TaskAnswer[];
  /** The batch is over: the worker is free for the next one. */
  batchDone: boolean;
  /** With the batch's last answers: the input buffer of each of its tasks, handed back (transferred) for reuse. */
  inputs?: ArrayBuffer[];
}

/**
 * Sent once per bundle a worker loads: the label of every graph node, by id,
 * so the pool can name the operator a timed-out task was stuck in (the
 * worker writes the running node id into the shared `probe` of its workerData).
 */
export interface OperatorsMessage {
  type: 'operators';
  bundleHash: string;
  labels: string[];
}

/** workerData of a task worker. */
export interface TaskWorkerData {
  /** PROBE_BYTES of memory shared with the pool: see PROBE_*. */
  probe: SharedArrayBuffer;
}

export type FromWorker = ReadyMessage | ResultsMessage | OperatorsMessage;
