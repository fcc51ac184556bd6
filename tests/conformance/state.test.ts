/**
 * Conformance of the stateful operators, updateStateByKey and mapWithState,
 * with Spark Streaming, batch by batch, through runBatches on a real cluster
 * shared by the file (batch interval 1s, so batch i is at i s; 2 input
 * partitions unless said otherwise, as Spark's TestInputStream in
 * BasicOperationsSuite and MapWithStateSuite).
 *
 * Expected values are Spark's (the test each case comes from is named);
 * Spark compares these outputs as sets, so records are compared sorted.
 * One deliberate difference: Spark only looks for timed-out mapWithState keys
 * on checkpoint batches (every 10 batches by default); Rivulet looks every
 * batch, so a key last touched at t times out in the first batch T with
 * T - timeout > t.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type RunBatchesResult, type TestCluster } from '../../lib/testing/index.js';
import { BATCH, jobPath, perBatch, sorted, sortedPerBatch } from './helpers.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

/** [batch number, records (sorted)] for every batch in which the output ran. */
function entries(out: RunBatchesResult, name: string): Array<[number, unknown[]]> {
  const list = out[name];
  if (!list) throw new Error(`no output ${name} in ${Object.keys(out).join(', ')}`);
  return list.map((b) => [b.batchTime / BATCH, sorted(b.records)]);
}

/** Expected per-batch records, sorted, padded to `n` batches by repeating `pad` (default: the last). */
function expected(outputs: unknown[][], n: number, pad?: unknown[]): unknown[][] {
  const last = pad ?? outputs[outputs.length - 1]!;
  return Array.from({ length: n }, (_, i) => sorted(i < outputs.length ? outputs[i]! : last));
}

/** Glommed output: per batch, the partitions (each sorted). */
function partitions(out: RunBatchesResult, name: string, n: number): unknown[][][] {
  return perBatch<unknown[][]>(out, name, n).map((parts) => parts.map(sorted));
}

/** A key is in the same partition in every batch (the state is partitioned by key). */
function expectStablePartitions(glommed: unknown[][][]): void {
  const where = new Map<string, number>();
  for (const parts of glommed) {
    parts.forEach((part, p) => {
      for (const rec of part) {
        const key = JSON.stringify((rec as [unknown, unknown])[0]);
        expect(where.get(key) ?? p, `partition of key ${key}`).toBe(p);
        where.set(key, p);
      }
    });
  }
}

