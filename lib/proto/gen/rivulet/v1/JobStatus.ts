// Original file: proto/rivulet/v1/scheduler.proto

import type { BatchStatus as _rivulet_v1_BatchStatus, BatchStatus__Output as _rivulet_v1_BatchStatus__Output } from '../../rivulet/v1/BatchStatus.js';
import type { JetStreamSourceStatus as _rivulet_v1_JetStreamSourceStatus, JetStreamSourceStatus__Output as _rivulet_v1_JetStreamSourceStatus__Output } from '../../rivulet/v1/JetStreamSourceStatus.js';
import type { SinkStatus as _rivulet_v1_SinkStatus, SinkStatus__Output as _rivulet_v1_SinkStatus__Output } from '../../rivulet/v1/SinkStatus.js';
import type { Long } from '@grpc/proto-loader';

export interface JobStatus {
  'jobId'?: (string);
  'name'?: (string);
  /**
   * RUNNING, STOPPED or FAILED.
   */
  'state'?: (string);
  'error'?: (string);
  'streams'?: (string)[];
  'outputs'?: (string)[];
  'submittedAtMs'?: (number | string | Long);
  'batchesCompleted'?: (number | string | Long);
  'recordsProcessed'?: (number | string | Long);
  'recentBatches'?: (_rivulet_v1_BatchStatus)[];
  /**
   * Batches of the job queued or running (not yet finished). Past the
   * scheduler's maxQueuedBatches the job is falling behind: with
   * onFallingBehind=backpressure (the default) new batches wait and the
   * ingest rate is lowered; with onFallingBehind=fail the job fails.
   */
  'queuedBatches'?: (number);
  /**
   * True while queued_batches is at maxQueuedBatches (batches wait to be created).
   */
  'fallingBehind'?: (boolean);
  /**
   * Group scheduling: batches per group of the job's next plan (0: each batch
   * is launched by the scheduler), and why not when it cannot be planned ahead.
   */
  'groupSize'?: (number);
  'groupNote'?: (string);
  /**
   * The user who submitted the job (empty with security off): only they and admins may stop or watch it.
   */
  'owner'?: (string);
  /**
   * Status bounds: `streams` and `outputs` list at most 100 each, and
   * `error` / batch errors are cut to 4 KiB; these are the full counts.
   */
  'streamsTotal'?: (number);
  'outputsTotal'?: (number);
  /**
   * Every subject filter of every JetStream direct source the job reads (ctx.jetStream).
   */
  'jetStreamSources'?: (_rivulet_v1_JetStreamSourceStatus)[];
  /**
   * Every output of the job written to a sink (output(name).toJetStream / .toPostgres).
   */
  'sinks'?: (_rivulet_v1_SinkStatus)[];
}

export interface JobStatus__Output {
  'jobId': (string);
  'name': (string);
  /**
   * RUNNING, STOPPED or FAILED.
   */
  'state': (string);
  'error': (string);
  'streams': (string)[];
  'outputs': (string)[];
  'submittedAtMs': (number);
  'batchesCompleted': (number);
  'recordsProcessed': (number);
  'recentBatches': (_rivulet_v1_BatchStatus__Output)[];
  /**
   * Batches of the job queued or running (not yet finished). Past the
   * scheduler's maxQueuedBatches the job is falling behind: with
   * onFallingBehind=backpressure (the default) new batches wait and the
   * ingest rate is lowered; with onFallingBehind=fail the job fails.
   */
  'queuedBatches': (number);
  /**
   * True while queued_batches is at maxQueuedBatches (batches wait to be created).
   */
  'fallingBehind': (boolean);
  /**
   * Group scheduling: batches per group of the job's next plan (0: each batch
   * is launched by the scheduler), and why not when it cannot be planned ahead.
   */
  'groupSize': (number);
  'groupNote': (string);
  /**
   * The user who submitted the job (empty with security off): only they and admins may stop or watch it.
   */
  'owner': (string);
  /**
   * Status bounds: `streams` and `outputs` list at most 100 each, and
   * `error` / batch errors are cut to 4 KiB; these are the full counts.
   */
  'streamsTotal': (number);
  'outputsTotal': (number);
  /**
   * Every subject filter of every JetStream direct source the job reads (ctx.jetStream).
   */
  'jetStreamSources': (_rivulet_v1_JetStreamSourceStatus__Output)[];
  /**
   * Every output of the job written to a sink (output(name).toJetStream / .toPostgres).
   */
  'sinks': (_rivulet_v1_SinkStatus__Output)[];
}
