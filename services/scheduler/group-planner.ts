/**
 * Group scheduling (Drizzle, SOSP'17) on the scheduler's side: one decision
 * for G consecutive batches of a job. For a job whose stage template
 * qualifies (group-template.ts), it sends every member executor a GroupPlan
 * — the template, the members and the reducer assignment, for batch times
 * [first, last] — about two batches ahead; the executors then start each
 * planned batch themselves when the receiver announces it
 * (services/executor/planned-tasks.ts), and the scheduler only adopts those
 * attempts (task-set-manager.ts `adopt`) and takes their results, which may
 * come before the batch's run has started here (kept in a stash until then).
 *
 * A plan is a set of rules, so a group costs one message per executor,
 * whatever its tasks. It stops holding when placement changes: an executor
 * joins or is lost, or a member's task stream breaks. Then every batch the
 * scheduler has not yet seen announced is revoked (PlanRevocation) and the
 * next plan is made for the members as they are; a batch already announced
 * keeps its plan, and a task whose planned executor is gone is launched by
 * the scheduler like any other (batch-dag.ts).
 *
 * Group size: `groupSize` fixed, or `auto` — Drizzle's adaptive rule: start
 * small, double after each group that ran without a failed task (each
 * doubling halves the plan messages, up to maxGroupSize), halve after a
 * group with failures, and start small again after a placement change (a
 * long plan would hold the old placement longer).
 *
 * Owns: plans and the stash of early results. May not: start, place or end
 * attempts (the task set does), or change batches.
 */
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { GroupPlan } from '../../lib/proto/gen/rivulet/v1/GroupPlan.js';
import type { TaskResult__Output } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import { PLANNED_ATTEMPT_BASE, plannedTasks, type AnnouncedBlock, type PlanRules } from '../../lib/scheduling/group-plan.js';
import type { SchedulerConfig } from './config.js';
import type { ExecutorGateway } from './executor-gateway.js';
import { defaultParallelism, type ExecutorTracker, type TrackedExecutor } from './executor-tracker.js';
import { stageTemplate, type StageTemplate } from './group-template.js';
import type { Job } from './job-registry.js';

/** auto starts here, and comes back here after a placement change. */
export const MIN_AUTO_GROUP = 2;

/** A job with more announced batches than this waiting behind its running one is not planned ahead. */
export const MAX_WAITING_PLANNED = 1;

type Config = Pick<
  SchedulerConfig,
  'groupSize' | 'maxGroupSize' | 'batchInterval' | 'batchReadyTimeout' | 'defaultParallelism' | 'partitionsPerSlot' | 'slowExecutorRatio'
>;

export interface ActivePlan {
  id: string;
  jobId: string;
  stream: string;
  firstBatchMs: number;
  lastBatchMs: number;
  /** Batches after this are not planned any more (revoked). */
  revokedAfterMs: number;
  template: StageTemplate;
  rules: PlanRules;
  /** Members (id → epoch) whose task stream broke since the plan was sent: their planned tasks may never start. */
  broken: Set<string>;
  /** A task of one of its batches failed. */
  failed: boolean;
}

interface JobPlans {
  plans: ActivePlan[];
  size: number;
  /** The member ids of the latest plan: when the members would differ (an executor turned slow, or back), it is re-planned. */
  membersKey?: string;
  template?: { key: string; value: StageTemplate | string };
}

export interface GroupPlannerDeps {
  config: Config;
  clock: Clock;
  executors: ExecutorTracker;
  gateway: Pick<ExecutorGateway, 'sendPlans'>;
  /** scheduler.ts shuffleId's suffix (this incarnation). */
  shuffleIdSuffix: string;
  receiverAddress: string;
  /** Batches of the job announced and waiting for the one running to finish (the job is behind when there are any). */
  waitingBatches(jobId: string): number;
  limits: { timeoutMs: number; maxResultBytes: number; maxMessageBytes: number; inputWaitTimeoutMs: number };
  log: Logger;
}

export class GroupPlanner {
  private readonly jobs = new Map<string, JobPlans>();
  /** The latest batch time announced per stream (batches up to it may not be revoked). */
  private readonly seen = new Map<string, number>();
  /** Results of planned attempts that came before their run adopted them, by `<job>/<batch>` then `<taskId>#<attempt>@<executor>`. */
  private readonly stash = new Map<string, Map<string, TaskResult__Output>>();
  private nextId = 0;
  /** Executors (`<id>@<epoch>`) whose task stream broke and that have not answered a probe since: left out of new plans. */
  private readonly suspects = new Set<string>();
  /** The executors' slowFlagChanges when plans were last looked at for it (slowFlagsSeen). */
  private slowFlagChangesPlanned = 0;
  /** Plans sent (one message per member each): for status and tests. */
  plansSent = 0;

