// Original file: proto/rivulet/v1/executor.proto

import type { Long } from '@grpc/proto-loader';

export interface PlanRevocation {
  'planId'?: (string);
  /**
   * Batches after this time are no longer planned (the scheduler launches them itself).
   */
  'afterBatchMs'?: (number | string | Long);
}

export interface PlanRevocation__Output {
  'planId': (string);
  /**
   * Batches after this time are no longer planned (the scheduler launches them itself).
   */
  'afterBatchMs': (number);
}
