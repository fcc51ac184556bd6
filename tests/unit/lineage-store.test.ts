import { describe, expect, it } from 'vitest';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError } from '../../lib/errors.js';
import { LineageStore } from '../../services/lineage/lineage-store.js';
import type { DatasetId, DatasetSpec, LocationSpec, Mutation, RegisterBatchInput, StoreWrites } from '../../services/lineage/lineage-types.js';
import { decodeRegisterBatch, decodeLocation } from '../../services/lineage/wire.js';

const JOB = 'wordcount';

const ref = (batchTimeMs: number, nodeId: number, jobId = JOB): DatasetId => ({ jobId, batchTimeMs, nodeId });

function ds(t: number, nodeId: number, operator: string, dependency: DatasetSpec['dependency'], parents: DatasetId[], numPartitions = 2): DatasetSpec {
  return { ref: ref(t, nodeId), operator, dependency, parents, numPartitions };
}

function loc(kind: LocationSpec['kind'], dataset: DatasetId, partition: number, blockId: string, executorIds: string[], bytes = 100): LocationSpec {
  return { kind, dataset, partition, blockId, executorIds, bytes };
}

/** Nodes of the word-count graph. */
const SRC = 0;
const FLATMAP = 1;
const MAP = 2;
const REDUCE = 3;
const OUT = 4;

/**
 * receiverStream(lines) SOURCE (2 blocks) → flatMap NARROW → map NARROW →
 * reduceByKey SHUFFLE (2 reduce partitions) → foreachRDD NARROW.
 * Block 0 is on e1+e2, block 1 on e2+e3.
 */
function wordCount(t: number): RegisterBatchInput {
  return {
    jobId: JOB,
    batchTimeMs: t,
    datasets: [
      ds(t, SRC, 'receiverStream(lines)', 'SOURCE', []),
      ds(t, FLATMAP, 'flatMap', 'NARROW', [ref(t, SRC)]),
      ds(t, MAP, 'map', 'NARROW', [ref(t, FLATMAP)]),
      ds(t, REDUCE, 'reduceByKey', 'SHUFFLE', [ref(t, MAP)]),
      ds(t, OUT, 'foreachRDD', 'NARROW', [ref(t, REDUCE)]),
    ],
    inputs: [
      loc('INPUT_BLOCK', ref(t, SRC), 0, `input-${t}-0`, ['e1', 'e2']),
      loc('INPUT_BLOCK', ref(t, SRC), 1, `input-${t}-1`, ['e2', 'e3']),
    ],
  };
}

/** What the executors report after running the batch: map outputs on e1/e2, reduce partitions cached on e1/e2. */
function ranWordCount(t: number): LocationSpec[] {
  return [
    loc('SHUFFLE_OUTPUT', ref(t, REDUCE), 0, `shuffle-${t}-0`, ['e1']),
    loc('SHUFFLE_OUTPUT', ref(t, REDUCE), 1, `shuffle-${t}-1`, ['e2']),
    loc('PARTITION', ref(t, REDUCE), 0, `rdd-${t}-3-0`, ['e1']),
    loc('PARTITION', ref(t, REDUCE), 1, `rdd-${t}-3-1`, ['e2']),
  ];
}

/** Plan, "persist" (record the writes), commit: what server.ts does minus the KV. */
function run<R>(m: Mutation<R>, log?: StoreWrites[]): R {
  log?.push(m.writes);
  return m.commit();
}

function newStore(maxBatchesPerJob = 100): LineageStore {
  return new LineageStore({ maxBatchesPerJob });
}

function storeWithWordCount(t = 1000): LineageStore {
  const store = newStore();
  run(store.planRegisterBatch(wordCount(t)));
  run(store.planRecordLocations(ranWordCount(t)));
  return store;
}

/** PlanRebuild without the tasks' `reads` (asserted separately, in the state tests below). */
function planWithoutReads(store: LineageStore, partitions: Parameters<LineageStore['planRebuild']>[0]) {
  const plan = store.planRebuild(partitions);
  return { ...plan, tasks: plan.tasks.map(({ reads: _reads, ...t }) => t) };
}

const task = (t: number, nodeId: number, partition: number, depth: number, shuffleFor?: DatasetId) => ({
  partition: { dataset: ref(t, nodeId), partition },
  ...(shuffleFor ? { shuffleFor } : {}),
  depth,
});

