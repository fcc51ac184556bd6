// Original file: proto/rivulet/v1/executor.proto


export interface TaskAttemptRef {
  'taskId'?: (string);
  'attempt'?: (number);
}

export interface TaskAttemptRef__Output {
  'taskId': (string);
  'attempt': (number);
}
