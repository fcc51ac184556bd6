/**
 * The planner and the task runtime on their own, for the stateless D-Stream
 * operators: a whole batch is planned (planBatch), every task's inputs are
 * resolved with planTask exactly as the scheduler does, and tasks run in
 * process with runTask, shuffle buckets passed by global map partition.
 * The distributed path is covered by tests/conformance.
 */
import { describe, expect, it } from 'vitest';
import { packRecords, unpackRecords } from '../../lib/codec/records.js';
import { StreamingContext, type DStream } from '../../lib/dstream/api.js';
import { JobGraph } from '../../lib/dstream/graph.js';
import { BatchPlanError, planBatch, planTask, type BatchPlan } from '../../lib/dstream/planner.js';
import { runTask, sourceKey } from '../../lib/dstream/runtime.js';

/** Build a graph with `build`, run one batch over `inputs` (blocks per stream) and return each output's records. */
function runBatch(
  build: (ctx: StreamingContext) => void,
  inputs: Record<string, unknown[][]>,
  parallelism = 3,
): { outputs: Record<string, unknown[]>; plan: BatchPlan; graph: JobGraph } {
  const graph = new JobGraph();
  build(new StreamingContext(graph));
  const plan = planBatch(graph, new Map(Object.entries(inputs).map(([s, b]) => [s, b.length])), parallelism);
  // shuffle node → global map partition → buckets
  const mapOutputs = new Map<number, Map<number, Uint8Array[]>>();
  const outputs: Record<string, unknown[]> = {};
  for (const stage of plan.stages) {
    const results: unknown[] = [];
    for (let q = 0; q < stage.numPartitions; q++) {
      const tp = planTask(graph, plan, stage, q);
      const blocks = new Map<string, Uint8Array>();
      for (const b of tp.blocks) {
        const node = graph.node(b.nodeId);
        if (node.kind !== 'source') throw new Error('not a source');
        blocks.set(sourceKey(b.nodeId, b.partition), packRecords(inputs[node.stream]![b.partition]!));
      }
      const shuffles = new Map<number, Uint8Array[]>();
      for (const s of tp.shuffles) {
        const outs = [...(mapOutputs.get(s.nodeId) ?? new Map<number, Uint8Array[]>())].sort(([a], [b]) => a - b);
        shuffles.set(s.nodeId, outs.map(([, buckets]) => buckets[s.reducePartition]!));
      }
      const taskInputs = { blocks, shuffles, partitions: plan.partitions };
      if (stage.kind === 'shuffleMap') {
        const out = runTask(graph, tp.nodeId, tp.partition, taskInputs, {
          kind: 'shuffle',
          shuffleNodeId: stage.shuffleNode!,
          numPartitions: plan.partitions[stage.shuffleNode!]!,
        });
        const m = mapOutputs.get(stage.shuffleNode!) ?? new Map<number, Uint8Array[]>();
        m.set(tp.mapPartitionOffset + tp.partition, out.buckets!);
        mapOutputs.set(stage.shuffleNode!, m);
      } else {
        results.push(...unpackRecords(runTask(graph, tp.nodeId, tp.partition, taskInputs, { kind: 'result' }).result!));
      }
    }
    if (stage.kind === 'result') {
      const node = graph.node(stage.outputNode!);
      if (node.kind === 'output') outputs[node.name] = results;
    }
  }
  return { outputs, plan, graph };
}

const sorted = (xs: unknown[]) => [...xs].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

