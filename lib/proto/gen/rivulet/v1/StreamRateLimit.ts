// Original file: proto/rivulet/v1/scheduler.proto


/**
 * The ingest rate backpressure currently allows for one input stream
 * (rate-controller.ts): the lowest estimate of the running jobs reading it.
 */
export interface StreamRateLimit {
  'stream'?: (string);
  /**
   * Records per second the receiver admits for the stream (each receiver, for
   * the stream's pushes it receives).
   */
  'recordsPerSecond'?: (number | string);
}

/**
 * The ingest rate backpressure currently allows for one input stream
 * (rate-controller.ts): the lowest estimate of the running jobs reading it.
 */
export interface StreamRateLimit__Output {
  'stream': (string);
  /**
   * Records per second the receiver admits for the stream (each receiver, for
   * the stream's pushes it receives).
   */
  'recordsPerSecond': (number);
}
