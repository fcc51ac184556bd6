/**
 * Every task attempt the scheduler has not finished with (Spark's
 * TaskSchedulerImpl + TaskSetManager): the pending queue, the running
 * attempts by `<taskId>#<attempt>`, launching onto free slots, results and
 * retries, fencing by epoch and attempt, executor losses, speculation, and
 * the locality-wait timer.
 *
 * Launching: onto free capacity — idle slots first, then room in an
 * executor's own queue (slots × taskQueueDepth) — so executors that finish
 * faster receive more work (placement.ts decides where) and a slot that
 * frees up starts its next task without a round trip; the slot is reserved in
 * the executor tracker before launch and released on every path that ends
 * the attempt, including a TaskSpec that cannot be built.
 *
 * Cost per event is what keeps tasks cheap: a scheduling round stops as soon
 * as no executor has room (a result frees one place, so it places about one
 * task, not a scan of every queued one); queued attempts and running ones are
 * indexed by task, so a success finds the other attempts of its partition
 * without a scan; a queued attempt cancelled meanwhile is dropped when the
 * round reaches it.
 *
 * Stealing: a task sits in a busy executor's queue while another executor
 * has an idle slot and nothing queued here fits it (skew: one task far longer
 * than the rest). The scheduler then asks the busy executor to give back its
 * most recently assigned tasks that have not started (KillTasks
 * only_if_queued); each one given back reports KILLED and is placed again —
 * uncounted, not on that executor. One that started meanwhile keeps running.
 * Only once those tasks have waited there longer than their stage's tasks
 * take (twice the mean so far, at least localityWait): tasks a queue will
 * reach in a moment are not worth a round trip — and planned reducers,
 * whose shuffle buckets were pushed to that executor, would lose them —
 * when one executor's results merely arrive a little before another's.
 *
 * Jobs share the cluster fairly (Spark's FAIR scheduling, equal weights): a
 * round first places only tasks of jobs holding fewer than their share of
 * the cluster's places (slots × taskQueueDepth over the jobs with queued
 * tasks), then, with room left, anyone's — so a job whose every task runs
 * into its taskTimeout, or one far behind, cannot keep another job's tasks
 * out, and no place idles while any job has work.
 *
 * Results: an
 * attempt counts only when its key and executor epoch match; the first
 * success of a partition wins, every other attempt is killed.
 *
 * Owns: attempts and their states. May not: change a stage's completion, a
 * batch's state, or the cache — it reports successes and failures to its
 * `TaskSetListener` (the batch DAG), which decides.
 */
import type { Logger } from '../../lib/log.js';
import type { TaskResult__Output } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { TaskSpec } from '../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import { errorMessage } from '../../lib/errors.js';
import type { BatchRun, StageRun } from './batch-run.js';
import type { BatchTelemetry } from './batch-telemetry.js';
import type { SchedulerConfig } from './config.js';
import type { PostEvent } from './events.js';
import { REFUSED_BACKOFF_MS, type ExecutorTracker, type TrackedExecutor } from './executor-tracker.js';
import { place, waitingByDesign, type PlacementExecutor } from './placement.js';
import type { SchedulerPorts } from './ports.js';
import type { TaskAttemptRef } from './task-spec.js';
import { attemptKey, TaskAttempt } from './task-attempt.js';
import { addCount, appendTo } from '../../lib/collections.js';
import type { LaunchCallbacks } from './task-channel.js';

/** What the task set reports; the batch DAG implements it. */
export interface TaskSetListener {
  /** The first successful attempt of a partition (other attempts are already killed). */
  taskSucceeded(t: TaskAttempt, result: TaskResult__Output): void;
  /** A reduce task could not fetch a map output from `fromExecutorId`: rebuild those, then run it again. */
  mapOutputsLost(run: BatchRun, stageRun: StageRun, fromExecutorId: string): void;
  /** A task failed for good: the batch fails with this message. */
  batchFailed(run: BatchRun, message: string): void;
}

type Config = Pick<
  SchedulerConfig,
  'maxTaskAttempts' | 'localityWait' | 'speculationQuantile' | 'speculationMultiplier' | 'speculationMinRuntime' | 'slowExecutorRatio'
>;

export class TaskSetManager {
  /** Recovery tasks, retries and speculative copies: placed before new work. */
  private urgent: TaskAttempt[] = [];
  /** New work, in submission order. Both queues may hold attempts cancelled meanwhile (state CANCELLED): skipped and dropped when reached. */
  private pending: TaskAttempt[] = [];
  /** The queued (PENDING) attempt of each task, by `taskKey` — at most one. */
  private readonly queuedByTask = new Map<string, TaskAttempt>();
  /** Per job id: its attempts in queuedByTask, and running (fair shares; a job with none has no entry). */
  private readonly queuedByJob = new Map<string, number>();
  private readonly runningByJob = new Map<string, number>();
  private readonly running = new Map<string, TaskAttempt>();
  /** Running attempts of each task, by `taskKey` (an original and its speculative copy). */
  private readonly runningByTask = new Map<string, TaskAttempt[]>();
  /** Per executor, attempts launched into its queue (no idle slot then), in launch order: the next to start there. */
  private readonly queuedOn = new Map<string, TaskAttempt[]>();
  /** Stashed results of attempts adopted since the last `adoptedResults` event. */
  private adoptedResults: TaskResult__Output[] = [];
  /** Each executor incarnation's launch callbacks, made once (not a set of closures per launch). */
  private readonly callbacks = new WeakMap<TrackedExecutor, { epoch: number; cb: LaunchCallbacks }>();
  /** Taking several results at once (onResults): scheduling rounds wait for the end. */
  private inBulk = false;
  private scheduleWanted = false;
  private localityTimer?: TimerHandle;
  /** Set while a locality-wait timer is armed and has not fired yet. */
  private localityTimerArmed = false;
  /** A round after an executor's refusal backoff (REFUSED_BACKOFF_MS), so the refused task is placed again. */
  private refusalTimer?: TimerHandle;
  listener?: TaskSetListener;
  /**
   * Why a task cannot run yet although its stage may: an input block it reads
   * has no live replica (every executor holding it is lost — perhaps only
   * paused, and it may rejoin and report the block). Such a task waits
   * instead of failing attempt after attempt; undefined when it can run.
   */
  inputUnavailable: (t: TaskAttempt) => string | undefined = () => undefined;

