// Original file: proto/rivulet/v1/executor.proto

import type { DatasetRef as _rivulet_v1_DatasetRef, DatasetRef__Output as _rivulet_v1_DatasetRef__Output } from '../../rivulet/v1/DatasetRef.js';
import type { ExecutorRef as _rivulet_v1_ExecutorRef, ExecutorRef__Output as _rivulet_v1_ExecutorRef__Output } from '../../rivulet/v1/ExecutorRef.js';
import type { JetStreamSlice as _rivulet_v1_JetStreamSlice, JetStreamSlice__Output as _rivulet_v1_JetStreamSlice__Output } from '../../rivulet/v1/JetStreamSlice.js';

/**
 * Where one input partition of a task comes from.
 */
export interface BlockInput {
  /**
   * the source dataset (a receiver stream of one batch)
   */
  'dataset'?: (_rivulet_v1_DatasetRef | null);
  'partition'?: (number);
  'blockId'?: (string);
  /**
   * Executors holding the block, to fetch from when it is not local.
   */
  'locations'?: (_rivulet_v1_ExecutorRef)[];
  /**
   * The key the task's runtime finds this input under, when it is not the
   * source's (node, partition): a window reads cached partitions of earlier
   * batches (dataset.batch_time_ms) under keys the planner assigns.
   */
  'inputKey'?: (string);
  /**
   * Set when the input is a state checkpoint: the object's name in the
   * checkpoint store (JetStream object store), read from there instead of
   * from an executor (locations is empty).
   */
  'checkpoint'?: (string);
  /**
   * Set when the input is a slice of a JetStream direct source
   * (ctx.jetStream): the executor reads the messages of the slice straight
   * from the stream with its own NATS connection (locations is empty).
   */
  'jetStream'?: (_rivulet_v1_JetStreamSlice | null);
}

/**
 * Where one input partition of a task comes from.
 */
export interface BlockInput__Output {
  /**
   * the source dataset (a receiver stream of one batch)
   */
  'dataset': (_rivulet_v1_DatasetRef__Output | null);
  'partition': (number);
  'blockId': (string);
  /**
   * Executors holding the block, to fetch from when it is not local.
   */
  'locations': (_rivulet_v1_ExecutorRef__Output)[];
  /**
   * The key the task's runtime finds this input under, when it is not the
   * source's (node, partition): a window reads cached partitions of earlier
   * batches (dataset.batch_time_ms) under keys the planner assigns.
   */
  'inputKey': (string);
  /**
   * Set when the input is a state checkpoint: the object's name in the
   * checkpoint store (JetStream object store), read from there instead of
   * from an executor (locations is empty).
   */
  'checkpoint': (string);
  /**
   * Set when the input is a slice of a JetStream direct source
   * (ctx.jetStream): the executor reads the messages of the slice straight
   * from the stream with its own NATS connection (locations is empty).
   */
  'jetStream': (_rivulet_v1_JetStreamSlice__Output | null);
}
