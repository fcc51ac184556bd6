// Original file: proto/rivulet/v1/executor.proto

import type { ExecutorRef as _rivulet_v1_ExecutorRef, ExecutorRef__Output as _rivulet_v1_ExecutorRef__Output } from '../../rivulet/v1/ExecutorRef.js';

export interface ShufflePushTarget {
  'executor'?: (_rivulet_v1_ExecutorRef | null);
  'reducePartitions'?: (number)[];
}

export interface ShufflePushTarget__Output {
  'executor': (_rivulet_v1_ExecutorRef__Output | null);
  'reducePartitions': (number)[];
}
