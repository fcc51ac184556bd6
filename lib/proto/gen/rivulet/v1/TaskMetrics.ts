// Original file: proto/rivulet/v1/executor.proto

import type { Long } from '@grpc/proto-loader';

export interface TaskMetrics {
  'recordsIn'?: (number | string | Long);
  'recordsOut'?: (number | string | Long);
  'bytesOut'?: (number | string | Long);
  /**
   * time in the worker
   */
  'runMs'?: (number | string);
  /**
   * time fetching remote inputs
   */
  'fetchMs'?: (number | string);
  /**
   * time waiting for a slot on the executor
   */
  'queueMs'?: (number | string);
}

export interface TaskMetrics__Output {
  'recordsIn': (number);
  'recordsOut': (number);
  'bytesOut': (number);
  /**
   * time in the worker
   */
  'runMs': (number);
  /**
   * time fetching remote inputs
   */
  'fetchMs': (number);
  /**
   * time waiting for a slot on the executor
   */
  'queueMs': (number);
}
