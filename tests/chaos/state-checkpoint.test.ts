/**
 * Stateful operators over many batches on real processes (four executors,
 * lineage, scheduler, nats-server): state stays correct across 100 batches
 * while it is checkpointed every 5 batches to the JetStream object store, the
 * lineage behind it stays bounded, and a state partition lost with every
 * executor holding it (kill -9 of both) is rebuilt from the last checkpoint
 * by replaying the batches since — the outputs never differ from a reference
 * model computed here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type RunBatchesResult, type TestCluster } from '../../lib/testing/index.js';
import { dial, unary } from '../../lib/grpc/client.js';
import type { LineageClient } from '../../lib/proto/index.js';
import type { BatchLineage__Output } from '../../lib/proto/gen/rivulet/v1/BatchLineage.js';
import { waitFor } from '../helpers/wait.js';

const JOB = new URL('./jobs/state-counts.ts', import.meta.url).pathname;
const INTERVAL = 1000;
const CHECKPOINT_BATCHES = 5;
const TIMEOUT_MS = 4000;
/** Every NULL_EVERY-th batch has no input dataset (a null queue-stream entry). */
const NULL_EVERY = 17;

type Event = [string, number];

/** Deterministic input: 20 keys, a few quiet spells (sessions end), some batches with no dataset. */
function makeInputs(batches: number): Array<Event[] | null> {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const out: Array<Event[] | null> = [];
  for (let b = 1; b <= batches; b++) {
    if (b % NULL_EVERY === 0) {
      out.push(null);
      continue;
    }
    const events: Event[] = [];
    for (let i = 0; i < 30; i++) {
      const k = Math.floor(rnd() * 20);
      // Keys 15-19 go quiet for a while every 20 batches: their sessions time out.
      if (k >= 15 && b % 20 >= 8 && b % 20 < 16) continue;
      events.push([`k${k}`, 1 + Math.floor(rnd() * 9)]);
    }
    out.push(events);
  }
  return out;
}

/** What Spark's semantics give, batch by batch (sorted for comparison). */
function model(inputs: Array<Event[] | null>): { totals: unknown[][]; ended: unknown[][]; open: unknown[][] } {
  const totals = new Map<string, number>();
  const sessions = new Map<string, { n: number; t: number }>();
  const out = { totals: [] as unknown[][], ended: [] as unknown[][], open: [] as unknown[][] };
  inputs.forEach((events, i) => {
    const t = (i + 1) * INTERVAL;
    for (const [k, v] of events ?? []) totals.set(k, (totals.get(k) ?? 0) + v);
    const ended: unknown[] = [];
    for (const [k, v] of events ?? []) sessions.set(k, { n: (sessions.get(k)?.n ?? 0) + v, t });
    for (const [k, s] of sessions) {
      if (s.t < t - TIMEOUT_MS) {
        ended.push([k, 'ended', s.n]);
        sessions.delete(k);
      }
    }
    out.totals.push(sorted([...totals]));
    out.ended.push(sorted(ended));
    out.open.push(sorted([...sessions].map(([k, s]) => [k, s.n])));
  });
  return out;
}

