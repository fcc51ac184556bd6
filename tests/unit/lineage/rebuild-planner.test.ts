/**
 * rebuild-planner.ts on its own: a fake RebuildSource stands in for the graph
 * and the locations, so each case states exactly which datasets exist and
 * which piece groups are live. (The store-level cases, with registration and
 * executor removal, are in ../lineage-store.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../../lib/errors.js';
import {
  datasetKey,
  groupKey,
  type DatasetId,
  type DatasetRecord,
  type DependencyKind,
  type LocationKind,
} from '../../../services/lineage/lineage-types.js';
import { planRebuild, type RebuildSource } from '../../../services/lineage/rebuild-planner.js';

const JOB = 'job';
const ref = (nodeId: number, batchTimeMs = 1000): DatasetId => ({ jobId: JOB, batchTimeMs, nodeId });
const part = (dataset: DatasetId, partition: number) => ({ dataset, partition });

class FakeLineage implements RebuildSource {
  private readonly datasets = new Map<string, DatasetRecord>();
  private readonly groups = new Map<string, Map<string, boolean>>();
  readonly liveGroupsCalls = new Map<string, number>();

  /** A dataset whose parents' partition counts are taken from the parents (as registration does) unless given. */
  add(r: DatasetId, dependency: DependencyKind, parents: DatasetId[], numPartitions: number, operator = 'op', parentPartitions?: number[]): DatasetId {
    this.datasets.set(datasetKey(r), {
      nodeId: r.nodeId,
      operator,
      dependency,
      parents,
      numPartitions,
      parentPartitions: parentPartitions ?? parents.map((p) => this.datasets.get(datasetKey(p))!.numPartitions),
    });
    return r;
  }

  /** Mark a piece group live (or recorded but lost everywhere: `live` false). */
  group(r: DatasetId, kind: LocationKind, partition: number, live = true): void {
    const key = datasetKey(r);
    if (!this.groups.has(key)) this.groups.set(key, new Map());
    this.groups.get(key)!.set(groupKey(kind, partition), live);
  }

  dataset(r: DatasetId): DatasetRecord | undefined {
    return this.datasets.get(datasetKey(r));
  }

  liveGroups(r: DatasetId): ReadonlyMap<string, boolean> {
    const key = datasetKey(r);
    this.liveGroupsCalls.set(key, (this.liveGroupsCalls.get(key) ?? 0) + 1);
    return this.groups.get(key) ?? new Map();
  }
}

/** source (2 partitions, blocks live) → map → filter, both NARROW. */
function narrowChain(): { g: FakeLineage; src: DatasetId; map: DatasetId; filter: DatasetId } {
  const g = new FakeLineage();
  const src = g.add(ref(0), 'SOURCE', [], 2);
  const map = g.add(ref(1), 'NARROW', [src], 2);
  const filter = g.add(ref(2), 'NARROW', [map], 2);
  g.group(src, 'INPUT_BLOCK', 0);
  g.group(src, 'INPUT_BLOCK', 1);
  return { g, src, map, filter };
}

