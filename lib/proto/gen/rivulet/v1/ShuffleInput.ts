// Original file: proto/rivulet/v1/executor.proto

import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from '../../rivulet/v1/DatasetRef.js';
import type { MapOutputLocation as _rivulet_v1_MapOutputLocation, MapOutputLocation__Output as _rivulet_v1_MapOutputLocation__Output } from '../../rivulet/v1/MapOutputLocation.js';
import type { ExecutorRef as _rivulet_v1_ExecutorRef, ExecutorRef__Output as _rivulet_v1_ExecutorRef__Output } from '../../rivulet/v1/ExecutorRef.js';

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
  /**
   * The same in the compact form the scheduler sends (map_outputs then empty):
   * map partition m, for 0 <= m < len(map_output_holders), is held by
   * map_output_executors[map_output_holders[m]]. A reduce task lists every map
   * output, so per task the list form costs S nested messages with two strings
   * each (S^2 per shuffle); this one, one ref per executor and S varints.
   */
  'mapOutputExecutors'?: (_rivulet_v1_ExecutorRef)[];
  'mapOutputHolders'?: (number)[];
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
  /**
   * The same in the compact form the scheduler sends (map_outputs then empty):
   * map partition m, for 0 <= m < len(map_output_holders), is held by
   * map_output_executors[map_output_holders[m]]. A reduce task lists every map
   * output, so per task the list form costs S nested messages with two strings
   * each (S^2 per shuffle); this one, one ref per executor and S varints.
   */
  'mapOutputExecutors': (_rivulet_v1_ExecutorRef__Output)[];
  'mapOutputHolders': (number)[];
}
