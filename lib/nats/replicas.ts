/**
 * Replicas of Rivulet's JetStream state (option `natsReplicas`): every stream,
 * KV bucket and object store a service creates — the job journal and its
 * bundles, durable outputs, lineage, the receiver's write-ahead log,
 * checkpoints, tokens — is created with that many copies, so that a NATS
 * cluster losing one server loses none of the control plane's memory (Kafka's
 * R3 logs). With 1 (`rivulet up` on one nats-server) nothing is copied.
 *
 * Idempotent at every start: a bucket that exists with fewer replicas than
 * configured is raised to the configured count (JetStream scales a stream's
 * Raft group up with a stream update, the data copied to the new peers),
 * then waited for until it has a leader again, so the first write after start
 * does not meet a stream in election. A bucket with more replicas than
 * configured is left as it is and logged: lowering the copies of the
 * control plane's state is an operator's decision (`nats stream edit`), never
 * a side effect of one service starting with a smaller setting.
 *
 * A count the NATS deployment cannot place (3 on a single server, 5 on a
 * 3-node cluster) fails start-up with NatsReplicasError naming the option,
 * not with JetStream's bare "no suitable peers for placement". nats-server
 * 2.9 is the oldest supported: nothing here needs a later one.
 *
 * Opening races with other processes opening the same bucket (two schedulers,
 * a leader and its standby, start together): a stream another one has just
 * created or raised has no leader for a moment, and a request to it is then
 * not answered (a timeout) or answered "no responders". Such an open is tried
 * again (OPEN_RETRY_MS in all) rather than failing the service's start.
 */
import { jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { Kvm, type KV, type KvOptions } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { isLeaderless } from './reconnect.js';

/** How the option is spelled everywhere a user may set it (lib/config naming rule). */
export const NATS_REPLICAS_OPTION = 'natsReplicas (--nats-replicas, RIVULET_NATS_REPLICAS)';

/**
 * nats-server's answers (JetStream API error codes, stable since 2.2) that
 * mean "this deployment cannot hold that many copies": a misconfiguration,
 * or a cluster with servers missing.
 */
const CANNOT_PLACE: ReadonlyMap<number, string> = new Map([
  [10074, 'the NATS server runs without a cluster'],
  [10005, 'the cluster has fewer JetStream servers available than that'],
  [10023, 'the cluster has too few JetStream servers with room for it'],
]);

/** How long a raised stream may take to elect its leader before start-up gives up. */
const LEADER_WAIT_MS = 15_000;
/** How long an open is tried again while the stream is being created or raised by another process. */
const OPEN_RETRY_MS = 20_000;

/** A request to a stream that is being created or raised elsewhere: no answer yet, or no leader yet. */
function transientOpenError(e: unknown): boolean {
  return isLeaderless(e) || (e as { name?: unknown } | undefined)?.name === 'TimeoutError';
}

/** Run `open` again while it fails transiently (see the module comment), for OPEN_RETRY_MS in all. */
async function retryingOpen<T>(what: string, open: () => Promise<T>, log?: Logger): Promise<T> {
  const deadline = Date.now() + OPEN_RETRY_MS;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await open();
    } catch (e) {
      if (!transientOpenError(e) || Date.now() + delay > deadline) throw e;
      log?.warn({ what, err: errorMessage(e) }, 'a JetStream stream did not answer while opening it (being created or given replicas elsewhere?); trying again');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** The configured replica count cannot be placed on this NATS deployment. Start-up fails with it. */
export class NatsReplicasError extends ConfigError {
  override name = 'NatsReplicasError';
}

/** `e` as NatsReplicasError when NATS refused the replica count, else undefined. */
export function replicaPlacementError(e: unknown, stream: string, replicas: number): NatsReplicasError | undefined {
  const code = e instanceof JetStreamApiError ? e.code : undefined;
  const why = code === undefined ? undefined : CANNOT_PLACE.get(code);
  if (!why) return undefined;
  return new NatsReplicasError(
    `${NATS_REPLICAS_OPTION} is ${replicas}, but NATS cannot keep ${replicas} replicas of the JetStream stream "${stream}": ` +
      `${errorMessage(e)} (${why}). Set ${NATS_REPLICAS_OPTION} to at most the number of JetStream servers in the NATS cluster ` +
      `(1 for a single nats-server), or bring the missing servers back.`,
    { cause: e },
  );
}

/** Run `create`, turning a refused replica count into NatsReplicasError. */
async function placing<T>(stream: string, replicas: number, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (e) {
    throw replicaPlacementError(e, stream, replicas) ?? e;
  }
}

export interface ReplicaOptions {
  /** The configured count (natsReplicas). */
  replicas: number;
  log?: Logger;
  /**
   * Raise an existing stream with fewer replicas (needs STREAM.UPDATE on it).
   * A service that only reads someone else's bucket (the token bucket, for the
   * receiver and lineage) leaves that to its owner. @default true
   */
  raise?: boolean;
}

/**
 * Make the existing stream `stream` hold at least `replicas` copies (see the
 * module comment). Returns the count it has now.
 */
export async function ensureStreamReplicas(jsm: JetStreamManager, stream: string, o: ReplicaOptions): Promise<number> {
  const info = await jsm.streams.info(stream);
  const have = info.config.num_replicas || 1;
  if (have > o.replicas) {
    o.log?.warn({ stream, replicas: have, natsReplicas: o.replicas }, 'a JetStream stream has more replicas than natsReplicas; left as it is');
    return have;
  }
  if (have === o.replicas || o.raise === false) return have;
  const config: StreamConfig = { ...info.config, num_replicas: o.replicas };
  await placing(stream, o.replicas, () => jsm.streams.update(stream, config));
  await waitForLeader(jsm, stream);
  o.log?.info({ stream, from: have, to: o.replicas }, 'raised the replicas of a JetStream stream to natsReplicas');
  return o.replicas;
}

/**
 * Resolve once `stream` has a leader (a Raft group scaled up elects one
 * within a second or so); writes before that would be refused.
 */
async function waitForLeader(jsm: JetStreamManager, stream: string): Promise<void> {
  const deadline = Date.now() + LEADER_WAIT_MS;
  for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
    const info = await jsm.streams.info(stream);
    if (!info.cluster || info.cluster.leader) return;
    if (Date.now() + delay > deadline) {
      throw new Error(`the JetStream stream "${stream}" elected no leader within ${LEADER_WAIT_MS} ms of being given more replicas`);
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * Open the KV bucket `bucket` (creating it with `replicas` copies when
 * missing, raising an existing one with fewer). `timeoutMs` is the JetStream
 * client's request timeout for the bucket's own operations.
 */
export async function openReplicatedKv(
  nc: NatsConnection,
  bucket: string,
  kvOptions: Partial<KvOptions>,
  o: ReplicaOptions & { timeoutMs?: number },
): Promise<KV> {
  const js = jetstream(nc, o.timeoutMs ? { timeout: o.timeoutMs } : {});
  const stream = `KV_${bucket}`;
  return retryingOpen(
    stream,
    async () => {
      const kv = await placing(stream, o.replicas, () => new Kvm(js).create(bucket, { ...kvOptions, replicas: o.replicas }));
      await ensureStreamReplicas(await jetstreamManager(nc, o.timeoutMs ? { timeout: o.timeoutMs } : {}), stream, o);
      return kv;
    },
    o.log,
  );
}

/** Open the object store bucket `bucket` (file storage), as openReplicatedKv does a KV bucket. */
export async function openReplicatedObjectStore(nc: NatsConnection, bucket: string, o: ReplicaOptions): Promise<ObjectStore> {
  const stream = `OBJ_${bucket}`;
  return retryingOpen(
    stream,
    async () => {
      const os = await placing(stream, o.replicas, () => new Objm(nc).create(bucket, { storage: 'file', replicas: o.replicas }));
      await ensureStreamReplicas(await jetstreamManager(nc), stream, o);
      return os;
    },
    o.log,
  );
}

/**
 * Create the plain stream `config.name` with `replicas` copies, or update an
 * existing one to `config` keeping its replica count when larger and raising
 * it when smaller (durable outputs: services/scheduler/durable-outputs.ts).
 */
export async function createOrUpdateStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, o: ReplicaOptions): Promise<void> {
  await retryingOpen(config.name, () => createOrUpdateOnce(jsm, config, o), o.log);
}

async function createOrUpdateOnce(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, o: ReplicaOptions): Promise<void> {
  const stream = config.name;
  let existing: number | undefined;
  try {
    existing = (await jsm.streams.info(stream)).config.num_replicas || 1;
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound)) throw e;
  }
  if (existing === undefined) {
    await placing(stream, o.replicas, () => jsm.streams.add({ ...config, num_replicas: o.replicas }));
    return;
  }
  // The update keeps today's count (an update without num_replicas would scale it back to 1); raising is ensureStreamReplicas's.
  await jsm.streams.update(stream, { ...config, num_replicas: existing });
  await ensureStreamReplicas(jsm, stream, o);
}