  constructor(
    private readonly config: Config,
    private readonly clock: Clock,
    private readonly executors: ExecutorTracker,
    private readonly gateway: SchedulerPorts['gateway'],
    /** TaskSpec building (task-spec.ts); may throw, which fails the attempt and frees its slot. */
    private readonly buildSpec: (t: TaskAttemptRef) => TaskSpec,
    private readonly telemetry: BatchTelemetry,
    private readonly post: PostEvent,
    private readonly log: Logger,
  ) {}

  stop(): void {
    if (this.localityTimer) this.clock.clearTimeout(this.localityTimer);
    if (this.refusalTimer) this.clock.clearTimeout(this.refusalTimer);
  }

  /**
   * Queue the given partitions of a stage (each at most once: `inFlight`).
   * `preferred`: executors holding a partition's input (delay scheduling);
   * `affinity`: where its shuffle input was pushed (taken if it has room).
   */
  submit(run: BatchRun, s: StageRun, preferred: (partition: number) => string[], affinity?: (partition: number) => string | undefined): void {
    const now = this.clock.now();
    for (let p = 0; p < s.stage.numPartitions; p++) {
      if (s.done.has(p) || s.inFlight.has(p)) continue;
      s.inFlight.add(p);
      this.enqueue(
        new TaskAttempt({
          run,
          stageRun: s,
          partition: p,
          failures: 0,
          lostAttempts: 0,
          speculative: false,
          recovery: s.resubmissions > 0,
          preferred: preferred(p),
          ...withAffinity(affinity?.(p)),
          excluded: new Set(),
          readySinceMs: now,
        }),
        s.resubmissions > 0,
      );
    }
  }

  /**
   * Take on an attempt its executor started by itself from a group plan
   * (its plan's attempt number): RUNNING there from now, its slot counted,
   * its result routed here like a launched one's — or, if it already came,
   * taken from `stashed`.
   */
  adopt(run: BatchRun, s: StageRun, partition: number, attempt: number, exec: TrackedExecutor, preferred: string[], stashed: TaskResult__Output | undefined): void {
    const now = this.clock.now();
    s.inFlight.add(partition);
    const t = new TaskAttempt({
      run,
      stageRun: s,
      partition,
      failures: 0,
      lostAttempts: 0,
      speculative: false,
      recovery: false,
      preferred,
      excluded: new Set(),
      readySinceMs: now,
    });
    const locality = preferred.includes(exec.id) ? 'PROCESS_LOCAL' : 'ANY';
    t.start(attempt, { executorId: exec.id, epoch: exec.epoch, launchedAtMs: now, locality }, this.log);
    // Its executor runs planned tasks as their inputs arrive, in its FIFO queue behind its slots, as it
    // does launched ones: modelled the same way (startNextQueued), so a planned task adopted behind a
    // hundred others is not taken for a straggler — a copy of it would only cost a killed worker.
    // Once it reports, its time is its executor's measure (runTimeMs).
    const intoQueue = this.executors.freeSlots(exec) === 0;
    t.planned = true;
    this.executors.reserveSlot(exec);
    if (intoQueue) appendTo(this.queuedOn, exec.id, t);
    else t.startedAtMs = now;
    this.addRunning(t);
    run.tasksLaunched++;
    run.plannedTasks++;
    // Its executors started it when it was announced, not when the scheduler got to it: scheduling delay and
    // processing time (which backpressure's rate estimate divides by) count from there.
    run.firstLaunchAtMs ??= Math.min(now, run.readyAtMs ?? now);
    if (preferred.length > 0) run.locality[locality]++;
    this.telemetry.taskLaunched(locality, preferred.length > 0, false);
    this.gateway.expect(exec, [{ taskId: t.taskId, attempt }], this.callbacksFor(exec));
    if (stashed) {
      // Taken with every other stashed result of this round, in one event (a stage adopts hundreds at once).
      this.adoptedResults.push(stashed);
      if (this.adoptedResults.length === 1) this.post({ type: 'adoptedResults' });
    }
  }

  /** Results of adopted attempts that had come before their adoption, since the last call. */
  takeAdoptedResults(): TaskResult__Output[] {
    const taken = this.adoptedResults;
    this.adoptedResults = [];
    return taken;
  }

