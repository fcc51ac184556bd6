/**
 * The scheduler's part of a batch's trace and of the batch metrics. The
 * Scheduler calls it at each step of a batch's life (started, stage
 * submitted/complete, task launched, recovery, outputs committed, finished);
 * it keeps the open spans per BatchRun and never changes scheduling state.
 *
 * Trace shape (docs/telemetry.md): the receiver's `rivulet.input` span is the
 * root; its batch.ready message carries the context here, so `rivulet.batch`
 * (one per job and batch time) is a child of the `process rivulet.batch.ready.*`
 * span — or a root of its own when the batch's inputs came another way (the
 * GetBatchBlocks fallback, queue streams). Below it: `rivulet.stage` per stage
 * submission, `rivulet.recovery` when lost map outputs are recomputed (the
 * stages it resubmits are its children), `rivulet.output.commit`, and the gRPC
 * client spans of the calls made for the batch (RegisterBatch, RunTasks).
 * Each task carries its stage's context to the executor (TaskSpec.trace_context).
 *
 * Only @opentelemetry/api: with no SDK every call is a cheap no-op.
 */
import { context, trace, type Context, type Link, type Span } from '@opentelemetry/api';
import { instruments, observeGauge } from '../../lib/telemetry/metrics.js';
import { Attr, contextToMap, failSpan, hasSpan, tracer } from '../../lib/telemetry/tracing.js';
import type { BatchRun, BatchTimings, StageRun } from './batch-run.js';

/** batch.ready block lists → the trace context they arrived in (set by main.ts's subscription). */
const inputTraces = new WeakMap<object, Context>();

/** Remember the active trace context (the batch.ready consumer span) for the blocks a batch.ready listed. */
export function rememberInputTrace(blocks: object): void {
  const ctx = context.active();
  if (hasSpan(ctx)) inputTraces.set(blocks, ctx);
}

/** A merged block list (several receivers' shares) continues the trace of the first share that carried one. */
export function inheritInputTrace(shares: readonly object[], merged: object): void {
  for (const s of shares) {
    const ctx = inputTraces.get(s);
    if (ctx) {
      inputTraces.set(merged, ctx);
      return;
    }
  }
}

interface RunTrace {
  span: Span;
  ctx: Context;
  stages: Map<number, { span: Span; ctx: Context }>;
  recovery?: { span: Span; ctx: Context; stages: Set<number> };
  commit?: Span;
}

export class BatchTelemetry {
  private readonly runs = new WeakMap<BatchRun, RunTrace>();

  constructor(aliveExecutors: () => number) {
    observeGauge('rivulet.executors.alive', 'Executors the scheduler considers alive', '{executor}', () => [{ value: aliveExecutors() }]);
  }

  /** The batch starts (planned, about to register with lineage). */
  batchStarted(run: BatchRun): void {
    const inputs = [...run.inputs.values()].map((b) => inputTraces.get(b)).filter((c): c is Context => c !== undefined);
    const parent = inputs[0];
    // A job reading several streams: the first stream's trace is the parent, the others are links.
    const links: Link[] = inputs.slice(1).flatMap((c) => {
      const sc = trace.getSpan(c)?.spanContext();
      return sc ? [{ context: sc }] : [];
    });
    const span = tracer().startSpan(
      'rivulet.batch',
      {
        root: !parent,
        links,
        attributes: {
          [Attr.JOB_ID]: run.job.id,
          [Attr.JOB_NAME]: run.job.name,
          [Attr.BATCH_TIME_MS]: run.batchTimeMs,
          [Attr.RECORDS_IN]: run.inputRecords,
          [Attr.BLOCK_COUNT]: run.inputBlockCount,
        },
      },
      parent ?? context.active(),
    );
    this.runs.set(run, { span, ctx: trace.setSpan(parent ?? context.active(), span), stages: new Map() });
  }

  /** Run `fn` (which makes gRPC calls or publishes for this batch) inside the batch's span. */
  inBatch<T>(run: BatchRun, fn: () => T): T {
    const t = this.runs.get(run);
    return t ? context.with(t.ctx, fn) : fn();
  }

  stageSubmitted(run: BatchRun, s: StageRun): void {
    const t = this.runs.get(run);
    if (!t) return;
    const id = s.stage.id;
    const open = t.stages.get(id);
    if (open) {
      // Resubmitted before it completed (its map outputs were lost): this span ends, a new one starts.
      open.span.setAttribute(Attr.STAGE_SUPERSEDED, true);
      open.span.end();
    }
    const underRecovery = s.resubmissions > 0 && t.recovery?.stages.has(id);
    const parent = underRecovery ? t.recovery!.ctx : t.ctx;
    const span = tracer().startSpan(
      'rivulet.stage',
      {
        attributes: {
          [Attr.JOB_ID]: run.job.id,
          [Attr.BATCH_TIME_MS]: run.batchTimeMs,
          [Attr.STAGE_ID]: id,
          [Attr.STAGE_KIND]: s.stage.kind,
          [Attr.STAGE_PARTITIONS]: s.stage.numPartitions,
          [Attr.STAGE_RESUBMISSION]: s.resubmissions,
        },
      },
      parent,
    );
    t.stages.set(id, { span, ctx: trace.setSpan(parent, span) });
  }

