/**
 * Durability of the lineage state in a NATS JetStream KV bucket, so a restart
 * (or SIGKILL) of the lineage service loses nothing it acknowledged.
 *
 * Layout (one writer: run a single lineage replica per bucket):
 *   b.<job>.<batchTime>          graph record of one batch (BatchGraphRecord)
 *   l.<job>.<batchTime>.<node>   every location of one dataset (DatasetLocationsRecord)
 * `<job>` is the job id when it is made of [A-Za-z0-9_-], otherwise "=" + its
 * UTF-8 hex (KV keys can't hold arbitrary characters; "=" never occurs in the
 * plain form, so two jobs can't share a token). Values are MessagePack.
 *
 * Why split by dataset: writes stay small (RecordLocations rewrites only the
 * datasets it touches), and no single value has to hold a whole batch. A
 * value that would still exceed MAX_KV_VALUE_BYTES (under the server's default
 * 1 MiB max_payload) is refused with RESOURCE_EXHAUSTED before anything is
 * written — e.g. ~8k locations for one dataset: record one SHUFFLE_OUTPUT per
 * map task, not one per reduce bucket.
 *
 * Crash consistency without multi-key transactions: a registration writes the
 * location keys first and the graph key last, so the graph key is the commit
 * marker; forgetting purges the graph key first. Location keys without a graph
 * key are orphans of an interrupted write and are purged on load. Keys are
 * removed with a subject-filtered stream purge, which leaves no delete marker
 * behind (KV delete/purge markers would pile up forever on a stream processor).
 */