  /** Where an executor incarnation's results and losses go: into the loop as events (one per message for results). */
  private callbacksFor(exec: TrackedExecutor): LaunchCallbacks {
    const known = this.callbacks.get(exec);
    if (known && known.epoch === exec.epoch) return known.cb;
    const epoch = exec.epoch;
    const cb: LaunchCallbacks = {
      onResult: (result) => this.post({ type: 'taskResult', result }),
      onResults: (results) => this.post({ type: 'taskResults', results }),
      onLost: (taskIds, error, unreachable) => this.post({ type: 'tasksLost', executorId: exec.id, epoch, taskIds, error, unreachable }),
    };
    this.callbacks.set(exec, { epoch, cb });
    return cb;
  }

  private startNextQueued(executorId: string): void {
    const fifo = this.queuedOn.get(executorId);
    if (!fifo) return;
    while (fifo.length > 0) {
      const next = fifo.shift()!;
      if (next.state !== 'RUNNING' || !this.running.has(next.key)) continue; // ended while queued
      next.startedAtMs = this.clock.now();
      break;
    }
    if (fifo.length === 0) this.queuedOn.delete(executorId);
  }

  private enqueue(t: TaskAttempt, urgent: boolean): void {
    this.setQueued(t);
    (urgent ? this.urgent : this.pending).push(t);
  }

  /** Index `t` as its task's queued attempt (replacing any other). */
  private setQueued(t: TaskAttempt): void {
    const key = taskKey(t);
    const prev = this.queuedByTask.get(key);
    if (prev === t) return;
    if (prev) addCount(this.queuedByJob, prev.run.job.id, -1);
    this.queuedByTask.set(key, t);
    addCount(this.queuedByJob, t.run.job.id, 1);
  }

  /** Drop the queued attempt of `t`'s task from the index, if any. */
  private unsetQueued(t: TaskAttempt): void {
    const key = taskKey(t);
    const indexed = this.queuedByTask.get(key);
    if (!indexed) return;
    this.queuedByTask.delete(key);
    addCount(this.queuedByJob, indexed.run.job.id, -1);
  }

  private addRunning(t: TaskAttempt): void {
    this.running.set(t.key, t);
    appendTo(this.runningByTask, taskKey(t), t);
    addCount(this.runningByJob, t.run.job.id, 1);
  }

  private removeRunning(t: TaskAttempt): void {
    if (this.running.delete(t.key)) addCount(this.runningByJob, t.run.job.id, -1);
    // It held a slot there: the executor's next queued task takes it now.
    if (t.startedAtMs !== undefined) this.startNextQueued(t.executorId);
    const key = taskKey(t);
    const attempts = this.runningByTask.get(key);
    if (!attempts) return;
    const i = attempts.indexOf(t);
    if (i >= 0) attempts.splice(i, 1);
    if (attempts.length === 0) this.runningByTask.delete(key);
  }

  /**
   * Hand queued tasks to free capacity. Recovery, retries and speculative
   * copies go ahead of new work; a task whose input is on a busy executor
   * waits up to localityWait (placement.ts). Stops as soon as no executor
   * has room: the rest keeps its order for the next round.
   */
  schedule(): void {
    if (this.inBulk) {
      this.scheduleWanted = true;
      return;
    }
    this.scheduleWanted = false;
    const now = this.clock.now();
    const alive = this.executors.alive();
    if (alive.length === 0) {
      for (const t of this.urgent) t.run.waitingFor = NO_EXECUTOR;
      for (const t of this.pending) t.run.waitingFor = NO_EXECUTOR;
      return;
    }
    // Nothing to place and no executor with tasks queued behind its slots (nothing to steal): a round after
    // each results message, so at 128 executors the views below were most of a wave's scheduling cost.
    if (this.urgent.length === 0 && this.pending.length === 0 && !alive.some((e) => e.running > e.slots)) return;
    const views = this.placementViews(alive);
    let room = 0;
    for (const v of views.values()) room += v.queueRoom;
    if (room === 0) return;
    if (this.urgent.length === 0 && this.pending.length === 0) return this.stealForIdleSlots(views);
    const viewList = [...views.values()];
    const launches = new Map<TrackedExecutor, TaskAttempt[]>();
    let nextDeadline = Infinity;
    // Tasks held back this round because the executor their shuffle input was
    // pushed to is full while another one has room: a later task of the queue
    // may belong where the room is. They are placed anywhere in a second pass
    // when room is left after the first.
    let deferred = 0;
    // Fair shares: while several jobs have queued tasks, the first pass places a job's task only while it
    // holds fewer than its share of the places; the second (room left) places anyone's.
    const share = this.queuedByJob.size > 1 ? Math.ceil(this.places(alive) / this.queuedByJob.size) : Number.POSITIVE_INFINITY;
    let overShare = 0;
    const scan = (queue: TaskAttempt[], honourAffinity: boolean, limit: number): TaskAttempt[] => {
      const remaining: TaskAttempt[] = [];
      let i = 0;
      for (; i < queue.length && room > 0; i++) {
        const t = queue[i]!;
        if (t.state !== 'PENDING') continue; // cancelled while queued
        if (t.run.state !== 'RUNNING') {
          this.dequeue(t, 'CANCELLED');
          continue;
        }
        if (!inputsReady(t)) {
          // A retry or speculative copy of a task whose shuffle input is being
          // recomputed (an executor holding map outputs was lost): launched now,
          // it would read only the map outputs still there and silently miss
          // the rest. It waits until the map side is complete again.
          remaining.push(t);
          continue;
        }
        const unavailable = this.inputUnavailable(t);
        if (unavailable !== undefined) {
          if (t.run.waitingFor !== unavailable) this.log.warn({ taskId: t.taskId, batchTimeMs: t.run.batchTimeMs }, `task waits: ${unavailable}`);
          t.run.waitingFor = unavailable;
          remaining.push(t);
          continue;
        }
        if (t.run.waitingFor !== undefined) t.run.waitingFor = undefined;
        if ((this.runningByJob.get(t.run.job.id) ?? 0) >= limit) {
          overShare++;
          remaining.push(t);
          continue;
        }
        const placed = place(t, viewList, now, this.config.localityWait);
        if (placed.kind !== 'launch') {
          if (placed.kind === 'wait') nextDeadline = Math.min(nextDeadline, placed.untilMs);
          remaining.push(t);
          continue;
        }
        if (
          honourAffinity &&
          t.affinity !== undefined &&
          placed.executorId !== t.affinity &&
          views.has(t.affinity) &&
          !views.get(t.affinity)!.slow &&
          !t.excluded.has(t.affinity)
        ) {
          deferred++;
          remaining.push(t);
          continue;
        }
        const exec = this.executors.get(placed.executorId)!;
        this.executors.reserveSlot(exec);
        const view = views.get(exec.id)!;
        const intoQueue = view.freeSlots === 0;
        if (!intoQueue) view.freeSlots--;
        view.queueRoom--;
        room--;
        this.unsetQueued(t);
        t.start(t.run.nextAttempt(t.taskId), { executorId: exec.id, epoch: exec.epoch, launchedAtMs: now, locality: placed.locality }, this.log);
        if (intoQueue) appendTo(this.queuedOn, exec.id, t);
        else t.startedAtMs = now;
        this.addRunning(t);
        appendTo(launches, exec, t);
      }
      if (i === 0) return queue;
      for (; i < queue.length; i++) remaining.push(queue[i]!);
      return remaining;
    };
    this.urgent = scan(this.urgent, true, share);
    this.pending = scan(this.pending, true, share);
    if ((deferred > 0 || overShare > 0) && room > 0) {
      this.urgent = scan(this.urgent, false, Number.POSITIVE_INFINITY);
      this.pending = scan(this.pending, false, Number.POSITIVE_INFINITY);
    }
    if (Number.isFinite(nextDeadline)) this.armLocalityTimer(nextDeadline - now);
    for (const [exec, tasks] of launches) this.launchOn(exec, tasks, now);
    this.stealForIdleSlots(views);
  }

