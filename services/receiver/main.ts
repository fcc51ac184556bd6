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
import { batchReadySchema, executorLostSchema, heartbeatSchema, rateLimitsSchema, receiverHeartbeatSchema, streamsSchema } from '../../lib/nats/schemas.js';
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
import { ReceiverPeers } from './receiver-peers.js';
import { ReceiverServer, type ReceiverShares } from './server.js';
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
    // This receiver's share; the scheduler merges every live receiver's (receiver-tracker.ts).
    announce: (msg) => publish(nc, subjects.batchReady(msg.stream), { ...msg, receiverId: config.receiverId }),
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
  // Receivers gone for good (a replaced pod's name) left their last entries: nobody needs them past the window.
  wal.purgeOrphans(boundary - config.retainBatches * config.batchInterval).catch((err: unknown) => log.warn({ err: String(err) }, 'could not purge old receivers\' write-ahead log entries; tried again at the next start'));

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
  const peers = new ReceiverPeers({ selfId: config.receiverId, timeoutMs: config.receiverTimeout, retainBatches: config.retainBatches });
  // Backpressure's rate is the stream's, shared by every live receiver: each admits its share.
  let lastLimits: ReadonlyArray<{ stream: string; recordsPerSecond: number }> = [];
  const applyLimits = () => {
    const n = peers.liveCount(clock.now());
    ingest.setRateLimits(n === 1 ? lastLimits : lastLimits.map((l) => ({ stream: l.stream, recordsPerSecond: l.recordsPerSecond / n })));
  };
  const shares: ReceiverShares = {
    receiverId: config.receiverId,
    readShare: (receiverId, stream, batchTimeMs) => wal.readShare(receiverId, stream, batchTimeMs),
    adoptSession: async (stream, sessionId, receiverIds) => {
      for (const id of receiverIds) {
        const ranges = await wal.readSessionRanges(id, stream, sessionId);
        ingest.adoptSessionRanges(stream, ranges);
        log.info({ stream, sessionId, from: id, ranges: ranges.length }, 'pusher session failed over from another receiver: its stored seqs adopted');
      }
    },
    merged: (stream, batchTimeMs) => peers.mergedOf(stream, batchTimeMs),
  };
  const server = new ReceiverServer({ ingest, streams: registry, maxMessageBytes: config.maxMessageBytes, quotas, clientKey: quotaKey, shares, log });

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
    subscribe(nc, subjects.rateLimits, rateLimitsSchema, (m) => {
      lastLimits = m.limits;
      applyLimits();
    }, log),
    subscribe(nc, subjects.receiverHeartbeatAll, receiverHeartbeatSchema, (m) => {
      if (peers.observe(m.receiverId, clock.now())) applyLimits();
    }, log),
    subscribe(nc, subjects.batchInputsAll, batchReadySchema, (m) => peers.mergedSeen(m.stream, m.batchTimeMs, m.blocks), log),
  ];

  const tokenFollower = await followTokens(nc, log, { replicas: config.natsReplicas, raise: false });
  const started = await startServer(
    { host: config.host, port: config.port, advertiseAddress: config.advertiseAddress, maxMessageBytes: config.maxMessageBytes, log },
    (s) => s.addService(rivuletV1.Receiver.service, server.handlers()),
  );
  // Announce ourselves before serving (the scheduler must wait for our share of a batch before any push of it is acked
  // here), then every receiverHeartbeatInterval: where we serve, each stream's first batch, and acked records/s.
  // Acked counts sampled at each heartbeat, per stream: the rate is taken over the last second or more (acks come a
  // block at a time, so one heartbeat interval alone swings between 0 and several times the mean).
  const RATE_WINDOW_MS = Math.max(1000, 2 * config.blockInterval);
  let samples = new Map<string, Array<{ records: number; atMs: number }>>();
  const heartbeat = () => {
    const now = clock.now();
    const next = new Map<string, Array<{ records: number; atMs: number }>>();
    const streams = ingest.streamsSummary().map((st) => {
      const list = samples.get(st.stream) ?? [];
      while (list.length > 1 && list[1]!.atMs <= now - RATE_WINDOW_MS) list.shift();
      const from = list[0];
      const rate = from && now > from.atMs ? ((st.ackedRecords - from.records) * 1000) / (now - from.atMs) : 0;
      list.push({ records: st.ackedRecords, atMs: now });
      next.set(st.stream, list);
      return { stream: st.stream, firstBatchTimeMs: st.firstBatchTimeMs, recordsPerSecond: Math.max(0, rate) };
    });
    samples = next;
    try {
      publish(nc, subjects.receiverHeartbeat(config.receiverId), { receiverId: config.receiverId, incarnation, address: started.address, sentAtMs: now, streams });
    } catch (err) {
      log.warn({ err: String(err) }, 'could not publish the receiver heartbeat');
    }
    if (peers.expire(now)) applyLimits();
  };
  heartbeat();
  const heartbeatTimer = setInterval(heartbeat, config.receiverHeartbeatInterval);
  // A new stream's generator: tell the scheduler its first batch before any push of it can be acked.
  ingest.onStreamStarted = heartbeat;
  started.health.set('SERVING');
  log.info(
    {
      receiverId: config.receiverId,
      incarnation,
      address: started.address,
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
      clearInterval(heartbeatTimer);
      for (const s of subs) s.unsubscribe();
      tokenFollower.stop();
      await nc.drain().catch((err: unknown) => log.warn({ err }, 'NATS drain failed'));
      putter.close();
      scheduler.close();
    },
  };
});
