// Original file: proto/rivulet/v1/common.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Identifies one dataset of one batch of one job: `node_id` is the position of
 * the D-Stream in the job graph, the same on every process that builds the job.
 */
export interface DatasetRef {
  'jobId'?: (string);
  'batchTimeMs'?: (number | string | Long);
  'nodeId'?: (number);
}

/**
 * Identifies one dataset of one batch of one job: `node_id` is the position of
 * the D-Stream in the job graph, the same on every process that builds the job.
 */
export interface DatasetRef__Output {
  'jobId': (string);
  'batchTimeMs': (number);
  'nodeId': (number);
}
