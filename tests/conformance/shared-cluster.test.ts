/**
 * runBatches without an explicit cluster: every call in the process shares
 * one lazily started cluster (what an external suite that only calls
 * runBatches gets), stopped by stopSharedCluster().
 */
import { afterAll, expect, it } from 'vitest';
import { runBatches, stopSharedCluster } from '../../lib/testing/index.js';
import { jobPath, sortedPerBatch } from './helpers.js';

afterAll(() => stopSharedCluster());

it('runs several jobs on one shared cluster', async () => {
  const [wc, basic] = await Promise.all([
    runBatches({ job: jobPath('wordcount'), inputs: { lines: [['a b a'], []] }, batches: 2 }),
    runBatches({ job: jobPath('basic'), inputs: { nums: [[1, 2, 3]] }, batches: 1, partitions: 3 }),
  ]);
  expect(sortedPerBatch(wc, 'counts', 2)).toEqual([[['a', 2], ['b', 1]], []]);
  expect(wc.count).toEqual([
    { batchTime: 1000, records: [1] },
    { batchTime: 2000, records: [0] },
  ]);
  expect(basic.glom).toEqual([{ batchTime: 1000, records: [[1], [2], [3]] }]);
});