describe('updateStateByKey', () => {
  const batches = 6;
  // Spark BasicOperationsSuite "updateStateByKey" input (also "... with initial value RDD").
  const words = [['a'], ['a', 'b'], ['a', 'b', 'c'], ['a', 'b'], ['a'], []];
  // Spark "updateStateByKey".
  const runningOutput = [
    [['a', 1]],
    [['a', 2], ['b', 1]],
    [['a', 3], ['b', 2], ['c', 1]],
    [['a', 4], ['b', 3], ['c', 1]],
    [['a', 5], ['b', 3], ['c', 1]],
    [['a', 5], ['b', 3], ['c', 1]],
  ];
  // Spark "updateStateByKey - simple with initial value RDD" and "updateStateByKey - with initial value RDD".
  const withInitialOutput = [
    [['a', 2], ['c', 2]],
    [['a', 3], ['b', 1], ['c', 2]],
    [['a', 4], ['b', 2], ['c', 3]],
    [['a', 5], ['b', 3], ['c', 3]],
    [['a', 6], ['b', 3], ['c', 3]],
    [['a', 6], ['b', 3], ['c', 3]],
  ];
  // Spark "updateStateByKey - object lifecycle": null = the input stream generates no RDD that batch.
  const lifecycle = [['a', 'b'], null, ['a', 'c', 'a'], ['c'], null, null];
  const lifecycleOutput = [
    [['a', 1], ['b', 1]],
    [['a', 1], ['b', 1]],
    [['a', 3], ['c', 1]],
    [['a', 3], ['c', 2]],
    [['c', 2]],
    [],
  ];

  let out: RunBatchesResult;
  beforeAll(async () => {
    out = await cluster.runBatches({
      job: jobPath('state-update'),
      batches,
      inputs: {
        words,
        lifecycle,
        sparse: [null, [], ['a'], null, ['a', 'b']],
        probe: [[['k', 1], ['j', 2], ['k', 3]], [], null, [['j', 4], ['k', 5], ['k', 6]]],
        removal: [[['a', 1], ['b', 2]], [['a', 2]], [['a', 1]], [['b', 5]], []],
        falsy: [[['z', 0], ['e', ''], ['f', false]], [], [['e', 0]]],
        tuples: [[[['x', 1], 1], [['x', 2], 10], [['x', 1], 100], ['1', 5], [1, 7]], [[['x', 1], 1000], [1, 1]], []],
      },
    });
  }, 120_000);

  it('running count (Spark "updateStateByKey"): keys without new values keep their state', () => {
    expect(sortedPerBatch(out, 'running', batches)).toEqual(expected(runningOutput, batches));
  });

  it('initial state is combined with the first batch (Spark "updateStateByKey - [simple] with initial value RDD")', () => {
    expect(sortedPerBatch(out, 'withInitial', batches)).toEqual(expected(withInitialOutput, batches));
    expect(sortedPerBatch(out, 'withInitial2', batches)).toEqual(expected(withInitialOutput, batches));
  });

  it('object state, removal, null batches mapping the state with [] (Spark "updateStateByKey - object lifecycle")', () => {
    expect(sortedPerBatch(out, 'lifecycle', batches)).toEqual(expected(lifecycleOutput, batches));
    expect(sortedPerBatch(out, 'lifecycleObjects', batches)).toEqual(
      expected(
        [
          [['a', { counter: 1, expireCounter: 0 }], ['b', { counter: 1, expireCounter: 0 }]],
          [['a', { counter: 1, expireCounter: 1 }], ['b', { counter: 1, expireCounter: 1 }]],
          [['a', { counter: 3, expireCounter: 0 }], ['c', { counter: 1, expireCounter: 0 }]],
          [['a', { counter: 3, expireCounter: 1 }], ['c', { counter: 2, expireCounter: 0 }]],
          [['c', { counter: 2, expireCounter: 1 }]],
          [],
        ],
        batches,
      ),
    );
  });

  it('a null first batch generates nothing (the output does not run); an empty one generates an empty state', () => {
    // Spark StateDStream.compute: no previous state and no parent RDD -> None.
    expect(entries(out, 'sparse')).toEqual([
      [2, []],
      [3, [['a', 1]]],
      [4, [['a', 1]]],
      [5, sorted([['a', 2], ['b', 1]])],
      [6, sorted([['a', 2], ['b', 1]])],
    ]);
  });

  it('with an initial state, a null first batch still generates nothing; the initial state joins the first dataset', () => {
    // Spark StateDStream.compute: previous state None and parent None -> None, whatever the initial RDD;
    // the initial RDD is only used (computeUsingPreviousRDD) once the parent generates an RDD.
    expect(entries(out, 'sparseInit')).toEqual([
      [2, [['z', 10]]],
      [3, sorted([['a', 1], ['z', 10]])],
      [4, sorted([['a', 1], ['z', 10]])],
      [5, sorted([['a', 2], ['b', 1], ['z', 10]])],
      [6, sorted([['a', 2], ['b', 1], ['z', 10]])],
    ]);
  });

  it('the update function gets undefined for a new key, and every batch the values of the batch in record order ([] for none, also in a null batch)', () => {
    const probe = (calls: number, seen: number[][]) => ({ calls, seen, createdFrom: 'undefined' });
    expect(sortedPerBatch(out, 'probe', batches)).toEqual(
      [
        [['j', probe(1, [[2]])], ['k', probe(1, [[1, 3]])]],
        [['j', probe(2, [[2], []])], ['k', probe(2, [[1, 3], []])]],
        [['j', probe(3, [[2], [], []])], ['k', probe(3, [[1, 3], [], []])]],
        [['j', probe(4, [[2], [], [], [4]])], ['k', probe(4, [[1, 3], [], [], [5, 6]])]],
        [['j', probe(5, [[2], [], [], [4], []])], ['k', probe(5, [[1, 3], [], [], [5, 6], []])]],
        [['j', probe(6, [[2], [], [], [4], [], []])], ['k', probe(6, [[1, 3], [], [], [5, 6], [], []])]],
      ].map(sorted),
    );
  });

  it('returning null or undefined removes the key (Spark None); it comes back from undefined', () => {
    const removal = [
      [['a', 1], ['b', 2]],
      [['b', 2]], // a reached 3: removed
      [['a', 1], ['b', 2]], // a starts again
      [['a', 1]], // b reached 7: removed
      [['a', 1]],
      [['a', 1]],
    ];
    expect(sortedPerBatch(out, 'removeNull', batches)).toEqual(expected(removal, batches));
    expect(sortedPerBatch(out, 'removeUndefined', batches)).toEqual(expected(removal, batches));
  });

  it('falsy states (0, "", false) are kept', () => {
    const first = [['e', ''], ['f', false], ['z', 0]];
    const later = [['e', 0], ['f', false], ['z', 0]];
    expect(sortedPerBatch(out, 'falsy', batches)).toEqual(expected([first, first, later], batches));
  });

  it('tuple keys compare structurally across partitions and batches; 1 and "1" are different keys', () => {
    const b1 = [[['x', 1], 101], [['x', 2], 10], ['1', 5], [1, 7]];
    const b2 = [[['x', 1], 1101], [['x', 2], 10], ['1', 5], [1, 8]];
    expect(sortedPerBatch(out, 'tuples', batches)).toEqual(expected([b1, b2], batches));
  });

  it('numPartitions fixes the state partitions (1 or 3); the default is that of reduceByKey; a key stays in its partition', () => {
    const glom1 = partitions(out, 'glom1', batches);
    expect(glom1.map((parts) => parts.length)).toEqual(Array(batches).fill(1));
    expect(glom1.map((parts) => parts[0])).toEqual(expected(runningOutput, batches));

    const glom3 = partitions(out, 'glom3', batches);
    expect(glom3.map((parts) => parts.length)).toEqual(Array(batches).fill(3));
    expect(glom3.map((parts) => sorted(parts.flat()))).toEqual(expected(runningOutput, batches));
    expectStablePartitions(glom3);

    const glomDefault = partitions(out, 'glomDefault', batches);
    const reduceDefault = partitions(out, 'reduceGlomDefault', batches);
    expect(glomDefault.map((parts) => parts.length)).toEqual(reduceDefault.map((parts) => parts.length));
    expect(glomDefault.map((parts) => sorted(parts.flat()))).toEqual(expected(runningOutput, batches));
    expectStablePartitions(glomDefault);
  });
});