  stageCompleted(run: BatchRun, s: StageRun): void {
    const t = this.runs.get(run);
    if (!t) return;
    const id = s.stage.id;
    t.stages.get(id)?.span.end();
    t.stages.delete(id);
    if (t.recovery?.stages.delete(id) && t.recovery.stages.size === 0) {
      t.recovery.span.end();
      t.recovery = undefined;
    }
  }

  /** W3C context of a task's stage span, for TaskSpec.trace_context ({} when not traced). */
  taskContext(run: BatchRun, s: StageRun): Record<string, string> {
    const stage = this.runs.get(run)?.stages.get(s.stage.id);
    return stage ? contextToMap(stage.ctx) : {};
  }

  /** One task attempt placed: locality NO_PREF when its input has no preferred executor (Spark's level). */
  taskLaunched(locality: string, hasPreference: boolean, speculative: boolean): void {
    const m = instruments();
    m.tasksLaunched.add(1, { [Attr.TASK_LOCALITY]: hasPreference ? locality : 'NO_PREF', [Attr.TASK_SPECULATIVE]: speculative });
    if (speculative) m.speculativeTasks.add(1);
  }

  /**
   * Map outputs on `executorId` were lost: the `affected` map stages and the
   * stages reading them run again under a `rivulet.recovery` span, which ends
   * when they have all completed again.
   */
  recoveryStarted(run: BatchRun, executorId: string, affected: StageRun[]): void {
    const ids = new Set(affected.map((s) => s.stage.id));
    for (const s of run.stages) if (s.stage.parentStages.some((p) => ids.has(p)) && !run.stageComplete(s)) ids.add(s.stage.id);
    const stageIds = [...ids];
    instruments().recoveries.add(1);
    const t = this.runs.get(run);
    if (!t) return;
    if (!t.recovery) {
      const span = tracer().startSpan(
        'rivulet.recovery',
        {
          attributes: {
            [Attr.JOB_ID]: run.job.id,
            [Attr.BATCH_TIME_MS]: run.batchTimeMs,
            [Attr.EXECUTOR_ID]: executorId,
            [Attr.RECOVERY_REASON]: `map outputs on executor ${executorId} lost`,
          },
        },
        t.ctx,
      );
      t.recovery = { span, ctx: trace.setSpan(t.ctx, span), stages: new Set() };
    }
    for (const id of stageIds) t.recovery.stages.add(id);
    t.recovery.span.setAttribute(Attr.RECOVERY_STAGES, [...t.recovery.stages]);
  }

  outputsCommitting(run: BatchRun): void {
    const t = this.runs.get(run);
    if (!t) return;
    t.commit = tracer().startSpan('rivulet.output.commit', { attributes: { [Attr.OUTPUTS]: run.job.graph.outputs.length } }, t.ctx);
  }

  outputsCommitted(run: BatchRun): void {
    const t = this.runs.get(run);
    t?.commit?.end();
    if (t) t.commit = undefined;
  }

  /** The batch left the scheduler (COMPLETED or FAILED): metrics, and every span still open ends. */
  batchFinished(run: BatchRun, timings: BatchTimings): void {
    const m = instruments();
    const labels = { [Attr.JOB_NAME]: run.job.name };
    m.batches.add(1, { ...labels, [Attr.BATCH_STATE]: run.state });
    if (run.state === 'COMPLETED') {
      m.batchRecords.add(run.inputRecords, labels);
      m.schedulingDelay.record(timings.schedulingDelayMs, labels);
      m.processingTime.record(timings.processingTimeMs, labels);
      m.totalDelay.record(timings.totalDelayMs, labels);
    }
    const t = this.runs.get(run);
    if (!t) return;
    this.runs.delete(run);
    t.span.setAttributes({
      [Attr.BATCH_STATE]: run.state,
      [Attr.BATCH_TASKS]: run.tasksLaunched,
      [Attr.BATCH_SCHEDULING_DELAY_MS]: timings.schedulingDelayMs,
      [Attr.BATCH_PROCESSING_TIME_MS]: timings.processingTimeMs,
      [Attr.BATCH_TOTAL_DELAY_MS]: timings.totalDelayMs,
    });
    if (run.state !== 'COMPLETED') failSpan(t.span, run.error ?? run.state);
    t.commit?.end();
    for (const s of t.stages.values()) s.span.end();
    t.recovery?.span.end();
    t.span.end();
  }
}