  /** What placement sees of each alive executor: its idle slots and room, none for a slow one while a faster one is alive. */
  private placementViews(alive: readonly TrackedExecutor[]): Map<string, PlacementExecutor> {
    const views = new Map<string, PlacementExecutor>();
    const slow = this.executors.slowExecutors(this.config.slowExecutorRatio);
    for (const e of alive) {
      // A slow executor gets no new work while a fast one is alive: a task there takes several
      // times as long as waiting for a place on a fast one (it is measured afresh later, SLOW_RETEST_MS).
      const queueRoom = slow.has(e.id) && slow.size < alive.length ? 0 : this.executors.queueRoom(e);
      views.set(e.id, { id: e.id, host: e.host, freeSlots: this.executors.freeSlots(e), queueRoom, slow: slow.has(e.id) });
    }
    return views;
  }

  /** Idle slots left after a round, and tasks queued on busy executors: take some of those back (see the header). */
  private stealForIdleSlots(views: ReadonlyMap<string, PlacementExecutor>): void {
    // Only idle slots placement may fill: a slow executor's (or one backing off after a refusal) have no room
    // (queueRoom 0). Counting them asked tasks back for slots that could not take them — each placed again
    // elsewhere, excluded from the executor it left, until a task stolen from every fast executor could only
    // wait for the slow one's retest (a fast executor wrongly flagged in a cluster's first seconds: batches
    // with no progress for 11–17 s).
    let idle = 0;
    for (const v of views.values()) idle += Math.min(v.freeSlots, v.queueRoom);
    if (idle === 0) return;
    const busy = new Map<string, { exec: TrackedExecutor; queued: number; attempts: TaskAttempt[] }>();
    for (const e of this.executors.alive()) if (e.running > e.slots) busy.set(e.id, { exec: e, queued: e.running - e.slots, attempts: [] });
    if (busy.size === 0) return;
    for (const t of this.running.values()) {
      // An idle slot already promised a task asked back (not here yet) is not idle.
      if (t.stealRequested) idle--;
      const b = busy.get(t.executorId);
      if (!b || t.epoch !== b.exec.epoch) continue;
      if (t.stealRequested) b.queued--;
      else if (!t.speculative) b.attempts.push(t);
    }
    if (idle <= 0) return;
    const now = this.clock.now();
    let eligibleIn = Number.POSITIVE_INFINITY;
    const victims = [...busy.values()].filter((b) => b.queued > 0).sort((a, b) => b.queued - a.queued);
    for (const b of victims) {
      if (idle === 0) break;
      // The executor runs its queue in order: the latest assigned are the least likely to have started
      // (`running` keeps launch order, so they are the last collected).
      b.attempts.reverse();
      const take = b.attempts.slice(0, Math.min(idle, b.queued));
      // The youngest of them has waited least: once it waited long enough, so did the rest.
      const youngest = take[0];
      if (!youngest) continue;
      const wait = this.stealWaitMs(youngest.stageRun) - (now - (youngest.launch?.launchedAtMs ?? now));
      if (wait > 0) {
        eligibleIn = Math.min(eligibleIn, wait);
        continue;
      }
      for (const t of take) t.stealRequested = true;
      idle -= take.length;
      this.gateway.kill(b.exec, take.map((t) => ({ taskId: t.taskId, attempt: t.attempt })), true);
    }
    // Nothing else may come to wake a round (the long task runs on, the idle executor has nothing to report).
    if (idle > 0 && Number.isFinite(eligibleIn)) this.armLocalityTimer(eligibleIn);
  }

