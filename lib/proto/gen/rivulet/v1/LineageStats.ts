// Original file: proto/rivulet/v1/lineage.proto


export interface LineageStats {
  'jobs'?: (number);
  'batches'?: (number);
  'datasets'?: (number);
  'locations'?: (number);
  /**
   * The longest dependency chain of any registered dataset, walked back
   * through its parents (across batches: windows, state) until a source, a
   * checkpointed dataset (every partition has a CHECKPOINT location) or a
   * forgotten batch. What a rebuild could have to walk; stateful streams keep
   * it bounded by checkpointing.
   */
  'maxDepth'?: (number);
}

export interface LineageStats__Output {
  'jobs': (number);
  'batches': (number);
  'datasets': (number);
  'locations': (number);
  /**
   * The longest dependency chain of any registered dataset, walked back
   * through its parents (across batches: windows, state) until a source, a
   * checkpointed dataset (every partition has a CHECKPOINT location) or a
   * forgotten batch. What a rebuild could have to walk; stateful streams keep
   * it bounded by checkpointing.
   */
  'maxDepth': (number);
}
