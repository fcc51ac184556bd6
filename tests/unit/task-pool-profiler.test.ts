/**
 * The task pool of an executor run under node's CPU profiler (`--cpu-prof`,
 * as `BENCH_CPU_PROF_DIR` does): there an idle worker thread's event-loop
 * utilisation reads ~0.99, which the busy-idle check (a job's timer burning
 * a core between tasks) must not take for job code — else every warm worker
 * is stopped each second and a profile shows thread start-ups, not tasks.
 * Runs a real executor pool in a child `node --cpu-prof` (the flag must be the
 * process's own: workers inherit it). Needs the compiled worker (`npm run build`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const distDir = fileURLToPath(new URL('../../dist/', import.meta.url));
const dist = (rel: string) => pathToFileURL(join(distDir, rel)).href;

describe('TaskPool under the CPU profiler', () => {
  it('keeps a warm idle worker (no busy-idle stop) across three idle checks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-prof-pool-'));
    const script = join(dir, 'pool.mjs');
    writeFileSync(
      script,
      `import { TaskPool } from '${dist('services/executor/task-pool.js')}';
import { packRecords, unpackRecords } from '${dist('lib/codec/records.js')}';
import { bundleHash } from '${dist('lib/dstream/loader.js')}';
import { sourceKey } from '${dist('lib/dstream/runtime.js')}';
const code = \`const { defineJob } = require('rivulet');
const { threadId } = require('node:worker_threads');
module.exports = { default: defineJob((ctx) => ctx.receiverStream('s').map((x) => [x, threadId]).output('o')) };\`;
const bundle = { hash: bundleHash(code), code, source: 'threads.js' };
const task = (x) => ({ bundle, nodeId: 2, partition: 0, sink: { kind: 'result' }, blocks: [{ key: sourceKey(0, 0), data: packRecords([x]) }], shuffles: [] });
const stopped = [];
const pool = new TaskPool({ slots: 1, workerPath: '${join(distDir, 'services/executor/task-worker.js')}', onBusyIdleWorker: (i) => stopped.push(i.slot) });
await pool.ready();
const threadOf = async (x) => { const o = await pool.submit(task(x)).outcome; if (o.kind !== 'ok') throw new Error(JSON.stringify(o)); return unpackRecords(o.result)[0][1]; };
const first = await threadOf('a');
// Idle until the pool's idle check has looked at the warm worker three times (each look stores a new
// utilisation reading on it; a stopped worker is looked at no more).
const [warm] = [...pool.workers.all()];
const looks = new Set();
for (const deadline = Date.now() + 15000; looks.size < 3 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) if (warm.elu) looks.add(warm.elu);
if (looks.size < 3) throw new Error('the idle check looked at the warm worker ' + looks.size + ' times');
const second = await threadOf('b');
await pool.close();
console.log(JSON.stringify({ first, second, stopped }));
`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, ['--cpu-prof', '--cpu-prof-dir', join(dir, 'profiles'), script], { timeout: 30_000 });
    const { first, second, stopped } = JSON.parse(stdout.trim().split('\n').pop()!) as { first: number; second: number; stopped: number[] };
    expect(stopped).toEqual([]);
    // The same warm thread ran both tasks.
    expect(second).toBe(first);
  }, 40_000);
});
