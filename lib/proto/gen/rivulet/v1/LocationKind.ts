// Original file: proto/rivulet/v1/lineage.proto

export const LocationKind = {
  LOCATION_KIND_UNSPECIFIED: 'LOCATION_KIND_UNSPECIFIED',
  INPUT_BLOCK: 'INPUT_BLOCK',
  SHUFFLE_OUTPUT: 'SHUFFLE_OUTPUT',
  PARTITION: 'PARTITION',
  CHECKPOINT: 'CHECKPOINT',
} as const;

export type LocationKind =
  | 'LOCATION_KIND_UNSPECIFIED'
  | 0
  | 'INPUT_BLOCK'
  | 1
  | 'SHUFFLE_OUTPUT'
  | 2
  | 'PARTITION'
  | 3
  | 'CHECKPOINT'
  | 4

export type LocationKind__Output = typeof LocationKind[keyof typeof LocationKind]
