// Original file: proto/rivulet/v1/scheduler.proto


export interface StopJobResponse {
}

export interface StopJobResponse__Output {
}
