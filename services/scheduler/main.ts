/**
 * Scheduler process: reads configuration, connects NATS, dials lineage and the
 * receiver, starts the gRPC server and the batch clock.
 */
import { systemClock } from '../../lib/clock.js';
import { dial, unary } from '../../lib/grpc/client.js';
import { startServer } from '../../lib/grpc/server.js';
import { connectNats, publish, subscribe } from '../../lib/nats/connection.js';
import { subjects, type BatchReadyMessage, type HeartbeatMessage } from '../../lib/nats/subjects.js';
import { rivuletV1 } from '../../lib/proto/index.js';
import { runService } from '../../lib/service-main.js';
import { errorMessage, NotFoundError } from '../../lib/errors.js';
import type { BatchLineage__Output } from '../../lib/proto/gen/rivulet/v1/BatchLineage.js';
import type { Location } from '../../lib/proto/gen/rivulet/v1/Location.js';
import { openJobJournal } from './job-journal.js';
import { readsEarlierBatches } from '../../lib/dstream/graph.js';
import { openDurableOutputs } from './durable-outputs.js';
import type { Job } from './job-registry.js';
import { checkpointBatchOf } from '../../lib/checkpoint/store.js';
import { lazyBlobStore } from '../../lib/nats/blob-store.js';

/**
 * The "executor" a CHECKPOINT location names in lineage: the checkpoint store
 * itself, which no executor loss removes (lineage treats a location with an
 * executor as live).
 */
const CHECKPOINT_STORE = 'checkpoint-store';
import { schedulerConfigSchema } from './config.js';
import { ExecutorGateway } from './executor-gateway.js';
import { Scheduler, type RestoredBatch, type SchedulerPorts } from './scheduler.js';
import { rememberInputTrace } from './batch-telemetry.js';
import { schedulerHandlers } from './server.js';
import { testDriverHandlers } from './test-driver.js';
import { startStatusPage, type StatusPage } from './status-page/server.js';

