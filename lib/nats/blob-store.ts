/**
 * Whole objects by name in a NATS JetStream object store bucket (file
 * storage; the object store chunks them, so they are not bound by NATS's
 * message size): state checkpoints (lib/checkpoint/store.ts) and the
 * scheduler's journaled job bundles (services/scheduler/job-journal.ts).
 */
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { openReplicatedObjectStore, type ReplicaOptions } from './replicas.js';

export interface BlobStore {
  put(name: string, data: Uint8Array): Promise<void>;
  /** The object, or undefined when there is none under that name. */
  get(name: string): Promise<Uint8Array | undefined>;
  has(name: string): Promise<boolean>;
  /** Delete the object (its chunks purged); false when there was none. */
  delete(name: string): Promise<boolean>;
  /** Delete every object whose name starts with `prefix` and for which `drop` says so; returns how many. */
  deleteWhere(prefix: string, drop: (name: string) => boolean): Promise<number>;
}

/** Open (creating when missing, with natsReplicas copies: lib/nats/replicas.ts) the bucket. */
export async function openBlobStore(nc: NatsConnection, bucket: string, replicas: ReplicaOptions): Promise<BlobStore> {
  const os: ObjectStore = await openReplicatedObjectStore(nc, bucket, replicas);
  return {
    async put(name, data) {
      await os.putBlob({ name }, data);
    },
    async get(name) {
      return (await os.getBlob(name)) ?? undefined;
    },
    async has(name) {
      const info = await os.info(name);
      return !!info && !info.deleted;
    },
    async delete(name) {
      return (await os.delete(name)).success;
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

/**
 * The bucket, opened on first use (only some jobs need it); a failed open is
 * retried by the next call instead of being remembered.
 */
export function lazyBlobStore(nc: NatsConnection, bucket: string, replicas: ReplicaOptions): () => Promise<BlobStore> {
  let store: Promise<BlobStore> | undefined;
  return () =>
    (store ??= openBlobStore(nc, bucket, replicas).catch((err: unknown) => {
      store = undefined;
      throw err;
    }));
}
