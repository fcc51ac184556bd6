// Original file: proto/rivulet/v1/executor.proto

import type { TaskResult as _rivulet_v1_TaskResult, TaskResult__Output as _rivulet_v1_TaskResult__Output } from '../../rivulet/v1/TaskResult.js';

export interface TaskResults {
  'results'?: (_rivulet_v1_TaskResult)[];
}

export interface TaskResults__Output {
  'results': (_rivulet_v1_TaskResult__Output)[];
}