  constructor(private readonly d: GroupPlannerDeps) {}

  get enabled(): boolean {
    return this.d.config.groupSize !== 1;
  }

  /** For status: the job's next group size (0 when its batches are launched by the scheduler) and why not planned. */
  describe(jobId: string): { size: number; note: string } {
    if (!this.enabled) return { size: 0, note: 'groupSize is 1' };
    const jp = this.jobs.get(jobId);
    const template = jp?.template?.value;
    if (typeof template === 'string') return { size: 0, note: template };
    return { size: jp && template ? jp.size : 0, note: '' };
  }

  batchSeen(stream: string, t: number): void {
    if (t > (this.seen.get(stream) ?? Number.NEGATIVE_INFINITY)) this.seen.set(stream, t);
  }

  /** Make sure every running job's coming batches are planned (about two batches ahead). */
  refresh(jobs: readonly Job[]): void {
    if (!this.enabled) return;
    const I = this.d.config.batchInterval;
    // The same for every job: computed once per refresh (it runs on every batch announcement).
    const members = this.members();
    const slots = members.reduce((n, e) => n + e.slots, 0);
    if (slots === 0) return;
    const parallelism = defaultParallelism(this.d.config, this.d.executors);
    const membersKey = members.map((e) => `${e.id}@${e.epoch}`).join(',');
    for (const job of jobs) {
      if (job.restoring || job.state !== 'RUNNING') continue;
      const jp = this.jobPlans(job);
      const key = `${job.bundleHash}|${parallelism}`;
      if (jp.template?.key !== key) {
        const value = stageTemplate(job.graph, parallelism);
        if (typeof value === 'string') this.d.log.info({ jobId: job.id, reason: value }, 'job not group-scheduled: each batch is launched by the scheduler');
        jp.template = { key, value };
      }
      const template = jp.template.value;
      if (typeof template === 'string') continue;
      const latest = this.seen.get(template.stream);
      if (latest === undefined) continue; // no batch announced yet: the clock's phase is not known
      if (this.d.waitingBatches(job.id) > MAX_WAITING_PLANNED) {
        // Behind: executors would run planned batches ever further ahead of the one the scheduler
        // finishes (their results wait here), crowding out its retries. Batch by batch until caught up;
        // the waiting batches are where backpressure sees the overload.
        this.revoke(job.id, jp, 'the job is falling behind');
        continue;
      }
      if (jp.membersKey !== undefined && jp.membersKey !== membersKey) this.revoke(job.id, jp, 'plan members changed (an executor turned slow, or fast again)');
      jp.membersKey = membersKey;
      let coveredUntil = Number.NEGATIVE_INFINITY;
      for (const p of jp.plans) coveredUntil = Math.max(coveredUntil, Math.min(p.lastBatchMs, p.revokedAfterMs));
      if (coveredUntil > latest + I) continue;
      const first = Math.max(coveredUntil + I, latest + 2 * I);
      this.sendPlan(job, jp, template, members, first, first + (jp.size - 1) * I);
    }
  }

  /**
   * After results (which decide, in the scheduling round after them, which
   * executors are slow): when an executor turned slow or stopped being so,
   * plan again now rather than at the next batch's announcement — a batch
   * announced meanwhile would still be started by its plan on the executor
   * just found slow.
   */
  slowFlagsSeen(jobs: readonly Job[]): void {
    if (this.d.executors.slowFlagChanges === this.slowFlagChangesPlanned) return;
    this.slowFlagChangesPlanned = this.d.executors.slowFlagChanges;
    this.refresh(jobs);
  }

