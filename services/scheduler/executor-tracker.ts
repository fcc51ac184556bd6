/**
 * Which executors are alive, how to reach them, and how many task slots the
 * scheduler has free on each. Liveness comes from NATS heartbeats: an executor
 * that has missed `maxMissed` heartbeat intervals is declared lost, and a
 * heartbeat with a new epoch means the process restarted (the old incarnation
 * is lost even if no heartbeat was missed).
 *
 * Fencing is per incarnation: a lost (id, epoch) stays lost, and its
 * heartbeats are answered with a `fenced` change (the scheduler repeats
 * `executor.lost` so the executor learns it and rejoins with a new epoch,
 * services/executor/incarnation.ts). The new epoch is a new incarnation,
 * added like any other. Loss judgements on silence (`expire`) are only made
 * when the scheduler's liveness guard says it could hear (liveness-guard.ts).
 *
 * Free slots are the scheduler's own accounting (slots − tasks it launched
 * there and has not heard back from), not the heartbeat's figure, which lags.
 * An executor takes up to slots × taskQueueDepth tasks at once (its own
 * option, reported in heartbeats): the tasks beyond its slots wait in its
 * queue, so a slot that frees up starts the next one without a round trip.
 * This class decides nothing about tasks; it only reports changes.
 */
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { HeartbeatMessage } from '../../lib/nats/subjects.js';

export type ExecutorState = 'ALIVE' | 'LOST';

export interface TrackedExecutor {
  id: string;
  epoch: number;
  address: string;
  host: string;
  slots: number;
  /** Tasks it accepts per slot (running + queued ≤ slots × this). */
  queueDepth: number;
  /** Tasks the scheduler launched here and has no result for (running or queued there). */
  running: number;
  state: ExecutorState;
  lastHeartbeatMs: number;
  lastReport: HeartbeatMessage;
  tasksCompleted: number;
  tasksFailed: number;
  lostReason?: string;
  /**
   * Its recent tasks' pace, newest last (at most RECENT_PACES): each task's
   * time in a slot over the mean of its stage's tasks finished before it
   * (1 = typical), so big and small tasks compare. Judged by the median, so
   * one long task (skew: a hot key) does not make its executor look slow.
   */
  paces: number[];
  /** median(paces), kept until they change: slow-executor judging reads every executor's after each task result. */
  paceMedian?: number;
  /** When it was last found slow (slowExecutors); its history is forgotten SLOW_RETEST_MS later, so it is measured afresh. */
  slowSinceMs?: number;
  /**
   * It refused a task as full (TaskResult.queue_full) and gets no new work
   * until then (REFUSED_BACKOFF_MS later) or until one of its tasks reports:
   * its own count of tasks is ahead of `running` — tasks it started from
   * group plans that the scheduler has not adopted yet, or killed ones still
   * leaving — and a task sent again at once would be refused again, in a loop
   * as fast as the round trip.
   */
  refusedUntilMs?: number;
}

/** A slow executor gets no new work; this long after it was found slow its history is dropped and it gets work again (to be measured afresh). */
export const SLOW_RETEST_MS = 30_000;

/**
 * For this long after the alive executors' slots dropped, batches are still
 * planned for the earlier total (plannedSlots): an executor that is
 * restarting or missed a few heartbeats is back within seconds, and planning
 * every batch meanwhile for fewer slots would change reduce partition counts
 * back and forth (and fix them for good in a state that starts then).
 */
export const SLOTS_MEMORY_MS = 30_000;

/**
 * How long an executor that refused a task as full gets no new work unless
 * one of its tasks reports first: bounds the refusals to ~20 per second per
 * executor, and is short against a task's time.
 */
export const REFUSED_BACKOFF_MS = 50;

/** A slow executor stops being slow when its pace is under this fraction of slowExecutorRatio × the others' (hysteresis). */
export const SLOW_RELEASE_FRACTION = 0.5;

/** Paces kept per executor. */
const RECENT_PACES = 9;
/** Tasks an executor must have finished before it can be judged slow (or serve as a reference). */
const MIN_TASK_SAMPLES = 3;
/** Executors are judged slow again once this many task times per executor came (with at least one): below 8 executors, after every one. */
const PACES_PER_JUDGEMENT = 1 / 8;

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * `median` of `sorted` (ascending) with one element equal to `value` taken out,
 * without copying: the remaining n - 1 elements' median index k = ⌊(n-1)/2⌋
 * reads sorted[k] when the removed element sits after k, else sorted[k + 1].
 */
