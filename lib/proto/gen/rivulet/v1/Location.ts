// Original file: proto/rivulet/v1/lineage.proto

import type { LocationKind as _rivulet_v1_LocationKind, LocationKind__Output as _rivulet_v1_LocationKind__Output } from '../../rivulet/v1/LocationKind.js';
import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from '../../rivulet/v1/DatasetRef.js';
import type { Long } from '@grpc/proto-loader';

/**
 * One materialised piece of a dataset: an input block (partition of a source
 * dataset), a map output of a shuffle, a cached partition, or a checkpoint.
 */
export interface Location {
  'kind'?: (_rivulet_v1_LocationKind);
  'dataset'?: (_rivulet_v1_DatasetRef | null);
  'partition'?: (number);
  'blockId'?: (string);
  'executorIds'?: (string)[];
  'bytes'?: (number | string | Long);
}

/**
 * One materialised piece of a dataset: an input block (partition of a source
 * dataset), a map output of a shuffle, a cached partition, or a checkpoint.
 */
export interface Location__Output {
  'kind': (_rivulet_v1_LocationKind__Output);
  'dataset': (_rivulet_v1_DatasetRef__Output | null);
  'partition': (number);
  'blockId': (string);
  'executorIds': (string)[];
  'bytes': (number);
}
