/**
 * The executor's task pool with real worker threads. Needs the compiled
 * worker: run `npx tsc -p tsconfig.json` (or `npm run build`) first.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packRecords, unpackRecords } from '../../lib/codec/records.js';
import { bundleJob } from '../../lib/dstream/bundle.js';
import { bundleHash, loadJob } from '../../lib/dstream/loader.js';
import { planBatch, type PlannedStage } from '../../lib/dstream/planner.js';
import { sourceKey } from '../../lib/dstream/runtime.js';
import { TaskPool, type PoolBundle, type PoolOutcome, type PoolTask } from '../../services/executor/task-pool.js';
import { waitFor } from '../helpers/wait.js';

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

/**
 * Each record: `busy:<ms>` keeps the thread busy that long, `spin` forever, `crash` exits the worker;
 * every record comes out as [record, the worker's thread id, records this worker has run].
 */
const probeJob = inlineBundle(
  'prober.js',
  `const { defineJob } = require('rivulet');
   const { threadId } = require('node:worker_threads');
   let runs = 0;
   module.exports = { default: defineJob((ctx) => ctx.receiverStream('s').map((x) => {
     if (x.startsWith('busy:')) { const end = Date.now() + Number(x.slice(5)); while (Date.now() < end); }
     if (x === 'spin') for (;;) {}
     if (x === 'crash') process.exit(7);
     runs++;
     return [x, threadId, runs];
   }).output('o')) };`,
);

