/**
 * Each batch from QUEUED to its end (Spark's DAGScheduler): plan its stages,
 * register it with lineage (the write-ahead record: a batch never runs
 * without it), submit every stage whose parents are complete, record what
 * each finished task produced (map outputs, cached partitions, checkpoints,
 * result records), rebuild map outputs lost with an executor, commit the
 * outputs once, announce `batch.completed`, and release what the batch read.
 *
 * Windows and state: every batch also runs a persist stage for each dataset
 * a later batch reads; its partitions go to the cache registry, and a stage
 * whose cached input of an earlier batch is lost everywhere fails the batch
 * with a clear error, unless it is a state that can be rebuilt from its
 * checkpoint (state-recovery.ts).
 *
 * Owns: batch state transitions and stage completion. May not: place or
 * launch tasks (the task set does), or change a job's lifecycle (it asks the
 * job manager to fail the job).
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { readsEarlierBatches, sourceInputKey } from '../../lib/dstream/graph.js';
import { planBatch, planTask, STATE_KEYS, type WindowContext } from '../../lib/dstream/planner.js';
import { checkpointName } from '../../lib/checkpoint/store.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { TaskResult__Output } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { BatchRun, LineageRebuild, StageRun } from './batch-run.js';
import type { BatchTelemetry } from './batch-telemetry.js';
import type { CacheRegistry } from './cache-registry.js';
import { checkpointIntervalMs, type SchedulerConfig } from './config.js';
import { defaultParallelism } from './executor-tracker.js';
import type { PostEvent } from './events.js';
import type { ExecutorTracker } from './executor-tracker.js';
import type { JobGenerator } from './job-generator.js';
import type { JobManager } from './job-manager.js';
import type { Job } from './job-registry.js';
import type { ForeachRunner } from './foreach-runner.js';
import { commitOutputs, foreachCalls, journalCompletedBatch, sinkCalls } from './output-commit.js';
import type { OutputStore } from './output-store.js';
import type { SchedulerPorts } from './ports.js';
import type { ReplicationManager } from './replication-manager.js';
import type { StateRecovery } from './state-recovery.js';
import type { TaskAttempt } from './task-attempt.js';
import type { TaskSetListener, TaskSetManager } from './task-set-manager.js';
import type { GroupPlanner } from './group-planner.js';
import { taskIdOf } from '../../lib/scheduling/group-plan.js';
import { unpackRecords } from '../../lib/codec/records.js';
import type { DeadLetter } from '../../lib/sources/jetstream-ranges.js';

/** Told of every batch that finished (committed or failed); BatchSources listen. */
export type BatchFinishedListener = (run: BatchRun) => void;

type Config = Pick<SchedulerConfig, 'batchInterval' | 'defaultParallelism' | 'partitionsPerSlot' | 'stateCheckpointInterval' | 'shufflePush'>;

export interface BatchDagDeps {
  config: Config;
  clock: Clock;
  executors: ExecutorTracker;
  jobs: Pick<JobManager, 'jobs' | 'fail' | 'record'>;
  generator: Pick<JobGenerator, 'queue' | 'unfinished' | 'retire' | 'releaseInputs'>;
  tasks: Pick<TaskSetManager, 'submit' | 'withdrawPending' | 'abandonRun' | 'adopt'>;
  planner: Pick<GroupPlanner, 'planOf' | 'placements' | 'take' | 'batchFinished'>;
  cache: CacheRegistry;
  state: StateRecovery;
  replication: ReplicationManager;
  outputs: OutputStore;
  foreach: Pick<ForeachRunner, 'run'>;
  telemetry: BatchTelemetry;
  ports: SchedulerPorts;
  post: PostEvent;
  log: Logger;
}

/** How long a failed lineage registration waits before it is tried again (unless NATS comes back first). */
const REGISTER_RETRY_MS = 500;

export class BatchDag implements TaskSetListener {
  private readonly finishedListeners: BatchFinishedListener[] = [];
  /** Registrations waiting out REGISTER_RETRY_MS after a failure. */
  private readonly registrationRetries = new Map<BatchRun, TimerHandle>();
  /** When each run's registration in flight was sent. */
  private readonly registrationSentAt = new WeakMap<BatchRun, number>();
  /** When NATS last came back (natsReconnected). */
  private natsBackAtMs = Number.NEGATIVE_INFINITY;
  /** The reducer plan last made (reducerPlan): given again while it would come out the same. */
  private lastReducerPlan?: readonly string[];

