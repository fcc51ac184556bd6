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
}
