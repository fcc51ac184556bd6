// Original file: proto/rivulet/v1/lineage.proto


export interface RegisterBatchResponse {
}

export interface RegisterBatchResponse__Output {
}
