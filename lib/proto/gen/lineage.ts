import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { BatchLineage as _rivulet_v1_BatchLineage, BatchLineage__Output as _rivulet_v1_BatchLineage__Output } from './rivulet/v1/BatchLineage.js';
import type { BlockRef as _rivulet_v1_BlockRef, BlockRef__Output as _rivulet_v1_BlockRef__Output } from './rivulet/v1/BlockRef.js';
import type { Dataset as _rivulet_v1_Dataset, Dataset__Output as _rivulet_v1_Dataset__Output } from './rivulet/v1/Dataset.js';
import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from './rivulet/v1/DatasetRef.js';
import type { DropLocationsRequest as _rivulet_v1_DropLocationsRequest, DropLocationsRequest__Output as _rivulet_v1_DropLocationsRequest__Output } from './rivulet/v1/DropLocationsRequest.js';
import type { DropLocationsResponse as _rivulet_v1_DropLocationsResponse, DropLocationsResponse__Output as _rivulet_v1_DropLocationsResponse__Output } from './rivulet/v1/DropLocationsResponse.js';
import type { ExecutorRef as _rivulet_v1_ExecutorRef, ExecutorRef__Output as _rivulet_v1_ExecutorRef__Output } from './rivulet/v1/ExecutorRef.js';
import type { ForgetBatchesRequest as _rivulet_v1_ForgetBatchesRequest, ForgetBatchesRequest__Output as _rivulet_v1_ForgetBatchesRequest__Output } from './rivulet/v1/ForgetBatchesRequest.js';
import type { ForgetBatchesResponse as _rivulet_v1_ForgetBatchesResponse, ForgetBatchesResponse__Output as _rivulet_v1_ForgetBatchesResponse__Output } from './rivulet/v1/ForgetBatchesResponse.js';
import type { GetBatchRequest as _rivulet_v1_GetBatchRequest, GetBatchRequest__Output as _rivulet_v1_GetBatchRequest__Output } from './rivulet/v1/GetBatchRequest.js';
import type { GetStatsRequest as _rivulet_v1_GetStatsRequest, GetStatsRequest__Output as _rivulet_v1_GetStatsRequest__Output } from './rivulet/v1/GetStatsRequest.js';
import type { LineageClient as _rivulet_v1_LineageClient, LineageDefinition as _rivulet_v1_LineageDefinition } from './rivulet/v1/Lineage.js';
import type { LineageStats as _rivulet_v1_LineageStats, LineageStats__Output as _rivulet_v1_LineageStats__Output } from './rivulet/v1/LineageStats.js';
import type { Location as _rivulet_v1_Location, Location__Output as _rivulet_v1_Location__Output } from './rivulet/v1/Location.js';
import type { LostOnExecutorRequest as _rivulet_v1_LostOnExecutorRequest, LostOnExecutorRequest__Output as _rivulet_v1_LostOnExecutorRequest__Output } from './rivulet/v1/LostOnExecutorRequest.js';
import type { LostOnExecutorResponse as _rivulet_v1_LostOnExecutorResponse, LostOnExecutorResponse__Output as _rivulet_v1_LostOnExecutorResponse__Output } from './rivulet/v1/LostOnExecutorResponse.js';
import type { PartitionRef as _rivulet_v1_PartitionRef, PartitionRef__Output as _rivulet_v1_PartitionRef__Output } from './rivulet/v1/PartitionRef.js';
import type { PlanRebuildRequest as _rivulet_v1_PlanRebuildRequest, PlanRebuildRequest__Output as _rivulet_v1_PlanRebuildRequest__Output } from './rivulet/v1/PlanRebuildRequest.js';
import type { PlanRebuildResponse as _rivulet_v1_PlanRebuildResponse, PlanRebuildResponse__Output as _rivulet_v1_PlanRebuildResponse__Output } from './rivulet/v1/PlanRebuildResponse.js';
import type { RebuildTask as _rivulet_v1_RebuildTask, RebuildTask__Output as _rivulet_v1_RebuildTask__Output } from './rivulet/v1/RebuildTask.js';
import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from './rivulet/v1/RecordBatch.js';
import type { RecordLocationsRequest as _rivulet_v1_RecordLocationsRequest, RecordLocationsRequest__Output as _rivulet_v1_RecordLocationsRequest__Output } from './rivulet/v1/RecordLocationsRequest.js';
import type { RecordLocationsResponse as _rivulet_v1_RecordLocationsResponse, RecordLocationsResponse__Output as _rivulet_v1_RecordLocationsResponse__Output } from './rivulet/v1/RecordLocationsResponse.js';
import type { RegisterBatchRequest as _rivulet_v1_RegisterBatchRequest, RegisterBatchRequest__Output as _rivulet_v1_RegisterBatchRequest__Output } from './rivulet/v1/RegisterBatchRequest.js';
import type { RegisterBatchResponse as _rivulet_v1_RegisterBatchResponse, RegisterBatchResponse__Output as _rivulet_v1_RegisterBatchResponse__Output } from './rivulet/v1/RegisterBatchResponse.js';
import type { RemoveExecutorRequest as _rivulet_v1_RemoveExecutorRequest, RemoveExecutorRequest__Output as _rivulet_v1_RemoveExecutorRequest__Output } from './rivulet/v1/RemoveExecutorRequest.js';
import type { RemoveExecutorResponse as _rivulet_v1_RemoveExecutorResponse, RemoveExecutorResponse__Output as _rivulet_v1_RemoveExecutorResponse__Output } from './rivulet/v1/RemoveExecutorResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  rivulet: {
    v1: {
      BatchLineage: MessageTypeDefinition<_rivulet_v1_BatchLineage, _rivulet_v1_BatchLineage__Output>
      BlockRef: MessageTypeDefinition<_rivulet_v1_BlockRef, _rivulet_v1_BlockRef__Output>
      Dataset: MessageTypeDefinition<_rivulet_v1_Dataset, _rivulet_v1_Dataset__Output>
      DatasetRef: MessageTypeDefinition<_rivulet_v1_DatasetRef, _rivulet_v1_DatasetRef__Output>
      DependencyKind: EnumTypeDefinition
      DropLocationsRequest: MessageTypeDefinition<_rivulet_v1_DropLocationsRequest, _rivulet_v1_DropLocationsRequest__Output>
      DropLocationsResponse: MessageTypeDefinition<_rivulet_v1_DropLocationsResponse, _rivulet_v1_DropLocationsResponse__Output>
      ExecutorRef: MessageTypeDefinition<_rivulet_v1_ExecutorRef, _rivulet_v1_ExecutorRef__Output>
      ForgetBatchesRequest: MessageTypeDefinition<_rivulet_v1_ForgetBatchesRequest, _rivulet_v1_ForgetBatchesRequest__Output>
      ForgetBatchesResponse: MessageTypeDefinition<_rivulet_v1_ForgetBatchesResponse, _rivulet_v1_ForgetBatchesResponse__Output>
      GetBatchRequest: MessageTypeDefinition<_rivulet_v1_GetBatchRequest, _rivulet_v1_GetBatchRequest__Output>
      GetStatsRequest: MessageTypeDefinition<_rivulet_v1_GetStatsRequest, _rivulet_v1_GetStatsRequest__Output>
      Lineage: SubtypeConstructor<typeof grpc.Client, _rivulet_v1_LineageClient> & { service: _rivulet_v1_LineageDefinition }
      LineageStats: MessageTypeDefinition<_rivulet_v1_LineageStats, _rivulet_v1_LineageStats__Output>
      Location: MessageTypeDefinition<_rivulet_v1_Location, _rivulet_v1_Location__Output>
      LocationKind: EnumTypeDefinition
      LostOnExecutorRequest: MessageTypeDefinition<_rivulet_v1_LostOnExecutorRequest, _rivulet_v1_LostOnExecutorRequest__Output>
      LostOnExecutorResponse: MessageTypeDefinition<_rivulet_v1_LostOnExecutorResponse, _rivulet_v1_LostOnExecutorResponse__Output>
      PartitionRef: MessageTypeDefinition<_rivulet_v1_PartitionRef, _rivulet_v1_PartitionRef__Output>
      PlanRebuildRequest: MessageTypeDefinition<_rivulet_v1_PlanRebuildRequest, _rivulet_v1_PlanRebuildRequest__Output>
      PlanRebuildResponse: MessageTypeDefinition<_rivulet_v1_PlanRebuildResponse, _rivulet_v1_PlanRebuildResponse__Output>
      RebuildTask: MessageTypeDefinition<_rivulet_v1_RebuildTask, _rivulet_v1_RebuildTask__Output>
      RecordBatch: MessageTypeDefinition<_rivulet_v1_RecordBatch, _rivulet_v1_RecordBatch__Output>
      RecordLocationsRequest: MessageTypeDefinition<_rivulet_v1_RecordLocationsRequest, _rivulet_v1_RecordLocationsRequest__Output>
      RecordLocationsResponse: MessageTypeDefinition<_rivulet_v1_RecordLocationsResponse, _rivulet_v1_RecordLocationsResponse__Output>
      RegisterBatchRequest: MessageTypeDefinition<_rivulet_v1_RegisterBatchRequest, _rivulet_v1_RegisterBatchRequest__Output>
      RegisterBatchResponse: MessageTypeDefinition<_rivulet_v1_RegisterBatchResponse, _rivulet_v1_RegisterBatchResponse__Output>
      RemoveExecutorRequest: MessageTypeDefinition<_rivulet_v1_RemoveExecutorRequest, _rivulet_v1_RemoveExecutorRequest__Output>
      RemoveExecutorResponse: MessageTypeDefinition<_rivulet_v1_RemoveExecutorResponse, _rivulet_v1_RemoveExecutorResponse__Output>
    }
  }
}

