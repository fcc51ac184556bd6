// Original file: proto/rivulet/v1/scheduler.proto


export interface SubmitJobRequest {
  /**
   * Display name; defaults to the job module's file name.
   */
  'name'?: (string);
  /**
   * CommonJS code produced by esbuild from the job module.
   */
  'bundle'?: (Buffer | Uint8Array | string);
  /**
   * Where the bundle came from, for error messages.
   */
  'source'?: (string);
}

export interface SubmitJobRequest__Output {
  /**
   * Display name; defaults to the job module's file name.
   */
  'name': (string);
  /**
   * CommonJS code produced by esbuild from the job module.
   */
  'bundle': (Buffer);
  /**
   * Where the bundle came from, for error messages.
   */
  'source': (string);
}
