/**
 * One term of leadership: everything a scheduler runs only while it holds
 * the lease (leader-lease.ts), built when it is elected and torn down when
 * it is deposed — a fresh Scheduler (and so fresh shuffle ids and task
 * attempts), channels to lineage and the executors that carry the term
 * (lib/grpc/leader-term.ts, so calls of a replaced leader are refused), the
 * journal written through the lease's fenced writes, and the jobs resumed
 * from the journal the standby followed. What outlives a term — the NATS
 * connection, the gRPC server, the status page, the token follower — lives
 * in main.ts.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { systemClock } from '../../lib/clock.js';
import { dial } from '../../lib/grpc/client.js';
import { leaderTermClientInterceptor } from '../../lib/grpc/leader-term.js';
import type { Logger } from '../../lib/log.js';
import { lazyBlobStore } from '../../lib/nats/blob-store.js';
import type { ReceiverClient } from '../../lib/proto/index.js';
import type { SchedulerHandlers } from '../../lib/proto/gen/rivulet/v1/Scheduler.js';
import type { SchedulerTestingHandlers } from '../../lib/proto/gen/rivulet/v1/SchedulerTesting.js';
import type { SchedulerConfig } from './config.js';
import type { DurableOutputs } from './durable-outputs.js';
import { ExecutorGateway } from './executor-gateway.js';
import { openJobJournal, type FollowedJournal, type JournalWriter } from './job-journal.js';
import { restoreJournaledJobs } from './job-restore.js';
import { schedulerPorts } from './lineage-ports.js';
import { jetStreamPorts } from './jetstream-ports.js';
import { Scheduler } from './scheduler.js';
import { schedulerHandlers } from './server.js';
import type { TokenAdmin } from './token-admin.js';
import type { SinkRunner } from './sink-runner.js';
import type { PreparedJobs } from './standby-prep.js';
import { DrivenBatchSource } from './test-driver/driven-batch-source.js';
import { testDriverHandlers } from './test-driver/handlers.js';

export interface LeaderSessionDeps {
  config: SchedulerConfig;
  nc: NatsConnection;
  receiver: ReceiverClient;
  durableOutputs: DurableOutputs;
  /** The lease's fenced writes. */
  writer: JournalWriter;
  followed: FollowedJournal;
  /** Graphs the standby built ahead (standby-prep.ts). */
  prepared?: PreparedJobs;
  tokens: TokenAdmin;
  /** Writes outputs' sinks (one per process, shared by its terms). */
  sinks?: SinkRunner;
  log: Logger;
}

export class LeaderSession {
  private stopped = false;
  private constructor(
    readonly term: number,
    readonly scheduler: Scheduler,
    readonly handlers: SchedulerHandlers,
    readonly testDriver: (SchedulerTestingHandlers & { close(): void }) | undefined,
    private readonly closeChannels: () => void,
  ) {}

  /** Build the term's scheduler, resume the journaled jobs, start the batch clock. */
  static async start(term: number, deps: LeaderSessionDeps): Promise<LeaderSession> {
    const { config, nc, log } = deps;
    const termInterceptors = [leaderTermClientInterceptor(term)];
    const lineage = dial.lineage(config.lineageAddress, { interceptors: termInterceptors });
    const gateway = new ExecutorGateway(log, config.maxMessageBytes, config.maxTaskResultBytes, termInterceptors);
    const closeChannels = () => {
      gateway.close();
      lineage.close();
    };
    try {
      const replicas = { replicas: config.natsReplicas, log };
      const journal = await openJobJournal(nc, config.jobsBucket, deps.writer, deps.followed, log, replicas);
      const ports = schedulerPorts({
        nc,
        lineage,
        receiver: deps.receiver,
        gateway,
        journal,
        durableOutputs: deps.durableOutputs,
        checkpoints: lazyBlobStore(nc, config.checkpointBucket, replicas),
        shuffleId: (run, node) => scheduler.shuffleId(run, node),
        natsReplicas: config.natsReplicas,
        ...(deps.sinks ? { sinks: deps.sinks } : {}),
        log,
      });
      // JetStream direct sources: stream state, and ranges journaled through the lease's fenced writes.
      ports.jetStream = jetStreamPorts(nc, deps.writer);
      ports.jetStreamJournalOf = (jobId) => deps.followed.jetStreamJournal(jobId);
      const scheduler = new Scheduler(config, systemClock, ports, log);
      // TEST-ONLY batch source: the SchedulerTesting service (rivulet/testing's runBatches), only with testDriver.
      const testDriver = config.testDriver
        ? testDriverHandlers(
            new DrivenBatchSource(scheduler, (jobId, output, t) => scheduler.outputs.retained(jobId, output).find((b) => b.batchTimeMs === t)),
            log,
            { maxMessageBytes: config.maxMessageBytes, interceptors: termInterceptors },
          )
        : undefined;
      await restoreJournaledJobs(scheduler, {
        journal,
        durableOutputs: deps.durableOutputs,
        lineage,
        batchIntervalMs: config.batchInterval,
        log,
        ...(deps.prepared ? { prepared: deps.prepared } : {}),
      });
      const handlers = schedulerHandlers(scheduler, log, { maxMessageBytes: config.maxMessageBytes, maxStatusBytes: config.maxStatusBytes, tokens: deps.tokens });
      scheduler.start();
      return new LeaderSession(term, scheduler, handlers, testDriver, closeChannels);
    } catch (e) {
      closeChannels();
      throw e;
    }
  }

  /** Stop leading: the batch clock, every task set and watcher end; channels close. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.scheduler.stop();
    this.testDriver?.close();
    this.closeChannels();
  }
}
