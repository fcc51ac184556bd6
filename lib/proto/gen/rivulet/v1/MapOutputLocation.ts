// Original file: proto/rivulet/v1/executor.proto

import type { ExecutorRef as _rivulet_v1_ExecutorRef, ExecutorRef__Output as _rivulet_v1_ExecutorRef__Output } from '../../rivulet/v1/ExecutorRef.js';

export interface MapOutputLocation {
  'mapPartition'?: (number);
  'executor'?: (_rivulet_v1_ExecutorRef | null);
}

export interface MapOutputLocation__Output {
  'mapPartition': (number);
  'executor': (_rivulet_v1_ExecutorRef__Output | null);
}
