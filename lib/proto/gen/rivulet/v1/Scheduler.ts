// Original file: proto/rivulet/v1/scheduler.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ClusterStatus as _rivulet_v1_ClusterStatus, ClusterStatus__Output as _rivulet_v1_ClusterStatus__Output } from '../../rivulet/v1/ClusterStatus.js';
import type { CreateTokenRequest as _rivulet_v1_CreateTokenRequest, CreateTokenRequest__Output as _rivulet_v1_CreateTokenRequest__Output } from '../../rivulet/v1/CreateTokenRequest.js';
import type { CreateTokenResponse as _rivulet_v1_CreateTokenResponse, CreateTokenResponse__Output as _rivulet_v1_CreateTokenResponse__Output } from '../../rivulet/v1/CreateTokenResponse.js';
import type { GetStatusRequest as _rivulet_v1_GetStatusRequest, GetStatusRequest__Output as _rivulet_v1_GetStatusRequest__Output } from '../../rivulet/v1/GetStatusRequest.js';
import type { ListStreamsRequest as _rivulet_v1_ListStreamsRequest, ListStreamsRequest__Output as _rivulet_v1_ListStreamsRequest__Output } from '../../rivulet/v1/ListStreamsRequest.js';
import type { ListStreamsResponse as _rivulet_v1_ListStreamsResponse, ListStreamsResponse__Output as _rivulet_v1_ListStreamsResponse__Output } from '../../rivulet/v1/ListStreamsResponse.js';
import type { ListTokensRequest as _rivulet_v1_ListTokensRequest, ListTokensRequest__Output as _rivulet_v1_ListTokensRequest__Output } from '../../rivulet/v1/ListTokensRequest.js';
import type { ListTokensResponse as _rivulet_v1_ListTokensResponse, ListTokensResponse__Output as _rivulet_v1_ListTokensResponse__Output } from '../../rivulet/v1/ListTokensResponse.js';
import type { OutputBatch as _rivulet_v1_OutputBatch, OutputBatch__Output as _rivulet_v1_OutputBatch__Output } from '../../rivulet/v1/OutputBatch.js';
import type { RevokeTokenRequest as _rivulet_v1_RevokeTokenRequest, RevokeTokenRequest__Output as _rivulet_v1_RevokeTokenRequest__Output } from '../../rivulet/v1/RevokeTokenRequest.js';
import type { RevokeTokenResponse as _rivulet_v1_RevokeTokenResponse, RevokeTokenResponse__Output as _rivulet_v1_RevokeTokenResponse__Output } from '../../rivulet/v1/RevokeTokenResponse.js';
import type { SliceOutputPart as _rivulet_v1_SliceOutputPart, SliceOutputPart__Output as _rivulet_v1_SliceOutputPart__Output } from '../../rivulet/v1/SliceOutputPart.js';
import type { SliceOutputRequest as _rivulet_v1_SliceOutputRequest, SliceOutputRequest__Output as _rivulet_v1_SliceOutputRequest__Output } from '../../rivulet/v1/SliceOutputRequest.js';
import type { StopJobRequest as _rivulet_v1_StopJobRequest, StopJobRequest__Output as _rivulet_v1_StopJobRequest__Output } from '../../rivulet/v1/StopJobRequest.js';
import type { StopJobResponse as _rivulet_v1_StopJobResponse, StopJobResponse__Output as _rivulet_v1_StopJobResponse__Output } from '../../rivulet/v1/StopJobResponse.js';
import type { SubmitJobRequest as _rivulet_v1_SubmitJobRequest, SubmitJobRequest__Output as _rivulet_v1_SubmitJobRequest__Output } from '../../rivulet/v1/SubmitJobRequest.js';
import type { SubmitJobResponse as _rivulet_v1_SubmitJobResponse, SubmitJobResponse__Output as _rivulet_v1_SubmitJobResponse__Output } from '../../rivulet/v1/SubmitJobResponse.js';
import type { WatchOutputRequest as _rivulet_v1_WatchOutputRequest, WatchOutputRequest__Output as _rivulet_v1_WatchOutputRequest__Output } from '../../rivulet/v1/WatchOutputRequest.js';

