/**
 * Recovery of stateful operators (updateStateByKey, mapWithState): per job
 * and state node, the last complete checkpoint and the batches the state
 * went through since (Spark's checkpoint + lineage), and how a
 * previous-state partition lost on every executor is rebuilt in one task:
 * from lineage's PlanRebuild when lineage can answer, else from this record
 * — the checkpoint (or the initial state) plus a replay of the values of
 * every batch since.
 *
 * Owns: the state logs and the PlanRebuild requests. May not: launch tasks
 * or change a batch's state — it answers questions of the batch DAG and of
 * TaskSpec building, and posts `stateRebuildPlanned` when lineage answers.
 */
import { checkpointName } from '../../lib/checkpoint/store.js';
import { stateNodes } from '../../lib/dstream/graph.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { BatchRun, LineageRebuild, StageRun } from './batch-run.js';
import type { CachedBlock, CacheRegistry, RestoredBatch } from './cache-registry.js';
import type { PostEvent } from './events.js';
import type { Job } from './job-registry.js';
import type { SchedulerPorts } from './ports.js';

/** How one state task rebuilds a previous state lost on every executor. */
export interface StateRebuild {
  /** Start from this checkpoint... */
  checkpoint?: { batchTimeMs: number; name: string };
  /** ...or from this older partition still kept (neither: the initial state). */
  previous?: CachedBlock;
  /** Batches to step through before this one. */
  replay: number[];
  values: Array<{ batchTimeMs: number; block: CachedBlock }>;
}

/** A state node's recovery record. */
interface StateLog {
  /** The first batch the state was computed for (a rebuild with no checkpoint yet replays from there). */
  started?: number;
  checkpoint?: { batchTimeMs: number; numPartitions: number };
  /** Batch times (ascending) the state was computed for after the checkpoint. */
  since: number[];
}

export function plannedBy(plan: 'pending' | LineageRebuild | undefined): 'lineage' | 'scheduler' {
  return plan && plan !== 'pending' && !plan.fallback ? 'lineage' : 'scheduler';
}

export class StateRecovery {
  private readonly logs = new Map<string, Map<number, StateLog>>();

  constructor(
    private readonly cache: CacheRegistry,
    private readonly ports: Pick<SchedulerPorts, 'planRebuild' | 'deleteCheckpoints'>,
    private readonly post: PostEvent,
    private readonly log: Logger,
  ) {}

  /** The last complete checkpoint of a state node, if any. */
  checkpointOf(jobId: string, nodeId: number): number | undefined {
    return this.logs.get(jobId)?.get(nodeId)?.checkpoint?.batchTimeMs;
  }

  /** The oldest checkpoint any state of the job ends its lineage at (lineage must keep it). */
  oldestCheckpoint(jobId: string): number | undefined {
    let oldest: number | undefined;
    for (const log of this.logs.get(jobId)?.values() ?? []) if (log.checkpoint) oldest = Math.min(oldest ?? Infinity, log.checkpoint.batchTimeMs);
    return oldest;
  }