  constructor(private readonly d: BatchDagDeps) {}

  onBatchFinished(listener: BatchFinishedListener): void {
    this.finishedListeners.push(listener);
  }

  /** Start the head batch of every running job, when it is QUEUED and the job is not being restored. */
  startReadyBatches(): void {
    for (const job of this.d.jobs.jobs.running()) {
      if (job.restoring) continue;
      const head = this.d.generator.queue(job.id)[0];
      if (head && head.state === 'QUEUED') this.startBatch(head);
    }
  }

  private startBatch(run: BatchRun): void {
    if (this.d.executors.totalSlots() === 0) return; // waits in QUEUED; its scheduling delay shows in status
    const blockCounts = new Map([...run.inputs].map(([s, b]) => [s, b.length]));
    // A batch planned ahead (group scheduling) is planned with its group's parallelism: its executors built the same tasks.
    const group = this.d.planner.planOf(run.job.id, run.batchTimeMs);
    try {
      run.setPlan(planBatch(run.job.graph, blockCounts, group?.template.parallelism ?? this.defaultParallelism(), this.windowContext(run)));
    } catch (err) {
      // A batch that cannot be planned would otherwise sit queued forever.
      return this.failBatch(run, `cannot plan the batch: ${errorMessage(err)}`);
    }
    if (group) {
      const blocks = run.inputs.get(group.template.stream) ?? [];
      run.planned = {
        planId: group.id,
        placements: this.d.planner.placements(group, run.batchTimeMs, blocks),
        epochs: new Map(group.rules.members.map((m) => [m.executorId, m.epoch])),
        broken: group.broken,
        shuffleIdSuffix: group.rules.shuffleIdSuffix,
        attempt: group.rules.attempt,
      };
      run.reducerPlan = group.rules.reducers;
    }
    this.d.cache.declare(run);
    run.moveTo('REGISTERING', this.d.log);
    run.startedAtMs = this.d.clock.now();
    this.d.telemetry.batchStarted(run);
    this.registerWithLineage(run);
  }

  private defaultParallelism(): number {
    return defaultParallelism(this.d.config, this.d.executors);
  }

  /** For jobs with windows or state only: other jobs are planned exactly as without them. */
  private windowContext(run: BatchRun): WindowContext | undefined {
    if (!readsEarlierBatches(run.job.graph)) return undefined;
    const jobId = run.job.id;
    return {
      batchTimeMs: run.batchTimeMs,
      batchIntervalMs: this.d.config.batchInterval,
      zeroTimeMs: run.job.zeroTimeMs,
      cachedPartitions: (nodeId, t) => this.d.cache.partitionCount(jobId, nodeId, t),
      checkpointIntervalMs: checkpointIntervalMs(this.d.config.batchInterval, this.d.config.stateCheckpointInterval),
    };
  }

  private registerWithLineage(run: BatchRun): void {
    this.registrationSentAt.set(run, this.d.clock.now());
    this.d.telemetry
      .inBatch(run, () => this.d.ports.registerBatch(run))
      .then(
        () => this.d.post({ type: 'batchRegistered', run }),
        (err: unknown) => this.d.post({ type: 'batchRegisterFailed', run, error: errorMessage(err) }),
      );
  }

  batchRegistered(run: BatchRun): void {
    if (run.state !== 'REGISTERING') return;
    run.moveTo('RUNNING', this.d.log);
    this.advance(run);
  }

  batchRegisterFailed(run: BatchRun, error: string): void {
    if (run.state !== 'REGISTERING') return;
    // Lineage is the write-ahead record of the batch: never run without it.
    this.d.log.warn({ jobId: run.job.id, batchTimeMs: run.batchTimeMs, error }, 'lineage registration failed; retrying');
    // An attempt sent before NATS came back failed for the outage, not for now: try again at once.
    if ((this.registrationSentAt.get(run) ?? Number.NEGATIVE_INFINITY) < this.natsBackAtMs) return this.registerWithLineage(run);
    const timer = this.d.clock.setTimeout(() => {
      this.registrationRetries.delete(run);
      if (run.state === 'REGISTERING') this.registerWithLineage(run);
    }, REGISTER_RETRY_MS);
    this.registrationRetries.set(run, timer);
  }

