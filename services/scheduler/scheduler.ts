/**
 * The scheduler: one event loop that owns every piece of scheduler state
 * (Spark's DAGScheduler event loop), and the components it routes events
 * to. Timers, NATS messages, gRPC results and client requests all become a
 * `SchedulerEvent` (events.ts) handled one at a time by `handle`; nothing
 * mutates state after an `await` — asynchronous work posts its outcome back
 * as another event, and client requests get their answer through a reply.
 *
 * Components, each owning one kind of state (see each file's header):
 *   job-manager        jobs' lifecycle and journal
 *   job-generator      the batch clock, per-job batch queues, inputs per batch
 *   batch-dag          a batch from QUEUED to committed: stages, lineage, outputs, release
 *   foreach-runner     each job's foreachBatch functions, in a worker thread of its own
 *   task-set-manager   task attempts: launch, results, retries, fencing, speculation
 *   placement          (pure) where a task runs: locality levels and delay scheduling
 *   task-spec          (pure) what a task attempt is told to do
 *   cache-registry     cached partitions (windows and state) and where they live
 *   state-recovery     state checkpoints and rebuilding lost state
 *   replication-manager  copies of input blocks and cached partitions
 *   executor-tracker   executor liveness and slot accounting
 *   liveness-guard     whether the scheduler can see well enough to declare anyone lost
 *   jetstream-source   JetStream direct sources: each batch's ranges, journaled before it runs
 *   backpressure       feeds rate-controller (pure: each stream's ingest rate from completed batches), publishes the limits
 *   status             the status view
 */
