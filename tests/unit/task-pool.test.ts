/**
 * The executor's task pool with real worker threads. Needs the compiled
 * worker: run `npx tsc -p tsconfig.json` (or `npm run build`) first.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packRecords, unpackRecords } from '../../lib/codec/records.js';
import { bundleJob } from '../../lib/dstream/bundle.js';
import { bundleHash, loadJob } from '../../lib/dstream/loader.js';
import { planBatch, type PlannedStage } from '../../lib/dstream/planner.js';
import { sourceKey } from '../../lib/dstream/runtime.js';
import { TaskPool, type PoolBundle, type PoolOutcome, type PoolTask } from '../../services/executor/task-pool.js';

const workerPath = fileURLToPath(new URL('../../dist/services/executor/task-worker.js', import.meta.url));
const wordcountPath = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));

function inlineBundle(name: string, code: string): PoolBundle {
  return { hash: bundleHash(code), code, source: name };
}

const throwingJob = inlineBundle(
  'thrower.js',
  `const { defineJob } = require('rivulet');
   module.exports = { default: defineJob((ctx) => ctx.receiverStream('s')
     .map((x) => { if (x === 'bad') throw new Error('boom on ' + x); return x; }).output('o')) };`,
);
const crashingJob = inlineBundle(
  'crasher.js',
  `const { defineJob } = require('rivulet');
   module.exports = { default: defineJob((ctx) => ctx.receiverStream('s')
     .map((x) => { if (x === 'crash') process.exit(7); return x; }).output('o')) };`,
);

const spinningJob = inlineBundle(
  'spinner.js',
  `const { defineJob } = require('rivulet');
   module.exports = { default: defineJob((ctx) => ctx.receiverStream('s')
     .map((x) => { if (x === 'spin') for (;;) {} return x; }).output('o')) };`,
);

function resultTask(bundle: PoolBundle, records: unknown[]): PoolTask {
  // Graph of the inline jobs: 0 source, 1 map, 2 output.
  return {
    bundle,
    nodeId: 2,
    partition: 0,
    sink: { kind: 'result' },
    blocks: [{ key: sourceKey(0, 0), data: packRecords(records) }],
    shuffles: [],
  };
}

describe('TaskPool (real worker threads)', () => {
  let wordcount: PoolBundle;
  let mapStage: PlannedStage;
  let resultStage: PlannedStage;
  let pool: TaskPool;

  beforeAll(async () => {
    if (!existsSync(workerPath)) throw new Error(`${workerPath} missing: run \`npx tsc -p tsconfig.json\` first`);
    const b = await bundleJob(wordcountPath);
    wordcount = { hash: b.hash, code: b.code, source: b.source };
    const plan = planBatch(loadJob(b.code, b.source).graph, new Map([['lines', 3]]), 4);
    [mapStage, resultStage] = plan.stages as [PlannedStage, PlannedStage];
    pool = new TaskPool({ slots: 2, workerPath });
    await pool.ready();
  });

  afterAll(async () => {
    await pool?.close();
  });

  function mapTask(partition: number, lines: string[], reducers: number): PoolTask {
    return {
      bundle: wordcount,
      nodeId: mapStage.finalNode,
      partition,
      sink: { kind: 'shuffle', shuffleNodeId: mapStage.shuffleNode!, numPartitions: reducers },
      blocks: [{ key: sourceKey(mapStage.sourceNodes[0]!, partition), data: packRecords(lines) }],
      shuffles: [],
    };
  }

  it('runs word count map + reduce tasks and matches a local count', async () => {
    const blocks = [
      ['the quick brown fox', 'jumps over the lazy dog'],
      ['the end', '', '  spaced   out  '],
      Array.from({ length: 500 }, (_, i) => `w${i % 37} the w${i % 11}`),
    ];
    const reducers = 4;
    const maps = await Promise.all(blocks.map((lines, p) => pool.submit(mapTask(p, lines, reducers)).outcome));
    const buckets = maps.map((o) => {
      expect(o.kind).toBe('ok');
      const ok = o as Extract<PoolOutcome, { kind: 'ok' }>;
      expect(ok.buckets).toHaveLength(reducers);
      return ok.buckets!;
    });
    expect((maps[2] as Extract<PoolOutcome, { kind: 'ok' }>).recordsIn).toBe(500);
    const reduces = await Promise.all(
      Array.from({ length: reducers }, (_, r) =>
        pool.submit({
          bundle: wordcount,
          nodeId: resultStage.finalNode,
          partition: r,
          sink: { kind: 'result' },
          blocks: [],
          shuffles: [{ nodeId: resultStage.shuffleReads[0]!, buckets: buckets.map((b) => b[r]!) }],
        }).outcome,
      ),
    );
    const counts = new Map<string, number>();
    for (const o of reduces) {
      expect(o.kind).toBe('ok');
      const ok = o as Extract<PoolOutcome, { kind: 'ok' }>;
      const records = unpackRecords(ok.result!) as [string, number][];
      expect(ok.recordsOut).toBe(records.length);
      for (const [w, c] of records) {
        expect(counts.has(w)).toBe(false);
        counts.set(w, c);
      }
    }
    const expected = new Map<string, number>();
    for (const line of blocks.flat()) for (const w of line.split(/\s+/)) if (w) expected.set(w, (expected.get(w) ?? 0) + 1);
    expect(counts).toEqual(expected);
  });

  it('queues tasks beyond its slots and reports the wait', async () => {
    const slow = new TaskPool({ slots: 2, workerPath, taskDelayMs: 150 });
    try {
      await slow.ready();
      const handles = Array.from({ length: 4 }, (_, p) => slow.submit(mapTask(p, ['a b c'], 2)));
      expect(slow.runningCount).toBe(2);
      expect(slow.queuedCount).toBe(2);
      expect(slow.freeSlots).toBe(0);
      const outcomes = (await Promise.all(handles.map((h) => h.outcome))) as Extract<PoolOutcome, { kind: 'ok' }>[];
      expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok', 'ok', 'ok']);
      expect(outcomes[0]!.runMs).toBeGreaterThanOrEqual(140);
      expect(outcomes[0]!.queueMs).toBeLessThan(50);
      expect(outcomes[3]!.queueMs).toBeGreaterThanOrEqual(120);
      expect(slow.runningCount).toBe(0);
      expect(slow.queuedCount).toBe(0);
    } finally {
      await slow.close();
    }
  });

  it('reports a throwing user function as a user error naming the operator', async () => {
    const ok = await pool.submit(resultTask(throwingJob, ['fine'])).outcome;
    expect(ok.kind).toBe('ok');
    const bad = await pool.submit(resultTask(throwingJob, ['fine', 'bad'])).outcome;
    expect(bad).toMatchObject({ kind: 'userError', message: expect.stringMatching(/user function of map \(node 1\) threw Error: boom on bad/) });
  });

  it('reports a bundle that fails to build as a user error', async () => {
    const broken = inlineBundle('broken.js', `throw new Error('cannot build')`);
    const out = await pool.submit(resultTask(broken, ['x'])).outcome;
    expect(out).toMatchObject({ kind: 'userError', message: expect.stringMatching(/broken.js: the job threw while building: Error: cannot build/) });
  });

  it('replaces a crashed worker and fails its task as a cluster failure', async () => {
    const exits: number[] = [];
    const p = new TaskPool({ slots: 1, workerPath, onWorkerExit: (i) => exits.push(i.exitCode) });
    try {
      await p.ready();
      const crashed = p.submit(resultTask(crashingJob, ['a', 'crash']));
      const after = p.submit(resultTask(crashingJob, ['a', 'b'])); // queued behind the crash
      expect(await crashed.outcome).toMatchObject({ kind: 'failed', message: expect.stringMatching(/task worker crashed.*exit code 7.*replaced/) });
      const next = await after.outcome;
      expect(next.kind).toBe('ok');
      expect(unpackRecords((next as Extract<PoolOutcome, { kind: 'ok' }>).result!)).toEqual(['a', 'b']);
      expect(exits).toEqual([7]);
      expect(p.freeSlots).toBe(1);
    } finally {
      await p.close();
    }
  });

  it('stops a task past its timeout, names the operator, and replaces the worker', async () => {
    const timeouts: Array<{ slot: number; operator: string; timeoutMs: number }> = [];
    const p = new TaskPool({ slots: 1, workerPath, onTaskTimeout: (info) => timeouts.push(info) });
    try {
      await p.ready();
      // A task under its timeout is untouched.
      const quick = await p.submit({ ...resultTask(spinningJob, ['a', 'b']), timeoutMs: 5_000 }).outcome;
      expect(quick.kind).toBe('ok');
      const t0 = performance.now();
      const spinning = p.submit({ ...resultTask(spinningJob, ['fine', 'spin']), timeoutMs: 300 });
      const queuedBehind = p.submit({ ...resultTask(spinningJob, ['c']), timeoutMs: 5_000 });
      const spin = await spinning.outcome;
      expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
      expect(spin.kind).toBe('failed');
      if (spin.kind !== 'failed') throw new Error('unreachable');
      expect(spin.timedOut).toBe(true);
      expect(spin.message).toMatch(/timed out after 300ms \(taskTimeout\) while running operator map \(node 1\) of spinner\.js/);
      expect(timeouts).toEqual([{ slot: 0, operator: 'map (node 1)', timeoutMs: 300 }]);
      // The slot is free again and its new worker runs the next task.
      expect((await queuedBehind.outcome).kind).toBe('ok');
      expect(p.freeSlots).toBe(1);
      const after = await p.submit(resultTask(spinningJob, ['d'])).outcome;
      expect(after.kind).toBe('ok');
    } finally {
      await p.close();
    }
  });

  it('kills a queued task, and a running one by replacing its worker', async () => {
    const p = new TaskPool({ slots: 1, workerPath });
    try {
      await p.ready();
      // A task stuck in user code can only be stopped by stopping its thread.
      const running = p.submit(resultTask(spinningJob, ['spin']));
      const queued = p.submit(resultTask(spinningJob, ['q']));
      expect(queued.cancel()).toBe(true);
      expect(await queued.outcome).toEqual({ kind: 'killed' });
      await new Promise((r) => setTimeout(r, 50)); // let it start spinning
      expect(p.runningCount).toBe(1);
      expect(running.cancel()).toBe(true);
      expect(await running.outcome).toEqual({ kind: 'killed' });
      expect(running.cancel()).toBe(false);
      expect(p.freeSlots).toBe(1);
      // The replacement worker takes the next task at once.
      const next = await p.submit(resultTask(spinningJob, ['fine'])).outcome;
      expect(next.kind).toBe('ok');
    } finally {
      await p.close();
    }
  });
});
