// Original file: proto/rivulet/v1/scheduler.proto


export interface ListTokensRequest {
}

export interface ListTokensRequest__Output {
}
