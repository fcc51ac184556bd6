// Original file: proto/rivulet/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The first message of every SliceOutput answer: what was served.
 */
export interface SliceWindow {
  /**
   * The range after alignment: batches with from_time_ms <= t <= to_time_ms.
   */
  'fromTimeMs'?: (number | string | Long);
  'toTimeMs'?: (number | string | Long);
  /**
   * The output's grid: its batch times are zero_time_ms + k x grid_ms (k >= 1).
   * grid_ms is the batch interval, or the window's slide for a windowed output.
   */
  'gridMs'?: (number | string | Long);
  'zeroTimeMs'?: (number | string | Long);
  /**
   * The committed batches the scheduler retains for this output
   * (outputRetentionBatches / outputRetentionBytes); oldest and newest are
   * meaningful only when retained_batches > 0.
   */
  'retainedBatches'?: (number);
  'oldestRetainedMs'?: (number | string | Long);
  'newestRetainedMs'?: (number | string | Long);
  /**
   * Part of the range lies before the oldest retained batch, at times the job
   * was already running: batches committed there are no longer retained.
   */
  'truncated'?: (boolean);
  /**
   * The range reaches past the newest committed batch of a job still
   * RUNNING: batches in range may yet be committed (asking again later gets them).
   */
  'pending'?: (boolean);
  /**
   * RUNNING, STOPPED or FAILED.
   */
  'jobState'?: (string);
  /**
   * How many batches follow (each possibly in several OutputBatch pieces).
   */
  'batches'?: (number);
}

/**
 * The first message of every SliceOutput answer: what was served.
 */
export interface SliceWindow__Output {
  /**
   * The range after alignment: batches with from_time_ms <= t <= to_time_ms.
   */
  'fromTimeMs': (number);
  'toTimeMs': (number);
  /**
   * The output's grid: its batch times are zero_time_ms + k x grid_ms (k >= 1).
   * grid_ms is the batch interval, or the window's slide for a windowed output.
   */
  'gridMs': (number);
  'zeroTimeMs': (number);
  /**
   * The committed batches the scheduler retains for this output
   * (outputRetentionBatches / outputRetentionBytes); oldest and newest are
   * meaningful only when retained_batches > 0.
   */
  'retainedBatches': (number);
  'oldestRetainedMs': (number);
  'newestRetainedMs': (number);
  /**
   * Part of the range lies before the oldest retained batch, at times the job
   * was already running: batches committed there are no longer retained.
   */
  'truncated': (boolean);
  /**
   * The range reaches past the newest committed batch of a job still
   * RUNNING: batches in range may yet be committed (asking again later gets them).
   */
  'pending': (boolean);
  /**
   * RUNNING, STOPPED or FAILED.
   */
  'jobState': (string);
  /**
   * How many batches follow (each possibly in several OutputBatch pieces).
   */
  'batches': (number);
}