export function medianWithout(sorted: readonly number[], value: number): number {
  const k = Math.floor((sorted.length - 1) / 2);
  // Where an element equal to `value` sits: any copy gives the same remaining multiset.
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo > k ? sorted[k]! : sorted[k + 1]!;
}

/** A median pace for the log: JSON has no Infinity. */
function describePace(pace: number): number | string {
  return Number.isFinite(pace) ? pace : 'most recent tasks overtaken by copies';
}

export type ExecutorChange =
  | { kind: 'added'; executor: TrackedExecutor }
  | { kind: 'lost'; executor: TrackedExecutor; reason: string }
  /** A heartbeat of an incarnation already declared lost: it must learn it and rejoin. */
  | { kind: 'fenced'; executor: TrackedExecutor };

export class ExecutorTracker {
  private readonly executors = new Map<string, TrackedExecutor>();
  /**
   * slowExecutors' last answer: asked on every scheduling round, it only
   * changes when paces are recorded, an executor joins or is lost, or a slow
   * one's retest time comes — so it is recomputed only then, and after
   * paces only once enough came (PACES_PER_JUDGEMENT).
   */
  private slowCache?: { ratio: number; version: number; paces: number; retestAtMs: number; slow: Set<string> };
  /** Bumped by every change of the executors slowExecutors judges (joins, losses) and of an address. */
  private version = 0;
  /** Task times recorded (recordTaskTime). */
  private pacesRecorded = 0;
  /** Bumped whenever an executor turns slow or stops being so. */
  private flagChanges = 0;

  private readonly timeoutMs: number;
  /** Alive slots in force until `untilMs`, for the last SLOTS_MEMORY_MS (plannedSlots). */
  private slotHistory: Array<{ untilMs: number; slots: number }> = [];
  private aliveSlots = 0;

  constructor(
    private readonly clock: Clock,
    readonly heartbeatIntervalMs: number,
    readonly maxMissed: number,
    /** Where an executor turning slow, or not slow any more, is logged (info). */
    private readonly log?: Logger,
  ) {
    this.timeoutMs = heartbeatIntervalMs * maxMissed;
  }

  /** Apply a heartbeat; returns what changed (a restart yields lost + added). */
  heartbeat(msg: HeartbeatMessage): ExecutorChange[] {
    const now = this.clock.now();
    const known = this.executors.get(msg.executorId);
    const changes: ExecutorChange[] = [];
    if (known && known.epoch === msg.epoch) {
      // A fenced incarnation stays fenced; it is told so (and rejoins as a new one).
      if (known.state === 'LOST') return [{ kind: 'fenced', executor: known }];
      known.lastHeartbeatMs = now;
      known.lastReport = msg;
      const resized = known.slots !== msg.slots;
      known.slots = msg.slots;
      known.queueDepth = msg.taskQueueDepth ?? 1;
      if (known.address !== msg.address) {
        known.address = msg.address;
        this.version++;
      }
      if (resized) this.slotsChanged();
      return changes;
    }
    if (known && msg.epoch < known.epoch) return changes; // late heartbeat of an older incarnation
    if (known && known.state === 'ALIVE') {
      this.version++;
      known.state = 'LOST';
      known.lostReason = 'restarted with a new epoch';
      changes.push({ kind: 'lost', executor: known, reason: known.lostReason });
    }
    const fresh: TrackedExecutor = {
      id: msg.executorId,
      epoch: msg.epoch,
      address: msg.address,
      host: msg.host,
      slots: msg.slots,
      queueDepth: msg.taskQueueDepth ?? 1,
      running: 0,
      state: 'ALIVE',
      lastHeartbeatMs: now,
      lastReport: msg,
      tasksCompleted: 0,
      tasksFailed: 0,
      paces: [],
    };
    this.executors.set(msg.executorId, fresh);
    this.version++;
    this.slotsChanged();
    changes.push({ kind: 'added', executor: fresh });
    return changes;
  }

  /** Declare executors lost whose heartbeats stopped. */
  expire(): ExecutorChange[] {
    const now = this.clock.now();
    const changes: ExecutorChange[] = [];
    for (const e of this.executors.values()) {
      if (e.state === 'ALIVE' && now - e.lastHeartbeatMs > this.timeoutMs) {
        changes.push(this.markLost(e, `no heartbeat for ${now - e.lastHeartbeatMs} ms`)!);
      }
    }
    return changes;
  }

