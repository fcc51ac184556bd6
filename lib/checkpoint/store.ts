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
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';

export interface CheckpointStore {
  put(name: string, data: Uint8Array): Promise<void>;
  /** The object, or undefined when there is none under that name. */
  get(name: string): Promise<Uint8Array | undefined>;
  /** Delete every object whose name starts with `prefix` and for which `drop` says so; returns how many. */
  deleteWhere(prefix: string, drop: (name: string) => boolean): Promise<number>;
}

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

/** Open (creating when missing) the JetStream object store bucket. */
export async function openCheckpointStore(nc: NatsConnection, bucket: string): Promise<CheckpointStore> {
  const os: ObjectStore = await new Objm(nc).create(bucket, { storage: 'file' });
  return {
    async put(name, data) {
      await os.putBlob({ name }, data);
    },
    async get(name) {
      const data = await os.getBlob(name);
      return data ?? undefined;
    },
    async deleteWhere(prefix, drop) {
      let n = 0;
      for (const info of await os.list()) {
        if (info.deleted || !info.name.startsWith(prefix) || !drop(info.name)) continue;
        await os.delete(info.name);
        n++;
      }
      return n;
    },
  };
}
