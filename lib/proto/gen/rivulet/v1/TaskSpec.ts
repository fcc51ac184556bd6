// Original file: proto/rivulet/v1/executor.proto

import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from '../../rivulet/v1/DatasetRef.js';
import type { BlockInput as _rivulet_v1_BlockInput, BlockInput__Output as _rivulet_v1_BlockInput__Output } from '../../rivulet/v1/BlockInput.js';
import type { ShuffleInput as _rivulet_v1_ShuffleInput, ShuffleInput__Output as _rivulet_v1_ShuffleInput__Output } from '../../rivulet/v1/ShuffleInput.js';
import type { ShuffleWrite as _rivulet_v1_ShuffleWrite, ShuffleWrite__Output as _rivulet_v1_ShuffleWrite__Output } from '../../rivulet/v1/ShuffleWrite.js';
import type { ResultSink as _rivulet_v1_ResultSink, ResultSink__Output as _rivulet_v1_ResultSink__Output } from '../../rivulet/v1/ResultSink.js';
import type { CacheSink as _rivulet_v1_CacheSink, CacheSink__Output as _rivulet_v1_CacheSink__Output } from '../../rivulet/v1/CacheSink.js';
import type { Long } from '@grpc/proto-loader';

export interface TaskSpec {
  'taskId'?: (string);
  'jobId'?: (string);
  'bundleHash'?: (string);
  'batchTimeMs'?: (number | string | Long);
  'stageId'?: (number);
  'partition'?: (number);
  'attempt'?: (number);
  /**
   * The scheduler's epoch for the executor this attempt was sent to.
   */
  'epoch'?: (number | string | Long);
  /**
   * The dataset this task computes a partition of (the stage's last dataset).
   */
  'dataset'?: (_rivulet_v1_DatasetRef | null);
  'blocks'?: (_rivulet_v1_BlockInput)[];
  'shuffles'?: (_rivulet_v1_ShuffleInput)[];
  'shuffleWrite'?: (_rivulet_v1_ShuffleWrite | null);
  'result'?: (_rivulet_v1_ResultSink | null);
  /**
   * Locality level the scheduler placed it at: PROCESS_LOCAL, NODE_LOCAL, ANY.
   */
  'locality'?: (string);
  'speculative'?: (boolean);
  /**
   * Partition count of every node of the job graph in this batch, by node id.
   * The runtime needs it to map a union's partitions onto its parents'.
   */
  'nodePartitions'?: (number)[];
  /**
   * W3C trace context (traceparent, tracestate) of the span this task belongs
   * to — its stage's, in its batch's trace — so the executor's task span is a
   * child of it even though one RunTasks call carries tasks of several stages.
   * Empty when tracing is off.
   */
  'traceContext'?: ({[key: string]: string});
  'cache'?: (_rivulet_v1_CacheSink | null);
  /**
   * A state task rebuilding a previous state lost on every executor: the
   * batch times to replay, in order, from its base (the checkpoint input, or
   * the initial state when there is none) up to this batch; the values of
   * each come as blocks with input_key `s/r/<batch time>` (none when that
   * batch had no values).
   */
  'stateReplay'?: (number | string | Long)[];
  /**
   * The scheduler's taskTimeout: the executor stops the worker running this
   * attempt after this long in a slot and fails the attempt (retried like
   * any failure). 0 = no limit.
   */
  'timeoutMs'?: (number);
  'sink'?: "shuffleWrite"|"result"|"cache";
}

export interface TaskSpec__Output {
  'taskId': (string);
  'jobId': (string);
  'bundleHash': (string);
  'batchTimeMs': (number);
  'stageId': (number);
  'partition': (number);
  'attempt': (number);
  /**
   * The scheduler's epoch for the executor this attempt was sent to.
   */
  'epoch': (number);
  /**
   * The dataset this task computes a partition of (the stage's last dataset).
   */
  'dataset': (_rivulet_v1_DatasetRef__Output | null);
  'blocks': (_rivulet_v1_BlockInput__Output)[];
  'shuffles': (_rivulet_v1_ShuffleInput__Output)[];
  'shuffleWrite'?: (_rivulet_v1_ShuffleWrite__Output | null);
  'result'?: (_rivulet_v1_ResultSink__Output | null);
  /**
   * Locality level the scheduler placed it at: PROCESS_LOCAL, NODE_LOCAL, ANY.
   */
  'locality': (string);
  'speculative': (boolean);
  /**
   * Partition count of every node of the job graph in this batch, by node id.
   * The runtime needs it to map a union's partitions onto its parents'.
   */
  'nodePartitions': (number)[];
  /**
   * W3C trace context (traceparent, tracestate) of the span this task belongs
   * to — its stage's, in its batch's trace — so the executor's task span is a
   * child of it even though one RunTasks call carries tasks of several stages.
   * Empty when tracing is off.
   */
  'traceContext': ({[key: string]: string});
  'cache'?: (_rivulet_v1_CacheSink__Output | null);
  /**
   * A state task rebuilding a previous state lost on every executor: the
   * batch times to replay, in order, from its base (the checkpoint input, or
   * the initial state when there is none) up to this batch; the values of
   * each come as blocks with input_key `s/r/<batch time>` (none when that
   * batch had no values).
   */
  'stateReplay': (number)[];
  /**
   * The scheduler's taskTimeout: the executor stops the worker running this
   * attempt after this long in a slot and fails the attempt (retried like
   * any failure). 0 = no limit.
   */
  'timeoutMs': (number);
  'sink'?: "shuffleWrite"|"result"|"cache";
}
