// Original file: proto/rivulet/v1/lineage.proto


export interface ForgetBatchesResponse {
  'batchesForgotten'?: (number);
}

export interface ForgetBatchesResponse__Output {
  'batchesForgotten': (number);
}
