/**
 * Windows in the planner and the runtime, in process: batches are planned
 * one after another with a WindowContext backed by an in-memory cache of
 * persisted partitions (what the scheduler's registry does across executors),
 * every task's inputs resolved with planTask and run with runTask. The
 * distributed path is covered by tests/conformance/windows.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { StreamingContext } from '../../lib/dstream/api.js';
import { JobDefinitionError } from '../../lib/dstream/errors.js';
import { JobGraph } from '../../lib/dstream/graph.js';
import { cacheRetention, cachedNodes, nodeSlides, planBatch, planTask } from '../../lib/dstream/planner.js';
import { runWindowed } from '../helpers/in-process-job.js';

const sortRecs = (r: unknown[]) => [...r].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

describe('window planning', () => {
  it('persists the window parent every batch and runs outputs only at slide times', () => {
    const { outputs, plans } = runWindowed((ctx) => ctx.queueStream<number>('n').window('3s', '2s').output('w'), { n: [[1], [2], [3], [4], [5]] }, 6);
    expect(outputs.w).toEqual({ 2: [1, 2], 4: [2, 3, 4], 6: [4, 5] });
    for (const plan of plans) expect(plan.stages.filter((s) => s.kind === 'persist').map((s) => s.persistNode)).toEqual([0]);
    // Batch 1: only the persist stage. Batch 2: the result stage waits for this batch's persist stage.
    expect(plans[0]!.stages.map((s) => s.kind)).toEqual(['persist']);
    const result = plans[1]!.stages.find((s) => s.kind === 'result')!;
    expect(result.parentStages.map((p) => plans[1]!.stages[p]!.kind)).toEqual(['persist']);
    expect(plans[1]!.windows.get(1)!.slices.map((d) => d.batchTimeMs)).toEqual([1000, 2000]);
    expect(plans[1]!.partitions[1]).toBe(4);
  });

  it('window task blocks name earlier batches and runtime keys', () => {
    const { plans, graph } = runWindowed((ctx) => ctx.queueStream<number>('n').window(2000).output('w'), { n: [[1, 2], [3, 4]] }, 2);
    const plan = plans[1]!;
    const stage = plan.stages.find((s) => s.kind === 'result')!;
    expect([0, 1, 2, 3].map((p) => planTask(graph, plan, stage, p).blocks[0])).toEqual([
      { nodeId: 0, partition: 0, batchTimeMs: 1000, key: '1:0' },
      { nodeId: 0, partition: 1, batchTimeMs: 1000, key: '1:1' },
      { nodeId: 0, partition: 0, batchTimeMs: 2000, key: '1:2' },
      { nodeId: 0, partition: 1, batchTimeMs: 2000, key: '1:3' },
    ]);
  });

  it('reduceByKeyAndWindow with an inverse matches Spark, keeping keys at 0 unless filtered', () => {
    const input = [[['a', 1]], [['a', 1], ['b', 1]], [['a', 1], ['b', 1], ['c', 1]], [['a', 1], ['b', 1]], [['a', 1]], []];
    const add = (x: number, y: number) => x + y;
    const sub = (x: number, y: number) => x - y;
    const { outputs } = runWindowed(
      (ctx) => {
        const p = ctx.queueStream<[string, number]>('p');
        p.reduceByKeyAndWindow(add, sub, '2s', '1s').output('inv');
        p.reduceByKeyAndWindow(add, sub, '2s', '1s', 2, ([, v]) => v !== 0).output('filtered');
        p.reduceByKeyAndWindow(add, '2s').output('plain');
      },
      { p: input },
      6,
      3, // the inverse window's partitions differ from parallelism for 'filtered': read whole and filtered by key
    );
    const inv = Object.values(outputs.inv!).map(sortRecs);
    expect(inv[4]).toEqual([['a', 2], ['b', 1], ['c', 0]]);
    expect(inv[5]).toEqual([['a', 1], ['b', 0], ['c', 0]]);
    expect(Object.values(outputs.filtered!).map(sortRecs)).toEqual(Object.values(outputs.plain!).map(sortRecs));
  });

  it('an inverse window gives the same results when the parallelism changes between batches (executors join or leave)', () => {
    const words = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const input = Array.from({ length: 10 }, (_, i) => Array.from({ length: 12 }, (_, j): [string, number] => [words[(i * 5 + j * 3) % 8]!, 1 + (j % 3)]));
    const add = (x: number, y: number) => x + y;
    const sub = (x: number, y: number) => x - y;
    const job = (ctx: StreamingContext) => ctx.queueStream<[string, number]>('p').reduceByKeyAndWindow(add, sub, '3s', '1s').output('w');
    const steady = runWindowed(job, { p: input }, 10, 4);
    const changing = runWindowed(job, { p: input }, 10, { parallelismAt: (batch) => [4, 4, 2, 4, 3, 1, 4, 2, 2, 4][batch - 1]! });
    expect(changing.plans.map((p) => p.partitions[2])).toEqual([4, 4, 2, 4, 3, 1, 4, 2, 2, 4]);
    for (let b = 1; b <= 10; b++) expect(sortRecs(changing.outputs.w![b]!), `batch ${b}`).toEqual(sortRecs(steady.outputs.w![b]!));
  });

  it('countByWindow and reduceByWindow follow Spark on empty windows', () => {
    const { outputs } = runWindowed(
      (ctx) => {
        const n = ctx.queueStream<number>('n');
        n.countByWindow('2s', '1s').output('c');
        n.reduceByWindow((a, b) => a + b, '2s', '1s').output('r');
      },
      { n: [[1], [1], [1, 2], [0], [], []] },
      6,
    );
    expect(Object.values(outputs.c!)).toEqual([[1], [2], [3], [3], [1], [0]]);
    expect(Object.values(outputs.r!)).toEqual([[1], [2], [4], [3], [0], []]);
  });
});

describe('windows of windows', () => {
  it('a window over a window reads the inner window at the inner slide times (Spark)', () => {
    const { outputs, plans } = runWindowed((ctx) => ctx.queueStream<number>('n').window('2s').window('4s', '2s').output('w'), { n: [[1], [2], [3], [4]] }, 4);
    expect(Object.fromEntries(Object.entries(outputs.w!).map(([t, r]) => [t, [...(r as number[])].sort()]))).toEqual({
      2: [1, 1, 2],
      4: [1, 1, 2, 2, 3, 3, 4],
    });
    // The inner window is persisted every batch (its slide), the source too.
    expect(plans[2]!.persisted).toEqual([0, 1]);
  });
});

describe('window validation and retention', () => {
  it('refuses durations that are not multiples of the parent slide, and mixed slides', () => {
    const g1 = new JobGraph();
    new StreamingContext(g1).queueStream('n').window('2500ms').output('w');
    expect(() => nodeSlides(g1, 1000)).toThrow(JobDefinitionError);
    expect(() => nodeSlides(g1, 1000)).toThrow(/window duration 2500 ms must be a multiple of the parent's slide duration 1000 ms/);
    expect(() => nodeSlides(g1, 500)).not.toThrow();
    const g2 = new JobGraph();
    const n = new StreamingContext(g2).queueStream<number>('n');
    n.window('4s', '2s').union(n).output('u');
    expect(() => nodeSlides(g2, 1000)).toThrow(/different slide durations/);
    const g3 = new JobGraph();
    new StreamingContext(g3).queueStream('n').window('4s', '2s').window('6s', '3s').output('w');
    expect(() => nodeSlides(g3, 1000)).toThrow(/slide duration 3000 ms must be a multiple of the parent's slide duration 2000 ms/);
    expect(() => new StreamingContext(new JobGraph()).queueStream('n').window('soon')).toThrow(JobDefinitionError);
  });

  it('keeps a window parent for the window length, and an inverse window one slide longer plus its own last result', () => {
    const g = new JobGraph();
    const n = new StreamingContext(g).queueStream<[string, number]>('n');
    n.window('3s').output('w'); // parent 0, window 1, output 2
    n.reduceByKeyAndWindow((a, b) => a + b, (a, b) => a - b, '4s', '2s').output('r'); // reduceByKey 3, window 4
    expect(cachedNodes(g)).toEqual([0, 3, 4]);
    expect([...cacheRetention(g, 1000)].sort()).toEqual([
      [0, 3000],
      [3, 6000],
      [4, 2000],
    ]);
  });

  it('a window job planned without a window context is refused', () => {
    const g = new JobGraph();
    new StreamingContext(g).queueStream('n').window(2000).output('w');
    expect(() => planBatch(g, new Map([['n', 1]]), 2)).toThrow(/window context/);
  });
});
