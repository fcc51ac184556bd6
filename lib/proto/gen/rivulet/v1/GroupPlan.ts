// Original file: proto/rivulet/v1/executor.proto

import type { ExecutorRef as _rivulet_v1_ExecutorRef, ExecutorRef__Output as _rivulet_v1_ExecutorRef__Output } from '../../rivulet/v1/ExecutorRef.js';
import type { PlannedStage as _rivulet_v1_PlannedStage, PlannedStage__Output as _rivulet_v1_PlannedStage__Output } from '../../rivulet/v1/PlannedStage.js';
import type { Long } from '@grpc/proto-loader';

/**
 * Group scheduling (Drizzle, SOSP'17): the tasks of a job's next batches
 * [first_batch_ms, last_batch_ms], placed ahead of time by rules both sides
 * compute alike, so those batches need no launch from the scheduler. When the
 * receiver announces a planned batch (NATS batch.ready, or its GetBatchBlocks
 * answer), each member starts the tasks the rules give it: the map task of
 * each block it holds whose replicas on members, in id order, name it at the
 * block's index (mod their count) — lib/scheduling/group-plan.ts — and the reduce
 * partitions `reducers[p % len]` names it for, each once every map output it
 * reads is in its block store (pushed there by the map tasks). Every planned
 * task is attempt `attempt` of task `<job>/<batch>/<stage>/<partition>` (the
 * scheduler's own launches number from 1) and reports on this call.
 */
export interface GroupPlan {
  'planId'?: (string);
  'jobId'?: (string);
  'bundleHash'?: (string);
  /**
   * The member's epoch the plan was made for: a plan for another incarnation is ignored.
   */
  'epoch'?: (number | string | Long);
  'stream'?: (string);
  'firstBatchMs'?: (number | string | Long);
  'lastBatchMs'?: (number | string | Long);
  'batchIntervalMs'?: (number | string | Long);
  'members'?: (_rivulet_v1_ExecutorRef)[];
  /**
   * Executor ids, one per member slot interleaved: reduce partition p runs on reducers[p % len].
   */
  'reducers'?: (string)[];
  'stages'?: (_rivulet_v1_PlannedStage)[];
  /**
   * Partition count of every node by node id; NODE_PARTITIONS_BLOCKS means "the batch's block count".
   */
  'nodePartitions'?: (number)[];
  /**
   * Shuffle ids are `<job>:<batch>:<shuffle node>:<shuffle_id_suffix>`.
   */
  'shuffleIdSuffix'?: (string);
  'timeoutMs'?: (number);
  'maxResultBytes'?: (number | string | Long);
  'maxMessageBytes'?: (number | string | Long);
  /**
   * Where to ask for a batch's blocks (GetBatchBlocks) when its batch.ready does not come.
   */
  'receiverAddress'?: (string);
  /**
   * How long after a batch's end to wait for batch.ready before asking the receiver.
   */
  'batchReadyTimeoutMs'?: (number);
  /**
   * How long a planned task may wait for the map outputs it reads before it fails (and the scheduler launches it itself).
   */
  'inputWaitTimeoutMs'?: (number);
  /**
   * The attempt number of every task this plan starts (PLANNED_ATTEMPT_BASE +
   * the plan's sequence): a result is matched to the plan it was computed
   * under, never to another plan's (or the scheduler's own) attempt.
   */
  'attempt'?: (number);
  /**
   * ShuffleWrite.total_bytes_only of the plan's map tasks.
   */
  'totalBytesOnly'?: (boolean);
}

/**
 * Group scheduling (Drizzle, SOSP'17): the tasks of a job's next batches
 * [first_batch_ms, last_batch_ms], placed ahead of time by rules both sides
 * compute alike, so those batches need no launch from the scheduler. When the
 * receiver announces a planned batch (NATS batch.ready, or its GetBatchBlocks
 * answer), each member starts the tasks the rules give it: the map task of
 * each block it holds whose replicas on members, in id order, name it at the
 * block's index (mod their count) — lib/scheduling/group-plan.ts — and the reduce
 * partitions `reducers[p % len]` names it for, each once every map output it
 * reads is in its block store (pushed there by the map tasks). Every planned
 * task is attempt `attempt` of task `<job>/<batch>/<stage>/<partition>` (the
 * scheduler's own launches number from 1) and reports on this call.
 */
export interface GroupPlan__Output {
  'planId': (string);
  'jobId': (string);
  'bundleHash': (string);
  /**
   * The member's epoch the plan was made for: a plan for another incarnation is ignored.
   */
  'epoch': (number);
  'stream': (string);
  'firstBatchMs': (number);
  'lastBatchMs': (number);
  'batchIntervalMs': (number);
  'members': (_rivulet_v1_ExecutorRef__Output)[];
  /**
   * Executor ids, one per member slot interleaved: reduce partition p runs on reducers[p % len].
   */
  'reducers': (string)[];
  'stages': (_rivulet_v1_PlannedStage__Output)[];
  /**
   * Partition count of every node by node id; NODE_PARTITIONS_BLOCKS means "the batch's block count".
   */
  'nodePartitions': (number)[];
  /**
   * Shuffle ids are `<job>:<batch>:<shuffle node>:<shuffle_id_suffix>`.
   */
  'shuffleIdSuffix': (string);
  'timeoutMs': (number);
  'maxResultBytes': (number);
  'maxMessageBytes': (number);
  /**
   * Where to ask for a batch's blocks (GetBatchBlocks) when its batch.ready does not come.
   */
  'receiverAddress': (string);
  /**
   * How long after a batch's end to wait for batch.ready before asking the receiver.
   */
  'batchReadyTimeoutMs': (number);
  /**
   * How long a planned task may wait for the map outputs it reads before it fails (and the scheduler launches it itself).
   */
  'inputWaitTimeoutMs': (number);
  /**
   * The attempt number of every task this plan starts (PLANNED_ATTEMPT_BASE +
   * the plan's sequence): a result is matched to the plan it was computed
   * under, never to another plan's (or the scheduler's own) attempt.
   */
  'attempt': (number);
  /**
   * ShuffleWrite.total_bytes_only of the plan's map tasks.
   */
  'totalBytesOnly': (boolean);
}