  /** How long tasks of this stage wait in an executor's queue before an idle executor may steal them (see the header). */
  private stealWaitMs(s: StageRun): number {
    const mean = s.durations.length > 0 ? s.durationsTotal / s.durations.length : 0;
    return Math.max(this.config.localityWait, 2 * mean);
  }

  /** Every place alive executors offer (slots × taskQueueDepth): what fair shares divide. */
  private places(alive: readonly TrackedExecutor[]): number {
    let n = 0;
    for (const e of alive) n += e.slots * e.queueDepth;
    return n;
  }

  /** Running and queued attempts of a job (what its fair share is weighed against); for tests. */
  jobLoad(jobId: string): { running: number; queued: number } {
    return { running: this.runningByJob.get(jobId) ?? 0, queued: this.queuedByJob.get(jobId) ?? 0 };
  }

  /** Take a queued attempt out of the queues' index; the queues drop it when they reach it. */
  private dequeue(t: TaskAttempt, state: 'CANCELLED'): void {
    if (this.queuedByTask.get(taskKey(t)) === t) this.unsetQueued(t);
    t.moveTo(state, this.log);
  }

  private armLocalityTimer(delayMs: number): void {
    if (this.localityTimer) this.clock.clearTimeout(this.localityTimer);
    this.localityTimerArmed = true;
    this.localityTimer = this.clock.setTimeout(() => {
      this.localityTimerArmed = false;
      this.post({ type: 'reschedule' });
    }, Math.max(1, delayMs));
  }

  /** Build each task's spec and send them, one RunTasks call per job. A spec that cannot be built fails its attempt and frees its slot. */
  private launchOn(exec: TrackedExecutor, tasks: TaskAttempt[], now: number): void {
    const byRun = new Map<BatchRun, Array<{ t: TaskAttempt; spec: TaskSpec }>>();
    for (const t of tasks) {
      let spec: TaskSpec;
      try {
        spec = this.buildSpec(t);
      } catch (err) {
        this.executors.releaseSlot(exec.id, exec.epoch);
        this.removeRunning(t);
        t.moveTo('FAILED', this.log);
        this.log.error({ taskId: t.taskId, attempt: t.attempt, err: errorMessage(err) }, 'cannot build the task; its slot is released');
        this.retryOrFail(t, t.failures + 1, `cannot build the task: ${errorMessage(err)}`, false);
        continue;
      }
      const run = t.run;
      run.tasksLaunched++;
      if (t.speculative) run.speculativeTasks++;
      if (t.recovery) run.recoveryTasks++;
      run.firstLaunchAtMs ??= now;
      if (t.preferred.length > 0) run.locality[t.locality]++;
      this.telemetry.taskLaunched(t.locality, t.preferred.length > 0, t.speculative);
      appendTo(byRun, run, { t, spec });
    }
    const cb = this.callbacksFor(exec);
    for (const [run, launched] of byRun) {
      const job = run.job;
      // One job has one batch running: the RunTasks call belongs to that batch's trace.
      this.telemetry.inBatch(run, () =>
        this.gateway.launch(
          exec,
          { jobId: job.id, bundle: job.bundle, bundleHash: job.bundleHash },
          launched.map((l) => l.spec),
          cb,
        ),
      );
    }
  }

  isRunning(taskId: string, attempt: number): boolean {
    return this.running.has(attemptKey(taskId, attempt));
  }

  /**
   * Results that came together (one message of an executor, or the stashed
   * results of attempts adopted in one round): each taken as by onResult, with
   * one scheduling round after them all instead of one per result.
   */
  onResults(results: readonly TaskResult__Output[]): void {
    this.inBulk = true;
    try {
      for (const r of results) {
        try {
          this.onResult(r);
        } catch (err) {
          // As when each result was an event of its own: one that cannot be handled (a bug) costs only itself.
          this.log.error({ err, taskId: r.taskId, attempt: r.attempt }, 'task result handler failed');
        }
      }
    } finally {
      this.inBulk = false;
    }
    if (this.scheduleWanted) this.schedule();
  }

