/**
 * A 24 MB output batch against the real services: larger than one NATS
 * message, so it is stored in the outputs stream as chunks, and larger than
 * one gRPC message, so WatchOutput sends it in chunks the SDK reassembles.
 * It is tailed intact live, and again (`fromBeginning`) after the scheduler
 * is killed and restarted — i.e. read back from JetStream. The records are
 * spread over 4 result tasks; then the same 24 MB as ONE task's result, over
 * one RunTasks message at the default maxMessageBytes (16MiB), which the
 * executor sends in slices (tests/e2e/large-task-result.test.ts has the
 * small-message cluster and the maxTaskResultBytes limit).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';

const LINES = 24;
const PER_LINE = 10_000;
/** ~100 bytes per record: 24 × 10,000 × 100 B ≈ 24 MB in one batch. */
const PAD = 'x'.repeat(88);

const dir = mkdtempSync(join(tmpdir(), 'rivulet-large-'));

function expected(): Set<string> {
  const all = new Set<string>();
  for (let i = 0; i < LINES; i++) for (let j = 0; j < PER_LINE; j++) all.add(`l${i}-${j}-${PAD}`);
  return all;
}

function check(records: unknown[]): void {
  expect(records.length).toBe(LINES * PER_LINE);
  const want = expected();
  const got = new Set(records as string[]);
  expect(got.size).toBe(want.size);
  for (const r of want) if (!got.has(r)) throw new Error(`record ${r.slice(0, 20)}… missing`);
}

describe('a 24 MB output batch', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster({ executors: 2, slots: 2, batchInterval: '1s', blockInterval: '500ms', logLevel: 'warn' }, (started) => ({ cluster, client } = started));

  it('is tailed intact, live and after a scheduler restart', async () => {
    const path = join(dir, 'expand.ts');
    writeFileSync(
      path,
      "import { defineJob } from 'rivulet';\n" +
        `const PAD = 'x'.repeat(${PAD.length});\n` +
        `export default defineJob((ctx) => { ctx.receiverStream<string>('seeds').flatMap((s) => Array.from({ length: ${PER_LINE} }, (_, j) => s + '-' + j + '-' + PAD)).repartition(4).output('big'); });\n`,
    );
    const job = await client.submitJob(path);
    const live = (async () => {
      for await (const b of client.watchOutput(job.jobId, 'big')) if (b.records.length > 0) return b;
      throw new Error('the output stream ended before the big batch');
    })();
    const pusher = client.pusher('seeds');
    await pusher.push(Array.from({ length: LINES }, (_, i) => `l${i}`));
    await pusher.close();
    const batch = await live;
    check(batch.records);

    await cluster.scheduler.kill();
    await cluster.restartScheduler();
    const replayed = (async () => {
      for await (const b of client.watchOutput(job.jobId, 'big', { fromBeginning: true, reconnect: true })) {
        if (b.batchTimeMs === batch.batchTimeMs) return b;
      }
      throw new Error('the output stream ended before the big batch was replayed');
    })();
    const again = await replayed;
    check(again.records);
    await client.stopJob(job.jobId);
  }, 120_000);

  it('one partition larger than a message is one task result, sent in slices and tailed intact', async () => {
    const path = join(dir, 'one-partition.ts');
    writeFileSync(
      path,
      "import { defineJob } from 'rivulet';\n" +
        `const PAD = 'x'.repeat(${PAD.length});\n` +
        `export default defineJob((ctx) => { ctx.receiverStream<string>('one').repartition(1).flatMap((s) => Array.from({ length: ${PER_LINE} }, (_, j) => s + '-' + j + '-' + PAD)).output('big'); });\n`,
    );
    const job = await client.submitJob(path);
    const live = (async () => {
      for await (const b of client.watchOutput(job.jobId, 'big')) if (b.records.length > 0) return b;
      throw new Error('the output stream ended before the big batch');
    })();
    const pusher = client.pusher('one');
    await pusher.push(Array.from({ length: LINES }, (_, i) => `l${i}`));
    await pusher.close();
    check((await live).records);
    await client.stopJob(job.jobId);
  }, 120_000);
});
