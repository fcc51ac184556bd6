// Original file: proto/rivulet/v1/lineage.proto


export interface RecordLocationsResponse {
}

export interface RecordLocationsResponse__Output {
}