  /** A task attempt reported. Fenced: only the attempt and incarnation it was launched as count. */
  onResult(r: TaskResult__Output): void {
    const t = this.running.get(attemptKey(r.taskId, r.attempt));
    if (!t) return; // late result of an abandoned/killed attempt
    if (t.executorId !== r.executorId || t.epoch !== Number(r.epoch)) return; // fenced: another incarnation
    this.removeRunning(t);
    this.executors.releaseSlot(t.executorId, t.epoch);
    const exec = this.executors.get(t.executorId);
    const live = exec && exec.epoch === t.epoch ? exec : undefined;
    // A task that left shows room; a launched one refused as full holds its executor's new work back a
    // moment (refusedFull). A planned task's queue_full is a reducer that gave up waiting for its inputs.
    if (live) {
      if (r.queueFull && !t.planned) {
        this.executors.refusedFull(live);
        this.refusalTimer ??= this.clock.setTimeout(() => {
          this.refusalTimer = undefined;
          this.post({ type: 'reschedule' });
        }, REFUSED_BACKOFF_MS);
      } else this.executors.reported(live);
    }
    const run = t.run;
    const s = t.stageRun;
    if (t.planned && r.metrics) t.reportedMs = r.metrics.runMs + r.metrics.fetchMs;
    if (r.state === 'SUCCEEDED') {
      t.moveTo('SUCCEEDED', this.log);
      if (run.state !== 'RUNNING') return this.schedule();
      const records = Number(r.metrics?.recordsIn ?? 0);
      if (live) {
        live.tasksCompleted++;
        const pace = paceOf(t, this.clock.now(), records);
        if (pace !== undefined) this.executors.recordTaskTime(live, pace);
      }
      addToStagePace(t, this.clock.now(), records);
      s.inFlight.delete(t.partition);
      this.cancelOtherAttempts(t);
      if (!s.done.has(t.partition)) this.listener?.taskSucceeded(t, r);
      return this.schedule();
    }
    t.moveTo(r.state === 'KILLED' ? 'KILLED' : 'FAILED', this.log);
    if (run.state !== 'RUNNING') return this.schedule();
    if (r.state === 'KILLED' && t.stealRequested) {
      // Given back before it started, for an idle executor: placed again, uncounted, elsewhere.
      run.stolenTasks++;
      if (!this.otherAttemptRunning(t) && !s.done.has(t.partition)) {
        s.inFlight.delete(t.partition);
        this.requeue(t, t.failures, `taken back from executor ${t.executorId} for an idle one`);
      }
      return this.schedule();
    }
    if (r.queueFull) {
      // The executor still held tasks the scheduler had already counted out
      // (a kill in flight): not the task's fault, place it again, uncounted.
      if (!this.otherAttemptRunning(t) && !s.done.has(t.partition)) {
        s.inFlight.delete(t.partition);
        this.requeue(t, t.failures, r.error, t.lostAttempts, false);
      }
      return this.schedule();
    }
    if (live) live.tasksFailed++;
    run.taskFailures++;
    // Another attempt (a speculative copy) is still running: let it decide.
    if (r.state === 'KILLED' || this.otherAttemptRunning(t)) {
      if (r.state === 'KILLED' && !this.otherAttemptRunning(t) && !s.done.has(t.partition)) {
        s.inFlight.delete(t.partition);
        this.requeue(t, t.failures, 'killed');
      }
      return this.schedule();
    }
    s.inFlight.delete(t.partition);
    if (r.fetchFailedExecutorId) {
      // The map outputs on that executor are gone: rerun them, then this task.
      const fetchFailures = (run.fetchFailures.get(t.taskId) ?? 0) + 1;
      run.fetchFailures.set(t.taskId, fetchFailures);
      if (fetchFailures >= this.config.maxTaskAttempts) {
        this.listener?.batchFailed(run, `task ${t.taskId} could not fetch its shuffle input ${fetchFailures} times; last error: ${r.error}`);
      } else {
        this.log.warn({ taskId: t.taskId, from: r.fetchFailedExecutorId }, 'fetch failed; recomputing lost map outputs');
        this.listener?.mapOutputsLost(run, s, r.fetchFailedExecutorId);
      }
      return this.schedule();
    }
    const error = r.error || r.state;
    this.log.warn({ taskId: t.taskId, attempt: t.attempt, executorId: t.executorId, userError: r.userError, error }, 'task failed');
    this.retryOrFail(t, t.failures + 1, error, true);
    this.schedule();
  }

  /** Count a failure: fail the batch at maxTaskAttempts, else retry elsewhere. */
  private retryOrFail(t: TaskAttempt, failures: number, error: string, ranSomewhere: boolean): void {
    if (failures >= this.config.maxTaskAttempts) {
      t.stageRun.inFlight.delete(t.partition);
      this.listener?.batchFailed(
        t.run,
        `task ${t.taskId} (stage ${t.stageRun.stage.id}, partition ${t.partition}) failed ${failures} times; last error: ${error}`,
      );
      return;
    }
    if (ranSomewhere) this.requeue(t, failures, error);
    else this.enqueue(t.retry({ failures, lastError: error, readySinceMs: this.clock.now() }), true);
  }

  /** Queue another attempt of `t` ahead of new work; `exclude`: not on the executor this one ran on. */
  private requeue(t: TaskAttempt, failures: number, error: string, lostAttempts = t.lostAttempts, exclude = true): void {
    const excluded = new Set(t.excluded);
    if (exclude) excluded.add(t.executorId);
    t.stageRun.inFlight.add(t.partition);
    this.enqueue(
      t.retry({
        failures,
        lostAttempts,
        preferred: t.preferred.filter((id) => this.executors.isAlive(id)),
        excluded,
        readySinceMs: this.clock.now(),
        lastError: error,
      }),
      true,
    );
  }