function sorted<T>(xs: T[]): T[] {
  return [...xs].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

function perBatch(out: RunBatchesResult, name: string): unknown[][] {
  return out[name]!.map((b) => sorted(b.records));
}

let cluster: TestCluster;
let lineage: LineageClient;
beforeAll(async () => {
  cluster = await startTestCluster({
    executors: 4,
    slots: 2,
    env: { scheduler: { RIVULET_STATE_CHECKPOINT_INTERVAL: `${CHECKPOINT_BATCHES * INTERVAL}ms` } },
  });
  // Standing in for the scheduler: lineage answers only the scheduler's identity.
  lineage = dial.lineage(cluster.local.addresses().lineage, { security: cluster.local.security!.as('scheduler') });
}, 60_000);
afterAll(async () => {
  lineage?.close();
  await cluster?.stop();
});

describe('stateful operators with checkpoints (real services)', () => {
  it('keep correct state across 100 batches, and lineage depth stays bounded by the checkpoint interval', async () => {
    const inputs = makeInputs(100);
    const depths: number[] = [];
    const out = await cluster.runBatches({
      job: JOB,
      inputs: { events: inputs },
      batches: 100,
      partitions: 3,
      afterBatch: async () => {
        depths.push((await unary(lineage, lineage.getStats, {}, { timeoutMs: 3000 })).maxDepth);
      },
    });
    const expected = model(inputs);
    expect(perBatch(out, 'totals')).toEqual(expected.totals);
    expect(perBatch(out, 'ended')).toEqual(expected.ended);
    expect(perBatch(out, 'open')).toEqual(expected.open);
    // Sessions did end, so timeouts were exercised, and some batches had no input.
    expect(expected.ended.flat().length).toBeGreaterThan(5);

    // Without checkpoints each state chains to every earlier one (depth ~ batch
    // number). With them a chain is cut every 5 batches: a state is at most
    // 5 batches from its checkpoint, plus its values and outputs.
    expect(Math.max(...depths)).toBeLessThanOrEqual(CHECKPOINT_BATCHES + 5);
    expect(depths.at(-1)!).toBeLessThanOrEqual(CHECKPOINT_BATCHES + 5);
    // ...and it is cut again and again (it drops after checkpoints).
    const drops = depths.filter((d, i) => i > 0 && d < depths[i - 1]!).length;
    expect(drops).toBeGreaterThanOrEqual(5);
  }, 240_000);

  it('rebuilds a state partition lost on every executor from its checkpoint and the batches since', async () => {
    const inputs = makeInputs(30);
    let killed: { batch: number; executors: string[]; lost: Array<[number, number]>; maybeLost: Array<[number, number]> } | undefined;
    const out = await cluster.runBatches({
      job: JOB,
      inputs: { events: inputs },
      batches: 30,
      partitions: 3,
      afterBatch: async ({ batch, batchTimeMs, jobId }) => {
        // Between checkpoints (the last at batch 10), once, when a pair of
        // executors holds every copy of some state partition but not every
        // copy of the values it would be replayed from.
        if (killed || batch < 12 || batch % CHECKPOINT_BATCHES === 0) return;
        const pick = await victims(jobId, batchTimeMs, batch);
        if (!pick) return;
        await Promise.all(pick.executors.map((id) => cluster.local.executors.find((e) => e.name === id)!.kill()));
        const client = dial.scheduler(cluster.schedulerAddress, { security: cluster.local.addresses().security });
        try {
          await waitFor(async () => {
            const st = await unary(client, client.getStatus, { recentBatches: 0 }, { timeoutMs: 3000 });
            return pick.executors.every((id) => st.executors.find((e) => e.executorId === id)?.state === 'LOST');
          }, `the scheduler declares ${pick.executors.join(' and ')} lost`);
        } finally {
          client.close();
        }
        // Lineage agrees (once the scheduler told it): those partitions have no copy left.
        await waitFor(async () => {
          const b = await getBatch(jobId, batchTimeMs);
          return pick.lost.every(([node, p]) =>
            b.locations.filter((l) => l.kind === 'PARTITION' && l.dataset!.nodeId === node && l.partition === p).every((l) => l.executorIds.length === 0),
          );
        }, `lineage shows state partitions ${JSON.stringify(pick.lost)} of batch ${batch} with no copy left`);
        killed = { batch, ...pick };
      },
    });
    expect(killed, 'some batch had a pair of executors holding every copy of a state partition').toBeDefined();
    // Rebuilt as lineage planned it: from the last checkpoint before the kill, replaying the batches since.
    const rebuilds = cluster.local.scheduler
      .recentOutput()
      .split('\n')
      .filter((l) => l.includes('rebuilding a lost state partition'))
      .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as { partition: number; nodeId: number; checkpoint?: number; replay: number; planned: string });
    // (A task relaunched — a retry or a speculative copy — logs its rebuild again.)
    // Every partition whose two copies were both killed, and perhaps one whose second copy was still being made.
    const rebuilt = new Set(rebuilds.map((r) => `${r.nodeId}/${r.partition}`));
    for (const [n, p] of killed!.lost) expect(rebuilt.has(`${n}/${p}`), `state ${n} partition ${p} rebuilt`).toBe(true);
    for (const r of rebuilt) expect(killed!.maybeLost.map(([n, p]) => `${n}/${p}`)).toContain(r);
    const checkpointBatch = Math.floor(killed!.batch / CHECKPOINT_BATCHES) * CHECKPOINT_BATCHES;
    for (const r of rebuilds) {
      expect(r).toMatchObject({ planned: 'lineage', checkpoint: checkpointBatch * INTERVAL, replay: killed!.batch - checkpointBatch });
    }
    const expected = model(inputs);
    expect(perBatch(out, 'totals')).toEqual(expected.totals);
    expect(perBatch(out, 'ended')).toEqual(expected.ended);
    expect(perBatch(out, 'open')).toEqual(expected.open);
  }, 240_000);
});

