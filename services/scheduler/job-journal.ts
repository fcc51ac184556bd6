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
import type { NatsConnection } from '@nats-io/transport-node';
import { errorMessage, UnavailableError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { openBlobStore, type BlobStore } from '../../lib/nats/blob-store.js';
import { NatsReplicasError, type ReplicaOptions } from '../../lib/nats/replicas.js';
import { z } from 'zod';
import { checkInput, rejectInput, type Assert, type Covers } from '../../lib/validation.js';
import type { JobState } from './job-registry.js';
import type { DescribedJob } from '../../lib/dstream/sandbox.js';
import type { PreparedJobs } from './standby-prep.js';
import { JS_RANGES_KEY_PREFIX, jetStreamJournalSchema, type JetStreamJournal } from './jetstream-journal.js';

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
  /** Every journaled job still RUNNING, with its bundle (and its graph when a standby prepared it). */
  running(prepared?: PreparedJobs): Promise<Array<{ job: JobRecord; bundle: string; loaded?: DescribedJob }>>;
  /**
   * Purge an ended job's entries (its record and JetStream source ranges), after
   * its earlier writes; failures are logged and reject. Its bundle goes too,
   * unless another journaled job uses the same one (bundles are stored by
   * content hash).
   */
  forget(jobId: string): Promise<void>;
}

/** Writes a key of the journal bucket; fenced while this scheduler leads (leader-lease.ts LeaderLease.write). */
export interface JournalWriter {
  write(key: string, value: Uint8Array): Promise<void>;
  /** Purge a key and its history (fenced like write). */
  remove(key: string): Promise<void>;
}

const JOB_KEY_PREFIX = 'job.';
/** Chain key of a bundle's writes (see openJobJournal). */
const BUNDLE_CHAIN = 'bundle:';

/**
 * The journal as a standby follows it (and a leader sees its own writes):
 * every job's latest record, schema-checked as it arrives. Taking the lease
 * proves this copy complete (leader-lease.ts), so a new leader resumes jobs
 * from it without reading the bucket again.
 */
export class FollowedJournal {
  private readonly jobs = new Map<string, JobRecord>();
  /** Each job's JetStream source ranges (`jsrange.<id>`, jetstream-source.ts). */
  private readonly ranges = new Map<string, JetStreamJournal>();

  constructor(
    private readonly bucket: string,
    private readonly log: Logger,
  ) {}

  /** One entry of the bucket (keys other than `job.<id>` are not the journal's). */
  apply(key: string, value: Uint8Array | undefined): void {
    if (key.startsWith(JS_RANGES_KEY_PREFIX)) return this.applyRanges(key.slice(JS_RANGES_KEY_PREFIX.length), key, value);
    if (!key.startsWith(JOB_KEY_PREFIX)) return;
    const id = key.slice(JOB_KEY_PREFIX.length);
    if (value === undefined) {
      this.jobs.delete(id);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder().decode(value));
    } catch (e) {
      rejectInput(`kv:${this.bucket}`, `job journal entry ${key} is not JSON: ${errorMessage(e)}`, this.log);
      return;
    }
    const job = checkInput(jobRecordSchema, raw, `kv:${this.bucket}`, this.log);
    if (job) this.jobs.set(id, job);
  }

  private applyRanges(id: string, key: string, value: Uint8Array | undefined): void {
    if (value === undefined) return void this.ranges.delete(id);
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder().decode(value));
    } catch (e) {
      rejectInput(`kv:${this.bucket}`, `JetStream ranges entry ${key} is not JSON: ${errorMessage(e)}`, this.log);
      return;
    }
    const ranges = checkInput(jetStreamJournalSchema, raw, `kv:${this.bucket}`, this.log);
    if (ranges) this.ranges.set(id, ranges);
  }

  /** What the journal holds of a job's JetStream source ranges. */
  jetStreamJournal(jobId: string): JetStreamJournal | undefined {
    return this.ranges.get(jobId);
  }

  /** The bundle hash of a journaled job. */
  bundleOf(jobId: string): string | undefined {
    return this.jobs.get(jobId)?.bundleHash;
  }

  /** Whether a journaled job other than `except` uses the bundle `hash`. */
  usesBundle(hash: string, except: string): boolean {
    for (const [id, job] of this.jobs) if (id !== except && job.bundleHash === hash) return true;
    return false;
  }

  /** Every job the journal says is RUNNING. */
  running(): JobRecord[] {
    return [...this.jobs.values()].filter((j) => j.state === 'RUNNING');
  }

  get size(): number {
    return this.jobs.size;
  }
}

