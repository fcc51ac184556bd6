// Original file: proto/rivulet/v1/scheduler_testing.proto

import type { CommittedOutput as _rivulet_v1_CommittedOutput, CommittedOutput__Output as _rivulet_v1_CommittedOutput__Output } from '../../rivulet/v1/CommittedOutput.js';

export interface RunBatchResponse {
  /**
   * Every output(name) that ran in this batch.
   */
  'outputs'?: (_rivulet_v1_CommittedOutput)[];
}

export interface RunBatchResponse__Output {
  /**
   * Every output(name) that ran in this batch.
   */
  'outputs': (_rivulet_v1_CommittedOutput__Output)[];
}
