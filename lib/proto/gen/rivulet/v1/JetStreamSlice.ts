// Original file: proto/rivulet/v1/executor.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Stream sequences `first_seq`..`last_seq` (inclusive) of a JetStream stream,
 * the messages among them on `filter_subject` (every subject when empty). The
 * scheduler journaled the batch's range before the batch ran; a slice is one
 * task's share of it (lib/sources/jetstream-ranges.ts).
 */
export interface JetStreamSlice {
  'stream'?: (string);
  'filterSubject'?: (string);
  'firstSeq'?: (number | string | Long);
  'lastSeq'?: (number | string | Long);
  /**
   * The source's onPurged: "fail" (messages of the range the stream no longer
   * holds fail the task, and so the batch) or "skip" (read what is left).
   */
  'onPurged'?: (string);
}

/**
 * Stream sequences `first_seq`..`last_seq` (inclusive) of a JetStream stream,
 * the messages among them on `filter_subject` (every subject when empty). The
 * scheduler journaled the batch's range before the batch ran; a slice is one
 * task's share of it (lib/sources/jetstream-ranges.ts).
 */
export interface JetStreamSlice__Output {
  'stream': (string);
  'filterSubject': (string);
  'firstSeq': (number);
  'lastSeq': (number);
  /**
   * The source's onPurged: "fail" (messages of the range the stream no longer
   * holds fail the task, and so the batch) or "skip" (read what is left).
   */
  'onPurged': (string);
}