describe('LineageStore registration', () => {
  it('registers a batch and returns it with its input blocks', () => {
    const store = newStore();
    const writes: StoreWrites[] = [];
    const outcome = run(store.planRegisterBatch(wordCount(1000)), writes);
    expect(outcome).toEqual({ created: true, evicted: [] });
    expect(writes[0]!.graphs).toHaveLength(1);
    expect(writes[0]!.locations.map((l) => l.nodeId)).toEqual([SRC]);
    const b = store.getBatch(JOB, 1000);
    expect(b.datasets.map((d) => d.operator)).toEqual(['receiverStream(lines)', 'flatMap', 'map', 'reduceByKey', 'foreachRDD']);
    expect(b.datasets[3]).toEqual(ds(1000, REDUCE, 'reduceByKey', 'SHUFFLE', [ref(1000, MAP)]));
    expect(b.locations).toEqual(wordCount(1000).inputs);
    expect(store.stats()).toEqual({ jobs: 1, batches: 1, datasets: 5, locations: 2, maxDepth: 4 });
  });

  it('planning alone changes nothing; a stale plan is refused at commit', () => {
    const store = newStore();
    const first = store.planRegisterBatch(wordCount(1000));
    expect(() => store.getBatch(JOB, 1000)).toThrow(NotFoundError);
    const second = store.planRegisterBatch(wordCount(2000));
    first.commit();
    expect(() => second.commit()).toThrow(FailedPreconditionError);
    expect(() => first.commit()).toThrow(FailedPreconditionError);
    expect(store.stats().batches).toBe(1);
  });

  it('is idempotent: the same batch again is a no-op with nothing to write', () => {
    const store = newStore();
    run(store.planRegisterBatch(wordCount(1000)));
    run(store.planRemoveExecutor('e1'));
    const again = store.planRegisterBatch(wordCount(1000));
    expect(again.result).toEqual({ created: false, evicted: [] });
    expect(again.writes).toEqual({ locations: [], graphs: [], forget: [] });
    again.commit();
    // A retried registration must not resurrect the removed executor.
    expect(store.getBatch(JOB, 1000).locations[0]!.executorIds).toEqual(['e2']);
  });

  it('treats different executor lists or byte counts of the same input blocks as the same registration', () => {
    const store = newStore();
    run(store.planRegisterBatch(wordCount(1000)));
    const retry = wordCount(1000);
    const inputs = retry.inputs.map((l) => ({ ...l, executorIds: ['e9'], bytes: 5 }));
    expect(run(store.planRegisterBatch({ ...retry, inputs })).created).toBe(false);
  });

  it('answers ALREADY_EXISTS when a different graph or different input blocks are registered for the batch', () => {
    const store = newStore();
    run(store.planRegisterBatch(wordCount(1000)));
    const other = wordCount(1000);
    const changed = { ...other, datasets: other.datasets.map((d) => (d.ref.nodeId === MAP ? { ...d, operator: 'mapValues' } : d)) };
    expect(() => store.planRegisterBatch(changed)).toThrow(AlreadyExistsError);
    expect(() => store.planRegisterBatch(changed)).toThrow(/different dataset graph/);
    const otherBlocks = { ...other, inputs: [other.inputs[0]!] };
    expect(() => store.planRegisterBatch(otherBlocks)).toThrow(/different input blocks/);
  });

  describe('refuses malformed batches with INVALID_ARGUMENT', () => {
    const t = 1000;
    const base = wordCount(t);
    const withDatasets = (datasets: DatasetSpec[]): RegisterBatchInput => ({ ...base, datasets, inputs: [] });
    const replace = (nodeId: number, patch: Partial<DatasetSpec>) => withDatasets(base.datasets.map((d) => (d.ref.nodeId === nodeId ? { ...d, ...patch } : d)));
    const cases: Array<[string, RegisterBatchInput, RegExp]> = [
      ['no job id', { ...base, jobId: '' }, /job_id/],
      ['negative batch time', { ...base, batchTimeMs: -1 }, /batch_time_ms/],
      ['no datasets', withDatasets([]), /at least one dataset/],
      ['a missing ref', replace(MAP, { ref: undefined as unknown as DatasetId }), /needs a ref/],
      ['a dataset of another batch', replace(MAP, { ref: ref(999, MAP) }), /does not belong/],
      ['a node listed twice', withDatasets([...base.datasets, base.datasets[1]!]), /listed twice/],
      ['a zero-partition source under a 3-partition narrow child', replace(SRC, { numPartitions: 0 }), /one-to-one/],
      ['a negative partition count', replace(SRC, { numPartitions: -1 }), /partition count/],
      ['no operator', replace(MAP, { operator: '' }), /operator/],
      ['an unknown dependency kind', replace(MAP, { dependency: 'BROADCAST' as never }), /dependency/],
      ['a source with parents', replace(SRC, { parents: [ref(t, MAP)] }), /SOURCE .* cannot have parents/],
      ['a narrow dataset without parents', replace(MAP, { parents: [] }), /needs at least one parent/],
      ['a parent not in the batch', replace(MAP, { parents: [ref(t, 42)] }), /not in the batch/],
      ['a parent in an unregistered earlier batch', replace(MAP, { parents: [ref(500, MAP)] }), /registered earlier batch/],
      ['a parent in a later batch', replace(MAP, { parents: [ref(2000, MAP)] }), /later batch/],
      ['a parent of another job', replace(MAP, { parents: [ref(t, FLATMAP, 'other')] }), /another job/],
      ['itself as parent', replace(MAP, { parents: [ref(t, MAP)] }), /its own parent/],
      ['the same parent twice', replace(REDUCE, { parents: [ref(t, MAP), ref(t, MAP)] }), /twice/],
      ['a cycle', replace(FLATMAP, { parents: [ref(t, MAP)] }), /cycle/],
      ['a narrow dependency between different partition counts', replace(OUT, { numPartitions: 3 }), /one-to-one/],
    ];
    for (const [name, input, message] of cases) {
      it(name, () => {
        const store = newStore();
        expect(() => store.planRegisterBatch(input)).toThrow(InvalidArgumentError);
        expect(() => store.planRegisterBatch(input)).toThrow(message);
        expect(store.stats().batches).toBe(0);
      });
    }

    const badInputs: Array<[string, Partial<LocationSpec>, RegExp]> = [
      ['an input that is not an INPUT_BLOCK', { kind: 'PARTITION' }, /INPUT_BLOCK/],
      ['an input of a non-source dataset', { dataset: ref(t, MAP) }, /SOURCE dataset/],
      ['an input of an unknown dataset', { dataset: ref(t, 9) }, /unknown dataset/],
      ['an input of another batch', { dataset: ref(2000, SRC) }, /not a dataset of this batch/],
      ['an input partition out of range', { partition: 2 }, /partition 2/],
      ['an input without block id', { blockId: '' }, /block_id/],
      ['an empty executor id', { executorIds: [''] }, /executor ids/],
    ];
    for (const [name, patch, message] of badInputs) {
      it(name, () => {
        const input = { ...base, inputs: [{ ...base.inputs[0]!, ...patch }] };
        expect(() => newStore().planRegisterBatch(input)).toThrow(message);
        expect(() => newStore().planRegisterBatch(input)).toThrow(InvalidArgumentError);
      });
    }
  });

  it('accepts an empty batch: a source with no blocks and its narrow children have zero partitions', () => {
    const store = newStore();
    const t = 7000;
    const empty: RegisterBatchInput = {
      jobId: JOB,
      batchTimeMs: t,
      datasets: [
        { ...ds(t, SRC, 'receiverStream(lines)', 'SOURCE', []), numPartitions: 0 },
        { ...ds(t, FLATMAP, 'flatMap', 'NARROW', [ref(t, SRC)]), numPartitions: 0 },
        { ...ds(t, MAP, 'map', 'NARROW', [ref(t, FLATMAP)]), numPartitions: 0 },
        ds(t, REDUCE, 'reduceByKey', 'SHUFFLE', [ref(t, MAP)]),
        ds(t, OUT, 'foreachRDD', 'NARROW', [ref(t, REDUCE)]),
      ],
      inputs: [],
    };
    expect(run(store.planRegisterBatch(empty))).toEqual({ created: true, evicted: [] });
    expect(store.getBatch(JOB, t).datasets.map((d) => d.numPartitions)).toEqual([0, 0, 0, 2, 2]);
  });

  it('accepts a union (NARROW, operator "union") whose partitions are its parents\' concatenated, and refuses a wrong total', () => {
    const t = 3000;
    const union = (n: number): RegisterBatchInput => ({
      jobId: JOB,
      batchTimeMs: t,
      datasets: [
        ds(t, 0, 'queueStream(a)', 'SOURCE', [], 2),
        ds(t, 1, 'queueStream(b)', 'SOURCE', [], 3),
        ds(t, 2, 'union', 'NARROW', [ref(t, 0), ref(t, 1)], n),
      ],
      inputs: [],
    });
    expect(() => newStore().planRegisterBatch(union(3))).toThrow(/parents have 5 together/);
    const store = newStore();
    expect(run(store.planRegisterBatch(union(5))).created).toBe(true);
  });

  it('accepts parents in an earlier registered batch of the same job (state, windows)', () => {
    const store = newStore();
    run(store.planRegisterBatch(wordCount(1000)));
    const next = wordCount(2000);
    // Node 5 reads this batch's reduce and the previous batch's map (both 2 partitions).
    (next.datasets as DatasetSpec[]).push(ds(2000, 5, 'updateStateByKey', 'NARROW', [ref(2000, REDUCE), ref(1000, MAP)]));
    expect(run(store.planRegisterBatch(next)).created).toBe(true);
    expect(store.getBatch(JOB, 2000).datasets.find((d) => d.ref.nodeId === 5)!.parents).toEqual([ref(2000, REDUCE), ref(1000, MAP)]);
  });
});

