// Original file: proto/rivulet/v1/executor.proto


export interface PushBlocksResponse {
  'stored'?: (number);
}

export interface PushBlocksResponse__Output {
  'stored': (number);
}
