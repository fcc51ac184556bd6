import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { BlockRef as _rivulet_v1_BlockRef, BlockRef__Output as _rivulet_v1_BlockRef__Output } from './rivulet/v1/BlockRef.js';
import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from './rivulet/v1/DatasetRef.js';
import type { ExecutorRef as _rivulet_v1_ExecutorRef, ExecutorRef__Output as _rivulet_v1_ExecutorRef__Output } from './rivulet/v1/ExecutorRef.js';
import type { GetBatchBlocksRequest as _rivulet_v1_GetBatchBlocksRequest, GetBatchBlocksRequest__Output as _rivulet_v1_GetBatchBlocksRequest__Output } from './rivulet/v1/GetBatchBlocksRequest.js';
import type { GetBatchBlocksResponse as _rivulet_v1_GetBatchBlocksResponse, GetBatchBlocksResponse__Output as _rivulet_v1_GetBatchBlocksResponse__Output } from './rivulet/v1/GetBatchBlocksResponse.js';
import type { PushAck as _rivulet_v1_PushAck, PushAck__Output as _rivulet_v1_PushAck__Output } from './rivulet/v1/PushAck.js';
import type { PushNack as _rivulet_v1_PushNack, PushNack__Output as _rivulet_v1_PushNack__Output } from './rivulet/v1/PushNack.js';
import type { PushOpen as _rivulet_v1_PushOpen, PushOpen__Output as _rivulet_v1_PushOpen__Output } from './rivulet/v1/PushOpen.js';
import type { PushOpened as _rivulet_v1_PushOpened, PushOpened__Output as _rivulet_v1_PushOpened__Output } from './rivulet/v1/PushOpened.js';
import type { PushRecords as _rivulet_v1_PushRecords, PushRecords__Output as _rivulet_v1_PushRecords__Output } from './rivulet/v1/PushRecords.js';
import type { PushRequest as _rivulet_v1_PushRequest, PushRequest__Output as _rivulet_v1_PushRequest__Output } from './rivulet/v1/PushRequest.js';
import type { PushResponse as _rivulet_v1_PushResponse, PushResponse__Output as _rivulet_v1_PushResponse__Output } from './rivulet/v1/PushResponse.js';
import type { ReceiverClient as _rivulet_v1_ReceiverClient, ReceiverDefinition as _rivulet_v1_ReceiverDefinition } from './rivulet/v1/Receiver.js';
import type { RecordBatch as _rivulet_v1_RecordBatch, RecordBatch__Output as _rivulet_v1_RecordBatch__Output } from './rivulet/v1/RecordBatch.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  rivulet: {
    v1: {
      BlockRef: MessageTypeDefinition<_rivulet_v1_BlockRef, _rivulet_v1_BlockRef__Output>
      DatasetRef: MessageTypeDefinition<_rivulet_v1_DatasetRef, _rivulet_v1_DatasetRef__Output>
      ExecutorRef: MessageTypeDefinition<_rivulet_v1_ExecutorRef, _rivulet_v1_ExecutorRef__Output>
      GetBatchBlocksRequest: MessageTypeDefinition<_rivulet_v1_GetBatchBlocksRequest, _rivulet_v1_GetBatchBlocksRequest__Output>
      GetBatchBlocksResponse: MessageTypeDefinition<_rivulet_v1_GetBatchBlocksResponse, _rivulet_v1_GetBatchBlocksResponse__Output>
      PushAck: MessageTypeDefinition<_rivulet_v1_PushAck, _rivulet_v1_PushAck__Output>
      PushNack: MessageTypeDefinition<_rivulet_v1_PushNack, _rivulet_v1_PushNack__Output>
      PushOpen: MessageTypeDefinition<_rivulet_v1_PushOpen, _rivulet_v1_PushOpen__Output>
      PushOpened: MessageTypeDefinition<_rivulet_v1_PushOpened, _rivulet_v1_PushOpened__Output>
      PushRecords: MessageTypeDefinition<_rivulet_v1_PushRecords, _rivulet_v1_PushRecords__Output>
      PushRequest: MessageTypeDefinition<_rivulet_v1_PushRequest, _rivulet_v1_PushRequest__Output>
      PushResponse: MessageTypeDefinition<_rivulet_v1_PushResponse, _rivulet_v1_PushResponse__Output>
      Receiver: SubtypeConstructor<typeof grpc.Client, _rivulet_v1_ReceiverClient> & { service: _rivulet_v1_ReceiverDefinition }
      RecordBatch: MessageTypeDefinition<_rivulet_v1_RecordBatch, _rivulet_v1_RecordBatch__Output>
    }
  }
}

