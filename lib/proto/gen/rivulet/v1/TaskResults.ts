// Original file: proto/rivulet/v1/executor.proto

import type { TaskResult as _rivulet_v1_TaskResult, TaskResult__Output as _rivulet_v1_TaskResult__Output } from '../../rivulet/v1/TaskResult.js';

/**
 * Results of a TaskStream, packed: a sliced result's slices (TaskResult) come
 * in order, possibly one per message.
 */
export interface TaskResults {
  'results'?: (_rivulet_v1_TaskResult)[];
}

/**
 * Results of a TaskStream, packed: a sliced result's slices (TaskResult) come
 * in order, possibly one per message.
 */
export interface TaskResults__Output {
  'results': (_rivulet_v1_TaskResult__Output)[];
}
