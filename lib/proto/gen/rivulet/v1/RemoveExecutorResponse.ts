// Original file: proto/rivulet/v1/lineage.proto


export interface RemoveExecutorResponse {
  'locationsUpdated'?: (number);
}

export interface RemoveExecutorResponse__Output {
  'locationsUpdated': (number);
}