describe('planRebuild (pure planner)', () => {
  it('pipelines every unmaterialised narrow ancestor into one task that reads the source blocks', () => {
    const { g, src, filter } = narrowChain();
    expect(planRebuild(g, [part(filter, 1)], 100)).toEqual({
      tasks: [{ partition: part(filter, 1), depth: 0, reads: [part(src, 1)] }],
      unrecoverable: [],
    });
  });

  it('plans no task for a partition that is cached, and treats a recorded-but-lost group like a missing one', () => {
    const { g, src, map, filter } = narrowChain();
    g.group(filter, 'PARTITION', 0);
    g.group(map, 'PARTITION', 1, false);
    expect(planRebuild(g, [part(filter, 0)], 100)).toEqual({ tasks: [], unrecoverable: [] });
    expect(planRebuild(g, [part(filter, 1)], 100).tasks).toEqual([{ partition: part(filter, 1), depth: 0, reads: [part(src, 1)] }]);
  });

  it('adds a map task only for missing map outputs; a map task over a cached partition just re-reads it', () => {
    const { g, map } = narrowChain();
    const reduce = g.add(ref(3), 'SHUFFLE', [map], 1, 'reduceByKey');
    g.group(reduce, 'SHUFFLE_OUTPUT', 1); // map output 1 survives
    g.group(map, 'PARTITION', 0); // map partition 0 is cached, its output is not
    expect(planRebuild(g, [part(reduce, 0)], 100)).toEqual({
      tasks: [
        { partition: part(map, 0), shuffleFor: reduce, depth: 0, reads: [part(map, 0)] },
        { partition: part(reduce, 0), depth: 1, reads: [] },
      ],
      unrecoverable: [],
    });
  });

  it("numbers a join's map partitions across its parents: global map partition 3 is the second parent's partition 1", () => {
    const g = new FakeLineage();
    const a = g.add(ref(0), 'SOURCE', [], 2);
    const b = g.add(ref(1), 'SOURCE', [], 3);
    const join = g.add(ref(2), 'SHUFFLE', [a, b], 2, 'join');
    for (const m of [0, 1, 2, 4]) g.group(join, 'SHUFFLE_OUTPUT', m);
    for (let p = 0; p < 3; p++) g.group(b, 'INPUT_BLOCK', p);
    expect(planRebuild(g, [part(join, 0)], 100)).toEqual({
      tasks: [
        { partition: part(b, 1), shuffleFor: join, depth: 0, reads: [part(b, 1)] },
        { partition: part(join, 0), depth: 1, reads: [] },
      ],
      unrecoverable: [],
    });
  });

  it('plans a map task shared by several targets once, and asks for each dataset\'s live groups once per plan', () => {
    const { g, map } = narrowChain();
    const reduce = g.add(ref(3), 'SHUFFLE', [map], 2, 'reduceByKey');
    g.group(reduce, 'SHUFFLE_OUTPUT', 1);
    const plan = planRebuild(g, [part(reduce, 0), part(reduce, 1), part(reduce, 0)], 100);
    expect(plan.tasks.map((t) => [t.partition, t.shuffleFor, t.depth])).toEqual([
      [part(map, 0), reduce, 0],
      [part(reduce, 0), undefined, 1],
      [part(reduce, 1), undefined, 1],
    ]);
    expect([...g.liveGroupsCalls.values()].every((n) => n === 1)).toBe(true);
  });

  it('a partition whose parent batch was forgotten is unrecoverable (reported once); other targets are still planned', () => {
    const { g, src, filter } = narrowChain();
    const forgotten = ref(7, 500);
    const state = g.add(ref(5), 'NARROW', [src, forgotten], 2, 'updateStateByKey', [2, 2]);
    const plan = planRebuild(g, [part(state, 0), part(filter, 0)], 100);
    expect(plan.unrecoverable).toEqual([part(state, 0)]);
    expect(plan.tasks).toEqual([{ partition: part(filter, 0), depth: 0, reads: [part(src, 0)] }]);
  });

  it('leaves out tasks that only serve an unrecoverable target, and names the lost source partition as the cause', () => {
    const g = new FakeLineage();
    const src = g.add(ref(0), 'SOURCE', [], 2);
    const map = g.add(ref(1), 'NARROW', [src], 2);
    const reduce = g.add(ref(2), 'SHUFFLE', [map], 1, 'reduceByKey');
    g.group(src, 'INPUT_BLOCK', 1); // block 0 is gone everywhere
    expect(planRebuild(g, [part(reduce, 0)], 100)).toEqual({ tasks: [], unrecoverable: [part(src, 0), part(reduce, 0)] });
  });

  it('walks as deep as maxLineageDepth and no deeper (FAILED_PRECONDITION, not a stack overflow)', () => {
    const g = new FakeLineage();
    let last = g.add(ref(0), 'SOURCE', [], 1);
    g.group(last, 'INPUT_BLOCK', 0);
    for (let i = 1; i <= 5; i++) last = g.add(ref(i), 'NARROW', [last], 1);
    expect(planRebuild(g, [part(last, 0)], 5).tasks).toHaveLength(1);
    expect(() => planRebuild(g, [part(last, 0)], 4)).toThrow(FailedPreconditionError);
  });

  it('refuses unknown datasets (NOT_FOUND) and partitions out of range (INVALID_ARGUMENT)', () => {
    const { g, filter } = narrowChain();
    expect(() => planRebuild(g, [part(ref(9), 0)], 100)).toThrow(NotFoundError);
    expect(() => planRebuild(g, [part(filter, 2)], 100)).toThrow(InvalidArgumentError);
  });
});