describe('wire decoding', () => {
  it('rejects a dataset without ref, an unspecified dependency and an unspecified location kind', () => {
    const req = {
      jobId: JOB,
      batchTimeMs: 1000,
      datasets: [{ ref: null, operator: 'x', dependency: 'SOURCE', parents: [], numPartitions: 1 }],
      inputs: [],
    };
    expect(() => decodeRegisterBatch(req as never)).toThrow(/datasets\[0\]\.ref is required/);
    const unspecified = { ...req, datasets: [{ ...req.datasets[0], ref: ref(1000, 0), dependency: 'DEPENDENCY_KIND_UNSPECIFIED' }] };
    expect(() => decodeRegisterBatch(unspecified as never)).toThrow(InvalidArgumentError);
    const l = { kind: 'LOCATION_KIND_UNSPECIFIED', dataset: ref(1000, 0), partition: 0, blockId: 'b', executorIds: [], bytes: 0 };
    expect(() => decodeLocation(l as never, 'locations[0]')).toThrow(/locations\[0\]\.kind/);
  });
});

describe('LineageStore locations', () => {
  it('upserts by (kind, dataset, partition, block id), merging executors and keeping known bytes', () => {
    const store = newStore();
    run(store.planRegisterBatch(wordCount(1000)));
    run(store.planRecordLocations([loc('PARTITION', ref(1000, MAP), 0, 'rdd-2-0', ['e1'], 64)]));
    const writes: StoreWrites[] = [];
    run(store.planRecordLocations([loc('PARTITION', ref(1000, MAP), 0, 'rdd-2-0', ['e3', 'e1'], 0)]), writes);
    // Only the touched dataset is rewritten, with its whole location set.
    expect(writes[0]!.locations).toHaveLength(1);
    expect(writes[0]!.locations[0]!.nodeId).toBe(MAP);
    const partitions = store.getBatch(JOB, 1000).locations.filter((l) => l.kind === 'PARTITION');
    expect(partitions).toEqual([loc('PARTITION', ref(1000, MAP), 0, 'rdd-2-0', ['e1', 'e3'], 64)]);
    expect(store.stats().locations).toBe(3);
  });

  it('answers NOT_FOUND for a location of an unknown batch and INVALID_ARGUMENT for impossible ones', () => {
    const store = newStore();
    run(store.planRegisterBatch(wordCount(1000)));
    expect(() => store.planRecordLocations([loc('PARTITION', ref(5000, MAP), 0, 'b', ['e1'])])).toThrow(NotFoundError);
    const invalid: LocationSpec[] = [
      loc('PARTITION', ref(1000, 9), 0, 'b', ['e1']),
      loc('PARTITION', ref(1000, MAP), 2, 'b', ['e1']),
      loc('PARTITION', ref(1000, MAP), 0, '', ['e1']),
      loc('SHUFFLE_OUTPUT', ref(1000, MAP), 0, 'b', ['e1']),
      loc('SHUFFLE_OUTPUT', ref(1000, REDUCE), 2, 'b', ['e1']),
      loc('INPUT_BLOCK', ref(1000, MAP), 0, 'b', ['e1']),
    ];
    for (const l of invalid) expect(() => store.planRecordLocations([l])).toThrow(InvalidArgumentError);
    // All or nothing: one bad location refuses the whole request.
    expect(() => store.planRecordLocations([ranWordCount(1000)[0]!, invalid[0]!])).toThrow(InvalidArgumentError);
    expect(store.stats().locations).toBe(2);
  });

  it('reports lost (only replica) and under-replicated (has another replica) locations of an executor', () => {
    const store = storeWithWordCount();
    const { lost, underReplicated } = store.lostOnExecutor('e1');
    expect(lost.map((l) => l.blockId).sort()).toEqual(['rdd-1000-3-0', 'shuffle-1000-0']);
    expect(underReplicated.map((l) => l.blockId)).toEqual(['input-1000-0']);
    expect(store.lostOnExecutor('e3').underReplicated.map((l) => l.blockId)).toEqual(['input-1000-1']);
    expect(store.lostOnExecutor('nobody')).toEqual({ lost: [], underReplicated: [] });
  });

  it('RemoveExecutor drops the executor everywhere and keeps emptied locations as lost', () => {
    const store = storeWithWordCount();
    const writes: StoreWrites[] = [];
    expect(run(store.planRemoveExecutor('e1'), writes)).toEqual({ locationsUpdated: 3 });
    expect(writes[0]!.locations.map((l) => l.nodeId).sort()).toEqual([SRC, REDUCE]);
    const b = store.getBatch(JOB, 1000);
    expect(b.locations.find((l) => l.blockId === 'input-1000-0')!.executorIds).toEqual(['e2']);
    expect(b.locations.find((l) => l.blockId === 'shuffle-1000-0')!.executorIds).toEqual([]);
    expect(store.stats().locations).toBe(6);
    expect(store.lostOnExecutor('e1')).toEqual({ lost: [], underReplicated: [] });
    // e2 is now the only holder of input block 0.
    expect(store.lostOnExecutor('e2').lost.map((l) => l.blockId)).toContain('input-1000-0');
    expect(run(store.planRemoveExecutor('e1'))).toEqual({ locationsUpdated: 0 });
  });
});

