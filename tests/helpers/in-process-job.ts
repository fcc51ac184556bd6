/**
 * Running a job's batches in process for planner/runtime unit tests: batches
 * are planned one after another with a WindowContext backed by an in-memory
 * cache of persisted partitions (what the scheduler's registry does across
 * executors), every task's inputs resolved with planTask and run with
 * runTask. The distributed path is covered by the conformance suites.
 */
import { packRecords, unpackRecords } from '../../lib/codec/records.js';
import { StreamingContext } from '../../lib/dstream/api.js';
import { JobGraph } from '../../lib/dstream/graph.js';
import { planBatch, planTask, type BatchPlan } from '../../lib/dstream/planner.js';
import { runTask, sourceKey } from '../../lib/dstream/runtime.js';

export const I = 1000;

export interface InProcessOptions {
  parallelism?: number;
  /** The default parallelism of batch i (the cluster's slots changing), instead of `parallelism`. */
  parallelismAt?: (batch: number) => number;
  checkpointIntervalMs?: number;
  /** Called before a persist task runs: may rewrite its inputs (e.g. to replay a lost state). */
  beforePersist?: (ctx: { batch: number; nodeId: number; partition: number; blocks: Map<string, Uint8Array>; cache: Map<string, Uint8Array[]> }) => { stateReplay?: number[] } | void;
}

/** Runs batches 1..n of a job in process; returns each output's records per batch (absent when it did not run). */
export function runWindowed(build: (ctx: StreamingContext) => void, inputs: Record<string, (unknown[] | null)[]>, n: number, parallelism: number | InProcessOptions = 2) {
  const opts: InProcessOptions = typeof parallelism === 'number' ? { parallelism } : parallelism;
  const graph = new JobGraph();
  build(new StreamingContext(graph));
  const cache = new Map<string, Uint8Array[]>(); // node@batch → packed partitions
  const plans: BatchPlan[] = [];
  const outputs: Record<string, Record<number, unknown[]>> = {};
  for (let i = 1; i <= n; i++) {
    const t = i * I;
    // Two blocks per stream and batch, as runBatches cuts them.
    const blocks: Record<string, unknown[][]> = {};
    for (const [s, list] of Object.entries(inputs)) {
      const recs = i - 1 < list.length ? list[i - 1] : [];
      if (recs === null || recs === undefined) continue;
      const half = Math.floor(recs.length / 2);
      blocks[s] = [recs.slice(0, half), recs.slice(half)];
    }
    const plan = planBatch(graph, new Map(Object.entries(blocks).map(([s, b]) => [s, b.length])), opts.parallelismAt?.(i) ?? opts.parallelism ?? 2, {
      batchTimeMs: t,
      batchIntervalMs: I,
      zeroTimeMs: 0,
      cachedPartitions: (node, b) => cache.get(`${node}@${b}`)?.length,
      ...(opts.checkpointIntervalMs ? { checkpointIntervalMs: opts.checkpointIntervalMs } : {}),
    });
    plans.push(plan);
    const mapOutputs = new Map<number, Map<number, Uint8Array[]>>();
    for (const stage of plan.stages) {
      const results: unknown[] = [];
      const persisted: Uint8Array[] = [];
      for (let q = 0; q < stage.numPartitions; q++) {
        const tp = planTask(graph, plan, stage, q);
        const taskBlocks = new Map<string, Uint8Array>();
        for (const b of tp.blocks) {
          if (b.batchTimeMs !== undefined) {
            const part = cache.get(`${b.nodeId}@${b.batchTimeMs}`)?.[b.partition];
            if (!part) throw new Error(`cached ${b.nodeId}@${b.batchTimeMs}/${b.partition} missing`);
            taskBlocks.set(b.key!, part);
            continue;
          }
          const node = graph.node(b.nodeId);
          if (node.kind !== 'source') throw new Error('not a source');
          taskBlocks.set(sourceKey(b.nodeId, b.partition), packRecords(blocks[node.stream]![b.partition]!));
        }
        const shuffles = new Map<number, Uint8Array[]>();
        for (const s of tp.shuffles) {
          const outs = [...(mapOutputs.get(s.nodeId) ?? new Map<number, Uint8Array[]>())].sort(([a], [b]) => a - b);
          shuffles.set(s.nodeId, outs.map(([, buckets]) => buckets[s.reducePartition]!));
        }
        const extra = stage.kind === 'persist' ? opts.beforePersist?.({ batch: i, nodeId: stage.persistNode!, partition: q, blocks: taskBlocks, cache }) : undefined;
        const taskInputs = { blocks: taskBlocks, shuffles, partitions: plan.partitions, batchTimeMs: t, ...(extra?.stateReplay ? { stateReplay: extra.stateReplay } : {}) };
        if (stage.kind === 'shuffleMap') {
          const out = runTask(graph, tp.nodeId, tp.partition, taskInputs, { kind: 'shuffle', shuffleNodeId: stage.shuffleNode!, numPartitions: plan.partitions[stage.shuffleNode!]! });
          const m = mapOutputs.get(stage.shuffleNode!) ?? new Map<number, Uint8Array[]>();
          m.set(tp.mapPartitionOffset + tp.partition, out.buckets!);
          mapOutputs.set(stage.shuffleNode!, m);
        } else {
          const res = runTask(graph, tp.nodeId, tp.partition, taskInputs, { kind: 'result' }).result!;
          if (stage.kind === 'persist') persisted.push(res);
          else results.push(...unpackRecords(res));
        }
      }
      if (stage.kind === 'persist') cache.set(`${stage.persistNode}@${t}`, persisted);
      if (stage.kind === 'result') {
        const node = graph.node(stage.outputNode!);
        if (node.kind === 'output') (outputs[node.name] ??= {})[i] = results;
      }
    }
  }
  return { outputs, plans, graph };
}

