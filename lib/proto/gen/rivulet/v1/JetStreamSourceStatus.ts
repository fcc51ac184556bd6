// Original file: proto/rivulet/v1/scheduler.proto

import type { Long } from '@grpc/proto-loader';

/**
 * One subject filter of a JetStream direct source: how far the job has read.
 */
export interface JetStreamSourceStatus {
  /**
   * The source's name in the job (ctx.jetStream(name, ...)).
   */
  'source'?: (string);
  'stream'?: (string);
  /**
   * Empty: every subject of the stream.
   */
  'filterSubject'?: (string);
  /**
   * The stream's last sequence when the scheduler last looked (every batch).
   */
  'lastSequence'?: (number | string | Long);
  /**
   * The end of the range of the last completed batch (0: none yet).
   */
  'committedSequence'?: (number | string | Long);
  /**
   * Messages behind: last_sequence - committed_sequence, in stream sequences
   * (exact without a filter; an upper bound with one).
   */
  'lag'?: (number | string | Long);
  /**
   * The end of the last range decided and journaled (batches queued or running read up to here).
   */
  'decidedSequence'?: (number | string | Long);
}

/**
 * One subject filter of a JetStream direct source: how far the job has read.
 */
export interface JetStreamSourceStatus__Output {
  /**
   * The source's name in the job (ctx.jetStream(name, ...)).
   */
  'source': (string);
  'stream': (string);
  /**
   * Empty: every subject of the stream.
   */
  'filterSubject': (string);
  /**
   * The stream's last sequence when the scheduler last looked (every batch).
   */
  'lastSequence': (number);
  /**
   * The end of the range of the last completed batch (0: none yet).
   */
  'committedSequence': (number);
  /**
   * Messages behind: last_sequence - committed_sequence, in stream sequences
   * (exact without a filter; an upper bound with one).
   */
  'lag': (number);
  /**
   * The end of the last range decided and journaled (batches queued or running read up to here).
   */
  'decidedSequence': (number);
}
