// Original file: proto/rivulet/v1/lineage.proto


export interface DropLocationsResponse {
  'dropped'?: (number);
}

export interface DropLocationsResponse__Output {
  'dropped': (number);
}