  /**
   * NATS is back after an outage: lineage can make registrations durable
   * again, so those waiting out their retry delay go now, and one in flight
   * that fails yet (it was sent during the outage) goes again at once — the
   * delay would otherwise add up to REGISTER_RETRY_MS to every batch queued
   * behind them.
   */
  natsReconnected(): void {
    this.natsBackAtMs = this.d.clock.now();
    const waiting = [...this.registrationRetries];
    this.registrationRetries.clear();
    for (const [run, timer] of waiting) {
      this.d.clock.clearTimeout(timer);
      if (run.state === 'REGISTERING') this.registerWithLineage(run);
    }
  }

  /** Submit every stage whose parents are complete; complete the batch when all are. */
  advance(run: BatchRun): void {
    for (;;) {
      let submitted = 0;
      for (const s of run.runnableStages()) {
        // A state whose previous partition is lost everywhere waits for lineage's rebuild plan.
        if (this.d.state.awaitRebuildPlan(run, s)) continue;
        const missing = this.missingCachedInput(run, s);
        if (missing) return this.failBatch(run, missing);
        this.submitStage(run, s);
        submitted++;
      }
      if (submitted === 0) break;
    }
    if (run.state === 'RUNNING' && run.allComplete()) this.completeBatch(run);
  }

  /** A batch's sinks were written (or one failed) by the sink worker. */
  sinksWritten(run: BatchRun, error: string | undefined): void {
    if (run.state !== 'RUNNING' || run.sinks !== 'running') return; // the job ended meanwhile
    if (error) return this.failBatch(run, error);
    run.sinks = 'done';
    this.advance(run);
  }

  /** A batch's foreachBatch functions returned (or failed) in the job's worker. */
  foreachBatchDone(run: BatchRun, error: string | undefined): void {
    if (run.state !== 'RUNNING' || run.foreachBatch !== 'running') return; // the job ended meanwhile
    if (error) return this.failBatch(run, error);
    run.foreachBatch = 'done';
    this.advance(run);
  }

  stateRebuildPlanned(run: BatchRun, nodeId: number, plans: Map<number, LineageRebuild>): void {
    if (run.state !== 'RUNNING') return;
    const unrecoverable = this.d.state.rebuildPlanned(run, nodeId, plans);
    if (unrecoverable) return this.failBatch(run, unrecoverable);
    this.advance(run);
  }

  /** A stage's cached inputs of earlier batches are all kept somewhere; else the reason. */
  private missingCachedInput(run: BatchRun, s: StageRun): string | undefined {
    if (run.plan!.windows.size === 0 && run.plan!.states.size === 0) return undefined;
    for (let p = 0; p < s.stage.numPartitions; p++) {
      for (const b of planTask(run.job.graph, run.plan!, s.stage, p).blocks) {
        if (b.batchTimeMs === undefined || b.batchTimeMs === run.batchTimeMs) continue;
        if (b.key === STATE_KEYS.previous) {
          // A lost previous state is rebuilt from its checkpoint, unless the values to replay are lost too.
          const rebuild = this.d.state.rebuildOf(run, b.nodeId, b.partition);
          if (typeof rebuild === 'string') return rebuild;
          continue;
        }
        if (!this.d.cache.block(run.job.id, b.nodeId, b.batchTimeMs, b.partition)) {
          return (
            `the cached partition ${b.partition} of node ${b.nodeId} of batch ${b.batchTimeMs}, which a window reads, ` +
            'was lost with every executor holding it; Rivulet does not recompute earlier batches of a window'
          );
        }
      }
    }
    return undefined;
  }

  private submitStage(run: BatchRun, s: StageRun): void {
    s.submitted = true;
    this.d.telemetry.stageSubmitted(run, s);
    if (s.stage.kind === 'shuffleMap' && this.d.config.shufflePush) run.reducerPlan ??= this.reducerPlan();
    if (run.planned && s.resubmissions === 0) this.adoptPlanned(run, s);
    this.d.tasks.submit(
      run,
      s,
      (p) => this.preferredExecutors(run, s, p),
      (p) => this.reducerOf(run, s, p),
    );
  }

  /**
   * The stage's tasks its executors started from the group plan: each taken
   * on where it runs, unless that executor is gone (lost, another
   * incarnation, or its task stream broke since the plan) — those the task
   * set places as usual. A re-submitted stage (recovery) is never planned.
   */
  private adoptPlanned(run: BatchRun, s: StageRun): void {
    const planned = run.planned!;
    for (let p = 0; p < s.stage.numPartitions; p++) {
      if (s.done.has(p) || s.inFlight.has(p)) continue;
      const taskId = taskIdOf(run.job.id, run.batchTimeMs, s.stage.id, p);
      const executorId = planned.placements.get(taskId);
      if (executorId === undefined || planned.broken.has(executorId)) continue;
      const exec = this.d.executors.get(executorId);
      if (!exec || exec.state !== 'ALIVE' || exec.epoch !== planned.epochs.get(executorId)) continue;
      this.d.tasks.adopt(run, s, p, planned.attempt, exec, this.preferredExecutors(run, s, p), this.d.planner.take(run.job.id, run.batchTimeMs, taskId, planned.attempt, executorId));
    }
  }

