// Original file: proto/rivulet/v1/receiver.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetBatchBlocksRequest as _rivulet_v1_GetBatchBlocksRequest, GetBatchBlocksRequest__Output as _rivulet_v1_GetBatchBlocksRequest__Output } from '../../rivulet/v1/GetBatchBlocksRequest.js';
import type { GetBatchBlocksResponse as _rivulet_v1_GetBatchBlocksResponse, GetBatchBlocksResponse__Output as _rivulet_v1_GetBatchBlocksResponse__Output } from '../../rivulet/v1/GetBatchBlocksResponse.js';
import type { PushRequest as _rivulet_v1_PushRequest, PushRequest__Output as _rivulet_v1_PushRequest__Output } from '../../rivulet/v1/PushRequest.js';
import type { PushResponse as _rivulet_v1_PushResponse, PushResponse__Output as _rivulet_v1_PushResponse__Output } from '../../rivulet/v1/PushResponse.js';

export interface ReceiverClient extends grpc.Client {
  /**
   * The blocks the receiver allocated to one batch of one stream. The scheduler
   * calls it when the NATS `batch.ready` announcement did not arrive in time.
   */
  GetBatchBlocks(argument: _rivulet_v1_GetBatchBlocksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_GetBatchBlocksResponse__Output>): grpc.ClientUnaryCall;
  GetBatchBlocks(argument: _rivulet_v1_GetBatchBlocksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_GetBatchBlocksResponse__Output>): grpc.ClientUnaryCall;
  GetBatchBlocks(argument: _rivulet_v1_GetBatchBlocksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_GetBatchBlocksResponse__Output>): grpc.ClientUnaryCall;
  GetBatchBlocks(argument: _rivulet_v1_GetBatchBlocksRequest, callback: grpc.requestCallback<_rivulet_v1_GetBatchBlocksResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The blocks the receiver allocated to one batch of one stream. The scheduler
   * calls it when the NATS `batch.ready` announcement did not arrive in time.
   */
  getBatchBlocks(argument: _rivulet_v1_GetBatchBlocksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_GetBatchBlocksResponse__Output>): grpc.ClientUnaryCall;
  getBatchBlocks(argument: _rivulet_v1_GetBatchBlocksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_GetBatchBlocksResponse__Output>): grpc.ClientUnaryCall;
  getBatchBlocks(argument: _rivulet_v1_GetBatchBlocksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_GetBatchBlocksResponse__Output>): grpc.ClientUnaryCall;
  getBatchBlocks(argument: _rivulet_v1_GetBatchBlocksRequest, callback: grpc.requestCallback<_rivulet_v1_GetBatchBlocksResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * A client opens one Push stream per input stream. The first message must be
   * `open`; every later message carries a packed RecordBatch with a client
   * sequence number. Each batch is acknowledged (`ack`) only after the block that
   * holds it is stored on `replication` executors, or refused (`nack`) with a
   * status code. Stream-level errors end the call with a status:
   * FAILED_PRECONDITION (no running job reads the stream; also sent, ending
   * the call, to a push that arrives after the last job reading the stream
   * stopped), INVALID_ARGUMENT (malformed message or payload),
   * RESOURCE_EXHAUSTED (message over the size limit). A message refused by the
   * stream's rate limit is nacked RESOURCE_EXHAUSTED with retry_after_ms; the
   * call goes on.
   */
  Push(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_rivulet_v1_PushRequest, _rivulet_v1_PushResponse__Output>;
  Push(options?: grpc.CallOptions): grpc.ClientDuplexStream<_rivulet_v1_PushRequest, _rivulet_v1_PushResponse__Output>;
  /**
   * A client opens one Push stream per input stream. The first message must be
   * `open`; every later message carries a packed RecordBatch with a client
   * sequence number. Each batch is acknowledged (`ack`) only after the block that
   * holds it is stored on `replication` executors, or refused (`nack`) with a
   * status code. Stream-level errors end the call with a status:
   * FAILED_PRECONDITION (no running job reads the stream; also sent, ending
   * the call, to a push that arrives after the last job reading the stream
   * stopped), INVALID_ARGUMENT (malformed message or payload),
   * RESOURCE_EXHAUSTED (message over the size limit). A message refused by the
   * stream's rate limit is nacked RESOURCE_EXHAUSTED with retry_after_ms; the
   * call goes on.
   */
  push(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_rivulet_v1_PushRequest, _rivulet_v1_PushResponse__Output>;
  push(options?: grpc.CallOptions): grpc.ClientDuplexStream<_rivulet_v1_PushRequest, _rivulet_v1_PushResponse__Output>;
  
}

export interface ReceiverHandlers extends grpc.UntypedServiceImplementation {
  /**
   * The blocks the receiver allocated to one batch of one stream. The scheduler
   * calls it when the NATS `batch.ready` announcement did not arrive in time.
   */
  GetBatchBlocks: grpc.handleUnaryCall<_rivulet_v1_GetBatchBlocksRequest__Output, _rivulet_v1_GetBatchBlocksResponse>;
  
  /**
   * A client opens one Push stream per input stream. The first message must be
   * `open`; every later message carries a packed RecordBatch with a client
   * sequence number. Each batch is acknowledged (`ack`) only after the block that
   * holds it is stored on `replication` executors, or refused (`nack`) with a
   * status code. Stream-level errors end the call with a status:
   * FAILED_PRECONDITION (no running job reads the stream; also sent, ending
   * the call, to a push that arrives after the last job reading the stream
   * stopped), INVALID_ARGUMENT (malformed message or payload),
   * RESOURCE_EXHAUSTED (message over the size limit). A message refused by the
   * stream's rate limit is nacked RESOURCE_EXHAUSTED with retry_after_ms; the
   * call goes on.
   */
  Push: grpc.handleBidiStreamingCall<_rivulet_v1_PushRequest__Output, _rivulet_v1_PushResponse>;
  
}

export interface ReceiverDefinition extends grpc.ServiceDefinition {
  GetBatchBlocks: MethodDefinition<_rivulet_v1_GetBatchBlocksRequest, _rivulet_v1_GetBatchBlocksResponse, _rivulet_v1_GetBatchBlocksRequest__Output, _rivulet_v1_GetBatchBlocksResponse__Output>
  Push: MethodDefinition<_rivulet_v1_PushRequest, _rivulet_v1_PushResponse, _rivulet_v1_PushRequest__Output, _rivulet_v1_PushResponse__Output>
}