async function getBatch(jobId: string, batchTimeMs: number): Promise<BatchLineage__Output> {
  return unary(lineage, lineage.getBatch, { jobId, batchTimeMs }, { timeoutMs: 3000 });
}

/** State datasets (updateStateByKey's and mapWithState's): the ones with a parent in an earlier batch, and their values. */
function stateNodesOf(b: BatchLineage__Output): Array<{ state: number; values: number }> {
  return b.datasets
    .filter((d) => d.parents.some((p) => Number(p.batchTimeMs) < Number(b.batchTimeMs)))
    .map((d) => ({
      state: d.ref!.nodeId,
      // Its values: the per-batch groupByKey feeding it (node id just below it, see graph.ts StateNode).
      values: d.ref!.nodeId - 1,
    }));
}

/**
 * Two executors holding every copy of at least one state partition of this
 * batch, while every partition of the values since the last checkpoint that
 * a lost partition would be replayed from keeps a copy elsewhere (so
 * everything lost can be rebuilt).
 */
async function victims(
  jobId: string,
  batchTimeMs: number,
  batch: number,
): Promise<{ executors: string[]; lost: Array<[number, number]>; maybeLost: Array<[number, number]> } | undefined> {
  let b = await getBatch(jobId, batchTimeMs);
  const states = stateNodesOf(b);
  if (states.length === 0) return undefined;
  const holders = (l: BatchLineage__Output, node: number, p: number) =>
    l.locations.filter((x) => x.kind === 'PARTITION' && x.dataset!.nodeId === node && x.partition === p).flatMap((x) => x.executorIds);
  // Lineage records each state partition's second copy when it is made, after the batch: on a loaded machine
  // judged at once, no partition ever had both copies recorded, and no batch qualified. Wait (bounded) for them.
  const bothCopies = (l: BatchLineage__Output) => states.every(({ state }) => [0, 1, 2, 3].every((p) => holders(l, state, p).length >= 2));
  for (const until = Date.now() + 3000; !bothCopies(b) && Date.now() < until; ) {
    await new Promise((r) => setTimeout(r, 50));
    b = await getBatch(jobId, batchTimeMs);
  }
  const lastCheckpoint = Math.floor(batch / CHECKPOINT_BATCHES) * CHECKPOINT_BATCHES;
  const since: BatchLineage__Output[] = [];
  for (let i = lastCheckpoint + 1; i <= batch; i++) since.push(await getBatch(jobId, i * INTERVAL));
  // Wait for a batch whose every state partition lineage has recorded (the records are asynchronous).
  if (states.some(({ state }) => [0, 1, 2, 3].some((p) => holders(b, state, p).length === 0))) return undefined;
  const ids = cluster.local.executors.map((e) => e.name);
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const pair = [ids[i]!, ids[j]!];
      const lost: Array<[number, number]> = [];
      // Also those with one copy known, in the pair: its second copy may not have been made (yet).
      const maybeLost: Array<[number, number]> = [];
      const valuesOf = new Map(states.map((s) => [s.state, s.values]));
      for (const { state } of states) {
        for (let p = 0; p < 4; p++) {
          // Both copies made (a second copy still in flight could land outside the pair).
          const h = holders(b, state, p);
          if (h.length > 0 && h.every((x) => pair.includes(x))) maybeLost.push([state, p]);
          if (h.length >= 2 && h.every((x) => pair.includes(x))) lost.push([state, p]);
        }
      }
      if (lost.length === 0) continue;
      const replayable = maybeLost.every(([state, p]) =>
        since.every((l) => {
          // No values at all only in batches whose input was null (makeInputs); otherwise a copy outside the pair.
          const h = holders(l, valuesOf.get(state)!, p);
          return (h.length === 0 && (Number(l.batchTimeMs) / INTERVAL) % NULL_EVERY === 0) || h.some((x) => !pair.includes(x));
        }),
      );
      if (replayable) return { executors: pair, lost, maybeLost };
    }
  }
  return undefined;
}
