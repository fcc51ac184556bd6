// Original file: proto/rivulet/v1/lineage.proto


export interface LineageStats {
  'jobs'?: (number);
  'batches'?: (number);
  'datasets'?: (number);
  'locations'?: (number);
}

export interface LineageStats__Output {
  'jobs': (number);
  'batches': (number);
  'datasets': (number);
  'locations': (number);
}
