// Original file: proto/rivulet/v1/executor.proto

import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from '../../rivulet/v1/DatasetRef.js';
import type { ShufflePushTarget as _rivulet_v1_ShufflePushTarget, ShufflePushTarget__Output as _rivulet_v1_ShufflePushTarget__Output } from '../../rivulet/v1/ShufflePushTarget.js';

/**
 * A task's result is hashed into buckets for a downstream shuffle and kept in
 * this executor's block store as `shuffle/<shuffle_id>/<map>/<reduce>`.
 */
export interface ShuffleWrite {
  'shuffleId'?: (string);
  /**
   * the shuffled dataset whose map side this is
   */
  'dataset'?: (_rivulet_v1_DatasetRef | null);
  'numPartitions'?: (number);
  /**
   * The task's global map partition is map_partition_offset + TaskSpec.partition
   * (its buckets are `shuffle/<shuffle_id>/<global map partition>/<reduce>`). A
   * shuffle with several parents (cogroup, join) numbers the partitions of its
   * parents one after the other, parent 0's first; 0 for single-parent shuffles.
   */
  'mapPartitionOffset'?: (number);
  /**
   * Where the reduce tasks of this shuffle are planned: after writing its
   * buckets here, the task pushes a copy of bucket r to the executor planned
   * for reduce partition r (PushBlocks, one call per executor), so the
   * reducers read them locally. Best effort: a bucket that could not be
   * pushed is fetched from here as before. Empty: no push.
   */
  'push'?: (_rivulet_v1_ShufflePushTarget)[];
  /**
   * Report no size per bucket (TaskResult.bucket_bytes left empty): the
   * scheduler reads the buckets' total from metrics.bytes_out. Each map
   * task's list names every reduce partition, O(S^2) numbers per shuffle for
   * a scheduler that only adds them up. Unset (an older scheduler): sent.
   */
  'totalBytesOnly'?: (boolean);
}

/**
 * A task's result is hashed into buckets for a downstream shuffle and kept in
 * this executor's block store as `shuffle/<shuffle_id>/<map>/<reduce>`.
 */
export interface ShuffleWrite__Output {
  'shuffleId': (string);
  /**
   * the shuffled dataset whose map side this is
   */
  'dataset': (_rivulet_v1_DatasetRef__Output | null);
  'numPartitions': (number);
  /**
   * The task's global map partition is map_partition_offset + TaskSpec.partition
   * (its buckets are `shuffle/<shuffle_id>/<global map partition>/<reduce>`). A
   * shuffle with several parents (cogroup, join) numbers the partitions of its
   * parents one after the other, parent 0's first; 0 for single-parent shuffles.
   */
  'mapPartitionOffset': (number);
  /**
   * Where the reduce tasks of this shuffle are planned: after writing its
   * buckets here, the task pushes a copy of bucket r to the executor planned
   * for reduce partition r (PushBlocks, one call per executor), so the
   * reducers read them locally. Best effort: a bucket that could not be
   * pushed is fetched from here as before. Empty: no push.
   */
  'push': (_rivulet_v1_ShufflePushTarget__Output)[];
  /**
   * Report no size per bucket (TaskResult.bucket_bytes left empty): the
   * scheduler reads the buckets' total from metrics.bytes_out. Each map
   * task's list names every reduce partition, O(S^2) numbers per shuffle for
   * a scheduler that only adds them up. Unset (an older scheduler): sent.
   */
  'totalBytesOnly': (boolean);
}
