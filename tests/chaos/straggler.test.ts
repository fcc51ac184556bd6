/**
 * One of 3 executors is made 10× slower (RIVULET_TASK_SLOWDOWN=10) while the
 * word count runs under a steady stream, speculation on (the default). What
 * is asserted is behaviour within this one run, not timings compared across
 * separately started clusters: tasks straggling on the slow executor get
 * speculative copies on the other executors, a copy wins (it succeeds and the
 * slow original is killed), and the outputs stay exact — every acked record
 * counted once, every batch the word count, computed here, of its lines.
 * Which task straggled and which attempt won is read from the traces the
 * services export (rivulet.task spans: executor, speculative, state). The
 * timing figures (speculation on vs off) are the benchmark's:
 * `node dist/bench/straggler.js`.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RivuletClient } from '../../client/index.js';
import { startLocalCluster, type LocalCluster } from '../../lib/cluster/local-cluster.js';
import { expectExactWordCounts, expectJobHealthy, pushIdsContinuously, watchIdBatches } from '../helpers/id-lines.js';
import { otelEnv, startCollector, type CollectedSpan } from '../helpers/otlp-collector.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const SLOW = 'executor-3';

describe('stragglers', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let cluster: LocalCluster;
  let client: RivuletClient;

  beforeAll(async () => {
    collector = await startCollector();
    cluster = await startLocalCluster({
      executors: 3,
      slots: 2,
      batchInterval: '1s',
      blockInterval: '250ms',
      logLevel: 'warn',
      env: { all: otelEnv(collector.port), [SLOW]: { RIVULET_TASK_SLOWDOWN: '10' } },
    });
    const a = cluster.addresses();
    client = new RivuletClient(a);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
    collector?.close();
  });

  it('a task straggling on a 10x slower executor gets a copy on another executor that wins; outputs stay exact', async () => {
    const job = await client.submitJob(wordcount);
    const watch = watchIdBatches(client, job.jobId);
    // Big pushes, so that a task runs long enough (×10 on the slow executor) to straggle
    // past the speculation threshold (1.5× the stage's median, at least 100 ms).
    const pushes = pushIdsContinuously(client, 'lines', 2000, { pauseMs: 25 });

    // Until a copy has won: a speculative attempt succeeded on a fast executor while the
    // original attempt of the same task, on the slow one, was killed.
    const tasksOfJob = () =>
      collector.spans.filter((s) => s.name === 'rivulet.task' && String(s.attributes['rivulet.task.id']).includes(job.jobId));
    const wins = () => speculativeWins(tasksOfJob());
    try {
      await waitFor(() => wins().length > 0, `a speculative copy of a task on ${SLOW} wins`, { timeoutMs: 60_000, intervalMs: 250 });
    } finally {
      await pushes.stop();
    }
    const acked = pushes.acked;
    await watch.until(acked, 60_000);

    const tasks = tasksOfJob();
    const copies = tasks.filter((t) => t.attributes['rivulet.task.speculative'] === true);
    const summary =
      `${acked.size} ids acked; ${tasks.length} task attempts traced, ${copies.length} speculative ` +
      `(of originals on ${[...new Set(copies.map((c) => originalExecutor(tasks, c)))].join(',')}), ${wins().length} won against ${SLOW}`;
    console.log(`[straggler] ${summary}`);
    // A copy never runs where its original does: copies of the slow executor's tasks ran elsewhere.
    for (const c of copies) expect(c.attributes['rivulet.executor.id'], summary).not.toBe(originalExecutor(tasks, c));

    // Exactly once against the input, speculative duplicates notwithstanding.
    expectExactWordCounts(watch.batches, acked, pushes.pushed(), summary);
    expect(pushes.refused.size, 'no push refused (nothing failed)').toBe(0);
    await expectJobHealthy(client, job.jobId);
  }, 180_000);
});

const idOf = (t: CollectedSpan) => String(t.attributes['rivulet.task.id']);

/** The executor of the non-speculative attempt(s) of `copy`'s task ('' if not traced yet). */
function originalExecutor(tasks: readonly CollectedSpan[], copy: CollectedSpan): string {
  const o = tasks.find((t) => idOf(t) === idOf(copy) && t.attributes['rivulet.task.speculative'] === false);
  return o ? String(o.attributes['rivulet.executor.id']) : '';
}

/** Speculative copies that SUCCEEDED off the slow executor while their original on it was KILLED. */
function speculativeWins(tasks: readonly CollectedSpan[]): CollectedSpan[] {
  const killedOnSlow = new Set(
    tasks
      .filter((t) => t.attributes['rivulet.executor.id'] === SLOW && t.attributes['rivulet.task.speculative'] === false && t.attributes['rivulet.task.state'] === 'KILLED')
      .map(idOf),
  );
  return tasks.filter(
    (t) =>
      t.attributes['rivulet.task.speculative'] === true &&
      t.attributes['rivulet.task.state'] === 'SUCCEEDED' &&
      t.attributes['rivulet.executor.id'] !== SLOW &&
      killedOnSlow.has(idOf(t)),
  );
}
