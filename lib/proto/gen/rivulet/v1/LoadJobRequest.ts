// Original file: proto/rivulet/v1/executor.proto


export interface LoadJobRequest {
  'jobId'?: (string);
  'bundleHash'?: (string);
  /**
   * CommonJS code produced by esbuild from the job module.
   */
  'bundle'?: (Buffer | Uint8Array | string);
}

export interface LoadJobRequest__Output {
  'jobId': (string);
  'bundleHash': (string);
  /**
   * CommonJS code produced by esbuild from the job module.
   */
  'bundle': (Buffer);
}
