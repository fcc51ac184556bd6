// Original file: proto/rivulet/v1/lineage.proto


export interface GetStatsRequest {
}

export interface GetStatsRequest__Output {
}
