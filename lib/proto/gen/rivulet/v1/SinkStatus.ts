// Original file: proto/rivulet/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

/**
 * One output's sink: what the leading scheduler process wrote to it. The counts are
 * this process's since it started (a new leader starts from 0; the sink itself holds
 * the record of every batch: commit rows, message ids).
 */
export interface SinkStatus {
  'output'?: (string);
  /**
   * `jetstream:<subject>` or `postgres:<connection>/<table>` (never a connection string).
   */
  'sink'?: (string);
  /**
   * Batches written, and batches found already written (a re-run, skipped by the sink).
   */
  'batchesWritten'?: (number | string | Long);
  'batchesSkipped'?: (number | string | Long);
  /**
   * Records the sink stored (duplicates of an earlier run not included).
   */
  'recordsWritten'?: (number | string | Long);
  /**
   * The latest batch written or skipped (0: none yet).
   */
  'lastBatchTimeMs'?: (number | string | Long);
  /**
   * The last failed attempt (retried or not), cut to 4 KiB; empty: none yet.
   */
  'lastError'?: (string);
  'lastErrorAtMs'?: (number | string | Long);
  /**
   * The write in flight is being retried: the attempt that failed last (0: not retrying).
   */
  'retryingAttempt'?: (number);
}

/**
 * One output's sink: what the leading scheduler process wrote to it. The counts are
 * this process's since it started (a new leader starts from 0; the sink itself holds
 * the record of every batch: commit rows, message ids).
 */
export interface SinkStatus__Output {
  'output': (string);
  /**
   * `jetstream:<subject>` or `postgres:<connection>/<table>` (never a connection string).
   */
  'sink': (string);
  /**
   * Batches written, and batches found already written (a re-run, skipped by the sink).
   */
  'batchesWritten': (number);
  'batchesSkipped': (number);
  /**
   * Records the sink stored (duplicates of an earlier run not included).
   */
  'recordsWritten': (number);
  /**
   * The latest batch written or skipped (0: none yet).
   */
  'lastBatchTimeMs': (number);
  /**
   * The last failed attempt (retried or not), cut to 4 KiB; empty: none yet.
   */
  'lastError': (string);
  'lastErrorAtMs': (number);
  /**
   * The write in flight is being retried: the attempt that failed last (0: not retrying).
   */
  'retryingAttempt': (number);
}