  /**
   * A RunTasks call broke before these tasks reported. That is the executor's
   * fault, not the task's (Spark's ExecutorLostFailure does not count toward
   * task failures), so the attempt is retried elsewhere without counting —
   * but bounded separately, so a task that somehow kills every executor it
   * touches still ends. A transport failure also triggers a health probe: a
   * dead executor is declared lost now rather than after missed heartbeats.
   */
  onTasksLost(executorId: string, epoch: number, taskIds: string[], error: string, unreachable: boolean): void {
    const exec = this.executors.get(executorId);
    const lostIds = new Set(taskIds);
    for (const t of [...this.running.values()]) {
      if (t.executorId !== executorId || t.epoch !== epoch || !lostIds.has(t.taskId)) continue;
      this.removeRunning(t);
      t.moveTo('LOST', this.log);
      if (this.executors.releaseSlot(executorId, epoch)) exec!.tasksFailed++;
      if (t.run.state !== 'RUNNING') continue;
      t.run.taskFailures++;
      if (this.otherAttemptRunning(t)) continue;
      t.stageRun.inFlight.delete(t.partition);
      const lost = t.lostAttempts + 1;
      if (lost >= 2 * this.config.maxTaskAttempts) {
        this.listener?.batchFailed(t.run, `task ${t.taskId} was lost with its executor ${lost} times; last error: ${error}`);
        continue;
      }
      this.requeue(t, t.failures, error, lost);
    }
    if (unreachable && exec && exec.epoch === epoch && exec.state === 'ALIVE') {
      this.gateway.probe({ id: exec.id, epoch: exec.epoch, address: exec.address }).then(
        (ok) => this.post(ok ? { type: 'executorAnswered', executorId, epoch } : { type: 'executorUnreachable', executorId, epoch }),
        () => this.post({ type: 'executorUnreachable', executorId, epoch }),
      );
    }
    this.schedule();
  }

  /** An executor incarnation is gone: its running attempts will never report; run them elsewhere, uncounted. */
  onExecutorLost(e: TrackedExecutor, reason: string): void {
    for (const t of [...this.running.values()]) {
      if (t.executorId !== e.id || t.epoch !== e.epoch) continue;
      this.removeRunning(t);
      t.moveTo('LOST', this.log);
      if (t.run.state !== 'RUNNING') continue;
      t.stageRun.inFlight.delete(t.partition);
      this.requeue(t, t.failures, `executor ${e.id} lost: ${reason}`);
    }
    for (const t of this.queuedByTask.values()) t.preferred = t.preferred.filter((id) => id !== e.id);
    this.queuedOn.delete(e.id);
  }

  /** A batch ended (its job failed or stopped): drop its queued tasks and kill its running ones. */
  abandonRun(run: BatchRun): void {
    this.cancelPending((t) => t.run === run);
    for (const t of [...this.running.values()]) {
      if (t.run !== run) continue;
      this.removeRunning(t);
      t.moveTo('KILLED', this.log);
      if (this.executors.releaseSlot(t.executorId, t.epoch)) this.gateway.kill(this.executors.get(t.executorId)!, [{ taskId: t.taskId, attempt: t.attempt }]);
    }
  }

  /** The stage's map side is being rebuilt: its queued tasks wait to be submitted again (not yet launched ones only). */
  withdrawPending(stageRun: StageRun): void {
    this.cancelPending((t) => {
      if (t.stageRun !== stageRun) return false;
      stageRun.inFlight.delete(t.partition);
      return true;
    });
  }

  private cancelPending(match: (t: TaskAttempt) => boolean): void {
    for (const t of [...this.queuedByTask.values()]) if (match(t)) this.dequeue(t, 'CANCELLED');
  }

  private otherAttemptRunning(t: TaskAttempt): boolean {
    return (this.runningByTask.get(taskKey(t)) ?? []).some((r) => r !== t);
  }

  /** A partition is done: kill every other attempt of it and drop queued copies. */
  private cancelOtherAttempts(winner: TaskAttempt): void {
    for (const r of [...(this.runningByTask.get(taskKey(winner)) ?? [])]) {
      if (r === winner) continue;
      this.removeRunning(r);
      r.moveTo('KILLED', this.log);
      const loser = this.executors.get(r.executorId);
      if (this.executors.releaseSlot(r.executorId, r.epoch)) {
        // It lost the race to a copy started later: slower than its copy by more than the head start,
        // by how much is not known. Counted as slower than any task that finished (LOST_TO_COPY), so
        // an executor most of whose recent tasks lose to copies has that median and is found slow,
        // while a few lost races of a healthy one leave its median alone. Its time so far is no
        // measure: a copy starts at 1.5× the median and takes about one more, so that lower bound
        // (~2.5×) sits under slowExecutorRatio however slow the executor is.
        if (loser && !r.speculative && lostToCopy(r, this.clock.now())) this.executors.recordTaskTime(loser, LOST_TO_COPY);
        this.gateway.kill(loser!, [{ taskId: r.taskId, attempt: r.attempt }]);
      }
    }
    const queued = this.queuedByTask.get(taskKey(winner));
    if (queued) this.dequeue(queued, 'CANCELLED');
  }

