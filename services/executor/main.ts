/**
 * Executor process entry: reads configuration, starts its incarnation
 * (incarnation.ts: the epoch, and rejoining after being declared lost), the
 * task workers, the gRPC server and the NATS heartbeat, and tears them down in
 * reverse order on SIGTERM/SIGINT.
 *
 *   node dist/services/executor/main.js --executor-id exec-1 --slots 2
 */
import { hostname } from 'node:os';
import { runService } from '../../lib/service-main.js';
import { startServer } from '../../lib/grpc/server.js';
import { LeaderTermFence, leaderTermServerInterceptor } from '../../lib/grpc/leader-term.js';
import { leaderOnlyMethods } from '../../lib/security/access-policy.js';
import { dial, unary } from '../../lib/grpc/client.js';
import type { ReceiverClient } from '../../lib/proto/index.js';
import { jetStreamReader } from './jetstream-reader.js';
import { connectNats, publish, subscribe } from '../../lib/nats/connection.js';
import { batchReadySchema, executorLostSchema } from '../../lib/nats/schemas.js';
import { PlannedTasks } from './planned-tasks.js';
import { subjects } from '../../lib/nats/subjects.js';
import { systemClock } from '../../lib/clock.js';
import { rivuletV1 } from '../../lib/proto/index.js';
import { executorConfigSchema } from './config.js';
import { BlockStore } from './block-store.js';
import { JobBundles } from './job-bundles.js';
import { PeerFetcher } from './peer-fetcher.js';
import { TaskPool } from './task-pool.js';
import { TaskRunner } from './task-runner.js';
import { executorHandlers } from './server.js';
import { startHeartbeats, type HeartbeatHandle } from './heartbeat.js';
import { Incarnation } from './incarnation.js';
import { observeGauge } from '../../lib/telemetry/metrics.js';
import { lazyBlobStore } from '../../lib/nats/blob-store.js';

