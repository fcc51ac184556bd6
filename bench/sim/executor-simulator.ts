/**
 * BENCHMARK HARNESS, never the product path: one process hosting N simulated
 * executors (bench/sim/simulated-executor.ts) for bench/scheduler-scale.ts.
 * Each has its own gRPC server on 127.0.0.1:0 and its own NATS heartbeats —
 * published with the executor's own heartbeat loop and NATS helpers, on one
 * shared connection — so the real scheduler and receiver see N executors.
 * Nothing in lib/ or services/ may import this (tests/unit/import-rules.test.ts).
 *
 * Started through lib/service-main.ts like a service, so it reads
 * RIVULET_* options, prints the `listening` line launchers wait for (the
 * first executor's address) and stops on SIGTERM:
 *
 *   RIVULET_NATS_URL=nats://127.0.0.1:4222 RIVULET_EXECUTORS=32 RIVULET_SLOTS=4 \
 *     RIVULET_TASK_DURATION=2ms node dist/bench/sim/executor-simulator.js
 *
 * Group plans: it subscribes to NATS batch.ready, as the executor does, and
 * tells every simulated executor of each announced batch; when a map task
 * of a planned shuffle finishes it records the task's buckets, in memory,
 * on its own executor and on those its push targets name (what the real
 * map task's writes and pushes would store), so planned reducers start.
 *
 * Every `statsInterval` it writes a `{"msg":"sim stats",…}` line to stdout
 * (whatever the log level): tasks succeeded / killed / refused, planned
 * tasks started, rejoins
 * (incarnations the scheduler declared lost because this process was too
 * slow to heartbeat) and its own event-loop delay. A benchmark reads them to
 * tell a measurement of the scheduler from one of an overloaded harness.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { hostname } from 'node:os';
import { z } from 'zod';
import { systemClock } from '../../lib/clock.js';
import { bytes, commonOptions, duration, int } from '../../lib/config/index.js';
import { dial, unary } from '../../lib/grpc/client.js';
import { startServer, type StartedServer } from '../../lib/grpc/server.js';
import { connectNats, publish, subscribe } from '../../lib/nats/connection.js';
import { batchReadySchema, executorLostSchema } from '../../lib/nats/schemas.js';
import type { ReceiverClient } from '../../lib/proto/index.js';
import { subjects } from '../../lib/nats/subjects.js';
import { runService } from '../../lib/service-main.js';
import { startHeartbeats, type HeartbeatHandle } from '../../services/executor/heartbeat.js';
import { SimulatedExecutor } from './simulated-executor.js';
import { skimmingExecutorService, type SkimmedWrite } from './task-spec-skim.js';

const simulatorConfigSchema = z.object({
  ...commonOptions,
  /** Simulated executors in this process, with ids `<idPrefix>1`..`<idPrefix>N`. */
  executors: int(8, 1, 4096),
  idPrefix: z.string().regex(/^[A-Za-z0-9_-]+$/).default('sim-'),
  slots: int(4, 1, 1024),
  /** As the executor's option: tasks held per slot (running or queued). */
  taskQueueDepth: int(2, 1, 64),
  /** How long every task holds its slot. */
  taskDuration: duration('2ms'),
  /** Bytes reported for every shuffle bucket a map task writes. */
  bucketSize: int(64, 0),
  blockStoreBytes: bytes('512MiB'),
  /** Must match the scheduler's. */
  heartbeatInterval: duration('250ms'),
  statsInterval: duration('2s'),
});