  /** Declare one incarnation lost (e.g. its RunTasks stream broke and it stopped answering). */
  markLost(e: TrackedExecutor, reason: string): ExecutorChange | undefined {
    if (e.state === 'LOST') return undefined;
    this.version++;
    e.state = 'LOST';
    e.lostReason = reason;
    e.running = 0;
    this.slotsChanged();
    return { kind: 'lost', executor: e, reason };
  }

  /** Changes whenever an executor joins, is lost, or changes address: what is kept per set of live executors holds while it stays. */
  get membershipVersion(): number {
    return this.version;
  }

  get(id: string): TrackedExecutor | undefined {
    return this.executors.get(id);
  }

  alive(): TrackedExecutor[] {
    return [...this.executors.values()].filter((e) => e.state === 'ALIVE');
  }

  all(): TrackedExecutor[] {
    return [...this.executors.values()];
  }

  isAlive(id: string, epoch?: number): boolean {
    const e = this.executors.get(id);
    return !!e && e.state === 'ALIVE' && (epoch === undefined || e.epoch === epoch);
  }

  /**
   * Slot accounting, in one place: a task placed on `e` takes a slot here
   * before it is launched, and every path that ends the attempt — a result,
   * a kill, a loss, a launch that never happened — gives it back with
   * `releaseSlot`. A slot of an earlier incarnation is not given back to a
   * later one (the epoch must match).
   */
  reserveSlot(e: TrackedExecutor): void {
    e.running++;
  }

  /** Give back the slot a task attempt held on executor `id` of `epoch`; false when that incarnation is gone. */
  releaseSlot(id: string, epoch: number): boolean {
    const e = this.executors.get(id);
    if (!e || e.epoch !== epoch) return false;
    e.running = Math.max(0, e.running - 1);
    return true;
  }

  /** Slots with no task assigned (idle, as far as the scheduler knows). */
  freeSlots(e: TrackedExecutor): number {
    return e.state === 'ALIVE' && !this.refusing(e) ? Math.max(0, e.slots - e.running) : 0;
  }

  /** Tasks that may still be assigned to `e` (idle slots plus room in its queue). */
  queueRoom(e: TrackedExecutor): number {
    return e.state === 'ALIVE' && !this.refusing(e) ? Math.max(0, e.slots * e.queueDepth - e.running) : 0;
  }

  /** `e` refused a launched task as full: no new work for REFUSED_BACKOFF_MS, or until one of its tasks reports (`reported`). */
  refusedFull(e: TrackedExecutor): void {
    e.refusedUntilMs = this.clock.now() + REFUSED_BACKOFF_MS;
  }

  /** One of `e`'s tasks reported: it has room again. */
  reported(e: TrackedExecutor): void {
    e.refusedUntilMs = undefined;
  }

  private refusing(e: TrackedExecutor): boolean {
    return e.refusedUntilMs !== undefined && this.clock.now() < e.refusedUntilMs;
  }

  /** How many times an executor turned slow or stopped being so: group plans name their members by it (group-planner.ts slowFlagsSeen). */
  get slowFlagChanges(): number {
    return this.flagChanges;
  }

  /** A task on `e` ended taking `pace` × its stage's time per record (or mean time); Infinity when a copy of it won (task-set-manager.ts paceOf, LOST_TO_COPY). */
  recordTaskTime(e: TrackedExecutor, pace: number): void {
    e.paces.push(pace);
    if (e.paces.length > RECENT_PACES) e.paces.shift();
    e.paceMedian = undefined;
    this.pacesRecorded++;
  }

  /**
   * Alive executors whose median recent pace is `ratio` × or more the median
   * of the other alive executors' (each with enough tasks behind it; at
   * least two others, so one fast executor does not make the rest "slow");
   * one already slow stays so down to SLOW_RELEASE_FRACTION × `ratio`.
   */
  slowExecutors(ratio: number): ReadonlySet<string> {
    const now = this.clock.now();
    const c = this.slowCache;
    if (c && c.ratio === ratio && c.version === this.version && now < c.retestAtMs) {
      // Judging is O(N log N) and asked after every result: with N executors, judged again once N / 8
      // new task times came (each moves one executor's median by one sample of nine), not after each —
      // it was O(N² log N) per wave of tasks, the scheduler's largest item at 128 executors after encoding.
      const wait = Math.max(1, Math.floor(this.executors.size * PACES_PER_JUDGEMENT));
      if (this.pacesRecorded - c.paces < wait) return c.slow;
    }
    const slow = this.judgeSlow(ratio, now);
    let retestAtMs = Infinity;
    for (const id of slow) retestAtMs = Math.min(retestAtMs, this.executors.get(id)!.slowSinceMs! + SLOW_RETEST_MS);
    this.slowCache = { ratio, version: this.version, paces: this.pacesRecorded, retestAtMs, slow };
    return slow;
  }