  /** Members of a new plan: every alive executor but slow ones (while a faster one is alive), by id. */
  private members(): TrackedExecutor[] {
    // A suspect that was lost meanwhile is forgotten (a new incarnation is another key).
    for (const key of this.suspects) {
      const [id, epoch] = splitKey(key);
      const e = this.d.executors.get(id);
      if (!e || e.state !== 'ALIVE' || e.epoch !== epoch) this.suspects.delete(key);
    }
    const alive = this.d.executors.alive().filter((e) => !this.suspects.has(`${e.id}@${e.epoch}`));
    const slow = this.d.executors.slowExecutors(this.d.config.slowExecutorRatio);
    const fast = alive.filter((e) => !slow.has(e.id));
    return (fast.length > 0 ? fast : alive).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private jobPlans(job: Job): JobPlans {
    let jp = this.jobs.get(job.id);
    if (!jp) {
      const g = this.d.config.groupSize;
      jp = { plans: [], size: g === 'auto' ? MIN_AUTO_GROUP : g };
      this.jobs.set(job.id, jp);
    }
    return jp;
  }

  private sendPlan(job: Job, jp: JobPlans, template: StageTemplate, members: TrackedExecutor[], first: number, last: number): void {
    const reducers: string[] = [];
    const most = Math.max(0, ...members.map((e) => e.slots));
    for (let slot = 0; slot < most; slot++) for (const e of members) if (slot < e.slots) reducers.push(e.id);
    const seq = ++this.nextId;
    const id = `${job.id}/g${seq}`;
    const rules: PlanRules = {
      jobId: job.id,
      attempt: PLANNED_ATTEMPT_BASE + seq,
      bundleHash: job.bundleHash,
      epoch: 0,
      members: members.map((e) => ({ executorId: e.id, address: e.address, epoch: e.epoch })),
      reducers,
      stages: template.stages.map((s) => ({
        stageId: s.stageId!,
        nodeId: s.nodeId!,
        numPartitions: s.numPartitions!,
        mapPartitions: s.mapPartitions ?? 0,
        writePartitions: s.writePartitions ?? 0,
        ...(s.sourceNode !== undefined ? { sourceNode: s.sourceNode, input: 'sourceNode' as const } : { shuffleNode: s.shuffleNode!, input: 'shuffleNode' as const }),
        ...(s.writeShuffleNode !== undefined
          ? { writeShuffleNode: s.writeShuffleNode, sink: 'writeShuffleNode' as const }
          : { resultOutput: s.resultOutput!, sink: 'resultOutput' as const }),
      })),
      nodePartitions: template.nodePartitions,
      // Its own: a revoked plan's buckets must never be taken for the batch run without it.
      shuffleIdSuffix: `${this.d.shuffleIdSuffix}g${seq}`,
      timeoutMs: this.d.limits.timeoutMs,
      maxResultBytes: this.d.limits.maxResultBytes,
      maxMessageBytes: this.d.limits.maxMessageBytes,
      totalBytesOnly: true,
    };
    const plan: ActivePlan = {
      id,
      jobId: job.id,
      stream: template.stream,
      firstBatchMs: first,
      lastBatchMs: last,
      revokedAfterMs: Infinity,
      template,
      rules,
      broken: new Set(),
      failed: false,
    };
    jp.plans.push(plan);
    for (const e of members) {
      const wire: GroupPlan = {
        ...rules,
        planId: id,
        epoch: e.epoch,
        stream: template.stream,
        firstBatchMs: first,
        lastBatchMs: last,
        batchIntervalMs: this.d.config.batchInterval,
        receiverAddress: this.d.receiverAddress,
        batchReadyTimeoutMs: this.d.config.batchReadyTimeout,
        inputWaitTimeoutMs: this.d.limits.inputWaitTimeoutMs,
      };
      this.plansSent++;
      this.d.gateway.sendPlans(e, { jobId: job.id, bundle: job.bundle, bundleHash: job.bundleHash }, [wire], []);
    }
    this.d.log.debug({ jobId: job.id, planId: id, first, last, members: members.length, size: jp.size }, 'group planned');
  }

  /**
   * The plan batch `t` of `jobId` runs under, if any; with the tasks it
   * places (undefined when the batch is not planned).
   */
  planOf(jobId: string, t: number): ActivePlan | undefined {
    for (const p of this.jobs.get(jobId)?.plans ?? []) {
      if (t >= p.firstBatchMs && t <= p.lastBatchMs && t <= p.revokedAfterMs) return p;
    }
    return undefined;
  }

  /** Where each planned task of batch `t` runs, by task id. */
  placements(plan: ActivePlan, t: number, blocks: ReadonlyArray<AnnouncedBlock & { announcedOn?: readonly string[] }>): Map<string, string> {
    const out = new Map<string, string>();
    const announced = blocks.map((b) => ({ blockId: b.blockId, executorIds: b.announcedOn ?? b.executorIds }));
    for (const task of plannedTasks(plan.rules, t, announced)) out.set(task.taskId, task.executorId);
    return out;
  }

  /** Placement changed (an executor joined or was lost): revoke what is not announced yet; plan afresh from the members as they are. */
  placementChanged(reason: string): void {
    if (!this.enabled) return;
    for (const [jobId, jp] of this.jobs) this.revoke(jobId, jp, reason);
  }

  private revoke(jobId: string, jp: JobPlans, reason: string): void {
    let revoked = 0;
    for (const p of jp.plans) {
      const after = this.seen.get(p.stream) ?? Number.NEGATIVE_INFINITY;
      if (p.revokedAfterMs <= after || p.lastBatchMs <= after) continue;
      p.revokedAfterMs = after;
      revoked++;
      for (const m of p.rules.members) {
        const e = this.d.executors.get(m.executorId);
        if (e && e.state === 'ALIVE' && e.epoch === m.epoch) this.d.gateway.sendPlans(e, undefined, [], [{ planId: p.id, afterBatchMs: after }]);
      }
    }
    if (this.d.config.groupSize === 'auto') jp.size = MIN_AUTO_GROUP;
    if (revoked > 0) this.d.log.info({ jobId, reason, revoked }, 'group plans revoked: placement changed');
  }

  /**
   * A member's task stream broke: plans sent on it may be gone, so none of its
   * planned tasks is relied on, and it is no member of a new plan until a probe
   * says it answers (`executorAnswered`) — a plan made meanwhile would have the
   * other executors' reducers wait for a share that a dead executor never runs.
   */
  channelBroken(executorId: string, epoch: number): void {
    this.suspects.add(`${executorId}@${epoch}`);
    let hit = false;
    for (const jp of this.jobs.values()) {
      for (const p of jp.plans) {
        if (!p.rules.members.some((m) => m.executorId === executorId)) continue;
        p.broken.add(executorId);
        hit = true;
      }
    }
    if (hit) this.placementChanged(`the task stream of executor ${executorId} broke`);
  }

  /** A suspected executor answered its probe: it may be planned again. True when it was suspected. */
  executorAnswered(executorId: string, epoch: number): boolean {
    return this.suspects.delete(`${executorId}@${epoch}`);
  }

  /** A planned batch finished: grow or shrink the job's group size (auto), forget finished plans and the batch's stash. */
  batchFinished(jobId: string, t: number, failedTasks: number): void {
    this.stash.delete(`${jobId}/${t}`);
    const jp = this.jobs.get(jobId);
    if (!jp) return;
    const plan = this.planOf(jobId, t);
    if (plan && failedTasks > 0) plan.failed = true;
    if (plan && this.d.config.groupSize === 'auto') {
      // A group's end: a clean one grows the next; one cut short by a revocation
      // (a placement change, which already reset the size) only shrinks it after failures.
      const revoked = plan.revokedAfterMs < plan.lastBatchMs;
      if (plan.failed && t === Math.min(plan.lastBatchMs, plan.revokedAfterMs)) jp.size = Math.max(MIN_AUTO_GROUP, Math.floor(jp.size / 2));
      else if (!revoked && t === plan.lastBatchMs) jp.size = Math.min(this.d.config.maxGroupSize, jp.size * 2);
    }
    jp.plans = jp.plans.filter((p) => Math.min(p.lastBatchMs, p.revokedAfterMs) > t);
  }

  jobEnded(jobId: string): void {
    this.jobs.delete(jobId);
    for (const k of [...this.stash.keys()]) if (k.startsWith(`${jobId}/`)) this.stash.delete(k);
  }

  /** A result of a planned attempt (attempt 0) no run has adopted yet: kept until it does, or its batch ends. */
  keep(r: TaskResult__Output): void {
    const batch = r.taskId.slice(0, r.taskId.lastIndexOf('/', r.taskId.lastIndexOf('/') - 1));
    let m = this.stash.get(batch);
    if (!m) this.stash.set(batch, (m = new Map<string, TaskResult__Output>()));
    m.set(`${r.taskId}#${r.attempt}@${r.executorId}`, r);
  }

  /** The result of attempt `attempt` of a task, reported by `executorId`, if it came already. */
  take(jobId: string, t: number, taskId: string, attempt: number, executorId: string): TaskResult__Output | undefined {
    const m = this.stash.get(`${jobId}/${t}`);
    const key = `${taskId}#${attempt}@${executorId}`;
    const r = m?.get(key);
    if (r) m!.delete(key);
    return r;
  }
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf('@');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}
