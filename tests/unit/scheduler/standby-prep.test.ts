/**
 * A standby builds running jobs' graphs ahead of a takeover (standby-prep.ts):
 * with the real sandbox, over an in-memory bundle store.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleJob } from '../../../lib/dstream/bundle.js';
import { createLogger } from '../../../lib/log.js';
import type { BlobStore } from '../../../lib/nats/blob-store.js';
import type { JobRecord } from '../../../services/scheduler/job-journal.js';
import { PreparedJobs } from '../../../services/scheduler/standby-prep.js';
import { waitFor } from '../../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../../examples/wordcount.ts', import.meta.url));
const limits = { buildTimeoutMs: 10_000, memoryBytes: 256 * 1024 * 1024 };

function memoryStore(objects: Map<string, Uint8Array>, reads: string[]): BlobStore {
  return {
    has: (k) => Promise.resolve(objects.has(k)),
    get: (k) => {
      reads.push(k);
      return Promise.resolve(objects.get(k) ?? null);
    },
    put: (k, v) => {
      objects.set(k, v);
      return Promise.resolve();
    },
  } as BlobStore;
}

const record = (id: string, bundleHash: string): JobRecord => ({
  id,
  name: 'wordcount',
  source: 'wordcount.ts',
  bundleHash,
  submittedAtMs: 0,
  firstBatchTimeMs: 1000,
  zeroTimeMs: 0,
  state: 'RUNNING',
  batchesCompleted: 0,
  recordsProcessed: 0,
});

describe('PreparedJobs', () => {
  it('builds each running job once, hands it over once, and forgets jobs that stopped running', async () => {
    const bundle = await bundleJob(wordcount);
    const objects = new Map([[bundle.hash, new TextEncoder().encode(bundle.code)]]);
    const reads: string[] = [];
    const prepared = new PreparedJobs(() => Promise.resolve(memoryStore(objects, reads)), limits, createLogger('test', 'silent'));
    prepared.prepare([record('job-1', bundle.hash)]);
    prepared.prepare([record('job-1', bundle.hash)]); // already building: not again
    await waitFor(() => prepared.size === 1, 'the graph is built');
    expect(reads).toEqual([bundle.hash]);
    prepared.prepare([record('job-1', bundle.hash)]); // ready: not again
    const got = prepared.take(bundle.hash)!;
    expect(got.bundle).toBe(bundle.code);
    expect(got.loaded.graph.outputs.map((o) => o.name)).toEqual(['counts']);
    expect(prepared.take(bundle.hash)).toBeUndefined();
    // Built again for the next takeover; dropped once no running job uses it.
    prepared.prepare([record('job-1', bundle.hash)]);
    await waitFor(() => prepared.size === 1, 'built again');
    prepared.prepare([]);
    expect(prepared.size).toBe(0);
    // A bundle missing from the store is simply not prepared (the takeover reports it).
    prepared.prepare([record('job-2', 'missing')]);
    await waitFor(() => reads.includes('missing'), 'asked for');
    expect(prepared.take('missing')).toBeUndefined();
    prepared.stop();
  });
});
