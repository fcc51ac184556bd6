// Original file: proto/rivulet/v1/scheduler.proto


export interface RevokeTokenResponse {
  /**
   * False when no token had that id.
   */
  'revoked'?: (boolean);
}

export interface RevokeTokenResponse__Output {
  /**
   * False when no token had that id.
   */
  'revoked': (boolean);
}
