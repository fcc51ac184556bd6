// Original file: proto/rivulet/v1/executor.proto


/**
 * A task's result records go back to the scheduler for an output operation.
 */
export interface ResultSink {
  'output'?: (string);
}

/**
 * A task's result records go back to the scheduler for an output operation.
 */
export interface ResultSink__Output {
  'output': (string);
}
