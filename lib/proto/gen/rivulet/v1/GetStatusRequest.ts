// Original file: proto/rivulet/v1/scheduler.proto


export interface GetStatusRequest {
  /**
   * How many recent batches to return per job (default 10).
   */
  'recentBatches'?: (number);
}

export interface GetStatusRequest__Output {
  /**
   * How many recent batches to return per job (default 10).
   */
  'recentBatches': (number);
}
