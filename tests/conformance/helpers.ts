/** Shared by the conformance suites: job paths, sorting, Spark-style expected partitions. */
import { fileURLToPath } from 'node:url';
import type { BatchOutput, RunBatchesResult } from '../../lib/testing/index.js';

export const BATCH = 1000; // the test cluster's batch interval (ms)

export function jobPath(name: string): string {
  return fileURLToPath(new URL(`./jobs/${name}.ts`, import.meta.url));
}

/** Records in a canonical order, for operators whose output order is unspecified (shuffles). */
export function sorted<T>(records: readonly T[]): T[] {
  return [...records].sort((a, b) => {
    const x = JSON.stringify(a);
    const y = JSON.stringify(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** The per-batch record lists of one output, batch times checked to be 1000, 2000, ... */
export function perBatch<T = unknown>(result: RunBatchesResult, output: string, batches: number): T[][] {
  const entries = result[output] as BatchOutput<T>[] | undefined;
  if (!entries) throw new Error(`no output ${output} in ${Object.keys(result).join(', ')}`);
  if (entries.map((e) => e.batchTime).join() !== Array.from({ length: batches }, (_, i) => (i + 1) * BATCH).join()) {
    throw new Error(`output ${output} ran in batches ${entries.map((e) => e.batchTime).join(', ')}`);
  }
  return entries.map((e) => e.records);
}

export function sortedPerBatch<T = unknown>(result: RunBatchesResult, output: string, batches: number): T[][] {
  return perBatch<T>(result, output, batches).map(sorted);
}

/** Spark's ParallelCollectionRDD.slice: the blocks runBatches cuts a batch into. */
export function slices<T>(records: readonly T[] | null, n: number): T[][] {
  if (records === null) return [];
  return Array.from({ length: n }, (_, i) => records.slice(Math.floor((i * records.length) / n), Math.floor(((i + 1) * records.length) / n)));
}

/** Count occurrences as [value, count] pairs. */
export function countValues<T>(xs: readonly T[]): [T, number][] {
  const m = new Map<string, [T, number]>();
  for (const x of xs) {
    const k = JSON.stringify(x);
    const e = m.get(k);
    if (e) e[1]++;
    else m.set(k, [x, 1]);
  }
  return [...m.values()];
}

export function groupPairs<K, V>(pairs: readonly (readonly [K, V])[]): [K, V[]][] {
  const m = new Map<string, [K, V[]]>();
  for (const [k, v] of pairs) {
    const key = JSON.stringify(k);
    const e = m.get(key);
    if (e) e[1].push(v);
    else m.set(key, [k, [v]]);
  }
  return [...m.values()];
}
