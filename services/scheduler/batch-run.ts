/**
 * The state of one batch of one job while it runs: its plan (stages), which
 * partitions of each stage are done, where each map output lives, the result
 * records of each output partition, and its timings. Pure bookkeeping — it
 * launches nothing; the scheduler asks it what is runnable and tells it what
 * finished.
 */
import { deepFreeze } from '../../lib/collections.js';
import type { BatchPlan, PlannedStage } from '../../lib/dstream/planner.js';
import type { Logger } from '../../lib/log.js';
import type { ShuffleInput } from '../../lib/proto/gen/rivulet/v1/ShuffleInput.js';
import { compactMapOutputs, type CompactMapOutputs, type HeldMapOutput } from '../../lib/scheduling/map-outputs.js';
import { transition, type TransitionTable } from '../../lib/state-machine.js';
import type { Job } from './job-registry.js';
import type { DeadLetter } from '../../lib/sources/jetstream-ranges.js';

export interface InputBlock {
  blockId: string;
  records: number;
  bytes: number;
  executorIds: string[];
  /**
   * The replicas as the receiver announced them (executorIds changes with
   * losses and new copies): group scheduling's map placement is computed from
   * these, as the executors computed it from the same announcement.
   */
  announcedOn?: readonly string[];
  /**
   * A slice of a JetStream direct source (jetstream-source.ts): read by the
   * executor straight from the stream, held by no executor (executorIds is
   * empty, and nothing waits for or copies a replica of it).
   */
  jetStream?: { stream: string; filterSubject: string; firstSeq: number; lastSeq: number; onPurged: string };
}

export interface MapOutput {
  executorId: string;
  epoch: number;
  address: string;
}

/**
 * A stage's map outputs, that also keeps them as reduce tasks' specs list
 * them until they change: every reduce task of a shuffle lists all S map
 * outputs, so building the list per task cost a sort and S objects each
 * time, S² per shuffle.
 */
export class MapOutputs extends Map<number, MapOutput> {
  private list?: HeldMapOutput[];
  private compact?: CompactMapOutputs | null;

  override set(partition: number, out: MapOutput): this {
    this.forgetSpecs();
    return super.set(partition, out);
  }

  override delete(partition: number): boolean {
    this.forgetSpecs();
    return super.delete(partition);
  }

  override clear(): void {
    this.forgetSpecs();
    super.clear();
  }

  /**
   * The ShuffleInput fields naming them, in map-partition order (so reduce-side value order is deterministic
   * across recomputations): the compact form (lib/scheduling/map-outputs.ts) for an executor that reads it,
   * when they are partitions 0..n-1; the list form otherwise. Shared between tasks: not to be changed.
   */
  specFields(compact: boolean): Pick<ShuffleInput, 'mapOutputs' | 'mapOutputExecutors' | 'mapOutputHolders'> {
    // Built anew when the outputs change, never edited, and frozen: the task stream's encoder keeps their bytes by identity (task-request-encoding.ts).
    this.list ??= deepFreeze(
      [...this.entries()]
        .sort(([a], [b]) => a - b)
        .map(([m, out]) => ({ mapPartition: m, executor: { executorId: out.executorId, address: out.address, epoch: out.epoch } })),
    );
    if (compact) {
      if (this.compact === undefined) this.compact = deepFreeze(compactMapOutputs(this.list)) ?? null;
      if (this.compact) return this.compact;
    }
    return { mapOutputs: this.list };
  }

  private forgetSpecs(): void {
    this.list = undefined;
    this.compact = undefined;
  }
}

export type BatchState = 'WAITING_INPUT' | 'QUEUED' | 'REGISTERING' | 'RUNNING' | 'COMPLETED' | 'FAILED';

/**
 * A batch waits for every input stream's blocks, queues behind its job's
 * earlier batches, is registered with lineage (the write-ahead record), runs,
 * and ends COMPLETED (outputs committed) or FAILED (the job failed or was
 * stopped). Nothing else.
 */
const BATCH_TRANSITIONS: TransitionTable<BatchState> = {
  WAITING_INPUT: ['QUEUED', 'FAILED'],
  QUEUED: ['REGISTERING', 'FAILED'],
  REGISTERING: ['RUNNING', 'FAILED'],
  RUNNING: ['COMPLETED', 'FAILED'],
  COMPLETED: [],
  FAILED: [],
};

/** Scheduling delay, processing time and total delay of a batch, as Spark's streaming tab shows them. */
export interface BatchTimings {
  schedulingDelayMs: number;
  processingTimeMs: number;
  totalDelayMs: number;
}