type Ok = Extract<PoolOutcome, { kind: 'ok' }>;
const nextTurn = () => new Promise((r) => setImmediate(r));
/** [record, thread id, runs] of a probeJob task's one record. */
const probed = (o: PoolOutcome) => (unpackRecords((o as Ok).result!) as Array<[string, number, number]>)[0]!;

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
    const slow = new TaskPool({ slots: 2, workerPath, taskDelayMs: 150, maxBatch: 1 });
    try {
      await slow.ready();
      const handles = Array.from({ length: 4 }, (_, p) => slow.submit(mapTask(p, ['a b c'], 2)));
      await nextTurn(); // submissions are handed out once the turn is over
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
    const p = new TaskPool({ slots: 1, workerPath, killGraceMs: 0 });
    try {
      await p.ready();
      // A task stuck in user code can only be stopped by stopping its thread.
      const running = p.submit(resultTask(spinningJob, ['spin']));
      const queued = p.submit(resultTask(spinningJob, ['q']));
      expect(queued.cancel()).toBe(true);
      expect(await queued.outcome).toEqual({ kind: 'killed' });
      await waitFor(() => running.started(), 'the spinning task started');
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

  it('hands a worker up to maxBatch queued tasks at once, a fair share per free slot, each with its own answer', async () => {
    const p = new TaskPool({ slots: 2, workerPath, maxBatch: 4 });
    try {
      await p.ready();
      // Two in the queue, two free slots: one each.
      const pair = [p.submit(resultTask(probeJob, ['busy:150'])), p.submit(resultTask(probeJob, ['busy:150']))];
      await nextTurn();
      expect([p.runningCount, p.queuedCount]).toEqual([2, 0]);
      const rest = Array.from({ length: 10 }, (_, i) => p.submit(resultTask(probeJob, [`r${i}`])));
      await nextTurn();
      expect(p.queuedCount).toBe(10);
      const first = await Promise.race(pair.map((h) => h.outcome));
      expect(first.kind).toBe('ok');
      // The slot that freed took four of the ten (at most maxBatch), not one.
      expect(p.queuedCount).toBe(6);
      const outs = await Promise.all(rest.map((h) => h.outcome));
      expect(outs.map((o) => probed(o)[0])).toEqual(rest.map((_, i) => `r${i}`));
      // Queue time counts the wait behind earlier tasks of the batch too.
      expect((outs[9] as Ok).queueMs).toBeGreaterThan((outs[0] as Ok).queueMs);
      await Promise.all(pair.map((h) => h.outcome));
      expect([p.runningCount, p.queuedCount, p.freeSlots]).toEqual([0, 0, 2]);
    } finally {
      await p.close();
    }
  });

  it('batches by expected work: a node measured long sends its tasks one at a time, once measured tiny many at once', async () => {
    const p = new TaskPool({ slots: 1, workerPath, maxBatch: 8, batchTargetMs: 50 });
    try {
      await p.ready();
      // Not measured yet: the first task goes alone; the three queued behind it wait in the pool's queue.
      const long = p.submit(resultTask(probeJob, ['busy:400']));
      await nextTurn();
      const behind = ['x1', 'x2', 'x3'].map((x) => p.submit(resultTask(probeJob, [x])));
      await nextTurn();
      expect([p.runningCount, p.queuedCount]).toEqual([1, 3]);
      expect((await long.outcome).kind).toBe('ok');
      // Its node now expects ~400 ms a task, over the 50 ms target: the next goes alone, two stay queued (stealable).
      expect(p.queuedCount).toBe(2);
      await Promise.all(behind.map((h) => h.outcome));
      // Tiny tasks bring the node's average down (each weighs a quarter): 400 × 0.75^20 ≈ 1.3 ms.
      for (let i = 0; i < 20; i++) expect((await p.submit(resultTask(probeJob, [`t${i}`])).outcome).kind).toBe('ok');
      const tiny = Array.from({ length: 8 }, (_, i) => p.submit(resultTask(probeJob, [`y${i}`])));
      await nextTurn();
      // All eight in one message (their expected run times add up to well under 50 ms).
      expect([p.runningCount, p.queuedCount]).toEqual([1, 0]);
      const outs = await Promise.all(tiny.map((h) => h.outcome));
      expect(outs.map((o) => probed(o)[0])).toEqual(tiny.map((_, i) => `y${i}`));
    } finally {
      await p.close();
    }
  });

  it("times a task from the end of its worker's load of the job's code, and bounds the load on its own", async () => {
    // Loading takes ~400 ms (its top level keeps the thread busy); each task may run 150 ms.
    const slowLoad = (tag: string) =>
      inlineBundle(
        `slow-load-${tag}.js`,
        `const { defineJob } = require('rivulet');
         const end = Date.now() + 400; while (Date.now() < end);
         module.exports = { default: defineJob((ctx) => ctx.receiverStream('s').map((x) => x + '${tag}').output('o')) };`,
      );
    const p = new TaskPool({ slots: 1, workerPath, loadTimeoutMs: 5000 });
    try {
      await p.ready();
      const out = await p.submit({ ...resultTask(slowLoad('a'), ['x']), timeoutMs: 150 }).outcome;
      expect(out.kind).toBe('ok');
      expect(unpackRecords((out as Ok).result!)).toEqual(['xa']);
      // The load counted as the task's wait, not its run.
      expect((out as Ok).runMs).toBeLessThan(150);
      expect((out as Ok).queueMs).toBeGreaterThanOrEqual(300);
    } finally {
      await p.close();
    }
    const bounded = new TaskPool({ slots: 1, workerPath, loadTimeoutMs: 100 });
    try {
      await bounded.ready();
      const out = await bounded.submit({ ...resultTask(slowLoad('b'), ['x']), timeoutMs: 150 }).outcome;
      expect(out.kind).toBe('failed');
      expect((out as Extract<PoolOutcome, { kind: 'failed' }>).message).toMatch(/still loading the code of slow-load-b\.js after 100ms \(taskWorkerLoadTimeout\)/);
    } finally {
      await bounded.close();
    }
  });

  it('sends one task per message when batchTargetMs is 0, whatever maxBatch says', async () => {
    const p = new TaskPool({ slots: 1, workerPath, maxBatch: 8, batchTargetMs: 0 });
    try {
      await p.ready();
      for (let i = 0; i < 3; i++) expect((await p.submit(resultTask(probeJob, [`w${i}`])).outcome).kind).toBe('ok');
      const tasks = Array.from({ length: 4 }, (_, i) => p.submit(resultTask(probeJob, [`z${i}`])));
      await nextTurn();
      expect([p.runningCount, p.queuedCount]).toEqual([1, 3]);
      await Promise.all(tasks.map((h) => h.outcome));
    } finally {
      await p.close();
    }
  });

  it('takes back a task of a batch that has not started (it never runs), not one that has', async () => {
    const p = new TaskPool({ slots: 1, workerPath, maxBatch: 8 });
    try {
      await p.ready();
      const blocker = p.submit(resultTask(probeJob, ['busy:100']));
      const batch = [p.submit(resultTask(probeJob, ['busy:150'])), p.submit(resultTask(probeJob, ['b'])), p.submit(resultTask(probeJob, ['c']))];
      const runs = probed(await blocker.outcome)[2];
      // The three went to the worker as one batch; the first of them is running now.
      expect(p.queuedCount).toBe(0);
      await waitFor(() => batch[0]!.started(), 'the first task of the batch started');
      expect(batch[1]!.started()).toBe(false);
      expect(batch[0]!.cancelIfQueued()).toBe(false);
      expect(batch[1]!.cancelIfQueued()).toBe(true);
      expect(await batch[1]!.outcome).toEqual({ kind: 'killed' });
      expect(batch[1]!.cancelIfQueued()).toBe(false);
      expect(probed(await batch[0]!.outcome)[2]).toBe(runs + 1);
      // `b` never ran: `c` is the worker's next run after the first.
      expect(probed(await batch[2]!.outcome)).toEqual(['c', expect.any(Number), runs + 2]);
    } finally {
      await p.close();
    }
  });

  it('a worker whose first batch was all taken back still has the job for the next one (its code came with that batch)', async () => {
    // The delay holds the worker's first task back long enough to take it back before it starts.
    const p = new TaskPool({ slots: 1, workerPath, taskDelayMs: 300 });
    try {
      await p.ready();
      const first = p.submit(resultTask(probeJob, ['a']));
      // Handed to the worker (with the job's code), not started yet: taken back from its batch.
      await waitFor(() => p.queuedCount === 0, 'the task went to the worker');
      expect(first.started()).toBe(false);
      expect(first.cancelIfQueued()).toBe(true);
      expect(await first.outcome).toEqual({ kind: 'killed' });
      const next = await p.submit(resultTask(probeJob, ['b'])).outcome;
      expect(next).toMatchObject({ kind: 'ok' });
      expect(probed(next)[0]).toBe('b');
    } finally {
      await p.close();
    }
  });

  it('a killed running task answers KILLED at once; its worker is kept when it ends within the grace, replaced when it does not', async () => {
    const p = new TaskPool({ slots: 1, workerPath, killGraceMs: 1500 });
    try {
      await p.ready();
      const thread = probed(await p.submit(resultTask(probeJob, ['a'])).outcome)[1];
      const short = p.submit(resultTask(probeJob, ['busy:500']));
      await waitFor(() => short.started(), 'the short task started');
      expect(short.cancel()).toBe(true);
      expect(await short.outcome).toEqual({ kind: 'killed' });
      // It finished within the grace: the same worker takes the next task.
      expect(probed(await p.submit(resultTask(probeJob, ['b'])).outcome)[1]).toBe(thread);

      const stuck = p.submit(resultTask(probeJob, ['spin']));
      const behind = p.submit(resultTask(probeJob, ['c']));
      await waitFor(() => stuck.started(), 'the spinning task started');
      const t0 = performance.now();
      expect(stuck.cancel()).toBe(true);
      expect(await stuck.outcome).toEqual({ kind: 'killed' });
      expect(p.freeSlots).toBe(0); // its worker still spins, within the grace
      const next = await behind.outcome;
      expect(performance.now() - t0).toBeGreaterThanOrEqual(1490);
      expect(probed(next)[1]).not.toBe(thread); // a fresh worker
    } finally {
      await p.close();
    }
  });

  it('a killed task stops at its next look at the kill (every 1024 records) and its worker, warm, takes the next task', async () => {
    const p = new TaskPool({ slots: 1, workerPath, killGraceMs: 10_000 });
    try {
      await p.ready();
      const thread = probed(await p.submit(resultTask(probeJob, ['a'])).outcome)[1];
      // 5000 records of 1 ms each: ~5 s if it ran to the end.
      const long = p.submit(resultTask(probeJob, Array.from({ length: 5000 }, () => 'busy:1')));
      const behind = p.submit(resultTask(probeJob, ['b']));
      await waitFor(() => long.started(), 'the long task started');
      const t0 = performance.now();
      expect(long.cancel()).toBe(true);
      expect(await long.outcome).toEqual({ kind: 'killed' });
      const next = probed(await behind.outcome);
      // Within ~1024 records (~1 s), far inside the 10 s grace, and on the same worker: not replaced.
      expect(performance.now() - t0).toBeLessThan(4_000);
      expect(next[1]).toBe(thread);
    } finally {
      await p.close();
    }
  });

  it('times a task out from its own start within a batch, and runs the rest of the batch again on a fresh worker', async () => {
    const timeouts: string[] = [];
    const p = new TaskPool({ slots: 1, workerPath, maxBatch: 8, onTaskTimeout: (i) => timeouts.push(i.operator) });
    try {
      await p.ready();
      const blocker = p.submit(resultTask(probeJob, ['busy:50']));
      const t0 = performance.now();
      const before = p.submit({ ...resultTask(probeJob, ['busy:300']), timeoutMs: 5_000 });
      const spin = p.submit({ ...resultTask(probeJob, ['spin']), timeoutMs: 300 });
      const after = p.submit({ ...resultTask(probeJob, ['d']), timeoutMs: 5_000 });
      await blocker.outcome;
      expect(probed(await before.outcome)[0]).toBe('busy:300');
      const out = await spin.outcome;
      // 300 ms of its own after the 300 ms task before it in its batch.
      expect(performance.now() - t0).toBeGreaterThanOrEqual(580);
      expect(out).toMatchObject({ kind: 'failed', timedOut: true, message: expect.stringMatching(/timed out after 300ms .*map \(node 1\) of prober\.js/) });
      expect(timeouts).toEqual(['map (node 1)']);
      expect(probed(await after.outcome)).toEqual(['d', expect.any(Number), 1]); // a fresh worker's first run
    } finally {
      await p.close();
    }
  });

  it('times out a task its worker never starts (job code spinning in a timer between tasks), and replaces the worker', async () => {
    // The timer leaves a mark before it spins, so the test knows the worker is stuck.
    const mark = join(mkdtempSync(join(tmpdir(), 'rivulet-pool-')), 'spinning');
    const timerJob = inlineBundle(
      'timer-spinner.js',
      `const { defineJob } = require('rivulet');
       const { writeFileSync } = require('node:fs');
       module.exports = { default: defineJob((ctx) => ctx.receiverStream('s').map((x) => {
         if (x === 'arm') setTimeout(() => { writeFileSync(${JSON.stringify(mark)}, 'x'); for (;;) {} }, 0);
         return x;
       }).output('o')) };`,
    );
    const p = new TaskPool({ slots: 1, workerPath });
    try {
      await p.ready();
      expect((await p.submit(resultTask(timerJob, ['arm'])).outcome).kind).toBe('ok');
      await waitFor(() => existsSync(mark), 'the worker spins in its job’s timer');
      // This task is handed to the stuck worker and never starts.
      const t0 = performance.now();
      const stuck = await p.submit({ ...resultTask(timerJob, ['a']), timeoutMs: 400 }).outcome;
      expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
      expect(stuck).toMatchObject({ kind: 'failed', timedOut: true, message: expect.stringMatching(/timed out after 400ms/) });
      const after = await p.submit(resultTask(timerJob, ['b'])).outcome;
      expect(after.kind).toBe('ok');
    } finally {
      await p.close();
    }
  });

  it('reuses the input buffers workers hand back; a binary value a job keeps across tasks stays whole', async () => {
    // Every record holds 100 kB of binary: each task's input is pooled (input-buffers.ts). The job keeps every
    // value it sees and reports, per record, what it holds — a value decoded as a view into a reused input
    // buffer would be detached (length 0) or overwritten by a later task's input.
    const keeper = inlineBundle(
      'keeper.js',
      `const { defineJob } = require('rivulet');
       const kept = [];
       module.exports = { default: defineJob((ctx) => ctx.receiverStream('s').map((r) => {
         kept.push(r.bin);
         return [r.id, kept.length, kept.reduce((n, b) => n + b.length, 0), kept.map((b) => b[0] + b[b.length - 1])];
       }).output('o')) };`,
    );
    const p = new TaskPool({ slots: 1, workerPath, maxBatch: 1 });
    try {
      await p.ready();
      for (let id = 1; id <= 6; id++) {
        const out = await p.submit(resultTask(keeper, [{ id, bin: Buffer.alloc(100_000, id) }])).outcome;
        expect(out.kind).toBe('ok');
        const [[gotId, count, bytes, ends]] = unpackRecords((out as Ok).result!) as Array<[number, number, number, number[]]>;
        expect([gotId, count, bytes]).toEqual([id, id, id * 100_000]);
        expect(ends).toEqual(Array.from({ length: id }, (_, i) => 2 * (i + 1)));
      }
      // The first task's buffer came fresh; the later ones found theirs handed back.
      expect(p.inputBuffers.fresh).toBeGreaterThanOrEqual(1);
      expect(p.inputBuffers.reused).toBeGreaterThanOrEqual(4);
      expect(p.inputBuffers.heldBytes).toBeGreaterThan(0);
    } finally {
      await p.close();
    }
  });

  it("fails the task a worker crashed under; the rest of its batch runs again on a fresh worker", async () => {
    const exits: number[] = [];
    const p = new TaskPool({ slots: 1, workerPath, maxBatch: 8, onWorkerExit: (i) => exits.push(i.exitCode) });
    try {
      await p.ready();
      const blocker = p.submit(resultTask(probeJob, ['busy:50']));
      const batch = ['a', 'crash', 'b'].map((x) => p.submit(resultTask(probeJob, [x])));
      await blocker.outcome;
      const [a, crash, b] = await Promise.all(batch.map((h) => h.outcome));
      expect(crash).toMatchObject({ kind: 'failed', message: expect.stringMatching(/task worker crashed.*exit code 7.*replaced/) });
      expect(probed(a!)[0]).toBe('a');
      expect(probed(b!)[0]).toBe('b');
      expect(exits).toEqual([7]);
      expect(p.freeSlots).toBe(1);
    } finally {
      await p.close();
    }
  });
});
