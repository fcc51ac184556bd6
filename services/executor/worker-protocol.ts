/**
 * Messages between the executor's main thread (task-pool.ts) and its task
 * workers (task-worker.ts). Only buffers and flat arrays of numbers/strings
 * cross the boundary: every input of a task travels in ONE ArrayBuffer
 * (transferred, not cloned) with [start, end) offsets, and every output
 * comes back the same way, because structured-cloning object graphs costs
 * ~100x more than moving a buffer.
 */
import type { TaskSink } from '../../lib/dstream/runtime.js';

export interface RunMessage {
  type: 'run';
  seq: number;
  bundleHash: string;
  /** The bundle's code, sent only the first time this worker sees the hash. */
  code?: string;
  /** Name used in errors from loading the bundle. */
  source: string;
  nodeId: number;
  partition: number;
  sink: TaskSink;
  /** tests/demos only: sleep this long before running (a straggler). */
  delayMs: number;
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
  runMs: number;
}

export interface FailMessage {
  type: 'fail';
  seq: number;
  /** The job's own code threw (a user function, or the bundle failed to build). */
  userError: boolean;
  message: string;
  runMs: number;
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
  /** Int32Array(1) over it: the graph node whose user code runs now, -1 for none. */
  probe: SharedArrayBuffer;
}

export type FromWorker = ReadyMessage | DoneMessage | FailMessage | OperatorsMessage;