/**
 * The job journal over the followed bucket: writes go through `writer` (the
 * lease's fenced writes, so a replaced leader's are refused), reads come from
 * `followed`; bundles live in the object store `<bucket>-bundles`.
 */
export async function openJobJournal(
  nc: NatsConnection,
  bucket: string,
  writer: JournalWriter,
  followed: FollowedJournal,
  log: Logger,
  replicas: ReplicaOptions = { replicas: 1 },
): Promise<JobJournal> {
  let bundles: BlobStore;
  try {
    bundles = await openBlobStore(nc, `${bucket}-bundles`, replicas);
  } catch (e) {
    if (e instanceof NatsReplicasError) throw e;
    throw new UnavailableError(`cannot open the job journal's bundles (object store "${bucket}-bundles"): ${errorMessage(e)}`, { cause: e });
  }
  const put = (id: string, snapshot: Uint8Array) => writer.write(JOB_KEY_PREFIX + id, snapshot);
  const encode = (job: JobRecord) => new TextEncoder().encode(JSON.stringify(job));
  // Writes of one job are chained so that an update never overtakes the record it follows (which
  // first stores the bundle); across jobs the lease serialises them anyway. A bundle's store and
  // delete are chained too (key BUNDLE_CHAIN + hash; no job id contains ':'), so a job recorded with
  // the code of one being forgotten finds it stored, or stores it again.
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
  /**
   * Bundle hashes of the jobs this scheduler recorded (or is recording) and has not forgotten: the
   * followed copy learns of a write only when the bucket's watch delivers it, and a bundle must not
   * be deleted in between.
   */
  const recorded = new Map<string, string>();
  const inUse = (hash: string, except: string) => {
    for (const [id, h] of recorded) if (id !== except && h === hash) return true;
    return followed.usesBundle(hash, except);
  };
  /** Delete `hash`'s bundle once no journaled job but `forgotten` (whose record is purged) uses it. */
  const dropBundle = (hash: string, forgotten: string) =>
    enqueue(BUNDLE_CHAIN + hash, async () => {
      if (inUse(hash, forgotten)) return;
      await bundles.delete(hash);
      log.info({ jobId: forgotten, bundleHash: hash }, 'forgotten job\'s bundle deleted from the job journal');
    });
  return {
    record(job, bundle) {
      const snapshot = encode(job);
      recorded.set(job.id, job.bundleHash);
      const storeBundle = () =>
        enqueue(BUNDLE_CHAIN + job.bundleHash, async () => {
          if (!(await bundles.has(job.bundleHash))) await bundles.put(job.bundleHash, new TextEncoder().encode(bundle));
        });
      return enqueue(job.id, async () => {
        try {
          await storeBundle();
          await put(job.id, snapshot);
        } catch (e) {
          // The submission is refused (and the job withdrawn, never forgotten): it uses no bundle. One it stored stays.
          if (recorded.get(job.id) === job.bundleHash) recorded.delete(job.id);
          throw new UnavailableError(`cannot journal job ${job.id} in JetStream (bucket "${bucket}"): ${errorMessage(e)}`, { cause: e });
        }
      });
    },
    update(job) {
      const snapshot = encode(job);
      const write = enqueue(job.id, () => put(job.id, snapshot));
      write.catch((e) => log.warn({ jobId: job.id, err: errorMessage(e) }, 'job journal update not written; the next leader may redo work'));
      return write;
    },
    forget(jobId) {
      const hash = recorded.get(jobId) ?? followed.bundleOf(jobId);
      const write = enqueue(jobId, async () => {
        await writer.remove(JOB_KEY_PREFIX + jobId);
        if (followed.jetStreamJournal(jobId)) await writer.remove(JS_RANGES_KEY_PREFIX + jobId);
        recorded.delete(jobId);
        // Only once the record is gone (a fenced write: this scheduler still led); a bundle left
        // behind by a failure here is an orphan in the object store, never a job without its code.
        if (hash !== undefined) await dropBundle(hash, jobId);
      });
      write.catch((e) => log.warn({ jobId, err: errorMessage(e) }, 'forgotten job not purged from the job journal'));
      return write;
    },
    async running(prepared) {
      const out: Array<{ job: JobRecord; bundle: string; loaded?: DescribedJob }> = [];
      for (const job of followed.running()) {
        const ready = prepared?.take(job.bundleHash);
        if (ready) {
          out.push({ job, ...ready });
          continue;
        }
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