  /**
   * Every live executor once per slot, interleaved (a, b, a, b…), in id order: reduce partitions spread in
   * proportion to slots. The same array as the last batch's while the executors stay the same, so what is
   * kept per plan (task-spec.ts: map tasks' push targets, and their encoded bytes) lasts beyond one batch.
   */
  private reducerPlan(): readonly string[] {
    const alive = this.d.executors.alive().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const plan: string[] = [];
    const most = Math.max(0, ...alive.map((e) => e.slots));
    for (let slot = 0; slot < most; slot++) for (const e of alive) if (slot < e.slots) plan.push(e.id);
    const last = this.lastReducerPlan;
    if (last && last.length === plan.length && last.every((id, i) => id === plan[i])) return last;
    return (this.lastReducerPlan = Object.freeze(plan));
  }

  /** Where a task reading shuffles finds its buckets pushed (the plan's executor for its reduce partition), if anywhere. */
  private reducerOf(run: BatchRun, s: StageRun, partition: number): string | undefined {
    const plan = run.reducerPlan;
    if (!plan || plan.length === 0 || s.stage.shuffleReads.length === 0) return undefined;
    const reads = planTask(run.job.graph, run.plan!, s.stage, partition).shuffles;
    if (reads.length === 0) return undefined;
    return plan[reads[0]!.reducePartition % plan.length];
  }

  private preferredExecutors(run: BatchRun, s: StageRun, partition: number): string[] {
    const prefs = new Set<string>();
    for (const { nodeId, partition: p, batchTimeMs } of planTask(run.job.graph, run.plan!, s.stage, partition).blocks) {
      if (batchTimeMs !== undefined) {
        for (const id of this.d.cache.block(run.job.id, nodeId, batchTimeMs, p)?.executorIds ?? []) prefs.add(id);
        continue;
      }
      const node = run.job.graph.node(nodeId);
      if (node.kind !== 'source') continue;
      for (const id of run.inputs.get(sourceInputKey(node))?.[p]?.executorIds ?? []) prefs.add(id);
    }
    return [...prefs];
  }

  // ---------------------------------------------------------------- TaskSetListener

  /** The first success of a partition: record what it produced; the stage may be complete. */
  taskSucceeded(t: TaskAttempt, r: TaskResult__Output): void {
    const { run, stageRun: s, partition } = t;
    s.done.add(partition);
    const ms = t.runTimeMs(this.d.clock.now());
    s.durations.push(ms);
    s.durationsTotal += ms;
    const address = this.d.executors.get(t.executorId)?.address ?? '';
    if (r.deadLetters && r.deadLetters.count > 0) noteDeadLetters(run, r.deadLetters.payload, this.d.log);
    switch (s.stage.kind) {
      case 'shuffleMap': {
        s.mapOutputs.set(partition, { executorId: t.executorId, epoch: t.epoch, address });
        // Asked for the total only (ShuffleWrite.total_bytes_only); an older executor lists each bucket's size instead.
        const bytes = r.bucketBytes.length > 0 ? r.bucketBytes.reduce((a, b) => a + Number(b), 0) : Number(r.metrics?.bytesOut ?? 0);
        this.d.ports.recordMapOutput(run, s, partition, t.executorId, bytes);
        break;
      }
      case 'persist':
        s.mapOutputs.set(partition, { executorId: t.executorId, epoch: t.epoch, address });
        this.persisted(run, s.stage.persistNode!, t, r);
        break;
      case 'result':
        s.results.set(partition, { count: r.records?.count ?? 0, payload: ownedPayload(r.records?.payload) });
        break;
    }
    if (run.stageComplete(s)) {
      this.d.telemetry.stageCompleted(run, s);
      this.advance(run);
    }
  }

