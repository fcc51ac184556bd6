// Original file: proto/rivulet/v1/common.proto


/**
 * A packed run of records: `count` MessagePack values written back to back in
 * `payload`. Records always cross the wire this way, never one per message: a
 * block, a push, a shuffle bucket and an output batch are each one RecordBatch.
 */
export interface RecordBatch {
  'count'?: (number);
  'payload'?: (Buffer | Uint8Array | string);
}

/**
 * A packed run of records: `count` MessagePack values written back to back in
 * `payload`. Records always cross the wire this way, never one per message: a
 * block, a push, a shuffle bucket and an output batch are each one RecordBatch.
 */
export interface RecordBatch__Output {
  'count': (number);
  'payload': (Buffer);
}