import type { KV } from '@nats-io/kv';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { packValue, unpackValue } from '../../lib/codec/records.js';
import { connectionWatch, type ConnectionWatch } from '../../lib/nats/reconnect.js';
import { NatsReplicasError, openReplicatedKv } from '../../lib/nats/replicas.js';
import { errorMessage, ResourceExhaustedError, UnavailableError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { z } from 'zod';
import { checkInput } from '../../lib/validation.js';
import {
  DEPENDENCY_KINDS,
  LOCATION_KINDS,
  type DependencyKind,
  type LocationKind,
  type BatchGraphRecord,
  type BatchId,
  type DatasetLocationsRecord,
  type StoreWrites,
} from './lineage-types.js';

/** Largest value written; leaves room for headers under the 1 MiB default max_payload. */
export const MAX_KV_VALUE_BYTES = 1_000_000;

/** KV round trips in flight at once during writes and load. */
const CONCURRENCY = 32;

/** Format version stored in every value, so a future layout can tell old records apart. */
const FORMAT = 1;

export interface LoadedBatch {
  readonly graph: BatchGraphRecord;
  readonly locations: DatasetLocationsRecord[];
}

export interface LoadedState {
  readonly batches: LoadedBatch[];
  /** Location keys whose batch has no graph key (interrupted writes); purged. */
  readonly orphansPurged: number;
  /** Values that could not be decoded; skipped and logged. */
  readonly corruptSkipped: number;
}

/** What server.ts needs from durable storage; faked in tests. */
export interface LineagePersistence {
  /** Make `writes` durable. Rejects with a typed error; on rejection some keys may be written. */
  write(writes: StoreWrites): Promise<void>;
  load(): Promise<LoadedState>;
}

export function jobToken(jobId: string): string {
  return /^[A-Za-z0-9_-]+$/.test(jobId) ? jobId : '=' + Buffer.from(jobId, 'utf8').toString('hex');
}

export function graphKey(b: BatchId): string {
  return `b.${jobToken(b.jobId)}.${b.batchTimeMs}`;
}

export function locationsKey(b: BatchId, nodeId: number): string {
  return `l.${jobToken(b.jobId)}.${b.batchTimeMs}.${nodeId}`;
}

async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function encode(value: object, what: string): Uint8Array {
  const bytes = packValue({ format: FORMAT, ...value });
  if (bytes.length > MAX_KV_VALUE_BYTES) {
    throw new ResourceExhaustedError(
      `${what} would be ${bytes.length} bytes, over the ${MAX_KV_VALUE_BYTES}-byte limit of one lineage KV value; ` +
        'record fewer, larger pieces (e.g. one SHUFFLE_OUTPUT per map task) or fewer partitions',
    );
  }
  return bytes;
}

// Schemas of values read back: a corrupt or foreign value is skipped,
// counted in rivulet.invalid_inputs and logged once (lib/validation.ts) — it
// must not crash the service or poison the store. Unknown fields are stripped.
const safeInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const text = z.string().max(4096);
const datasetRef = z.object({ jobId: text, batchTimeMs: safeInt, nodeId: safeInt });

const graphRecordSchema = z.object({
  format: z.literal(FORMAT),
  jobId: text,
  batchTimeMs: safeInt,
  fingerprint: text,
  datasets: z
    .array(
      z.object({
        nodeId: safeInt,
        operator: text,
        dependency: z.enum(DEPENDENCY_KINDS as readonly [DependencyKind, ...DependencyKind[]]),
        parents: z.array(datasetRef).max(10_000),
        numPartitions: safeInt,
        parentPartitions: z.array(safeInt).max(10_000),
      }),
    )
    .max(100_000),
}) satisfies z.ZodType<BatchGraphRecord>;

const locationsRecordSchema = datasetRef.extend({
  format: z.literal(FORMAT),
  locations: z
    .array(
      z.object({
        kind: z.enum(LOCATION_KINDS as readonly [LocationKind, ...LocationKind[]]),
        partition: safeInt,
        blockId: text,
        executorIds: z.array(text).max(64),
        bytes: safeInt,
      }),
    )
    .max(1_000_000),
}) satisfies z.ZodType<DatasetLocationsRecord>;

/** A parsed record without its format tag (the store's own shape). */
function withoutFormat<T extends { format: number }>(r: T): Omit<T, 'format'> {
  const { format: _format, ...rest } = r;
  return rest;
}

/**
 * Deadline of one KV write (a put, a purge) of lineage state, waiting for a
 * reconnect included: a mutation fails (its caller retries) rather than hold
 * the one mutation queue through a long NATS outage.
 */
const KV_WRITE_TIMEOUT_MS = 1000;

export class KvLineagePersistence implements LineagePersistence {
  private constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    private readonly nats: ConnectionWatch,
    private readonly bucket: string,
    private readonly log: Logger,
  ) {}

  /** The source name of invalid values read back (rivulet.invalid_inputs). */
  private get source(): string {
    return `kv:${this.bucket}`;
  }

  /** Open (creating if missing) the bucket. Rejects with UnavailableError naming the bucket and cause. */
  static async open(nc: NatsConnection, bucket: string, log: Logger, replicas = 1): Promise<KvLineagePersistence> {
    try {
      // Every write goes through the ConnectionWatch (put/purge below), which
      // bounds it by KV_WRITE_TIMEOUT_MS; the clients' own timeouts match.
      const kv = await openReplicatedKv(nc, bucket, { history: 1, maxValueSize: MAX_KV_VALUE_BYTES }, { replicas, log, timeoutMs: KV_WRITE_TIMEOUT_MS });
      const jsm = await jetstreamManager(nc, { timeout: KV_WRITE_TIMEOUT_MS });
      return new KvLineagePersistence(kv, jsm, connectionWatch(nc), bucket, log);
    } catch (e) {
      if (e instanceof NatsReplicasError) throw e;
      throw new UnavailableError(`cannot open JetStream KV bucket "${bucket}" (is JetStream enabled on the NATS server?): ${errorMessage(e)}`, {
        cause: e,
      });
    }
  }

  async write(writes: StoreWrites): Promise<void> {
    // Encode (and size-check) everything before the first write, so a value
    // that is too large refuses the whole mutation cleanly.
    const locations = writes.locations.map((r) => ({
      key: locationsKey(r, r.nodeId),
      value: encode(r, `locations of dataset ${r.jobId}@${r.batchTimeMs}#${r.nodeId}`),
    }));
    const graphs = writes.graphs.map((g) => ({ key: graphKey(g), value: encode(g, `graph of batch ${g.jobId}@${g.batchTimeMs}`) }));
    try {
      await forEachLimit(locations, CONCURRENCY, ({ key, value }) => this.put(key, value));
      await forEachLimit(graphs, CONCURRENCY, ({ key, value }) => this.put(key, value));
      await forEachLimit(writes.forget, CONCURRENCY, async (b) => {
        await this.purge(graphKey(b));
        await this.purge(`l.${jobToken(b.jobId)}.${b.batchTimeMs}.*`);
      });
    } catch (e) {
      throw new UnavailableError(`cannot write lineage state to KV bucket "${this.bucket}": ${errorMessage(e)}`, { cause: e });
    }
  }

  async load(): Promise<LoadedState> {
    let corruptSkipped = 0;
    const graphs = new Map<string, BatchGraphRecord>();
    const locations: Array<{ key: string; record: DatasetLocationsRecord }> = [];
    try {
      await forEachLimit(await this.listKeys('b.>'), CONCURRENCY, async (key) => {
        const raw = await this.read(key);
        if (raw === undefined) return;
        const g = checkInput(graphRecordSchema, raw, this.source, this.log);
        if (!g) {
          corruptSkipped++;
          return;
        }
        graphs.set(graphKey(g), withoutFormat(g));
      });
      await forEachLimit(await this.listKeys('l.>'), CONCURRENCY, async (key) => {
        const raw = await this.read(key);
        if (raw === undefined) return;
        const record = checkInput(locationsRecordSchema, raw, this.source, this.log);
        if (!record) {
          corruptSkipped++;
          return;
        }
        locations.push({ key, record: withoutFormat(record) });
      });
    } catch (e) {
      throw new UnavailableError(`cannot read lineage state from KV bucket "${this.bucket}": ${errorMessage(e)}`, { cause: e });
    }

    const byBatch = new Map<string, LoadedBatch>();
    for (const g of graphs.values()) byBatch.set(graphKey(g), { graph: g, locations: [] });
    const orphans: string[] = [];
    for (const { key, record } of locations) {
      const batch = byBatch.get(graphKey(record));
      if (batch) batch.locations.push(record);
      else orphans.push(key);
    }
    try {
      await forEachLimit(orphans, CONCURRENCY, (key) => this.purge(key));
    } catch (e) {
      // Harmless to leave them: they are ignored again on the next load.
      this.log.warn({ err: errorMessage(e), orphans: orphans.length }, 'could not purge orphaned lineage location keys');
    }
    const batches = [...byBatch.values()].sort(
      (a, b) => (a.graph.jobId < b.graph.jobId ? -1 : a.graph.jobId > b.graph.jobId ? 1 : a.graph.batchTimeMs - b.graph.batchTimeMs),
    );
    return { batches, orphansPurged: orphans.length, corruptSkipped };
  }

  private async listKeys(filter: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys(filter)) keys.push(k);
    return keys;
  }

  private async read(key: string): Promise<unknown> {
    const entry = await this.kv.get(key);
    // Deleted between listing and reading (or a marker): nothing to load.
    if (!entry || entry.operation !== 'PUT') return undefined;
    try {
      return unpackValue<unknown>(entry.value);
    } catch {
      return null;
    }
  }

  /**
   * Writes are sent again at once when NATS reconnects before they were
   * answered (lib/nats/reconnect.ts): a put of a fixed value under a fixed
   * key and a purge are idempotent, and the mutation queue — the next batch's
   * RegisterBatch among it — waits for nothing but the reconnect.
   */
  private async put(key: string, value: Uint8Array): Promise<void> {
    await this.nats.request(() => this.kv.put(key, value), KV_WRITE_TIMEOUT_MS);
  }

  /** Remove every message of the key(s) matching `keyFilter` (no marker left behind). */
  private async purge(keyFilter: string): Promise<void> {
    await this.nats.request(() => this.jsm.streams.purge(`KV_${this.bucket}`, { filter: `$KV.${this.bucket}.${keyFilter}` }), KV_WRITE_TIMEOUT_MS);
  }
}
