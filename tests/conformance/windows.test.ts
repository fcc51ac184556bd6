/**
 * Conformance of the window operations with Spark Streaming's
 * WindowOperationsSuite, batch by batch, through runBatches on a real cluster
 * (batch interval 1s, so batch i is at i s; Spark's zeroTime is 0). A window
 * sliding by s emits only at multiples of s: the other batches have no entry.
 * Records of shuffled outputs are compared sorted (their order is unspecified).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type RunBatchesResult, type TestCluster } from '../../lib/testing/index.js';
import { BATCH, jobPath, sorted } from './helpers.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

/** [batch number, records] for every batch in which the output ran. */
function entries(out: RunBatchesResult, name: string, sort = false): Array<[number, unknown[]]> {
  const list = out[name];
  if (!list) throw new Error(`no output ${name}`);
  return list.map((b) => [b.batchTime / BATCH, sort ? sorted(b.records) : b.records]);
}

/** Expected outputs of a window sliding every batch, from batch 1. */
function everyBatch(outputs: unknown[][], sort = false): Array<[number, unknown[]]> {
  return outputs.map((r, i) => [i + 1, sort ? sorted(r) : r]);
}

// Spark's WindowOperationsSuite inputs.
const bigInput: [string, number][][] = [
  [['a', 1]],
  [['a', 1], ['b', 1]],
  [['a', 1], ['b', 1], ['c', 1]],
  [['a', 1], ['b', 1]],
  [['a', 1]],
  [],
  [['a', 1]],
  [['a', 1], ['b', 1]],
  [['a', 1], ['b', 1], ['c', 1]],
  [['a', 1], ['b', 1]],
  [['a', 1]],
  [],
];
const bigReduceOutput = [
  [['a', 1]],
  [['a', 2], ['b', 1]],
  [['a', 2], ['b', 2], ['c', 1]],
  [['a', 2], ['b', 2], ['c', 1]],
  [['a', 2], ['b', 1]],
  [['a', 1]],
  [['a', 1]],
  [['a', 2], ['b', 1]],
  [['a', 2], ['b', 2], ['c', 1]],
  [['a', 2], ['b', 2], ['c', 1]],
  [['a', 2], ['b', 1]],
  [['a', 1]],
];
// With an inverse function and no filter, keys stay at their neutral value.
const bigReduceInvOutput = [
  [['a', 1]],
  [['a', 2], ['b', 1]],
  [['a', 2], ['b', 2], ['c', 1]],
  [['a', 2], ['b', 2], ['c', 1]],
  [['a', 2], ['b', 1], ['c', 0]],
  [['a', 1], ['b', 0], ['c', 0]],
  [['a', 1], ['b', 0], ['c', 0]],
  [['a', 2], ['b', 1], ['c', 0]],
  [['a', 2], ['b', 2], ['c', 1]],
  [['a', 2], ['b', 2], ['c', 1]],
  [['a', 2], ['b', 1], ['c', 0]],
  [['a', 1], ['b', 0], ['c', 0]],
];
const bigGroupByOutput = bigReduceOutput.map((b) => b.map(([k, n]) => [k, Array.from({ length: n as number }, () => 1)]));
const largerSlideInput: [string, number][][] = [[['a', 1]], [['a', 2]], [['a', 3]], [['a', 4]], [['a', 5]], [['a', 6]], [], []];
const largerSlideReduceOutput: Array<[number, unknown[]]> = [
  [2, [['a', 3]]],
  [4, [['a', 10]]],
  [6, [['a', 18]]],
  [8, [['a', 11]]],
];

