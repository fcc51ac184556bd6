// Original file: proto/rivulet/v1/executor.proto

import type { TaskSpec as _rivulet_v1_TaskSpec, TaskSpec__Output as _rivulet_v1_TaskSpec__Output } from '../../rivulet/v1/TaskSpec.js';
import type { GroupPlan as _rivulet_v1_GroupPlan, GroupPlan__Output as _rivulet_v1_GroupPlan__Output } from '../../rivulet/v1/GroupPlan.js';
import type { PlanRevocation as _rivulet_v1_PlanRevocation, PlanRevocation__Output as _rivulet_v1_PlanRevocation__Output } from '../../rivulet/v1/PlanRevocation.js';
import type { DropBlocksRequest as _rivulet_v1_DropBlocksRequest, DropBlocksRequest__Output as _rivulet_v1_DropBlocksRequest__Output } from '../../rivulet/v1/DropBlocksRequest.js';

export interface RunTasksRequest {
  'tasks'?: (_rivulet_v1_TaskSpec)[];
  /**
   * Group scheduling (TaskStream only): plans for batches still to come, and
   * plans withdrawn. See GroupPlan.
   */
  'plans'?: (_rivulet_v1_GroupPlan)[];
  'revocations'?: (_rivulet_v1_PlanRevocation)[];
  /**
   * Jobs that have ended (TaskStream only): the executor forgets that they use
   * their bundles, and drops a bundle (LoadJob) no job it loaded uses any more.
   * An id it never loaded is ignored.
   */
  'endedJobs'?: (string)[];
  /**
   * Blocks to drop (TaskStream only), as DropBlocks would: what a finished
   * batch read and wrote, cached data nothing reaches any more. Sent here, with
   * the launches of the same turn, rather than as one DropBlocks call per
   * executor per batch; only to executors whose heartbeats say they read it
   * (HeartbeatMessage.streamDrops). The same bounds as DropBlocks.
   */
  'drops'?: (_rivulet_v1_DropBlocksRequest | null);
}

export interface RunTasksRequest__Output {
  'tasks': (_rivulet_v1_TaskSpec__Output)[];
  /**
   * Group scheduling (TaskStream only): plans for batches still to come, and
   * plans withdrawn. See GroupPlan.
   */
  'plans': (_rivulet_v1_GroupPlan__Output)[];
  'revocations': (_rivulet_v1_PlanRevocation__Output)[];
  /**
   * Jobs that have ended (TaskStream only): the executor forgets that they use
   * their bundles, and drops a bundle (LoadJob) no job it loaded uses any more.
   * An id it never loaded is ignored.
   */
  'endedJobs': (string)[];
  /**
   * Blocks to drop (TaskStream only), as DropBlocks would: what a finished
   * batch read and wrote, cached data nothing reaches any more. Sent here, with
   * the launches of the same turn, rather than as one DropBlocks call per
   * executor per batch; only to executors whose heartbeats say they read it
   * (HeartbeatMessage.streamDrops). The same bounds as DropBlocks.
   */
  'drops': (_rivulet_v1_DropBlocksRequest__Output | null);
}
