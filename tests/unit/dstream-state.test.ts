/**
 * updateStateByKey / mapWithState in the planner and the runtime, in process
 * (tests/helpers/in-process-job.ts): how a state batch is staged, what
 * lineage is told, and that a state rebuilt from a checkpoint by replaying
 * the values since equals the state computed batch by batch. Spark's
 * semantics batch by batch are in tests/conformance/state.test.ts; the
 * distributed recovery in tests/chaos/state-checkpoint.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { StateSpec, type StreamingContext } from '../../lib/dstream/api.js';
import type { JobGraph } from '../../lib/dstream/graph.js';
import { cachedInputKey, planTask, STATE_KEYS, type BatchPlan } from '../../lib/dstream/planner.js';
import { I, runWindowed } from '../helpers/in-process-job.js';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const sortRecs = (r: unknown[] = []) => [...r].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

function runningCount(ctx: StreamingContext): void {
  const pairs = ctx.queueStream<string>('w').map((w): [string, number] => [w, 1]);
  pairs.updateStateByKey((vs: number[], s: number | undefined) => sum(vs) + (s ?? 0)).output('totals');
}

function sessions(ctx: StreamingContext): void {
  const pairs = ctx.queueStream<string>('w').map((w): [string, number] => [w, 1]);
  const mapped = pairs.mapWithState(
    StateSpec.function((k: string, v: number | undefined, state) => {
      if (state.isTimingOut()) return [k, 'end', state.get()];
      state.update(((state.getOption() as number) ?? 0) + (v ?? 0));
      return undefined;
    }).timeout('2s'),
  );
  mapped.output('ended');
  mapped.stateSnapshots().output('open');
}

describe('state planning', () => {
  it('groups the values, persists them and the state, and outputs read the state from its cached blocks', () => {
    const { plans, graph } = runWindowed(runningCount, { w: [['a', 'b', 'a'], ['a']] }, 2);
    const plan = plans[1]!;
    // map side of the values → values (persist) → state (persist) → output.
    expect(plan.stages.map((s) => s.kind)).toEqual(['shuffleMap', 'persist', 'persist', 'result']);
    const [, values, state, result] = plan.stages;
    expect(graph.node(values!.persistNode!).kind).toBe('shuffle');
    expect(graph.node(state!.persistNode!).kind).toBe('state');
    expect(state!.parentStages).toEqual([values!.id]);
    expect(result!.parentStages).toEqual([state!.id]);
    // The state task reads the previous state and this batch's values; the output reads the new state, cached.
    expect(planTaskKeys(plan, graph, state!.id, 0)).toEqual([STATE_KEYS.previous, STATE_KEYS.values]);
    expect(planTaskKeys(plan, graph, result!.id, 0)).toEqual([cachedInputKey(state!.persistNode!, 0)]);
    // Lineage: a narrow dependency on the values and on the previous batch's state.
    const ds = plan.datasets.find((d) => d.nodeId === state!.persistNode)!;
    expect(ds).toMatchObject({ dependency: 'NARROW', parents: [values!.persistNode], earlierParents: [{ nodeId: state!.persistNode, batchTimeMs: I }] });
    // The first batch starts from nothing: no previous state to read.
    expect(plans[0]!.states.get(state!.persistNode!)!.previous).toBeUndefined();
  });

  it('keeps the partition count the state started with when the parallelism changes', () => {
    const { plans, graph } = runWindowed(runningCount, { w: [['a'], ['b'], ['c']] }, 3, { parallelismAt: (batch) => batch + 1 });
    const stateId = graph.nodes.find((n) => n.kind === 'state')!.id;
    const valuesId = stateId - 1;
    expect(plans.map((p) => p.partitions[stateId])).toEqual([2, 2, 2]);
    // Its values are partitioned the same way, so partition p reads partition p.
    expect(plans.map((p) => p.partitions[valuesId])).toEqual([2, 2, 2]);
    // A plain reduceByKey follows the parallelism.
    const plain = runWindowed((ctx) => ctx.queueStream<string>('w').map((w): [string, number] => [w, 1]).reduceByKey((a, b) => a + b).output('c'), { w: [['a'], ['b']] }, 2, {
      parallelismAt: (batch) => batch + 1,
    });
    expect(plain.plans.map((p) => p.partitions[2])).toEqual([2, 3]);
  });

  it('checkpoints every checkpointIntervalMs after the zero time, once the state exists', () => {
    const { plans, graph } = runWindowed(runningCount, { w: [] }, 7, { checkpointIntervalMs: 3 * I });
    const stateId = graph.nodes.find((n) => n.kind === 'state')!.id;
    // Empty batches are datasets: the state starts at batch 1 and checkpoints at 3 and 6.
    expect(plans.map((p) => p.states.get(stateId)?.checkpoint)).toEqual([false, false, true, false, false, true, false]);
    // An updateStateByKey whose input generated no dataset yet has no state to checkpoint.
    const none = runWindowed(runningCount, { w: [null, null, null, ['a']] }, 4, { checkpointIntervalMs: 3 * I });
    expect(none.plans.map((p) => p.states.get(stateId)?.checkpoint)).toEqual([undefined, undefined, undefined, false]);
  });
});

describe('state runtime', () => {
  it('updateStateByKey keeps running totals, also over batches without a dataset', () => {
    const { outputs } = runWindowed(runningCount, { w: [['a', 'b', 'a'], null, ['b'], []] }, 4);
    expect(Object.fromEntries(Object.entries(outputs.totals!).map(([b, r]) => [b, sortRecs(r)]))).toEqual({
      1: [['a', 2], ['b', 1]],
      2: [['a', 2], ['b', 1]],
      3: [['a', 2], ['b', 2]],
      4: [['a', 2], ['b', 2]],
    });
  });

  it('updateStateByKey takes its initial state in the options or positionally, as Spark (fn, numPartitions, initialRDD)', () => {
    const input = { w: [['a', 'b'], null, ['a']] };
    const build = (form: 'options' | 'positional') => (ctx: StreamingContext) => {
      const pairs = ctx.queueStream<string>('w').map((w): [string, number] => [w, 1]);
      const fn = (vs: number[], s: number | undefined) => sum(vs) + (s ?? 0);
      const initial: Array<[string, number]> = [['a', 10], ['z', 5]];
      (form === 'options' ? pairs.updateStateByKey(fn, { numPartitions: 2, initialState: initial }) : pairs.updateStateByKey(fn, 2, initial)).output('s');
    };
    const a = runWindowed(build('options'), input, 3);
    const b = runWindowed(build('positional'), input, 3);
    expect(sortRecs(a.outputs.s![1])).toEqual([['a', 11], ['b', 1], ['z', 5]]);
    for (const t of [1, 2, 3]) expect(sortRecs(b.outputs.s![t])).toEqual(sortRecs(a.outputs.s![t]));
  });

  it('updateStateByKey’s time-aware form gets the batch time and the key (Spark’s (Time, K, Seq[V], Option[S]))', () => {
    const calls: Array<[number, string, number[], unknown]> = [];
    const { outputs } = runWindowed(
      (ctx) =>
        ctx
          .queueStream<string>('w')
          .map((w): [string, number] => [w, 1])
          .updateStateByKey((batchTimeMs: number, key: string, values: number[], state: { n: number; since: number } | undefined) => {
            calls.push([batchTimeMs, key, values, state]);
            // Drop a key two batches after it was first seen: time-based expiry, as in Spark's examples.
            if (state && batchTimeMs - state.since >= 2 * I) return null;
            return { n: (state?.n ?? 0) + values.length, since: state?.since ?? batchTimeMs };
          }, 1)
          .output('s'),
      { w: [['a'], ['a', 'b'], [], ['b']] },
      4,
    );
    expect(outputs.s).toEqual({
      1: [['a', { n: 1, since: I }]],
      2: [['a', { n: 2, since: I }], ['b', { n: 1, since: 2 * I }]],
      3: [['b', { n: 1, since: 2 * I }]],
      4: [],
    });
    expect(calls.filter(([t]) => t === 2 * I).map(([, k, vs, st]) => [k, vs, st])).toEqual([['a', [1], { n: 1, since: I }], ['b', [1], undefined]]);
  });

  it('mapWithState times out idle keys once, with their last state', () => {
    const { outputs } = runWindowed(sessions, { w: [['a', 'b'], ['a'], ['a'], [], []] }, 6);
    // b last seen at 1 s: idle past 2 s at batch 4 (threshold 2 s > 1 s); a last seen at 3 s: ends at batch 6.
    expect(outputs.ended).toEqual({ 1: [], 2: [], 3: [], 4: [['b', 'end', 1]], 5: [], 6: [['a', 'end', 3]] });
    expect(sortRecs(outputs.open![3])).toEqual([['a', 3], ['b', 1]]);
    expect(outputs.open![6]).toEqual([]);
  });

  it('a state rebuilt from a checkpoint by replaying the values since equals the state computed batch by batch', () => {
    const words = ['a', 'b', 'c', 'd', 'e'];
    const input = Array.from({ length: 12 }, (_, i) => (i === 6 ? null : Array.from({ length: 7 }, (_, j) => words[(i * 3 + j * j) % (i % 4 === 3 ? 2 : 5)]!)));
    for (const job of [runningCount, sessions]) {
      const normal = runWindowed(job, { w: input }, 12, { checkpointIntervalMs: 5 * I });
      let rebuilt = 0;
      const replayed = runWindowed(job, { w: input }, 12, {
        checkpointIntervalMs: 5 * I,
        beforePersist: ({ batch, nodeId, blocks, cache, partition }) => {
          if (batch !== 9 || !blocks.has(STATE_KEYS.previous)) return;
          // The state of batch 8 is lost: start from batch 5's (the checkpoint) and replay 6, 7, 8.
          blocks.delete(STATE_KEYS.previous);
          blocks.set(STATE_KEYS.checkpoint, cache.get(`${nodeId}@${5 * I}`)![partition]!);
          const valuesNode = nodeId - 1;
          for (const b of [6, 7, 8]) {
            const values = cache.get(`${valuesNode}@${b * I}`)?.[partition];
            if (values) blocks.set(STATE_KEYS.replay(b * I), values);
          }
          rebuilt++;
          return { stateReplay: [6 * I, 7 * I, 8 * I] };
        },
      });
      expect(rebuilt).toBeGreaterThan(0);
      for (const name of Object.keys(normal.outputs)) {
        for (let b = 1; b <= 12; b++) expect(sortRecs(replayed.outputs[name]![b]), `${name} batch ${b}`).toEqual(sortRecs(normal.outputs[name]![b]));
      }
    }
  });
});

function planTaskKeys(plan: BatchPlan, graph: JobGraph, stageId: number, p: number): string[] {
  return planTask(graph, plan, plan.stages[stageId]!, p).blocks.map((b) => b.key ?? '');
}
