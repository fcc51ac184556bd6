// Original file: proto/rivulet/v1/executor.proto

import type { TaskSpec as _rivulet_v1_TaskSpec, TaskSpec__Output as _rivulet_v1_TaskSpec__Output } from '../../rivulet/v1/TaskSpec.js';
import type { GroupPlan as _rivulet_v1_GroupPlan, GroupPlan__Output as _rivulet_v1_GroupPlan__Output } from '../../rivulet/v1/GroupPlan.js';
import type { PlanRevocation as _rivulet_v1_PlanRevocation, PlanRevocation__Output as _rivulet_v1_PlanRevocation__Output } from '../../rivulet/v1/PlanRevocation.js';

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
}
