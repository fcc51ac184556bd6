// Original file: proto/rivulet/v1/executor.proto

import type { TaskSpec as _rivulet_v1_TaskSpec, TaskSpec__Output as _rivulet_v1_TaskSpec__Output } from '../../rivulet/v1/TaskSpec.js';

export interface RunTasksRequest {
  'tasks'?: (_rivulet_v1_TaskSpec)[];
}

export interface RunTasksRequest__Output {
  'tasks': (_rivulet_v1_TaskSpec__Output)[];
}