describe('mapWithState', () => {
  const batches = 10;
  // Spark MapWithStateSuite input of the "basic operations", "states as mapped data" and "initial states" tests.
  const words = [[], ['a'], ['a', 'b'], ['a', 'b', 'c'], ['a', 'b'], ['a'], []];
  // Spark "basic operations with simple API", "... advanced API", "states as mapped data".
  const runningState = [
    [],
    [['a', 1]],
    [['a', 2], ['b', 1]],
    [['a', 3], ['b', 2], ['c', 1]],
    [['a', 4], ['b', 3], ['c', 1]],
    [['a', 5], ['b', 3], ['c', 1]],
    [['a', 5], ['b', 3], ['c', 1]],
  ];
  const asMappedOutput = [
    [],
    [['a', 1]],
    [['a', 2], ['b', 1]],
    [['a', 3], ['b', 2], ['c', 1]],
    [['a', 4], ['b', 3]],
    [['a', 5]],
    [],
  ];
  // Spark "state removing".
  const removing = [[], ['a'], ['a', 'b'], ['a', 'b', 'c'], ['a', 'b', 'c'], ['a', 'b'], ['a'], []];
  // Spark "state timing out".
  const timeout = [['a', 'b', 'c'], ['a', 'b'], ['a'], [], [], ['a'], ...Array.from({ length: 20 }, () => ['a'])];

  let out: RunBatchesResult;
  beforeAll(async () => {
    out = await cluster.runBatches({
      job: jobPath('state-map'),
      batches,
      inputs: {
        words,
        removing,
        timeout,
        probe: [[['k', 1]], [['k', 2], ['k', 3]], [], [], [], [['k', 10]]],
        dups: [[['x', 1], ['x', 2], ['y', 5], ['x', 3]], [['x', 10]], null, [['y', 1]]],
        late: [null, [], [['q', 1]], null],
        tuples: [[[['x', 1], 1], [['x', 2], 10], [['x', 1], 100]], [[['x', 1], 1000]]],
      },
    });
  }, 120_000);

  it('running count, returning the count (Spark "basic operations with simple API")', () => {
    expect(sortedPerBatch(out, 'simple', batches)).toEqual(expected([[], [1], [2, 1], [3, 2, 1], [4, 3], [5], []], batches, []));
    expect(sortedPerBatch(out, 'simpleState', batches)).toEqual(expected(runningState, batches));
  });

  it('Spark\'s full form (batchTime, key, value, state) gets the batch time first', () => {
    const withTime = asMappedOutput.map((batch, i) => (batch as Array<[string, number]>).map(([k, n]) => [k, (i + 1) * 1000, n]));
    expect(sortedPerBatch(out, 'withTime', batches)).toEqual(expected(withTime, batches, []));
  });

  it('returning the key doubled (Spark "basic operations with advanced API")', () => {
    expect(sortedPerBatch(out, 'advanced', batches)).toEqual(
      expected([[], ['aa'], ['aa', 'bb'], ['aa', 'bb', 'cc'], ['aa', 'bb'], ['aa'], []], batches, []),
    );
    expect(sortedPerBatch(out, 'advancedState', batches)).toEqual(expected(runningState, batches));
  });

  it('returning [key, state] (Spark "states as mapped data")', () => {
    expect(sortedPerBatch(out, 'asMapped', batches)).toEqual(expected(asMappedOutput, batches, []));
    expect(sortedPerBatch(out, 'asMappedState', batches)).toEqual(expected(runningState, batches));
  });

  it('initial states, nothing returned (Spark "initial states, with nothing returned as from mapping function")', () => {
    expect(sortedPerBatch(out, 'initialNothing', batches)).toEqual(expected([], batches, []));
    expect(sortedPerBatch(out, 'initialNothingState', batches)).toEqual(
      expected(
        [
          [['a', 5], ['b', 10], ['c', -20], ['d', 0]],
          [['a', 6], ['b', 10], ['c', -20], ['d', 0]],
          [['a', 7], ['b', 11], ['c', -20], ['d', 0]],
          [['a', 8], ['b', 12], ['c', -19], ['d', 0]],
          [['a', 9], ['b', 13], ['c', -19], ['d', 0]],
          [['a', 10], ['b', 13], ['c', -19], ['d', 0]],
          [['a', 10], ['b', 13], ['c', -19], ['d', 0]],
        ],
        batches,
      ),
    );
  });

  it('returning null emits null; only undefined emits nothing', () => {
    expect(perBatch(out, 'emitNull', batches)).toEqual(expected([[], [null], [null], [null], [null], [null], []], batches, []));
  });

  it('state removing (Spark "state removing", numPartitions 1)', () => {
    expect(sortedPerBatch(out, 'removing', batches)).toEqual(expected([[], [], ['a'], ['b'], ['a', 'c'], ['b'], ['a'], []], batches, []));
    expect(sortedPerBatch(out, 'removingState', batches)).toEqual(
      expected([[], [['a', 1]], [['b', 1]], [['a', 1], ['c', 1]], [['b', 1]], [['a', 1]], [], []], batches, []),
    );
  });

  it('state timing out (Spark "state timing out", timeout 3s), scanned every batch', () => {
    const outputs = perBatch<string>(out, 'timeout', batches);
    const snapshots = sortedPerBatch(out, 'timeoutState', batches);
    // Spark's assertions: b and c are returned once each; a, b, c all had state at one point; finally only a.
    expect(outputs.flat().sort()).toEqual(['b', 'c']);
    expect(snapshots.some((s) => JSON.stringify(s) === JSON.stringify(sorted([['a', 1], ['b', 1], ['c', 1]])))).toBe(true);
    expect(snapshots[batches - 1]).toEqual([['a', 1]]);
    // Rivulet scans every batch: c (last touched at 1 s) times out at 5 s (5 - 3 > 1), b (2 s) at 6 s;
    // a receives data from 6 s on.
    expect(outputs).toEqual([[], [], [], [], ['c'], ['b'], [], [], [], []]);
    const abc = sorted([['a', 1], ['b', 1], ['c', 1]]);
    expect(snapshots).toEqual([abc, abc, abc, abc, sorted([['a', 1], ['b', 1]]), [['a', 1]], [['a', 1]], [['a', 1]], [['a', 1]], [['a', 1]]]);
  });

  it('the State API: exists/get/getOption/isTimingOut; a timing-out call gets no value and update/remove throw; initial state times out from the first batch', () => {
    // Timeout 2s, initial state init=100 (Spark: initial states are stamped with the first batch's time).
    const call = (key: string, value: number | 'none', old: number | 'none') =>
      value === 'none'
        ? { key, value, exists: true, old, timingOut: true, get: old, updateThrows: true, removeThrows: true }
        : old === 'none'
          ? { key, value, exists: false, old, timingOut: false, getThrows: true }
          : { key, value, exists: true, old, timingOut: false };
    expect(sortedPerBatch(out, 'probe', batches)).toEqual(
      [
        [call('k', 1, 'none')],
        [call('k', 2, 1), call('k', 3, 3)], // two records of k, one call each, in record order
        [],
        [call('init', 'none', 100)], // init (stamped at 1 s) times out at 4 s: 4 - 2 > 1
        [call('k', 'none', 6)], // k (last touched at 2 s) times out at 5 s
        [call('k', 10, 'none')], // k starts again
        [],
        [],
        [call('k', 'none', 10)], // touched at 6 s, times out at 9 s
        [],
      ].map(sorted),
    );
    expect(sortedPerBatch(out, 'probeState', batches)).toEqual(
      [
        [['init', 100], ['k', 1]],
        [['init', 100], ['k', 6]],
        [['init', 100], ['k', 6]],
        [['k', 6]],
        [],
        [['k', 10]],
        [['k', 10]],
        [['k', 10]],
        [],
        [],
      ].map(sorted),
    );
  });

  it('the function runs once per record, in record order per key; null and empty batches still generate (Spark)', () => {
    // Batch 1 is cut into [x1, x2] and [y5, x3]: the running sums of x show the order 1, 2, 3.
    expect(sortedPerBatch(out, 'perRecord', batches)).toEqual(
      expected([[['x', 1], ['x', 3], ['y', 5], ['x', 6]], [['x', 16]], [], [['y', 6]]], batches, []),
    );
    expect(sortedPerBatch(out, 'perRecordState', batches)).toEqual(
      expected([[['x', 6], ['y', 5]], [['x', 16], ['y', 5]], [['x', 16], ['y', 5]], [['x', 16], ['y', 6]]], batches),
    );
  });

  it('null first batches still generate: the initial state is there from batch 1', () => {
    expect(sortedPerBatch(out, 'late', batches)).toEqual(expected([[], [], [['q', 1]]], batches, []));
    expect(sortedPerBatch(out, 'lateState', batches)).toEqual(expected([[['p', 7]], [['p', 7]], [['p', 7], ['q', 1]]], batches));
  });

  it('tuple keys and object states', () => {
    const x1 = (n: number, sum: number, seen: number[]) => [['x', 1], { n, sum, seen }];
    const x2 = [['x', 2], { n: 1, sum: 10, seen: [10] }];
    expect(sortedPerBatch(out, 'tuples', batches)).toEqual(
      expected([[x1(1, 1, [1]), x2, x1(2, 101, [1, 100])], [x1(3, 1101, [1, 100, 1000])]], batches, []),
    );
    expect(sortedPerBatch(out, 'tuplesState', batches)).toEqual(expected([[x1(2, 101, [1, 100]), x2], [x1(3, 1101, [1, 100, 1000]), x2]], batches));
  });

  it('numPartitions fixes the partitions of the mapped records and the snapshots; the default is that of reduceByKey', () => {
    for (const [name, n] of [['1', 1], ['3', 3]] as const) {
      const mapped = partitions(out, `mappedGlom${name}`, batches);
      const state = partitions(out, `stateGlom${name}`, batches);
      expect(mapped.map((parts) => parts.length)).toEqual(Array(batches).fill(n));
      expect(state.map((parts) => parts.length)).toEqual(Array(batches).fill(n));
      expect(mapped.map((parts) => sorted(parts.flat()))).toEqual(expected(asMappedOutput, batches, []));
      expect(state.map((parts) => sorted(parts.flat()))).toEqual(expected(runningState, batches));
      expectStablePartitions(state);
    }
    const state = partitions(out, 'stateGlomDefault', batches);
    expect(state.map((parts) => parts.length)).toEqual(partitions(out, 'reduceGlomDefault', batches).map((parts) => parts.length));
    expect(state.map((parts) => sorted(parts.flat()))).toEqual(expected(runningState, batches));
  });
});

