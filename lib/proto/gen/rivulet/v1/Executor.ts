// Original file: proto/rivulet/v1/executor.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DropBlocksRequest as _rivulet_v1_DropBlocksRequest, DropBlocksRequest__Output as _rivulet_v1_DropBlocksRequest__Output } from '../../rivulet/v1/DropBlocksRequest.js';
import type { DropBlocksResponse as _rivulet_v1_DropBlocksResponse, DropBlocksResponse__Output as _rivulet_v1_DropBlocksResponse__Output } from '../../rivulet/v1/DropBlocksResponse.js';
import type { FetchBlocksRequest as _rivulet_v1_FetchBlocksRequest, FetchBlocksRequest__Output as _rivulet_v1_FetchBlocksRequest__Output } from '../../rivulet/v1/FetchBlocksRequest.js';
import type { FetchedBlock as _rivulet_v1_FetchedBlock, FetchedBlock__Output as _rivulet_v1_FetchedBlock__Output } from '../../rivulet/v1/FetchedBlock.js';
import type { IdentifyRequest as _rivulet_v1_IdentifyRequest, IdentifyRequest__Output as _rivulet_v1_IdentifyRequest__Output } from '../../rivulet/v1/IdentifyRequest.js';
import type { IdentifyResponse as _rivulet_v1_IdentifyResponse, IdentifyResponse__Output as _rivulet_v1_IdentifyResponse__Output } from '../../rivulet/v1/IdentifyResponse.js';
import type { KillTasksRequest as _rivulet_v1_KillTasksRequest, KillTasksRequest__Output as _rivulet_v1_KillTasksRequest__Output } from '../../rivulet/v1/KillTasksRequest.js';
import type { KillTasksResponse as _rivulet_v1_KillTasksResponse, KillTasksResponse__Output as _rivulet_v1_KillTasksResponse__Output } from '../../rivulet/v1/KillTasksResponse.js';
import type { LoadJobRequest as _rivulet_v1_LoadJobRequest, LoadJobRequest__Output as _rivulet_v1_LoadJobRequest__Output } from '../../rivulet/v1/LoadJobRequest.js';
import type { LoadJobResponse as _rivulet_v1_LoadJobResponse, LoadJobResponse__Output as _rivulet_v1_LoadJobResponse__Output } from '../../rivulet/v1/LoadJobResponse.js';
import type { PushBlocksRequest as _rivulet_v1_PushBlocksRequest, PushBlocksRequest__Output as _rivulet_v1_PushBlocksRequest__Output } from '../../rivulet/v1/PushBlocksRequest.js';
import type { PushBlocksResponse as _rivulet_v1_PushBlocksResponse, PushBlocksResponse__Output as _rivulet_v1_PushBlocksResponse__Output } from '../../rivulet/v1/PushBlocksResponse.js';
import type { PutBlockRequest as _rivulet_v1_PutBlockRequest, PutBlockRequest__Output as _rivulet_v1_PutBlockRequest__Output } from '../../rivulet/v1/PutBlockRequest.js';
import type { PutBlockResponse as _rivulet_v1_PutBlockResponse, PutBlockResponse__Output as _rivulet_v1_PutBlockResponse__Output } from '../../rivulet/v1/PutBlockResponse.js';
import type { ReplicateBlocksRequest as _rivulet_v1_ReplicateBlocksRequest, ReplicateBlocksRequest__Output as _rivulet_v1_ReplicateBlocksRequest__Output } from '../../rivulet/v1/ReplicateBlocksRequest.js';
import type { ReplicateBlocksResponse as _rivulet_v1_ReplicateBlocksResponse, ReplicateBlocksResponse__Output as _rivulet_v1_ReplicateBlocksResponse__Output } from '../../rivulet/v1/ReplicateBlocksResponse.js';
import type { RunTasksRequest as _rivulet_v1_RunTasksRequest, RunTasksRequest__Output as _rivulet_v1_RunTasksRequest__Output } from '../../rivulet/v1/RunTasksRequest.js';
import type { TaskResult as _rivulet_v1_TaskResult, TaskResult__Output as _rivulet_v1_TaskResult__Output } from '../../rivulet/v1/TaskResult.js';
import type { TaskResults as _rivulet_v1_TaskResults, TaskResults__Output as _rivulet_v1_TaskResults__Output } from '../../rivulet/v1/TaskResults.js';