describe('LineageStore.planRebuild (word count)', () => {
  const t = 1000;
  const reduce = ref(t, REDUCE);

  it('yields no task for partitions that are still materialised', () => {
    const store = storeWithWordCount();
    expect(planWithoutReads(store, [{ dataset: reduce, partition: 0 }, { dataset: ref(t, SRC), partition: 1 }])).toEqual({
      tasks: [],
      unrecoverable: [],
    });
  });

  it('lost shuffle output on one executor → only its map task (depth 0, reading the surviving block replica) + the reduce partition (depth 1)', () => {
    const store = storeWithWordCount();
    run(store.planRemoveExecutor('e1'));
    expect(planWithoutReads(store, [{ dataset: reduce, partition: 0 }])).toEqual({
      tasks: [task(t, MAP, 0, 0, reduce), task(t, REDUCE, 0, 1)],
      unrecoverable: [],
    });
  });

  it('pipelines the output operator over a shuffle it must re-read, and dedupes shared map tasks', () => {
    const store = storeWithWordCount();
    run(store.planRemoveExecutor('e1'));
    const plan = planWithoutReads(store, [
      { dataset: ref(t, OUT), partition: 0 },
      { dataset: ref(t, OUT), partition: 1 },
      { dataset: reduce, partition: 0 },
      { dataset: reduce, partition: 0 },
    ]);
    // Reduce partition 1 is still cached on e2, so output partition 1 reads it at depth 0.
    expect(plan.tasks).toEqual([task(t, MAP, 0, 0, reduce), task(t, OUT, 1, 0), task(t, REDUCE, 0, 1), task(t, OUT, 0, 1)]);
    expect(plan.unrecoverable).toEqual([]);
  });

  it('a reduce partition needing an input block lost everywhere is unrecoverable, and its other tasks are left out', () => {
    const store = storeWithWordCount();
    run(store.planRemoveExecutor('e1'));
    run(store.planRemoveExecutor('e2'));
    // Block 0 was on e1+e2 only: its map task can't run; block 1 survives on e3.
    const plan = planWithoutReads(store, [{ dataset: reduce, partition: 1 }]);
    expect(plan.tasks).toEqual([]);
    expect(plan.unrecoverable).toEqual([
      { dataset: ref(t, SRC), partition: 0 },
      { dataset: reduce, partition: 1 },
    ]);
    // A map partition alone (no shuffle) is still recoverable from block 1.
    expect(planWithoutReads(store, [{ dataset: ref(t, MAP), partition: 1 }])).toEqual({ tasks: [task(t, MAP, 1, 0)], unrecoverable: [] });
  });

  it('input block lost everywhere → its partitions are unrecoverable, and a source partition itself too', () => {
    const store = storeWithWordCount();
    run(store.planRemoveExecutor('e1'));
    run(store.planRemoveExecutor('e2'));
    expect(planWithoutReads(store, [{ dataset: ref(t, SRC), partition: 0 }])).toEqual({
      tasks: [],
      unrecoverable: [{ dataset: ref(t, SRC), partition: 0 }],
    });
    expect(planWithoutReads(store, [{ dataset: ref(t, FLATMAP), partition: 0 }]).unrecoverable).toEqual([
      { dataset: ref(t, SRC), partition: 0 },
      { dataset: ref(t, FLATMAP), partition: 0 },
    ]);
  });

  it('stops walking at a cached partition even when the input below it is gone', () => {
    const store = storeWithWordCount();
    run(store.planRecordLocations([loc('PARTITION', ref(t, MAP), 0, 'rdd-2-0', ['e3'])]));
    run(store.planRemoveExecutor('e1'));
    run(store.planRemoveExecutor('e2'));
    // Map output 0 comes from the cached map partition on e3, map output 1 from block 1 on e3.
    expect(planWithoutReads(store, [{ dataset: reduce, partition: 0 }])).toEqual({
      tasks: [task(t, MAP, 0, 0, reduce), task(t, MAP, 1, 0, reduce), task(t, REDUCE, 0, 1)],
      unrecoverable: [],
    });
  });

  it('a checkpoint counts as materialised', () => {
    const store = storeWithWordCount();
    run(store.planRecordLocations([loc('CHECKPOINT', reduce, 0, 'ckpt-3-0', ['durable'])]));
    run(store.planRemoveExecutor('e1'));
    expect(planWithoutReads(store, [{ dataset: reduce, partition: 0 }])).toEqual({ tasks: [], unrecoverable: [] });
  });

  it('a partition with several blocks needs all of them live', () => {
    const store = newStore();
    const input = wordCount(t);
    run(store.planRegisterBatch({ ...input, inputs: [...input.inputs, loc('INPUT_BLOCK', ref(t, SRC), 1, 'extra', ['e1'])] }));
    run(store.planRemoveExecutor('e1'));
    expect(planWithoutReads(store, [{ dataset: ref(t, SRC), partition: 1 }]).unrecoverable).toEqual([{ dataset: ref(t, SRC), partition: 1 }]);
    expect(planWithoutReads(store, [{ dataset: ref(t, SRC), partition: 0 }]).unrecoverable).toEqual([]);
  });

  it('depth grows across chained shuffles', () => {
    // source → map → reduceByKey (SHUFFLE) → map → groupByKey (SHUFFLE)
    const store = newStore();
    run(
      store.planRegisterBatch({
        jobId: JOB,
        batchTimeMs: t,
        datasets: [
          ds(t, 0, 'receiverStream(lines)', 'SOURCE', []),
          ds(t, 1, 'map', 'NARROW', [ref(t, 0)]),
          ds(t, 2, 'reduceByKey', 'SHUFFLE', [ref(t, 1)], 3),
          ds(t, 3, 'map', 'NARROW', [ref(t, 2)], 3),
          ds(t, 4, 'groupByKey', 'SHUFFLE', [ref(t, 3)], 1),
        ],
        inputs: [loc('INPUT_BLOCK', ref(t, 0), 0, 'b0', ['e1', 'e2']), loc('INPUT_BLOCK', ref(t, 0), 1, 'b1', ['e2', 'e3'])],
      }),
    );
    // Nothing but the input blocks is materialised.
    expect(planWithoutReads(store, [{ dataset: ref(t, 4), partition: 0 }]).tasks).toEqual([
      task(t, 1, 0, 0, ref(t, 2)),
      task(t, 1, 1, 0, ref(t, 2)),
      task(t, 3, 0, 1, ref(t, 4)),
      task(t, 3, 1, 1, ref(t, 4)),
      task(t, 3, 2, 1, ref(t, 4)),
      task(t, 4, 0, 2),
    ]);
  });

  it('maps a union partition to exactly one partition of one parent (offset mapping)', () => {
    const store = newStore();
    run(
      store.planRegisterBatch({
        jobId: JOB,
        batchTimeMs: t,
        datasets: [
          ds(t, 0, 'queueStream(a)', 'SOURCE', [], 2),
          ds(t, 1, 'queueStream(b)', 'SOURCE', [], 3),
          ds(t, 2, 'union', 'NARROW', [ref(t, 0), ref(t, 1)], 5),
          ds(t, 3, 'map', 'NARROW', [ref(t, 2)], 5),
        ],
        inputs: [0, 1].map((p) => loc('INPUT_BLOCK', ref(t, 0), p, `a${p}`, ['e1'])).concat([0, 1, 2].map((p) => loc('INPUT_BLOCK', ref(t, 1), p, `b${p}`, ['e1']))),
      }),
    );
    // Partition 1 is a's partition 1; partition 3 is b's partition 1.
    expect(planWithoutReads(store, [{ dataset: ref(t, 3), partition: 1 }]).tasks).toEqual([task(t, 3, 1, 0)]);
    expect(planWithoutReads(store, [{ dataset: ref(t, 3), partition: 3 }]).tasks).toEqual([task(t, 3, 3, 0)]);
    // Losing b's block 1 dooms union partition 3 only.
    run(store.planRemoveExecutor('e1'));
    const lostB1 = planWithoutReads(store, [{ dataset: ref(t, 3), partition: 3 }]);
    expect(lostB1.unrecoverable).toContainEqual({ dataset: ref(t, 1), partition: 1 });
    expect(lostB1.unrecoverable).not.toContainEqual({ dataset: ref(t, 0), partition: 1 });
  });

  it('numbers map partitions across the parents of a multi-parent shuffle (join)', () => {
    const store = newStore();
    run(
      store.planRegisterBatch({
        jobId: JOB,
        batchTimeMs: t,
        datasets: [
          ds(t, 0, 'receiverStream(a)', 'SOURCE', [], 2),
          ds(t, 1, 'receiverStream(b)', 'SOURCE', [], 3),
          ds(t, 2, 'join', 'SHUFFLE', [ref(t, 0), ref(t, 1)], 2),
        ],
        inputs: [0, 1].map((p) => loc('INPUT_BLOCK', ref(t, 0), p, `a${p}`, ['e1'])).concat([0, 1, 2].map((p) => loc('INPUT_BLOCK', ref(t, 1), p, `b${p}`, ['e1']))),
      }),
    );
    // Map partitions 0-1 are parent a's, 2-4 parent b's; only b's partition 1 (global 3) is missing.
    run(store.planRecordLocations([0, 1, 2, 4].map((m) => loc('SHUFFLE_OUTPUT', ref(t, 2), m, `s${m}`, ['e2']))));
    expect(() => store.planRecordLocations([loc('SHUFFLE_OUTPUT', ref(t, 2), 5, 's5', ['e2'])])).toThrow(InvalidArgumentError);
    expect(planWithoutReads(store, [{ dataset: ref(t, 2), partition: 1 }]).tasks).toEqual([task(t, 1, 1, 0, ref(t, 2)), task(t, 2, 1, 1)]);
  });

  it('walks into earlier batches for state and reports forgotten parents as unrecoverable', () => {
    const store = newStore();
    // state(t) = updateStateByKey(reduce(t), state(t - 1000)); the first state has only reduce as parent.
    run(store.planRegisterBatch({ ...wordCount(1000), datasets: [...wordCount(1000).datasets, ds(1000, 5, 'updateStateByKey', 'NARROW', [ref(1000, REDUCE)])] }));
    run(
      store.planRegisterBatch({
        ...wordCount(2000),
        datasets: [...wordCount(2000).datasets, ds(2000, 5, 'updateStateByKey', 'NARROW', [ref(2000, REDUCE), ref(1000, 5)])],
      }),
    );
    run(store.planRecordLocations([...ranWordCount(1000), ...ranWordCount(2000), loc('PARTITION', ref(1000, 5), 0, 's1-0', ['e1'])]));
    run(store.planRemoveExecutor('e1'));
    const state = ref(2000, 5);
    expect(planWithoutReads(store, [{ dataset: state, partition: 0 }])).toEqual({
      tasks: [task(1000, MAP, 0, 0, ref(1000, REDUCE)), task(2000, MAP, 0, 0, ref(2000, REDUCE)), task(2000, 5, 0, 1)],
      unrecoverable: [],
    });
    expect(run(store.planForgetBatches(JOB, 1500))).toEqual({ batchesForgotten: 1 });
    expect(planWithoutReads(store, [{ dataset: state, partition: 0 }])).toEqual({
      tasks: [],
      unrecoverable: [{ dataset: state, partition: 0 }],
    });
    // Partition 1 of the old state was never cached; with its batch forgotten it is gone too.
    expect(planWithoutReads(store, [{ dataset: state, partition: 1 }]).unrecoverable).toEqual([{ dataset: state, partition: 1 }]);
  });

  it('refuses unknown datasets (NOT_FOUND) and out-of-range partitions (INVALID_ARGUMENT)', () => {
    const store = storeWithWordCount();
    expect(() => planWithoutReads(store, [{ dataset: ref(7, 0), partition: 0 }])).toThrow(NotFoundError);
    expect(() => planWithoutReads(store, [{ dataset: ref(t, 9), partition: 0 }])).toThrow(NotFoundError);
    expect(() => planWithoutReads(store, [{ dataset: reduce, partition: 2 }])).toThrow(InvalidArgumentError);
  });

  it('gives up with FAILED_PRECONDITION on lineage deeper than the limit instead of overflowing the stack', () => {
    const store = new LineageStore({ maxBatchesPerJob: 100, maxLineageDepth: 10 });
    const datasets = [ds(t, 0, 'source', 'SOURCE', [])];
    for (let i = 1; i <= 20; i++) datasets.push(ds(t, i, 'map', 'NARROW', [ref(t, i - 1)]));
    run(store.planRegisterBatch({ jobId: JOB, batchTimeMs: t, datasets, inputs: [] }));
    expect(() => planWithoutReads(store, [{ dataset: ref(t, 20), partition: 0 }])).toThrow(FailedPreconditionError);
  });
});

