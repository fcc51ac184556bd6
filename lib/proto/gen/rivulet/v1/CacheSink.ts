// Original file: proto/rivulet/v1/executor.proto


/**
 * A task's result records are kept in this executor's block store as the
 * cached partition `block_id` (`rdd/<job>:<batch>:<node>/<partition>`), for
 * windows of later batches; only the record count goes back.
 */
export interface CacheSink {
  'blockId'?: (string);
}

/**
 * A task's result records are kept in this executor's block store as the
 * cached partition `block_id` (`rdd/<job>:<batch>:<node>/<partition>`), for
 * windows of later batches; only the record count goes back.
 */
export interface CacheSink__Output {
  'blockId': (string);
}
