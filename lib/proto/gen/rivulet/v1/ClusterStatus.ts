// Original file: proto/rivulet/v1/scheduler.proto

import type { ExecutorStatus as _rivulet_v1_ExecutorStatus, ExecutorStatus__Output as _rivulet_v1_ExecutorStatus__Output } from '../../rivulet/v1/ExecutorStatus.js';
import type { JobStatus as _rivulet_v1_JobStatus, JobStatus__Output as _rivulet_v1_JobStatus__Output } from '../../rivulet/v1/JobStatus.js';
import type { StreamRateLimit as _rivulet_v1_StreamRateLimit, StreamRateLimit__Output as _rivulet_v1_StreamRateLimit__Output } from '../../rivulet/v1/StreamRateLimit.js';
import type { LeaderStatus as _rivulet_v1_LeaderStatus, LeaderStatus__Output as _rivulet_v1_LeaderStatus__Output } from '../../rivulet/v1/LeaderStatus.js';
import type { NatsStatus as _rivulet_v1_NatsStatus, NatsStatus__Output as _rivulet_v1_NatsStatus__Output } from '../../rivulet/v1/NatsStatus.js';
import type { ReceiverStatus as _rivulet_v1_ReceiverStatus, ReceiverStatus__Output as _rivulet_v1_ReceiverStatus__Output } from '../../rivulet/v1/ReceiverStatus.js';
import type { Long } from '@grpc/proto-loader';

export interface ClusterStatus {
  'batchIntervalMs'?: (number | string | Long);
  'executors'?: (_rivulet_v1_ExecutorStatus)[];
  'jobs'?: (_rivulet_v1_JobStatus)[];
  /**
   * Tasks waiting for a slot, and of those, how many are waiting by design:
   * for a slot on an executor that holds their input (delay scheduling), or —
   * retries and speculative copies — for a slot on an executor they may use.
   * pending_tasks - pending_waiting > 0 while an executor has a free slot
   * would mean an executor idles while work is pending.
   */
  'pendingTasks'?: (number);
  'pendingWaiting'?: (number);
  /**
   * Input blocks still needed by a batch that have fewer live replicas than
   * `replication` (non-zero for a moment after an executor loss).
   */
  'underReplicatedBlocks'?: (number);
  /**
   * Streams whose ingest rate backpressure limits now; a stream not listed is
   * not limited (no estimate yet, or backpressure=false).
   */
  'rateLimits'?: (_rivulet_v1_StreamRateLimit)[];
  /**
   * Whether backpressure is on (scheduler option `backpressure`).
   */
  'backpressure'?: (boolean);
  /**
   * TaskStream messages that carried tasks from the scheduler (launches) and
   * group plans sent (one per executor per group), since it started.
   */
  'launchMessages'?: (number | string | Long);
  'plansSent'?: (number | string | Long);
  /**
   * Paging (GetStatusRequest.page_size/page_token): the token of the next
   * page of jobs, empty on the last page; and how many jobs the scheduler
   * knows in all. executors lists at most 1000 (executors_total in all),
   * rate_limits at most 1000 streams.
   */
  'nextPageToken'?: (string);
  'jobsTotal'?: (number);
  'executorsTotal'?: (number);
  /**
   * Which scheduler leads (schedulers contend for one lease; the others stand by).
   */
  'leader'?: (_rivulet_v1_LeaderStatus | null);
  /**
   * The NATS server the scheduler is connected to and its cluster.
   */
  'nats'?: (_rivulet_v1_NatsStatus | null);
  /**
   * The receivers the scheduler has heard (heartbeats), by id; at most 1000.
   */
  'receivers'?: (_rivulet_v1_ReceiverStatus)[];
}

export interface ClusterStatus__Output {
  'batchIntervalMs': (number);
  'executors': (_rivulet_v1_ExecutorStatus__Output)[];
  'jobs': (_rivulet_v1_JobStatus__Output)[];
  /**
   * Tasks waiting for a slot, and of those, how many are waiting by design:
   * for a slot on an executor that holds their input (delay scheduling), or —
   * retries and speculative copies — for a slot on an executor they may use.
   * pending_tasks - pending_waiting > 0 while an executor has a free slot
   * would mean an executor idles while work is pending.
   */
  'pendingTasks': (number);
  'pendingWaiting': (number);
  /**
   * Input blocks still needed by a batch that have fewer live replicas than
   * `replication` (non-zero for a moment after an executor loss).
   */
  'underReplicatedBlocks': (number);
  /**
   * Streams whose ingest rate backpressure limits now; a stream not listed is
   * not limited (no estimate yet, or backpressure=false).
   */
  'rateLimits': (_rivulet_v1_StreamRateLimit__Output)[];
  /**
   * Whether backpressure is on (scheduler option `backpressure`).
   */
  'backpressure': (boolean);
  /**
   * TaskStream messages that carried tasks from the scheduler (launches) and
   * group plans sent (one per executor per group), since it started.
   */
  'launchMessages': (number);
  'plansSent': (number);
  /**
   * Paging (GetStatusRequest.page_size/page_token): the token of the next
   * page of jobs, empty on the last page; and how many jobs the scheduler
   * knows in all. executors lists at most 1000 (executors_total in all),
   * rate_limits at most 1000 streams.
   */
  'nextPageToken': (string);
  'jobsTotal': (number);
  'executorsTotal': (number);
  /**
   * Which scheduler leads (schedulers contend for one lease; the others stand by).
   */
  'leader': (_rivulet_v1_LeaderStatus__Output | null);
  /**
   * The NATS server the scheduler is connected to and its cluster.
   */
  'nats': (_rivulet_v1_NatsStatus__Output | null);
  /**
   * The receivers the scheduler has heard (heartbeats), by id; at most 1000.
   */
  'receivers': (_rivulet_v1_ReceiverStatus__Output)[];
}