  /** A persist task kept its partition: register it, tell lineage (and the checkpoint), copy it to a second executor. */
  private persisted(run: BatchRun, nodeId: number, t: TaskAttempt, r: TaskResult__Output): void {
    const block = this.d.cache.recordPersisted(run, nodeId, t.partition, t.executorId, r.records?.count ?? 0);
    if (!block) return;
    const dataset = { jobId: block.jobId, batchTimeMs: block.batchTimeMs, nodeId: block.nodeId };
    const bytes = Number(r.metrics?.bytesOut ?? 0);
    this.d.ports.recordCachedPartition?.(dataset, block.partition, block.blockId, t.executorId, bytes);
    if (run.plan!.states.get(block.nodeId)?.checkpoint) {
      this.d.ports.recordCheckpoint?.(dataset, block.partition, checkpointName(block.jobId, block.nodeId, block.batchTimeMs, block.partition), bytes);
    }
    this.d.replication.replicateCached(block);
  }

  mapOutputsLost(run: BatchRun, reader: StageRun, executorId: string): void {
    this.recoverMapOutputs(run, executorId);
    reader.submitted = false;
    this.advance(run);
  }

  batchFailed(run: BatchRun, message: string): void {
    this.failBatch(run, message);
  }

  // ---------------------------------------------------------------- losses

  /** An executor is gone: every running batch rebuilds the map outputs and cached partitions it held. */
  executorLost(executorId: string): void {
    for (const run of [...this.d.generator.unfinished()]) {
      if (run.state !== 'RUNNING') continue;
      this.recoverMapOutputs(run, executorId);
      this.advance(run);
    }
  }

  /** Forget map outputs on `executorId` and make their stages (and readers) run again. */
  private recoverMapOutputs(run: BatchRun, executorId: string): void {
    const affected = run.loseMapOutputs(executorId);
    if (affected.length === 0) return;
    this.d.telemetry.recoveryStarted(run, executorId, affected);
    const affectedIds = new Set(affected.map((s) => s.stage.id));
    for (const s of affected) {
      s.submitted = false;
      s.resubmissions++;
    }
    // Readers of those shuffles must wait for the map side again.
    for (const child of run.stages) {
      if (!child.stage.parentStages.some((p) => affectedIds.has(p))) continue;
      this.d.tasks.withdrawPending(child);
      child.submitted = false;
      child.resubmissions++;
    }
  }

  // ---------------------------------------------------------------- the end of a batch

  private completeBatch(run: BatchRun): void {
    const job = run.job;
    if (run.foreachBatch === 'running') return;
    if (run.foreachBatch !== 'done') {
      this.d.telemetry.outputsCommitting(run);
      const calls = foreachCalls(run);
      if (calls.length > 0) {
        // Off the loop, in the job's worker; the batch completes when foreachBatchDone comes back.
        run.foreachBatch = 'running';
        const done = (error: string | undefined) => this.d.post({ type: 'foreachBatchDone', run, ...(error ? { error } : {}) });
        this.d.foreach.run(job, run.batchTimeMs, calls).then(done, (err: unknown) => done(`foreachBatch could not run: ${errorMessage(err)}`));
        return;
      }
      run.foreachBatch = 'done';
    }
    if (run.sinks === 'running') return;
    if (run.sinks !== 'done') {
      const calls = sinkCalls(run);
      if (calls.length > 0) {
        // Off the loop, in the sink worker; committed there before this batch may be journaled as completed.
        const write = this.d.ports.writeSinks;
        if (!write) return this.failBatch(run, 'the job writes to sinks but this scheduler has no sink writer');
        run.sinks = 'running';
        const done = (error: string | undefined) => this.d.post({ type: 'sinksWritten', run, ...(error ? { error } : {}) });
        write({ id: job.id, name: job.name }, run.batchTimeMs, calls).then(done, (err: unknown) => done(`the sinks could not be written: ${errorMessage(err)}`));
        return;
      }
      run.sinks = 'done';
    }
    commitOutputs(run, this.d.outputs, this.d.log);
    run.releaseResults();
    this.d.telemetry.outputsCommitted(run);
    run.moveTo('COMPLETED', this.d.log);
    run.completedAtMs = this.d.clock.now();
    job.batchesCompleted++;
    job.recordsProcessed += run.inputRecords;
    job.lastCompletedBatchMs = run.batchTimeMs;
    const timings = run.timings(this.d.clock.now());
    this.d.log.info({ jobId: job.id, batchTimeMs: run.batchTimeMs, records: run.inputRecords, ...timings }, 'batch completed');
    this.d.telemetry.inBatch(run, () =>
      this.d.ports.publishBatchCompleted({
        jobId: job.id,
        batchTimeMs: run.batchTimeMs,
        state: 'COMPLETED',
        inputRecords: run.inputRecords,
        tasks: run.tasksLaunched,
        ...timings,
      }),
    );
    this.d.state.batchCompleted(run);
    this.finishRun(run);
  }