  /**
   * Spark's speculative execution: once `speculationQuantile` of a stage's
   * tasks are done, a task running longer than `speculationMultiplier` × the
   * median of the finished ones (and at least speculationMinRuntime) gets one
   * copy on another executor. The first attempt to succeed wins; the other is
   * killed, and its result — if it still arrives — is ignored, so outputs stay
   * exactly-once.
   */
  speculate(): void {
    const now = this.clock.now();
    let added = false;
    // Each stage's median once per check, not once per running task (hundreds of tiny tasks per stage).
    const medians = new Map<StageRun, number>();
    for (const [key, attempts] of this.runningByTask) {
      if (attempts.length !== 1) continue; // already has a copy
      const t = attempts[0]!;
      const s = t.stageRun;
      if (t.run.state !== 'RUNNING' || s.done.has(t.partition) || s.durations.length === 0) continue;
      if (!inputsReady(t)) continue; // its map side is being recomputed: schedule() would only hold the copy
      if (s.done.size < this.config.speculationQuantile * s.stage.numPartitions) continue;
      if (this.queuedByTask.has(key)) continue;
      // Time in a slot, not since launch: a task waiting in its executor's queue is not straggling.
      if (t.startedAtMs === undefined) continue;
      let median = medians.get(s);
      if (median === undefined) {
        const sorted = [...s.durations].sort((a, b) => a - b);
        median = sorted[Math.floor(sorted.length / 2)]!;
        medians.set(s, median);
      }
      const threshold = Math.max(this.config.speculationMinRuntime, this.config.speculationMultiplier * median);
      const runningMs = t.runTimeMs(now);
      if (runningMs <= threshold) continue;
      if (!this.executors.alive().some((e) => e.id !== t.executorId)) continue;
      this.log.info({ taskId: t.taskId, executorId: t.executorId, runningMs, medianMs: median }, 'speculating straggler');
      this.enqueue(
        t.retry({
          failures: t.failures,
          lostAttempts: t.lostAttempts,
          speculative: true,
          recovery: false,
          preferred: t.preferred.filter((id) => id !== t.executorId && this.executors.isAlive(id)),
          excluded: new Set([...t.excluded, t.executorId]),
          readySinceMs: now - this.config.localityWait, // no locality wait for a copy: time is what it is short of
        }),
        true,
      );
      added = true;
    }
    if (added) this.schedule();
  }

  /** For status: queued attempts, and how many of them wait by design (locality, or no usable free slot). */
  pendingCounts(): { pending: number; waiting: number } {
    const now = this.clock.now();
    // Waiting by design includes waiting while the only room is on a slow executor.
    const alive = [...this.placementViews(this.executors.alive()).values()];
    let waiting = 0;
    for (const t of this.queuedByTask.values()) if (waitingByDesign(t, alive, now, this.config.localityWait, this.localityTimerArmed)) waiting++;
    return { pending: this.queuedByTask.size, waiting };
  }
}

/**
 * A task shorter than this says nothing of its executor's speed (its time is
 * the launch's fixed cost and the machine's noise): it gives no pace, as Spark
 * does not speculate tasks under spark.speculation.minTaskRuntime.
 */
export const MIN_PACE_TASK_MS = 5;

/**
 * How slowly attempt `t` ran against the rest of its stage: its time per input
 * record over the stage's so far, when it read `records` and the stage has a
 * rate — a partition twice as big takes twice as long on a healthy executor,
 * and plain durations took that skew for slowness (a healthy executor's paces
 * swung 0.2–2 against each other, a 10× slower one's sat near 4, and its slow
 * flag flapped). A task that reads no records falls back to its time over the
 * stage's mean. None for a task under MIN_PACE_TASK_MS.
 */
function paceOf(t: TaskAttempt, nowMs: number, records: number): number | undefined {
  const s = t.stageRun;
  if (t.startedAtMs === undefined) return undefined;
  const ms = t.runTimeMs(nowMs);
  if (ms < MIN_PACE_TASK_MS) return undefined;
  if (records > 0) return s.pacedRecords > 0 && s.pacedMs > 0 ? ms / records / (s.pacedMs / s.pacedRecords) : undefined;
  if (s.durations.length === 0 || s.durationsTotal <= 0) return undefined;
  return ms / (s.durationsTotal / s.durations.length);
}

/** The pace recorded for an attempt that lost to a copy of itself (cancelOtherAttempts). */
export const LOST_TO_COPY = Number.POSITIVE_INFINITY;

/** Was `t` (killed because a copy won) running long enough to count as overtaken? Under MIN_PACE_TASK_MS it is noise, as for a pace. */
function lostToCopy(t: TaskAttempt, nowMs: number): boolean {
  return t.startedAtMs !== undefined && t.runTimeMs(nowMs) >= MIN_PACE_TASK_MS;
}

/** A successful attempt's time and records join its stage's rate (what paceOf compares against), under the same rules. */
function addToStagePace(t: TaskAttempt, nowMs: number, records: number): void {
  if (records <= 0 || t.startedAtMs === undefined) return;
  const ms = t.runTimeMs(nowMs);
  if (ms < MIN_PACE_TASK_MS) return;
  t.stageRun.pacedMs += ms;
  t.stageRun.pacedRecords += records;
}

function withAffinity(affinity: string | undefined): { affinity?: string } {
  return affinity === undefined ? {} : { affinity };
}

const NO_EXECUTOR = 'no executor is alive: waiting for executors to join or rejoin';

/** One task (a partition of a stage of a batch run), whichever attempt. */
function taskKey(t: TaskAttempt): string {
  return `${t.run.key}/${t.taskId}`;
}

/** Every stage whose output the task reads (shuffle map sides, persisted datasets) is complete. */
function inputsReady(t: TaskAttempt): boolean {
  return t.stageRun.stage.parentStages.every((p) => t.run.stageComplete(t.run.stages[p]!));
}

