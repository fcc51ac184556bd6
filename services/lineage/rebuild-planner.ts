/**
 * PlanRebuild: the minimal set of tasks that rebuilds lost partitions. Pure:
 * it reads the graph and which pieces are live through a `RebuildSource`,
 * changes nothing, and answers the same for the same state.
 *
 * A task computes one partition, pipelining every narrow ancestor that is not
 * materialised (as Spark pipelines narrow operators into one stage) and
 * stopping at data still live somewhere: a cached PARTITION or CHECKPOINT,
 * the INPUT_BLOCKs of a source, or a shuffle's live map outputs. A shuffle
 * with missing map outputs adds one map task per missing map partition
 * (partition = the parent's partition, shuffleFor = the shuffled dataset).
 * Depth 0 tasks read only live data; others are 1 + the deepest task they wait for.
 *
 * `unrecoverable` lists every requested partition that cannot be rebuilt,
 * plus the root causes: source partitions whose input blocks are gone
 * everywhere, and partitions whose parent dataset was forgotten. Tasks that
 * only serve unrecoverable partitions are left out. A requested partition
 * that is already materialised yields no task.
 *
 * Owns: nothing beyond one walk's memo. May not: record, drop or forget
 * anything — what it learns is only returned.
 */
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../lib/errors.js';
import {
  comparePartitionIds,
  datasetKey,
  formatDataset,
  groupKey,
  type DatasetId,
  type DatasetRecord,
  type LocationKind,
  type PartitionId,
  type RebuildPlan,
  type RebuildTask,
} from './lineage-types.js';
import { narrowParentPartitions, shuffleOffsets } from './partition-mapping.js';
import { isUint, validateBatchId } from './validation.js';

/** What the planner reads of the lineage state. */
export interface RebuildSource {
  /** A registered dataset's record; undefined once its batch is forgotten. */
  dataset(ref: DatasetId): DatasetRecord | undefined;
  /**
   * For each (kind, partition) group of the dataset's locations, keyed by
   * groupKey, whether it is live: ≥1 location and each with ≥1 executor.
   */
  liveGroups(ref: DatasetId): ReadonlyMap<string, boolean>;
}

/**
 * Plan the rebuild of `partitions` (see module doc). Throws NOT_FOUND for a
 * dataset that is not registered, INVALID_ARGUMENT for a partition out of
 * range, and FAILED_PRECONDITION when the lineage is deeper than
 * `maxLineageDepth` steps (a bound on the stack: stateful streams must checkpoint).
 */
export function planRebuild(source: RebuildSource, partitions: readonly PartitionId[], maxLineageDepth: number): RebuildPlan {
  const targets: Array<{ ds: DatasetRecord; id: PartitionId }> = [];
  for (const p of partitions) {
    if (!p?.dataset) throw new InvalidArgumentError('PlanRebuild: every partition needs a dataset ref');
    validateBatchId(p.dataset.jobId, p.dataset.batchTimeMs, 'PlanRebuild');
    const ds = source.dataset(p.dataset);
    if (!ds) throw new NotFoundError(`PlanRebuild: dataset ${formatDataset(p.dataset)} is not registered (or was forgotten)`);
    if (!isUint(p.partition) || p.partition >= ds.numPartitions) {
      throw new InvalidArgumentError(
        `PlanRebuild: partition ${p.partition} of ${formatDataset(p.dataset)} is out of range (< ${ds.numPartitions})`,
      );
    }
    targets.push({ ds, id: p });
  }
  return new RebuildPlanner(source, maxLineageDepth).plan(targets);
}

interface TaskNode {
  readonly key: string;
  readonly partition: PartitionId;
  readonly shuffleFor?: DatasetId;
  readonly deps: ReadonlySet<TaskNode>;
  readonly reads: readonly PartitionId[];
  readonly depth: number;
  readonly doomed: boolean;
}

interface Need {
  /** Rebuild tasks this computation waits for. */
  readonly deps: ReadonlySet<TaskNode>;
  /** Materialised partitions it reads, by `datasetKey|partition`. */
  readonly reads: ReadonlyMap<string, PartitionId>;
  /** Some input is gone for good. */
  readonly doomed: boolean;
}

const NOTHING: Need = { deps: new Set(), reads: new Map(), doomed: false };

/** One PlanRebuild walk; memoised so shared ancestors are planned once. */
class RebuildPlanner {
  private readonly tasks = new Map<string, TaskNode>();
  private readonly needs = new Map<string, Need>();
  private readonly unrecoverable = new Map<string, PartitionId>();
  private readonly live = new Map<string, ReadonlyMap<string, boolean>>();
  private depth = 0;

  constructor(
    private readonly source: RebuildSource,
    private readonly maxDepth: number,
  ) {}

  plan(targets: ReadonlyArray<{ ds: DatasetRecord; id: PartitionId }>): RebuildPlan {
    const roots: TaskNode[] = [];
    for (const { ds, id } of targets) {
      if (this.available(ds, id.dataset, id.partition)) continue;
      if (ds.dependency === 'SOURCE') {
        this.markUnrecoverable(id.dataset, id.partition);
        continue;
      }
      const task = this.task(ds, id.dataset, id.partition, undefined);
      if (task.doomed) this.markUnrecoverable(id.dataset, id.partition);
      else roots.push(task);
    }
    // Keep only tasks some recoverable target needs: a doomed target's other
    // inputs are not worth recomputing.
    const keep = new Set<TaskNode>();
    const stack = [...roots];
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (keep.has(t)) continue;
      keep.add(t);
      for (const d of t.deps) stack.push(d);
    }
    const tasks: RebuildTask[] = [...keep]
      .sort((a, b) => a.depth - b.depth || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((t) => ({
        partition: { dataset: { ...t.partition.dataset }, partition: t.partition.partition },
        ...(t.shuffleFor ? { shuffleFor: { ...t.shuffleFor } } : {}),
        depth: t.depth,
        reads: [...t.reads].sort(comparePartitionIds),
      }));
    return { tasks, unrecoverable: [...this.unrecoverable.values()] };
  }

