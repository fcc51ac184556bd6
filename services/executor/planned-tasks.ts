/**
 * The executor's side of group scheduling (lib/scheduling/group-plan.ts has
 * the rules): the plans the scheduler sent for batches still to come, and
 * the planned tasks of announced batches that wait for their inputs.
 *
 * A planned batch starts here, not at the scheduler: when the receiver
 * announces it (NATS batch.ready — or, when that does not come within the
 * plan's batchReadyTimeout, the receiver's GetBatchBlocks answer), the
 * tasks the rules give this executor are built from the plan and the block
 * list; map tasks start at once (their block is here), a reducer once every
 * bucket it reads is in the block store (the map tasks push them here). A
 * reducer still waiting after the plan's inputWaitTimeout gives up with a
 * `queue_full` result — not its fault: the scheduler places it again itself
 * (a map task's push failed, or the map side is being recomputed).
 *
 * Results go back on the TaskStream call the plan came on; when that call is
 * gone the plan is dropped (the scheduler re-plans on the next call). A new
 * incarnation (epoch) drops every plan of the old one. A kill of a planned
 * task that has not started yet answers KILLED here.
 *
 * It must never: start a task twice for one plan and batch, or start one for
 * a batch the plan does not cover or that was revoked.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { GroupPlan__Output } from '../../lib/proto/gen/rivulet/v1/GroupPlan.js';
import type { PlanRevocation__Output } from '../../lib/proto/gen/rivulet/v1/PlanRevocation.js';
import type { TaskResult } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { TaskSpec__Output } from '../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import { plannedBatchShared, plannedTasks, plannedTaskSpec, type AnnouncedBlock } from '../../lib/scheduling/group-plan.js';

/** The TaskStream call a plan arrived on. */
export interface PlanSession {
  readonly isOpen: boolean;
  /** Start a task as if it had come on the call (its result goes back on it). */
  start(spec: TaskSpec__Output): void;
  /** Send a result for a task that never started (killed or given up while waiting). */
  report(result: TaskResult): void;
}

export interface PlannedTasksDeps {
  executorId: string;
  epoch(): number;
  /** True when the block store holds this block; `onPut` tells of every block newly stored. */
  has(blockId: string): boolean;
  onPut(listener: (blockId: string) => void): void;
  /** The receiver's GetBatchBlocks. */
  fetchBatchBlocks(address: string, stream: string, batchTimeMs: number): Promise<{ complete: boolean; blocks: AnnouncedBlock[] }>;
  clock: Clock;
  log: Logger;
}

interface HeldPlan {
  plan: GroupPlan__Output;
  session: PlanSession;
  /** Batches instantiated (or being asked for). */
  started: Set<number>;
  /** Batches after this time are not planned any more. */
  revokedAfterMs: number;
  timers: Map<number, TimerHandle>;
  /** Batches being asked of the receiver right now (between two timers). */
  asking: Set<number>;
}

interface Waiting {
  spec: TaskSpec__Output;
  waitMs: number;
  session: PlanSession;
  missing: number;
  /** The bucket ids it was missing when it began to wait (its entries in waitingFor). */
  ids: string[];
  timer?: TimerHandle;
}

export class PlannedTasks {
  private readonly plans = new Map<string, HeldPlan>();
  /** Reducers waiting, by the bucket ids they still miss. */
  private readonly waitingFor = new Map<string, Waiting[]>();
  /** Reducers waiting, by `<taskId>#<attempt>` (kills). */
  private readonly waiting = new Map<string, Waiting>();
  /** Planned tasks started here (for tests and status). */
  started = 0;

  constructor(private readonly d: PlannedTasksDeps) {
    d.onPut((id) => this.arrived(id));
  }

  get planCount(): number {
    return this.plans.size;
  }