describe('planner: multi-parent nodes', () => {
  it('union concatenates partitions (narrow, offset mapping) and stays in one stage', () => {
    const { outputs, plan } = runBatch(
      (ctx) => ctx.queueStream<number>('a').union(ctx.queueStream<number>('b'), ctx.queueStream<number>('c')).glom().output('o'),
      { a: [[1], [2, 3]], b: [[4]], c: [[], [5], [6]] },
    );
    expect(plan.stages).toHaveLength(1);
    expect(plan.partitions[3]).toBe(6);
    expect(outputs.o).toEqual([[1], [2, 3], [4], [], [5], [6]]);
    expect(plan.datasets[3]).toMatchObject({ operator: 'union', dependency: 'NARROW', parents: [0, 1, 2], numPartitions: 6 });
  });

  it('planTask maps each task to one (source, partition) through unions', () => {
    const graph = new JobGraph();
    const ctx = new StreamingContext(graph);
    ctx.queueStream('a').map((x) => x).union(ctx.queueStream('b')).output('o');
    const plan = planBatch(graph, new Map([['a', 2], ['b', 1]]), 2);
    const stage = plan.stages[0]!;
    expect([0, 1, 2].map((q) => planTask(graph, plan, stage, q).blocks)).toEqual([
      [{ nodeId: 0, partition: 0 }],
      [{ nodeId: 0, partition: 1 }],
      [{ nodeId: 2, partition: 0 }],
    ]);
  });

  it('cogroup/join is one shuffle-map stage with a side per parent, tasks numbered globally', () => {
    const { plan, outputs } = runBatch(
      (ctx) => {
        const a = ctx.queueStream<[string, number]>('a');
        const b = ctx.queueStream<[string, string]>('b');
        a.join(b, 2).output('o');
      },
      { a: [[['k', 1], ['x', 2]], [['k', 3]]], b: [[['k', 'v']], [], [['y', 'w']]] },
    );
    const map = plan.stages.find((s) => s.kind === 'shuffleMap')!;
    expect(map.sides).toEqual([
      { nodeId: 0, offset: 0, numPartitions: 2 },
      { nodeId: 1, offset: 2, numPartitions: 3 },
    ]);
    expect(map.numPartitions).toBe(5);
    expect(sorted(outputs.o!)).toEqual([['k', [1, 'v']], ['k', [3, 'v']]]);
  });

  it('a self-join and a self-union get an identity alias, so no node lists a parent twice', () => {
    const { outputs, graph } = runBatch(
      (ctx) => {
        const a = ctx.queueStream<[string, number]>('a');
        a.join(a).output('j');
        a.union(a).output('u');
      },
      { a: [[['k', 1]], [['k', 2]]] },
    );
    for (const n of graph.nodes) if (n.kind === 'shuffle' || n.kind === 'union') expect(new Set(n.parents).size).toBe(n.parents.length);
    expect(sorted(outputs.j!)).toEqual(sorted([['k', [1, 1]], ['k', [1, 2]], ['k', [2, 1]], ['k', [2, 2]]]));
    expect(outputs.u).toEqual([['k', 1], ['k', 2], ['k', 1], ['k', 2]]);
  });
});

describe('planner: streams that generate no dataset (null input)', () => {
  const build = (f: (ctx: StreamingContext) => void) => {
    const graph = new JobGraph();
    f(new StreamingContext(graph));
    return graph;
  };

  it('outputs over a queue stream absent from the batch get no stage; an empty one still runs', () => {
    const graph = build((ctx) => {
      const a = ctx.queueStream<number>('a');
      a.map((x) => [x, 1] as [number, number]).reduceByKey((x, y) => x + y).output('r');
      ctx.queueStream('b').output('b');
    });
    const absent = planBatch(graph, new Map([['b', 0]]), 2);
    expect(absent.stages.map((s) => s.outputNode)).toEqual([5]);
    expect(absent.partitions).toEqual([0, 0, 0, 0, 0, 0]);
    const empty = planBatch(graph, new Map([['a', 0], ['b', 0]]), 2);
    expect(empty.stages.map((s) => s.kind)).toEqual(['shuffleMap', 'result', 'result']);
  });

  it('strict operators (union, cogroup, count, repartition, transform) fail the batch, only when an output needs them', () => {
    const graph = build((ctx) => {
      const a = ctx.queueStream<number>('a');
      const b = ctx.queueStream<number>('b');
      a.union(b).output('u');
    });
    expect(() => planBatch(graph, new Map([['b', 1]]), 2)).toThrow(BatchPlanError);
    expect(() => planBatch(graph, new Map([['b', 1]]), 2)).toThrow(/union \(node 2\) needs a dataset from each of its parents, but queueStream\(a\) \(node 0\) generated none/);
    const unused = build((ctx) => {
      const a = ctx.queueStream<number>('a');
      a.count();
      a.output('a');
    });
    expect(planBatch(unused, new Map(), 2).stages).toEqual([]);
    for (const op of [(s: DStream<number>) => s.count(), (s: DStream<number>) => s.repartition(2), (s: DStream<number>) => s.transform((d) => d)]) {
      const g = build((ctx) => op(ctx.queueStream<number>('a')).output('o'));
      expect(() => planBatch(g, new Map(), 2)).toThrow(/generated none in this batch/);
    }
  });
});

