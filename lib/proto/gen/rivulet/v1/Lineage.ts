// Original file: proto/rivulet/v1/lineage.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BatchLineage as _rivulet_v1_BatchLineage, BatchLineage__Output as _rivulet_v1_BatchLineage__Output } from '../../rivulet/v1/BatchLineage.js';
import type { DropLocationsRequest as _rivulet_v1_DropLocationsRequest, DropLocationsRequest__Output as _rivulet_v1_DropLocationsRequest__Output } from '../../rivulet/v1/DropLocationsRequest.js';
import type { DropLocationsResponse as _rivulet_v1_DropLocationsResponse, DropLocationsResponse__Output as _rivulet_v1_DropLocationsResponse__Output } from '../../rivulet/v1/DropLocationsResponse.js';
import type { ForgetBatchesRequest as _rivulet_v1_ForgetBatchesRequest, ForgetBatchesRequest__Output as _rivulet_v1_ForgetBatchesRequest__Output } from '../../rivulet/v1/ForgetBatchesRequest.js';
import type { ForgetBatchesResponse as _rivulet_v1_ForgetBatchesResponse, ForgetBatchesResponse__Output as _rivulet_v1_ForgetBatchesResponse__Output } from '../../rivulet/v1/ForgetBatchesResponse.js';
import type { GetBatchRequest as _rivulet_v1_GetBatchRequest, GetBatchRequest__Output as _rivulet_v1_GetBatchRequest__Output } from '../../rivulet/v1/GetBatchRequest.js';
import type { GetStatsRequest as _rivulet_v1_GetStatsRequest, GetStatsRequest__Output as _rivulet_v1_GetStatsRequest__Output } from '../../rivulet/v1/GetStatsRequest.js';
import type { LineageStats as _rivulet_v1_LineageStats, LineageStats__Output as _rivulet_v1_LineageStats__Output } from '../../rivulet/v1/LineageStats.js';
import type { LostOnExecutorRequest as _rivulet_v1_LostOnExecutorRequest, LostOnExecutorRequest__Output as _rivulet_v1_LostOnExecutorRequest__Output } from '../../rivulet/v1/LostOnExecutorRequest.js';
import type { LostOnExecutorResponse as _rivulet_v1_LostOnExecutorResponse, LostOnExecutorResponse__Output as _rivulet_v1_LostOnExecutorResponse__Output } from '../../rivulet/v1/LostOnExecutorResponse.js';
import type { PlanRebuildRequest as _rivulet_v1_PlanRebuildRequest, PlanRebuildRequest__Output as _rivulet_v1_PlanRebuildRequest__Output } from '../../rivulet/v1/PlanRebuildRequest.js';
import type { PlanRebuildResponse as _rivulet_v1_PlanRebuildResponse, PlanRebuildResponse__Output as _rivulet_v1_PlanRebuildResponse__Output } from '../../rivulet/v1/PlanRebuildResponse.js';
import type { RecordLocationsRequest as _rivulet_v1_RecordLocationsRequest, RecordLocationsRequest__Output as _rivulet_v1_RecordLocationsRequest__Output } from '../../rivulet/v1/RecordLocationsRequest.js';
import type { RecordLocationsResponse as _rivulet_v1_RecordLocationsResponse, RecordLocationsResponse__Output as _rivulet_v1_RecordLocationsResponse__Output } from '../../rivulet/v1/RecordLocationsResponse.js';
import type { RegisterBatchRequest as _rivulet_v1_RegisterBatchRequest, RegisterBatchRequest__Output as _rivulet_v1_RegisterBatchRequest__Output } from '../../rivulet/v1/RegisterBatchRequest.js';
import type { RegisterBatchResponse as _rivulet_v1_RegisterBatchResponse, RegisterBatchResponse__Output as _rivulet_v1_RegisterBatchResponse__Output } from '../../rivulet/v1/RegisterBatchResponse.js';
import type { RemoveExecutorRequest as _rivulet_v1_RemoveExecutorRequest, RemoveExecutorRequest__Output as _rivulet_v1_RemoveExecutorRequest__Output } from '../../rivulet/v1/RemoveExecutorRequest.js';
import type { RemoveExecutorResponse as _rivulet_v1_RemoveExecutorResponse, RemoveExecutorResponse__Output as _rivulet_v1_RemoveExecutorResponse__Output } from '../../rivulet/v1/RemoveExecutorResponse.js';

