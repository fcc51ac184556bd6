/**
 * The scheduler's durable record of its jobs, so that a scheduler killed and
 * restarted carries on with them (DESIGN.md: an acked record survives the
 * failure of any one control-plane process). Spark Streaming's driver keeps
 * the same in its checkpoint directory (the DStream graph and the last
 * completed batch) and replays from the receivers' write-ahead logs.
 *
 * What is kept, in the JetStream KV bucket `jobsBucket` (key `job.<id>`):
 * each job's identity, batch clock (first batch, zero time), state and last
 * completed batch; the bundle itself (up to maxBundleBytes, above NATS's
 * message size) in the object store bucket `<jobsBucket>-bundles` by content
 * hash. A submission is acknowledged only once both are written; a batch
 * completion updates the record after its outputs are committed (a crash in
 * between re-runs that batch: its outputs are committed again, identical, so
 * consumers that deduplicate by batch time see each once).
 *
 * What is not kept: the retained outputs of WatchOutput (watchers reconnect
 * and get batches from the restart on) and anything lineage already keeps
 * (cached window and state partitions, checkpoints: Scheduler.restoreJob asks
 * lineage for them).
 */
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorMessage, UnavailableError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { openBlobStore, type BlobStore } from '../../lib/nats/blob-store.js';
import { connectionWatch } from '../../lib/nats/reconnect.js';
import { NatsReplicasError, openReplicatedKv, type ReplicaOptions } from '../../lib/nats/replicas.js';
import { z } from 'zod';
import { checkInput, rejectInput, type Assert, type Covers } from '../../lib/validation.js';
import type { JobState } from './job-registry.js';

/** A job as journaled. Plain data (JSON). */
export interface JobRecord {
  id: string;
  name: string;
  source: string;
  bundleHash: string;
  submittedAtMs: number;
  firstBatchTimeMs: number;
  zeroTimeMs: number;
  state: JobState;
  error?: string;
  /** The last batch whose outputs were committed. */
  lastCompletedBatchMs?: number;
  batchesCompleted: number;
  recordsProcessed: number;
  /** Who submitted it ('' with security off): only they and admins may stop or watch it. */
  owner?: string;
}

const timeMs = z.number().finite().nonnegative().max(Number.MAX_SAFE_INTEGER);
const countOf = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** What a journal entry read back must be before it becomes a resumed job (its bundle hash names an object). */
export const jobRecordSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]+$/).max(256),
  name: z.string().max(1024),
  source: z.string().max(4096),
  bundleHash: z.string().regex(/^[A-Za-z0-9_-]+$/).max(256),
  submittedAtMs: timeMs,
  firstBatchTimeMs: timeMs,
  zeroTimeMs: timeMs,
  state: z.enum(['RUNNING', 'STOPPED', 'FAILED']),
  error: z.string().max(64 * 1024).optional(),
  lastCompletedBatchMs: timeMs.optional(),
  batchesCompleted: countOf,
  recordsProcessed: countOf,
  owner: z.string().max(128).optional(),
}) satisfies z.ZodType<JobRecord>;
export type JobRecordSchemaCovers = Assert<Covers<typeof jobRecordSchema, JobRecord>>;

export interface JobJournal {
  /** Durable when it resolves: the job and its bundle. */
  record(job: JobRecord, bundle: string): Promise<void>;
  /** A new state or progress of a journaled job; written in order per job; failures are logged and reject. */
  update(job: JobRecord): Promise<void>;
  /** Every journaled job still RUNNING, with its bundle. */
  running(): Promise<Array<{ job: JobRecord; bundle: string }>>;
}

/** Deadline of one journal put, waiting for a reconnect included (the JetStream client's default). */
const PUT_TIMEOUT_MS = 5000;

export async function openJobJournal(nc: NatsConnection, bucket: string, log: Logger, replicas: ReplicaOptions = { replicas: 1 }): Promise<JobJournal> {
  let kv: KV;
  let bundles: BlobStore;
  try {
    kv = await openReplicatedKv(nc, bucket, { history: 1 }, replicas);
    bundles = await openBlobStore(nc, `${bucket}-bundles`, replicas);
  } catch (e) {
    if (e instanceof NatsReplicasError) throw e;
    throw new UnavailableError(`cannot open the job journal (JetStream KV bucket "${bucket}"): ${errorMessage(e)}`, { cause: e });
  }
  const key = (id: string) => `job.${id}`;
  // A put NATS dropped before answering is sent again on the reconnect (lib/nats/reconnect.ts):
  // a whole snapshot under the job's key, and writes of one job are chained, so sending it twice is harmless.
  const nats = connectionWatch(nc);
  const put = (id: string, snapshot: Uint8Array) => nats.request(() => kv.put(key(id), snapshot), PUT_TIMEOUT_MS);
  const encode = (job: JobRecord) => new TextEncoder().encode(JSON.stringify(job));
  // Updates of one job are chained so that a later state never lands before an earlier one.
  const chains = new Map<string, Promise<void>>();
  /** Run `write` after every earlier write of the job; the chain goes on whatever the outcome. */
  const enqueue = (jobId: string, write: () => Promise<void>): Promise<void> => {
    const prev = chains.get(jobId) ?? Promise.resolve();
    const result = prev.then(write);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    chains.set(jobId, settled);
    void settled.then(() => {
      if (chains.get(jobId) === settled) chains.delete(jobId);
    });
    return result;
  };
  return {
    record(job, bundle) {
      const snapshot = encode(job);
      return enqueue(job.id, async () => {
        try {
          if (!(await bundles.has(job.bundleHash))) await bundles.put(job.bundleHash, new TextEncoder().encode(bundle));
          await put(job.id, snapshot);
        } catch (e) {
          throw new UnavailableError(`cannot journal job ${job.id} in JetStream (bucket "${bucket}"): ${errorMessage(e)}`, { cause: e });
        }
      });
    },
    update(job) {
      const snapshot = encode(job);
      const write = enqueue(job.id, async () => void (await put(job.id, snapshot)));
      write.catch((e) => log.warn({ jobId: job.id, err: errorMessage(e) }, 'job journal update failed; a restarted scheduler may redo work'));
      return write;
    },
    async running() {
      const out: Array<{ job: JobRecord; bundle: string }> = [];
      const keys: string[] = [];
      for await (const k of await kv.keys('job.>')) keys.push(k);
      for (const k of keys) {
        const entry = await kv.get(k);
        if (!entry || entry.operation !== 'PUT') continue;
        let raw: unknown;
        try {
          raw = JSON.parse(new TextDecoder().decode(entry.value));
        } catch (e) {
          rejectInput(`kv:${bucket}`, `job journal entry ${k} is not JSON: ${errorMessage(e)}`, log);
          continue;
        }
        const job = checkInput(jobRecordSchema, raw, `kv:${bucket}`, log);
        if (!job) continue;
        if (job.state !== 'RUNNING') continue;
        const code = await bundles.get(job.bundleHash);
        if (!code) {
          log.error({ jobId: job.id, bundleHash: job.bundleHash }, 'journaled job has no bundle in the journal; it is not resumed');
          continue;
        }
        out.push({ job, bundle: new TextDecoder().decode(code) });
      }
      return out;
    },
  };
}
