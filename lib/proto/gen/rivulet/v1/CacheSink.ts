// Original file: proto/rivulet/v1/executor.proto


/**
 * A task's result records are kept in this executor's block store as the
 * cached partition `block_id` (`rdd/<job>:<batch>:<node>:<scheduler incarnation>/<partition>`), for
 * windows of later batches; only the record count goes back.
 */
export interface CacheSink {
  'blockId'?: (string);
  /**
   * When set, the partition (a state's) is also written to the checkpoint
   * store under this name before the task reports success.
   */
  'checkpoint'?: (string);
}

/**
 * A task's result records are kept in this executor's block store as the
 * cached partition `block_id` (`rdd/<job>:<batch>:<node>:<scheduler incarnation>/<partition>`), for
 * windows of later batches; only the record count goes back.
 */
export interface CacheSink__Output {
  'blockId': (string);
  /**
   * When set, the partition (a state's) is also written to the checkpoint
   * store under this name before the task reports success.
   */
  'checkpoint': (string);
}
