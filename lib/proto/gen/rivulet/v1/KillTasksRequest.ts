// Original file: proto/rivulet/v1/executor.proto

import type { TaskAttemptRef as _rivulet_v1_TaskAttemptRef, TaskAttemptRef__Output as _rivulet_v1_TaskAttemptRef__Output } from '../../rivulet/v1/TaskAttemptRef.js';

export interface KillTasksRequest {
  'tasks'?: (_rivulet_v1_TaskAttemptRef)[];
  /**
   * Kill only the tasks no worker has started yet (fetching inputs or queued
   * for a slot): the scheduler takes them back for an idle executor (task
   * stealing). A task that already started keeps running.
   */
  'onlyIfQueued'?: (boolean);
}

export interface KillTasksRequest__Output {
  'tasks': (_rivulet_v1_TaskAttemptRef__Output)[];
  /**
   * Kill only the tasks no worker has started yet (fetching inputs or queued
   * for a slot): the scheduler takes them back for an idle executor (task
   * stealing). A task that already started keeps running.
   */
  'onlyIfQueued': (boolean);
}
