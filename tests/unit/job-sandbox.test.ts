/**
 * Job code evaluated for the scheduler runs in sandbox worker threads
 * (lib/dstream/sandbox.ts, services/scheduler/foreach-runner.ts): what comes
 * back is a function-free graph, and a bundle that loops, exits, allocates
 * without bound or misbehaves in a timer fails clearly while this thread
 * (the scheduler's event loop) keeps running.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { packRecords } from '../../lib/codec/records.js';
import { createLogger } from '../../lib/log.js';
import { buildInSandbox, type SandboxLimits } from '../../lib/dstream/sandbox.js';
import { ForeachRunner } from '../../services/scheduler/foreach-runner.js';
import { waitFor } from '../helpers/wait.js';

const limits: SandboxLimits = { buildTimeoutMs: 1000, memoryBytes: 64 << 20 };

/** A CommonJS bundle (as bundle.ts makes) whose build function is `build` and whose module body starts with `prelude`. */
function job(build: string, prelude = ''): string {
  return `${prelude}\nconst { defineJob } = require('rivulet');\nmodule.exports.default = defineJob((ctx) => { ${build} }, { name: 'sandboxed' });`;
}

const WORDS = `ctx.receiverStream('lines').flatMap((l) => l.split(' ')).map((w) => [w, 1]).reduceByKey((a, b) => a + b).output('counts');`;

/** Resolves with the longest gap between event-loop turns of this thread while `work` runs. */
async function loopLag<T>(work: Promise<T>): Promise<{ result: PromiseSettledResult<T>; maxGapMs: number }> {
  let last = performance.now();
  let maxGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 10);
  const [result] = await Promise.allSettled([work]);
  clearInterval(timer);
  return { result, maxGapMs };
}