export interface SchedulerClient extends grpc.Client {
  /**
   * API tokens, admins only (README "Security"): create one (its secret is in
   * the answer, once, and stored only hashed), revoke one, list them.
   */
  CreateToken(argument: _rivulet_v1_CreateTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  CreateToken(argument: _rivulet_v1_CreateTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  CreateToken(argument: _rivulet_v1_CreateTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  CreateToken(argument: _rivulet_v1_CreateTokenRequest, callback: grpc.requestCallback<_rivulet_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  /**
   * API tokens, admins only (README "Security"): create one (its secret is in
   * the answer, once, and stored only hashed), revoke one, list them.
   */
  createToken(argument: _rivulet_v1_CreateTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  createToken(argument: _rivulet_v1_CreateTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  createToken(argument: _rivulet_v1_CreateTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  createToken(argument: _rivulet_v1_CreateTokenRequest, callback: grpc.requestCallback<_rivulet_v1_CreateTokenResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Executors, jobs and recent batches, one page of jobs at a time: an answer
   * never exceeds 4 MiB (nor the scheduler's maxMessageBytes), however many
   * jobs there are. Follow next_page_token for the rest. INVALID_ARGUMENT for
   * a malformed page_token.
   */
  GetStatus(argument: _rivulet_v1_GetStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ClusterStatus__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _rivulet_v1_GetStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_ClusterStatus__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _rivulet_v1_GetStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ClusterStatus__Output>): grpc.ClientUnaryCall;
  GetStatus(argument: _rivulet_v1_GetStatusRequest, callback: grpc.requestCallback<_rivulet_v1_ClusterStatus__Output>): grpc.ClientUnaryCall;
  /**
   * Executors, jobs and recent batches, one page of jobs at a time: an answer
   * never exceeds 4 MiB (nor the scheduler's maxMessageBytes), however many
   * jobs there are. Follow next_page_token for the rest. INVALID_ARGUMENT for
   * a malformed page_token.
   */
  getStatus(argument: _rivulet_v1_GetStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ClusterStatus__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _rivulet_v1_GetStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_ClusterStatus__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _rivulet_v1_GetStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ClusterStatus__Output>): grpc.ClientUnaryCall;
  getStatus(argument: _rivulet_v1_GetStatusRequest, callback: grpc.requestCallback<_rivulet_v1_ClusterStatus__Output>): grpc.ClientUnaryCall;
  
  /**
   * The input streams read by running jobs (the receiver accepts only these).
   */
  ListStreams(argument: _rivulet_v1_ListStreamsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ListStreamsResponse__Output>): grpc.ClientUnaryCall;
  ListStreams(argument: _rivulet_v1_ListStreamsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_ListStreamsResponse__Output>): grpc.ClientUnaryCall;
  ListStreams(argument: _rivulet_v1_ListStreamsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ListStreamsResponse__Output>): grpc.ClientUnaryCall;
  ListStreams(argument: _rivulet_v1_ListStreamsRequest, callback: grpc.requestCallback<_rivulet_v1_ListStreamsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The input streams read by running jobs (the receiver accepts only these).
   */
  listStreams(argument: _rivulet_v1_ListStreamsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ListStreamsResponse__Output>): grpc.ClientUnaryCall;
  listStreams(argument: _rivulet_v1_ListStreamsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_ListStreamsResponse__Output>): grpc.ClientUnaryCall;
  listStreams(argument: _rivulet_v1_ListStreamsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ListStreamsResponse__Output>): grpc.ClientUnaryCall;
  listStreams(argument: _rivulet_v1_ListStreamsRequest, callback: grpc.requestCallback<_rivulet_v1_ListStreamsResponse__Output>): grpc.ClientUnaryCall;
  
  ListTokens(argument: _rivulet_v1_ListTokensRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  ListTokens(argument: _rivulet_v1_ListTokensRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  ListTokens(argument: _rivulet_v1_ListTokensRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  ListTokens(argument: _rivulet_v1_ListTokensRequest, callback: grpc.requestCallback<_rivulet_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  listTokens(argument: _rivulet_v1_ListTokensRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  listTokens(argument: _rivulet_v1_ListTokensRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  listTokens(argument: _rivulet_v1_ListTokensRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  listTokens(argument: _rivulet_v1_ListTokensRequest, callback: grpc.requestCallback<_rivulet_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  
  RevokeToken(argument: _rivulet_v1_RevokeTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RevokeTokenResponse__Output>): grpc.ClientUnaryCall;
  RevokeToken(argument: _rivulet_v1_RevokeTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_RevokeTokenResponse__Output>): grpc.ClientUnaryCall;
  RevokeToken(argument: _rivulet_v1_RevokeTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RevokeTokenResponse__Output>): grpc.ClientUnaryCall;
  RevokeToken(argument: _rivulet_v1_RevokeTokenRequest, callback: grpc.requestCallback<_rivulet_v1_RevokeTokenResponse__Output>): grpc.ClientUnaryCall;
  revokeToken(argument: _rivulet_v1_RevokeTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RevokeTokenResponse__Output>): grpc.ClientUnaryCall;
  revokeToken(argument: _rivulet_v1_RevokeTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_RevokeTokenResponse__Output>): grpc.ClientUnaryCall;
  revokeToken(argument: _rivulet_v1_RevokeTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RevokeTokenResponse__Output>): grpc.ClientUnaryCall;
  revokeToken(argument: _rivulet_v1_RevokeTokenRequest, callback: grpc.requestCallback<_rivulet_v1_RevokeTokenResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Spark's DStream.slice(fromTime, toTime) on a job's output: the committed
   * batches still retained whose batch time t has from <= t <= to, both ends
   * aligned down to the output's grid, oldest first, after one SliceWindow
   * that says which range was served and which batches are retained. Never
   * waits for later batches. A range reaching before the oldest retained
   * batch is served with what is retained and flagged (SliceWindow.truncated),
   * as Spark's slice returns the RDDs it still has. INVALID_ARGUMENT for a
   * negative time or from > to; NOT_FOUND for an unknown job or output.
   */
  SliceOutput(argument: _rivulet_v1_SliceOutputRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_SliceOutputPart__Output>;
  SliceOutput(argument: _rivulet_v1_SliceOutputRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_SliceOutputPart__Output>;
  /**
   * Spark's DStream.slice(fromTime, toTime) on a job's output: the committed
   * batches still retained whose batch time t has from <= t <= to, both ends
   * aligned down to the output's grid, oldest first, after one SliceWindow
   * that says which range was served and which batches are retained. Never
   * waits for later batches. A range reaching before the oldest retained
   * batch is served with what is retained and flagged (SliceWindow.truncated),
   * as Spark's slice returns the RDDs it still has. INVALID_ARGUMENT for a
   * negative time or from > to; NOT_FOUND for an unknown job or output.
   */
  sliceOutput(argument: _rivulet_v1_SliceOutputRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_SliceOutputPart__Output>;
  sliceOutput(argument: _rivulet_v1_SliceOutputRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_SliceOutputPart__Output>;
  
  /**
   * Stop a job after its in-flight batches. NOT_FOUND for an unknown job id.
   */
  StopJob(argument: _rivulet_v1_StopJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_StopJobResponse__Output>): grpc.ClientUnaryCall;
  StopJob(argument: _rivulet_v1_StopJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_StopJobResponse__Output>): grpc.ClientUnaryCall;
  StopJob(argument: _rivulet_v1_StopJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_StopJobResponse__Output>): grpc.ClientUnaryCall;
  StopJob(argument: _rivulet_v1_StopJobRequest, callback: grpc.requestCallback<_rivulet_v1_StopJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Stop a job after its in-flight batches. NOT_FOUND for an unknown job id.
   */
  stopJob(argument: _rivulet_v1_StopJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_StopJobResponse__Output>): grpc.ClientUnaryCall;
  stopJob(argument: _rivulet_v1_StopJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_StopJobResponse__Output>): grpc.ClientUnaryCall;
  stopJob(argument: _rivulet_v1_StopJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_StopJobResponse__Output>): grpc.ClientUnaryCall;
  stopJob(argument: _rivulet_v1_StopJobRequest, callback: grpc.requestCallback<_rivulet_v1_StopJobResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Start a job from a bundled job module. INVALID_ARGUMENT when the bundle is
   * not valid JavaScript or the job throws while building its graph.
   */
  SubmitJob(argument: _rivulet_v1_SubmitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _rivulet_v1_SubmitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _rivulet_v1_SubmitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _rivulet_v1_SubmitJobRequest, callback: grpc.requestCallback<_rivulet_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Start a job from a bundled job module. INVALID_ARGUMENT when the bundle is
   * not valid JavaScript or the job throws while building its graph.
   */
  submitJob(argument: _rivulet_v1_SubmitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _rivulet_v1_SubmitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _rivulet_v1_SubmitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _rivulet_v1_SubmitJobRequest, callback: grpc.requestCallback<_rivulet_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Every committed batch of one output of a job, as it is committed.
   * NOT_FOUND for an unknown job or output. Ends with ABORTED when the job fails.
   */
  WatchOutput(argument: _rivulet_v1_WatchOutputRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_OutputBatch__Output>;
  WatchOutput(argument: _rivulet_v1_WatchOutputRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_OutputBatch__Output>;
  /**
   * Every committed batch of one output of a job, as it is committed.
   * NOT_FOUND for an unknown job or output. Ends with ABORTED when the job fails.
   */
  watchOutput(argument: _rivulet_v1_WatchOutputRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_OutputBatch__Output>;
  watchOutput(argument: _rivulet_v1_WatchOutputRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_OutputBatch__Output>;
  
}

export interface SchedulerHandlers extends grpc.UntypedServiceImplementation {
  /**
   * API tokens, admins only (README "Security"): create one (its secret is in
   * the answer, once, and stored only hashed), revoke one, list them.
   */
  CreateToken: grpc.handleUnaryCall<_rivulet_v1_CreateTokenRequest__Output, _rivulet_v1_CreateTokenResponse>;
  
  /**
   * Executors, jobs and recent batches, one page of jobs at a time: an answer
   * never exceeds 4 MiB (nor the scheduler's maxMessageBytes), however many
   * jobs there are. Follow next_page_token for the rest. INVALID_ARGUMENT for
   * a malformed page_token.
   */
  GetStatus: grpc.handleUnaryCall<_rivulet_v1_GetStatusRequest__Output, _rivulet_v1_ClusterStatus>;
  
  /**
   * The input streams read by running jobs (the receiver accepts only these).
   */
  ListStreams: grpc.handleUnaryCall<_rivulet_v1_ListStreamsRequest__Output, _rivulet_v1_ListStreamsResponse>;
  
  ListTokens: grpc.handleUnaryCall<_rivulet_v1_ListTokensRequest__Output, _rivulet_v1_ListTokensResponse>;
  
  RevokeToken: grpc.handleUnaryCall<_rivulet_v1_RevokeTokenRequest__Output, _rivulet_v1_RevokeTokenResponse>;
  
  /**
   * Spark's DStream.slice(fromTime, toTime) on a job's output: the committed
   * batches still retained whose batch time t has from <= t <= to, both ends
   * aligned down to the output's grid, oldest first, after one SliceWindow
   * that says which range was served and which batches are retained. Never
   * waits for later batches. A range reaching before the oldest retained
   * batch is served with what is retained and flagged (SliceWindow.truncated),
   * as Spark's slice returns the RDDs it still has. INVALID_ARGUMENT for a
   * negative time or from > to; NOT_FOUND for an unknown job or output.
   */
  SliceOutput: grpc.handleServerStreamingCall<_rivulet_v1_SliceOutputRequest__Output, _rivulet_v1_SliceOutputPart>;
  
  /**
   * Stop a job after its in-flight batches. NOT_FOUND for an unknown job id.
   */
  StopJob: grpc.handleUnaryCall<_rivulet_v1_StopJobRequest__Output, _rivulet_v1_StopJobResponse>;
  
  /**
   * Start a job from a bundled job module. INVALID_ARGUMENT when the bundle is
   * not valid JavaScript or the job throws while building its graph.
   */
  SubmitJob: grpc.handleUnaryCall<_rivulet_v1_SubmitJobRequest__Output, _rivulet_v1_SubmitJobResponse>;
  
  /**
   * Every committed batch of one output of a job, as it is committed.
   * NOT_FOUND for an unknown job or output. Ends with ABORTED when the job fails.
   */
  WatchOutput: grpc.handleServerStreamingCall<_rivulet_v1_WatchOutputRequest__Output, _rivulet_v1_OutputBatch>;
  
}

export interface SchedulerDefinition extends grpc.ServiceDefinition {
  CreateToken: MethodDefinition<_rivulet_v1_CreateTokenRequest, _rivulet_v1_CreateTokenResponse, _rivulet_v1_CreateTokenRequest__Output, _rivulet_v1_CreateTokenResponse__Output>
  GetStatus: MethodDefinition<_rivulet_v1_GetStatusRequest, _rivulet_v1_ClusterStatus, _rivulet_v1_GetStatusRequest__Output, _rivulet_v1_ClusterStatus__Output>
  ListStreams: MethodDefinition<_rivulet_v1_ListStreamsRequest, _rivulet_v1_ListStreamsResponse, _rivulet_v1_ListStreamsRequest__Output, _rivulet_v1_ListStreamsResponse__Output>
  ListTokens: MethodDefinition<_rivulet_v1_ListTokensRequest, _rivulet_v1_ListTokensResponse, _rivulet_v1_ListTokensRequest__Output, _rivulet_v1_ListTokensResponse__Output>
  RevokeToken: MethodDefinition<_rivulet_v1_RevokeTokenRequest, _rivulet_v1_RevokeTokenResponse, _rivulet_v1_RevokeTokenRequest__Output, _rivulet_v1_RevokeTokenResponse__Output>
  SliceOutput: MethodDefinition<_rivulet_v1_SliceOutputRequest, _rivulet_v1_SliceOutputPart, _rivulet_v1_SliceOutputRequest__Output, _rivulet_v1_SliceOutputPart__Output>
  StopJob: MethodDefinition<_rivulet_v1_StopJobRequest, _rivulet_v1_StopJobResponse, _rivulet_v1_StopJobRequest__Output, _rivulet_v1_StopJobResponse__Output>
  SubmitJob: MethodDefinition<_rivulet_v1_SubmitJobRequest, _rivulet_v1_SubmitJobResponse, _rivulet_v1_SubmitJobRequest__Output, _rivulet_v1_SubmitJobResponse__Output>
  WatchOutput: MethodDefinition<_rivulet_v1_WatchOutputRequest, _rivulet_v1_OutputBatch, _rivulet_v1_WatchOutputRequest__Output, _rivulet_v1_OutputBatch__Output>
}
