/**
 * Tracing for library code: the tracer, the attribute names Rivulet puts on
 * spans (OpenTelemetry semantic conventions plus the documented `rivulet.*`
 * set, docs/telemetry.md), and carrying W3C trace context through plain
 * string maps (TaskSpec.trace_context).
 *
 * Only `@opentelemetry/api` here: without an SDK (tracing off) every call is a
 * no-op on a non-recording span. Spans are per batch, stage, task, block or
 * call — never per record.
 */
import { context, propagation, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';

export const TRACER_NAME = 'rivulet';

/** The tracer of all Rivulet code (the global provider's, or a no-op one). */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** Attribute names: semantic conventions first, then Rivulet's own. */
export const Attr = {
  RPC_SYSTEM: 'rpc.system',
  RPC_SERVICE: 'rpc.service',
  RPC_METHOD: 'rpc.method',
  RPC_GRPC_STATUS_CODE: 'rpc.grpc.status_code',
  SERVER_ADDRESS: 'server.address',
  MESSAGING_SYSTEM: 'messaging.system',
  MESSAGING_DESTINATION_NAME: 'messaging.destination.name',
  MESSAGING_DESTINATION_TEMPLATE: 'messaging.destination.template',
  MESSAGING_OPERATION: 'messaging.operation',
  MESSAGING_OPERATION_TYPE: 'messaging.operation.type',
  MESSAGING_OPERATION_NAME: 'messaging.operation.name',
  MESSAGING_BODY_SIZE: 'messaging.message.body.size',

  JOB_ID: 'rivulet.job.id',
  JOB_NAME: 'rivulet.job.name',
  STREAM: 'rivulet.stream',
  BATCH_TIME_MS: 'rivulet.batch.time_ms',
  BATCH_STATE: 'rivulet.batch.state',
  BATCH_TASKS: 'rivulet.batch.tasks',
  BATCH_SCHEDULING_DELAY_MS: 'rivulet.batch.scheduling_delay_ms',
  BATCH_PROCESSING_TIME_MS: 'rivulet.batch.processing_time_ms',
  BATCH_TOTAL_DELAY_MS: 'rivulet.batch.total_delay_ms',
  BLOCK_ID: 'rivulet.block.id',
  BLOCK_COUNT: 'rivulet.block.count',
  BLOCK_BYTES: 'rivulet.block.bytes',
  BLOCK_REPLICAS: 'rivulet.block.replicas',
  RECEIVER_ID: 'rivulet.receiver.id',
  STAGE_ID: 'rivulet.stage.id',
  STAGE_KIND: 'rivulet.stage.kind',
  STAGE_PARTITIONS: 'rivulet.stage.partitions',
  STAGE_RESUBMISSION: 'rivulet.stage.resubmission',
  STAGE_SUPERSEDED: 'rivulet.stage.superseded',
  TASK_ID: 'rivulet.task.id',
  TASK_PARTITION: 'rivulet.task.partition',
  TASK_ATTEMPT: 'rivulet.task.attempt',
  TASK_LOCALITY: 'rivulet.task.locality',
  TASK_SPECULATIVE: 'rivulet.task.speculative',
  TASK_STATE: 'rivulet.task.state',
  TASK_FETCH_MS: 'rivulet.task.fetch_ms',
  TASK_QUEUE_MS: 'rivulet.task.queue_ms',
  TASK_RUN_MS: 'rivulet.task.run_ms',
  EXECUTOR_ID: 'rivulet.executor.id',
  RECORDS_IN: 'rivulet.records.in',
  RECORDS_OUT: 'rivulet.records.out',
  BYTES_OUT: 'rivulet.bytes.out',
  OUTPUTS: 'rivulet.outputs',
  RECOVERY_REASON: 'rivulet.recovery.reason',
  RECOVERY_STAGES: 'rivulet.recovery.stages',
} as const;

/** W3C trace context of `ctx` as a plain string map (empty when nothing is traced). */
export function contextToMap(ctx: Context): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (trace.getSpan(ctx)?.spanContext()) propagation.inject(ctx, carrier);
  return carrier;
}

/** The context a string map carries, on top of the active one. */
export function contextFromMap(carrier: Record<string, string> | undefined): Context {
  if (!carrier || Object.keys(carrier).length === 0) return context.active();
  return propagation.extract(context.active(), carrier);
}

/** True when `ctx` holds a valid span context (something to continue). */
export function hasSpan(ctx: Context): boolean {
  const sc = trace.getSpan(ctx)?.spanContext();
  return !!sc && trace.isSpanContextValid(sc);
}

/** End `span` with an error status. */
export function failSpan(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
