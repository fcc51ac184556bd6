// Original file: proto/rivulet/v1/scheduler_testing.proto


export interface SubmitDrivenJobRequest {
  'name'?: (string);
  'bundle'?: (Buffer | Uint8Array | string);
  'source'?: (string);
}

export interface SubmitDrivenJobRequest__Output {
  'name': (string);
  'bundle': (Buffer);
  'source': (string);
}