  /**
   * How partition p of a state rebuilds its previous state when that is lost
   * on every executor. Undefined when the previous state is still kept
   * somewhere; a string when it cannot be rebuilt (some batch's values are
   * lost too).
   */
  rebuildOf(run: BatchRun, nodeId: number, p: number): StateRebuild | string | undefined {
    const read = run.plan!.states.get(nodeId);
    if (!read?.previous) return undefined;
    const jobId = run.job.id;
    if (this.cache.block(jobId, nodeId, read.previous.batchTimeMs, p)) return undefined;
    const log = this.stateLog(jobId, nodeId);
    const valuesNode = (run.job.graph.node(nodeId) as { parent: number }).parent;
    const planned = run.stateRebuilds.get(`${nodeId}/${p}`);
    if (planned && planned !== 'pending' && !planned.fallback) {
      // Lineage's plan: one task, from the state's nearest materialised
      // ancestor (a checkpoint, or a partition still kept) or from its
      // initial state, through every batch since, reading their values.
      if (planned.unrecoverable) return planned.unrecoverable;
      const slide = run.batchTimeMs - read.previous.batchTimeMs; // the state's slide
      const from = planned.baseBatchTimeMs ?? (log.started ?? read.previous.batchTimeMs) - slide;
      const replay: number[] = [];
      for (let b = from + slide; b < run.batchTimeMs; b += slide) replay.push(b);
      const values: Array<{ batchTimeMs: number; block: CachedBlock }> = [];
      for (const b of planned.valuesBatches) {
        const block = this.cache.block(jobId, valuesNode, b, p);
        if (!block) return `the values of batch ${b} that lineage planned to replay state node ${nodeId} partition ${p} from are no longer kept`;
        values.push({ batchTimeMs: b, block });
      }
      const base = planned.baseBatchTimeMs;
      if (base === undefined) return { replay, values };
      const kept = this.cache.block(jobId, nodeId, base, p);
      if (kept) return { previous: kept, replay, values };
      if (log.checkpoint?.batchTimeMs === base) return { checkpoint: { batchTimeMs: base, name: checkpointName(jobId, nodeId, base, p) }, replay, values };
      // Lineage named a copy the scheduler has since dropped (its DropLocations still in flight): fall through.
    }
    // Lineage could not be asked: the scheduler's own record of checkpoints and batches since.
    const values: Array<{ batchTimeMs: number; block: CachedBlock }> = [];
    for (const b of log.since) {
      if (b >= run.batchTimeMs) continue;
      if (!this.cache.hasDataset(jobId, valuesNode, b)) continue; // that batch had no values (a null input): replayed with none
      const block = this.cache.block(jobId, valuesNode, b, p);
      if (!block) {
        return (
          `the state of node ${nodeId} partition ${p} of batch ${read.previous.batchTimeMs} was lost with every executor holding it, ` +
          `and so were the values of batch ${b} it would be replayed from`
        );
      }
      values.push({ batchTimeMs: b, block });
    }
    const c = log.checkpoint;
    return {
      ...(c ? { checkpoint: { batchTimeMs: c.batchTimeMs, name: checkpointName(jobId, nodeId, c.batchTimeMs, p) } } : {}),
      replay: log.since.filter((b) => b < run.batchTimeMs),
      values,
    };
  }

  /**
   * For a state's persist stage: ask lineage (PlanRebuild) how to rebuild
   * every previous-state partition lost on every executor, once per batch.
   * True while an answer is awaited (the stage is not submitted yet; the
   * answer arrives as `stateRebuildPlanned`).
   */
  awaitRebuildPlan(run: BatchRun, s: StageRun): boolean {
    if (s.stage.kind !== 'persist') return false;
    const nodeId = s.stage.persistNode!;
    const prev = run.plan!.states.get(nodeId)?.previous;
    if (!prev) return false;
    const lost: number[] = [];
    let pending = false;
    for (let p = 0; p < s.stage.numPartitions; p++) {
      if (this.cache.block(run.job.id, nodeId, prev.batchTimeMs, p)) continue;
      const known = run.stateRebuilds.get(`${nodeId}/${p}`);
      if (known === undefined) lost.push(p);
      else if (known === 'pending') pending = true;
    }
    if (lost.length === 0) return pending;
    const plan = this.ports.planRebuild;
    if (!plan) {
      for (const p of lost) run.stateRebuilds.set(`${nodeId}/${p}`, { valuesBatches: [], fallback: true });
      return pending;
    }
    for (const p of lost) run.stateRebuilds.set(`${nodeId}/${p}`, 'pending');
    const jobId = run.job.id;
    const valuesNode = (run.job.graph.node(nodeId) as { parent: number }).parent;
    this.log.info({ jobId, batchTimeMs: run.batchTimeMs, nodeId, partitions: lost }, 'state partitions lost on every executor; asking lineage how to rebuild them');
    plan(lost.map((partition) => ({ jobId, batchTimeMs: prev.batchTimeMs, nodeId, partition }))).then(
      (answer) => {
        const plans = new Map<number, LineageRebuild>();
        for (const p of lost) {
          const is = (t: { batchTimeMs: number; nodeId: number; partition: number }) => t.batchTimeMs === prev.batchTimeMs && t.nodeId === nodeId && t.partition === p;
          const task = answer.tasks.find((t) => is(t.target));
          if (answer.unrecoverable.some(is) || (!task && answer.unrecoverable.length > 0)) {
            plans.set(p, {
              valuesBatches: [],
              unrecoverable:
                `the state of node ${nodeId} partition ${p} of batch ${prev.batchTimeMs} was lost with every executor holding it, and lineage ` +
                `cannot rebuild it: ${answer.unrecoverable.map((u) => `node ${u.nodeId} partition ${u.partition} of batch ${u.batchTimeMs}`).join(', ')} ` +
                'is gone everywhere too',
            });
          } else if (!task) {
            // Lineage still sees a copy (it has not processed the loss yet): use the scheduler's own record.
            plans.set(p, { valuesBatches: [], fallback: true });
          } else {
            const bases = task.reads.filter((r) => r.nodeId === nodeId && r.partition === p).map((r) => r.batchTimeMs);
            plans.set(p, {
              ...(bases.length > 0 ? { baseBatchTimeMs: Math.max(...bases) } : {}),
              valuesBatches: task.reads.filter((r) => r.nodeId === valuesNode && r.partition === p).map((r) => r.batchTimeMs).sort((a, b) => a - b),
            });
          }
        }
        this.post({ type: 'stateRebuildPlanned', run, nodeId, plans });
      },
      (err: unknown) => {
        this.log.warn({ jobId, nodeId, err: errorMessage(err) }, 'lineage PlanRebuild failed; rebuilding the state from the scheduler’s own record');
        this.post({ type: 'stateRebuildPlanned', run, nodeId, plans: new Map(lost.map((p) => [p, { valuesBatches: [], fallback: true }])) });
      },
    );
    return true;
  }

