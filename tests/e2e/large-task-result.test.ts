/**
 * One task's result several times larger than a gRPC message, on real
 * processes: every service runs with maxMessageBytes=1MiB and the scheduler
 * with maxTaskResultBytes=8MiB. A job whose single result task produces
 * ~5 MB gets it back from the executor in slices (RunTasks, TaskResult
 * records_offset) and its output is tailed intact; a ~10 MB result fails the
 * batch with the error naming maxTaskResultBytes, without anything being
 * mistaken for a lost executor.
 *
 * One seed record per job: a record is one block, so the flatMap runs in one
 * partition and its whole output is one task's result.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import { useLocalCluster } from '../helpers/cluster.js';

const MiB = 1024 * 1024;
/** ~100 bytes per record. */
const PAD = 'x'.repeat(88);
const dir = mkdtempSync(join(tmpdir(), 'rivulet-big-result-'));

/** A job expanding each seed into `perSeed` records of ~100 bytes, in the seed's own partition. */
function expandJob(name: string, stream: string, perSeed: number): string {
  const path = join(dir, `${name}.ts`);
  writeFileSync(
    path,
    "import { defineJob } from 'rivulet';\n" +
      `const PAD = 'x'.repeat(${PAD.length});\n` +
      `export default defineJob((ctx) => { ctx.receiverStream<string>('${stream}').flatMap((s) => Array.from({ length: ${perSeed} }, (_, j) => s + '-' + j + '-' + PAD)).output('big'); });\n`,
  );
  return path;
}

describe('a task result larger than a message', () => {
  let client: RivuletClient;
  useLocalCluster(
    {
      executors: 2,
      slots: 2,
      batchInterval: '1s',
      logLevel: 'warn',
      env: { all: { RIVULET_MAX_MESSAGE_BYTES: '1MiB' }, scheduler: { RIVULET_MAX_TASK_RESULT_BYTES: '8MiB' } },
    },
    (started) => ({ client } = started),
  );

  it('comes back in slices and the output is tailed intact', async () => {
    const perSeed = 50_000; // × ~100 B ≈ 5 MB: five 1 MiB messages
    const job = await client.submitJob(expandJob('five-mb', 'seed', perSeed));
    const live = (async () => {
      for await (const b of client.watchOutput(job.jobId, 'big')) if (b.records.length > 0) return b;
      throw new Error('the output stream ended before the big batch');
    })();
    const pusher = client.pusher('seed');
    await pusher.push(['s0']);
    await pusher.close();
    const batch = await live;

    expect(batch.records.length).toBe(perSeed);
    const got = new Set(batch.records as string[]);
    expect(got.size).toBe(perSeed);
    for (let j = 0; j < perSeed; j++) if (!got.has(`s0-${j}-${PAD}`)) throw new Error(`record s0-${j} missing`);
    expect(Buffer.byteLength(JSON.stringify(batch.records))).toBeGreaterThan(4 * MiB);

    // It ran as one task (so the whole 5 MB was one task's result), with no failed attempt.
    const st = await client.status({ recentBatches: 20 });
    const done = st.jobs.find((j) => j.jobId === job.jobId)?.recentBatches.find((b) => b.batchTimeMs === batch.batchTimeMs);
    expect(done).toMatchObject({ state: 'COMPLETED', tasks: 1, taskFailures: 0 });
    await client.stopJob(job.jobId);
  }, 120_000);

  it('over maxTaskResultBytes fails the batch naming the limit, not as a lost executor', async () => {
    const job = await client.submitJob(expandJob('ten-mb', 'huge', 100_000)); // ≈ 10 MB > 8 MiB
    const watched = (async () => {
      for await (const _ of client.watchOutput(job.jobId, 'big')) void _;
    })().catch((e: unknown) => e as Error);
    const pusher = client.pusher('huge');
    await pusher.push(['h0']);
    await pusher.close();
    const err = await watched;
    expect(err?.message).toMatch(
      /the task's result is \d+ bytes, over the scheduler's 8388608-byte limit of one task's result \(maxTaskResultBytes\): spread the output over more partitions/,
    );
    expect(err?.message).not.toMatch(/lost with its executor|ended RunTasks/);
    const st = await client.status();
    expect(st.executors.filter((e) => e.state === 'ALIVE')).toHaveLength(2);
  }, 120_000);
});
