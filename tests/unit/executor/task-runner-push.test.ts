/**
 * task-runner.ts with real task workers, a real block store and a fetcher
 * whose pushes (PushBlocks to the executors of planned reducers) finish only
 * when the test says: a map task the scheduler launched reports once its
 * pushes are done (the scheduler then launches reducers where the copies
 * are); a planned one reports as soon as its buckets are stored, its pushes
 * going on (its reducers wait on their executors for the copies). Either way
 * the pushes leave before the local store takes the buckets.
 * Needs the compiled worker (`npm run build`).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packRecords } from '../../../lib/codec/records.js';
import { bundleJob } from '../../../lib/dstream/bundle.js';
import { loadJob } from '../../../lib/dstream/loader.js';
import { planBatch, type PlannedStage } from '../../../lib/dstream/planner.js';
import { PLANNED_ATTEMPT_BASE, shuffleBlockId } from '../../../lib/scheduling/group-plan.js';
import type { TaskSpec__Output } from '../../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import { BlockStore } from '../../../services/executor/block-store.js';
import { JobBundles } from '../../../services/executor/job-bundles.js';
import type { BlockFetcher } from '../../../services/executor/peer-fetcher.js';
import { TaskPool } from '../../../services/executor/task-pool.js';
import { TaskRunner } from '../../../services/executor/task-runner.js';

const workerPath = fileURLToPath(new URL('../../../dist/services/executor/task-worker.js', import.meta.url));
const wordcountPath = fileURLToPath(new URL('../../../examples/wordcount.ts', import.meta.url));

/** A fetcher whose pushes wait for `release()`; it records whether the bucket was already in the local store when pushed. */
class HeldPushes implements BlockFetcher {
  readonly pushes: Array<{ ids: string[]; storedHereFirst: boolean[] }> = [];
  private waiting: Array<() => void> = [];
  constructor(private readonly store: BlockStore) {}
  fetch(): Promise<Buffer[]> {
    return Promise.reject(new Error('no fetches in this test'));
  }
  push(_peer: unknown, blocks: ReadonlyArray<{ id: string }>): Promise<void> {
    this.pushes.push({ ids: blocks.map((b) => b.id), storedHereFirst: blocks.map((b) => this.store.has(b.id)) });
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    for (const w of this.waiting.splice(0)) w();
  }
  close(): void {}
}

describe('TaskRunner: a map task and its pushes', () => {
  let pool: TaskPool;
  let bundles: JobBundles;
  let hash: string;
  let mapStage: PlannedStage;

  beforeAll(async () => {
    const b = await bundleJob(wordcountPath);
    bundles = new JobBundles();
    bundles.load('job', b.hash, Buffer.from(b.code));
    hash = b.hash;
    mapStage = planBatch(loadJob(b.code, b.source).graph, new Map([['lines', 1]]), 2).stages[0]!;
    pool = new TaskPool({ slots: 1, workerPath });
    await pool.ready();
  });

  afterAll(async () => {
    await pool?.close();
  });

  function setup() {
    const store = new BlockStore(64 << 20);
    const fetcher = new HeldPushes(store);
    const runner = new TaskRunner({ executorId: 'me', epoch: () => 1, store, pool, bundles, fetcher, pushTimeoutMs: 60_000 });
    store.put({ id: 'block-0', kind: 'input', count: 2, payload: packRecords(['a b', 'b c']) });
    return { store, fetcher, runner };
  }

  function mapSpec(attempt: number, shuffleId: string): TaskSpec__Output {
    const ref = (nodeId: number) => ({ jobId: 'job', batchTimeMs: 1000, nodeId });
    return {
      taskId: `job/1000/0/0`,
      jobId: 'job',
      bundleHash: hash,
      batchTimeMs: 1000,
      stageId: 0,
      partition: 0,
      attempt,
      epoch: 1,
      dataset: ref(mapStage.finalNode),
      blocks: [{ dataset: ref(mapStage.sourceNodes[0]!), partition: 0, blockId: 'block-0', locations: [], inputKey: '', checkpoint: '' }],
      shuffles: [],
      nodePartitions: [],
      locality: 'PROCESS_LOCAL',
      speculative: false,
      traceContext: {},
      timeoutMs: 0,
      stateReplay: [],
      sink: 'shuffleWrite',
      shuffleWrite: {
        shuffleId,
        dataset: ref(mapStage.shuffleNode!),
        numPartitions: 2,
        mapPartitionOffset: 0,
        // Reduce partition 1 is planned on another executor: its bucket is pushed there.
        push: [{ executor: { executorId: 'peer', address: '127.0.0.1:1', epoch: 1 }, reducePartitions: [1] }],
      },
    } as unknown as TaskSpec__Output;
  }

  it('a launched map task reports only once its pushes are done; the push left before the local store took the bucket', async () => {
    const { store, fetcher, runner } = setup();
    const result = runner.start(mapSpec(1, 'launched')).result;
    let reported = false;
    void result.then(() => (reported = true));
    // Its buckets are stored here: all that stands between it and its result is the push.
    await expect.poll(() => store.has(shuffleBlockId('launched', 0, 0)) && store.has(shuffleBlockId('launched', 0, 1))).toBe(true);
    expect(fetcher.pushes).toEqual([{ ids: [shuffleBlockId('launched', 0, 1)], storedHereFirst: [false] }]);
    await new Promise((r) => setImmediate(r));
    expect(reported).toBe(false);
    fetcher.release();
    expect(await result).toMatchObject({ state: 'SUCCEEDED', attempt: 1 });
  });

  it('a planned map task reports as soon as its buckets are stored, its pushes still going', async () => {
    const { store, fetcher, runner } = setup();
    const attempt = PLANNED_ATTEMPT_BASE + 3;
    const result = await runner.start(mapSpec(attempt, 'planned')).result;
    expect(result).toMatchObject({ state: 'SUCCEEDED', attempt });
    expect(store.has(shuffleBlockId('planned', 0, 0)) && store.has(shuffleBlockId('planned', 0, 1))).toBe(true);
    expect(fetcher.pushes).toEqual([{ ids: [shuffleBlockId('planned', 0, 1)], storedHereFirst: [false] }]);
    fetcher.release();
  });
});
