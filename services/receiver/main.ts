/**
 * Receiver process entry point: wires NATS (heartbeats, executor.lost, streams
 * in; batch.ready out), the scheduler's ListStreams, the executors' PutBlock
 * and the gRPC server around the domain objects, and owns the shutdown order:
 *
 *   NOT_SERVING → refuse new Push calls → finish the batch in progress (cut,
 *   store, ack, announce) → end the remaining calls UNAVAILABLE → stop the
 *   gRPC server → drain NATS (flushes the last batch.ready) → close channels.
 *
 * The only file of the receiver that reads the real clock or randomness.
 */
import { randomBytes } from 'node:crypto';
import { systemClock } from '../../lib/clock.js';
import { UnavailableError } from '../../lib/errors.js';
import { unary } from '../../lib/grpc/client.js';
import { startServer } from '../../lib/grpc/server.js';
import { SchedulerEndpoints } from '../../lib/grpc/scheduler-endpoints.js';
import { connectNats, publish, subscribe } from '../../lib/nats/connection.js';
import { subjects } from '../../lib/nats/subjects.js';
import { executorLostSchema, heartbeatSchema, rateLimitsSchema, streamsSchema } from '../../lib/nats/schemas.js';
import { rivuletV1 } from '../../lib/proto/index.js';
import type { ListStreamsRequest } from '../../lib/proto/gen/rivulet/v1/ListStreamsRequest.js';
import type { ListStreamsResponse__Output } from '../../lib/proto/gen/rivulet/v1/ListStreamsResponse.js';
import { runService } from '../../lib/service-main.js';
import { followTokens } from '../../lib/security/service-security.js';
import { AllocationLog } from './allocation-log.js';
import { GrpcBlockPutter, PlacingReplicator } from './block-replicator.js';
import { receiverConfigSchema } from './config.js';
import { ExecutorDirectory } from './executor-directory.js';
import { Ingest } from './ingest.js';
import { PushQuotas, peerAddressKey, type ClientKeyOf } from './quotas.js';
import { principalOf } from '../../lib/security/authenticate.js';
import { ReceiverServer } from './server.js';
import { StreamRegistry } from './stream-registry.js';
import { JetStreamWalKv } from './wal-kv.js';

/** Deadline of one JetStream request of the write-ahead log (a put that times out nacks its block's pushes). */
const WAL_TIMEOUT_MS = 2000;