  /** Readable without running anything: cached, checkpointed, or (for a source) its input blocks. */
  private available(ds: DatasetRecord, ref: DatasetId, p: number): boolean {
    return (
      this.groupLive(ref, 'PARTITION', p) ||
      this.groupLive(ref, 'CHECKPOINT', p) ||
      (ds.dependency === 'SOURCE' && this.groupLive(ref, 'INPUT_BLOCK', p))
    );
  }

  /** Cached per dataset for the walk: the state can't change during one (synchronous) plan. */
  private groupLive(ref: DatasetId, kind: LocationKind, p: number): boolean {
    const dk = datasetKey(ref);
    let groups = this.live.get(dk);
    if (!groups) this.live.set(dk, (groups = this.source.liveGroups(ref)));
    return groups.get(groupKey(kind, p)) ?? false;
  }

  private markUnrecoverable(ref: DatasetId, partition: number): void {
    this.unrecoverable.set(`${datasetKey(ref)}|${partition}`, { dataset: { ...ref }, partition });
  }

  /** The task that computes (ref, p) — for a shuffle map task, and writes its output for `shuffleFor`. */
  private task(ds: DatasetRecord, ref: DatasetId, p: number, shuffleFor: DatasetId | undefined): TaskNode {
    const key = `${datasetKey(ref)}|${p}|${shuffleFor ? datasetKey(shuffleFor) : ''}`;
    const memo = this.tasks.get(key);
    if (memo) return memo;
    // A map task whose partition is materialised only re-reads it.
    const need: Need =
      shuffleFor && this.available(ds, ref, p)
        ? { ...NOTHING, reads: new Map([[`${datasetKey(ref)}|${p}`, { dataset: { ...ref }, partition: p }]]) }
        : this.need(ds, ref, p);
    let depth = 0;
    for (const d of need.deps) depth = Math.max(depth, d.depth + 1);
    const node: TaskNode = {
      key,
      partition: { dataset: ref, partition: p },
      ...(shuffleFor ? { shuffleFor } : {}),
      deps: need.deps,
      reads: [...need.reads.values()],
      depth,
      doomed: need.doomed,
    };
    this.tasks.set(key, node);
    return node;
  }

  /** What computing (ref, p) inside one task waits for, pipelining unmaterialised narrow ancestors. */
  private need(ds: DatasetRecord, ref: DatasetId, p: number): Need {
    const key = `${datasetKey(ref)}|${p}`;
    const memo = this.needs.get(key);
    if (memo) return memo;
    if (++this.depth > this.maxDepth) {
      throw new FailedPreconditionError(
        `PlanRebuild: lineage of ${formatDataset(ref)} is deeper than ${this.maxDepth} steps; checkpoint stateful streams to bound it`,
      );
    }
    try {
      const deps = new Set<TaskNode>();
      const reads = new Map<string, PartitionId>();
      const read = (r: DatasetId, q: number) => reads.set(`${datasetKey(r)}|${q}`, { dataset: { ...r }, partition: q });
      let doomed = false;
      switch (ds.dependency) {
        case 'SOURCE':
          if (!this.groupLive(ref, 'INPUT_BLOCK', p)) {
            this.markUnrecoverable(ref, p);
            doomed = true;
          } else read(ref, p);
          break;
        case 'NARROW':
          ds.parents.forEach((parentRef, i) => {
            const parent = this.source.dataset(parentRef);
            for (const q of narrowParentPartitions(ds, i, p)) {
              if (!parent) {
                // The parent batch was forgotten: nothing left to recompute from.
                this.markUnrecoverable(ref, p);
                doomed = true;
                continue;
              }
              if (this.available(parent, parentRef, q)) {
                read(parentRef, q);
                continue;
              }
              const sub = this.need(parent, parentRef, q);
              for (const d of sub.deps) deps.add(d);
              for (const [k, r] of sub.reads) reads.set(k, r);
              doomed ||= sub.doomed;
            }
          });
          break;
        case 'SHUFFLE': {
          // Reads the map outputs: live ones, or those of the map tasks in `deps`.
          const offsets = shuffleOffsets(ds);
          ds.parents.forEach((parentRef, i) => {
            const parent = this.source.dataset(parentRef);
            for (let m = 0; m < ds.parentPartitions[i]!; m++) {
              if (this.groupLive(ref, 'SHUFFLE_OUTPUT', offsets[i]! + m)) continue;
              if (!parent) {
                this.markUnrecoverable(ref, p);
                doomed = true;
                break;
              }
              const t = this.task(parent, parentRef, m, ref);
              deps.add(t);
              doomed ||= t.doomed;
            }
          });
          break;
        }
      }
      const need: Need = { deps, reads, doomed };
      this.needs.set(key, need);
      return need;
    } finally {
      this.depth--;
    }
  }
}
