/**
 * The job journal's JetStream KV bucket as the leader lease uses it
 * (leader-lease.ts FencedBucket): followed with a KV watch, written with
 * JetStream's expected-last-sequence check so that a write lands only if
 * nothing else was written since the writer last looked. A KV bucket is a
 * stream (`KV_<bucket>`) whose subjects are `$KV.<bucket>.<key>`; a publish
 * to such a subject is a KV put the watchers see like any other.
 */
import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { Empty, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { errorMessage, UnavailableError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { connectionWatch } from '../../lib/nats/reconnect.js';
import { NatsReplicasError, openReplicatedKv, type ReplicaOptions } from '../../lib/nats/replicas.js';
import { FencedWriteError, type BucketEntry, type FencedBucket } from './leader-lease.js';

/** JetStream's error code for a publish whose expected last sequence did not match. */
const WRONG_LAST_SEQUENCE = 10071;
/** Deadline of one fenced write attempt (the lease sends it again when unanswered). */
const WRITE_TIMEOUT_MS = 2000;

/** KV's purge marker: operation PURGE, rolling up the subject's earlier messages. */
function purgeHeaders(): MsgHdrs {
  const h = headers();
  h.set('KV-Operation', 'PURGE');
  h.set('Nats-Rollup', 'sub');
  return h;
}

export async function openControlBucket(
  nc: NatsConnection,
  bucket: string,
  log: Logger,
  replicas: ReplicaOptions = { replicas: 1 },
): Promise<FencedBucket & { kv: KV }> {
  let kv: KV;
  let jsm: JetStreamManager;
  try {
    // natsReplicas copies (lib/nats/replicas.ts): the lease and the journal survive the loss of a NATS server.
    kv = await openReplicatedKv(nc, bucket, { history: 1 }, replicas);
    jsm = await jetstreamManager(nc);
  } catch (e) {
    if (e instanceof NatsReplicasError) throw e;
    throw new UnavailableError(`cannot open the job journal (JetStream KV bucket "${bucket}"): ${errorMessage(e)}`, { cause: e });
  }
  const js: JetStreamClient = jetstream(nc);
  const stream = `KV_${bucket}`;
  const nats = connectionWatch(nc);
  return {
    kv,
    follow(onEntry: (e: BucketEntry) => void) {
      let stopped = false;
      let iterator: { stop(): void } | undefined;
      void (async () => {
        for (let attempt = 0; !stopped; attempt++) {
          try {
            const it = await kv.watch({ key: '>' });
            iterator = it;
            if (stopped) it.stop();
            for await (const e of it) {
              onEntry({ key: e.key, seq: e.revision, value: e.operation === 'PUT' ? e.value : undefined });
            }
            if (!stopped) log.warn({ bucket }, 'journal watch ended; following it again');
          } catch (e) {
            if (!stopped) log.warn({ bucket, err: errorMessage(e) }, 'cannot follow the journal; trying again');
          }
          if (!stopped) await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(attempt, 5))));
        }
      })();
      return {
        stop() {
          stopped = true;
          iterator?.stop();
        },
      };
    },
    async lastSequence() {
      const info = await nats.request(() => jsm.streams.info(stream), WRITE_TIMEOUT_MS);
      return info.state.last_seq;
    },
    async writeIfLast(key, value, expectedSeq, msgId) {
      try {
        const ack = await nats.request(
          () =>
            js.publish(`$KV.${bucket}.${key}`, value ?? Empty, {
              msgID: msgId,
              expect: { lastSequence: expectedSeq },
              timeout: WRITE_TIMEOUT_MS,
              // A purge, as KV's own: the marker rolls up (removes) every earlier value of the key.
              ...(value === null ? { headers: purgeHeaders() } : {}),
            }),
          WRITE_TIMEOUT_MS,
        );
        return ack.seq;
      } catch (e) {
        if (e instanceof JetStreamApiError && e.code === WRONG_LAST_SEQUENCE) {
          const m = /wrong last sequence: (\d+)/.exec(e.message);
          throw new FencedWriteError(m ? Number(m[1]) : undefined, { cause: e });
        }
        throw e;
      }
    },
    async msgIdAt(seq) {
      const m = await jsm.streams.getMessage(stream, { seq });
      return m?.header?.get('Nats-Msg-Id') || undefined;
    },
  };
}
