import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { BlockRef as _rivulet_v1_BlockRef, BlockRef__Output as _rivulet_v1_BlockRef__Output } from './rivulet/v1/BlockRef.js';
import type { CommittedOutput as _rivulet_v1_CommittedOutput, CommittedOutput__Output as _rivulet_v1_CommittedOutput__Output } from './rivulet/v1/CommittedOutput.js';
import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from './rivulet/v1/DatasetRef.js';
import type { ExecutorRef as _rivulet_v1_ExecutorRef, ExecutorRef__Output as _rivulet_v1_ExecutorRef__Output } from './rivulet/v1/ExecutorRef.js';
import type { QueueInput as _rivulet_v1_QueueInput, QueueInput__Output as _rivulet_v1_QueueInput__Output } from './rivulet/v1/QueueInput.js';
import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from './rivulet/v1/RecordBatch.js';
import type { RunBatchRequest as _rivulet_v1_RunBatchRequest, RunBatchRequest__Output as _rivulet_v1_RunBatchRequest__Output } from './rivulet/v1/RunBatchRequest.js';
import type { RunBatchResponse as _rivulet_v1_RunBatchResponse, RunBatchResponse__Output as _rivulet_v1_RunBatchResponse__Output } from './rivulet/v1/RunBatchResponse.js';
import type { SchedulerTestingClient as _rivulet_v1_SchedulerTestingClient, SchedulerTestingDefinition as _rivulet_v1_SchedulerTestingDefinition } from './rivulet/v1/SchedulerTesting.js';
import type { SubmitDrivenJobRequest as _rivulet_v1_SubmitDrivenJobRequest, SubmitDrivenJobRequest__Output as _rivulet_v1_SubmitDrivenJobRequest__Output } from './rivulet/v1/SubmitDrivenJobRequest.js';
import type { SubmitDrivenJobResponse as _rivulet_v1_SubmitDrivenJobResponse, SubmitDrivenJobResponse__Output as _rivulet_v1_SubmitDrivenJobResponse__Output } from './rivulet/v1/SubmitDrivenJobResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  rivulet: {
    v1: {
      BlockRef: MessageTypeDefinition<_rivulet_v1_BlockRef, _rivulet_v1_BlockRef__Output>
      CommittedOutput: MessageTypeDefinition<_rivulet_v1_CommittedOutput, _rivulet_v1_CommittedOutput__Output>
      DatasetRef: MessageTypeDefinition<_rivulet_v1_DatasetRef, _rivulet_v1_DatasetRef__Output>
      ExecutorRef: MessageTypeDefinition<_rivulet_v1_ExecutorRef, _rivulet_v1_ExecutorRef__Output>
      QueueInput: MessageTypeDefinition<_rivulet_v1_QueueInput, _rivulet_v1_QueueInput__Output>
      RecordBatch: MessageTypeDefinition<_rivulet_v1_RecordBatch, _rivulet_v1_RecordBatch__Output>
      RunBatchRequest: MessageTypeDefinition<_rivulet_v1_RunBatchRequest, _rivulet_v1_RunBatchRequest__Output>
      RunBatchResponse: MessageTypeDefinition<_rivulet_v1_RunBatchResponse, _rivulet_v1_RunBatchResponse__Output>
      SchedulerTesting: SubtypeConstructor<typeof grpc.Client, _rivulet_v1_SchedulerTestingClient> & { service: _rivulet_v1_SchedulerTestingDefinition }
      SubmitDrivenJobRequest: MessageTypeDefinition<_rivulet_v1_SubmitDrivenJobRequest, _rivulet_v1_SubmitDrivenJobRequest__Output>
      SubmitDrivenJobResponse: MessageTypeDefinition<_rivulet_v1_SubmitDrivenJobResponse, _rivulet_v1_SubmitDrivenJobResponse__Output>
    }
  }
}

