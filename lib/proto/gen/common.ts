import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { BlockRef as _rivulet_v1_BlockRef, BlockRef__Output as _rivulet_v1_BlockRef__Output } from './rivulet/v1/BlockRef.js';
import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from './rivulet/v1/DatasetRef.js';
import type { ExecutorRef as _rivulet_v1_ExecutorRef, ExecutorRef__Output as _rivulet_v1_ExecutorRef__Output } from './rivulet/v1/ExecutorRef.js';
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
      RecordBatch: MessageTypeDefinition<_rivulet_v1_RecordBatch, _rivulet_v1_RecordBatch__Output>
    }
  }
}

