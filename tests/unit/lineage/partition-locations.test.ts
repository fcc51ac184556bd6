/**
 * partition-locations.ts on its own: the executor index, copy-on-write
 * drafts, replica merging, liveness of piece groups and checkpoint coverage.
 */
import { describe, expect, it } from 'vitest';
import { FailedPreconditionError } from '../../../lib/errors.js';
import { groupKey, type BatchId, type DatasetId, type LocationKind } from '../../../services/lineage/lineage-types.js';
import { mergeReplica, PartitionLocations } from '../../../services/lineage/partition-locations.js';

const B1: BatchId = { jobId: 'job', batchTimeMs: 1000 };
const B2: BatchId = { jobId: 'job', batchTimeMs: 2000 };
const ref = (b: BatchId, nodeId: number): DatasetId => ({ ...b, nodeId });
const stored = (kind: LocationKind, partition: number, blockId: string, executorIds: string[], bytes = 10) => ({ kind, partition, blockId, executorIds, bytes });
const keys = (locs: ReadonlyArray<{ dataset: DatasetId; kind: string; partition: number; blockId: string }>) =>
  locs.map((l) => `${l.dataset.batchTimeMs}#${l.dataset.nodeId} ${l.kind} ${l.partition} ${l.blockId}`);

/** Batch 1: source blocks 0 (e1+e2) and 1 (e2); cached partition of node 1 on e1. Batch 2: one block on e1. */
function twoBatches(): PartitionLocations {
  const locs = new PartitionLocations();
  locs.addBatch(B1, [
    { ...ref(B1, 0), locations: [stored('INPUT_BLOCK', 0, 'b0', ['e1', 'e2']), stored('INPUT_BLOCK', 1, 'b1', ['e2'])] },
    { ...ref(B1, 1), locations: [stored('PARTITION', 0, 'rdd-1-0', ['e1'])] },
  ]);
  locs.addBatch(B2, [{ ...ref(B2, 0), locations: [stored('INPUT_BLOCK', 0, 'c0', ['e1'])] }]);
  return locs;
}

