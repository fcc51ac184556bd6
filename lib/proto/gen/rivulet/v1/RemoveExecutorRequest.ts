// Original file: /work/main/proto/rivulet/v1/lineage.proto


export interface RemoveExecutorRequest {
  'executorId'?: (string);
}

export interface RemoveExecutorRequest__Output {
  'executorId': (string);
}
