// Original file: proto/rivulet/v1/executor.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A task's result records go back to the scheduler for an output operation.
 */
export interface ResultSink {
  'output'?: (string);
  /**
   * The scheduler's maxTaskResultBytes: a result with a larger payload fails
   * the task (user_error, naming the option) instead of being sent.
   */
  'maxResultBytes'?: (number | string | Long);
  /**
   * The scheduler's maxMessageBytes: the largest RunTasks message it reads.
   * A result that does not fit one is sent in slices sized by the smaller of
   * this and the executor's own limit. 0 (a scheduler that does not
   * reassemble slices): the result must fit one message.
   */
  'maxMessageBytes'?: (number);
}

/**
 * A task's result records go back to the scheduler for an output operation.
 */
export interface ResultSink__Output {
  'output': (string);
  /**
   * The scheduler's maxTaskResultBytes: a result with a larger payload fails
   * the task (user_error, naming the option) instead of being sent.
   */
  'maxResultBytes': (number);
  /**
   * The scheduler's maxMessageBytes: the largest RunTasks message it reads.
   * A result that does not fit one is sent in slices sized by the smaller of
   * this and the executor's own limit. 0 (a scheduler that does not
   * reassemble slices): the result must fit one message.
   */
  'maxMessageBytes': (number);
}