await runService('receiver', receiverConfigSchema, async (config, log) => {
  // Part of every block id, so ids never repeat across restarts of the same receiverId.
  const incarnation = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const clock = systemClock;
  const nc = await connectNats(config.natsUrl, `rivulet-receiver-${config.receiverId}`, log);
  // No write-ahead log, no receiver: acking without it could lose acked records.
  const wal = new AllocationLog(await JetStreamWalKv.open(nc, config.walBucket, WAL_TIMEOUT_MS, { replicas: config.natsReplicas, log }), {
    receiverId: config.receiverId,
    incarnation,
    batchIntervalMs: config.batchInterval,
    retainBatches: config.retainBatches,
    bucket: config.walBucket,
    log,
  });

  const directory = new ExecutorDirectory({ clock, executorTimeoutMs: config.executorTimeout });
  // A block may be one whole push (up to maxMessageBytes) or up to maxBlockBytes, plus framing.
  const putter = new GrpcBlockPutter({
    timeoutMs: config.putBlockTimeout,
    maxMessageBytes: Math.max(config.maxBlockBytes, config.maxMessageBytes) + 64 * 1024,
    clock,
    idleTimeoutMs: config.peerIdleTimeout,
  });
  const replicator = new PlacingReplicator({
    directory,
    putter,
    replication: config.replication,
    log,
    clock: systemClock,
    startupGraceUntilMs: systemClock.now() + config.executorTimeout,
  });

  const ingest = new Ingest({
    receiverId: config.receiverId,
    incarnation,
    blockIntervalMs: config.blockInterval,
    batchIntervalMs: config.batchInterval,
    maxBlockBytes: config.maxBlockBytes,
    maxBufferedBytes: config.maxBufferedBytes,
    retainBatches: config.retainBatches,
    clock,
    replicator,
    announce: (msg) => publish(nc, subjects.batchReady(msg.stream), msg),
    log,
    onBackpressure: (paused) => server.setPaused(paused),
    wal,
    rateLimitMaxDelayMs: config.rateLimitMaxDelay,
    pushDedupeRetentionMs: config.pushDedupeRetention,
    maxPushSessions: config.maxPushSessions,
  });
  // Before serving: batches a previous process acked but did not announce are announced now, and
  // GetBatchBlocks answers for them (the scheduler keeps asking for a batch it waits on).
  const boundary = Math.floor(clock.now() / config.batchInterval) * config.batchInterval;
  ingest.recover(await wal.recover(boundary - config.retainBatches * config.batchInterval));

  // One address or several (a leader and standbys): ListStreams goes to the leader.
  const scheduler = new SchedulerEndpoints(config.schedulerAddress);
  const registry = new StreamRegistry({
    batchIntervalMs: config.batchInterval,
    clock,
    lookupCacheMs: config.streamLookupCacheTtl,
    schedulerAddress: config.schedulerAddress,
    listStreams: async () => {
      const res = await scheduler.call(
        (client) => unary<ListStreamsRequest, ListStreamsResponse__Output>(client, client.listStreams, {}, { timeoutMs: 2000, attempts: 2 }),
        { idempotent: true },
      );
      return { streams: res.streams, batchIntervalMs: Number(res.batchIntervalMs) };
    },
    onChange: (active) => ingest.setActiveStreams(active),
    log,
  });

  // Quotas follow the authenticated user when there is one (security on), else the peer address.
  const quotaKey: ClientKeyOf = (call) => {
    const p = principalOf(call);
    return p.kind === 'user' ? `user:${p.user}` : peerAddressKey(call);
  };
  const quotas = new PushQuotas({
    maxConcurrentStreams: config.maxConcurrentStreams,
    maxClientStreams: config.maxClientStreams,
    clientPushRate: config.clientPushRate,
    clock,
  });
  const server = new ReceiverServer({ ingest, streams: registry, maxMessageBytes: config.maxMessageBytes, quotas, clientKey: quotaKey, log });

  const subs = [
    subscribe(nc, subjects.heartbeatAll, heartbeatSchema, (hb) => {
      const r = directory.observe(hb);
      if (r === 'new' || r === 'replaced') log.info({ executorId: hb.executorId, epoch: hb.epoch, address: hb.address }, `executor ${r === 'new' ? 'joined' : 'restarted'}`);
    }, log),
    subscribe(nc, subjects.executorLostAll, executorLostSchema, (m) => {
      directory.lost(m.executorId, m.epoch);
      putter.peerLost(m.executorId);
    }, log),
    subscribe(nc, subjects.streams, streamsSchema, (m) => registry.apply({ streams: m.streams, batchIntervalMs: m.batchIntervalMs }, 'nats'), log),
    subscribe(nc, subjects.rateLimits, rateLimitsSchema, (m) => ingest.setRateLimits(m.limits), log),
  ];

  const tokenFollower = await followTokens(nc, log, { replicas: config.natsReplicas, raise: false });
  const started = await startServer(
    { host: config.host, port: config.port, advertiseAddress: config.advertiseAddress, maxMessageBytes: config.maxMessageBytes, grpcReflection: config.grpcReflection, log },
    (s) => s.addService(rivuletV1.Receiver.service, server.handlers()),
  );
  started.health.set('SERVING');
  log.info(
    {
      receiverId: config.receiverId,
      incarnation,
      walBucket: config.walBucket,
      blockIntervalMs: config.blockInterval,
      batchIntervalMs: config.batchInterval,
      replication: config.replication,
      scheduler: config.schedulerAddress,
    },
    'receiver ready',
  );
  // Learn the active streams now rather than at the scheduler's next periodic
  // StreamsMessage, so empty batches are announced from the start. Not fatal:
  // the scheduler may start after us.
  registry.refresh().catch((err) => log.warn({ err: String(err), scheduler: config.schedulerAddress }, 'initial ListStreams failed; waiting for the scheduler'));

  return {
    address: started.address,
    stop: async () => {
      started.health.set('NOT_SERVING');
      server.beginDrain();
      await ingest.stop();
      server.endAll(new UnavailableError('receiver is shutting down'));
      await started.shutdown(2000);
      for (const s of subs) s.unsubscribe();
      tokenFollower.stop();
      await nc.drain().catch((err: unknown) => log.warn({ err }, 'NATS drain failed'));
      putter.close();
      scheduler.close();
    },
  };
});
