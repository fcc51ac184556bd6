/**
 * Committing a completed batch's outputs, exactly once per (job, output,
 * batch time): `output(name)` batches go to the output store (a re-run batch
 * that was already committed is not committed again); `print(n)` also logs
 * the first records; `foreachBatch(fn)` runs the job's function on the
 * scheduler, in output order — a throw fails the batch (Spark's
 * foreachRDD). Then, for a journaled job, the batch's commits are stored
 * durably before the journal says the batch completed.
 *
 * Owns: nothing. May not: change a batch's or job's state — it returns the
 * failure and the batch DAG decides.
 */
import { unpackRecords } from '../../lib/codec/records.js';
import type { OutputNode } from '../../lib/dstream/graph.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { BatchRun } from './batch-run.js';
import type { JobRecord } from './job-journal.js';
import type { OutputStore } from './output-store.js';
import type { SchedulerPorts } from './ports.js';

/** Commit every output of a batch whose stages all completed. Returns the batch's failure, if a foreachBatch threw. */
export function commitOutputs(run: BatchRun, outputs: OutputStore, log: Logger): string | undefined {
  const job = run.job;
  for (const s of run.stages) {
    if (s.stage.kind !== 'result') continue;
    const outNode = job.graph.node(s.stage.outputNode!) as OutputNode;
    const parts = [...Array(s.stage.numPartitions).keys()].map((p) => s.results.get(p)!);
    const payload = Buffer.concat(parts.map((r) => r.payload));
    const count = parts.reduce((n, r) => n + r.count, 0);
    if (outNode.op === 'foreachBatch') {
      const error = runForeachBatch(run, outNode, payload, log);
      if (error) return error;
      continue;
    }
    const batch = { batchTimeMs: run.batchTimeMs, count, payload };
    if (outputs.commit(job.id, outNode.name, batch)) run.commits.push({ output: outNode.name, batch });
    if (outNode.op === 'print') printBatch(run, outNode, payload, log);
  }
  return undefined;
}

/**
 * A journaled batch counts as completed once its outputs are durable and the
 * journal says so. Resolves when both writes are done (or failed: logged).
 */
export function journalCompletedBatch(
  run: BatchRun,
  record: JobRecord,
  ports: Pick<SchedulerPorts, 'persistOutputs' | 'journalJob'>,
  log: Logger,
): Promise<void> | undefined {
  const journalJob = ports.journalJob;
  if (!run.job.journaled || !journalJob) return undefined;
  const durable = ports.persistOutputs?.(run.job.id, run.commits) ?? Promise.resolve();
  return durable.then(
    () => journalJob(record),
    (err: unknown) => {
      log.error(
        { jobId: run.job.id, batchTimeMs: run.batchTimeMs, err: errorMessage(err) },
        'committed outputs could not be stored durably; a scheduler restart would not replay this batch',
      );
      return journalJob(record);
    },
  );
}

/** Run a foreachBatch function; returns the batch's failure message when it throws. */
function runForeachBatch(run: BatchRun, node: OutputNode, payload: Buffer, log: Logger): string | undefined {
  try {
    const ret = node.fn!(unpackRecords(payload), run.batchTimeMs) as { then?: unknown } | undefined;
    if (ret && typeof ret.then === 'function') {
      // Not awaited (see DStream.foreachBatch); never let a rejection go unhandled.
      (ret as Promise<unknown>).then(undefined, (err: unknown) =>
        log.error({ jobId: run.job.id, batchTimeMs: run.batchTimeMs, output: node.name, err: errorMessage(err) }, 'foreachBatch promise rejected'),
      );
    }
    return undefined;
  } catch (err) {
    return `foreachBatch function (node ${node.id}) threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
  }
}

function printBatch(run: BatchRun, node: OutputNode, payload: Buffer, log: Logger): void {
  const records = unpackRecords(payload);
  const shown = records.slice(0, node.printLimit ?? 10).map((r) => JSON.stringify(r));
  if (records.length > shown.length) shown.push('...');
  log.info({ jobId: run.job.id, output: node.name }, `Time: ${run.batchTimeMs} ms\n${shown.join('\n')}`);
}
