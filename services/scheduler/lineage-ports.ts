/**
 * The scheduler's ports to the outside world (ports.ts), built on real
 * clients: lineage over gRPC (RegisterBatch, RecordLocations, ForgetBatches,
 * DropLocations, PlanRebuild, RemoveExecutor), the receiver's
 * GetBatchBlocks, the job journal, durable outputs, the checkpoint store and
 * NATS. Fire-and-forget updates go through one LineageWriter (in order,
 * merged while one is in flight; it logs their failures); the scheduler never
 * waits on lineage for a location update.
 */
import type { BatchRun } from './batch-run.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { checkpointBatchOf } from '../../lib/checkpoint/store.js';
import { errorMessage } from '../../lib/errors.js';
import { dial, unary } from '../../lib/grpc/client.js';
import type { Logger } from '../../lib/log.js';
import type { BlobStore } from '../../lib/nats/blob-store.js';
import { natsConnectionInfo, publish } from '../../lib/nats/connection.js';
import { subjects } from '../../lib/nats/subjects.js';
import type { LineageClient, ReceiverClient } from '../../lib/proto/index.js';
import type { Location } from '../../lib/proto/gen/rivulet/v1/Location.js';
import type { DurableOutputs } from './durable-outputs.js';
import type { ExecutorGateway } from './executor-gateway.js';
import type { JobJournal } from './job-journal.js';
import { LineageWriter } from './lineage-writer.js';
import type { SchedulerPorts } from './ports.js';
import type { SinkRunner } from './sink-runner.js';

/**
 * The "executor" a CHECKPOINT location names in lineage: the checkpoint store
 * itself, which no executor loss removes (lineage treats a location with an
 * executor as live).
 */
const CHECKPOINT_STORE = 'checkpoint-store';

export interface PortDeps {
  nc: NatsConnection;
  lineage: LineageClient;
  receiver: ReceiverClient;
  gateway: ExecutorGateway;
  journal: JobJournal;
  durableOutputs: DurableOutputs;
  checkpoints: () => Promise<BlobStore>;
  /** The scheduler's shuffle id for a batch's shuffle node (block ids of map outputs carry it). */
  shuffleId: (run: BatchRun, shuffleNode: number) => string;
  /** natsReplicas, shown in status with the NATS server in use. */
  natsReplicas: number;
  /** The process's sink writer (sink-runner.ts); absent: a job with sinks fails its first batch. */
  sinks?: Pick<SinkRunner, 'write' | 'progressOf' | 'forgetJob'>;
  log: Logger;
}