  /** Lineage answered: record its plans on the batch. Returns the reason when one partition cannot be rebuilt. */
  rebuildPlanned(run: BatchRun, nodeId: number, plans: Map<number, LineageRebuild>): string | undefined {
    for (const [p, plan] of plans) run.stateRebuilds.set(`${nodeId}/${p}`, plan);
    return [...plans.values()].find((p) => p.unrecoverable)?.unrecoverable;
  }

  /** After a batch: its states were computed; a checkpoint batch makes the new replay base. */
  batchCompleted(run: BatchRun): void {
    for (const [nodeId, read] of run.plan!.states) {
      const log = this.stateLog(run.job.id, nodeId);
      log.started ??= run.batchTimeMs;
      if (!read.checkpoint) {
        log.since.push(run.batchTimeMs);
        continue;
      }
      log.checkpoint = { batchTimeMs: run.batchTimeMs, numPartitions: read.numPartitions };
      log.since = [];
      this.ports.deleteCheckpoints?.(run.job.id, nodeId, run.batchTimeMs);
    }
  }

  /** A restored job: each state's last complete checkpoint and the batches it went through since, from lineage. */
  restore(job: Job, sortedBatches: readonly RestoredBatch[]): void {
    for (const node of stateNodes(job.graph)) {
      const log = this.stateLog(job.id, node.id);
      for (const b of sortedBatches) {
        const ds = b.datasets.find((d) => d.nodeId === node.id);
        if (!ds) continue;
        log.started ??= b.batchTimeMs;
        const covered = new Set(b.locations.filter((l) => l.kind === 'CHECKPOINT' && l.nodeId === node.id).map((l) => l.partition));
        if (ds.numPartitions > 0 && covered.size === ds.numPartitions) {
          log.checkpoint = { batchTimeMs: b.batchTimeMs, numPartitions: ds.numPartitions };
          log.since = [];
        } else log.since.push(b.batchTimeMs);
      }
    }
  }

  /** A job ended: forget its logs and delete its checkpoints. */
  dropJob(jobId: string): void {
    if (this.logs.delete(jobId)) this.ports.deleteCheckpoints?.(jobId, undefined, undefined);
  }

  private stateLog(jobId: string, nodeId: number): StateLog {
    let logs = this.logs.get(jobId);
    if (!logs) this.logs.set(jobId, (logs = new Map<number, StateLog>()));
    let log = logs.get(nodeId);
    if (!log) logs.set(nodeId, (log = { since: [] }));
    return log;
  }
}
