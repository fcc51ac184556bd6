// Original file: proto/rivulet/v1/executor.proto

import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from '../../rivulet/v1/DatasetRef.js';
import type { MapOutputLocation as _rivulet_v1_MapOutputLocation, MapOutputLocation__Output as _rivulet_v1_MapOutputLocation__Output } from '../../rivulet/v1/MapOutputLocation.js';

/**
 * The reduce side of a shuffle: bucket `reduce_partition` of every map output.
 */
export interface ShuffleInput {
  /**
   * the shuffled dataset (e.g. the reduceByKey node)
   */
  'dataset'?: (_rivulet_v1_DatasetRef | null);
  'reducePartition'?: (number);
  'shuffleId'?: (string);
  'mapOutputs'?: (_rivulet_v1_MapOutputLocation)[];
}

/**
 * The reduce side of a shuffle: bucket `reduce_partition` of every map output.
 */
export interface ShuffleInput__Output {
  /**
   * the shuffled dataset (e.g. the reduceByKey node)
   */
  'dataset': (_rivulet_v1_DatasetRef__Output | null);
  'reducePartition': (number);
  'shuffleId': (string);
  'mapOutputs': (_rivulet_v1_MapOutputLocation__Output)[];
}
