/**
 * After a scheduler restart: take back every job the journal says was
 * running (same id, bundle, zero time), read back its committed outputs for
 * watchers that ask from the beginning, and — for jobs with windows or state
 * — read from lineage what their cached partitions and checkpoints were, so
 * their batches can run again (Scheduler.restoreCache). A job that cannot be
 * resumed is journaled as FAILED with the reason.
 */
import { readsEarlierBatches } from '../../lib/dstream/graph.js';
import { errorMessage, NotFoundError } from '../../lib/errors.js';
import { unary } from '../../lib/grpc/client.js';
import type { Logger } from '../../lib/log.js';
import type { LineageClient } from '../../lib/proto/index.js';
import type { BatchLineage__Output } from '../../lib/proto/gen/rivulet/v1/BatchLineage.js';
import type { RestoredBatch } from './cache-registry.js';
import type { DurableOutputs } from './durable-outputs.js';
import type { JobJournal } from './job-journal.js';
import type { Job } from './job-registry.js';
import type { Scheduler } from './scheduler.js';
import type { PreparedJobs } from './standby-prep.js';

export async function restoreJournaledJobs(
  scheduler: Scheduler,
  deps: { journal: JobJournal; durableOutputs: DurableOutputs; lineage: LineageClient; batchIntervalMs: number; log: Logger; prepared?: PreparedJobs },
): Promise<void> {
  const { journal, durableOutputs, log } = deps;
  for (const { job: rec, bundle, loaded } of await journal.running(deps.prepared)) {
    let job: Job;
    try {
      job = await scheduler.restoreJob(rec, bundle, loaded);
    } catch (err) {
      log.error({ jobId: rec.id, err: errorMessage(err) }, 'cannot resume a journaled job; marking it failed');
      journal.update({ ...rec, state: 'FAILED', error: `not resumed after a scheduler restart: ${errorMessage(err)}` }).catch(() => undefined); // the journal logs it
      continue;
    }
    for (const output of job.graph.outputNames) {
      try {
        scheduler.restoreOutputs(job.id, output, await durableOutputs.load(job.id, output));
      } catch (err) {
        log.warn({ jobId: job.id, output, err: errorMessage(err) }, 'cannot read back committed outputs; replays start after the restart');
      }
    }
    if (readsEarlierBatches(job.graph)) void restoreCachedPartitions(scheduler, job, deps); // retries until lineage answers
    else scheduler.restoreCache(job.id, []);
  }
}

/** Read back from lineage what a resumed job's windows and states kept, retrying with backoff until lineage answers. */
async function restoreCachedPartitions(
  scheduler: Scheduler,
  job: Job,
  deps: { lineage: LineageClient; batchIntervalMs: number; log: Logger },
): Promise<void> {
  const { lineage, log } = deps;
  const last = job.lastCompletedBatchMs;
  // Until it works — or the scheduler stopped (its term ended): a replaced leader is refused by lineage for good.
  for (let attempt = 0; !scheduler.isStopped; attempt++) {
    try {
      const batches: RestoredBatch[] = [];
      if (last !== undefined) {
        const horizon = scheduler.restoreHorizonBatches(job);
        for (let i = 0; i < horizon; i++) {
          const t = last - i * deps.batchIntervalMs;
          if (t <= job.zeroTimeMs) break;
          let b: BatchLineage__Output;
          try {
            b = await unary(lineage, lineage.getBatch, { jobId: job.id, batchTimeMs: t }, { timeoutMs: 3000 });
          } catch (err) {
            if (err instanceof NotFoundError) continue; // forgotten: nothing reads it any more
            throw err;
          }
          batches.push({
            batchTimeMs: t,
            datasets: b.datasets.map((d) => ({ nodeId: d.ref?.nodeId ?? 0, numPartitions: d.numPartitions })),
            locations: b.locations.map((l) => ({
              kind: l.kind,
              nodeId: l.dataset?.nodeId ?? 0,
              partition: l.partition,
              blockId: l.blockId,
              executorIds: l.executorIds,
            })),
          });
        }
      }
      scheduler.restoreCache(job.id, batches);
      return;
    } catch (err) {
      log.warn({ jobId: job.id, attempt, err: errorMessage(err) }, 'cannot read a resumed job’s cached partitions from lineage yet; retrying');
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))));
    }
  }
}
