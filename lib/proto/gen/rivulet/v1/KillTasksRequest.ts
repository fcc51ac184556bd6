// Original file: proto/rivulet/v1/executor.proto

import type { TaskAttemptRef as _rivulet_v1_TaskAttemptRef, TaskAttemptRef__Output as _rivulet_v1_TaskAttemptRef__Output } from '../../rivulet/v1/TaskAttemptRef.js';

export interface KillTasksRequest {
  'tasks'?: (_rivulet_v1_TaskAttemptRef)[];
}

export interface KillTasksRequest__Output {
  'tasks': (_rivulet_v1_TaskAttemptRef__Output)[];
}
