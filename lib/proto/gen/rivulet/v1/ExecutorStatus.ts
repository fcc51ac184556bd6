// Original file: proto/rivulet/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface ExecutorStatus {
  'executorId'?: (string);
  'address'?: (string);
  'epoch'?: (number | string | Long);
  /**
   * ALIVE or LOST.
   */
  'state'?: (string);
  'slots'?: (number);
  'freeSlots'?: (number);
  'runningTasks'?: (number);
  'blockCount'?: (number);
  'blockBytes'?: (number | string | Long);
  'blockCapacityBytes'?: (number | string | Long);
  'tasksCompleted'?: (number | string | Long);
  'tasksFailed'?: (number | string | Long);
  'lastHeartbeatAgeMs'?: (number | string | Long);
  /**
   * Tasks assigned beyond its slots: waiting in its queue (taskQueueDepth).
   */
  'queuedTasks'?: (number);
  /**
   * Its tasks take slowExecutorRatio × or more as long as the others': it
   * gets no queued work, and other executors are preferred.
   */
  'slow'?: (boolean);
  /**
   * Job bundles it holds (LoadJob): those of jobs that have not ended — an
   * ended job's is dropped unless another job uses the same code.
   */
  'jobBundles'?: (number);
}

export interface ExecutorStatus__Output {
  'executorId': (string);
  'address': (string);
  'epoch': (number);
  /**
   * ALIVE or LOST.
   */
  'state': (string);
  'slots': (number);
  'freeSlots': (number);
  'runningTasks': (number);
  'blockCount': (number);
  'blockBytes': (number);
  'blockCapacityBytes': (number);
  'tasksCompleted': (number);
  'tasksFailed': (number);
  'lastHeartbeatAgeMs': (number);
  /**
   * Tasks assigned beyond its slots: waiting in its queue (taskQueueDepth).
   */
  'queuedTasks': (number);
  /**
   * Its tasks take slowExecutorRatio × or more as long as the others': it
   * gets no queued work, and other executors are preferred.
   */
  'slow': (boolean);
  /**
   * Job bundles it holds (LoadJob): those of jobs that have not ended — an
   * ended job's is dropped unless another job uses the same code.
   */
  'jobBundles': (number);
}
