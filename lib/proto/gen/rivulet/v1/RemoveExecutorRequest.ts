// Original file: proto/rivulet/v1/lineage.proto


export interface RemoveExecutorRequest {
  'executorId'?: (string);
}

export interface RemoveExecutorRequest__Output {
  'executorId': (string);
}
