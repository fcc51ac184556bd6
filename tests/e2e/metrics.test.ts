/**
 * Metrics end to end: every service of a process cluster serves Prometheus
 * text on its metricsPort; after records are pushed, the receiver's acked
 * count, the scheduler's batch histograms (scheduling delay, processing time,
 * total delay), task launches by locality and batch counters move, and the
 * gauges (executors alive, block-store bytes) are there.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RivuletClient } from '../../client/index.js';
import { startLocalCluster, type LocalCluster } from '../../lib/cluster/local-cluster.js';
import { freePort } from '../../lib/process/ports.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));

/** Prometheus text → sample name{labels} → value (HELP/TYPE lines skipped). */
async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    samples.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return samples;
}

/** Sum of the samples of `name` whose labels include every `labels` pair. */
function sum(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, value] of samples) {
    const brace = key.indexOf('{');
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}

describe('metrics: the Prometheus endpoints see batches move', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  const ports = { scheduler: 0, receiver: 0, lineage: 0, 'executor-1': 0, 'executor-2': 0 };

  beforeAll(async () => {
    for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
    const env = Object.fromEntries(Object.entries(ports).map(([k, p]) => [k, { RIVULET_METRICS_PORT: String(p) }]));
    cluster = await startLocalCluster({ executors: 2, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logLevel: 'warn', env });
    const a = cluster.addresses();
    client = new RivuletClient(a);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('input rate, batch delays, locality, executors and block store', async () => {
    const job = await client.submitJob(wordcount);
    // Wait for a first (empty) batch so the batch series exist, then take the baseline.
    await waitFor(
      async () => sum(await scrape(ports.scheduler), 'rivulet_batches_total', { rivulet_batch_state: 'COMPLETED' }) > 0,
      'a first batch completed',
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const before = { scheduler: await scrape(ports.scheduler), receiver: await scrape(ports.receiver) };
    expect(sum(before.scheduler, 'rivulet_executors_alive')).toBe(2);
    // The one scheduler holds the lease, taken once and never lost.
    expect(sum(before.scheduler, 'rivulet_scheduler_leading')).toBe(1);
    expect(sum(before.scheduler, 'rivulet_scheduler_lease_changes', { rivulet_lease_change: 'elected' })).toBe(1);
    expect(sum(before.scheduler, 'rivulet_scheduler_lease_changes', { rivulet_lease_change: 'deposed' })).toBe(0);
    const completedBefore = sum(before.scheduler, 'rivulet_batch_total_delay_count');
    expect(completedBefore).toBeGreaterThan(0);

    const pusher = client.pusher('lines');
    let acked = 0;
    for (let i = 0; i < 5; i++) {
      acked += await pusher.push(Array.from({ length: 1000 }, (_, k) => `alpha beta w${k % 40}`));
      await new Promise((r) => setTimeout(r, 50));
    }
    await pusher.close();
    expect(acked).toBe(5000);

    // Every acked record reaches a completed batch.
    let after = await scrape(ports.scheduler);
    await waitFor(
      async () => {
        after = await scrape(ports.scheduler);
        return sum(after, 'rivulet_batch_records_total') - sum(before.scheduler, 'rivulet_batch_records_total') >= 5000;
      },
      'the batches holding the 5000 acked records completed',
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(sum(after, 'rivulet_batch_records_total', { rivulet_job_name: 'wordcount' }) - sum(before.scheduler, 'rivulet_batch_records_total')).toBe(5000);

    const receiver = await scrape(ports.receiver);
    expect(
      sum(receiver, 'rivulet_receiver_records_total', { rivulet_outcome: 'acked', rivulet_stream: 'lines' }) -
        sum(before.receiver, 'rivulet_receiver_records_total', { rivulet_outcome: 'acked' }),
    ).toBe(5000);
    expect(sum(receiver, 'rivulet_receiver_records_total', { rivulet_outcome: 'rejected' })).toBe(0);
    expect(sum(receiver, 'rivulet_receiver_blocks_total')).toBeGreaterThan(sum(before.receiver, 'rivulet_receiver_blocks_total'));

    // The three delay histograms of completed batches all moved, with sane sums.
    for (const h of ['rivulet_batch_scheduling_delay', 'rivulet_batch_processing_time', 'rivulet_batch_total_delay']) {
      expect(sum(after, `${h}_count`), h).toBeGreaterThan(completedBefore);
      expect(sum(after, `${h}_sum`), h).toBeGreaterThan(sum(before.scheduler, `${h}_sum`));
      expect(sum(after, `${h}_bucket`, { le: '+Inf' }), h).toBe(sum(after, `${h}_count`));
    }
    expect(sum(after, 'rivulet_batches_total', { rivulet_batch_state: 'COMPLETED' })).toBeGreaterThan(
      sum(before.scheduler, 'rivulet_batches_total', { rivulet_batch_state: 'COMPLETED' }),
    );
    // Map tasks read replicated blocks: placed PROCESS_LOCAL; reduce tasks have no preference.
    expect(sum(after, 'rivulet_tasks_launched_total', { rivulet_task_locality: 'PROCESS_LOCAL' })).toBeGreaterThan(
      sum(before.scheduler, 'rivulet_tasks_launched_total', { rivulet_task_locality: 'PROCESS_LOCAL' }),
    );
    expect(sum(after, 'rivulet_tasks_launched_total', { rivulet_task_locality: 'NO_PREF' })).toBeGreaterThan(0);
    // Speculation is on (the default) and this machine is shared, so whether a task got a copy
    // is not the test's to decide; what must hold is that the two counters agree.
    expect(sum(after, 'rivulet_tasks_speculative_total')).toBe(sum(after, 'rivulet_tasks_launched_total', { rivulet_task_speculative: 'true' }));
    expect(sum(after, 'rivulet_executors_alive')).toBe(2);

    // Executors: block-store gauges labelled by executor, tasks finished (which executor ran
    // how many is placement's business: counted over both).
    let succeeded = 0;
    for (const id of ['executor-1', 'executor-2'] as const) {
      const ex = await scrape(ports[id]);
      expect(sum(ex, 'rivulet_executor_block_store_capacity', { rivulet_executor_id: id })).toBeGreaterThan(0);
      expect([...ex.keys()].some((k) => k.startsWith('rivulet_executor_block_store_bytes{'))).toBe(true);
      succeeded += sum(ex, 'rivulet_executor_tasks_total', { rivulet_task_state: 'SUCCEEDED' });
    }
    expect(succeeded).toBeGreaterThan(0);
    // Lineage serves the endpoint too.
    expect((await fetch(`http://127.0.0.1:${ports.lineage}/metrics`)).status).toBe(200);
    // Every service exports its event-loop delay.
    for (const [service, port] of Object.entries(ports)) {
      const samples = await scrape(port);
      const names = [...samples.keys()].filter((k) => k.startsWith('rivulet_event_loop_delay'));
      expect(names.length, `${service}: ${names.join(', ')}`).toBe(3);
      for (const k of names) expect(samples.get(k)! >= 0 && samples.get(k)! < 10_000, `${service} ${k}`).toBe(true);
      expect(names.some((k) => k.includes('rivulet_statistic="p99"')), service).toBe(true);
    }
    expect(job.jobId).toMatch(/^job-/);
  }, 60_000);
});
