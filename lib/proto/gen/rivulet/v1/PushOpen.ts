// Original file: proto/rivulet/v1/receiver.proto


export interface PushOpen {
  'stream'?: (string);
  /**
   * Free-form, for logs and metrics.
   */
  'clientId'?: (string);
  /**
   * The pusher's session: a random id (at most 64 characters of
   * [A-Za-z0-9_-]) the client keeps across Push calls and retries. With a
   * session, `seq` numbers the session's messages (not the call's) and a
   * message re-sent with a seq the receiver already stored is not stored
   * again: it is acked again (`duplicate`) or, while still being stored,
   * acked when that finishes. Empty: no deduplication (seq must increase
   * within the call, as before).
   */
  'sessionId'?: (string);
  /**
   * The receivers (PushOpened.receiver_id) this session opened calls on
   * before, when it fails over from one receiver to another: the receiver
   * reads their write-ahead logs for the session's stored seqs before it
   * answers `opened`, so a message one of them stored (its ack lost with it)
   * is acked `duplicate` here rather than stored twice. At most 16.
   */
  'previousReceiverIds'?: (string)[];
}

export interface PushOpen__Output {
  'stream': (string);
  /**
   * Free-form, for logs and metrics.
   */
  'clientId': (string);
  /**
   * The pusher's session: a random id (at most 64 characters of
   * [A-Za-z0-9_-]) the client keeps across Push calls and retries. With a
   * session, `seq` numbers the session's messages (not the call's) and a
   * message re-sent with a seq the receiver already stored is not stored
   * again: it is acked again (`duplicate`) or, while still being stored,
   * acked when that finishes. Empty: no deduplication (seq must increase
   * within the call, as before).
   */
  'sessionId': (string);
  /**
   * The receivers (PushOpened.receiver_id) this session opened calls on
   * before, when it fails over from one receiver to another: the receiver
   * reads their write-ahead logs for the session's stored seqs before it
   * answers `opened`, so a message one of them stored (its ack lost with it)
   * is acked `duplicate` here rather than stored twice. At most 16.
   */
  'previousReceiverIds': (string)[];
}
