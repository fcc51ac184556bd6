// Original file: proto/rivulet/v1/scheduler.proto


export interface WatchOutputRequest {
  'jobId'?: (string);
  'output'?: (string);
  /**
   * Also send batches already committed and still retained, oldest first.
   */
  'fromBeginning'?: (boolean);
}

export interface WatchOutputRequest__Output {
  'jobId': (string);
  'output': (string);
  /**
   * Also send batches already committed and still retained, oldest first.
   */
  'fromBeginning': (boolean);
}
