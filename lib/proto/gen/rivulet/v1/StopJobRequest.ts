// Original file: proto/rivulet/v1/scheduler.proto


export interface StopJobRequest {
  'jobId'?: (string);
}

export interface StopJobRequest__Output {
  'jobId': (string);
}
