/**
 * Entry point of the lineage service (`node dist/services/lineage/main.js`):
 * connect to NATS, open the KV bucket, bind the gRPC server (answering
 * NOT_SERVING / UNAVAILABLE meanwhile), load every batch back from KV, enforce
 * maxBatchesPerJob, and only then report SERVING. NATS or JetStream being
 * unavailable at start is fatal with a message that names the URL / bucket.
 * While NATS is disconnected later, health says NOT_SERVING: mutations can't
 * be made durable then (they fail with UNAVAILABLE), though queries still work.
 */
import { errorMessage, UnavailableError } from '../../lib/errors.js';
import { startServer } from '../../lib/grpc/server.js';
import { LeaderTermFence, leaderTermServerInterceptor } from '../../lib/grpc/leader-term.js';
import { leaderOnlyMethods } from '../../lib/security/access-policy.js';
import type { Logger } from '../../lib/log.js';
import { connectNats, type NatsConnection } from '../../lib/nats/connection.js';
import { rivuletV1 } from '../../lib/proto/index.js';
import { runService, type RunningService } from '../../lib/service-main.js';
import { followTokens } from '../../lib/security/service-security.js';
import { lineageConfigSchema, type LineageConfig } from './config.js';
import { KvLineagePersistence } from './kv-persistence.js';
import { LineageStore } from './lineage-store.js';
import { LineageService } from './server.js';

async function start(config: LineageConfig, log: Logger): Promise<RunningService> {
  let nc: NatsConnection;
  try {
    nc = await connectNats(config.natsUrl, 'rivulet-lineage', log);
  } catch (e) {
    throw new UnavailableError(`cannot connect to NATS at ${config.natsUrl}: ${errorMessage(e)}`, { cause: e });
  }
  try {
    const persistence = await KvLineagePersistence.open(nc, config.kvBucket, log, config.natsReplicas);
    const store = new LineageStore({ maxBatchesPerJob: config.maxBatchesPerJob });
    const service = new LineageService({ store, persistence, log });
    const tokenFollower = await followTokens(nc, log, { replicas: config.natsReplicas, raise: false });
    // Mutations of a replaced scheduler are refused (lib/grpc/leader-term.ts). The highest term
    // lives in memory: a lineage restarted while a former leader still runs learns it from the
    // new leader's next call (the former leader is fenced from the journal meanwhile).
    const fence = new LeaderTermFence();
    const server = await startServer(
      {
        host: config.host,
        port: config.port,
        advertiseAddress: config.advertiseAddress,
        maxMessageBytes: config.maxMessageBytes,
        grpcReflection: config.grpcReflection,
        log,
        interceptors: [leaderTermServerInterceptor(fence, leaderOnlyMethods('Lineage'))],
      },
      (s) => s.addService(rivuletV1.Lineage.service, service.handlers()),
    );

    const t0 = performance.now();
    const loaded = await persistence.load();
    for (const b of loaded.batches) store.restoreBatch(b.graph, b.locations);
    // A lower limit than before, or an eviction a crash interrupted.
    const { evicted } = await service.mutate(() => store.planEnforceBatchLimit());
    service.logEvicted(evicted, 'more batches were stored than the limit allows');
    const stats = store.stats();
    log.info(
      { ...stats, orphansPurged: loaded.orphansPurged, corruptSkipped: loaded.corruptSkipped, ms: Math.round(performance.now() - t0) },
      'lineage state loaded',
    );
    service.markReady();

    let natsUp = true;
    const syncHealth = () => server.health.set(natsUp ? 'SERVING' : 'NOT_SERVING');
    syncHealth();
    (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') natsUp = false;
        else if (s.type === 'reconnect') natsUp = true;
        else continue;
        log.warn({ nats: s.type }, natsUp ? 'NATS reconnected; serving again' : 'NATS disconnected; not serving until it is back');
        syncHealth();
      }
    })().catch(() => {});

    return {
      address: server.address,
      stop: async () => {
        await server.shutdown();
        tokenFollower.stop();
        await service.idle();
        await nc.drain();
      },
    };
  } catch (e) {
    await nc.close().catch(() => {});
    throw e;
  }
}

await runService('lineage', lineageConfigSchema, start);