describe('window operations (Spark WindowOperationsSuite)', () => {
  const batches = 12;
  let out: RunBatchesResult;
  beforeAll(async () => {
    out = await cluster.runBatches({
      job: jobPath('windows'),
      batches,
      inputs: {
        nums: [[0], [1], [2], [3], [4], [5]],
        counts: [[1], [1], [1, 2], [0], [], []],
        words: [['a'], ['b', 'b'], ['a', 'b']],
        pairs: bigInput,
        slide: largerSlideInput,
        sparse: [[1], null, [3], [], null],
      },
    });
  }, 120_000);

  it('window with the batch interval as slide: the last 2 batches, every batch', () => {
    expect(entries(out, 'window').slice(0, 6)).toEqual(everyBatch([[0], [0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]));
    expect(entries(out, 'window').slice(6)).toEqual([[7, [5]], [8, []], [9, []], [10, []], [11, []], [12, []]]);
  });

  it('tumbling, larger and non-overlapping windows emit only every slide', () => {
    expect(entries(out, 'tumbling').slice(0, 3)).toEqual([[2, [0, 1]], [4, [2, 3]], [6, [4, 5]]]);
    expect(entries(out, 'larger').slice(0, 4)).toEqual([[2, [0, 1]], [4, [0, 1, 2, 3]], [6, [2, 3, 4, 5]], [8, [4, 5]]]);
    expect(entries(out, 'nonOverlapping').slice(0, 2)).toEqual([[3, [1, 2]], [6, [4, 5]]]);
    // A 3-batch window sliding by 2: at 2 it holds batches 1-2 (batch 0 is before the zero time).
    expect(entries(out, 'window3slide2').slice(0, 4)).toEqual([[2, [0, 1]], [4, [1, 2, 3]], [6, [3, 4, 5]], [8, [5]]]);
    expect(entries(out, 'tumbling').map(([b]) => b)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(entries(out, 'nonOverlapping').map(([b]) => b)).toEqual([3, 6, 9, 12]);
  });

  it('count over a window is [n] every batch, [0] once the window is empty', () => {
    expect(entries(out, 'windowCount').slice(0, 8)).toEqual(everyBatch([[1], [2], [2], [2], [2], [2], [1], [0]]));
  });

  it('countByWindow keeps the count at 0 once the window empties (inverse reduce)', () => {
    expect(entries(out, 'countByWindow').slice(0, 6)).toEqual(everyBatch([[1], [2], [3], [3], [1], [0]]));
  });

  it('reduceByWindow: without an inverse an empty window gives nothing; with one it keeps the neutral value', () => {
    expect(entries(out, 'reduceByWindow').slice(0, 7)).toEqual(everyBatch([[1], [2], [4], [3], [0], [], []]));
    expect(entries(out, 'reduceByWindowInv').slice(0, 7)).toEqual(everyBatch([[1], [2], [4], [3], [0], [0], [0]]));
  });

  it('countByValueAndWindow drops values whose count falls to 0', () => {
    expect(entries(out, 'countByValueAndWindow', true).slice(0, 5)).toEqual(
      everyBatch([[['a', 1]], [['a', 1], ['b', 2]], [['a', 1], ['b', 3]], [['a', 1], ['b', 1]], []], true),
    );
  });

  it('groupByKeyAndWindow', () => {
    expect(entries(out, 'groupByKeyAndWindow', true)).toEqual(everyBatch(bigGroupByOutput, true));
  });

  it('reduceByKeyAndWindow without an inverse', () => {
    expect(entries(out, 'reduceByKeyAndWindow', true)).toEqual(everyBatch(bigReduceOutput, true));
  });

  it('reduceByKeyAndWindow with an inverse keeps keys at their neutral value', () => {
    expect(entries(out, 'reduceByKeyAndWindowInv', true)).toEqual(everyBatch(bigReduceInvOutput, true));
  });

  it('reduceByKeyAndWindow with an inverse and a filter function', () => {
    expect(entries(out, 'reduceByKeyAndWindowInvFilter', true)).toEqual(everyBatch(bigReduceOutput, true));
  });

  it('reduceByKeyAndWindow with a larger slide, with and without an inverse', () => {
    expect(entries(out, 'largerSlideReduce', true).slice(0, 4)).toEqual(largerSlideReduceOutput);
    expect(entries(out, 'largerSlideReduceInv', true).slice(0, 4)).toEqual(largerSlideReduceOutput);
  });

  it('a batch with no dataset (null) is skipped by the window; empty batches count 0', () => {
    expect(entries(out, 'sparseWindow').slice(0, 6)).toEqual(everyBatch([[1], [1], [3], [3], [], []]));
    expect(entries(out, 'sparseCount').slice(0, 6)).toEqual(everyBatch([[1], [1], [1], [1], [0], [0]]));
  });
});

describe('window validation', () => {
  it('refuses a window that is not a multiple of the batch interval, with a clear error', async () => {
    await expect(
      cluster.runBatches({ job: jobPath('window-invalid'), inputs: { nums: [[1]] }, batches: 1 }),
    ).rejects.toThrow(/window duration 1500 ms must be a multiple of the parent's slide duration 1000 ms/);
  });
});

describe('cached window inputs are released', () => {
  it('runs a long windowed job and its outputs stay correct after earlier batches are dropped', async () => {
    const n = 10;
    const inputs = { pairs: Array.from({ length: n }, (_, i) => [['k', i + 1]] as [string, number][]) };
    const res = await cluster.runBatches({ job: jobPath('windows'), inputs, batches: n });
    // 2-batch window with an inverse: (i) + (i+1) once two batches are in it.
    expect(entries(res, 'reduceByKeyAndWindowInv')).toEqual(everyBatch(Array.from({ length: n }, (_, i) => [['k', i === 0 ? 1 : 2 * i + 1]])));
  }, 120_000);
});
