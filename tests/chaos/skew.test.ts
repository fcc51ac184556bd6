/**
 * Dynamic load balancing under skew: one key is 50× heavier than the others,
 * so one reduce task runs far longer than the rest. Tasks are handed out one
 * free slot at a time, so the other executors keep draining the remaining
 * tasks meanwhile: no status snapshot may show a runnable pending task (one not
 * merely waiting for locality) while an executor has a free slot.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

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
      // Work proportional to the key's records: the hot key's task is the long one.
      let x = 0;
      for (let i = 0; i < values.length * 20000; i++) x = (x * 31 + i) % 1000003;
      return [values.length, x];
    })
    .output('load');
});
`,
);

describe('skewed load', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster({ executors: 3, slots: 2, batchInterval: '1s', blockInterval: '250ms', logLevel: 'warn' }, (started) => ({ cluster, client } = started));

  it('no executor idles while runnable tasks are pending', async () => {
    const submitted = await client.submitJob(job);
    const slice: string[] = [];
    for (let k = 0; k < 30; k++) for (let i = 0; i < 20; i++) slice.push(`k${k}`);
    for (let i = 0; i < 1000; i++) slice.push('hot');
    const hotCounts: number[] = [];
    const abort = new AbortController();
    const watching = (async () => {
      for await (const b of client.watchOutput(submitted.jobId, 'load', { signal: abort.signal })) {
        const hot = (b.records as [string, [number, number]][]).find(([k]) => k === 'hot');
        if (hot) hotCounts.push(hot[1][0]);
      }
    })().catch(() => undefined);

    const pusher = client.pusher('events');
    let sampling = true;
    let samples = 0;
    let busySamples = 0;
    const violations: string[] = [];
    const sampler = (async () => {
      while (sampling) {
        const st = await client.status({ recentBatches: 1 });
        samples++;
        const runnable = st.pendingTasks - st.pendingWaiting;
        const free = st.executors.filter((e) => e.state === 'ALIVE' && e.freeSlots > 0);
        if (st.pendingTasks > 0) busySamples++;
        if (runnable > 0 && free.length > 0) {
          violations.push(`${runnable} runnable pending while ${free.map((e) => `${e.executorId}:${e.freeSlots}`).join(',')} free`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    for (let i = 0; i < 6; i++) {
      await pusher.push(slice);
      await new Promise((r) => setTimeout(r, 700));
    }
    await pusher.close();
    // Sample until the last batch holding pushed records is committed.
    await waitFor(() => hotCounts.reduce((a, b) => a + b, 0) >= 6 * 1000, 'every hot record is counted');
    sampling = false;
    await sampler;
    abort.abort();
    await watching;

    expect(samples).toBeGreaterThan(100);
    // The workload really did queue tasks (otherwise the check proves nothing).
    expect(busySamples).toBeGreaterThan(0);
    expect(violations).toEqual([]);
    // Every push of the hot key was counted once per batch it landed in.
    expect(hotCounts.reduce((a, b) => a + b, 0)).toBe(6 * 1000);
    const st = await client.status();
    for (const e of st.executors.filter((x) => x.state === 'ALIVE')) expect(Number(e.tasksCompleted)).toBeGreaterThan(0);
  }, 120_000);
});
