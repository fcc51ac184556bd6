// Original file: proto/rivulet/v1/executor.proto


export interface FetchBlocksRequest {
  'blockIds'?: (string)[];
}

export interface FetchBlocksRequest__Output {
  'blockIds': (string)[];
}