export interface StageRun {
  stage: PlannedStage;
  /** Partitions with a successful attempt. */
  done: Set<number>;
  /** Partitions currently pending or running (so a partition is never submitted twice). */
  inFlight: Set<number>;
  /** shuffleMap stages: map partition → where its buckets are (persist stages: where the cached partition is). */
  mapOutputs: MapOutputs;
  /** result stages: partition → packed records. */
  results: Map<number, { count: number; payload: Buffer }>;
  submitted: boolean;
  /** Run times (ms) of successful attempts, for straggler detection. */
  durations: number[];
  /** Sum of `durations` (their mean, for an executor's pace, without a pass over them per task). */
  durationsTotal: number;
  /** Of the successful attempts that read records and ran long enough to be measured (task-set-manager.ts paceOf): their summed time and records — the stage's time per record. */
  pacedMs: number;
  pacedRecords: number;
  /** Times this stage was submitted again to rebuild partitions lost with an executor. */
  resubmissions: number;
}

/** What lineage's PlanRebuild says one lost state partition is rebuilt from. */
export interface LineageRebuild {
  /** The state's own materialised ancestor the task starts from (a checkpoint or a kept partition), if any. */
  baseBatchTimeMs?: number;
  /** Batches whose values it reads. */
  valuesBatches: number[];
  /** Set when lineage cannot rebuild it (the reason), or could not be asked. */
  unrecoverable?: string;
  /** Lineage could not be asked: use the scheduler's own record. */
  fallback?: boolean;
}

const EMPTY = Buffer.alloc(0);

export class BatchRun {
  private current: BatchState = 'WAITING_INPUT';
  plan?: BatchPlan;
  readonly inputs = new Map<string, InputBlock[]>();
  readonly stages: StageRun[] = [];
  startedAtMs?: number;
  /** When every input was known (QUEUED): a planned batch's executors start it then. */
  readyAtMs?: number;
  firstLaunchAtMs?: number;
  completedAtMs?: number;
  error?: string;
  /** Why its tasks are waiting when they could otherwise run (no executor alive, an input block with no live replica): for status. */
  waitingFor?: string;
  taskFailures = 0;
  tasksLaunched = 0;
  /** Fetch failures per task id: bounded like task failures, so a shuffle that can't be rebuilt ends the batch. */
  readonly fetchFailures = new Map<string, number>();
  /** Highest attempt number issued per task id: every launch, speculative or not, gets a new one. */
  private readonly attempts = new Map<string, number>();
  speculativeTasks = 0;
  /** Tasks taken back from a busy executor's queue, before they started, for an idle one. */
  stolenTasks = 0;
  /** Tasks re-run because an executor holding their outputs was lost. */
  recoveryTasks = 0;
  /** Tasks started by their executor from a group plan (no launch from the scheduler). */
  plannedTasks = 0;
  /**
   * Group scheduling: the executor each planned task of this batch was
   * started on, by task id (group-planner.ts placements); undefined when the
   * batch is launched by the scheduler.
   */
  planned?: {
    planId: string;
    placements: ReadonlyMap<string, string>;
    epochs: ReadonlyMap<string, number>;
    broken: ReadonlySet<string>;
    /** The plan's shuffle id suffix: this run's shuffles are the ones its executors wrote (scheduler.ts shuffleId). */
    shuffleIdSuffix: string;
    /** The attempt number of the plan's tasks. */
    attempt: number;
  };
  /**
   * Lineage's rebuild plans for previous-state partitions lost on every
   * executor, by `<state node>/<partition>`: 'pending' while PlanRebuild is
   * asked, then what the state task starts from and replays (scheduler.ts stateRebuild).
   */
  readonly stateRebuilds = new Map<string, 'pending' | LineageRebuild>();
  /**
   * Where reduce partitions of this batch's shuffles are planned (Drizzle's
   * pre-scheduled reducers): reduce partition r runs preferably on
   * `reducerPlan[r % length]`, and map tasks push bucket r there. Fixed when
   * the first map stage is submitted (from the executors alive then, each
   * once per slot), so every shuffle of the batch — both sides of a join —
   * agrees; undefined when shuffle push is off.
   */
  reducerPlan?: readonly string[];
  /** Outputs this batch committed (first commits only), to be made durable before the batch is journaled. */
  /**
   * The batch's foreachBatch functions (foreach-runner.ts): 'running' while
   * the job's worker runs them (the batch is not completed again meanwhile),
   * 'done' once they returned — a stage redone after that (an executor lost
   * its cached partitions) does not run them twice.
   */
  foreachBatch?: 'running' | 'done';
  /**
   * The batch's sink writes (sink-runner.ts), after its foreachBatch
   * functions: 'running' while the sink worker writes them, 'done' once every
   * sink answered — a stage redone after that does not write them again.
   */
  sinks?: 'running' | 'done';
  /**
   * JetStream sources: messages that failed to decode, by `<source>@<seq>`
   * (the same slice read by several tasks — retries, recomputations, two
   * stages — reports each message once). Committed to `<source>.dead-letter`.
   */
  readonly deadLetters = new Map<string, DeadLetter>();
  readonly commits: Array<{ output: string; batch: { batchTimeMs: number; count: number; payload: Buffer } }> = [];

