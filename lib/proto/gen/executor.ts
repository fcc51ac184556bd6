import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { BlockCopy as _rivulet_v1_BlockCopy, BlockCopy__Output as _rivulet_v1_BlockCopy__Output } from './rivulet/v1/BlockCopy.js';
import type { BlockInput as _rivulet_v1_BlockInput, BlockInput__Output as _rivulet_v1_BlockInput__Output } from './rivulet/v1/BlockInput.js';
import type { BlockRef as _rivulet_v1_BlockRef, BlockRef__Output as _rivulet_v1_BlockRef__Output } from './rivulet/v1/BlockRef.js';
import type { CacheSink as _rivulet_v1_CacheSink, CacheSink__Output as _rivulet_v1_CacheSink__Output } from './rivulet/v1/CacheSink.js';
import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from './rivulet/v1/DatasetRef.js';
import type { DropBlocksRequest as _rivulet_v1_DropBlocksRequest, DropBlocksRequest__Output as _rivulet_v1_DropBlocksRequest__Output } from './rivulet/v1/DropBlocksRequest.js';
import type { DropBlocksResponse as _rivulet_v1_DropBlocksResponse, DropBlocksResponse__Output as _rivulet_v1_DropBlocksResponse__Output } from './rivulet/v1/DropBlocksResponse.js';
import type { ExecutorClient as _rivulet_v1_ExecutorClient, ExecutorDefinition as _rivulet_v1_ExecutorDefinition } from './rivulet/v1/Executor.js';
import type { ExecutorRef as _rivulet_v1_ExecutorRef, ExecutorRef__Output as _rivulet_v1_ExecutorRef__Output } from './rivulet/v1/ExecutorRef.js';
import type { FetchBlocksRequest as _rivulet_v1_FetchBlocksRequest, FetchBlocksRequest__Output as _rivulet_v1_FetchBlocksRequest__Output } from './rivulet/v1/FetchBlocksRequest.js';
import type { FetchedBlock as _rivulet_v1_FetchedBlock, FetchedBlock__Output as _rivulet_v1_FetchedBlock__Output } from './rivulet/v1/FetchedBlock.js';
import type { GroupPlan as _rivulet_v1_GroupPlan, GroupPlan__Output as _rivulet_v1_GroupPlan__Output } from './rivulet/v1/GroupPlan.js';
import type { IdentifyRequest as _rivulet_v1_IdentifyRequest, IdentifyRequest__Output as _rivulet_v1_IdentifyRequest__Output } from './rivulet/v1/IdentifyRequest.js';
import type { IdentifyResponse as _rivulet_v1_IdentifyResponse, IdentifyResponse__Output as _rivulet_v1_IdentifyResponse__Output } from './rivulet/v1/IdentifyResponse.js';
import type { JetStreamSlice as _rivulet_v1_JetStreamSlice, JetStreamSlice__Output as _rivulet_v1_JetStreamSlice__Output } from './rivulet/v1/JetStreamSlice.js';
import type { KillTasksRequest as _rivulet_v1_KillTasksRequest, KillTasksRequest__Output as _rivulet_v1_KillTasksRequest__Output } from './rivulet/v1/KillTasksRequest.js';
import type { KillTasksResponse as _rivulet_v1_KillTasksResponse, KillTasksResponse__Output as _rivulet_v1_KillTasksResponse__Output } from './rivulet/v1/KillTasksResponse.js';
import type { LoadJobRequest as _rivulet_v1_LoadJobRequest, LoadJobRequest__Output as _rivulet_v1_LoadJobRequest__Output } from './rivulet/v1/LoadJobRequest.js';
import type { LoadJobResponse as _rivulet_v1_LoadJobResponse, LoadJobResponse__Output as _rivulet_v1_LoadJobResponse__Output } from './rivulet/v1/LoadJobResponse.js';
import type { MapOutputLocation as _rivulet_v1_MapOutputLocation, MapOutputLocation__Output as _rivulet_v1_MapOutputLocation__Output } from './rivulet/v1/MapOutputLocation.js';
import type { PlanRevocation as _rivulet_v1_PlanRevocation, PlanRevocation__Output as _rivulet_v1_PlanRevocation__Output } from './rivulet/v1/PlanRevocation.js';
import type { PlannedStage as _rivulet_v1_PlannedStage, PlannedStage__Output as _rivulet_v1_PlannedStage__Output } from './rivulet/v1/PlannedStage.js';
import type { PushBlocksRequest as _rivulet_v1_PushBlocksRequest, PushBlocksRequest__Output as _rivulet_v1_PushBlocksRequest__Output } from './rivulet/v1/PushBlocksRequest.js';
import type { PushBlocksResponse as _rivulet_v1_PushBlocksResponse, PushBlocksResponse__Output as _rivulet_v1_PushBlocksResponse__Output } from './rivulet/v1/PushBlocksResponse.js';
import type { PushedBlock as _rivulet_v1_PushedBlock, PushedBlock__Output as _rivulet_v1_PushedBlock__Output } from './rivulet/v1/PushedBlock.js';
import type { PutBlockRequest as _rivulet_v1_PutBlockRequest, PutBlockRequest__Output as _rivulet_v1_PutBlockRequest__Output } from './rivulet/v1/PutBlockRequest.js';
import type { PutBlockResponse as _rivulet_v1_PutBlockResponse, PutBlockResponse__Output as _rivulet_v1_PutBlockResponse__Output } from './rivulet/v1/PutBlockResponse.js';
import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from './rivulet/v1/RecordBatch.js';
import type { ReplicateBlocksRequest as _rivulet_v1_ReplicateBlocksRequest, ReplicateBlocksRequest__Output as _rivulet_v1_ReplicateBlocksRequest__Output } from './rivulet/v1/ReplicateBlocksRequest.js';
import type { ReplicateBlocksResponse as _rivulet_v1_ReplicateBlocksResponse, ReplicateBlocksResponse__Output as _rivulet_v1_ReplicateBlocksResponse__Output } from './rivulet/v1/ReplicateBlocksResponse.js';
import type { ResultSink as _rivulet_v1_ResultSink, ResultSink__Output as _rivulet_v1_ResultSink__Output } from './rivulet/v1/ResultSink.js';
import type { RunTasksRequest as _rivulet_v1_RunTasksRequest, RunTasksRequest__Output as _rivulet_v1_RunTasksRequest__Output } from './rivulet/v1/RunTasksRequest.js';
import type { ShuffleInput as _rivulet_v1_ShuffleInput, ShuffleInput__Output as _rivulet_v1_ShuffleInput__Output } from './rivulet/v1/ShuffleInput.js';
import type { ShufflePushTarget as _rivulet_v1_ShufflePushTarget, ShufflePushTarget__Output as _rivulet_v1_ShufflePushTarget__Output } from './rivulet/v1/ShufflePushTarget.js';
import type { ShuffleWrite as _rivulet_v1_ShuffleWrite, ShuffleWrite__Output as _rivulet_v1_ShuffleWrite__Output } from './rivulet/v1/ShuffleWrite.js';
import type { TaskAttemptRef as _rivulet_v1_TaskAttemptRef, TaskAttemptRef__Output as _rivulet_v1_TaskAttemptRef__Output } from './rivulet/v1/TaskAttemptRef.js';
import type { TaskMetrics as _rivulet_v1_TaskMetrics, TaskMetrics__Output as _rivulet_v1_TaskMetrics__Output } from './rivulet/v1/TaskMetrics.js';
import type { TaskResult as _rivulet_v1_TaskResult, TaskResult__Output as _rivulet_v1_TaskResult__Output } from './rivulet/v1/TaskResult.js';
import type { TaskResults as _rivulet_v1_TaskResults, TaskResults__Output as _rivulet_v1_TaskResults__Output } from './rivulet/v1/TaskResults.js';
import type { TaskSpec as _rivulet_v1_TaskSpec, TaskSpec__Output as _rivulet_v1_TaskSpec__Output } from './rivulet/v1/TaskSpec.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  rivulet: {
    v1: {
      BlockCopy: MessageTypeDefinition<_rivulet_v1_BlockCopy, _rivulet_v1_BlockCopy__Output>
      BlockInput: MessageTypeDefinition<_rivulet_v1_BlockInput, _rivulet_v1_BlockInput__Output>
      BlockRef: MessageTypeDefinition<_rivulet_v1_BlockRef, _rivulet_v1_BlockRef__Output>
      CacheSink: MessageTypeDefinition<_rivulet_v1_CacheSink, _rivulet_v1_CacheSink__Output>
      DatasetRef: MessageTypeDefinition<_rivulet_v1_DatasetRef, _rivulet_v1_DatasetRef__Output>
      DropBlocksRequest: MessageTypeDefinition<_rivulet_v1_DropBlocksRequest, _rivulet_v1_DropBlocksRequest__Output>
      DropBlocksResponse: MessageTypeDefinition<_rivulet_v1_DropBlocksResponse, _rivulet_v1_DropBlocksResponse__Output>
      Executor: SubtypeConstructor<typeof grpc.Client, _rivulet_v1_ExecutorClient> & { service: _rivulet_v1_ExecutorDefinition }
      ExecutorRef: MessageTypeDefinition<_rivulet_v1_ExecutorRef, _rivulet_v1_ExecutorRef__Output>
      FetchBlocksRequest: MessageTypeDefinition<_rivulet_v1_FetchBlocksRequest, _rivulet_v1_FetchBlocksRequest__Output>
      FetchedBlock: MessageTypeDefinition<_rivulet_v1_FetchedBlock, _rivulet_v1_FetchedBlock__Output>
      GroupPlan: MessageTypeDefinition<_rivulet_v1_GroupPlan, _rivulet_v1_GroupPlan__Output>
      IdentifyRequest: MessageTypeDefinition<_rivulet_v1_IdentifyRequest, _rivulet_v1_IdentifyRequest__Output>
      IdentifyResponse: MessageTypeDefinition<_rivulet_v1_IdentifyResponse, _rivulet_v1_IdentifyResponse__Output>
      JetStreamSlice: MessageTypeDefinition<_rivulet_v1_JetStreamSlice, _rivulet_v1_JetStreamSlice__Output>
      KillTasksRequest: MessageTypeDefinition<_rivulet_v1_KillTasksRequest, _rivulet_v1_KillTasksRequest__Output>
      KillTasksResponse: MessageTypeDefinition<_rivulet_v1_KillTasksResponse, _rivulet_v1_KillTasksResponse__Output>
      LoadJobRequest: MessageTypeDefinition<_rivulet_v1_LoadJobRequest, _rivulet_v1_LoadJobRequest__Output>
      LoadJobResponse: MessageTypeDefinition<_rivulet_v1_LoadJobResponse, _rivulet_v1_LoadJobResponse__Output>
      MapOutputLocation: MessageTypeDefinition<_rivulet_v1_MapOutputLocation, _rivulet_v1_MapOutputLocation__Output>
      PlanRevocation: MessageTypeDefinition<_rivulet_v1_PlanRevocation, _rivulet_v1_PlanRevocation__Output>
      PlannedStage: MessageTypeDefinition<_rivulet_v1_PlannedStage, _rivulet_v1_PlannedStage__Output>
      PushBlocksRequest: MessageTypeDefinition<_rivulet_v1_PushBlocksRequest, _rivulet_v1_PushBlocksRequest__Output>
      PushBlocksResponse: MessageTypeDefinition<_rivulet_v1_PushBlocksResponse, _rivulet_v1_PushBlocksResponse__Output>
      PushedBlock: MessageTypeDefinition<_rivulet_v1_PushedBlock, _rivulet_v1_PushedBlock__Output>
      PutBlockRequest: MessageTypeDefinition<_rivulet_v1_PutBlockRequest, _rivulet_v1_PutBlockRequest__Output>
      PutBlockResponse: MessageTypeDefinition<_rivulet_v1_PutBlockResponse, _rivulet_v1_PutBlockResponse__Output>
      RecordBatch: MessageTypeDefinition<_rivulet_v1_RecordBatch, _rivulet_v1_RecordBatch__Output>
      ReplicateBlocksRequest: MessageTypeDefinition<_rivulet_v1_ReplicateBlocksRequest, _rivulet_v1_ReplicateBlocksRequest__Output>
      ReplicateBlocksResponse: MessageTypeDefinition<_rivulet_v1_ReplicateBlocksResponse, _rivulet_v1_ReplicateBlocksResponse__Output>
      ResultSink: MessageTypeDefinition<_rivulet_v1_ResultSink, _rivulet_v1_ResultSink__Output>
      RunTasksRequest: MessageTypeDefinition<_rivulet_v1_RunTasksRequest, _rivulet_v1_RunTasksRequest__Output>
      ShuffleInput: MessageTypeDefinition<_rivulet_v1_ShuffleInput, _rivulet_v1_ShuffleInput__Output>
      ShufflePushTarget: MessageTypeDefinition<_rivulet_v1_ShufflePushTarget, _rivulet_v1_ShufflePushTarget__Output>
      ShuffleWrite: MessageTypeDefinition<_rivulet_v1_ShuffleWrite, _rivulet_v1_ShuffleWrite__Output>
      TaskAttemptRef: MessageTypeDefinition<_rivulet_v1_TaskAttemptRef, _rivulet_v1_TaskAttemptRef__Output>
      TaskMetrics: MessageTypeDefinition<_rivulet_v1_TaskMetrics, _rivulet_v1_TaskMetrics__Output>
      TaskResult: MessageTypeDefinition<_rivulet_v1_TaskResult, _rivulet_v1_TaskResult__Output>
      TaskResults: MessageTypeDefinition<_rivulet_v1_TaskResults, _rivulet_v1_TaskResults__Output>
      TaskSpec: MessageTypeDefinition<_rivulet_v1_TaskSpec, _rivulet_v1_TaskSpec__Output>
    }
  }
}