  private judgeSlow(ratio: number, now: number): Set<string> {
    const slow = new Set<string>();
    if (ratio <= 0) return slow;
    for (const e of this.alive()) {
      if (e.slowSinceMs !== undefined && now - e.slowSinceMs >= SLOW_RETEST_MS) {
        // Slow machines get faster (a noisy neighbour leaves): forget, and measure it again.
        this.log?.info({ executorId: e.id, slowForMs: now - e.slowSinceMs }, 'slow executor retested: given work again, its pace measured afresh');
        e.slowSinceMs = undefined;
        this.flagChanges++;
        e.paces = [];
        e.paceMedian = undefined;
      }
    }
    const judged = this.alive()
      .filter((e) => e.paces.length >= MIN_TASK_SAMPLES)
      .map((e) => ({ e, pace: (e.paceMedian ??= median(e.paces)) }));
    if (judged.length < 3) return slow;
    // Called after every task result on a busy cluster: each executor's "others" median is read off
    // one sorted list (medianWithout) rather than sorted anew per executor, which was O(N² log N)
    // per call and the scheduler's largest cost at 128 executors (bench/scheduler-scale.ts profile).
    const sorted = judged.map((j) => j.pace).sort((x, y) => x - y);
    for (const { e, pace } of judged) {
      const others = medianWithout(sorted, pace);
      // Once flagged it gets no new work, so its pace stays as it was while the others' moves with every
      // batch: released only when it falls below half the ratio (or at its retest), not as soon as the
      // others' median drifts up a little (the flag flapped every second or two, in and out of group plans).
      const threshold = e.slowSinceMs === undefined ? ratio : ratio * SLOW_RELEASE_FRACTION;
      // Paces may be infinite (tasks that lost to copies, task-set-manager.ts LOST_TO_COPY): slower than
      // others that are themselves mostly overtaken says nothing.
      if (Number.isFinite(others) && pace >= threshold * others) {
        slow.add(e.id);
        if (e.slowSinceMs === undefined) {
          e.slowSinceMs = now;
          this.flagChanges++;
          this.log?.info({ executorId: e.id, pace: describePace(pace), othersPace: others, ratio }, 'executor found slow: no new work for it while others are faster');
        }
      } else if (e.slowSinceMs !== undefined) {
        e.slowSinceMs = undefined;
        this.flagChanges++;
        this.log?.info({ executorId: e.id, pace: describePace(pace), othersPace: others, ratio }, 'executor no longer slow');
      }
    }
    return slow;
  }

  totalSlots(): number {
    return this.alive().reduce((n, e) => n + e.slots, 0);
  }

  /**
   * The slots a batch's partition counts are planned for: the alive
   * executors' total, or the largest it was in the last SLOTS_MEMORY_MS when
   * that is more. An executor replaced by one with another id is not counted
   * twice; one removed for good stops counting SLOTS_MEMORY_MS later. Tasks
   * run on the alive executors only.
   */
  plannedSlots(): number {
    const since = this.clock.now() - SLOTS_MEMORY_MS;
    this.slotHistory = this.slotHistory.filter((h) => h.untilMs > since);
    return this.slotHistory.reduce((most, h) => Math.max(most, h.slots), this.aliveSlots);
  }

  /** Called after anything that may change the alive slots: remembers the total that was in force until now. */
  private slotsChanged(): void {
    const total = this.totalSlots();
    if (total === this.aliveSlots) return;
    const now = this.clock.now();
    this.slotHistory = this.slotHistory.filter((h) => h.untilMs > now - SLOTS_MEMORY_MS);
    this.slotHistory.push({ untilMs: now, slots: this.aliveSlots });
    this.aliveSlots = total;
  }
}

/**
 * Reduce partitions of a shuffle that names none: defaultParallelism, else a
 * few per slot (partitionsPerSlot × plannedSlots). Batches and group plans
 * (group-planner.ts) use this one rule, so a planned batch is cut as its plan was.
 */
export function defaultParallelism(
  config: { defaultParallelism: number; partitionsPerSlot: number },
  executors: Pick<ExecutorTracker, 'plannedSlots'>,
): number {
  return config.defaultParallelism || executors.plannedSlots() * config.partitionsPerSlot;
}
