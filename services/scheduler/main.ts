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
import { schedulerConfigSchema } from './config.js';
import { ExecutorGateway } from './executor-gateway.js';
import { Scheduler, type SchedulerPorts } from './scheduler.js';
import { schedulerHandlers } from './server.js';

await runService('scheduler', schedulerConfigSchema, async (config, log) => {
  const nc = await connectNats(config.natsUrl, 'rivulet-scheduler', log);
  const lineage = dial.lineage(config.lineageAddress);
  const receiver = dial.receiver(config.receiverAddress);
  const gateway = new ExecutorGateway(log, config.maxMessageBytes);

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
            parents: d.parents.map(ref),
            numPartitions: d.numPartitions,
          })),
          inputs,
        },
        { timeoutMs: 3000, attempts: 3 },
      );
    },
    recordMapOutput: (run, stage, partition, executorId, bytes) => {
      unary(
        lineage,
        lineage.recordLocations,
        {
          locations: [
            {
              kind: 'SHUFFLE_OUTPUT',
              dataset: { jobId: run.job.id, batchTimeMs: run.batchTimeMs, nodeId: stage.stage.shuffleNode! },
              partition,
              blockId: `shuffle/${run.job.id}:${run.batchTimeMs}:${stage.stage.shuffleNode}/${partition}`,
              executorIds: [executorId],
              bytes,
            },
          ],
        },
        { timeoutMs: 3000, attempts: 3 },
      ).catch((err) => log.warn({ err: err.message }, 'lineage RecordLocations failed'));
    },
    forgetBatches: (jobId, before) => {
      unary(lineage, lineage.forgetBatches, { jobId, beforeBatchTimeMs: before }, { timeoutMs: 3000, attempts: 2 }).catch((err) =>
        log.debug({ err: err.message }, 'lineage ForgetBatches failed'),
      );
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
    subscribe<BatchReadyMessage>(nc, subjects.batchReadyAll, (msg) => scheduler.post({ type: 'batchReady', msg }), log),
  ];
  const server = await startServer(config, (s) => s.addService(rivuletV1.Scheduler.service, schedulerHandlers(scheduler, log)));
  scheduler.start();
  server.health.set('SERVING');
  return {
    address: server.address,
    stop: async () => {
      scheduler.stop();
      for (const s of subs) s.unsubscribe();
      await server.shutdown();
      gateway.close();
      lineage.close();
      receiver.close();
      await nc.drain();
    },
  };
});
