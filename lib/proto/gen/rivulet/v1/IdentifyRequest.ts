// Original file: proto/rivulet/v1/executor.proto


export interface IdentifyRequest {
}

export interface IdentifyRequest__Output {
}
