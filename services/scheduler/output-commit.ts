/**
 * Committing a completed batch's outputs, exactly once per (job, output,
 * batch time): `output(name)` batches go to the output store (a re-run batch
 * that was already committed is not committed again); `print(n)` also logs
 * the first records. `foreachBatch(fn)` functions run before that, in output
 * order, in the job's own worker (foreach-runner.ts, never on the scheduler's
 * event loop): `foreachCalls` gathers their records, and a throw or an
 * overrun fails the batch (Spark's foreachRDD) before any output of it is
 * committed. Next, outputs with a sink (`output(name).toJetStream/toPostgres`)
 * are written there, off the loop too (sink-runner.ts; `sinkCalls` gathers
 * them); a sink that cannot be written fails the batch before any output is
 * committed. Then, for a journaled job, the batch's commits are stored
 * durably before the journal says the batch completed.
 *
 * Owns: nothing. May not: change a batch's or job's state — it returns the
 * failure and the batch DAG decides.
 */
import { unpackRecords } from '../../lib/codec/records.js';
import type { OutputNode } from '../../lib/dstream/graph.js';
import { deadLetterOutput, packDeadLetters } from '../../lib/sources/jetstream-ranges.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { BatchRun, StageRun } from './batch-run.js';
import type { ForeachCall } from './foreach-runner.js';
import type { JobRecord } from './job-journal.js';
import type { OutputStore } from './output-store.js';
import type { SchedulerPorts } from './ports.js';
import type { SinkCall } from './sink-runner.js';

/** The records of each foreachBatch output of a batch whose stages all completed, in output order. */
export function foreachCalls(run: BatchRun): ForeachCall[] {
  const calls: ForeachCall[] = [];
  for (const s of run.stages) {
    if (s.stage.kind !== 'result') continue;
    const outNode = run.job.graph.node(s.stage.outputNode!) as OutputNode;
    if (outNode.op !== 'foreachBatch') continue;
    calls.push({ nodeId: outNode.id, payload: resultPayload(s) });
  }
  return calls;
}

/** Each output(name) with a sink: its records of a batch whose stages all completed, in output order. */
export function sinkCalls(run: BatchRun): SinkCall[] {
  const calls: SinkCall[] = [];
  for (const s of run.stages) {
    if (s.stage.kind !== 'result') continue;
    const outNode = run.job.graph.node(s.stage.outputNode!) as OutputNode;
    if (outNode.op !== 'output' || !outNode.sink) continue;
    calls.push({ output: outNode.name, spec: outNode.sink, payload: resultPayload(s) });
  }
  return calls;
}

/** Commit every output(name)/print output of a batch whose stages all completed (its foreachBatch functions have run). */
export function commitOutputs(run: BatchRun, outputs: OutputStore, log: Logger): void {
  const job = run.job;
  for (const s of run.stages) {
    if (s.stage.kind !== 'result') continue;
    const outNode = job.graph.node(s.stage.outputNode!) as OutputNode;
    if (outNode.op === 'foreachBatch') continue;
    const parts = [...Array(s.stage.numPartitions).keys()].map((p) => s.results.get(p)!);
    const payload = Buffer.concat(parts.map((r) => r.payload));
    const count = parts.reduce((n, r) => n + r.count, 0);
    const batch = { batchTimeMs: run.batchTimeMs, count, payload };
    if (outputs.commit(job.id, outNode.name, batch)) run.commits.push({ output: outNode.name, batch });
    if (outNode.op === 'print') printBatch(run, outNode, payload, log);
  }
  // Each JetStream source's dead letters, in sequence order (an empty batch when none failed to decode).
  for (const src of job.graph.jetStreamSources) {
    const letters = [...run.deadLetters.values()].filter((l) => l.source === src.stream).sort((a, b) => a.seq - b.seq);
    const batch = { batchTimeMs: run.batchTimeMs, count: letters.length, payload: packDeadLetters(letters) };
    const output = deadLetterOutput(src.stream);
    if (outputs.commit(job.id, output, batch)) run.commits.push({ output, batch });
    if (letters.length > 0) log.warn({ jobId: job.id, source: src.stream, batchTimeMs: run.batchTimeMs, deadLetters: letters.length }, `messages that failed to decode went to ${output}`);
  }
}

function resultPayload(s: StageRun): Buffer {
  return Buffer.concat([...Array(s.stage.numPartitions).keys()].map((p) => s.results.get(p)!.payload));
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

function printBatch(run: BatchRun, node: OutputNode, payload: Buffer, log: Logger): void {
  const records = unpackRecords(payload);
  const shown = records.slice(0, node.printLimit ?? 10).map((r) => JSON.stringify(r));
  if (records.length > shown.length) shown.push('...');
  log.info({ jobId: run.job.id, output: node.name }, `Time: ${run.batchTimeMs} ms\n${shown.join('\n')}`);
}