  accept(plan: GroupPlan__Output, session: PlanSession): void {
    if (plan.epoch !== this.d.epoch()) {
      this.d.log.warn({ planId: plan.planId, epoch: plan.epoch, mine: this.d.epoch() }, 'group plan for another incarnation ignored');
      return;
    }
    this.drop(plan.planId);
    const held: HeldPlan = { plan, session, started: new Set(), revokedAfterMs: Infinity, timers: new Map(), asking: new Set() };
    this.plans.set(plan.planId, held);
    // A batch whose batch.ready this executor misses (NATS down, or the plan came late) is asked for.
    const now = this.d.clock.now();
    for (let t = plan.firstBatchMs; t <= plan.lastBatchMs; t += plan.batchIntervalMs) {
      const batchTimeMs = t;
      held.timers.set(
        t,
        this.d.clock.setTimeout(() => this.askReceiver(held, batchTimeMs), Math.max(0, t + plan.batchReadyTimeoutMs - now)),
      );
    }
    this.d.log.debug({ planId: plan.planId, jobId: plan.jobId, first: plan.firstBatchMs, last: plan.lastBatchMs }, 'group plan accepted');
  }

  revoke(r: PlanRevocation__Output): void {
    const held = this.plans.get(r.planId);
    if (!held) return;
    held.revokedAfterMs = Math.min(held.revokedAfterMs, r.afterBatchMs);
    for (const [t, timer] of held.timers) {
      if (t <= held.revokedAfterMs) continue;
      this.d.clock.clearTimeout(timer);
      held.timers.delete(t);
    }
    this.retireIfDone(held);
  }

  /** The receiver announced a batch (NATS batch.ready). */
  batchReady(stream: string, batchTimeMs: number, blocks: readonly AnnouncedBlock[]): void {
    for (const held of [...this.plans.values()]) {
      if (held.plan.stream === stream) this.startBatch(held, batchTimeMs, blocks);
    }
  }

  private covers(held: HeldPlan, t: number): boolean {
    const p = held.plan;
    return t >= p.firstBatchMs && t <= p.lastBatchMs && t <= held.revokedAfterMs && (t - p.firstBatchMs) % p.batchIntervalMs === 0;
  }

  private startBatch(held: HeldPlan, batchTimeMs: number, blocks: readonly AnnouncedBlock[]): void {
    if (!this.covers(held, batchTimeMs) || held.started.has(batchTimeMs)) return;
    if (!held.session.isOpen || held.plan.epoch !== this.d.epoch()) return this.drop(held.plan.planId);
    held.started.add(batchTimeMs);
    const timer = held.timers.get(batchTimeMs);
    if (timer) this.d.clock.clearTimeout(timer);
    held.timers.delete(batchTimeMs);
    const plan = held.plan;
    const shared = plannedBatchShared(plan, blocks);
    for (const task of plannedTasks(plan, batchTimeMs, blocks, this.d.executorId)) {
      const spec = plannedTaskSpec(plan, batchTimeMs, blocks, task, shared);
      const missing = task.waitsFor.filter((id) => !this.d.has(id));
      if (missing.length === 0) {
        this.started++;
        held.session.start(spec);
        continue;
      }
      const w: Waiting = { spec, waitMs: plan.inputWaitTimeoutMs, session: held.session, missing: missing.length, ids: missing };
      for (const id of missing) {
        let list = this.waitingFor.get(id);
        if (!list) this.waitingFor.set(id, (list = []));
        list.push(w);
      }
      this.waiting.set(key(spec.taskId, spec.attempt), w);
      w.timer = this.d.clock.setTimeout(() => this.giveUp(w), plan.inputWaitTimeoutMs);
    }
    this.retireIfDone(held);
  }