  /** Remove a finished run from its job's queue, release its data (once journaled), start the next batch. */
  private finishRun(run: BatchRun): void {
    this.d.telemetry.batchFinished(run, run.timings(this.d.clock.now()));
    this.d.planner.batchFinished(run.job.id, run.batchTimeMs, run.taskFailures);
    this.d.generator.retire(run);
    const journalWrite = run.state === 'COMPLETED' ? journalCompletedBatch(run, this.d.jobs.record(run.job), this.d.ports, this.d.log) : undefined;
    if (journalWrite) {
      // What the batch read is dropped only once the journal says it completed:
      // a scheduler restarted before that re-runs the batch and needs it all.
      const after = () => this.d.post({ type: 'batchJournaled', run });
      journalWrite.then(after, after);
    } else this.releaseBatchData(run);
    for (const listener of this.finishedListeners) listener(run);
    if (run.job.state === 'RUNNING') this.startReadyBatches();
  }

  /** Drop what a finished batch read (its inputs, shuffles, and cached data nothing reaches any more) and tell lineage. */
  releaseBatchData(run: BatchRun): void {
    const jobId = run.job.id;
    run.releaseCommits();
    if (run.state === 'COMPLETED') {
      this.d.cache.release(run.job, run.batchTimeMs, this.d.config.batchInterval, (stateNode) => this.d.state.checkpointOf(jobId, stateNode));
    }
    // Shuffle buckets of this batch are no longer needed anywhere.
    for (const e of this.d.executors.alive()) this.d.ports.gateway.drop(e, [], [`shuffle/${jobId}:${run.batchTimeMs}:`]);
    this.d.generator.releaseInputs(run);
    // Lineage keeps the batches whose cached datasets a window can still reach, and the checkpoints a state's lineage ends at.
    const keepFrom = Math.min(run.batchTimeMs, this.d.cache.oldestBatch(jobId) ?? Infinity, this.d.state.oldestCheckpoint(jobId) ?? Infinity);
    this.d.ports.forgetBatches(jobId, keepFrom);
  }

  failBatch(run: BatchRun, error: string): void {
    if (run.finished) return;
    const message = `batch ${new Date(run.batchTimeMs).toISOString()} failed: ${error}`;
    this.d.log.error({ jobId: run.job.id, batchTimeMs: run.batchTimeMs }, message);
    this.d.jobs.fail(run.job, message);
  }

  /** Drop every queued/running batch of a job that ended (stopped or failed). */
  abandonBatches(job: Job, reason: string): void {
    for (const run of [...this.d.generator.queue(job.id)]) {
      const wasStarted = run.started;
      run.moveTo('FAILED', this.d.log);
      run.error = reason;
      run.completedAtMs = this.d.clock.now();
      this.d.tasks.abandonRun(run);
      if (wasStarted) {
        this.d.ports.publishBatchCompleted({
          jobId: job.id,
          batchTimeMs: run.batchTimeMs,
          state: 'FAILED',
          inputRecords: run.inputRecords,
          tasks: run.tasksLaunched,
          error: reason,
          ...run.timings(this.d.clock.now()),
        });
      }
      this.finishRun(run);
    }
  }
}

/** A task's dead letters, kept by source and sequence until the batch commits them. */
function noteDeadLetters(run: BatchRun, payload: Buffer, log: Logger): void {
  let letters: unknown[];
  try {
    letters = unpackRecords(payload);
  } catch (err) {
    log.warn({ jobId: run.job.id, batchTimeMs: run.batchTimeMs, err: errorMessage(err) }, 'a task’s dead letters could not be read; they are not committed');
    return;
  }
  for (const l of letters as DeadLetter[]) if (l && typeof l.source === 'string' && typeof l.seq === 'number') run.deadLetters.set(`${l.source}@${l.seq}`, l);
}

/**
 * A payload kept until the batch commits. One decoded from a message is a view
 * into that whole message, so it is copied and the message can be freed; one
 * reassembled from slices (task-result-assembler.ts) already owns exactly its
 * memory, and copying it would double the largest results.
 */
function ownedPayload(payload: Buffer | undefined): Buffer {
  if (!payload) return Buffer.alloc(0);
  return payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength ? payload : Buffer.from(payload);
}
