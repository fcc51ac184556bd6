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
 *
 * What is read back is checked before it reaches a task (`readCheckpoint`):
 * every record must be one a state partition holds, else the checkpoint is
 * refused — counted in `rivulet.invalid_inputs` (source `obj:<bucket>`),
 * logged once per source, and the task fails with CheckpointUnavailableError,
 * as for a missing one — never decoded into a state of garbage (a record of
 * another shape would be skipped silently, losing keys, or carry a non-time
 * into timeouts).
 */
import { z } from 'zod';
import { unpackRecords } from '../codec/records.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { BlobStore } from '../nats/blob-store.js';
import { describeIssues, rejectInput } from '../validation.js';

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

/** A checkpoint a task needs is missing, unreadable or corrupt: the attempt fails (not the user's fault) and is retried. */
export class CheckpointUnavailableError extends Error {
  override name = 'CheckpointUnavailableError';
}

/** A time in ms; msgpack may decode a large integer as a bigint. */
const timeMs = z.union([z.number(), z.bigint().transform((b) => Number(b))]).pipe(z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER));
/** Keys, states and mapped records are the job's own plain data: any value the codec decodes. */
const value = z.unknown();

/**
 * One record of a state partition (lib/dstream/runtime.ts computeState, which
 * also reads them back): a key's state `[0, key, state, lastUpdatedMs]`, or a
 * record the mapping function returned that batch, `[1, mapped]`.
 */
export const stateRecordSchema = z.union([z.tuple([z.literal(0), value, value, timeMs]), z.tuple([z.literal(1), value])]);

/** Why `data` is not a state partition (the first bad record), or undefined when every record is one. */
export function checkStatePartition(data: Uint8Array): string | undefined {
  let records: unknown[];
  try {
    records = unpackRecords(data);
  } catch (e) {
    return `not MessagePack records: ${errorMessage(e)}`;
  }
  for (let i = 0; i < records.length; i++) {
    const parsed = stateRecordSchema.safeParse(records[i]);
    if (!parsed.success) return `record ${i} of ${records.length} is not a state record ([0, key, state, time] or [1, value]): ${describeIssues(parsed.error)}`;
  }
  return undefined;
}

/**
 * Read one checkpoint for a task: the object as stored, once it has been
 * checked to be a state partition. Throws CheckpointUnavailableError when it
 * is missing, cannot be read, or is corrupt (counted and logged once under
 * `obj:<bucket>`).
 */
export async function readCheckpoint(store: CheckpointStore, name: string, o: { bucket: string; log?: Logger }): Promise<Uint8Array> {
  let data: Uint8Array | undefined;
  try {
    data = await store.get(name);
  } catch (e) {
    // The object store checks each object's SHA-256 digest as it reads it, so this includes an object damaged at rest.
    throw new CheckpointUnavailableError(`cannot read checkpoint ${name} from the checkpoint store (bucket ${o.bucket}): ${errorMessage(e)}`, { cause: e });
  }
  if (!data) throw new CheckpointUnavailableError(`checkpoint ${name} is not in the checkpoint store`);
  const bad = checkStatePartition(data);
  if (bad !== undefined) {
    rejectInput(`obj:${o.bucket}`, `checkpoint ${name}: ${bad}`, o.log);
    throw new CheckpointUnavailableError(`checkpoint ${name} in the checkpoint store (bucket ${o.bucket}) is corrupt, refused: ${bad}`);
  }
  return data;
}