describe('buildInSandbox', () => {
  it('builds the graph in a worker and returns it without functions', async () => {
    const built = await buildInSandbox(job(WORDS), 'words.js', limits);
    expect(built.options.name).toBe('sandboxed');
    expect(built.graph.streams).toEqual(['lines']);
    expect(built.graph.outputs.map((o) => o.name)).toEqual(['counts']);
    expect(built.graph.nodes.map((n) => n.kind)).toEqual(['source', 'narrow', 'narrow', 'shuffle', 'output']);
    for (const n of built.graph.nodes) for (const v of Object.values(n)) expect(typeof v).not.toBe('function');
    expect(built.graph.nodes[3]).not.toHaveProperty('aggregator');
    expect(built.bundleHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['a top-level loop', job(WORDS, 'while (true) {}'), /took longer than 1000 ms \(jobBuildTimeout\)/],
    ['a loop in the build function', job(`for (;;) {} ${WORDS}`), /took longer than 1000 ms \(jobBuildTimeout\)/],
    ['a top-level process.exit', job(WORDS, 'process.exit(3)'), /ended its worker thread \(exit code 3, e\.g\. process\.exit\) while building/],
    ['unbounded allocation', job(WORDS, 'const keep = []; for (;;) keep.push(new Array(1e5).fill(keep.length));'), /ran out of memory \(limit 64 MiB, jobSandboxMemory\)/],
    ['a throw', job(WORDS, "throw new TypeError('nope')"), /bad\.js: the job threw while building: TypeError: nope/],
    ['no job', 'module.exports = {}', /must `export default defineJob/],
  ])('fails %s with a clear error while this thread keeps running', async (_what, code, error) => {
    const { result, maxGapMs } = await loopLag(buildInSandbox(code, 'bad.js', limits));
    expect(result.status).toBe('rejected');
    expect(String((result as PromiseRejectedResult).reason)).toMatch(error);
    expect((result as PromiseRejectedResult).reason).toHaveProperty('name', 'JobDefinitionError');
    expect(maxGapMs).toBeLessThan(500);
  });

  it('stops what the module scheduled in timers with its worker', async () => {
    const { result, maxGapMs } = await loopLag(
      (async () => {
        const built = await buildInSandbox(job(WORDS, 'setTimeout(() => { for (;;) {} }, 0); setTimeout(() => process.exit(3), 5);'), 'timers.js', limits);
        // The worker is gone: nothing keeps spinning on another thread either (no way to observe CPU here, but a second build works).
        await new Promise((r) => setTimeout(r, 100));
        return built;
      })(),
    );
    expect(result.status).toBe('fulfilled');
    expect(maxGapMs).toBeLessThan(500);
  });
});

describe('ForeachRunner', () => {
  const log = createLogger('test', 'silent');
  let runner: ForeachRunner | undefined;
  afterEach(() => runner?.close());

  const foreachJob = (id: string, body: string, prelude = '') => ({
    id,
    source: `${id}.js`,
    bundle: job(`ctx.receiverStream('lines').foreachBatch((records, t) => { ${body} });`, prelude),
  });
  const call = (records: unknown[]) => [{ nodeId: 1, payload: packRecords(records) }];

  it("runs a job's foreachBatch in its own worker, keeping the job's state between batches", async () => {
    runner = new ForeachRunner({ ...limits, timeoutMs: 1000 }, log);
    const j = foreachJob('j1', `globalThis.seen = (globalThis.seen ?? 0) + records.length; if (globalThis.seen > 3) throw new RangeError('seen ' + globalThis.seen + ' at ' + t);`);
    expect(await runner.run(j, 1000, call(['a', 'b']))).toBeUndefined();
    expect(await runner.run(j, 2000, call(['c', 'd']))).toMatch(/foreachBatch function \(node 1\) threw RangeError: seen 4 at 2000/);
    expect(runner.workerCount).toBe(1);
    // Another job has its own globals.
    expect(await runner.run(foreachJob('j2', `if (globalThis.seen !== undefined) throw new Error('shared')`), 1000, call(['x']))).toBeUndefined();
    expect(runner.workerCount).toBe(2);
  });

  it('stops a function that overruns foreachBatchTimeout and serves the next batch with a fresh worker', async () => {
    runner = new ForeachRunner({ ...limits, timeoutMs: 300 }, log);
    const j = foreachJob('spin', `if (t === 1000) for (;;) {}`);
    const { result, maxGapMs } = await loopLag(runner.run(j, 1000, call(['a'])));
    expect((result as PromiseFulfilledResult<string>).value).toMatch(
      /foreachBatch function \(node 1\) did not return within 300 ms \(foreachBatchTimeout\); its worker thread was stopped/,
    );
    expect(maxGapMs).toBeLessThan(250);
    expect(await runner.run(j, 2000, call(['b']))).toBeUndefined();
  });

  it('a function that exits its worker fails the batch; the next batch gets a new worker', async () => {
    runner = new ForeachRunner({ ...limits, timeoutMs: 1000 }, log);
    const j = foreachJob('exit', `if (t === 1000) process.exit(3)`);
    expect(await runner.run(j, 1000, call(['a']))).toMatch(/foreachBatch function \(node 1\) ended its worker thread \(exit code 3/);
    expect(await runner.run(j, 2000, call(['b']))).toBeUndefined();
  });

  it('stops a worker that the job keeps busy between batches (a loop in a timer)', async () => {
    const r = (runner = new ForeachRunner({ ...limits, timeoutMs: 1000 }, log));
    const j = foreachJob('timer', `if (t === 1000) setTimeout(() => { for (;;) {} }, 0);`);
    expect(await r.run(j, 1000, call(['a']))).toBeUndefined();
    expect(r.workerCount).toBe(1);
    await waitFor(() => r.workerCount === 0, 'the busy idle worker is stopped', { timeoutMs: 10_000, intervalMs: 50 });
    expect(await r.run(j, 2000, call(['b']))).toBeUndefined();
  });

  it('a batch in flight when its job ends (or the scheduler stops) is answered at once', async () => {
    const r = (runner = new ForeachRunner({ ...limits, timeoutMs: 60_000 }, log));
    const pending = r.run(foreachJob('ends', 'for (;;) {}'), 1000, call(['a']));
    await waitFor(() => r.inFlight('ends'), 'the batch runs in its worker', { timeoutMs: 10_000, intervalMs: 10 });
    r.jobEnded('ends');
    expect(await pending).toBe('the job ended');
    const stopping = r.run(foreachJob('stops', 'for (;;) {}'), 1000, call(['a']));
    await waitFor(() => r.inFlight('stops'), 'the batch runs in its worker', { timeoutMs: 10_000, intervalMs: 10 });
    r.close();
    expect(await stopping).toBe('the scheduler is shutting down');
  });

  it('a batch whose worker is still being built when its job ends is answered the same way', async () => {
    const r = (runner = new ForeachRunner({ ...limits, timeoutMs: 60_000 }, log));
    const pending = r.run(foreachJob('early', ''), 1000, call(['a']));
    // Its build has not even started to run: the worker thread is starting.
    await waitFor(() => r.workerCount === 1, 'the worker is starting', { timeoutMs: 10_000, intervalMs: 1 });
    expect(r.inFlight('early')).toBe(false);
    r.jobEnded('early');
    expect(await pending).toBe('the job ended');
  });
});