describe('PartitionLocations', () => {
  it('indexes pieces by executor: only replica → lost, shared → under-replicated, in key order', () => {
    const locs = twoBatches();
    const e1 = locs.lostOnExecutor('e1');
    expect(keys(e1.lost)).toEqual(['1000#1 PARTITION 0 rdd-1-0', '2000#0 INPUT_BLOCK 0 c0']);
    expect(keys(e1.underReplicated)).toEqual(['1000#0 INPUT_BLOCK 0 b0']);
    expect(keys(locs.lostOnExecutor('e2').lost)).toEqual(['1000#0 INPUT_BLOCK 1 b1']);
    expect(locs.lostOnExecutor('nobody')).toEqual({ lost: [], underReplicated: [] });
    expect(locs.count()).toBe(4);
  });

  it('a draft changes nothing until applied, then replaces the touched datasets and re-indexes them', () => {
    const locs = twoBatches();
    const draft = locs.draft();
    draft.upsert(ref(B1, 1), 'PARTITION', 1, 'rdd-1-1', ['e3'], 5);
    draft.upsert(ref(B1, 0), 'CHECKPOINT', 0, 'ck', ['durable'], 7);
    expect(locs.lostOnExecutor('e3').lost).toEqual([]);
    expect(locs.count()).toBe(4);
    // Full sets of the touched datasets, in the order they were first touched.
    expect(draft.records()).toEqual([
      { ...ref(B1, 1), locations: [stored('PARTITION', 0, 'rdd-1-0', ['e1']), stored('PARTITION', 1, 'rdd-1-1', ['e3'], 5)] },
      {
        ...ref(B1, 0),
        locations: [stored('INPUT_BLOCK', 0, 'b0', ['e1', 'e2']), stored('INPUT_BLOCK', 1, 'b1', ['e2']), stored('CHECKPOINT', 0, 'ck', ['durable'], 7)],
      },
    ]);
    draft.apply();
    expect(keys(locs.lostOnExecutor('e3').lost)).toEqual(['1000#1 PARTITION 1 rdd-1-1']);
    expect(keys(locs.lostOnExecutor('durable').lost)).toEqual(['1000#0 CHECKPOINT 0 ck']);
    expect(locs.count()).toBe(6);
  });

  it('merges a piece reported again: executors united and sorted, bytes 0 keeps the known size', () => {
    expect(mergeReplica({ executorIds: ['e2', 'e1'], bytes: 40 }, ['e3', 'e1'], 0)).toEqual({ executorIds: ['e1', 'e2', 'e3'], bytes: 40 });
    expect(mergeReplica({ executorIds: ['e1'], bytes: 40 }, ['e1'], 50)).toEqual({ executorIds: ['e1'], bytes: 50 });
    expect(mergeReplica(undefined, ['e1'], 0)).toEqual({ executorIds: ['e1'], bytes: 0 });

    const locs = twoBatches();
    const draft = locs.draft();
    draft.upsert(ref(B1, 0), 'INPUT_BLOCK', 1, 'b1', ['e3'], 0);
    draft.apply();
    expect(keys(locs.lostOnExecutor('e2').underReplicated)).toEqual(['1000#0 INPUT_BLOCK 0 b0', '1000#0 INPUT_BLOCK 1 b1']);
    expect(locs.ofBatch(B1).find((l) => l.blockId === 'b1')).toMatchObject({ executorIds: ['e2', 'e3'], bytes: 10 });
  });

  it('removing an executor keeps emptied pieces recorded with no executor, so their group is no longer live', () => {
    const locs = twoBatches();
    const { draft, updated } = locs.draftWithoutExecutor('e1');
    expect(updated).toBe(3);
    expect(draft.records().map((r) => [r.batchTimeMs, r.nodeId])).toEqual([
      [1000, 0],
      [1000, 1],
      [2000, 0],
    ]);
    draft.apply();
    expect(locs.lostOnExecutor('e1')).toEqual({ lost: [], underReplicated: [] });
    // b0 is now only on e2: it moved from under-replicated to lost for e2.
    expect(keys(locs.lostOnExecutor('e2').lost)).toEqual(['1000#0 INPUT_BLOCK 0 b0', '1000#0 INPUT_BLOCK 1 b1']);
    expect(locs.count()).toBe(4);
    expect(locs.liveGroups(ref(B1, 1))).toEqual(new Map([[groupKey('PARTITION', 0), false]]));
    expect(locs.liveGroups(ref(B1, 0)).get(groupKey('INPUT_BLOCK', 0))).toBe(true);
  });

  it('a group is live only while every block under it has an executor', () => {
    const locs = new PartitionLocations();
    locs.addBatch(B1, [
      { ...ref(B1, 0), locations: [stored('INPUT_BLOCK', 0, 'a', []), stored('INPUT_BLOCK', 0, 'b', ['e1']), stored('INPUT_BLOCK', 1, 'c', ['e1'])] },
    ]);
    const live = locs.liveGroups(ref(B1, 0));
    expect(live.get(groupKey('INPUT_BLOCK', 0))).toBe(false);
    expect(live.get(groupKey('INPUT_BLOCK', 1))).toBe(true);
    expect(live.has(groupKey('PARTITION', 1))).toBe(false);
    expect(locs.liveGroups(ref(B2, 0)).size).toBe(0);
  });

  it('drops pieces by key, skipping unknown ones, and the index forgets what was dropped', () => {
    const locs = twoBatches();
    const draft = locs.draft();
    expect(draft.delete(ref(B1, 1), 'PARTITION', 0, 'rdd-1-0')).toBe(true);
    expect(draft.delete(ref(B1, 1), 'PARTITION', 0, 'other')).toBe(false);
    expect(draft.delete(ref(B1, 1), 'CHECKPOINT', 0, 'rdd-1-0')).toBe(false);
    expect(draft.records()).toEqual([{ ...ref(B1, 1), locations: [] }]);
    draft.apply();
    expect(keys(locs.lostOnExecutor('e1').lost)).toEqual(['2000#0 INPUT_BLOCK 0 c0']);
    // The emptied dataset still has a (now empty) location set.
    expect(locs.has(ref(B1, 1))).toBe(true);
    expect(locs.has(ref(B1, 2))).toBe(false);
  });

  it('counts a dataset as checkpointed only when every partition has a CHECKPOINT, live or not', () => {
    const locs = new PartitionLocations();
    locs.addBatch(B1, [
      { ...ref(B1, 3), locations: [stored('CHECKPOINT', 0, 'k0', []), stored('PARTITION', 1, 'p1', ['e1'])] },
      { ...ref(B1, 4), locations: [] },
    ]);
    expect(locs.checkpointed(ref(B1, 3), 2)).toBe(false);
    const draft = locs.draft();
    draft.upsert(ref(B1, 3), 'CHECKPOINT', 1, 'k1', ['durable'], 1);
    draft.apply();
    expect(locs.checkpointed(ref(B1, 3), 2)).toBe(true);
    // A dataset with no partitions (an empty batch's source) has nothing checkpointed to stop at.
    expect(locs.checkpointed(ref(B1, 4), 0)).toBe(false);
  });

  it('removing a batch unindexes all its pieces; a draft against it can no longer be applied', () => {
    const locs = twoBatches();
    const late = locs.draft();
    late.upsert(ref(B1, 1), 'PARTITION', 1, 'x', ['e9'], 1);
    locs.removeBatch(B1);
    expect(keys(locs.lostOnExecutor('e1').lost)).toEqual(['2000#0 INPUT_BLOCK 0 c0']);
    expect(locs.lostOnExecutor('e2')).toEqual({ lost: [], underReplicated: [] });
    expect(locs.ofBatch(B1)).toEqual([]);
    expect(locs.count()).toBe(1);
    expect(() => late.apply()).toThrow(FailedPreconditionError);
    expect(locs.lostOnExecutor('e9')).toEqual({ lost: [], underReplicated: [] });
  });

  it('lists a batch\'s locations by node, then kind order, partition and block id', () => {
    const locs = new PartitionLocations();
    locs.addBatch(B1, [
      { ...ref(B1, 2), locations: [stored('CHECKPOINT', 0, 'k', ['d']), stored('PARTITION', 1, 'b', ['e1']), stored('PARTITION', 1, 'a', ['e1'])] },
      { ...ref(B1, 0), locations: [stored('INPUT_BLOCK', 0, 'z', ['e1'])] },
    ]);
    expect(keys(locs.ofBatch(B1))).toEqual(['1000#0 INPUT_BLOCK 0 z', '1000#2 PARTITION 1 a', '1000#2 PARTITION 1 b', '1000#2 CHECKPOINT 0 k']);
  });
});