await runService('scheduler', schedulerConfigSchema, async (config, log) => {
  const nc = await connectNats(config.natsUrl, 'rivulet-scheduler', log);
  const lineage = dial.lineage(config.lineageAddress);
  const receiver = dial.receiver(config.receiverAddress);
  const gateway = new ExecutorGateway(log, config.maxMessageBytes);
  const journal = await openJobJournal(nc, config.jobsBucket, log);
  const durableOutputs = await openDurableOutputs(
    nc,
    config.outputsStream,
    { retentionBatches: config.outputRetentionBatches, maxMessageBytes: config.maxMessageBytes },
    log,
  );
  const checkpoints = lazyBlobStore(nc, config.checkpointBucket);
  /** Fire-and-forget: where pieces now live. A failure is logged; the scheduler does not wait on lineage for these. */
  const recordLocations = (what: string, locations: Location[]): void => {
    unary(lineage, lineage.recordLocations, { locations }, { timeoutMs: 3000, attempts: 3 }).catch((err) =>
      log.warn({ err: err.message }, `lineage RecordLocations (${what}) failed`),
    );
  };

  const ports: SchedulerPorts = {
    gateway,
    registerBatch: async (run) => {
      const plan = run.plan!;
      const ref = (nodeId: number) => ({ jobId: run.job.id, batchTimeMs: run.batchTimeMs, nodeId });
      const inputs = run.job.graph.sources.flatMap((src) =>
        (run.inputs.get(src.stream) ?? []).map((b, partition) => ({
          kind: 'INPUT_BLOCK' as const,
          dataset: ref(src.id),
          partition,
          blockId: b.blockId,
          executorIds: b.executorIds,
          bytes: b.bytes,
        })),
      );
      await unary(
        lineage,
        lineage.registerBatch,
        {
          jobId: run.job.id,
          batchTimeMs: run.batchTimeMs,
          datasets: plan.datasets.map((d) => ({
            ref: ref(d.nodeId),
            operator: d.operator,
            dependency: d.dependency,
            parents: [...d.parents.map(ref), ...(d.earlierParents ?? []).map((e) => ({ jobId: run.job.id, ...e }))],
            numPartitions: d.numPartitions,
          })),
          inputs,
          // The batch a resumed job starts with may have been registered by the scheduler that died.
          replace: run.batchTimeMs === run.job.resumedFromBatchMs,
        },
        { timeoutMs: 3000, attempts: 3 },
      );
    },
    recordJob: (job, bundle) => journal.record(job, bundle),
    persistOutputs: (jobId, commits) => durableOutputs.persist(jobId, commits),
    purgeOutputs: (jobId) => void durableOutputs.purge(jobId),
    journalJob: (job) => journal.update(job),
    recordMapOutput: (run, stage, partition, executorId, bytes) =>
      recordLocations('map output', [
        {
          kind: 'SHUFFLE_OUTPUT',
          dataset: { jobId: run.job.id, batchTimeMs: run.batchTimeMs, nodeId: stage.stage.shuffleNode! },
          partition,
          blockId: `shuffle/${scheduler.shuffleId(run.job.id, run.batchTimeMs, stage.stage.shuffleNode!)}/${partition}`,
          executorIds: [executorId],
          bytes,
        },
      ]),
    recordCachedPartition: (dataset, partition, blockId, executorId, bytes) =>
      recordLocations('cached partition', [{ kind: 'PARTITION', dataset, partition, blockId, executorIds: [executorId], bytes }]),
    recordReplicas: (blocks, executorId) =>
      recordLocations(
        'replicas',
        blocks.map((b) => ({
          kind: 'INPUT_BLOCK' as const,
          dataset: { jobId: b.jobId, batchTimeMs: b.batchTimeMs, nodeId: b.nodeId },
          partition: b.partition,
          blockId: b.blockId,
          executorIds: [executorId],
        })),
      ),
    forgetBatches: (jobId, before) => {
      unary(lineage, lineage.forgetBatches, { jobId, beforeBatchTimeMs: before }, { timeoutMs: 3000, attempts: 2 }).catch((err) =>
        log.debug({ err: err.message }, 'lineage ForgetBatches failed'),
      );
    },
    dropCachedPartitions: (blocks) => {
      unary(
        lineage,
        lineage.dropLocations,
        {
          locations: blocks.map((b) => ({
            kind: 'PARTITION' as const,
            dataset: { jobId: b.jobId, batchTimeMs: b.batchTimeMs, nodeId: b.nodeId },
            partition: b.partition,
            blockId: b.blockId,
          })),
        },
        { timeoutMs: 3000, attempts: 3 },
      ).catch((err) => log.warn({ err: err.message }, 'lineage DropLocations failed'));
    },
    planRebuild: async (targets) => {
      const res = await unary(
        lineage,
        lineage.planRebuild,
        { partitions: targets.map((t) => ({ dataset: { jobId: t.jobId, batchTimeMs: t.batchTimeMs, nodeId: t.nodeId }, partition: t.partition })) },
        { timeoutMs: 3000, attempts: 2 },
      );
      const id = (p: { dataset?: { batchTimeMs?: number | string | Long; nodeId?: number } | null; partition?: number } | null | undefined) => ({
        batchTimeMs: Number(p?.dataset?.batchTimeMs ?? 0),
        nodeId: p?.dataset?.nodeId ?? 0,
        partition: p?.partition ?? 0,
      });
      return {
        tasks: res.tasks.map((t) => ({ target: id(t.partition), reads: t.reads.map(id) })),
        unrecoverable: res.unrecoverable.map(id),
      };
    },
    recordCheckpoint: (dataset, partition, name, bytes) =>
      recordLocations('checkpoint', [{ kind: 'CHECKPOINT', dataset, partition, blockId: name, executorIds: [CHECKPOINT_STORE], bytes }]),
    deleteCheckpoints: (jobId, nodeId, before) => {
      checkpoints()
        .then((store) =>
          store.deleteWhere(`${jobId}/${nodeId === undefined ? '' : `${nodeId}/`}`, (name) => {
            const t = checkpointBatchOf(name);
            return before === undefined || (t !== undefined && t < before);
          }),
        )
        .catch((err) => log.warn({ err: errorMessage(err), jobId }, 'deleting old checkpoints failed; they stay in the checkpoint store'));
    },
    removeExecutorFromLineage: (executorId) => {
      unary(lineage, lineage.removeExecutor, { executorId }, { timeoutMs: 3000, attempts: 3 }).catch((err) =>
        log.warn({ err: err.message }, 'lineage RemoveExecutor failed'),
      );
    },
    fetchBatchBlocks: async (stream, batchTimeMs) => {
      const res = await unary(receiver, receiver.getBatchBlocks, { stream, batchTimeMs }, { timeoutMs: 2000 });
      return {
        complete: res.complete,
        blocks: res.blocks.map((b) => ({ blockId: b.blockId, records: b.records, bytes: Number(b.bytes), executorIds: b.executorIds })),
      };
    },
    publishBatchCompleted: (msg) => publish(nc, subjects.batchCompleted(msg.jobId), msg),
    publishExecutorLost: (msg) => publish(nc, subjects.executorLost(msg.executorId), msg),
    publishStreams: (msg) => publish(nc, subjects.streams, msg),
  };

  const scheduler = new Scheduler(config, systemClock, ports, log);
  const subs = [
    subscribe<HeartbeatMessage>(nc, subjects.heartbeatAll, (msg) => scheduler.post({ type: 'heartbeat', msg }), log),
    subscribe<BatchReadyMessage>(
      nc,
      subjects.batchReadyAll,
      (msg) => {
        // The batch's trace continues from the receiver's (NATS headers): see batch-telemetry.ts.
        rememberInputTrace(msg.blocks);
        scheduler.post({ type: 'batchReady', msg });
      },
      log,
    ),
  ];
  // TEST-ONLY: the SchedulerTesting service (rivulet/testing's runBatches), only with testDriver.
  const testDriver = config.testDriver ? testDriverHandlers(scheduler, log, { maxMessageBytes: config.maxMessageBytes }) : undefined;
  const server = await startServer(config, (s) => {
    s.addService(rivuletV1.Scheduler.service, schedulerHandlers(scheduler, log));
    if (testDriver) s.addService(rivuletV1.SchedulerTesting.service, testDriver);
  });
  // Jobs an earlier incarnation was running carry on (job-journal.ts).
  for (const { job: rec, bundle } of await journal.running()) {
    let job: Job;
    try {
      job = scheduler.restoreJob(rec, bundle);
    } catch (err) {
      log.error({ jobId: rec.id, err: errorMessage(err) }, 'cannot resume a journaled job; marking it failed');
      journal.update({ ...rec, state: 'FAILED', error: `not resumed after a scheduler restart: ${errorMessage(err)}` });
      continue;
    }
    // Its committed outputs, for watchers that ask from the beginning.
    for (const out of job.graph.outputs) {
      try {
        scheduler.outputs.restore(job.id, out.name, await durableOutputs.load(job.id, out.name));
      } catch (err) {
        log.warn({ jobId: job.id, output: out.name, err: errorMessage(err) }, 'cannot read back committed outputs; replays start after the restart');
      }
    }
    if (readsEarlierBatches(job.graph)) void restoreCachedPartitions(job);
    else scheduler.restoreCache(job.id, []);
  }
  scheduler.start();
  // The status page is a window on the scheduler, not part of it: when it
  // cannot start (port taken) the scheduler runs on without it.
  let statusPage: StatusPage | undefined;
  try {
    statusPage = await startStatusPage({ host: config.statusHost, port: config.statusPort, snapshot: (n) => scheduler.status(n), log });
    // Written directly, like the `listening` line: launchers (rivulet up) read
    // the URL from it whatever the log level is.
    process.stdout.write(
      JSON.stringify({ level: 30, time: Date.now(), service: 'scheduler', pid: process.pid, url: statusPage.url, msg: 'status page' }) + '\n',
    );
  } catch (err) {
    log.error({ err, host: config.statusHost, port: config.statusPort }, 'status page not started');
  }
  /** Read back from lineage what a resumed job's windows and states kept (Scheduler.onCacheRestored). */
  async function restoreCachedPartitions(job: Job): Promise<void> {
    const last = job.lastCompletedBatchMs;
    const batches: RestoredBatch[] = [];
    for (let attempt = 0; ; attempt++) {
      batches.length = 0;
      try {
        if (last !== undefined) {
          const horizon = scheduler.restoreHorizonBatches(job);
          for (let i = 0; i < horizon; i++) {
            const t = last - i * config.batchInterval;
            if (t <= job.zeroTimeMs) break;
            let b: BatchLineage__Output;
            try {
              b = await unary(lineage, lineage.getBatch, { jobId: job.id, batchTimeMs: t }, { timeoutMs: 3000 });
            } catch (err) {
              if (err instanceof NotFoundError) continue; // forgotten: nothing reads it any more
              throw err;
            }
            batches.push({
              batchTimeMs: t,
              datasets: b.datasets.map((d) => ({ nodeId: d.ref?.nodeId ?? 0, numPartitions: d.numPartitions })),
              locations: b.locations.map((l) => ({
                kind: l.kind,
                nodeId: l.dataset?.nodeId ?? 0,
                partition: l.partition,
                blockId: l.blockId,
                executorIds: l.executorIds,
              })),
            });
          }
        }
        scheduler.restoreCache(job.id, batches);
        return;
      } catch (err) {
        log.warn({ jobId: job.id, attempt, err: errorMessage(err) }, 'cannot read a resumed job’s cached partitions from lineage yet; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  server.health.set('SERVING');
  return {
    address: server.address,
    stop: async () => {
      await statusPage?.close();
      scheduler.stop();
      for (const s of subs) s.unsubscribe();
      await server.shutdown();
      gateway.close();
      testDriver?.close();
      lineage.close();
      receiver.close();
      await nc.drain();
    },
  };
});
