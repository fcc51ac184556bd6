/**
 * Conformance of the stateless D-Stream operators with Spark Streaming,
 * batch by batch, through rivulet/testing's runBatches on a real cluster
 * (lineage, scheduler, executors, nats-server as processes) shared by the file.
 * Expected values are what Spark 3.x gives for the same input with the same
 * number of input partitions (contiguous slices, as TestSuiteBase).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../lib/testing/index.js';
import { countValues, groupPairs, jobPath, perBatch, slices, sorted, sortedPerBatch } from './helpers.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

describe('record and batch operators', () => {
  // batch 1: 6 records; 2: one; 3: empty list (2 empty partitions); 4: past the end of the list (empty too)
  const nums: number[][] = [[1, 2, 3, 4, 5, 6], [7], []];
  const batches = 4;
  let out: Awaited<ReturnType<TestCluster['runBatches']>>;
  beforeAll(async () => {
    out = await cluster.runBatches({ job: jobPath('basic'), inputs: { nums }, batches });
  });

  it('every output runs in every batch, empty ones included', () => {
    for (const name of Object.keys(out)) expect(out[name]!.map((b) => b.batchTime)).toEqual([1000, 2000, 3000, 4000]);
  });

  it('map, flatMap, filter keep partition order', () => {
    expect(perBatch(out, 'map', batches)).toEqual([[2, 4, 6, 8, 10, 12], [14], [], []]);
    expect(perBatch(out, 'flatMap', batches)).toEqual([[1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60], [7, 70], [], []]);
    expect(perBatch(out, 'filter', batches)).toEqual([[2, 4, 6], [], [], []]);
  });

  it('mapPartitions sees each partition whole; glom gives one array per partition', () => {
    expect(perBatch(out, 'mapPartitions', batches)).toEqual([[6, 15], [0, 7], [0, 0], [0, 0]]);
    expect(perBatch(out, 'glom', batches)).toEqual([...nums, []].map((b) => slices(b, 2)));
    expect(perBatch(out, 'glom', batches)[0]).toEqual([[1, 2, 3], [4, 5, 6]]);
  });

  it('count is [n] every batch, [0] for an empty one; reduce is empty for an empty batch', () => {
    expect(perBatch(out, 'count', batches)).toEqual([[6], [1], [0], [0]]);
    expect(perBatch(out, 'reduce', batches)).toEqual([[21], [7], [], []]);
  });

  it('countByValue gives [value, count]', () => {
    expect(sortedPerBatch(out, 'countByValue', batches)).toEqual(
      [...nums, []].map((b) => sorted(countValues(b.map((x) => x % 3)))),
    );
  });

  it('repartition(n) shuffles into n partitions holding every record once', () => {
    const parts = perBatch<number[]>(out, 'repartition', batches);
    for (let i = 0; i < batches; i++) {
      expect(parts[i]).toHaveLength(3);
      expect(parts[i]!.flat().sort((a, b) => a - b)).toEqual(nums[i] ?? []);
    }
    expect(parts[0]!.map((p) => p.length).sort()).toEqual([2, 2, 2]);
    expect(perBatch(out, 'repartitionCount', batches)).toEqual([[6], [1], [0], [0]]);
  });
});

describe('pair operators', () => {
  const pairs: ([string, number][] | null)[] = [[['a', 1], ['b', 2], ['a', 3], ['c', 4], ['b', 5]], [], [['z', 1]]];
  const tuples: ([[string, number], number][] | null)[] = [[[['x', 1], 10], [['x', 2], 20], [['x', 1], 30]], [[['y', 0], 1]], []];
  const batches = 3;
  let out: Awaited<ReturnType<TestCluster['runBatches']>>;
  beforeAll(async () => {
    out = await cluster.runBatches({ job: jobPath('pairs'), inputs: { pairs, tuples }, batches, partitions: 3 });
  });

  it('mapValues and flatMapValues keep keys and order', () => {
    expect(perBatch(out, 'mapValues', batches)).toEqual(pairs.map((b) => (b ?? []).map(([k, v]) => [k, v + 1])));
    expect(perBatch(out, 'flatMapValues', batches)).toEqual(
      pairs.map((b) => (b ?? []).flatMap(([k, v]) => (v > 1 ? [[k, v], [k, -v]] : []))),
    );
  });

  it('groupByKey gives [key, values[]] with values in input order', () => {
    expect(sortedPerBatch(out, 'groupByKey', batches)).toEqual(pairs.map((b) => sorted(groupPairs(b ?? []))));
  });

  it('reduceByKey (default and one partition) and combineByKey', () => {
    const sums = pairs.map((b) => sorted(groupPairs(b ?? []).map(([k, vs]) => [k, vs.reduce((x, y) => x + y, 0)])));
    expect(sortedPerBatch(out, 'reduceByKey', batches)).toEqual(sums);
    expect(sortedPerBatch(out, 'reduceByKey1', batches)).toEqual(sums);
    expect(sortedPerBatch(out, 'combineByKey', batches)).toEqual(
      pairs.map((b) => sorted(groupPairs(b ?? []).map(([k, vs]) => [k, vs.reduce((x, y) => x + y, 0) / vs.length]))),
    );
  });

  it('tuple keys compare structurally across partitions', () => {
    expect(sortedPerBatch(out, 'tupleKeys', batches)).toEqual([
      [[['x', 1], 40], [['x', 2], 20]],
      [[['y', 0], 1]],
      [],
    ]);
    expect(sortedPerBatch(out, 'tupleCountByValue', batches)).toEqual([
      [[['x', 1], 2], [['x', 2], 1]],
      [[['y', 0], 1]],
      [],
    ]);
  });
});

describe('joins and cogroup', () => {
  const left: ([string, number][] | null)[] = [
    [['k1', 1], ['k2', 2], ['k1', 3], ['l', 4]],
    [['only-left', 1]],
    [],
    [],
  ];
  const right: ([string, string][] | null)[] = [
    [['k1', 'a'], ['r', 'b'], ['k2', 'c'], ['k1', 'd']],
    [],
    [['only-right', 'x']],
    [],
  ];
  const batches = 4;
  let out: Awaited<ReturnType<TestCluster['runBatches']>>;
  beforeAll(async () => {
    out = await cluster.runBatches({ job: jobPath('joins'), inputs: { left, right }, batches });
  });

  it('join pairs the values of a key present on both sides in the same batch', () => {
    expect(sortedPerBatch(out, 'join', batches)).toEqual([
      sorted([['k1', [1, 'a']], ['k1', [1, 'd']], ['k1', [3, 'a']], ['k1', [3, 'd']], ['k2', [2, 'c']]]),
      [],
      [],
      [],
    ]);
  });

  it('outer joins use null for the missing side', () => {
    const inner = sortedPerBatch(out, 'join', batches)[0]!;
    expect(sortedPerBatch(out, 'leftOuterJoin', batches)).toEqual([sorted([...inner, ['l', [4, null]]]), [['only-left', [1, null]]], [], []]);
    expect(sortedPerBatch(out, 'rightOuterJoin', batches)).toEqual([sorted([...inner, ['r', [null, 'b']]]), [], [['only-right', [null, 'x']]], []]);
    expect(sortedPerBatch(out, 'fullOuterJoin', batches)).toEqual([
      sorted([...inner, ['l', [4, null]], ['r', [null, 'b']]]),
      [['only-left', [1, null]]],
      [['only-right', [null, 'x']]],
      [],
    ]);
  });

  it('cogroup gives [key, [valuesOfThis[], valuesOfOther[]]]', () => {
    expect(sortedPerBatch(out, 'cogroup', batches)).toEqual([
      sorted([
        ['k1', [[1, 3], ['a', 'd']]],
        ['k2', [[2], ['c']]],
        ['l', [[4], []]],
        ['r', [[], ['b']]],
      ]),
      [['only-left', [[1], []]]],
      [['only-right', [[], ['x']]]],
      [],
    ]);
  });

  it('a self-join pairs every two values of a key', () => {
    expect(sortedPerBatch(out, 'selfJoin', batches)[0]).toEqual(
      sorted([['k1', [1, 1]], ['k1', [1, 3]], ['k1', [3, 1]], ['k1', [3, 3]], ['k2', [2, 2]], ['l', [4, 4]]]),
    );
  });
});

describe('union', () => {
  const a = [['a1', 'a2'], [], ['a3']];
  const b = [['b1'], ['b2', 'b3'], []];
  const c = [['c1', 'c2', 'c3']];
  const batches = 3;
  let out: Awaited<ReturnType<TestCluster['runBatches']>>;
  beforeAll(async () => {
    out = await cluster.runBatches({ job: jobPath('unions'), inputs: { a, b, c }, batches });
  });

  it('concatenates the partitions of 2 and 3 streams in order', () => {
    expect(perBatch(out, 'ab', batches)).toEqual([['a1', 'a2', 'b1'], ['b2', 'b3'], ['a3']]);
    expect(perBatch(out, 'abcGlom', batches)).toEqual([0, 1, 2].map((i) => [...slices(a[i]!, 2), ...slices(b[i]!, 2), ...slices(c[i] ?? [], 2)]));
    expect(perBatch(out, 'count', batches)).toEqual([[6], [2], [1]]);
  });

  it('a stream unioned with itself appears twice; a shuffle after a union sees all sides', () => {
    expect(perBatch(out, 'self', batches)).toEqual([['a1', 'a2', 'a1', 'a2'], [], ['a3', 'a3']]);
    expect(sortedPerBatch(out, 'unionReduce', batches)).toEqual([
      [['B1', 1], ['a1', 1], ['a2', 1]],
      [['B2', 1], ['B3', 1]],
      [['a3', 1]],
    ]);
  });
});

describe('transform, transformWith and ctx.transform', () => {
  it('run their dataset functions as part of the distributed job, every batch', async () => {
    const words = [['ab', 'b', 'ab'], [], []];
    const other = [['ab', 'zz'], ['b'], []];
    const out = await cluster.runBatches({ job: jobPath('transforms'), inputs: { words, other }, batches: 3 });
    expect(sortedPerBatch(out, 'transform', 3)).toEqual([[['ab', 2], ['b', 1]], [], []]);
    expect(sortedPerBatch(out, 'transformWith', 3)).toEqual([[['ab', [2, true]], ['ab', [2, true]]], [], []]);
    expect(perBatch(out, 'transformCount', 3)).toEqual([[2], [0], [0]]);
    expect(sortedPerBatch(out, 'transformMany', 3)).toEqual([[['ab', 102], ['b', 1], ['len1', 1], ['len2', 2], ['zz', 100]], [['b', 100]], []]);
  });
});

describe('foreachBatch', () => {
  const file = join(tmpdir(), 'rivulet-conformance-foreach.jsonl');

  it('runs on the scheduler every batch, empty ones included, with the batch records; not when the stream generated nothing', async () => {
    rmSync(file, { force: true });
    const out = await cluster.runBatches({ job: jobPath('foreach'), inputs: { xs: [[1, 2, 3], [], null, [4]] }, batches: 4 });
    expect(Object.keys(out)).toEqual(['same']);
    expect(out.same!.map((b) => b.batchTime)).toEqual([1000, 2000, 4000]);
    expect(existsSync(file)).toBe(true);
    const calls = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(calls).toEqual([
      { batchTimeMs: 1000, records: [2, 3, 4] },
      { batchTimeMs: 2000, records: [] },
      { batchTimeMs: 4000, records: [5] },
    ]);
    rmSync(file, { force: true });
  });

  it('a throwing function fails the batch with a clear message', async () => {
    await expect(cluster.runBatches({ job: jobPath('foreach-throws'), inputs: { xs: [[1], [12, 13]] }, batches: 2 })).rejects.toThrow(
      /batch 2 \(time 2000\) failed: .*foreachBatch function \(node \d+\) threw RangeError: unlucky batch/,
    );
  });
});

describe('runBatches input handling', () => {
  it('refuses input for a stream the job does not read', async () => {
    await expect(cluster.runBatches({ job: jobPath('basic'), inputs: { nope: [[1]] }, batches: 1 })).rejects.toThrow(
      /has no queue stream "nope"; its queue streams are: nums/,
    );
  });

  it('batches past the end of the input list have no data', async () => {
    const out = await cluster.runBatches({ job: jobPath('wordcount'), inputs: { lines: [['x y x']] }, batches: 2, partitions: 1 });
    expect(out.count).toEqual([
      { batchTime: 1000, records: [1] },
      { batchTime: 2000, records: [0] },
    ]);
    expect(sortedPerBatch(out, 'counts', 2)).toEqual([[['x', 2], ['y', 1]], []]);
  });
});

describe('null input: the stream generates no dataset that batch (Spark\'s None)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rivulet-conformance-jobs-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A one-output job over queue streams a and b, written to a temp file. */
  const job = (name: string, body: string) => {
    const path = join(dir, `${name}.ts`);
    writeFileSync(
      path,
      `import { defineJob } from 'rivulet';\n` +
        `export default defineJob((ctx) => { const a = ctx.queueStream<any>('a'); const b = ctx.queueStream<any>('b'); void b; ${body}; });\n`,
    );
    return path;
  };

  it('per-record operators and key shuffles generate none: their outputs do not run that batch', async () => {
    const path = job('none', `a.map((x) => x * 2).output('map'); a.glom().output('glom'); a.map((x) => [x % 2, x]).reduceByKey((x, y) => x + y).output('reduced'); a.reduce((x, y) => x + y).output('reduce'); a.countByValue().output('cbv')`);
    const out = await cluster.runBatches({ job: path, inputs: { a: [[1, 2, 3], null, [], null, [4]] }, batches: 5 });
    for (const name of ['map', 'glom', 'reduced', 'reduce', 'cbv']) expect(out[name]!.map((e) => e.batchTime)).toEqual([1000, 3000, 5000]);
    expect(out.map!.map((e) => e.records)).toEqual([[2, 4, 6], [], [8]]);
    expect(out.glom!.map((e) => e.records)).toEqual([[[1], [2, 3]], [[], []], [[], [4]]]);
    expect(out.reduce!.map((e) => e.records)).toEqual([[6], [], [4]]);
  });

  it('an output over another stream still runs', async () => {
    const path = job('other', `a.output('a'); b.count().output('b')`);
    const out = await cluster.runBatches({ job: path, inputs: { a: [null, [1]], b: [[1, 2], [3]] }, batches: 2 });
    expect(out.a).toEqual([{ batchTime: 2000, records: [1] }]);
    expect(out.b).toEqual([
      { batchTime: 1000, records: [2] },
      { batchTime: 2000, records: [1] },
    ]);
  });

  const strict: Array<[string, string]> = [
    ['union', `a.union(b).output('o')`],
    ['join', `a.map((x) => [x, 1]).join(b.map((x) => [x, 2])).output('o')`],
    ['count', `a.count().output('o')`],
    ['repartition', `a.repartition(2).output('o')`],
    ['transform', `a.transform((ds) => ds.map((x) => x)).output('o')`],
  ];
  for (const [op, body] of strict) {
    it(`${op} fails the batch when a parent generated none, as Spark does`, async () => {
      const path = job(`strict-${op}`, body);
      await expect(cluster.runBatches({ job: path, inputs: { a: [[1], null], b: [[1], [2]] }, batches: 2 })).rejects.toThrow(
        /batch 2 \(time 2000\) failed: .*generated none in this batch/,
      );
    });
  }
});