describe('LineageStore forgetting', () => {
  it('ForgetBatches drops every batch of the job older than the time, and only those', () => {
    const store = newStore();
    for (const t of [1000, 2000, 3000]) run(store.planRegisterBatch(wordCount(t)));
    run(store.planRegisterBatch({ ...wordCount(1000), jobId: 'other', datasets: wordCount(1000).datasets.map((d) => ({ ...d, ref: { ...d.ref, jobId: 'other' }, parents: d.parents.map((p) => ({ ...p, jobId: 'other' })) })), inputs: [] }));
    const writes: StoreWrites[] = [];
    expect(run(store.planForgetBatches(JOB, 3000), writes)).toEqual({ batchesForgotten: 2 });
    expect(writes[0]!.forget).toEqual([
      { jobId: JOB, batchTimeMs: 1000 },
      { jobId: JOB, batchTimeMs: 2000 },
    ]);
    expect(() => store.getBatch(JOB, 1000)).toThrow(NotFoundError);
    expect(() => store.getBatch(JOB, 2000)).toThrow(NotFoundError);
    expect(store.getBatch(JOB, 3000).batchTimeMs).toBe(3000);
    expect(store.getBatch('other', 1000).jobId).toBe('other');
    expect(store.stats()).toEqual({ jobs: 2, batches: 2, datasets: 10, locations: 2, maxDepth: 4 });
    // Forgotten locations leave the executor index too.
    expect(store.lostOnExecutor('e1').underReplicated.map((l) => l.dataset.batchTimeMs)).toEqual([3000]);
    expect(run(store.planForgetBatches('nope', 9999))).toEqual({ batchesForgotten: 0 });
    expect(() => store.planRecordLocations(ranWordCount(1000))).toThrow(NotFoundError);
  });

  it('maxBatchesPerJob evicts the oldest batches of that job and reports them', () => {
    const store = newStore(2);
    run(store.planRegisterBatch(wordCount(1000)));
    run(store.planRegisterBatch(wordCount(2000)));
    const m = store.planRegisterBatch(wordCount(3000));
    expect(m.result).toEqual({ created: true, evicted: [{ jobId: JOB, batchTimeMs: 1000 }] });
    expect(m.writes.forget).toEqual([{ jobId: JOB, batchTimeMs: 1000 }]);
    m.commit();
    expect(() => store.getBatch(JOB, 1000)).toThrow(NotFoundError);
    expect(store.stats().batches).toBe(2);
    // A batch older than everything kept would be evicted at once: refused instead.
    expect(() => store.planRegisterBatch(wordCount(500))).toThrow(ResourceExhaustedError);
  });

  it('planEnforceBatchLimit trims jobs restored above the limit', () => {
    const bigger = newStore(10);
    const writes: StoreWrites[] = [];
    for (const t of [1000, 2000, 3000]) run(bigger.planRegisterBatch(wordCount(t)), writes);
    const smaller = newStore(2);
    for (const w of writes) smaller.restoreBatch(w.graphs[0]!, w.locations);
    expect(smaller.stats().batches).toBe(3);
    expect(run(smaller.planEnforceBatchLimit())).toEqual({ evicted: [{ jobId: JOB, batchTimeMs: 1000 }] });
    expect(smaller.stats().batches).toBe(2);
    expect(smaller.getBatch(JOB, 2000).locations).toEqual(bigger.getBatch(JOB, 2000).locations);
    expect(smaller.lostOnExecutor('e3').underReplicated).toHaveLength(2);
  });
});

