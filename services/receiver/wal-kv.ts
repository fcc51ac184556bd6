/**
 * WalKv over a NATS JetStream KV bucket (@nats-io/kv; works with nats-server
 * 2.9: plain puts, key listing, subject-filtered stream purges).
 *
 * Removal is a subject-filtered purge of the bucket's stream, as in
 * services/lineage/kv-persistence.ts: it leaves no delete marker behind (KV
 * delete markers would pile up forever at one block per 200 ms per stream).
 *
 * Puts and purges go through the connection's ConnectionWatch
 * (lib/nats/reconnect.ts): one the connection dropped under is sent again as
 * soon as NATS is back, instead of holding its block's acks (and its batch's
 * announcement) until the timeout. Both are idempotent: every block has its
 * own key, written once with one value; the marker only ever moves forward.
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorMessage, UnavailableError } from '../../lib/errors.js';
import { connectionWatch, type ConnectionWatch } from '../../lib/nats/reconnect.js';
import { NatsReplicasError, openReplicatedKv, type ReplicaOptions } from '../../lib/nats/replicas.js';
import type { WalKv } from './allocation-log.js';

/** Reads in flight at once while loading. */
const CONCURRENCY = 32;

export class JetStreamWalKv implements WalKv {
  private constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    private readonly nats: ConnectionWatch,
    private readonly bucket: string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Open (creating if missing) the bucket. `timeoutMs` bounds every JetStream
   * request, waiting for a reconnect included, so a put to an unavailable NATS
   * fails (and its pushes are nacked) within that time. Rejects with
   * UnavailableError naming the bucket.
   */
  static async open(nc: NatsConnection, bucket: string, timeoutMs: number, replicas: ReplicaOptions = { replicas: 1 }): Promise<JetStreamWalKv> {
    try {
      const kv = await openReplicatedKv(nc, bucket, { history: 1 }, { ...replicas, timeoutMs });
      const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
      return new JetStreamWalKv(kv, jsm, connectionWatch(nc), bucket, timeoutMs);
    } catch (e) {
      if (e instanceof NatsReplicasError) throw e;
      throw new UnavailableError(
        `cannot open the receiver's write-ahead log, JetStream KV bucket "${bucket}" (is JetStream enabled on the NATS server?): ${errorMessage(e)}`,
        { cause: e },
      );
    }
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    await this.nats.request(() => this.kv.put(key, value), this.timeoutMs);
  }

  async listKeys(filter: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys(filter)) keys.push(k);
    return keys;
  }

  async entries(filter: string): Promise<Array<{ key: string; value: Uint8Array }>> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys(filter)) keys.push(k);
    const out: Array<{ key: string; value: Uint8Array }> = [];
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const entry = await this.kv.get(key);
        // Purged between listing and reading, or a marker: nothing to load.
        if (entry && entry.operation === 'PUT') out.push({ key, value: entry.value });
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, keys.length) }, worker));
    return out;
  }

  async purge(filter: string): Promise<void> {
    await this.nats.request(() => this.jsm.streams.purge(`KV_${this.bucket}`, { filter: `$KV.${this.bucket}.${filter}` }), this.timeoutMs);
  }
}
