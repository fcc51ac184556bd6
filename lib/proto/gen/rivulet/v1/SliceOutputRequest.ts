// Original file: proto/rivulet/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface SliceOutputRequest {
  'jobId'?: (string);
  'output'?: (string);
  /**
   * Epoch milliseconds, both included; each is aligned down to the output's
   * grid (zero_time + k x grid, SliceWindow) before the batches are chosen.
   */
  'fromTimeMs'?: (number | string | Long);
  'toTimeMs'?: (number | string | Long);
}

export interface SliceOutputRequest__Output {
  'jobId': (string);
  'output': (string);
  /**
   * Epoch milliseconds, both included; each is aligned down to the output's
   * grid (zero_time + k x grid, SliceWindow) before the batches are chosen.
   */
  'fromTimeMs': (number);
  'toTimeMs': (number);
}