describe('runtime: operators batch by batch', () => {
  const one = (build: (s: DStream<unknown>) => DStream<unknown>, blocks: unknown[][], parallelism = 3) =>
    runBatch((ctx) => build(ctx.queueStream('in')).output('o'), { in: blocks }, parallelism).outputs.o!;

  it('count: [n], and [0] for an empty batch (no partitions or empty ones)', () => {
    expect(one((s) => s.count(), [[1, 2], [3]])).toEqual([3]);
    expect(one((s) => s.count(), [])).toEqual([0]);
    expect(one((s) => s.count(), [[], []])).toEqual([0]);
  });

  it('reduce: one record, nothing for an empty batch', () => {
    expect(one((s) => (s as DStream<number>).reduce((a, b) => a + b), [[1, 2], [3]])).toEqual([6]);
    expect(one((s) => (s as DStream<number>).reduce((a, b) => a + b), [[], []])).toEqual([]);
  });

  it('countByValue with structural keys (tuples), combined map-side', () => {
    const out = one((s) => s.countByValue(), [[['a', 1], 'a', ['a', 1]], [['a', 1], 1, '1']]);
    expect(sorted(out)).toEqual(sorted([[['a', 1], 3], ['a', 1], [1, 1], ['1', 1]]));
  });

  it('combineByKey: createCombiner / mergeValue / mergeCombiners (average)', () => {
    const out = one(
      (s) =>
        (s as DStream<[string, number]>).combineByKey(
          (v) => [v, 1] as [number, number],
          (c, v) => [c[0] + v, c[1] + 1] as [number, number],
          (x, y) => [x[0] + y[0], x[1] + y[1]] as [number, number],
          2,
        ),
      [[['a', 1], ['a', 3], ['b', 5]], [['a', 2]]],
    );
    expect(sorted(out)).toEqual([['a', [6, 3]], ['b', [5, 1]]]);
  });

  it('groupByKey keeps values in map-partition order', () => {
    const out = one((s) => (s as DStream<[string, number]>).groupByKey(1), [[['a', 1], ['b', 2]], [['a', 3]]]);
    expect(sorted(out)).toEqual([['a', [1, 3]], ['b', [2]]]);
  });

  it('repartition(n) gives n partitions holding every record once', () => {
    const input = [Array.from({ length: 50 }, (_, i) => i), Array.from({ length: 50 }, (_, i) => 50 + i)];
    const out = one((s) => s.repartition(5).glom(), input) as number[][];
    expect(out).toHaveLength(5);
    expect(out.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (const p of out) expect(p.length).toBe(20);
  });

  it('glom gives one array per partition, empty ones included', () => {
    expect(one((s) => s.glom(), [[1, 2], [], [3]])).toEqual([[1, 2], [], [3]]);
    expect(one((s) => s.glom(), [])).toEqual([]);
  });

  it('outer joins use null for the missing side; cogroup lists both sides', () => {
    const run = (op: 'leftOuterJoin' | 'rightOuterJoin' | 'fullOuterJoin' | 'cogroup') =>
      sorted(
        runBatch(
          (ctx) => {
            const a = ctx.queueStream<[string, number]>('a');
            const b = ctx.queueStream<[string, string]>('b');
            (a[op] as (o: unknown) => DStream<unknown>).call(a, b).output('o');
          },
          { a: [[['both', 1], ['left', 2]]], b: [[['both', 'x']], [['right', 'y']]] },
        ).outputs.o!,
      );
    expect(run('leftOuterJoin')).toEqual([['both', [1, 'x']], ['left', [2, null]]]);
    expect(run('rightOuterJoin')).toEqual([['both', [1, 'x']], ['right', [null, 'y']]]);
    expect(run('fullOuterJoin')).toEqual([['both', [1, 'x']], ['left', [2, null]], ['right', [null, 'y']]]);
    expect(run('cogroup')).toEqual([['both', [[1], ['x']]], ['left', [[2], []]], ['right', [[], ['y']]]]);
  });

  it('transform builds a sub-graph of ordinary nodes; transformWith combines two streams', () => {
    const { outputs } = runBatch(
      (ctx) => {
        const a = ctx.queueStream<string>('a');
        const b = ctx.queueStream<string>('b');
        a.transform((ds) => ds.map((w): [string, number] => [w, 1]).reduceByKey((x, y) => x + y)).output('t');
        a.transformWith(b, (x, y) => x.union(y).count()).output('tw');
      },
      { a: [['p', 'q', 'p']], b: [['r'], ['s']] },
    );
    expect(sorted(outputs.t!)).toEqual([['p', 2], ['q', 1]]);
    expect(outputs.tw).toEqual([5]);
  });

  it('ctx.transform combines the datasets of several streams, typed stream by stream', () => {
    const { outputs } = runBatch(
      (ctx) => {
        const a = ctx.queueStream<string>('a');
        const b = ctx.queueStream<number>('b');
        const c = ctx.queueStream<string>('c');
        ctx
          .transform([a, b, c], ([x, y, z]) =>
            x
              .map((s) => s.length)
              .union(y)
              .union(z.map((s) => -s.length)),
          )
          .output('all');
      },
      { a: [['pp', 'q']], b: [[10, 20]], c: [['rrr']] },
    );
    expect([...outputs.all!].sort((p, q) => (p as number) - (q as number))).toEqual([-3, 1, 2, 10, 20]);
  });

  it('ctx.transform refuses no streams, a stream of another job, outputs inside and a foreign return value', () => {
    const ctx = new StreamingContext(new JobGraph());
    const other = new StreamingContext(new JobGraph()).queueStream('x');
    const a = ctx.queueStream('a');
    expect(() => ctx.transform([], () => a)).toThrow(/non-empty array/);
    expect(() => ctx.transform([a, other], ([x]) => x)).toThrow(/DStream of this job/);
    expect(() =>
      ctx.transform([a], ([x]) => {
        x.output('nope');
        return x;
      }),
    ).toThrow(/cannot be called inside transform/);
    expect(() => ctx.transform([a], () => 42 as never)).toThrow(/must return a dataset/);
  });

  it('refuses outputs inside transform and a foreign return value', () => {
    const graph = new JobGraph();
    const ctx = new StreamingContext(graph);
    const a = ctx.queueStream('a');
    expect(() =>
      a.transform((ds) => {
        ds.output('x');
        return ds;
      }),
    ).toThrow(/cannot be called inside transform/);
    expect(() => a.transform(() => 42 as never)).toThrow(/must return a dataset/);
    expect(() => ctx.receiverStream('a')).toThrow(/already reads queueStream/);
  });

  it('names the operator whose user function threw, also inside combineByKey', () => {
    expect(() =>
      one(
        (s) =>
          (s as DStream<[string, number]>).reduceByKey(() => {
            throw new Error('boom');
          }),
        [[['a', 1], ['a', 2]]],
      ),
    ).toThrow(/user function of reduceByKey \(node 1\) threw Error: boom/);
    expect(() => one((s) => (s as DStream<[unknown, unknown]>).groupByKey(), [[1]])).toThrow(/groupByKey needs \[key, value\] pairs, got 1/);
  });
});
