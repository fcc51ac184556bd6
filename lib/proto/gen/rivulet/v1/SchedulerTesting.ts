// Original file: proto/rivulet/v1/scheduler_testing.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { RunBatchRequest as _rivulet_v1_RunBatchRequest, RunBatchRequest__Output as _rivulet_v1_RunBatchRequest__Output } from '../../rivulet/v1/RunBatchRequest.js';
import type { RunBatchResponse as _rivulet_v1_RunBatchResponse, RunBatchResponse__Output as _rivulet_v1_RunBatchResponse__Output } from '../../rivulet/v1/RunBatchResponse.js';
import type { SubmitDrivenJobRequest as _rivulet_v1_SubmitDrivenJobRequest, SubmitDrivenJobRequest__Output as _rivulet_v1_SubmitDrivenJobRequest__Output } from '../../rivulet/v1/SubmitDrivenJobRequest.js';
import type { SubmitDrivenJobResponse as _rivulet_v1_SubmitDrivenJobResponse, SubmitDrivenJobResponse__Output as _rivulet_v1_SubmitDrivenJobResponse__Output } from '../../rivulet/v1/SubmitDrivenJobResponse.js';

export interface SchedulerTestingClient extends grpc.Client {
  /**
   * Run one batch of a driven job. batch_time_ms must be later than the job's
   * previous batch. ABORTED (with the reason) when the batch fails.
   */
  RunBatch(argument: _rivulet_v1_RunBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RunBatchResponse__Output>): grpc.ClientUnaryCall;
  RunBatch(argument: _rivulet_v1_RunBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_RunBatchResponse__Output>): grpc.ClientUnaryCall;
  RunBatch(argument: _rivulet_v1_RunBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RunBatchResponse__Output>): grpc.ClientUnaryCall;
  RunBatch(argument: _rivulet_v1_RunBatchRequest, callback: grpc.requestCallback<_rivulet_v1_RunBatchResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Run one batch of a driven job. batch_time_ms must be later than the job's
   * previous batch. ABORTED (with the reason) when the batch fails.
   */
  runBatch(argument: _rivulet_v1_RunBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RunBatchResponse__Output>): grpc.ClientUnaryCall;
  runBatch(argument: _rivulet_v1_RunBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_RunBatchResponse__Output>): grpc.ClientUnaryCall;
  runBatch(argument: _rivulet_v1_RunBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RunBatchResponse__Output>): grpc.ClientUnaryCall;
  runBatch(argument: _rivulet_v1_RunBatchRequest, callback: grpc.requestCallback<_rivulet_v1_RunBatchResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Submit a job whose batches run only through RunBatch. INVALID_ARGUMENT when
   * the bundle is not a valid job or the job reads receiver streams.
   */
  SubmitDrivenJob(argument: _rivulet_v1_SubmitDrivenJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_SubmitDrivenJobResponse__Output>): grpc.ClientUnaryCall;
  SubmitDrivenJob(argument: _rivulet_v1_SubmitDrivenJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_SubmitDrivenJobResponse__Output>): grpc.ClientUnaryCall;
  SubmitDrivenJob(argument: _rivulet_v1_SubmitDrivenJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_SubmitDrivenJobResponse__Output>): grpc.ClientUnaryCall;
  SubmitDrivenJob(argument: _rivulet_v1_SubmitDrivenJobRequest, callback: grpc.requestCallback<_rivulet_v1_SubmitDrivenJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Submit a job whose batches run only through RunBatch. INVALID_ARGUMENT when
   * the bundle is not a valid job or the job reads receiver streams.
   */
  submitDrivenJob(argument: _rivulet_v1_SubmitDrivenJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_SubmitDrivenJobResponse__Output>): grpc.ClientUnaryCall;
  submitDrivenJob(argument: _rivulet_v1_SubmitDrivenJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_SubmitDrivenJobResponse__Output>): grpc.ClientUnaryCall;
  submitDrivenJob(argument: _rivulet_v1_SubmitDrivenJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_SubmitDrivenJobResponse__Output>): grpc.ClientUnaryCall;
  submitDrivenJob(argument: _rivulet_v1_SubmitDrivenJobRequest, callback: grpc.requestCallback<_rivulet_v1_SubmitDrivenJobResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface SchedulerTestingHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Run one batch of a driven job. batch_time_ms must be later than the job's
   * previous batch. ABORTED (with the reason) when the batch fails.
   */
  RunBatch: grpc.handleUnaryCall<_rivulet_v1_RunBatchRequest__Output, _rivulet_v1_RunBatchResponse>;
  
  /**
   * Submit a job whose batches run only through RunBatch. INVALID_ARGUMENT when
   * the bundle is not a valid job or the job reads receiver streams.
   */
  SubmitDrivenJob: grpc.handleUnaryCall<_rivulet_v1_SubmitDrivenJobRequest__Output, _rivulet_v1_SubmitDrivenJobResponse>;
  
}

export interface SchedulerTestingDefinition extends grpc.ServiceDefinition {
  RunBatch: MethodDefinition<_rivulet_v1_RunBatchRequest, _rivulet_v1_RunBatchResponse, _rivulet_v1_RunBatchRequest__Output, _rivulet_v1_RunBatchResponse__Output>
  SubmitDrivenJob: MethodDefinition<_rivulet_v1_SubmitDrivenJobRequest, _rivulet_v1_SubmitDrivenJobResponse, _rivulet_v1_SubmitDrivenJobRequest__Output, _rivulet_v1_SubmitDrivenJobResponse__Output>
}
