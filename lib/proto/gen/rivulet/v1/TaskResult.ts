// Original file: proto/rivulet/v1/executor.proto

import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from '../../rivulet/v1/RecordBatch.js';
import type { TaskMetrics as _rivulet_v1_TaskMetrics, TaskMetrics__Output as _rivulet_v1_TaskMetrics__Output } from '../../rivulet/v1/TaskMetrics.js';
import type { Long } from '@grpc/proto-loader';

// Original file: proto/rivulet/v1/executor.proto

export const _rivulet_v1_TaskResult_State = {
  STATE_UNSPECIFIED: 'STATE_UNSPECIFIED',
  SUCCEEDED: 'SUCCEEDED',
  FAILED: 'FAILED',
  KILLED: 'KILLED',
} as const;

export type _rivulet_v1_TaskResult_State =
  | 'STATE_UNSPECIFIED'
  | 0
  | 'SUCCEEDED'
  | 1
  | 'FAILED'
  | 2
  | 'KILLED'
  | 3

export type _rivulet_v1_TaskResult_State__Output = typeof _rivulet_v1_TaskResult_State[keyof typeof _rivulet_v1_TaskResult_State]

export interface TaskResult {
  'taskId'?: (string);
  'attempt'?: (number);
  'executorId'?: (string);
  'epoch'?: (number | string | Long);
  'state'?: (_rivulet_v1_TaskResult_State);
  /**
   * On FAILED: what went wrong, with the operator that threw when it was user code.
   */
  'error'?: (string);
  /**
   * True when the failure comes from the job's own code (retrying will not help
   * unless the code is nondeterministic) rather than from the cluster.
   */
  'userError'?: (boolean);
  /**
   * For ResultSink tasks.
   */
  'records'?: (_rivulet_v1_RecordBatch | null);
  /**
   * For ShuffleWrite tasks: size in bytes of every bucket, in reduce order.
   */
  'bucketBytes'?: (number | string | Long)[];
  'metrics'?: (_rivulet_v1_TaskMetrics | null);
  /**
   * Set when the task failed because an input could not be fetched from that
   * executor (Spark's FetchFailed): the scheduler recomputes the lost map
   * outputs instead of blaming the task.
   */
  'fetchFailedExecutorId'?: (string);
  /**
   * A SUCCEEDED result whose records do not fit one message comes as
   * consecutive TaskResult messages of the same call, each with the same
   * task_id, attempt, executor_id, epoch and records.count, holding the slice
   * of records.payload that starts at `records_offset`; every slice carries
   * `records_total_bytes`, the payload's full size, and only the last one
   * carries metrics. The scheduler takes the result only once it has every
   * byte: a call that breaks before the last slice loses the task like any
   * broken call (it is retried). 0 on a result sent whole.
   */
  'recordsOffset'?: (number | string | Long);
  'recordsTotalBytes'?: (number | string | Long);
  /**
   * Set (with state FAILED) when the executor refused the task because it
   * already holds slots × taskQueueDepth tasks (running or queued): not the
   * task's fault; the scheduler places it again without counting an attempt.
   */
  'queueFull'?: (boolean);
  /**
   * JetStream sources: messages of the task's slices that failed to decode,
   * one record each ({source, stream, seq, error}), for the source's
   * dead-letter output (`<source>.dead-letter`). Only on SUCCEEDED results,
   * and only on the first slice of a sliced one.
   */
  'deadLetters'?: (_rivulet_v1_RecordBatch | null);
}

export interface TaskResult__Output {
  'taskId': (string);
  'attempt': (number);
  'executorId': (string);
  'epoch': (number);
  'state': (_rivulet_v1_TaskResult_State__Output);
  /**
   * On FAILED: what went wrong, with the operator that threw when it was user code.
   */
  'error': (string);
  /**
   * True when the failure comes from the job's own code (retrying will not help
   * unless the code is nondeterministic) rather than from the cluster.
   */
  'userError': (boolean);
  /**
   * For ResultSink tasks.
   */
  'records': (_rivulet_v1_RecordBatch__Output | null);
  /**
   * For ShuffleWrite tasks: size in bytes of every bucket, in reduce order.
   */
  'bucketBytes': (number)[];
  'metrics': (_rivulet_v1_TaskMetrics__Output | null);
  /**
   * Set when the task failed because an input could not be fetched from that
   * executor (Spark's FetchFailed): the scheduler recomputes the lost map
   * outputs instead of blaming the task.
   */
  'fetchFailedExecutorId': (string);
  /**
   * A SUCCEEDED result whose records do not fit one message comes as
   * consecutive TaskResult messages of the same call, each with the same
   * task_id, attempt, executor_id, epoch and records.count, holding the slice
   * of records.payload that starts at `records_offset`; every slice carries
   * `records_total_bytes`, the payload's full size, and only the last one
   * carries metrics. The scheduler takes the result only once it has every
   * byte: a call that breaks before the last slice loses the task like any
   * broken call (it is retried). 0 on a result sent whole.
   */
  'recordsOffset': (number);
  'recordsTotalBytes': (number);
  /**
   * Set (with state FAILED) when the executor refused the task because it
   * already holds slots × taskQueueDepth tasks (running or queued): not the
   * task's fault; the scheduler places it again without counting an attempt.
   */
  'queueFull': (boolean);
  /**
   * JetStream sources: messages of the task's slices that failed to decode,
   * one record each ({source, stream, seq, error}), for the source's
   * dead-letter output (`<source>.dead-letter`). Only on SUCCEEDED results,
   * and only on the first slice of a sliced one.
   */
  'deadLetters': (_rivulet_v1_RecordBatch__Output | null);
}