await runService('executor-simulator', simulatorConfigSchema, async (config, log) => {
  const nc = await connectNats(config.natsUrl, `executor-simulator-${process.pid}`, log);
  const host = hostname();
  const sims = new Map<string, SimulatedExecutor>();
  const servers: StartedServer[] = [];
  const beats: HeartbeatHandle[] = [];
  const firstEpoch = Date.now();
  // One client per receiver address a plan names, shared by every simulated executor.
  const receivers = new Map<string, ReceiverClient>();
  const fetchBatchBlocks = async (address: string, stream: string, batchTimeMs: number) => {
    let client = receivers.get(address);
    if (!client) receivers.set(address, (client = dial.receiver(address, { maxMessageBytes: config.maxMessageBytes })));
    const res = await unary(client, client.getBatchBlocks, { stream, batchTimeMs, merged: true }, { timeoutMs: 2000 });
    return { complete: res.complete, blocks: res.blocks.map((b) => ({ blockId: b.blockId, executorIds: b.executorIds })) };
  };
  const planSuffixes = new Set<string>();
  // A map task of a planned shuffle finished: its buckets are stored on its own executor (all of
  // them) and pushed to the executor planned for each reduce partition. Planned reducers are told
  // of the buckets they may wait for: those pushed to them, and on its own executor the others.
  const mapFinished = (executorId: string, write: SkimmedWrite) => {
    if (!planSuffixes.has(write.shuffleId.slice(write.shuffleId.lastIndexOf(':') + 1))) return;
    const pushed = new Uint8Array(write.numPartitions);
    for (const t of write.pushTargets()) {
      for (const r of t.reducePartitions) if (r < pushed.length) pushed[r] = 1;
      sims.get(t.executorId)?.buckets.put(write.shuffleId, write.mapPartition, t.reducePartitions, t.reducePartitions);
    }
    const own: number[] = [];
    for (let r = 0; r < pushed.length; r++) if (pushed[r] === 0) own.push(r);
    sims.get(executorId)?.buckets.put(write.shuffleId, write.mapPartition, 'all', own);
  };
  const service = skimmingExecutorService((err) => {
    log.fatal({ err }, 'cannot read task requests; stopping');
    process.exit(1);
  });
  for (let i = 1; i <= config.executors; i++) {
    const executorId = `${config.idPrefix}${i}`;
    const sim = new SimulatedExecutor({
      executorId,
      slots: config.slots,
      taskQueueDepth: config.taskQueueDepth,
      taskMs: config.taskDuration,
      bucketSize: config.bucketSize,
      blockStoreBytes: config.blockStoreBytes,
      maxMessageBytes: config.maxMessageBytes,
      host,
      epoch: firstEpoch,
      fetchBatchBlocks,
      planSuffixes,
      mapFinished,
      log,
    });
    const server = await startServer({ host: config.host, port: 0, maxMessageBytes: config.maxMessageBytes }, (s) =>
      s.addService(service, sim.handlers()),
    );
    sim.setAddress(server.address);
    server.health.set('SERVING');
    servers.push(server);
    sims.set(executorId, sim);
    beats.push(
      startHeartbeats({
        clock: systemClock,
        intervalMs: config.heartbeatInterval,
        snapshot: () => sim.heartbeat(),
        publish: (msg) => publish(nc, subjects.heartbeat(executorId), msg),
        onError: (err) => log.warn({ err, executorId }, 'heartbeat publish failed'),
      }),
    );
  }
  const lost = subscribe(nc, subjects.executorLostAll, executorLostSchema, (m) => sims.get(m.executorId)?.declaredLost(Number(m.epoch)), log);
  const batchReady = subscribe(
    nc,
    // The scheduler's merged list of each batch (every receiver's share), as real executors take it.
    subjects.batchInputsAll,
    batchReadySchema,
    (m) => {
      for (const s of sims.values()) s.batchReady(m.stream, m.batchTimeMs, m.blocks);
    },
    log,
  );

  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const stats = setInterval(() => {
    const total = { tasksSucceeded: 0, tasksKilled: 0, tasksRefused: 0, plannedStarted: 0, rejoins: 0 };
    for (const s of sims.values()) for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += s.stats[k];
    const line = {
      msg: 'sim stats',
      timeMs: Date.now(),
      executors: sims.size,
      ...total,
      eventLoopDelayP99Ms: Number((loopDelay.percentile(99) / 1e6).toFixed(1)),
      eventLoopDelayMaxMs: Number((loopDelay.max / 1e6).toFixed(1)),
    };
    loopDelay.reset();
    process.stdout.write(JSON.stringify(line) + '\n');
  }, config.statsInterval);
  log.info({ executors: sims.size, slots: config.slots, taskDurationMs: config.taskDuration }, 'simulated executors ready');

  return {
    address: servers[0]!.address,
    stop: async () => {
      clearInterval(stats);
      loopDelay.disable();
      for (const b of beats) b.stop();
      lost.unsubscribe();
      batchReady.unsubscribe();
      for (const s of sims.values()) s.close();
      await Promise.all(servers.map((s) => s.shutdown(500)));
      for (const c of receivers.values()) c.close();
      await nc.drain().catch(() => undefined);
    },
  };
});
