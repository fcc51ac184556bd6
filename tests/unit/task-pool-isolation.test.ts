/**
 * The task pool keeps jobs apart: each bundle runs in workers of its own
 * (a patched prototype stays in its job), within `maxWorkers` threads over
 * all bundles, with a heap limit per worker; idle workers are reaped, and an
 * idle worker kept busy by job code in a timer is stopped. Needs the compiled
 * worker (`npm run build`).
 */
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/wait.js';
import { describe, expect, it } from 'vitest';
import { packRecords, unpackRecords } from '../../lib/codec/records.js';
import { bundleHash } from '../../lib/dstream/loader.js';
import { sourceKey } from '../../lib/dstream/runtime.js';
import { TaskPool, type PoolBundle, type PoolOutcome, type PoolTask } from '../../services/executor/task-pool.js';

const workerPath = fileURLToPath(new URL('../../dist/services/executor/task-worker.js', import.meta.url));

/** A job `flatMap(split(' '))` over stream s, with `prelude` at the top of its module. Graph: 0 source, 1 flatMap, 2 output. */
function splitter(name: string, prelude = ''): PoolBundle {
  const code = `${prelude}
    const { defineJob } = require('rivulet');
    module.exports = { default: defineJob((ctx) => ctx.receiverStream('s').flatMap((l) => l.split(' ')).output('o')) };`;
  return { hash: bundleHash(code), code, source: name };
}

function task(bundle: PoolBundle, records: unknown[]): PoolTask {
  return { bundle, nodeId: 2, partition: 0, sink: { kind: 'result' }, blocks: [{ key: sourceKey(0, 0), data: packRecords(records) }], shuffles: [] };
}

async function records(pool: TaskPool, bundle: PoolBundle, input: unknown[]): Promise<unknown[]> {
  const out = await pool.submit(task(bundle, input)).outcome;
  if (out.kind !== 'ok') throw new Error(`task ${out.kind}: ${(out as { message?: string }).message}`);
  return unpackRecords((out as Extract<PoolOutcome, { kind: 'ok' }>).result!);
}

const patcher = splitter(
  'patcher.js',
  `const split = String.prototype.split;
   String.prototype.split = function (...args) { return [...split.apply(this, args), 'injected']; };`,
);
const honest = splitter('honest.js');

describe('TaskPool: one job’s workers are its own', () => {
  it('a job patching String.prototype.split changes only its own records, on the same slots', async () => {
    const pool = new TaskPool({ slots: 2, workerPath });
    try {
      await pool.ready();
      for (let round = 0; round < 3; round++) {
        const [p, h] = await Promise.all([records(pool, patcher, ['a b']), records(pool, honest, ['a b', 'c'])]);
        expect(p).toEqual(['a', 'b', 'injected']);
        expect(h).toEqual(['a', 'b', 'c']);
      }
      const { total, byBundle } = pool.workerCounts();
      expect(total).toBeLessThanOrEqual(pool.maxWorkers);
      expect(byBundle.get(patcher.hash)).toBeGreaterThanOrEqual(1);
      expect(byBundle.get(honest.hash)).toBeGreaterThanOrEqual(1);
    } finally {
      await pool.close();
    }
  });

  it('stays within maxWorkers, stopping the least recently used idle job’s worker for a new job', async () => {
    const pool = new TaskPool({ slots: 1, maxWorkers: 2, workerPath });
    try {
      await pool.ready();
      const jobs = [0, 1, 2, 3].map((i) => splitter(`job-${i}.js`, `globalThis.mark = ${i};`));
      for (const round of [0, 1]) {
        for (const j of jobs) {
          expect(await records(pool, j, [`x${round} y`])).toEqual([`x${round}`, 'y']);
          expect(pool.workerCounts().total).toBeLessThanOrEqual(2);
        }
      }
    } finally {
      await pool.close();
    }
  });

  it('fails a task that runs its worker out of memory, naming the limit; the next task runs', async () => {
    const hog = splitter('hog.js', `String.prototype.split = function () { const keep = []; for (;;) keep.push(new Array(1e5).fill(keep.length)); };`);
    const pool = new TaskPool({ slots: 1, memoryBytes: 64 << 20, workerPath });
    try {
      await pool.ready();
      const out = await pool.submit(task(hog, ['a b'])).outcome;
      expect(out).toMatchObject({
        kind: 'failed',
        message: expect.stringMatching(/task worker ran out of memory \(the worker's heap limit is 64 MiB: taskWorkerMemory\) while running the task of hog\.js/),
      });
      expect(await records(pool, honest, ['still fine'])).toEqual(['still', 'fine']);
    } finally {
      await pool.close();
    }
  });

  it('stops an idle worker kept busy by a timer of its job, and reaps idle workers', async () => {
    const busy: string[] = [];
    const timerLoop = splitter('timer-loop.js', `setTimeout(() => { for (;;) {} }, 0);`);
    const spinning = new TaskPool({ slots: 1, idleTimeoutMs: 0, workerPath, onBusyIdleWorker: (i) => busy.push(i.source) });
    const reaping = new TaskPool({ slots: 1, idleTimeoutMs: 1000, workerPath, onBusyIdleWorker: (i) => busy.push(i.source) });
    try {
      await Promise.all([spinning.ready(), reaping.ready()]);
      expect(await records(spinning, timerLoop, ['a b'])).toEqual(['a', 'b']);
      expect(await records(reaping, honest, ['c d'])).toEqual(['c', 'd']);
      expect(reaping.workerCounts().byBundle.get(honest.hash)).toBe(1);
      // Checked every second: a baseline, then a whole second busy while idle (spinning); idle past 1 s (reaping).
      await waitFor(() => spinning.workerCounts().byBundle.get(timerLoop.hash) === undefined, 'the busy idle worker is stopped', { timeoutMs: 10_000 });
      await waitFor(() => reaping.workerCounts().byBundle.get(honest.hash) === undefined, 'the idle worker is reaped', { timeoutMs: 10_000 });
      expect(busy).toEqual(['timer-loop.js']);
      expect(spinning.workerCounts().byBundle.get(timerLoop.hash)).toBeUndefined();
      expect(await records(spinning, timerLoop, ['e'])).toEqual(['e']);
      expect(reaping.workerCounts().byBundle.get(honest.hash)).toBeUndefined();
      expect(await records(reaping, honest, ['f'])).toEqual(['f']);
    } finally {
      await Promise.all([spinning.close(), reaping.close()]);
    }
  });
});