  /**
   * The batch's outputs are committed: drop the result payloads its tasks
   * returned (the committed copy lives in the output store, bounded there).
   * A finished run stays in its job's history for status, so anything big it
   * kept would pile up there — `HISTORY` runs per job, beyond every output bound.
   */
  releaseResults(): void {
    for (const s of this.stages) for (const [p, r] of s.results) s.results.set(p, { count: r.count, payload: EMPTY });
  }

  /** The commits are durable (or never will be needed): forget them, for the same reason. */
  releaseCommits(): void {
    this.commits.length = 0;
  }

  nextAttempt(taskId: string): number {
    const n = (this.attempts.get(taskId) ?? 0) + 1;
    this.attempts.set(taskId, n);
    return n;
  }
  readonly locality = { PROCESS_LOCAL: 0, NODE_LOCAL: 0, ANY: 0 };

  constructor(
    readonly job: Job,
    readonly batchTimeMs: number,
  ) {}

  get state(): BatchState {
    return this.current;
  }

  /** The only way a batch's state changes: refuses an illegal move, logs `OLD -> NEW` at debug. */
  moveTo(to: BatchState, log: Logger): void {
    transition(this, (s) => (this.current = s), BATCH_TRANSITIONS, to, `batch ${this.key}`, log);
  }

  /** Running, or registered and about to: its tasks may be in flight. */
  get started(): boolean {
    return this.current === 'REGISTERING' || this.current === 'RUNNING';
  }

  get finished(): boolean {
    return this.current === 'COMPLETED' || this.current === 'FAILED';
  }

  timings(now: number): BatchTimings {
    const start = this.firstLaunchAtMs ?? this.startedAtMs ?? this.batchTimeMs;
    const end = this.completedAtMs ?? now;
    return {
      schedulingDelayMs: Math.max(0, start - this.batchTimeMs),
      processingTimeMs: Math.max(0, end - start),
      totalDelayMs: Math.max(0, end - this.batchTimeMs),
    };
  }

  get key(): string {
    return `${this.job.id}@${this.batchTimeMs}`;
  }

  get inputRecords(): number {
    let n = 0;
    for (const blocks of this.inputs.values()) for (const b of blocks) n += b.records;
    return n;
  }

  get inputBlockCount(): number {
    let n = 0;
    for (const blocks of this.inputs.values()) n += blocks.length;
    return n;
  }

  hasAllInputs(): boolean {
    return this.job.graph.inputKeys.every((s) => this.inputs.has(s));
  }

  setPlan(plan: BatchPlan): void {
    this.plan = plan;
    for (const stage of plan.stages) {
      this.stages.push({
        stage,
        done: new Set(),
        inFlight: new Set(),
        mapOutputs: new MapOutputs(),
        results: new Map(),
        submitted: false,
        durations: [],
        durationsTotal: 0,
        pacedMs: 0,
        pacedRecords: 0,
        resubmissions: 0,
      });
    }
  }

  stageComplete(s: StageRun): boolean {
    return s.done.size === s.stage.numPartitions;
  }

  /** Stages not yet submitted whose parent stages are all complete. */
  runnableStages(): StageRun[] {
    return this.stages.filter(
      (s) => !s.submitted && s.stage.parentStages.every((p) => this.stageComplete(this.stages[p]!)),
    );
  }

  allComplete(): boolean {
    return this.stages.every((s) => this.stageComplete(s));
  }

  /**
   * Forget map outputs held by a lost executor; returns the stages that must
   * run those partitions again. A child stage that already finished keeps its
   * results, so only map outputs some unfinished stage still needs are redone;
   * cached partitions of persist stages (windows of later batches read them) always are.
   */
  loseMapOutputs(executorId: string): StageRun[] {
    const affected: StageRun[] = [];
    for (const s of this.stages) {
      // Map outputs and the cached partitions of persist stages alike.
      if (s.stage.kind === 'result') continue;
      const children = this.stages.filter((c) => c.stage.parentStages.includes(s.stage.id));
      // A persist stage's partitions are read by windows of later batches too: always redone.
      if (s.stage.kind === 'shuffleMap' && children.every((c) => this.stageComplete(c))) continue;
      let lost = false;
      for (const [p, out] of s.mapOutputs) {
        if (out.executorId === executorId) {
          s.mapOutputs.delete(p);
          s.done.delete(p);
          lost = true;
        }
      }
      if (lost) affected.push(s);
    }
    return affected;
  }
}
