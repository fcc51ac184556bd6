/**
 * Dynamic load balancing under skew: one key is 50× heavier than the others,
 * so one reduce task runs far longer than the rest. Executors take tasks into
 * their own queues (taskQueueDepth), so the tasks queued behind the long one
 * would wait for it — unless an idle executor steals them. What must hold: no
 * status snapshot shows a runnable task pending at the scheduler while an
 * executor has a free slot; tasks queued behind the hot one were stolen (the
 * batches' stolen counts); and the outputs stay exact: per key, the counts over
 * all batches add up to what was pushed, and each record's work value is the
 * one computed here for its count.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

/** What the job's mapValues computes for a key with `n` records (the same loop). */
function work(n: number): number {
  let x = 0;
  for (let i = 0; i < n * 60000; i++) x = (x * 31 + i) % 1000003;
  return x;
}

const job = join(mkdtempSync(join(tmpdir(), 'rivulet-skew-')), 'skewed.ts');
writeFileSync(
  job,
  `import { defineJob } from 'rivulet';
export default defineJob((ctx) => {
  ctx
    .receiverStream<string>('events')
    .map((k): [string, number] => [k, 1])
    .groupByKey(12)
    .mapValues((values) => {
      // Work proportional to the key's records: the hot key's task is the long one (~60M steps), the others ~1M — long enough that tasks queued behind it are worth stealing.
      let x = 0;
      for (let i = 0; i < values.length * 60000; i++) x = (x * 31 + i) % 1000003;
      return [values.length, x];
    })
    .output('load');
});
`,
);

describe('skewed load', () => {
  let client: RivuletClient;
  useLocalCluster({ executors: 3, slots: 2, batchInterval: '1s', blockInterval: '250ms', logLevel: 'warn' }, (started) => ({ client } = started));

  it('no executor idles while tasks wait: pending ones are placed, ones queued behind the hot task are stolen', async () => {
    const submitted = await client.submitJob(job);
    const slice: string[] = [];
    for (let k = 0; k < 30; k++) for (let i = 0; i < 20; i++) slice.push(`k${k}`);
    for (let i = 0; i < 1000; i++) slice.push('hot');
    const pushedPerKey = new Map<string, number>();
    const outputs: Array<{ t: number; records: Array<[string, [number, number]]> }> = [];
    const abort = new AbortController();
    const watching = (async () => {
      for await (const b of client.watchOutput(submitted.jobId, 'load', { fromBeginning: true, signal: abort.signal })) {
        outputs.push({ t: b.batchTimeMs, records: b.records as Array<[string, [number, number]]> });
      }
    })();
    let watchError: unknown;
    const watched = watching.catch((err: unknown) => void (watchError = err));
    const countedPerKey = () => {
      const m = new Map<string, number>();
      for (const o of outputs) for (const [k, [n]] of o.records) m.set(k, (m.get(k) ?? 0) + n);
      return m;
    };

    const pusher = client.pusher('events');
    let sampling = true;
    let samples = 0;
    let busySamples = 0;
    let queuedSamples = 0;
    const violations: string[] = [];
    const sampler = (async () => {
      while (sampling) {
        const st = await client.status({ recentBatches: 1 });
        samples++;
        const runnable = st.pendingTasks - st.pendingWaiting;
        const free = st.executors.filter((e) => e.state === 'ALIVE' && e.freeSlots > 0);
        if (st.pendingTasks > 0) busySamples++;
        if (st.executors.some((e) => e.queuedTasks > 0)) queuedSamples++;
        if (runnable > 0 && free.length > 0) {
          violations.push(`${runnable} runnable pending while ${free.map((e) => `${e.executorId}:${e.freeSlots}`).join(',')} free`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      for (let i = 0; i < 6; i++) {
        expect(await pusher.push(slice)).toBe(slice.length);
        for (const k of slice) pushedPerKey.set(k, (pushedPerKey.get(k) ?? 0) + 1);
        // Pacing, not waiting for anything: the pushes spread over several batches.
        await new Promise((r) => setTimeout(r, 700));
      }
      await pusher.close();
      // Sample until the batches holding every pushed record are committed.
      await waitFor(
        () => {
          const counted = countedPerKey();
          return watchError !== undefined || [...pushedPerKey].every(([k, n]) => (counted.get(k) ?? 0) >= n);
        },
        'every pushed record is counted',
        { timeoutMs: 60_000, intervalMs: 100 },
      );
    } finally {
      sampling = false;
      await sampler;
      abort.abort();
      await watched;
    }
    expect(watchError).toBeUndefined();

    // The workload really did queue tasks (otherwise the checks prove nothing)...
    expect(busySamples + queuedSamples, `${samples} status samples`).toBeGreaterThan(0);
    expect(violations).toEqual([]);
    // ...and tasks queued behind the hot one went to idle executors instead of waiting for it.
    const stolen = (await client.status({ recentBatches: 1000 })).jobs[0]!.recentBatches.reduce((n, b) => n + b.stolenTasks, 0);
    console.log(`[skew] ${samples} samples, ${busySamples} with tasks pending at the scheduler, ${queuedSamples} with tasks queued on executors; ${stolen} tasks stolen`);
    expect(stolen).toBeGreaterThan(0);
    // Against the input: per key, the counts over all batches are what was pushed (each key at
    // most once per batch), and every record's work value is the one computed here for its count.
    expect(countedPerKey()).toEqual(pushedPerKey);
    for (const o of outputs) {
      const keys = o.records.map(([k]) => k);
      expect(new Set(keys).size, `batch ${o.t}: a key twice`).toBe(keys.length);
      for (const [k, [n, x]] of o.records) expect(x, `batch ${o.t}: ${k} with ${n} records`).toBe(work(n));
    }
    const st = await client.status();
    for (const e of st.executors.filter((x) => x.state === 'ALIVE')) expect(Number(e.tasksCompleted)).toBeGreaterThan(0);
  }, 120_000);
});