import { randomBytes } from 'node:crypto';
import { sourceInputKey } from '../../lib/dstream/graph.js';
import { planTask } from '../../lib/dstream/planner.js';
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { errorMessage, FailedPreconditionError, InvalidArgumentError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { HeartbeatMessage } from '../../lib/nats/subjects.js';
import type { ClusterStatus } from '../../lib/proto/gen/rivulet/v1/ClusterStatus.js';
import { Backpressure } from './backpressure.js';
import { BatchDag, type BatchFinishedListener } from './batch-dag.js';
import type { BatchRun, InputBlock, StageRun } from './batch-run.js';
import type { BatchSourceHost } from './batch-source.js';
import { BatchTelemetry, inheritInputTrace } from './batch-telemetry.js';
import { CacheRegistry, type RestoredBatch } from './cache-registry.js';
import { taskTimeoutMs, type SchedulerConfig } from './config.js';
import type { Reply, SchedulerEvent } from './events.js';
import { ExecutorTracker, type ExecutorChange, type TrackedExecutor } from './executor-tracker.js';
import { ForeachRunner } from './foreach-runner.js';
import { ReceiverTracker } from './receiver-tracker.js';
import { observeGauge } from '../../lib/telemetry/metrics.js';
import { Attr } from '../../lib/telemetry/tracing.js';
import { JobGenerator } from './job-generator.js';
import type { JobRecord } from './job-journal.js';
import { JobManager, type LoadedJobRequest } from './job-manager.js';
import { JobRegistry, type Job } from './job-registry.js';
import { LivenessGuard } from './liveness-guard.js';
import { OutputStore, type CommittedBatch } from './output-store.js';
import type { SchedulerPorts } from './ports.js';
import { ReplicationManager, endpoint } from './replication-manager.js';
import { StateRecovery } from './state-recovery.js';
import { clusterStatus, type StatusQuery } from './status.js';
import { GroupPlanner } from './group-planner.js';
import type { DescribedJob } from '../../lib/dstream/sandbox.js';
import type { LeaderStatus } from '../../lib/proto/gen/rivulet/v1/LeaderStatus.js';
import { TaskSetManager } from './task-set-manager.js';
import { JetStreamSource, type JetStreamSourcePorts } from './jetstream-source.js';
import { buildTaskSpec, type TaskSpecContext } from './task-spec.js';

export type { SchedulerPorts } from './ports.js';
export type { SchedulerEvent } from './events.js';
export type { RestoredBatch } from './cache-registry.js';
export { cachedBlockId } from './cache-registry.js';

/** How long a refused restart claim (an epoch whose old incarnation still answered) is ignored before it is checked again. */
const RESTART_CHECK_MEMORY_MS = 30_000;

export class Scheduler implements BatchSourceHost {
  /** Claimed restarts being checked or recently refused, by `id@epoch`, until when (claimsRestartOfLiveExecutor). */
  private readonly restartChecks = new Map<string, number>();
  readonly jobs: JobRegistry;
  readonly executors: ExecutorTracker;
  readonly outputs: OutputStore;
  private readonly queue: SchedulerEvent[] = [];
  private draining = false;
  private readonly jobManager: JobManager;
  private readonly generator: JobGenerator;
  /** Receivers' membership and the merge of their shares of each batch. */
  private readonly receivers: ReceiverTracker;
  private readonly dag: BatchDag;
  private readonly tasks: TaskSetManager;
  private readonly planner: GroupPlanner;
  private readonly cache: CacheRegistry;
  private readonly state: StateRecovery;
  private readonly replication: ReplicationManager;
  readonly liveness: LivenessGuard;
  /** Jobs' foreachBatch functions, each job's in its own worker thread. */
  private readonly foreach: ForeachRunner;
  /** When `executor.lost` was last repeated to a fenced incarnation still heartbeating, by executor id. */
  private readonly fenceNotices = new Map<string, number>();
  /** JetStream direct sources: each batch's ranges, decided and journaled before it runs. */
  private readonly jetStream: JetStreamSource;
  /** Backpressure's rate estimates; undefined when backpressure is off. */
  private readonly backpressure: Backpressure | undefined;
  private readonly timers: Array<TimerHandle | undefined> = [];
  private stopped = false;
  /** Distinguishes this process's shuffle outputs and cached blocks from an earlier scheduler's. */
  private readonly incarnation = randomBytes(3).toString('hex');

  constructor(
    private readonly config: SchedulerConfig,
    private readonly clock: Clock,
    private readonly ports: SchedulerPorts,
    private readonly log: Logger,
  ) {
    const post = (e: SchedulerEvent) => this.post(e);
    this.jobs = new JobRegistry(log);
    this.executors = new ExecutorTracker(clock, config.heartbeatInterval, config.maxMissedHeartbeats, this.log);
    this.liveness = new LivenessGuard({
      clock,
      timeoutMs: config.heartbeatInterval * config.maxMissedHeartbeats,
      maxLagMs: config.livenessMaxLag,
      checkIntervalMs: this.livenessCheckIntervalMs,
      onTransition: (from, to, reason) =>
        (to === 'SUSPENDED' ? log.warn : log.info).call(log, { from, to, reason }, `executor loss judgements ${from} -> ${to}`),
    });
    this.outputs = new OutputStore(config.outputRetentionBatches, config.outputRetentionBytes);
    const telemetry = new BatchTelemetry(() => this.executors.alive().length);
    this.jobManager = new JobManager(config, clock, this.jobs, this.outputs, this.executors, ports, log);
    this.generator = new JobGenerator(config, clock, this.jobs, this.executors, ports, post, log);
    this.receivers = new ReceiverTracker({
      clock,
      batchIntervalMs: config.batchInterval,
      receiverTimeoutMs: config.receiverTimeout,
      warmAtMs: clock.now() + 1.5 * config.receiverHeartbeatInterval,
      log,
      onMerged: (shares, merged) => inheritInputTrace(shares, merged),
      probe: ports.probeReceiver
        ? (r) => {
            const { receiverId, incarnation } = r;
            ports.probeReceiver!(r.address, Math.min(config.receiverTimeout, 1000)).then(
              (serving) => this.post({ type: 'receiverProbed', receiverId, incarnation, serving }),
              () => this.post({ type: 'receiverProbed', receiverId, incarnation, serving: false }),
            );
          }
        : undefined,
    });
    this.generator.askInputs = (stream, t, retry) => this.askShares(stream, t, retry);
    // Per-receiver ingest rates, as the receivers' heartbeats report them (also in GetStatus.receivers).
    observeGauge('rivulet.receiver.ingest_rate', 'Records per second each receiver acked, per stream (about the last second, from its heartbeats)', '{record}/s', () =>
      this.receivers.alive().flatMap((r) => [...r.streams].map(([stream, st]) => ({ value: st.recordsPerSecond, attributes: { 'rivulet.receiver_id': r.receiverId, [Attr.STREAM]: stream } }))),
    );
    observeGauge('rivulet.receivers.alive', 'Receivers the scheduler hears (their shares of every batch are waited for)', '{receiver}', () => [{ value: this.receivers.alive().length }]);
    this.cache = new CacheRegistry(this.executors, ports, this.incarnation);
    this.state = new StateRecovery(this.cache, ports, post, log);
    this.replication = new ReplicationManager(config.replication, this.executors, this.cache, ports, post, log);
    const specContext: TaskSpecContext = {
      liveExecutor: (id) => {
        const e = this.executors.get(id);
        return e && e.state === 'ALIVE' ? { executorId: e.id, address: e.address, epoch: e.epoch } : undefined;
      },
      readsCompactMapOutputs: (id) => this.executors.get(id)?.lastReport?.compactMapOutputs === true,
      executorsVersion: () => this.executors.membershipVersion,
      cachedBlock: (jobId, nodeId, t, p) => this.cache.block(jobId, nodeId, t, p),
      cachedBlockId: (jobId, t, nodeId, p) => this.cache.blockId(jobId, t, nodeId, p),
      stateRebuild: (run, nodeId, p) => this.state.rebuildOf(run, nodeId, p),
      shuffleId: (run, node) => this.shuffleId(run, node),
      traceContext: (run, stage) => telemetry.taskContext(run, stage),
      taskTimeoutMs: taskTimeoutMs(config),
      maxTaskResultBytes: config.maxTaskResultBytes,
      maxMessageBytes: config.maxMessageBytes,
      log,
    };
    this.tasks = new TaskSetManager(config, clock, this.executors, ports.gateway, (t) => buildTaskSpec(t, specContext), telemetry, post, log);
    this.planner = new GroupPlanner({
      config,
      clock,
      executors: this.executors,
      gateway: ports.gateway,
      shuffleIdSuffix: this.incarnation,
      receiverAddress: config.receiverAddress,
      waitingBatches: (jobId) => this.generator.queue(jobId).filter((r) => r.state === 'QUEUED').length,
      limits: {
        timeoutMs: taskTimeoutMs(config),
        maxResultBytes: config.maxTaskResultBytes,
        maxMessageBytes: config.maxMessageBytes,
        inputWaitTimeoutMs: config.groupInputWait,
      },
      log,
    });
    ports.gateway.plannedResult = (result) => this.post({ type: 'plannedResult', result });
    ports.gateway.channelBroken = (executorId, epoch, unreachable) => this.post({ type: 'taskChannelBroken', executorId, epoch, unreachable });
    ports.gateway.readsStreamDrops = (id) => this.executors.get(id)?.lastReport?.streamDrops === true;
    this.foreach = new ForeachRunner(
      { buildTimeoutMs: config.jobBuildTimeout, memoryBytes: config.jobSandboxMemory, timeoutMs: config.foreachBatchTimeout },
      log,
    );
    this.dag = new BatchDag({
      config,
      clock,
      executors: this.executors,
      jobs: this.jobManager,
      generator: this.generator,
      tasks: this.tasks,
      planner: this.planner,
      cache: this.cache,
      state: this.state,
      replication: this.replication,
      outputs: this.outputs,
      foreach: this.foreach,
      telemetry,
      ports,
      post,
      log,
    });
    this.tasks.listener = this.dag;
    this.tasks.inputUnavailable = (t) => this.inputUnavailable(t.run, t.stageRun, t.partition);
    this.generator.onFellBehind = (job, message) => this.jobManager.fail(job, message);
    this.jetStream = new JetStreamSource({
      clock,
      ports: ports.jetStream ?? noJetStream,
      post,
      queue: (jobId) => this.generator.queue(jobId),
      inputsAttached: (run) => this.generator.inputsAttached(run),
      fail: (job, message) => this.jobManager.fail(job, message),
      log,
    });
    this.dag.onBatchFinished((run) => {
      if (run.state === 'COMPLETED') this.jetStream.batchCompleted(run);
    });
    this.backpressure = config.backpressure ? new Backpressure(config, clock, ports, log) : undefined;
    // Called from inside the loop (a batch completes while an event is handled).
    this.dag.onBatchFinished((run) => this.backpressure?.batchFinished(run));
    this.jobManager.listener = {
      jobAdded: (job) => {
        this.generator.addJob(job);
        this.jetStream.addJob(job, this.ports.jetStreamJournalOf?.(job.id));
        this.backpressure?.jobStarted(job);
      },
      jobEnded: (job, reason) => {
        this.generator.dropJob(job.id);
        this.jetStream.dropJob(job.id);
        this.backpressure?.jobEnded(job.id);
        this.dag.abandonBatches(job, reason);
        this.cache.dropJob(job.id);
        this.state.dropJob(job.id);
        this.planner.jobEnded(job.id);
        this.foreach.jobEnded(job.id);
        // After the planner's revocations (queued on the same streams): executors drop the job's bundle.
        for (const e of this.executors.alive()) this.ports.gateway.jobEnded(endpoint(e), job.id);
      },
    };
  }

  private get livenessCheckIntervalMs(): number {
    return Math.max(10, Math.floor(this.config.heartbeatInterval / 5));
  }

  get batchIntervalMs(): number {
    return this.config.batchInterval;
  }

  // ---------------------------------------------------------------- lifecycle

  start(): void {
    this.generator.start();
    // Liveness is checked several times per heartbeat interval so a loss is
    // noticed within a fraction of an interval after the last missed beat.
    this.every(0, this.livenessCheckIntervalMs, () => this.post({ type: 'livenessCheck' }));
    this.every(1, 1000, () => this.jobManager.publishStreams());
    if (this.config.speculation) this.every(2, this.config.speculationInterval, () => this.post({ type: 'speculationCheck' }));
    // Best-effort: a receiver that missed a change (or started since) has it within one interval.
    if (this.backpressure) this.every(3, this.config.batchInterval, () => this.backpressure?.publish());
    // batch.inputs lost to a NATS outage would leave planned batches unstarted: published again while unfinished.
    this.every(4, 1000, () => this.post({ type: 'republishInputs' }));
  }

  /** Every running job's JetStream source filters with their lag (metrics). */
  jetStreamStatus(): Array<{ jobId: string; sources: ReturnType<JetStreamSource['status']> }> {
    return [...this.jobs.running()].map((job) => ({ jobId: job.id, sources: this.jetStream.status(job) })).filter((j) => j.sources.length > 0);
  }

  /** Backpressure's current limits (status, metrics); empty when off. */
  rateLimits(): Array<{ stream: string; recordsPerSecond: number }> {
    return this.backpressure?.limits() ?? [];
  }

  private every(slot: number, ms: number, fn: () => void): void {
    const run = () => {
      if (this.stopped) return;
      fn();
      this.timers[slot] = this.clock.setTimeout(run, ms);
    };
    run();
  }

  /** True once stopped (shut down, or its term of leadership ended): work still in flight for it should end. */
  get isStopped(): boolean {
    return this.stopped;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) if (t) this.clock.clearTimeout(t);
    this.generator.stop();
    this.tasks.stop();
    this.foreach.close();
    this.outputs.interruptAll('this scheduler stopped serving outputs (it shut down or no longer leads); reconnect to the leader');
  }

  // ---------------------------------------------------------------- the event loop

  post(event: SchedulerEvent): void {
    // A scheduler that stopped leading is done: late answers to its calls change nothing.
    if (this.stopped) return;
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const e = this.queue.shift()!;
        try {
          this.handle(e);
        } catch (err) {
          this.log.error({ err, event: e.type }, 'scheduler event handler failed');
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private handle(e: SchedulerEvent): void {
    switch (e.type) {
      case 'submitJob':
        return answer(e.reply, () => this.jobManager.submit(e.request));
      case 'stopJob':
        return answer(e.reply, () => this.jobManager.stop(e.jobId));
      case 'withdrawJob':
        return answer(e.reply, () => this.jobManager.withdraw(e.jobId, e.reason));
      case 'restoreJob':
        return answer(e.reply, () => this.onRestoreJob(e.record, e.request));
      case 'outputsRestored':
        if (this.jobs.find(e.jobId)) this.outputs.restore(e.jobId, e.output, e.batches);
        return;
      case 'cacheRestored':
        return this.onCacheRestored(e.jobId, e.batches);
      case 'enqueueBatch':
        return answer(e.reply, () => this.onEnqueueBatch(e.jobId, e.batchTimeMs, e.inputs));
      case 'tick':
        this.generator.tick(e.batchTimeMs);
        this.jetStream.poll(this.jobs.running());
        return this.dag.startReadyBatches();
      case 'jetStreamInfo':
        this.jetStream.streamInfo(this.jobs.find(e.jobId), e.batchTimeMs, e.infos, e.error);
        return this.dag.startReadyBatches();
      case 'jetStreamJournaled':
        this.jetStream.journaled(this.jobs.find(e.jobId), e.batchTimeMs, e.journal, e.decided, e.error);
        return this.dag.startReadyBatches();
      case 'jetStreamRetry':
        this.jetStream.retry(this.jobs.find(e.jobId));
        return this.dag.startReadyBatches();
      case 'batchReady': {
        const merged = this.receivers.share(e.msg);
        if (merged) this.onBatchInputs(e.msg.stream, e.msg.batchTimeMs, merged);
        return;
      }
      case 'republishInputs':
        // As first published: the replicas each block was announced on (executors split map tasks by them).
        for (const r of this.generator.inputsUpTo(this.clock.now() - this.config.batchInterval - this.config.batchReadyTimeout)) {
          this.publishInputs(r.stream, r.batchTimeMs, r.blocks.map((b) => ({ ...b, executorIds: [...(b.announcedOn ?? b.executorIds)] })));
        }
        return;
      case 'receiverProbed':
        if (this.receivers.probed(e.receiverId, e.incarnation, e.serving)) this.completeInputs();
        return;
      case 'receiverHeartbeat':
        this.receivers.heartbeat(e.msg, e.seenAtMs, e.warm);
        return this.completeInputs();
      case 'inputTimeout':
        return this.generator.inputTimeout(e.batchTimeMs);
      case 'heartbeat':
        return this.onHeartbeat(e.msg, e.verified === true);
      case 'livenessCheck':
        // Silence means loss only when the scheduler itself could hear (liveness-guard.ts).
        if (!this.liveness.mayJudge()) return;
        if (this.receivers.expire().length > 0) this.completeInputs();
        return this.onExecutorChanges(this.executors.expire());
      case 'livenessSignal':
        this.liveness.observe(e.signal);
        // Lineage keeps its state in JetStream: a registration that failed for the outage need not wait out its retry delay.
        if (e.signal.kind === 'reconnected') this.dag.natsReconnected();
        return;
      case 'executorUnreachable': {
        const exec = this.executors.get(e.executorId);
        if (!exec || exec.epoch !== e.epoch) return;
        // A probe that timed out while this process was stalled proves nothing.
        if (this.liveness.status().state === 'SUSPENDED') return;
        const change = this.executors.markLost(exec, 'unreachable: a task call broke and the health probe failed');
        return this.onExecutorChanges(change ? [change] : []);
      }
      case 'blocksReplicated':
        this.replication.blocksReplicated(e.executorId, e.epoch, e.blockIds, this.generator.liveInputBlocks());
        return this.tasks.schedule();
      case 'batchRegistered':
        this.dag.batchRegistered(e.run);
        return this.tasks.schedule();
      case 'batchRegisterFailed':
        return this.dag.batchRegisterFailed(e.run, e.error);
      case 'taskResult': {
        // A result from an incarnation declared lost: tell it (it rejoins); the result itself is fenced.
        const from = this.executors.get(e.result.executorId);
        if (from && from.state === 'LOST' && from.epoch === Number(e.result.epoch)) this.noticeFenced(from);
        this.tasks.onResult(e.result);
        return this.planner.slowFlagsSeen(this.jobs.running());
      }
      case 'taskResults':
        for (const r of e.results) {
          const from = this.executors.get(r.executorId);
          if (from && from.state === 'LOST' && from.epoch === Number(r.epoch)) this.noticeFenced(from);
        }
        this.tasks.onResults(e.results);
        return this.planner.slowFlagsSeen(this.jobs.running());
      case 'adoptedResults':
        this.tasks.onResults(this.tasks.takeAdoptedResults());
        return this.planner.slowFlagsSeen(this.jobs.running());
      case 'plannedResult':
        // Adopted meanwhile (the result was on its way when the run took the attempt on): handled as any result.
        if (this.tasks.isRunning(e.result.taskId, e.result.attempt)) return this.tasks.onResult(e.result);
        return this.planner.keep(e.result);
      case 'taskChannelBroken': {
        const exec = this.executors.get(e.executorId);
        if (!exec || exec.epoch !== e.epoch || exec.state !== 'ALIVE') return;
        // Its plans may be gone, and it may be gone: no new plan counts on it until a probe says it answers.
        this.planner.channelBroken(e.executorId, e.epoch);
        // Probe it now, whatever broke the call: an executor running planned tasks has nothing launched in
        // flight, and a kill -9'd one refuses the probe's connection at once — seconds before its heartbeats
        // are missed, and before any planned batch waits on its share.
        this.tasks.onTasksLost(e.executorId, e.epoch, [], `the task stream of executor ${e.executorId} broke`, true);
        return this.planner.refresh(this.jobs.running());
      }
      case 'executorAnswered':
        if (this.planner.executorAnswered(e.executorId, e.epoch)) this.planner.refresh(this.jobs.running());
        return;
      case 'tasksLost':
        return this.tasks.onTasksLost(e.executorId, e.epoch, e.taskIds, e.error, e.unreachable);
      case 'speculationCheck':
        return this.tasks.speculate();
      case 'stateRebuildPlanned':
        this.dag.stateRebuildPlanned(e.run, e.nodeId, e.plans);
        return this.tasks.schedule();
      case 'foreachBatchDone':
        return this.dag.foreachBatchDone(e.run, e.error);
      case 'sinksWritten':
        return this.dag.sinksWritten(e.run, e.error);
      case 'batchJournaled':
        this.jetStream.batchJournaled(e.run);
        return this.dag.releaseBatchData(e.run);
      case 'reschedule':
        return this.tasks.schedule();
    }
  }

  // ---------------------------------------------------------------- client requests (answered from the loop)

  /** Load and register a job. Rejects with InvalidArgumentError / UnavailableError / ResourceExhaustedError for the client. */
  async submitJob(bundle: string, source: string, name: string, owner = ''): Promise<Job> {
    let request: LoadedJobRequest;
    try {
      request = { ...(await this.jobManager.load(bundle, source, name, { journal: true, batches: 'clock' })), owner };
    } catch (err) {
      throw asError(err);
    }
    return this.submitLoaded(request);
  }

  submitLoaded(request: LoadedJobRequest): Promise<Job> {
    return this.request<Job>((reply) => ({ type: 'submitJob', request, reply }));
  }

  loadExternalJob(bundle: string, source: string, name: string): Promise<LoadedJobRequest> {
    return this.jobManager.load(bundle, source, name, { journal: false, batches: 'external' });
  }

  stopJob(jobId: string): Promise<void> {
    return this.request<void>((reply) => ({ type: 'stopJob', jobId, reply }));
  }

  /**
   * Take back a submission that was registered but then refused (its journal
   * write failed): the job ends and is forgotten — not listed by status,
   * not watchable — since its client was told it does not exist.
   */
  withdrawJob(jobId: string, reason: string): Promise<void> {
    return this.request<void>((reply) => ({ type: 'withdrawJob', jobId, reason, reply }));
  }

  /**
   * Take back a job journaled by an earlier incarnation of the scheduler:
   * it resumes after its last completed batch, catching up on every batch
   * since. Its batches wait until `restoreCache` gives back its cached
   * partitions and checkpoints (job-restore.ts reads them from lineage).
   */
  async restoreJob(record: JobRecord, bundle: string, prebuilt?: DescribedJob): Promise<Job> {
    let request: LoadedJobRequest;
    try {
      request = await this.jobManager.load(bundle, record.source || 'job.js', record.name, { journal: true, batches: 'clock' }, prebuilt);
    } catch (err) {
      throw asError(err);
    }
    return this.request<Job>((reply) => ({ type: 'restoreJob', record, request, reply }));
  }

  /** A restored job's committed outputs, read back from the durable outputs stream, for watchers that ask from the beginning. */
  restoreOutputs(jobId: string, output: string, batches: CommittedBatch[]): void {
    this.post({ type: 'outputsRestored', jobId, output, batches });
  }

  restoreCache(jobId: string, batches: RestoredBatch[]): void {
    this.post({ type: 'cacheRestored', jobId, batches });
  }

  restoreHorizonBatches(job: Job): number {
    return this.jobManager.restoreHorizonBatches(job);
  }

  enqueueBatch(jobId: string, batchTimeMs: number, inputs: Map<string, InputBlock[]>): Promise<BatchRun> {
    return this.request<BatchRun>((reply) => ({ type: 'enqueueBatch', jobId, batchTimeMs, inputs, reply }));
  }

  onBatchFinished(listener: BatchFinishedListener): void {
    this.dag.onBatchFinished(listener);
  }

  aliveExecutors(): TrackedExecutor[] {
    return this.executors.alive();
  }

  findJob(jobId: string): Job | undefined {
    return this.jobs.find(jobId);
  }

  /** One bounded page of the status (status.ts); a number is the recent batches per job of the first page. */
  status(query: StatusQuery | number = 10): ClusterStatus {
    const status = clusterStatus(
      {
        batchIntervalMs: this.config.batchInterval,
        replication: this.config.replication,
        executors: this.executors,
        jobs: this.jobs,
        generator: this.generator,
        tasks: this.tasks,
        backpressure: this.backpressure !== undefined,
        rateLimits: this.rateLimits(),
        receivers: this.receivers.list(),
        slowExecutorRatio: this.config.slowExecutorRatio,
        group: {
          sizeOf: (jobId) => this.planner.describe(jobId),
          launchMessages: this.ports.gateway.launchMessages(),
          plansSent: this.planner.plansSent,
        },
        nats: this.ports.natsStatus?.(),
        jetStreamSources: (job) => this.jetStream.status(job),
        ...(this.ports.sinkProgress ? { sinkProgress: this.ports.sinkProgress } : {}),
      },
      this.clock.now(),
      query,
    );
    if (this.leadership) status.leader = this.leadership();
    return status;
  }

  /** Who leads, for status (main.ts: the leader lease). */
  leadership?: () => LeaderStatus;

  /**
   * `<job>:<batch>:<shuffle node>:<this scheduler's incarnation>`: a batch
   * re-run by a restarted scheduler may cut its map side differently (its
   * blocks listed in another order), so the buckets an earlier incarnation's
   * map tasks left on the executors must never be taken for this run's. The
   * `shuffle/<job>:<batch>:` prefix still covers them all for DropBlocks.
   */
  shuffleId(run: BatchRun, shuffleNode: number): string {
    // A batch run from a group plan uses the plan's suffix (group-planner.ts), never this plain one: a plan
    // revoked while its executors already ran the batch must not leave buckets this run's would collide with.
    return `${run.job.id}:${run.batchTimeMs}:${shuffleNode}:${run.planned?.shuffleIdSuffix ?? this.incarnation}`;
  }

  private request<T>(event: (reply: Reply<T>) => SchedulerEvent): Promise<T> {
    return new Promise<T>((resolve, reject) => this.post(event({ resolve, reject })));
  }

  // ---------------------------------------------------------------- handlers that span components

  private onRestoreJob(record: JobRecord, request: LoadedJobRequest): Job {
    const job = this.jobManager.restore(record, request);
    // The batches it missed while no scheduler ran, up to the last tick; the clock adds the rest.
    const interval = this.config.batchInterval;
    const lastTick = Math.floor(this.clock.now() / interval) * interval;
    this.generator.createDueRuns(job, lastTick);
    this.jetStream.poll([job]);
    this.clock.setTimeout(() => this.post({ type: 'inputTimeout', batchTimeMs: lastTick }), 0);
    this.log.info({ jobId: job.id, catchUp: this.generator.queue(job.id).length }, 'restored job catches up');
    return job;
  }

  /**
   * A restored job's cached partitions (window inputs, states and their
   * values) and state checkpoints, as lineage recorded them for its batches up
   * to the last completed one; then its batches may run.
   */
  private onCacheRestored(jobId: string, batches: RestoredBatch[]): void {
    const job = this.jobs.find(jobId);
    if (!job || !job.restoring) return;
    const last = job.lastCompletedBatchMs ?? Number.NEGATIVE_INFINITY;
    const sorted = batches.filter((b) => b.batchTimeMs <= last).sort((a, b) => a.batchTimeMs - b.batchTimeMs);
    const restored = this.cache.restore(job, sorted);
    this.state.restore(job, sorted);
    // What no window or state reaches any more goes, as after a batch.
    if (job.lastCompletedBatchMs !== undefined) {
      this.cache.release(job, job.lastCompletedBatchMs, this.config.batchInterval, (node) => this.state.checkpointOf(job.id, node));
    }
    job.restoring = false;
    this.log.warn({ jobId, batches: sorted.length, cachedPartitions: restored }, 'restored job has its cached partitions back from lineage');
    this.dag.startReadyBatches();
    this.tasks.schedule();
  }

  private onEnqueueBatch(jobId: string, batchTimeMs: number, inputs: Map<string, InputBlock[]>): BatchRun {
    const job = this.jobs.get(jobId);
    if (job.state !== 'RUNNING') throw new FailedPreconditionError(`job ${jobId} is ${job.state}${job.error ? `: ${job.error}` : ''}`);
    if (job.firstBatchTimeMs !== Number.POSITIVE_INFINITY) throw new InvalidArgumentError(`job ${jobId} runs on the batch clock; its batches cannot be enqueued`);
    const run = this.generator.enqueue(job, batchTimeMs, inputs);
    this.dag.startReadyBatches();
    return run;
  }

  /** Membership changed (a receiver heard, or judged gone): batches that waited only for it may complete. */
  private completeInputs(): void {
    for (const c of this.receivers.reevaluate()) this.onBatchInputs(c.stream, c.batchTimeMs, c.blocks);
  }

  /** A batch's final block list (every receiver's share, receiver-tracker.ts): executors start planned batches on it. */
  private onBatchInputs(stream: string, t: number, blocks: InputBlock[]): void {
    this.publishInputs(stream, t, blocks);
    this.onBatchReady(stream, t, blocks);
  }

  private publishInputs(stream: string, t: number, blocks: InputBlock[]): void {
    try {
      this.ports.publishBatchInputs?.({ stream, batchTimeMs: t, batchIntervalMs: this.config.batchInterval, blocks: blocks.map((b) => ({ blockId: b.blockId, records: b.records, bytes: b.bytes, executorIds: [...b.executorIds] })) });
    } catch (err) {
      // Best-effort like every NATS event: it is published again while the batch is unfinished (republishInputs), and
      // executors ask a receiver (GetBatchBlocks merged) after batchReadyTimeout.
      this.log.warn({ err: errorMessage(err), stream, batchTimeMs: t }, 'could not publish batch.inputs');
    }
  }

  /**
   * batch.ready of some receiver did not come in time: ask each missing share of it (a live receiver its own, a
   * live receiver for a gone one's log); with no receiver heard at all, the configured receiver, as with one receiver.
   */
  private askShares(stream: string, t: number, retry: (ms: number) => void): void {
    const asks = this.receivers.missing(stream, t);
    if (asks === undefined) return this.generator.askConfiguredReceiver(stream, t, retry);
    if (asks.length === 0) {
      // Every relevant share is in (perhaps none: no receiver could hold records of it) — unless the membership is
      // not known yet (a starting scheduler's first heartbeat round) or a gone receiver's share waits for a live one to read it.
      const merged = this.receivers.settle(stream, t);
      if (merged) this.onBatchInputs(stream, t, merged);
      else retry(100);
      return;
    }
    for (const target of asks) {
      this.ports.fetchBatchBlocks(stream, t, target).then(
        (res) => {
          if (res.complete) this.post({ type: 'batchReady', msg: { stream, batchTimeMs: t, batchIntervalMs: this.config.batchInterval, blocks: res.blocks, receiverId: target.receiverId } });
          else retry(100);
        },
        (err: unknown) => {
          this.log.warn({ err: errorMessage(err), stream, batchTimeMs: t, receiverId: target.receiverId, address: target.address }, 'cannot get a receiver\'s share of a batch; retrying');
          retry(500);
        },
      );
    }
  }

  private onBatchReady(stream: string, t: number, blocks: InputBlock[]): void {
    const { underReplicated } = this.generator.batchReady(stream, t, blocks);
    if (underReplicated && this.executors.alive().length > 1) this.replication.reReplicateInputs(this.generator.liveInputBlocks());
    this.dag.startReadyBatches();
    this.tasks.schedule();
    this.planner.batchSeen(stream, t);
    this.planner.refresh(this.jobs.running());
  }

  /**
   * A task reading an input block no live executor holds waits for one that
   * held it to rejoin and report it (input blocks are immutable), rather than
   * failing its attempts against nowhere.
   */
  private inputUnavailable(run: BatchRun, s: StageRun, partition: number): string | undefined {
    for (const b of planTask(run.job.graph, run.plan!, s.stage, partition).blocks) {
      if (b.batchTimeMs !== undefined) continue;
      const node = run.job.graph.node(b.nodeId);
      if (node.kind !== 'source') continue;
      const block = run.inputs.get(sourceInputKey(node))?.[b.partition];
      if (block && !block.jetStream && !block.executorIds.some((id) => this.executors.isAlive(id))) {
        return `input block ${block.blockId} has no live replica: waiting for an executor holding it to rejoin`;
      }
    }
    return undefined;
  }

  private onHeartbeat(msg: HeartbeatMessage, verified: boolean): void {
    if (!verified && this.claimsRestartOfLiveExecutor(msg)) return;
    // Changes first: a new epoch of an executor still ALIVE loses the old
    // incarnation, which takes the executor off every block by id; only then
    // may the new one re-adopt what it holds.
    this.onExecutorChanges(this.executors.heartbeat(msg));
    if (!msg.inputBlocks || msg.inputBlocks.length === 0) return;
    const adopted = this.replication.adoptInputBlocks(msg.executorId, Number(msg.epoch), msg.inputBlocks, this.generator.liveInputBlocks());
    if (adopted === 0) return;
    this.log.info({ executorId: msg.executorId, epoch: msg.epoch, adopted }, 'input blocks re-adopted from a (re)joined executor');
    this.dag.startReadyBatches();
    this.tasks.schedule();
  }

  /**
   * A heartbeat with a new epoch for an executor that is ALIVE says the process
   * restarted, and accepting it loses the old incarnation. Only executors may
   * publish heartbeats (NATS permissions), but they share one role, so one
   * executor could forge another's: before accepting, ask the old incarnation's
   * address who answers there. If the same executor with the old epoch still
   * does, the heartbeat is refused (an audit event) and that epoch ignored for a
   * while; otherwise it is applied. A real restart costs one refused connection
   * (a new process on the same address answers with the new epoch).
   */
  private claimsRestartOfLiveExecutor(msg: HeartbeatMessage): boolean {
    const known = this.executors.get(msg.executorId);
    if (!known || known.state !== 'ALIVE' || Number(msg.epoch) <= known.epoch) return false;
    const key = `${msg.executorId}@${msg.epoch}`;
    const now = this.clock.now();
    const seen = this.restartChecks.get(key);
    if (seen !== undefined && seen > now) return true; // being checked, or refused recently
    this.restartChecks.set(key, now + RESTART_CHECK_MEMORY_MS);
    const old = { id: known.id, epoch: known.epoch, address: known.address };
    void this.ports.gateway.identify(old.address, Math.max(200, this.config.heartbeatInterval * 2)).then((answer) => {
      if (answer && answer.executorId === old.id && answer.epoch === old.epoch) {
        this.log.warn(
          { audit: true, executorId: old.id, epoch: old.epoch, claimedEpoch: msg.epoch, claimedAddress: msg.address },
          'heartbeat refused: it claims the executor restarted, but its current incarnation still answers at its address',
        );
        return;
      }
      this.restartChecks.delete(key);
      this.post({ type: 'heartbeat', msg, verified: true });
    });
    for (const [k, until] of this.restartChecks) if (until <= now) this.restartChecks.delete(k);
    return true;
  }

  private onExecutorChanges(changes: ExecutorChange[]): void {
    if (changes.length === 0) return;
    for (const c of changes) {
      switch (c.kind) {
        case 'added':
          this.log.info({ executorId: c.executor.id, epoch: c.executor.epoch, address: c.executor.address, slots: c.executor.slots }, 'executor added');
          this.tellEndedJobs(c.executor);
          break;
        case 'lost':
          this.onExecutorLost(c.executor, c.reason);
          break;
        case 'fenced':
          this.noticeFenced(c.executor);
          break;
      }
    }
    if (changes.some((c) => c.kind === 'added' || c.kind === 'lost')) {
      this.planner.placementChanged(changes.map((c) => `executor ${c.executor.id} ${c.kind}`).join(', '));
    }
    this.dag.startReadyBatches();
    this.tasks.schedule();
    this.planner.refresh(this.jobs.running());
  }

  /**
   * A new incarnation may be a process that was here before — paused or cut
   * off, declared lost, now rejoining — holding the code of jobs that ended
   * meanwhile, when it was told nothing: name every ended job still known
   * (retainedEndedJobs of them) so it drops those bundles. A fresh process
   * ignores the names.
   */
  private tellEndedJobs(e: TrackedExecutor): void {
    for (const job of this.jobs.all()) if (job.state !== 'RUNNING') this.ports.gateway.jobEnded(endpoint(e), job.id);
  }

  /**
   * A fenced incarnation is still heartbeating: it missed its `executor.lost`
   * (NATS was down, or it was paused). Say it again, at most once per
   * heartbeat interval, so it rejoins as a new incarnation.
   */
  private noticeFenced(e: TrackedExecutor): void {
    const now = this.clock.now();
    if (now - (this.fenceNotices.get(e.id) ?? Number.NEGATIVE_INFINITY) < this.config.heartbeatInterval) return;
    this.fenceNotices.set(e.id, now);
    this.ports.publishExecutorLost({ executorId: e.id, epoch: e.epoch, reason: `still heartbeating after being declared lost (${e.lostReason ?? 'lost'})` });
  }

  /**
   * An executor incarnation is gone. Its running tasks run elsewhere (not
   * counted against them); it holds no input block or cached partition any
   * more (those with a surviving copy are copied again); every running batch
   * rebuilds the map outputs it held, on every healthy executor at once.
   */
  private onExecutorLost(e: TrackedExecutor, reason: string): void {
    this.log.warn({ executorId: e.id, epoch: e.epoch, reason }, 'executor lost');
    this.ports.publishExecutorLost({ executorId: e.id, epoch: e.epoch, reason });
    this.ports.gateway.forget(e.id);
    this.ports.removeExecutorFromLineage(e.id);
    this.tasks.onExecutorLost(e, reason);
    this.generator.executorLost(e.id);
    for (const block of this.cache.executorLost(e.id)) this.replication.replicateCached(block);
    this.dag.executorLost(e.id);
    this.replication.reReplicateInputs(this.generator.liveInputBlocks());
  }
}

/** Without JetStream ports (unit tests without NATS): a job reading a JetStream source waits, logging why. */
const noJetStream: JetStreamSourcePorts = {
  streamInfo: () => Promise.reject(new Error('this scheduler has no JetStream connection for JetStream sources')),
  writeRanges: () => Promise.reject(new Error('this scheduler has no JetStream journal for JetStream sources')),
};

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Run a request's handler and settle its reply with the result or the error. */
function answer<T>(reply: Reply<T>, fn: () => T): void {
  try {
    reply.resolve(fn());
  } catch (err) {
    reply.reject(err);
  }
}
