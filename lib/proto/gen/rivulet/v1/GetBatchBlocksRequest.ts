// Original file: proto/rivulet/v1/receiver.proto

import type { Long } from '@grpc/proto-loader';

export interface GetBatchBlocksRequest {
  'stream'?: (string);
  'batchTimeMs'?: (number | string | Long);
  /**
   * Whose share of the batch (several receivers, see the README's "Several
   * receivers"). Empty or this receiver's own id: the blocks it allocated
   * itself. Another receiver's id: that receiver's blocks as its write-ahead
   * log (JetStream KV) holds them, always complete — the scheduler asks this
   * only for a receiver it judged gone, whose log no longer grows.
   */
  'receiverId'?: (string);
  /**
   * The batch's final, merged block list of every receiver, as the scheduler
   * published it on NATS batch.inputs (executors starting planned batches ask
   * this); incomplete until this receiver has seen it. Ignores receiver_id.
   */
  'merged'?: (boolean);
}

export interface GetBatchBlocksRequest__Output {
  'stream': (string);
  'batchTimeMs': (number);
  /**
   * Whose share of the batch (several receivers, see the README's "Several
   * receivers"). Empty or this receiver's own id: the blocks it allocated
   * itself. Another receiver's id: that receiver's blocks as its write-ahead
   * log (JetStream KV) holds them, always complete — the scheduler asks this
   * only for a receiver it judged gone, whose log no longer grows.
   */
  'receiverId': (string);
  /**
   * The batch's final, merged block list of every receiver, as the scheduler
   * published it on NATS batch.inputs (executors starting planned batches ask
   * this); incomplete until this receiver has seen it. Ignores receiver_id.
   */
  'merged': (boolean);
}
