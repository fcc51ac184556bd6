// Original file: proto/rivulet/v1/lineage.proto

export const DependencyKind = {
  DEPENDENCY_KIND_UNSPECIFIED: 'DEPENDENCY_KIND_UNSPECIFIED',
  /**
   * The dataset reads receiver blocks; it has no parent dataset.
   */
  SOURCE: 'SOURCE',
  /**
   * Each partition depends on a bounded set of parent partitions (map, filter, union).
   */
  NARROW: 'NARROW',
  /**
   * Each partition depends on every parent partition (reduceByKey, groupByKey).
   */
  SHUFFLE: 'SHUFFLE',
} as const;

export type DependencyKind =
  | 'DEPENDENCY_KIND_UNSPECIFIED'
  | 0
  /**
   * The dataset reads receiver blocks; it has no parent dataset.
   */
  | 'SOURCE'
  | 1
  /**
   * Each partition depends on a bounded set of parent partitions (map, filter, union).
   */
  | 'NARROW'
  | 2
  /**
   * Each partition depends on every parent partition (reduceByKey, groupByKey).
   */
  | 'SHUFFLE'
  | 3

export type DependencyKind__Output = typeof DependencyKind[keyof typeof DependencyKind]
