/**
 * Where stateful operators checkpoint their state: durable storage outside the
 * executors, so that a state lost with every executor holding it is rebuilt
 * from the last checkpoint plus a replay of the batches since, never from the
 * job's whole history (lineage stays bounded: planner.ts StateRead).
 *
 * The default (and today the only) store is a NATS JetStream object store
 * bucket (`checkpointBucket`, file storage): executors write the state
 * partitions of checkpoint batches (`<job>/<node>/<batch>/<partition>`) and
 * read them back when replaying; the scheduler deletes checkpoints once a
 * newer one is complete. Writes and reads are whole objects (a partition of a
 * state is one packed record list), chunked by the object store itself.
 */
import type { BlobStore } from '../nats/blob-store.js';

/** Checkpoints are whole objects in a JetStream object store bucket (lib/nats/blob-store.ts). */
export type CheckpointStore = BlobStore;

/** Name of the object holding one partition of one checkpointed state dataset. */
export function checkpointName(jobId: string, nodeId: number, batchTimeMs: number, partition: number): string {
  return `${jobId}/${nodeId}/${batchTimeMs}/${partition}`;
}

/** The batch time in a checkpoint object's name (see checkpointName), or undefined when it is not one. */
export function checkpointBatchOf(name: string): number | undefined {
  const parts = name.split('/');
  if (parts.length < 4) return undefined;
  const t = Number(parts[parts.length - 2]);
  return Number.isSafeInteger(t) ? t : undefined;
}
