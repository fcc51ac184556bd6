// Original file: proto/rivulet/v1/executor.proto


export interface KillTasksResponse {
  'killed'?: (number);
}

export interface KillTasksResponse__Output {
  'killed': (number);
}
