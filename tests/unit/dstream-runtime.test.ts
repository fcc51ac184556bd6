import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packRecords, unpackRecords } from '../../lib/codec/records.js';
import { bundleJob } from '../../lib/dstream/bundle.js';
import { loadJob } from '../../lib/dstream/loader.js';
import { planBatch } from '../../lib/dstream/planner.js';
import { runTask, sourceKey } from '../../lib/dstream/runtime.js';
import { KeyMap, partitionOf } from '../../lib/dstream/keys.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));

describe('job bundle → graph → tasks', () => {
  it('runs word count as map tasks + reduce tasks and matches a local count', async () => {
    const bundle = await bundleJob(wordcount);
    const job = loadJob(bundle.code, bundle.source);
    expect(job.graph.streams).toEqual(['lines']);
    expect(job.graph.outputs.map((o) => o.name)).toEqual(['counts']);

    const blocks = [
      ['the quick brown fox', 'jumps over the lazy dog'],
      ['the end', '', '  spaced   out  '],
    ];
    const plan = planBatch(job.graph, new Map([['lines', blocks.length]]), 3);
    expect(plan.stages.map((s) => s.kind)).toEqual(['shuffleMap', 'result']);
    const [mapStage, resultStage] = plan.stages;
    expect(mapStage!.numPartitions).toBe(2);
    expect(resultStage!.numPartitions).toBe(3);
    expect(resultStage!.parentStages).toEqual([0]);

    const source = mapStage!.sourceNodes[0]!;
    const buckets: Uint8Array[][] = [];
    for (let p = 0; p < blocks.length; p++) {
      const out = runTask(
        job.graph,
        mapStage!.finalNode,
        p,
        { blocks: new Map([[sourceKey(source, p), packRecords(blocks[p]!)]]), shuffles: new Map() },
        { kind: 'shuffle', shuffleNodeId: mapStage!.shuffleNode!, numPartitions: 3 },
      );
      expect(out.recordsIn).toBe(blocks[p]!.length);
      buckets.push(out.buckets!);
    }
    const counts = new Map<string, number>();
    for (let r = 0; r < 3; r++) {
      const out = runTask(
        job.graph,
        resultStage!.finalNode,
        r,
        { blocks: new Map(), shuffles: new Map([[mapStage!.shuffleNode!, buckets.map((b) => b[r]!)]]) },
        { kind: 'result' },
      );
      for (const [w, c] of unpackRecords(out.result!) as [string, number][]) {
        expect(partitionOf(w, 3)).toBe(r);
        expect(counts.has(w)).toBe(false);
        counts.set(w, c);
      }
    }
    const expected = new Map<string, number>();
    for (const line of blocks.flat()) for (const w of line.split(/\s+/)) if (w) expected.set(w, (expected.get(w) ?? 0) + 1);
    expect(counts).toEqual(expected);
  });

  it('reports which operator threw', () => {
    const code = `const { defineJob } = require('rivulet');
      module.exports = { default: defineJob((ctx) => ctx.receiverStream('s').map((x) => { if (x === 'bad') throw new Error('boom'); return x; }).output('o')) };`;
    const job = loadJob(code, 'thrower.js');
    expect(() =>
      runTask(job.graph, 2, 0, { blocks: new Map([[sourceKey(0, 0), packRecords(['ok', 'bad'])]]), shuffles: new Map() }, { kind: 'result' }),
    ).toThrow(/user function of map \(node 1\) threw Error: boom/);
  });

  it('refuses jobs that throw while building, export nothing, or loop forever', () => {
    expect(() => loadJob(`throw new Error('nope')`, 'a.js')).toThrow(/a.js: the job threw while building: Error: nope/);
    expect(() => loadJob(`module.exports = {}`, 'b.js')).toThrow(/must `export default defineJob/);
    expect(() => loadJob(`this is not js`, 'c.js')).toThrow(/c.js: not valid JavaScript/);
    expect(() =>
      loadJob(`const { defineJob } = require('rivulet'); module.exports = defineJob(() => { for(;;){} })`, 'd.js', 200),
    ).toThrow(/longer than 200 ms/);
    expect(() =>
      loadJob(`const { defineJob } = require('rivulet'); module.exports = defineJob((ctx) => { ctx.receiverStream('x'); })`, 'e.js'),
    ).toThrow(/no output operation/);
    expect(() => loadJob(`require('left-pad')`, 'f.js')).toThrow(/requires "left-pad"/);
  });
});

describe('keys', () => {
  it('compare structurally and keep 1 and "1" apart', () => {
    const m = new KeyMap<number>();
    m.set(1, 1);
    m.set('1', 2);
    m.set([1, 'a'], 3);
    m.set([1, 'a'], 4);
    m.set('[1,"a"]', 5);
    expect(m.size).toBe(4);
    expect(m.get([1, 'a'])).toBe(4);
    expect(m.get(1)).toBe(1);
    expect(m.get('1')).toBe(2);
  });
  it('hash to stable partitions', () => {
    // Fixed values: a change here would repartition data across versions.
    expect([partitionOf('the', 8), partitionOf(42, 8), partitionOf(['a', 1], 8)]).toEqual([5, 7, 2]);
    const spread = new Set(Array.from({ length: 100 }, (_, i) => partitionOf(`w${i}`, 4)));
    expect(spread.size).toBe(4);
  });
});
