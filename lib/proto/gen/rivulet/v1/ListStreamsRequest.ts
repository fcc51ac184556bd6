// Original file: proto/rivulet/v1/scheduler.proto


export interface ListStreamsRequest {
}

export interface ListStreamsRequest__Output {
}
