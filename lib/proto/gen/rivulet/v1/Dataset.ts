// Original file: proto/rivulet/v1/lineage.proto

import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from '../../rivulet/v1/DatasetRef.js';
import type { DependencyKind as _rivulet_v1_DependencyKind, DependencyKind__Output as _rivulet_v1_DependencyKind__Output } from '../../rivulet/v1/DependencyKind.js';

export interface Dataset {
  'ref'?: (_rivulet_v1_DatasetRef | null);
  /**
   * The operator that makes it, e.g. "flatMap", "reduceByKey", "receiverStream(lines)".
   */
  'operator'?: (string);
  'dependency'?: (_rivulet_v1_DependencyKind);
  'parents'?: (_rivulet_v1_DatasetRef)[];
  'numPartitions'?: (number);
}

export interface Dataset__Output {
  'ref': (_rivulet_v1_DatasetRef__Output | null);
  /**
   * The operator that makes it, e.g. "flatMap", "reduceByKey", "receiverStream(lines)".
   */
  'operator': (string);
  'dependency': (_rivulet_v1_DependencyKind__Output);
  'parents': (_rivulet_v1_DatasetRef__Output)[];
  'numPartitions': (number);
}