describe('LineageStore lineage depth (stats().maxDepth)', () => {
  // A state chain: state@t reads its values (a source here) and state@t-1000.
  const STATE = 1;
  function stateBatch(t: number): RegisterBatchInput {
    return {
      jobId: JOB,
      batchTimeMs: t,
      datasets: [
        ds(t, SRC, 'queueStream(words)', 'SOURCE', []),
        ds(t, STATE, 'updateStateByKey', 'NARROW', t === 1000 ? [ref(t, SRC)] : [ref(t, SRC), ref(t - 1000, STATE)]),
      ],
      inputs: [loc('INPUT_BLOCK', ref(t, SRC), 0, `in-${t}-0`, ['e1']), loc('INPUT_BLOCK', ref(t, SRC), 1, `in-${t}-1`, ['e2'])],
    };
  }
  const checkpoint = (t: number, partition: number) => loc('CHECKPOINT', ref(t, STATE), partition, `${JOB}/${STATE}/${t}/${partition}`, ['checkpoint-store']);

  it('grows with a state chain across batches and is cut where every partition of a state is checkpointed', () => {
    const store = newStore();
    for (const t of [1000, 2000, 3000, 4000, 5000]) run(store.planRegisterBatch(stateBatch(t)));
    expect(store.stats().maxDepth).toBe(5);
    // One partition checkpointed is not enough: the other still needs the whole chain.
    run(store.planRecordLocations([checkpoint(3000, 0)]));
    expect(store.stats().maxDepth).toBe(5);
    run(store.planRecordLocations([checkpoint(3000, 1)]));
    // state@1000: 1, @2000: 2, @3000: 0 (checkpointed), @4000: 1, @5000: 2.
    expect(store.stats().maxDepth).toBe(2);
    run(store.planForgetBatches(JOB, 3000));
    expect(store.stats().maxDepth).toBe(2);
    for (const t of [6000, 7000]) run(store.planRegisterBatch(stateBatch(t)));
    expect(store.stats().maxDepth).toBe(4);
    run(store.planRecordLocations([checkpoint(6000, 0), checkpoint(6000, 1)]));
    expect(store.stats().maxDepth).toBe(2);
  });

  it('PlanRebuild of a lost state walks back through dropped states to the checkpoint, reading the kept values', () => {
    const store = newStore();
    for (const t of [1000, 2000, 3000, 4000]) run(store.planRegisterBatch(stateBatch(t)));
    const cached = (t: number, p: number, executorIds: string[]) => loc('PARTITION', ref(t, STATE), p, `rdd/${t}/${p}`, executorIds);
    run(store.planRecordLocations([checkpoint(1000, 0), checkpoint(1000, 1), cached(2000, 0, ['e1']), cached(3000, 0, ['e1']), cached(4000, 0, ['e1', 'e2'])]));
    // The states of 2000 and 3000 were dropped on purpose (the next batch was done with them).
    const writes: StoreWrites[] = [];
    expect(run(store.planDropLocations([cached(2000, 0, []), cached(3000, 0, []), cached(9000, 0, [])]), writes)).toEqual({ dropped: 2 });
    expect(writes[0]!.locations.map((l) => l.batchTimeMs)).toEqual([2000, 3000]);
    // One task: the narrow chain 2000 → 3000 is pipelined, starting from the
    // checkpoint of 1000 and reading the values (here input blocks) of 2000 and 3000.
    expect(store.planRebuild([{ dataset: ref(3000, STATE), partition: 0 }])).toEqual({
      tasks: [
        {
          ...task(3000, STATE, 0, 0),
          reads: [
            { dataset: ref(1000, STATE), partition: 0 },
            { dataset: ref(2000, SRC), partition: 0 },
            { dataset: ref(3000, SRC), partition: 0 },
          ],
        },
      ],
      unrecoverable: [],
    });
    // A live copy stops the walk: nothing to do for 4000.
    expect(store.planRebuild([{ dataset: ref(4000, STATE), partition: 0 }]).tasks).toEqual([]);
    // With the values of 2000 gone everywhere (e1 held its input block), state 3000 cannot be replayed.
    run(store.planRemoveExecutor('e1'));
    const lost = store.planRebuild([{ dataset: ref(3000, STATE), partition: 0 }]);
    expect(lost.tasks).toEqual([]);
    expect(lost.unrecoverable).toHaveLength(3);
    expect(lost.unrecoverable).toEqual(
      expect.arrayContaining([
        { dataset: ref(2000, SRC), partition: 0 },
        { dataset: ref(3000, SRC), partition: 0 },
        { dataset: ref(3000, STATE), partition: 0 },
      ]),
    );
  });
});
