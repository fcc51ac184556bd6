// Original file: proto/rivulet/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

export interface LeaderStatus {
  /**
   * The lease holder: its scheduler id, gRPC address and term (bumped by every takeover).
   */
  'schedulerId'?: (string);
  'address'?: (string);
  'term'?: (number | string | Long);
  /**
   * When it took the lease (its clock, ms since the epoch).
   */
  'sinceMs'?: (number | string | Long);
  /**
   * The scheduler answering, and how often it took and lost the lease since it started.
   */
  'thisSchedulerId'?: (string);
  'timesElected'?: (number);
  'timesDeposed'?: (number);
}

export interface LeaderStatus__Output {
  /**
   * The lease holder: its scheduler id, gRPC address and term (bumped by every takeover).
   */
  'schedulerId': (string);
  'address': (string);
  'term': (number);
  /**
   * When it took the lease (its clock, ms since the epoch).
   */
  'sinceMs': (number);
  /**
   * The scheduler answering, and how often it took and lost the lease since it started.
   */
  'thisSchedulerId': (string);
  'timesElected': (number);
  'timesDeposed': (number);
}
