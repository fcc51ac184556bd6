// Original file: proto/rivulet/v1/lineage.proto

import type { Dataset as _rivulet_v1_Dataset, Dataset__Output as _rivulet_v1_Dataset__Output } from '../../rivulet/v1/Dataset.js';
import type { Location as _rivulet_v1_Location, Location__Output as _rivulet_v1_Location__Output } from '../../rivulet/v1/Location.js';
import type { Long } from '@grpc/proto-loader';

export interface RegisterBatchRequest {
  'jobId'?: (string);
  'batchTimeMs'?: (number | string | Long);
  'datasets'?: (_rivulet_v1_Dataset)[];
  /**
   * Input blocks, as INPUT_BLOCK locations of the source datasets.
   */
  'inputs'?: (_rivulet_v1_Location)[];
  /**
   * Replace a registration of the same batch with a different graph or
   * inputs instead of answering ALREADY_EXISTS: a scheduler restarted after a
   * crash re-plans the batch that was in flight (possibly on other executors).
   */
  'replace'?: (boolean);
}

export interface RegisterBatchRequest__Output {
  'jobId': (string);
  'batchTimeMs': (number);
  'datasets': (_rivulet_v1_Dataset__Output)[];
  /**
   * Input blocks, as INPUT_BLOCK locations of the source datasets.
   */
  'inputs': (_rivulet_v1_Location__Output)[];
  /**
   * Replace a registration of the same batch with a different graph or
   * inputs instead of answering ALREADY_EXISTS: a scheduler restarted after a
   * crash re-plans the batch that was in flight (possibly on other executors).
   */
  'replace': (boolean);
}
