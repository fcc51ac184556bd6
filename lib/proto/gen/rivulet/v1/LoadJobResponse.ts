// Original file: proto/rivulet/v1/executor.proto


export interface LoadJobResponse {
}

export interface LoadJobResponse__Output {
}
