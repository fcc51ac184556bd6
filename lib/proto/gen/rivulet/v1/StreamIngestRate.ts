// Original file: proto/rivulet/v1/scheduler.proto


export interface StreamIngestRate {
  'stream'?: (string);
  'recordsPerSecond'?: (number | string);
}

export interface StreamIngestRate__Output {
  'stream': (string);
  'recordsPerSecond': (number);
}
