import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { BatchStatus as _rivulet_v1_BatchStatus, BatchStatus__Output as _rivulet_v1_BatchStatus__Output } from './rivulet/v1/BatchStatus.js';
import type { BlockRef as _rivulet_v1_BlockRef, BlockRef__Output as _rivulet_v1_BlockRef__Output } from './rivulet/v1/BlockRef.js';
import type { ClusterStatus as _rivulet_v1_ClusterStatus, ClusterStatus__Output as _rivulet_v1_ClusterStatus__Output } from './rivulet/v1/ClusterStatus.js';
import type { CreateTokenRequest as _rivulet_v1_CreateTokenRequest, CreateTokenRequest__Output as _rivulet_v1_CreateTokenRequest__Output } from './rivulet/v1/CreateTokenRequest.js';
import type { CreateTokenResponse as _rivulet_v1_CreateTokenResponse, CreateTokenResponse__Output as _rivulet_v1_CreateTokenResponse__Output } from './rivulet/v1/CreateTokenResponse.js';
import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from './rivulet/v1/DatasetRef.js';
import type { ExecutorRef as _rivulet_v1_ExecutorRef, ExecutorRef__Output as _rivulet_v1_ExecutorRef__Output } from './rivulet/v1/ExecutorRef.js';
import type { ExecutorStatus as _rivulet_v1_ExecutorStatus, ExecutorStatus__Output as _rivulet_v1_ExecutorStatus__Output } from './rivulet/v1/ExecutorStatus.js';
import type { GetStatusRequest as _rivulet_v1_GetStatusRequest, GetStatusRequest__Output as _rivulet_v1_GetStatusRequest__Output } from './rivulet/v1/GetStatusRequest.js';
import type { JetStreamSourceStatus as _rivulet_v1_JetStreamSourceStatus, JetStreamSourceStatus__Output as _rivulet_v1_JetStreamSourceStatus__Output } from './rivulet/v1/JetStreamSourceStatus.js';
import type { JobStatus as _rivulet_v1_JobStatus, JobStatus__Output as _rivulet_v1_JobStatus__Output } from './rivulet/v1/JobStatus.js';
import type { LeaderStatus as _rivulet_v1_LeaderStatus, LeaderStatus__Output as _rivulet_v1_LeaderStatus__Output } from './rivulet/v1/LeaderStatus.js';
import type { ListStreamsRequest as _rivulet_v1_ListStreamsRequest, ListStreamsRequest__Output as _rivulet_v1_ListStreamsRequest__Output } from './rivulet/v1/ListStreamsRequest.js';
import type { ListStreamsResponse as _rivulet_v1_ListStreamsResponse, ListStreamsResponse__Output as _rivulet_v1_ListStreamsResponse__Output } from './rivulet/v1/ListStreamsResponse.js';
import type { ListTokensRequest as _rivulet_v1_ListTokensRequest, ListTokensRequest__Output as _rivulet_v1_ListTokensRequest__Output } from './rivulet/v1/ListTokensRequest.js';
import type { ListTokensResponse as _rivulet_v1_ListTokensResponse, ListTokensResponse__Output as _rivulet_v1_ListTokensResponse__Output } from './rivulet/v1/ListTokensResponse.js';
import type { NatsStatus as _rivulet_v1_NatsStatus, NatsStatus__Output as _rivulet_v1_NatsStatus__Output } from './rivulet/v1/NatsStatus.js';
import type { OutputBatch as _rivulet_v1_OutputBatch, OutputBatch__Output as _rivulet_v1_OutputBatch__Output } from './rivulet/v1/OutputBatch.js';
import type { ReceiverStatus as _rivulet_v1_ReceiverStatus, ReceiverStatus__Output as _rivulet_v1_ReceiverStatus__Output } from './rivulet/v1/ReceiverStatus.js';
import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from './rivulet/v1/RecordBatch.js';
import type { RevokeTokenRequest as _rivulet_v1_RevokeTokenRequest, RevokeTokenRequest__Output as _rivulet_v1_RevokeTokenRequest__Output } from './rivulet/v1/RevokeTokenRequest.js';
import type { RevokeTokenResponse as _rivulet_v1_RevokeTokenResponse, RevokeTokenResponse__Output as _rivulet_v1_RevokeTokenResponse__Output } from './rivulet/v1/RevokeTokenResponse.js';
import type { SchedulerClient as _rivulet_v1_SchedulerClient, SchedulerDefinition as _rivulet_v1_SchedulerDefinition } from './rivulet/v1/Scheduler.js';
import type { SinkStatus as _rivulet_v1_SinkStatus, SinkStatus__Output as _rivulet_v1_SinkStatus__Output } from './rivulet/v1/SinkStatus.js';
import type { SliceOutputPart as _rivulet_v1_SliceOutputPart, SliceOutputPart__Output as _rivulet_v1_SliceOutputPart__Output } from './rivulet/v1/SliceOutputPart.js';
import type { SliceOutputRequest as _rivulet_v1_SliceOutputRequest, SliceOutputRequest__Output as _rivulet_v1_SliceOutputRequest__Output } from './rivulet/v1/SliceOutputRequest.js';
import type { SliceWindow as _rivulet_v1_SliceWindow, SliceWindow__Output as _rivulet_v1_SliceWindow__Output } from './rivulet/v1/SliceWindow.js';
import type { StopJobRequest as _rivulet_v1_StopJobRequest, StopJobRequest__Output as _rivulet_v1_StopJobRequest__Output } from './rivulet/v1/StopJobRequest.js';
import type { StopJobResponse as _rivulet_v1_StopJobResponse, StopJobResponse__Output as _rivulet_v1_StopJobResponse__Output } from './rivulet/v1/StopJobResponse.js';
import type { StreamIngestRate as _rivulet_v1_StreamIngestRate, StreamIngestRate__Output as _rivulet_v1_StreamIngestRate__Output } from './rivulet/v1/StreamIngestRate.js';
import type { StreamRateLimit as _rivulet_v1_StreamRateLimit, StreamRateLimit__Output as _rivulet_v1_StreamRateLimit__Output } from './rivulet/v1/StreamRateLimit.js';
import type { SubmitJobRequest as _rivulet_v1_SubmitJobRequest, SubmitJobRequest__Output as _rivulet_v1_SubmitJobRequest__Output } from './rivulet/v1/SubmitJobRequest.js';
import type { SubmitJobResponse as _rivulet_v1_SubmitJobResponse, SubmitJobResponse__Output as _rivulet_v1_SubmitJobResponse__Output } from './rivulet/v1/SubmitJobResponse.js';
import type { TokenInfo as _rivulet_v1_TokenInfo, TokenInfo__Output as _rivulet_v1_TokenInfo__Output } from './rivulet/v1/TokenInfo.js';
import type { WatchOutputRequest as _rivulet_v1_WatchOutputRequest, WatchOutputRequest__Output as _rivulet_v1_WatchOutputRequest__Output } from './rivulet/v1/WatchOutputRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  rivulet: {
    v1: {
      BatchStatus: MessageTypeDefinition<_rivulet_v1_BatchStatus, _rivulet_v1_BatchStatus__Output>
      BlockRef: MessageTypeDefinition<_rivulet_v1_BlockRef, _rivulet_v1_BlockRef__Output>
      ClusterStatus: MessageTypeDefinition<_rivulet_v1_ClusterStatus, _rivulet_v1_ClusterStatus__Output>
      CreateTokenRequest: MessageTypeDefinition<_rivulet_v1_CreateTokenRequest, _rivulet_v1_CreateTokenRequest__Output>
      CreateTokenResponse: MessageTypeDefinition<_rivulet_v1_CreateTokenResponse, _rivulet_v1_CreateTokenResponse__Output>
      DatasetRef: MessageTypeDefinition<_rivulet_v1_DatasetRef, _rivulet_v1_DatasetRef__Output>
      ExecutorRef: MessageTypeDefinition<_rivulet_v1_ExecutorRef, _rivulet_v1_ExecutorRef__Output>
      ExecutorStatus: MessageTypeDefinition<_rivulet_v1_ExecutorStatus, _rivulet_v1_ExecutorStatus__Output>
      GetStatusRequest: MessageTypeDefinition<_rivulet_v1_GetStatusRequest, _rivulet_v1_GetStatusRequest__Output>
      JetStreamSourceStatus: MessageTypeDefinition<_rivulet_v1_JetStreamSourceStatus, _rivulet_v1_JetStreamSourceStatus__Output>
      JobStatus: MessageTypeDefinition<_rivulet_v1_JobStatus, _rivulet_v1_JobStatus__Output>
      LeaderStatus: MessageTypeDefinition<_rivulet_v1_LeaderStatus, _rivulet_v1_LeaderStatus__Output>
      ListStreamsRequest: MessageTypeDefinition<_rivulet_v1_ListStreamsRequest, _rivulet_v1_ListStreamsRequest__Output>
      ListStreamsResponse: MessageTypeDefinition<_rivulet_v1_ListStreamsResponse, _rivulet_v1_ListStreamsResponse__Output>
      ListTokensRequest: MessageTypeDefinition<_rivulet_v1_ListTokensRequest, _rivulet_v1_ListTokensRequest__Output>
      ListTokensResponse: MessageTypeDefinition<_rivulet_v1_ListTokensResponse, _rivulet_v1_ListTokensResponse__Output>
      NatsStatus: MessageTypeDefinition<_rivulet_v1_NatsStatus, _rivulet_v1_NatsStatus__Output>
      OutputBatch: MessageTypeDefinition<_rivulet_v1_OutputBatch, _rivulet_v1_OutputBatch__Output>
      ReceiverStatus: MessageTypeDefinition<_rivulet_v1_ReceiverStatus, _rivulet_v1_ReceiverStatus__Output>
      RecordBatch: MessageTypeDefinition<_rivulet_v1_RecordBatch, _rivulet_v1_RecordBatch__Output>
      RevokeTokenRequest: MessageTypeDefinition<_rivulet_v1_RevokeTokenRequest, _rivulet_v1_RevokeTokenRequest__Output>
      RevokeTokenResponse: MessageTypeDefinition<_rivulet_v1_RevokeTokenResponse, _rivulet_v1_RevokeTokenResponse__Output>
      Scheduler: SubtypeConstructor<typeof grpc.Client, _rivulet_v1_SchedulerClient> & { service: _rivulet_v1_SchedulerDefinition }
      SinkStatus: MessageTypeDefinition<_rivulet_v1_SinkStatus, _rivulet_v1_SinkStatus__Output>
      SliceOutputPart: MessageTypeDefinition<_rivulet_v1_SliceOutputPart, _rivulet_v1_SliceOutputPart__Output>
      SliceOutputRequest: MessageTypeDefinition<_rivulet_v1_SliceOutputRequest, _rivulet_v1_SliceOutputRequest__Output>
      SliceWindow: MessageTypeDefinition<_rivulet_v1_SliceWindow, _rivulet_v1_SliceWindow__Output>
      StopJobRequest: MessageTypeDefinition<_rivulet_v1_StopJobRequest, _rivulet_v1_StopJobRequest__Output>
      StopJobResponse: MessageTypeDefinition<_rivulet_v1_StopJobResponse, _rivulet_v1_StopJobResponse__Output>
      StreamIngestRate: MessageTypeDefinition<_rivulet_v1_StreamIngestRate, _rivulet_v1_StreamIngestRate__Output>
      StreamRateLimit: MessageTypeDefinition<_rivulet_v1_StreamRateLimit, _rivulet_v1_StreamRateLimit__Output>
      SubmitJobRequest: MessageTypeDefinition<_rivulet_v1_SubmitJobRequest, _rivulet_v1_SubmitJobRequest__Output>
      SubmitJobResponse: MessageTypeDefinition<_rivulet_v1_SubmitJobResponse, _rivulet_v1_SubmitJobResponse__Output>
      TokenInfo: MessageTypeDefinition<_rivulet_v1_TokenInfo, _rivulet_v1_TokenInfo__Output>
      WatchOutputRequest: MessageTypeDefinition<_rivulet_v1_WatchOutputRequest, _rivulet_v1_WatchOutputRequest__Output>
    }
  }
}