await runService('executor', executorConfigSchema, async (config, log) => {
  const store = new BlockStore(config.blockStoreBytes);
  const bundles = new JobBundles();
  const pool = new TaskPool({
    slots: config.slots,
    maxBatch: config.tasksPerWorkerMessage,
    batchTargetMs: config.taskBatchTarget,
    flushMs: config.taskResultFlush,
    inputBufferCacheBytes: config.taskInputCacheBytes,
    killGraceMs: config.taskKillGrace,
    loadTimeoutMs: config.taskWorkerLoadTimeout,
    maxWorkers: config.maxTaskWorkers,
    memoryBytes: config.taskWorkerMemory,
    idleTimeoutMs: config.taskWorkerIdleTimeout,
    taskDelayMs: config.taskDelay,
    taskSlowdown: config.taskSlowdown,
    onWorkerExit: ({ slot, exitCode, error, task }) =>
      log.warn({ slot, exitCode, err: error, task }, 'task worker exited; replacing it'),
    onTaskTimeout: ({ slot, operator, timeoutMs }) =>
      log.warn({ slot, operator, timeoutMs }, 'task ran past its timeout; its worker was stopped and replaced'),
    onBusyIdleWorker: ({ slot, source }) => log.warn({ slot, source }, "a job's code kept its idle task worker busy (a timer?); the worker was stopped"),
  });
  const fetcher = new PeerFetcher({
    clock: systemClock,
    timeoutMs: config.fetchTimeout,
    maxMessageBytes: config.maxMessageBytes,
    idleTimeoutMs: config.peerIdleTimeout,
  });
  // Made below; the incarnation reaches them once they exist.
  const late: { heartbeats?: HeartbeatHandle; runner?: TaskRunner; planned?: PlannedTasks } = {};
  // The epoch is unique per incarnation: per process start, and new again
  // whenever the scheduler declares this one lost and it rejoins.
  const incarnation = new Incarnation({
    executorId: config.executorId,
    clock: systemClock,
    store,
    killOlderThan: (epoch) => {
      late.planned?.dropOlderThan(epoch);
      return late.runner?.killOlderThan(epoch) ?? 0;
    },
    beat: () => late.heartbeats?.beat(),
    log,
  });
  const nc = await connectNats(config.natsUrl, `executor-${config.executorId}`, log, (status) => {
    if (status === 'reconnect') {
      log.info({ executorId: config.executorId, epoch: incarnation.epoch }, 'NATS reconnected: announcing this executor again');
      incarnation.reconnected();
    }
  });
  // A peer declared lost: its channel goes (a replacement comes back under a new address or is dialled afresh).
  const lostPeers = subscribe(nc, subjects.executorLostAll, executorLostSchema, (m) => fetcher.peerLost(m.executorId), log);
  // Opened on first use: only state jobs checkpoint.
  const checkpoints = { bucket: config.checkpointBucket, open: lazyBlobStore(nc, config.checkpointBucket, { replicas: config.natsReplicas, log }) };
  // Group scheduling: planned batches start here when the receiver announces them.
  // One client per receiver address a plan names (one receiver today).
  const receivers = new Map<string, ReceiverClient>();
  const receiverAt = (address: string) => {
    let c = receivers.get(address);
    if (!c) receivers.set(address, (c = dial.receiver(address, { maxMessageBytes: config.maxMessageBytes })));
    return c;
  };
  let askRound = 0;
  const planned = new PlannedTasks({
    executorId: config.executorId,
    epoch: () => incarnation.epoch,
    has: (id) => store.get(id) !== undefined,
    onPut: (listener) => store.onPut(listener),
    // The merged list of every receiver's share, as the scheduler published it (batch.inputs); several receiver
    // addresses (comma-separated): a different one each batch, so a gone receiver costs at most a retry.
    fetchBatchBlocks: async (address, stream, batchTimeMs) => {
      const list = address.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
      const client = receiverAt(list[(askRound++ + Math.floor(batchTimeMs / 1000)) % list.length] ?? address);
      const res = await unary(client, client.getBatchBlocks, { stream, batchTimeMs, merged: true }, { timeoutMs: 2000 });
      return { complete: res.complete, blocks: res.blocks.map((b) => ({ blockId: b.blockId, executorIds: b.executorIds })) };
    },
    clock: systemClock,
    log,
  });
  // The scheduler's merged list of each batch (every receiver's share), not one receiver's batch.ready.
  const batchReadySub = subscribe(nc, subjects.batchInputsAll, batchReadySchema, (m) => planned.batchReady(m.stream, m.batchTimeMs, m.blocks), log);
  const runner = new TaskRunner({
    executorId: config.executorId,
    epoch: () => incarnation.epoch,
    store,
    pool,
    bundles,
    fetcher,
    checkpoints,
    jetStream: jetStreamReader(nc),
    log,
    pushTimeoutMs: config.shufflePushTimeout,
  });
  await pool.ready();

  // Calls of a replaced scheduler are refused, and its task streams ended (lib/grpc/leader-term.ts).
  const fence = new LeaderTermFence();
  fence.onNewTerm((term) => log.info({ term }, 'a scheduler of a newer term leads'));
  const server = await startServer(
    {
      host: config.host,
      port: config.port,
      advertiseAddress: config.advertiseAddress,
      maxMessageBytes: config.maxMessageBytes,
      grpcReflection: config.grpcReflection,
      log,
      interceptors: [leaderTermServerInterceptor(fence, leaderOnlyMethods('Executor'))],
    },
    (s) =>
      s.addService(
        rivuletV1.Executor.service,
        executorHandlers({ executorId: config.executorId, epoch: () => incarnation.epoch, store, bundles, runner,
          fetcher,
          maxMessageBytes: config.maxMessageBytes,
          maxAssignedTasks: config.slots * config.taskQueueDepth,
          planned,
          fence,
          log,
        }),
      ),
  );
  const host = config.nodeName || hostname();
  const heartbeats = startHeartbeats({
    clock: systemClock,
    intervalMs: config.heartbeatInterval,
    snapshot: () => {
      const s = store.stats();
      const active = runner.activeCount;
      return {
        executorId: config.executorId,
        epoch: incarnation.epoch,
        address: server.address,
        host,
        slots: config.slots,
        taskQueueDepth: config.taskQueueDepth,
        compactMapOutputs: true,
        streamDrops: true,
        // Tasks still fetching inputs will take a slot shortly: count them as busy.
        freeSlots: Math.max(0, config.slots - active),
        runningTasks: active,
        blockCount: s.count,
        blockBytes: s.bytes,
        blockCapacityBytes: s.capacityBytes,
        jobBundles: bundles.size,
        inputBlocks: incarnation.announcement(),
      };
    },
    publish: (msg) => publish(nc, subjects.heartbeat(config.executorId), msg),
    onError: (err) => log.warn({ err }, 'heartbeat publish failed'),
  });
  const lostSub = subscribe(
    nc,
    subjects.executorLost(config.executorId),
    executorLostSchema,
    (m) => incarnation.declaredLost(Number(m.epoch), m.reason),
    log,
  );
  Object.assign(late, { heartbeats, runner, planned });
  const executorAttr = { 'rivulet.executor.id': config.executorId };
  observeGauge('rivulet.executor.block_store.bytes', 'Bytes held in the block store (input blocks, shuffle buckets)', 'By', () => [
    { value: store.stats().bytes, attributes: executorAttr },
  ]);
  observeGauge('rivulet.executor.block_store.capacity', 'Bound on the block store (blockStoreBytes)', 'By', () => [
    { value: store.stats().capacityBytes, attributes: executorAttr },
  ]);
  observeGauge('rivulet.executor.tasks.running', 'Tasks accepted and not finished (fetching, queued or running)', '{task}', () => [
    { value: runner.activeCount, attributes: executorAttr },
  ]);
  server.health.set('SERVING');
  log.info({ executorId: config.executorId, epoch: incarnation.epoch, slots: config.slots, blockStoreBytes: config.blockStoreBytes }, 'executor ready');

  return {
    address: server.address,
    stop: async () => {
      heartbeats.stop();
      lostPeers.unsubscribe();
      lostSub.unsubscribe();
      batchReadySub.unsubscribe();
      for (const c of receivers.values()) c.close();
      await server.shutdown();
      await pool.close();
      fetcher.close();
      await nc.drain().catch(() => {});
    },
  };
});