export function schedulerPorts(d: PortDeps): SchedulerPorts {
  // One channel per receiver address the tracker asks (several receivers; few, and they live as long as the term).
  const receivers = new Map<string, ReceiverClient>();
  const receiverAt = (address: string): ReceiverClient => {
    let c = receivers.get(address);
    if (!c) receivers.set(address, (c = dial.receiver(address)));
    return c;
  };
  const { lineage, log } = d;
  // Fire-and-forget updates, in order, merged while one is in flight (lineage-writer.ts).
  const updates = new LineageWriter(
    {
      recordLocations: (locations) => unary(lineage, lineage.recordLocations, { locations }, { timeoutMs: 3000, attempts: 3 }),
      dropLocations: (locations) => unary(lineage, lineage.dropLocations, { locations }, { timeoutMs: 3000, attempts: 3 }),
      forgetBatches: (jobId, beforeBatchTimeMs) => unary(lineage, lineage.forgetBatches, { jobId, beforeBatchTimeMs }, { timeoutMs: 3000, attempts: 2 }),
      removeExecutor: (executorId) => unary(lineage, lineage.removeExecutor, { executorId }, { timeoutMs: 3000, attempts: 3 }),
    },
    log,
  );
  const recordLocations = (what: string, locations: Location[]): void => updates.send({ kind: 'record', what, locations });
  return {
    gateway: d.gateway,
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
          datasets: plan.datasets.map((ds) => ({
            ref: ref(ds.nodeId),
            operator: ds.operator,
            dependency: ds.dependency,
            parents: [...ds.parents.map(ref), ...(ds.earlierParents ?? []).map((e) => ({ jobId: run.job.id, ...e }))],
            numPartitions: ds.numPartitions,
          })),
          inputs,
          // The batch a resumed job starts with may have been registered by the scheduler that died.
          replace: run.batchTimeMs === run.job.resumedFromBatchMs,
        },
        { timeoutMs: 3000, attempts: 3 },
      );
    },
    recordJob: (job, bundle) => d.journal.record(job, bundle),
    persistOutputs: (jobId, commits) => d.durableOutputs.persist(jobId, commits),
    ...(d.sinks ? { writeSinks: d.sinks.write.bind(d.sinks), sinkProgress: d.sinks.progressOf.bind(d.sinks) } : {}),
    purgeOutputs: (jobId) => {
      void d.durableOutputs.purge(jobId); // logs its own failure and never rejects
    },
    journalJob: (job) => d.journal.update(job),
    forgetJob: (jobId, journaled) => {
      d.sinks?.forgetJob(jobId);
      // Logged by the journal; the next leader does not resume an ended job anyway.
      if (journaled) d.journal.forget(jobId).catch(() => undefined);
    },
    recordMapOutput: (run, stage, partition, executorId, bytes) =>
      recordLocations('map output', [
        {
          kind: 'SHUFFLE_OUTPUT',
          dataset: { jobId: run.job.id, batchTimeMs: run.batchTimeMs, nodeId: stage.stage.shuffleNode! },
          partition,
          blockId: `shuffle/${d.shuffleId(run, stage.stage.shuffleNode!)}/${partition}`,
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
    forgetBatches: (jobId, before) => updates.send({ kind: 'forget', jobId, beforeBatchTimeMs: before }),
    dropCachedPartitions: (blocks) =>
      updates.send({
        kind: 'drop',
        locations: blocks.map((b) => ({
          kind: 'PARTITION' as const,
          dataset: { jobId: b.jobId, batchTimeMs: b.batchTimeMs, nodeId: b.nodeId },
          partition: b.partition,
          blockId: b.blockId,
        })),
      }),
    planRebuild: async (targets) => {
      // The plan reads locations: every one the scheduler recorded before asking is in it (unless lineage
      // does not answer for as long as the call itself may take, when the call would not fare better).
      await updates.settled(3000);
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
      return { tasks: res.tasks.map((t) => ({ target: id(t.partition), reads: t.reads.map(id) })), unrecoverable: res.unrecoverable.map(id) };
    },
    recordCheckpoint: (dataset, partition, name, bytes) =>
      recordLocations('checkpoint', [{ kind: 'CHECKPOINT', dataset, partition, blockId: name, executorIds: [CHECKPOINT_STORE], bytes }]),
    deleteCheckpoints: (jobId, nodeId, before) => {
      d.checkpoints()
        .then((store) =>
          store.deleteWhere(`${jobId}/${nodeId === undefined ? '' : `${nodeId}/`}`, (name) => {
            const t = checkpointBatchOf(name);
            return before === undefined || (t !== undefined && t < before);
          }),
        )
        .catch((err: unknown) => log.warn({ err: errorMessage(err), jobId }, 'deleting old checkpoints failed; they stay in the checkpoint store'));
    },
    removeExecutorFromLineage: (executorId) => updates.send({ kind: 'removeExecutor', executorId }),
    fetchBatchBlocks: async (stream, batchTimeMs, target) => {
      const client = target ? receiverAt(target.address) : d.receiver;
      const res = await unary(client, client.getBatchBlocks, { stream, batchTimeMs, receiverId: target?.receiverId ?? '' }, { timeoutMs: 2000 });
      return {
        complete: res.complete,
        blocks: res.blocks.map((b) => ({ blockId: b.blockId, records: b.records, bytes: Number(b.bytes), executorIds: b.executorIds })),
      };
    },
    publishBatchCompleted: (msg) => publish(d.nc, subjects.batchCompleted(msg.jobId), msg),
    publishExecutorLost: (msg) => publish(d.nc, subjects.executorLost(msg.executorId), msg),
    publishStreams: (msg) => publish(d.nc, subjects.streams, msg),
    publishBatchInputs: (msg) => publish(d.nc, subjects.batchInputs(msg.stream), msg),
    probeReceiver: async (address, timeoutMs) => {
      const health = dial.health(address);
      try {
        return (await unary(health, health.check, { service: '' }, { timeoutMs })).status === 'SERVING';
      } catch {
        return false;
      } finally {
        health.close();
      }
    },
    publishRateLimits: (msg) => publish(d.nc, subjects.rateLimits, msg),
    natsStatus: () => ({ ...natsConnectionInfo(d.nc), replicas: d.natsReplicas }),
  };
}
