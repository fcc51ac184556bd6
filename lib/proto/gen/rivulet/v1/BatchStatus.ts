// Original file: proto/rivulet/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface BatchStatus {
  'batchTimeMs'?: (number | string | Long);
  /**
   * QUEUED, RUNNING, COMPLETED or FAILED.
   */
  'state'?: (string);
  'inputRecords'?: (number | string | Long);
  'inputBlocks'?: (number);
  'schedulingDelayMs'?: (number | string);
  'processingTimeMs'?: (number | string);
  'totalDelayMs'?: (number | string);
  'tasks'?: (number);
  'taskFailures'?: (number);
  /**
   * Input tasks by the locality level they ran at.
   */
  'processLocalTasks'?: (number);
  'nodeLocalTasks'?: (number);
  'anyTasks'?: (number);
  'error'?: (string);
  /**
   * Why a queued or running batch's tasks wait although its stages could
   * run: no executor is alive, or an input block has no live replica (an
   * executor holding it may rejoin). Empty when nothing holds it back.
   */
  'waitingReason'?: (string);
  /**
   * Tasks an idle executor took over from a busy executor's queue before they
   * started there (task stealing).
   */
  'stolenTasks'?: (number);
  /**
   * Of `tasks`: started by their executor from a group plan, with no launch
   * from the scheduler (groupSize, group-planner.ts).
   */
  'plannedTasks'?: (number);
}

export interface BatchStatus__Output {
  'batchTimeMs': (number);
  /**
   * QUEUED, RUNNING, COMPLETED or FAILED.
   */
  'state': (string);
  'inputRecords': (number);
  'inputBlocks': (number);
  'schedulingDelayMs': (number);
  'processingTimeMs': (number);
  'totalDelayMs': (number);
  'tasks': (number);
  'taskFailures': (number);
  /**
   * Input tasks by the locality level they ran at.
   */
  'processLocalTasks': (number);
  'nodeLocalTasks': (number);
  'anyTasks': (number);
  'error': (string);
  /**
   * Why a queued or running batch's tasks wait although its stages could
   * run: no executor is alive, or an input block has no live replica (an
   * executor holding it may rejoin). Empty when nothing holds it back.
   */
  'waitingReason': (string);
  /**
   * Tasks an idle executor took over from a busy executor's queue before they
   * started there (task stealing).
   */
  'stolenTasks': (number);
  /**
   * Of `tasks`: started by their executor from a group plan, with no launch
   * from the scheduler (groupSize, group-planner.ts).
   */
  'plannedTasks': (number);
}