  private askReceiver(held: HeldPlan, batchTimeMs: number): void {
    held.timers.delete(batchTimeMs);
    if (this.plans.get(held.plan.planId) !== held || !this.covers(held, batchTimeMs) || held.started.has(batchTimeMs)) return;
    // Outstanding work of the plan while the call is out (retireIfDone must not drop it meanwhile).
    held.asking.add(batchTimeMs);
    const retry = (ms: number) => {
      held.asking.delete(batchTimeMs);
      if (this.plans.get(held.plan.planId) !== held || held.started.has(batchTimeMs) || !this.covers(held, batchTimeMs)) return this.retireIfDone(held);
      held.timers.set(
        batchTimeMs,
        this.d.clock.setTimeout(() => this.askReceiver(held, batchTimeMs), ms),
      );
    };
    this.d.fetchBatchBlocks(held.plan.receiverAddress, held.plan.stream, batchTimeMs).then(
      (res) => {
        held.asking.delete(batchTimeMs);
        if (res.complete) this.startBatch(held, batchTimeMs, res.blocks);
        else retry(100);
      },
      (err: unknown) => {
        this.d.log.warn({ err: errorMessage(err), stream: held.plan.stream, batchTimeMs }, 'cannot get a planned batch from the receiver; retrying');
        retry(500);
      },
    );
  }

  /** A block was stored: a reducer waiting for it may start. */
  private arrived(id: string): void {
    const list = this.waitingFor.get(id);
    if (!list) return;
    this.waitingFor.delete(id);
    for (const w of list) {
      if (--w.missing > 0 || !this.waiting.has(key(w.spec.taskId, w.spec.attempt))) continue;
      this.unwait(w);
      if (!w.session.isOpen) continue;
      this.started++;
      w.session.start(w.spec);
    }
  }

  private unwait(w: Waiting): void {
    this.waiting.delete(key(w.spec.taskId, w.spec.attempt));
    if (w.timer) this.d.clock.clearTimeout(w.timer);
    // Its entries in waitingFor are skipped when reached (no longer in `waiting`).
  }

  private giveUp(w: Waiting): void {
    if (!this.waiting.has(key(w.spec.taskId, w.spec.attempt))) return;
    this.unwait(w);
    this.purgeWaitingFor(w);
    w.session.report({
      ...this.resultBase(w.spec),
      state: 'FAILED',
      // Not the task's fault: the scheduler places it again, uncounted (task-set-manager.ts).
      queueFull: true,
      error: `planned task ${w.spec.taskId} waited ${w.waitMs} ms for ${w.missing} shuffle bucket(s) that did not arrive on executor ${this.d.executorId}`,
    });
  }

  /** A kill (or a steal) of a planned task still waiting: it answers KILLED. False when none waits. */
  kill(taskId: string, attempt: number): boolean {
    const w = this.waiting.get(key(taskId, attempt));
    if (!w) return false;
    this.unwait(w);
    this.purgeWaitingFor(w);
    w.session.report({ ...this.resultBase(w.spec), state: 'KILLED' });
    return true;
  }

  /** A new incarnation: plans and waiting tasks of the old one are void (their results would be fenced). */
  dropOlderThan(epoch: number): void {
    for (const held of [...this.plans.values()]) if (held.plan.epoch < epoch) this.drop(held.plan.planId);
    for (const w of [...this.waiting.values()]) {
      if (w.spec.epoch >= epoch) continue;
      this.unwait(w);
      this.purgeWaitingFor(w);
    }
  }

  private purgeWaitingFor(w: Waiting): void {
    for (const id of w.ids) {
      const list = this.waitingFor.get(id);
      if (!list) continue;
      const i = list.indexOf(w);
      if (i < 0) continue;
      list.splice(i, 1);
      if (list.length === 0) this.waitingFor.delete(id);
    }
  }

  private drop(planId: string): void {
    const held = this.plans.get(planId);
    if (!held) return;
    for (const timer of held.timers.values()) this.d.clock.clearTimeout(timer);
    this.plans.delete(planId);
  }

  /** Every batch of the plan started or revoked: nothing more to do for it. */
  private retireIfDone(held: HeldPlan): void {
    if (held.timers.size === 0 && held.asking.size === 0) this.drop(held.plan.planId);
  }

  private resultBase(spec: TaskSpec__Output): TaskResult {
    return { taskId: spec.taskId, attempt: spec.attempt, executorId: this.d.executorId, epoch: this.d.epoch() };
  }
}

function key(taskId: string, attempt: number): string {
  return `${taskId}#${attempt}`;
}
