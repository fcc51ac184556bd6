// Original file: proto/rivulet/v1/executor.proto


export interface ReplicateBlocksResponse {
  'replicated'?: (number);
}

export interface ReplicateBlocksResponse__Output {
  'replicated': (number);
}