export interface ExecutorClient extends grpc.Client {
  /**
   * Drop blocks no batch can reach any more. Unknown ids are ignored.
   */
  DropBlocks(argument: _rivulet_v1_DropBlocksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_DropBlocksResponse__Output>): grpc.ClientUnaryCall;
  DropBlocks(argument: _rivulet_v1_DropBlocksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_DropBlocksResponse__Output>): grpc.ClientUnaryCall;
  DropBlocks(argument: _rivulet_v1_DropBlocksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_DropBlocksResponse__Output>): grpc.ClientUnaryCall;
  DropBlocks(argument: _rivulet_v1_DropBlocksRequest, callback: grpc.requestCallback<_rivulet_v1_DropBlocksResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Drop blocks no batch can reach any more. Unknown ids are ignored.
   */
  dropBlocks(argument: _rivulet_v1_DropBlocksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_DropBlocksResponse__Output>): grpc.ClientUnaryCall;
  dropBlocks(argument: _rivulet_v1_DropBlocksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_DropBlocksResponse__Output>): grpc.ClientUnaryCall;
  dropBlocks(argument: _rivulet_v1_DropBlocksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_DropBlocksResponse__Output>): grpc.ClientUnaryCall;
  dropBlocks(argument: _rivulet_v1_DropBlocksRequest, callback: grpc.requestCallback<_rivulet_v1_DropBlocksResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Read blocks (input blocks, shuffle buckets, cached partitions) held here,
   * in the requested order, each as one response or, when larger than a
   * message, as consecutive slices (FetchedBlock). NOT_FOUND names the first
   * missing id.
   */
  FetchBlocks(argument: _rivulet_v1_FetchBlocksRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_FetchedBlock__Output>;
  FetchBlocks(argument: _rivulet_v1_FetchBlocksRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_FetchedBlock__Output>;
  /**
   * Read blocks (input blocks, shuffle buckets, cached partitions) held here,
   * in the requested order, each as one response or, when larger than a
   * message, as consecutive slices (FetchedBlock). NOT_FOUND names the first
   * missing id.
   */
  fetchBlocks(argument: _rivulet_v1_FetchBlocksRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_FetchedBlock__Output>;
  fetchBlocks(argument: _rivulet_v1_FetchBlocksRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_FetchedBlock__Output>;
  
  /**
   * Which executor answers here, and which incarnation of it: the scheduler
   * asks an executor it believes ALIVE before it accepts a heartbeat claiming
   * that executor restarted (a forged one would evict a live executor).
   */
  Identify(argument: _rivulet_v1_IdentifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_IdentifyResponse__Output>): grpc.ClientUnaryCall;
  Identify(argument: _rivulet_v1_IdentifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_IdentifyResponse__Output>): grpc.ClientUnaryCall;
  Identify(argument: _rivulet_v1_IdentifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_IdentifyResponse__Output>): grpc.ClientUnaryCall;
  Identify(argument: _rivulet_v1_IdentifyRequest, callback: grpc.requestCallback<_rivulet_v1_IdentifyResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Which executor answers here, and which incarnation of it: the scheduler
   * asks an executor it believes ALIVE before it accepts a heartbeat claiming
   * that executor restarted (a forged one would evict a live executor).
   */
  identify(argument: _rivulet_v1_IdentifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_IdentifyResponse__Output>): grpc.ClientUnaryCall;
  identify(argument: _rivulet_v1_IdentifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_IdentifyResponse__Output>): grpc.ClientUnaryCall;
  identify(argument: _rivulet_v1_IdentifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_IdentifyResponse__Output>): grpc.ClientUnaryCall;
  identify(argument: _rivulet_v1_IdentifyRequest, callback: grpc.requestCallback<_rivulet_v1_IdentifyResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Best-effort cancel (a losing speculative copy, a stopped job).
   */
  KillTasks(argument: _rivulet_v1_KillTasksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_KillTasksResponse__Output>): grpc.ClientUnaryCall;
  KillTasks(argument: _rivulet_v1_KillTasksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_KillTasksResponse__Output>): grpc.ClientUnaryCall;
  KillTasks(argument: _rivulet_v1_KillTasksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_KillTasksResponse__Output>): grpc.ClientUnaryCall;
  KillTasks(argument: _rivulet_v1_KillTasksRequest, callback: grpc.requestCallback<_rivulet_v1_KillTasksResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Best-effort cancel (a losing speculative copy, a stopped job).
   */
  killTasks(argument: _rivulet_v1_KillTasksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_KillTasksResponse__Output>): grpc.ClientUnaryCall;
  killTasks(argument: _rivulet_v1_KillTasksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_KillTasksResponse__Output>): grpc.ClientUnaryCall;
  killTasks(argument: _rivulet_v1_KillTasksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_KillTasksResponse__Output>): grpc.ClientUnaryCall;
  killTasks(argument: _rivulet_v1_KillTasksRequest, callback: grpc.requestCallback<_rivulet_v1_KillTasksResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Make a job's bundle available to this executor's task workers. Idempotent
   * by bundle_hash. INVALID_ARGUMENT when the hash does not match the code.
   */
  LoadJob(argument: _rivulet_v1_LoadJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_LoadJobResponse__Output>): grpc.ClientUnaryCall;
  LoadJob(argument: _rivulet_v1_LoadJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_LoadJobResponse__Output>): grpc.ClientUnaryCall;
  LoadJob(argument: _rivulet_v1_LoadJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_LoadJobResponse__Output>): grpc.ClientUnaryCall;
  LoadJob(argument: _rivulet_v1_LoadJobRequest, callback: grpc.requestCallback<_rivulet_v1_LoadJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Make a job's bundle available to this executor's task workers. Idempotent
   * by bundle_hash. INVALID_ARGUMENT when the hash does not match the code.
   */
  loadJob(argument: _rivulet_v1_LoadJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_LoadJobResponse__Output>): grpc.ClientUnaryCall;
  loadJob(argument: _rivulet_v1_LoadJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_LoadJobResponse__Output>): grpc.ClientUnaryCall;
  loadJob(argument: _rivulet_v1_LoadJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_LoadJobResponse__Output>): grpc.ClientUnaryCall;
  loadJob(argument: _rivulet_v1_LoadJobRequest, callback: grpc.requestCallback<_rivulet_v1_LoadJobResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Copies of shuffle buckets pushed here by the map task that wrote them,
   * because a reduce task reading them is planned on this executor
   * (ShuffleWrite.push): the reducer then finds them local instead of
   * fetching each from its map's executor. Idempotent by block id (bucket
   * ids are deterministic). RESOURCE_EXHAUSTED when the store cannot make
   * room; the pusher then leaves the bucket to be fetched.
   */
  PushBlocks(argument: _rivulet_v1_PushBlocksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_PushBlocksResponse__Output>): grpc.ClientUnaryCall;
  PushBlocks(argument: _rivulet_v1_PushBlocksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_PushBlocksResponse__Output>): grpc.ClientUnaryCall;
  PushBlocks(argument: _rivulet_v1_PushBlocksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_PushBlocksResponse__Output>): grpc.ClientUnaryCall;
  PushBlocks(argument: _rivulet_v1_PushBlocksRequest, callback: grpc.requestCallback<_rivulet_v1_PushBlocksResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Copies of shuffle buckets pushed here by the map task that wrote them,
   * because a reduce task reading them is planned on this executor
   * (ShuffleWrite.push): the reducer then finds them local instead of
   * fetching each from its map's executor. Idempotent by block id (bucket
   * ids are deterministic). RESOURCE_EXHAUSTED when the store cannot make
   * room; the pusher then leaves the bucket to be fetched.
   */
  pushBlocks(argument: _rivulet_v1_PushBlocksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_PushBlocksResponse__Output>): grpc.ClientUnaryCall;
  pushBlocks(argument: _rivulet_v1_PushBlocksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_PushBlocksResponse__Output>): grpc.ClientUnaryCall;
  pushBlocks(argument: _rivulet_v1_PushBlocksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_PushBlocksResponse__Output>): grpc.ClientUnaryCall;
  pushBlocks(argument: _rivulet_v1_PushBlocksRequest, callback: grpc.requestCallback<_rivulet_v1_PushBlocksResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Store a block (an input block from the receiver). Idempotent by block_id.
   * RESOURCE_EXHAUSTED when the block store cannot make room.
   */
  PutBlock(argument: _rivulet_v1_PutBlockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_PutBlockResponse__Output>): grpc.ClientUnaryCall;
  PutBlock(argument: _rivulet_v1_PutBlockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_PutBlockResponse__Output>): grpc.ClientUnaryCall;
  PutBlock(argument: _rivulet_v1_PutBlockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_PutBlockResponse__Output>): grpc.ClientUnaryCall;
  PutBlock(argument: _rivulet_v1_PutBlockRequest, callback: grpc.requestCallback<_rivulet_v1_PutBlockResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Store a block (an input block from the receiver). Idempotent by block_id.
   * RESOURCE_EXHAUSTED when the block store cannot make room.
   */
  putBlock(argument: _rivulet_v1_PutBlockRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_PutBlockResponse__Output>): grpc.ClientUnaryCall;
  putBlock(argument: _rivulet_v1_PutBlockRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_PutBlockResponse__Output>): grpc.ClientUnaryCall;
  putBlock(argument: _rivulet_v1_PutBlockRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_PutBlockResponse__Output>): grpc.ClientUnaryCall;
  putBlock(argument: _rivulet_v1_PutBlockRequest, callback: grpc.requestCallback<_rivulet_v1_PutBlockResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Copy blocks from peers into this executor's store: re-replication of input
   * blocks that lost a replica with a lost executor. Idempotent by block id.
   * UNAVAILABLE naming the source when a copy cannot be fetched.
   */
  ReplicateBlocks(argument: _rivulet_v1_ReplicateBlocksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ReplicateBlocksResponse__Output>): grpc.ClientUnaryCall;
  ReplicateBlocks(argument: _rivulet_v1_ReplicateBlocksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_ReplicateBlocksResponse__Output>): grpc.ClientUnaryCall;
  ReplicateBlocks(argument: _rivulet_v1_ReplicateBlocksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ReplicateBlocksResponse__Output>): grpc.ClientUnaryCall;
  ReplicateBlocks(argument: _rivulet_v1_ReplicateBlocksRequest, callback: grpc.requestCallback<_rivulet_v1_ReplicateBlocksResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Copy blocks from peers into this executor's store: re-replication of input
   * blocks that lost a replica with a lost executor. Idempotent by block id.
   * UNAVAILABLE naming the source when a copy cannot be fetched.
   */
  replicateBlocks(argument: _rivulet_v1_ReplicateBlocksRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ReplicateBlocksResponse__Output>): grpc.ClientUnaryCall;
  replicateBlocks(argument: _rivulet_v1_ReplicateBlocksRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rivulet_v1_ReplicateBlocksResponse__Output>): grpc.ClientUnaryCall;
  replicateBlocks(argument: _rivulet_v1_ReplicateBlocksRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rivulet_v1_ReplicateBlocksResponse__Output>): grpc.ClientUnaryCall;
  replicateBlocks(argument: _rivulet_v1_ReplicateBlocksRequest, callback: grpc.requestCallback<_rivulet_v1_ReplicateBlocksResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Run tasks; one TaskResult per task is streamed back as each finishes
   * (a result too large for one message as consecutive slices, TaskResult).
   * Tasks beyond the free slots queue here, up to slots × taskQueueDepth in
   * all; a task beyond that is answered at once with queue_full.
   */
  RunTasks(argument: _rivulet_v1_RunTasksRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_TaskResult__Output>;
  RunTasks(argument: _rivulet_v1_RunTasksRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_TaskResult__Output>;
  /**
   * Run tasks; one TaskResult per task is streamed back as each finishes
   * (a result too large for one message as consecutive slices, TaskResult).
   * Tasks beyond the free slots queue here, up to slots × taskQueueDepth in
   * all; a task beyond that is answered at once with queue_full.
   */
  runTasks(argument: _rivulet_v1_RunTasksRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_TaskResult__Output>;
  runTasks(argument: _rivulet_v1_RunTasksRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_rivulet_v1_TaskResult__Output>;
  
  /**
   * The scheduler's long-lived task channel to this executor incarnation:
   * each request launches a packed group of tasks (as RunTasks does), and the
   * results come back packed — every result that finished in one turn of the
   * executor's event loop in one message — so a steady flow of tiny tasks
   * costs no new call, no headers and one message per round, not per task.
   * Tasks launched on a stream that breaks before they report are the
   * scheduler's to run again (as with a broken RunTasks call).
   */
  TaskStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_rivulet_v1_RunTasksRequest, _rivulet_v1_TaskResults__Output>;
  TaskStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_rivulet_v1_RunTasksRequest, _rivulet_v1_TaskResults__Output>;
  /**
   * The scheduler's long-lived task channel to this executor incarnation:
   * each request launches a packed group of tasks (as RunTasks does), and the
   * results come back packed — every result that finished in one turn of the
   * executor's event loop in one message — so a steady flow of tiny tasks
   * costs no new call, no headers and one message per round, not per task.
   * Tasks launched on a stream that breaks before they report are the
   * scheduler's to run again (as with a broken RunTasks call).
   */
  taskStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_rivulet_v1_RunTasksRequest, _rivulet_v1_TaskResults__Output>;
  taskStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_rivulet_v1_RunTasksRequest, _rivulet_v1_TaskResults__Output>;
  
}

export interface ExecutorHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Drop blocks no batch can reach any more. Unknown ids are ignored.
   */
  DropBlocks: grpc.handleUnaryCall<_rivulet_v1_DropBlocksRequest__Output, _rivulet_v1_DropBlocksResponse>;
  
  /**
   * Read blocks (input blocks, shuffle buckets, cached partitions) held here,
   * in the requested order, each as one response or, when larger than a
   * message, as consecutive slices (FetchedBlock). NOT_FOUND names the first
   * missing id.
   */
  FetchBlocks: grpc.handleServerStreamingCall<_rivulet_v1_FetchBlocksRequest__Output, _rivulet_v1_FetchedBlock>;
  
  /**
   * Which executor answers here, and which incarnation of it: the scheduler
   * asks an executor it believes ALIVE before it accepts a heartbeat claiming
   * that executor restarted (a forged one would evict a live executor).
   */
  Identify: grpc.handleUnaryCall<_rivulet_v1_IdentifyRequest__Output, _rivulet_v1_IdentifyResponse>;
  
  /**
   * Best-effort cancel (a losing speculative copy, a stopped job).
   */
  KillTasks: grpc.handleUnaryCall<_rivulet_v1_KillTasksRequest__Output, _rivulet_v1_KillTasksResponse>;
  
  /**
   * Make a job's bundle available to this executor's task workers. Idempotent
   * by bundle_hash. INVALID_ARGUMENT when the hash does not match the code.
   */
  LoadJob: grpc.handleUnaryCall<_rivulet_v1_LoadJobRequest__Output, _rivulet_v1_LoadJobResponse>;
  
  /**
   * Copies of shuffle buckets pushed here by the map task that wrote them,
   * because a reduce task reading them is planned on this executor
   * (ShuffleWrite.push): the reducer then finds them local instead of
   * fetching each from its map's executor. Idempotent by block id (bucket
   * ids are deterministic). RESOURCE_EXHAUSTED when the store cannot make
   * room; the pusher then leaves the bucket to be fetched.
   */
  PushBlocks: grpc.handleUnaryCall<_rivulet_v1_PushBlocksRequest__Output, _rivulet_v1_PushBlocksResponse>;
  
  /**
   * Store a block (an input block from the receiver). Idempotent by block_id.
   * RESOURCE_EXHAUSTED when the block store cannot make room.
   */
  PutBlock: grpc.handleUnaryCall<_rivulet_v1_PutBlockRequest__Output, _rivulet_v1_PutBlockResponse>;
  
  /**
   * Copy blocks from peers into this executor's store: re-replication of input
   * blocks that lost a replica with a lost executor. Idempotent by block id.
   * UNAVAILABLE naming the source when a copy cannot be fetched.
   */
  ReplicateBlocks: grpc.handleUnaryCall<_rivulet_v1_ReplicateBlocksRequest__Output, _rivulet_v1_ReplicateBlocksResponse>;
  
  /**
   * Run tasks; one TaskResult per task is streamed back as each finishes
   * (a result too large for one message as consecutive slices, TaskResult).
   * Tasks beyond the free slots queue here, up to slots × taskQueueDepth in
   * all; a task beyond that is answered at once with queue_full.
   */
  RunTasks: grpc.handleServerStreamingCall<_rivulet_v1_RunTasksRequest__Output, _rivulet_v1_TaskResult>;
  
  /**
   * The scheduler's long-lived task channel to this executor incarnation:
   * each request launches a packed group of tasks (as RunTasks does), and the
   * results come back packed — every result that finished in one turn of the
   * executor's event loop in one message — so a steady flow of tiny tasks
   * costs no new call, no headers and one message per round, not per task.
   * Tasks launched on a stream that breaks before they report are the
   * scheduler's to run again (as with a broken RunTasks call).
   */
  TaskStream: grpc.handleBidiStreamingCall<_rivulet_v1_RunTasksRequest__Output, _rivulet_v1_TaskResults>;
  
}

export interface ExecutorDefinition extends grpc.ServiceDefinition {
  DropBlocks: MethodDefinition<_rivulet_v1_DropBlocksRequest, _rivulet_v1_DropBlocksResponse, _rivulet_v1_DropBlocksRequest__Output, _rivulet_v1_DropBlocksResponse__Output>
  FetchBlocks: MethodDefinition<_rivulet_v1_FetchBlocksRequest, _rivulet_v1_FetchedBlock, _rivulet_v1_FetchBlocksRequest__Output, _rivulet_v1_FetchedBlock__Output>
  Identify: MethodDefinition<_rivulet_v1_IdentifyRequest, _rivulet_v1_IdentifyResponse, _rivulet_v1_IdentifyRequest__Output, _rivulet_v1_IdentifyResponse__Output>
  KillTasks: MethodDefinition<_rivulet_v1_KillTasksRequest, _rivulet_v1_KillTasksResponse, _rivulet_v1_KillTasksRequest__Output, _rivulet_v1_KillTasksResponse__Output>
  LoadJob: MethodDefinition<_rivulet_v1_LoadJobRequest, _rivulet_v1_LoadJobResponse, _rivulet_v1_LoadJobRequest__Output, _rivulet_v1_LoadJobResponse__Output>
  PushBlocks: MethodDefinition<_rivulet_v1_PushBlocksRequest, _rivulet_v1_PushBlocksResponse, _rivulet_v1_PushBlocksRequest__Output, _rivulet_v1_PushBlocksResponse__Output>
  PutBlock: MethodDefinition<_rivulet_v1_PutBlockRequest, _rivulet_v1_PutBlockResponse, _rivulet_v1_PutBlockRequest__Output, _rivulet_v1_PutBlockResponse__Output>
  ReplicateBlocks: MethodDefinition<_rivulet_v1_ReplicateBlocksRequest, _rivulet_v1_ReplicateBlocksResponse, _rivulet_v1_ReplicateBlocksRequest__Output, _rivulet_v1_ReplicateBlocksResponse__Output>
  RunTasks: MethodDefinition<_rivulet_v1_RunTasksRequest, _rivulet_v1_TaskResult, _rivulet_v1_RunTasksRequest__Output, _rivulet_v1_TaskResult__Output>
  TaskStream: MethodDefinition<_rivulet_v1_RunTasksRequest, _rivulet_v1_TaskResults, _rivulet_v1_RunTasksRequest__Output, _rivulet_v1_TaskResults__Output>
}
