/**
 * group-template.ts on its own: which jobs group scheduling can plan ahead,
 * and the stage template it plans them with. Jobs are loaded as the
 * scheduler loads them (lib/dstream/loader.ts): examples/wordcount.ts
 * bundled, the others as small CommonJS job sources.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleJob } from '../../../lib/dstream/bundle.js';
import type { JobGraph } from '../../../lib/dstream/graph.js';
import { loadJob } from '../../../lib/dstream/loader.js';
import { PER_BLOCK } from '../../../lib/scheduling/group-plan.js';
import { stageTemplate, type StageTemplate } from '../../../services/scheduler/group-template.js';

/** The graph of a job whose build function body is `body` (a `ctx` is in scope). */
function graphOf(body: string): JobGraph {
  const code = `const { defineJob } = require('rivulet');\nmodule.exports.default = defineJob((ctx) => {\n${body}\n});\n`;
  return loadJob(code, 'inline-job.js').graph;
}

function template(graph: JobGraph, parallelism: number): StageTemplate {
  const t = stageTemplate(graph, parallelism);
  if (typeof t === 'string') throw new Error(`expected a template, got: ${t}`);
  return t;
}

const wordcountPath = fileURLToPath(new URL('../../../examples/wordcount.ts', import.meta.url));
let wordcount: JobGraph;
beforeAll(async () => {
  const bundle = await bundleJob(wordcountPath);
  wordcount = loadJob(bundle.code, bundle.source).graph;
});

describe('stageTemplate', () => {
  it('plans word count as a map stage over blocks and a result stage over its shuffle', () => {
    const t = template(wordcount, 6);
    expect(t.stream).toBe('lines');
    expect(t.parallelism).toBe(6);
    expect(t.stages).toHaveLength(2);
    const [map, result] = t.stages as [StageTemplate['stages'][0], StageTemplate['stages'][0]];

    expect(map.stageId).toBe(0);
    expect(map.numPartitions).toBe(PER_BLOCK);
    expect(map.sourceNode).toBeDefined();
    expect(wordcount.node(map.sourceNode!).kind).toBe('source');
    expect(map.shuffleNode).toBeUndefined();
    expect(map.writeShuffleNode).toBeDefined();
    expect(wordcount.node(map.writeShuffleNode!).kind).toBe('shuffle');
    expect(map.writePartitions).toBe(6);
    expect(map.resultOutput).toBeUndefined();

    expect(result.stageId).toBe(1);
    expect(result.shuffleNode).toBe(map.writeShuffleNode);
    expect(result.sourceNode).toBeUndefined();
    expect(result.numPartitions).toBe(6);
    expect(result.mapPartitions).toBe(PER_BLOCK);
    expect(result.resultOutput).toBe('counts');
    expect(result.writeShuffleNode).toBeUndefined();

    // Every node's count: the source side one per block, the shuffle side the parallelism.
    expect(t.nodePartitions).toHaveLength(wordcount.nodes.length);
    expect(t.nodePartitions[map.sourceNode!]).toBe(PER_BLOCK);
    expect(t.nodePartitions[map.writeShuffleNode!]).toBe(6);
  });

  it('follows the parallelism it is given', () => {
    const t = template(wordcount, 3);
    expect(t.stages[0]!.writePartitions).toBe(3);
    expect(t.stages[1]!.numPartitions).toBe(3);
  });

  it('honours an explicit numPartitions on reduceByKey over the parallelism', () => {
    const g = graphOf(`ctx.receiverStream('lines').map((w) => [w, 1]).reduceByKey((a, b) => a + b, 7).output('counts');`);
    const t = template(g, 4);
    expect(t.stages).toHaveLength(2);
    expect(t.stages[0]!.writePartitions).toBe(7);
    expect(t.stages[1]!.numPartitions).toBe(7);
    expect(t.stages[1]!.mapPartitions).toBe(PER_BLOCK);
  });

  it('plans a map-only job as one result stage over the blocks', () => {
    const g = graphOf(`ctx.receiverStream('events').map((x) => x + '!').filter((x) => x.length > 1).output('out');`);
    const t = template(g, 4);
    expect(t.stream).toBe('events');
    expect(t.stages).toHaveLength(1);
    const s = t.stages[0]!;
    expect(s.numPartitions).toBe(PER_BLOCK);
    expect(s.sourceNode).toBeDefined();
    expect(s.shuffleNode).toBeUndefined();
    expect(s.writeShuffleNode).toBeUndefined();
    expect(s.resultOutput).toBe('out');
  });

  it('refuses a windowed job: its batches read earlier batches', () => {
    const byWindow = graphOf(`ctx.receiverStream('lines').map((w) => [w, 1]).reduceByKeyAndWindow((a, b) => a + b, '3s', '1s').output('counts');`);
    const reason = stageTemplate(byWindow, 4);
    expect(typeof reason).toBe('string');
    expect(reason).toMatch(/earlier batches/);

    const plainWindow = graphOf(`ctx.receiverStream('lines').window('2s').output('recent');`);
    expect(stageTemplate(plainWindow, 4)).toMatch(/earlier batches/);
  });

  it('refuses a job with state (updateStateByKey): its batches read earlier batches', () => {
    const g = graphOf(
      `ctx.receiverStream('lines').map((w) => [w, 1]).updateStateByKey((values, state) => (state ?? 0) + values.length).output('totals');`,
    );
    expect(stageTemplate(g, 4)).toMatch(/earlier batches/);
  });

  it('refuses a job reading two streams', () => {
    const g = graphOf(`ctx.receiverStream('a').union(ctx.receiverStream('b')).output('both');`);
    const reason = stageTemplate(g, 4);
    expect(typeof reason).toBe('string');
    expect(reason).toMatch(/2 streams/);
  });
});
