// Original file: proto/rivulet/v1/receiver.proto


export interface PushOpen {
  'stream'?: (string);
  /**
   * Free-form, for logs and metrics.
   */
  'clientId'?: (string);
}

export interface PushOpen__Output {
  'stream': (string);
  /**
   * Free-form, for logs and metrics.
   */
  'clientId': (string);
}