describe('a longer run (30 batches, 3 input partitions) against a local model', () => {
  const batches = 30;
  // Deterministic words: a, b, c often, d..h rarely (so they go idle and time out); some null and empty batches.
  let seed = 12345;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const input: (string[] | null)[] = Array.from({ length: batches }, (_, i) => {
    if (i % 9 === 4) return null;
    if (i % 7 === 6) return [];
    return Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => (rnd() < 0.7 ? 'abc'[Math.floor(rnd() * 3)]! : 'defgh'[Math.floor(rnd() * 5)]!));
  });

  /** updateStateByKey's model: every batch (the first is not null) maps every key with state, with its new values. */
  function updateModel(fn: (n: number, state: number | undefined) => number | null): [string, number][][] {
    const state = new Map<string, number>();
    return input.map((batch) => {
      const counts = new Map<string, number>();
      for (const w of batch ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
      for (const k of new Set([...state.keys(), ...counts.keys()])) {
        const next = fn(counts.get(k) ?? 0, state.get(k));
        if (next === null) state.delete(k);
        else state.set(k, next);
      }
      return sorted([...state.entries()]);
    });
  }

  /** mapWithState's model: records in order, then keys idle since before t - 3 s time out (emitting -count). */
  function mapModel(): { mapped: [string, number][][]; snapshots: [string, number][][] } {
    const state = new Map<string, { n: number; at: number }>();
    const mapped: [string, number][][] = [];
    const snapshots: [string, number][][] = [];
    input.forEach((batch, i) => {
      const t = (i + 1) * BATCH;
      const emitted: [string, number][] = [];
      for (const w of batch ?? []) {
        const n = (state.get(w)?.n ?? 0) + 1;
        state.set(w, { n, at: t });
        emitted.push([w, n]);
      }
      for (const [k, s] of [...state]) {
        if (s.at < t - 3000) {
          emitted.push([k, -s.n]);
          state.delete(k);
        }
      }
      mapped.push(sorted(emitted));
      snapshots.push(sorted([...state].map(([k, s]): [string, number] => [k, s.n])));
    });
    return { mapped, snapshots };
  }

  let out: RunBatchesResult;
  beforeAll(async () => {
    expect(input[0]).not.toBeNull();
    out = await cluster.runBatches({ job: jobPath('state-long'), inputs: { words: input }, batches, partitions: 3 });
  }, 180_000);

  it('the inputs exercise nulls, empty batches, removals and timeouts', () => {
    expect(input.filter((b) => b === null).length).toBeGreaterThan(1);
    expect(mapModel().mapped.flat().some(([, n]) => n < 0)).toBe(true);
  });

  it('updateStateByKey running count', () => {
    expect(sortedPerBatch(out, 'count', batches)).toEqual(updateModel((n, s) => (s ?? 0) + n));
  });

  it('updateStateByKey removing a key (null) once it reaches 5, numPartitions 3', () => {
    expect(sortedPerBatch(out, 'capped', batches)).toEqual(
      updateModel((n, s) => {
        const c = (s ?? 0) + n;
        return c >= 5 ? null : c;
      }),
    );
  });

  it('mapWithState running count with a 3s timeout', () => {
    const model = mapModel();
    expect(sortedPerBatch(out, 'mapped', batches)).toEqual(model.mapped);
    expect(sortedPerBatch(out, 'snapshots', batches)).toEqual(model.snapshots);
  });
});

describe('a throwing state function fails the batch with a clear error naming the operator', () => {
  it('updateStateByKey', async () => {
    await expect(
      cluster.runBatches({ job: jobPath('state-throws'), inputs: { u: [[['a', 1]], [['a', 13]]] }, batches: 2 }),
    ).rejects.toThrow(/batch 2 \(time 2000\) failed: .*updateStateByKey \(node \d+\) threw RangeError: unlucky update/);
  });

  it('mapWithState', async () => {
    await expect(
      cluster.runBatches({ job: jobPath('state-throws'), inputs: { m: [[['a', 1]], [['a', 13]]] }, batches: 2 }),
    ).rejects.toThrow(/batch 2 \(time 2000\) failed: .*mapWithState \(node \d+\) threw RangeError: unlucky mapping/);
  });
});