export interface LineageClient extends grpc.Client {
  /**
   * Forget pieces that were dropped on purpose (a cached partition no window
   * or state reads any more): unlike a loss they are not expected anywhere,
   * so PlanRebuild walks past them. Matched by (kind, dataset, partition,
   * block_id); executor_ids and bytes are ignored; unknown pieces and batches
   * are ignored.
   */
  DropLocations(argument: _rivulet_v1_DropLocationsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_DropLocationsResponse__Output>): grpc.ClientUnaryCall;
  DropLocations(argument: _rivulet_v1_DropLocationsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_DropLocationsResponse__Output>): grpc.ClientUnaryCall;
  DropLocations(argument: _rivulet_v1_DropLocationsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_DropLocationsResponse__Output>): grpc.ClientUnaryCall;
  DropLocations(argument: _rivulet_v1_DropLocationsRequest, callback: grpc.requestCallback<_rivulet_v1_DropLocationsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Forget pieces that were dropped on purpose (a cached partition no window
   * or state reads any more): unlike a loss they are not expected anywhere,
   * so PlanRebuild walks past them. Matched by (kind, dataset, partition,
   * block_id); executor_ids and bytes are ignored; unknown pieces and batches
   * are ignored.
   */
  dropLocations(argument: _rivulet_v1_DropLocationsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_DropLocationsResponse__Output>): grpc.ClientUnaryCall;
  dropLocations(argument: _rivulet_v1_DropLocationsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_DropLocationsResponse__Output>): grpc.ClientUnaryCall;
  dropLocations(argument: _rivulet_v1_DropLocationsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_DropLocationsResponse__Output>): grpc.ClientUnaryCall;
  dropLocations(argument: _rivulet_v1_DropLocationsRequest, callback: grpc.requestCallback<_rivulet_v1_DropLocationsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Forget batches no window or state can reach any more.
   */
  ForgetBatches(argument: _rivulet_v1_ForgetBatchesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ForgetBatchesResponse__Output>): grpc.ClientUnaryCall;
  ForgetBatches(argument: _rivulet_v1_ForgetBatchesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_ForgetBatchesResponse__Output>): grpc.ClientUnaryCall;
  ForgetBatches(argument: _rivulet_v1_ForgetBatchesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ForgetBatchesResponse__Output>): grpc.ClientUnaryCall;
  ForgetBatches(argument: _rivulet_v1_ForgetBatchesRequest, callback: grpc.requestCallback<_rivulet_v1_ForgetBatchesResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Forget batches no window or state can reach any more.
   */
  forgetBatches(argument: _rivulet_v1_ForgetBatchesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ForgetBatchesResponse__Output>): grpc.ClientUnaryCall;
  forgetBatches(argument: _rivulet_v1_ForgetBatchesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_ForgetBatchesResponse__Output>): grpc.ClientUnaryCall;
  forgetBatches(argument: _rivulet_v1_ForgetBatchesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ForgetBatchesResponse__Output>): grpc.ClientUnaryCall;
  forgetBatches(argument: _rivulet_v1_ForgetBatchesRequest, callback: grpc.requestCallback<_rivulet_v1_ForgetBatchesResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Everything known about one batch. NOT_FOUND when it is not (or no longer) known.
   */
  GetBatch(argument: _rivulet_v1_GetBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_BatchLineage__Output>): grpc.ClientUnaryCall;
  GetBatch(argument: _rivulet_v1_GetBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_BatchLineage__Output>): grpc.ClientUnaryCall;
  GetBatch(argument: _rivulet_v1_GetBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_BatchLineage__Output>): grpc.ClientUnaryCall;
  GetBatch(argument: _rivulet_v1_GetBatchRequest, callback: grpc.requestCallback<_rivulet_v1_BatchLineage__Output>): grpc.ClientUnaryCall;
  /**
   * Everything known about one batch. NOT_FOUND when it is not (or no longer) known.
   */
  getBatch(argument: _rivulet_v1_GetBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_BatchLineage__Output>): grpc.ClientUnaryCall;
  getBatch(argument: _rivulet_v1_GetBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_BatchLineage__Output>): grpc.ClientUnaryCall;
  getBatch(argument: _rivulet_v1_GetBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_BatchLineage__Output>): grpc.ClientUnaryCall;
  getBatch(argument: _rivulet_v1_GetBatchRequest, callback: grpc.requestCallback<_rivulet_v1_BatchLineage__Output>): grpc.ClientUnaryCall;
  
  /**
   * Counts, for status and memory-boundedness checks.
   */
  GetStats(argument: _rivulet_v1_GetStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_LineageStats__Output>): grpc.ClientUnaryCall;
  GetStats(argument: _rivulet_v1_GetStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_LineageStats__Output>): grpc.ClientUnaryCall;
  GetStats(argument: _rivulet_v1_GetStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_LineageStats__Output>): grpc.ClientUnaryCall;
  GetStats(argument: _rivulet_v1_GetStatsRequest, callback: grpc.requestCallback<_rivulet_v1_LineageStats__Output>): grpc.ClientUnaryCall;
  /**
   * Counts, for status and memory-boundedness checks.
   */
  getStats(argument: _rivulet_v1_GetStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_LineageStats__Output>): grpc.ClientUnaryCall;
  getStats(argument: _rivulet_v1_GetStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_LineageStats__Output>): grpc.ClientUnaryCall;
  getStats(argument: _rivulet_v1_GetStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_LineageStats__Output>): grpc.ClientUnaryCall;
  getStats(argument: _rivulet_v1_GetStatsRequest, callback: grpc.requestCallback<_rivulet_v1_LineageStats__Output>): grpc.ClientUnaryCall;
  
  /**
   * What an executor's loss would take away: locations whose only replica is
   * there (lost) and those that still have another replica (under-replicated).
   */
  LostOnExecutor(argument: _rivulet_v1_LostOnExecutorRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_LostOnExecutorResponse__Output>): grpc.ClientUnaryCall;
  LostOnExecutor(argument: _rivulet_v1_LostOnExecutorRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_LostOnExecutorResponse__Output>): grpc.ClientUnaryCall;
  LostOnExecutor(argument: _rivulet_v1_LostOnExecutorRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_LostOnExecutorResponse__Output>): grpc.ClientUnaryCall;
  LostOnExecutor(argument: _rivulet_v1_LostOnExecutorRequest, callback: grpc.requestCallback<_rivulet_v1_LostOnExecutorResponse__Output>): grpc.ClientUnaryCall;
  /**
   * What an executor's loss would take away: locations whose only replica is
   * there (lost) and those that still have another replica (under-replicated).
   */
  lostOnExecutor(argument: _rivulet_v1_LostOnExecutorRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_LostOnExecutorResponse__Output>): grpc.ClientUnaryCall;
  lostOnExecutor(argument: _rivulet_v1_LostOnExecutorRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_LostOnExecutorResponse__Output>): grpc.ClientUnaryCall;
  lostOnExecutor(argument: _rivulet_v1_LostOnExecutorRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_LostOnExecutorResponse__Output>): grpc.ClientUnaryCall;
  lostOnExecutor(argument: _rivulet_v1_LostOnExecutorRequest, callback: grpc.requestCallback<_rivulet_v1_LostOnExecutorResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The minimal set of tasks that rebuilds the given partitions, walking
   * parents only until data that is still materialised somewhere.
   */
  PlanRebuild(argument: _rivulet_v1_PlanRebuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_PlanRebuildResponse__Output>): grpc.ClientUnaryCall;
  PlanRebuild(argument: _rivulet_v1_PlanRebuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_PlanRebuildResponse__Output>): grpc.ClientUnaryCall;
  PlanRebuild(argument: _rivulet_v1_PlanRebuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_PlanRebuildResponse__Output>): grpc.ClientUnaryCall;
  PlanRebuild(argument: _rivulet_v1_PlanRebuildRequest, callback: grpc.requestCallback<_rivulet_v1_PlanRebuildResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The minimal set of tasks that rebuilds the given partitions, walking
   * parents only until data that is still materialised somewhere.
   */
  planRebuild(argument: _rivulet_v1_PlanRebuildRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_PlanRebuildResponse__Output>): grpc.ClientUnaryCall;
  planRebuild(argument: _rivulet_v1_PlanRebuildRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_PlanRebuildResponse__Output>): grpc.ClientUnaryCall;
  planRebuild(argument: _rivulet_v1_PlanRebuildRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_PlanRebuildResponse__Output>): grpc.ClientUnaryCall;
  planRebuild(argument: _rivulet_v1_PlanRebuildRequest, callback: grpc.requestCallback<_rivulet_v1_PlanRebuildResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Record where partitions / shuffle outputs / blocks were materialised.
   */
  RecordLocations(argument: _rivulet_v1_RecordLocationsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RecordLocationsResponse__Output>): grpc.ClientUnaryCall;
  RecordLocations(argument: _rivulet_v1_RecordLocationsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_RecordLocationsResponse__Output>): grpc.ClientUnaryCall;
  RecordLocations(argument: _rivulet_v1_RecordLocationsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RecordLocationsResponse__Output>): grpc.ClientUnaryCall;
  RecordLocations(argument: _rivulet_v1_RecordLocationsRequest, callback: grpc.requestCallback<_rivulet_v1_RecordLocationsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Record where partitions / shuffle outputs / blocks were materialised.
   */
  recordLocations(argument: _rivulet_v1_RecordLocationsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RecordLocationsResponse__Output>): grpc.ClientUnaryCall;
  recordLocations(argument: _rivulet_v1_RecordLocationsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_RecordLocationsResponse__Output>): grpc.ClientUnaryCall;
  recordLocations(argument: _rivulet_v1_RecordLocationsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RecordLocationsResponse__Output>): grpc.ClientUnaryCall;
  recordLocations(argument: _rivulet_v1_RecordLocationsRequest, callback: grpc.requestCallback<_rivulet_v1_RecordLocationsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Record the datasets of one batch of one job. Idempotent: registering the
   * same batch again replaces nothing and returns ALREADY_EXISTS only when the
   * graph differs.
   */
  RegisterBatch(argument: _rivulet_v1_RegisterBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RegisterBatchResponse__Output>): grpc.ClientUnaryCall;
  RegisterBatch(argument: _rivulet_v1_RegisterBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_RegisterBatchResponse__Output>): grpc.ClientUnaryCall;
  RegisterBatch(argument: _rivulet_v1_RegisterBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RegisterBatchResponse__Output>): grpc.ClientUnaryCall;
  RegisterBatch(argument: _rivulet_v1_RegisterBatchRequest, callback: grpc.requestCallback<_rivulet_v1_RegisterBatchResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Record the datasets of one batch of one job. Idempotent: registering the
   * same batch again replaces nothing and returns ALREADY_EXISTS only when the
   * graph differs.
   */
  registerBatch(argument: _rivulet_v1_RegisterBatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RegisterBatchResponse__Output>): grpc.ClientUnaryCall;
  registerBatch(argument: _rivulet_v1_RegisterBatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_RegisterBatchResponse__Output>): grpc.ClientUnaryCall;
  registerBatch(argument: _rivulet_v1_RegisterBatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RegisterBatchResponse__Output>): grpc.ClientUnaryCall;
  registerBatch(argument: _rivulet_v1_RegisterBatchRequest, callback: grpc.requestCallback<_rivulet_v1_RegisterBatchResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Remove an executor from every location (it was lost).
   */
  RemoveExecutor(argument: _rivulet_v1_RemoveExecutorRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RemoveExecutorResponse__Output>): grpc.ClientUnaryCall;
  RemoveExecutor(argument: _rivulet_v1_RemoveExecutorRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_RemoveExecutorResponse__Output>): grpc.ClientUnaryCall;
  RemoveExecutor(argument: _rivulet_v1_RemoveExecutorRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RemoveExecutorResponse__Output>): grpc.ClientUnaryCall;
  RemoveExecutor(argument: _rivulet_v1_RemoveExecutorRequest, callback: grpc.requestCallback<_rivulet_v1_RemoveExecutorResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Remove an executor from every location (it was lost).
   */
  removeExecutor(argument: _rivulet_v1_RemoveExecutorRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RemoveExecutorResponse__Output>): grpc.ClientUnaryCall;
  removeExecutor(argument: _rivulet_v1_RemoveExecutorRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_RemoveExecutorResponse__Output>): grpc.ClientUnaryCall;
  removeExecutor(argument: _rivulet_v1_RemoveExecutorRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_RemoveExecutorResponse__Output>): grpc.ClientUnaryCall;
  removeExecutor(argument: _rivulet_v1_RemoveExecutorRequest, callback: grpc.requestCallback<_rivulet_v1_RemoveExecutorResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface LineageHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Forget pieces that were dropped on purpose (a cached partition no window
   * or state reads any more): unlike a loss they are not expected anywhere,
   * so PlanRebuild walks past them. Matched by (kind, dataset, partition,
   * block_id); executor_ids and bytes are ignored; unknown pieces and batches
   * are ignored.
   */
  DropLocations: grpc.handleUnaryCall<_rivulet_v1_DropLocationsRequest__Output, _rivulet_v1_DropLocationsResponse>;
  
  /**
   * Forget batches no window or state can reach any more.
   */
  ForgetBatches: grpc.handleUnaryCall<_rivulet_v1_ForgetBatchesRequest__Output, _rivulet_v1_ForgetBatchesResponse>;
  
  /**
   * Everything known about one batch. NOT_FOUND when it is not (or no longer) known.
   */
  GetBatch: grpc.handleUnaryCall<_rivulet_v1_GetBatchRequest__Output, _rivulet_v1_BatchLineage>;
  
  /**
   * Counts, for status and memory-boundedness checks.
   */
  GetStats: grpc.handleUnaryCall<_rivulet_v1_GetStatsRequest__Output, _rivulet_v1_LineageStats>;
  
  /**
   * What an executor's loss would take away: locations whose only replica is
   * there (lost) and those that still have another replica (under-replicated).
   */
  LostOnExecutor: grpc.handleUnaryCall<_rivulet_v1_LostOnExecutorRequest__Output, _rivulet_v1_LostOnExecutorResponse>;
  
  /**
   * The minimal set of tasks that rebuilds the given partitions, walking
   * parents only until data that is still materialised somewhere.
   */
  PlanRebuild: grpc.handleUnaryCall<_rivulet_v1_PlanRebuildRequest__Output, _rivulet_v1_PlanRebuildResponse>;
  
  /**
   * Record where partitions / shuffle outputs / blocks were materialised.
   */
  RecordLocations: grpc.handleUnaryCall<_rivulet_v1_RecordLocationsRequest__Output, _rivulet_v1_RecordLocationsResponse>;
  
  /**
   * Record the datasets of one batch of one job. Idempotent: registering the
   * same batch again replaces nothing and returns ALREADY_EXISTS only when the
   * graph differs.
   */
  RegisterBatch: grpc.handleUnaryCall<_rivulet_v1_RegisterBatchRequest__Output, _rivulet_v1_RegisterBatchResponse>;
  
  /**
   * Remove an executor from every location (it was lost).
   */
  RemoveExecutor: grpc.handleUnaryCall<_rivulet_v1_RemoveExecutorRequest__Output, _rivulet_v1_RemoveExecutorResponse>;
  
}

export interface LineageDefinition extends grpc.ServiceDefinition {
  DropLocations: MethodDefinition<_rivulet_v1_DropLocationsRequest, _rivulet_v1_DropLocationsResponse, _rivulet_v1_DropLocationsRequest__Output, _rivulet_v1_DropLocationsResponse__Output>
  ForgetBatches: MethodDefinition<_rivulet_v1_ForgetBatchesRequest, _rivulet_v1_ForgetBatchesResponse, _rivulet_v1_ForgetBatchesRequest__Output, _rivulet_v1_ForgetBatchesResponse__Output>
  GetBatch: MethodDefinition<_rivulet_v1_GetBatchRequest, _rivulet_v1_BatchLineage, _rivulet_v1_GetBatchRequest__Output, _rivulet_v1_BatchLineage__Output>
  GetStats: MethodDefinition<_rivulet_v1_GetStatsRequest, _rivulet_v1_LineageStats, _rivulet_v1_GetStatsRequest__Output, _rivulet_v1_LineageStats__Output>
  LostOnExecutor: MethodDefinition<_rivulet_v1_LostOnExecutorRequest, _rivulet_v1_LostOnExecutorResponse, _rivulet_v1_LostOnExecutorRequest__Output, _rivulet_v1_LostOnExecutorResponse__Output>
  PlanRebuild: MethodDefinition<_rivulet_v1_PlanRebuildRequest, _rivulet_v1_PlanRebuildResponse, _rivulet_v1_PlanRebuildRequest__Output, _rivulet_v1_PlanRebuildResponse__Output>
  RecordLocations: MethodDefinition<_rivulet_v1_RecordLocationsRequest, _rivulet_v1_RecordLocationsResponse, _rivulet_v1_RecordLocationsRequest__Output, _rivulet_v1_RecordLocationsResponse__Output>
  RegisterBatch: MethodDefinition<_rivulet_v1_RegisterBatchRequest, _rivulet_v1_RegisterBatchResponse, _rivulet_v1_RegisterBatchRequest__Output, _rivulet_v1_RegisterBatchResponse__Output>
  RemoveExecutor: MethodDefinition<_rivulet_v1_RemoveExecutorRequest, _rivulet_v1_RemoveExecutorResponse, _rivulet_v1_RemoveExecutorRequest__Output, _rivulet_v1_RemoveExecutorResponse__Output>
}
