// Original file: proto/rivulet/v1/lineage.proto


export interface LostOnExecutorRequest {
  'executorId'?: (string);
}

export interface LostOnExecutorRequest__Output {
  'executorId': (string);
}
