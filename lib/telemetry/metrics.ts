/**
 * Rivulet's metric instruments (OpenTelemetry metrics API only; exported by
 * the SDK main.ts starts: OTLP and/or the Prometheus endpoint). Names, units
 * and attributes are listed in docs/telemetry.md.
 *
 * The metrics API has no proxy provider: a meter taken before the SDK is
 * registered stays a no-op forever. So instruments are created on first use
 * and re-created if the global provider changes — never at module load.
 * Recorded per batch, task, block or push — never per record.
 */
import { metrics, type Counter, type Histogram, type Meter, type MeterProvider, type ObservableGauge } from '@opentelemetry/api';

export const METER_NAME = 'rivulet';

export interface RivuletInstruments {
  /** Receiver: records of acknowledged / rejected pushes (`rivulet.outcome` = acked | rejected). */
  receiverRecords: Counter;
  /** Receiver: blocks sealed and stored. */
  receiverBlocks: Counter;
  /** Scheduler: per finished batch (`rivulet.batch.state`). */
  batches: Counter;
  /** Scheduler: input records of completed batches. */
  batchRecords: Counter;
  schedulingDelay: Histogram;
  processingTime: Histogram;
  totalDelay: Histogram;
  /** Scheduler: task launches by `rivulet.task.locality` (and `rivulet.task.speculative`). */
  tasksLaunched: Counter;
  /** Scheduler: speculative copies launched. */
  speculativeTasks: Counter;
  /** Scheduler: recoveries (lost map outputs recomputed), by `rivulet.recovery.reason`. */
  recoveries: Counter;
  /** Executor: tasks finished, by `rivulet.task.state`. */
  tasksFinished: Counter;
  /** Every service: NATS messages and KV/object-store records dropped as invalid, by `rivulet.input.source` (lib/validation.ts). */
  invalidInputs: Counter;
  meter: Meter;
}

let cached: { provider: MeterProvider; instruments: RivuletInstruments } | undefined;

/** Delay histograms: micro-batch delays from ms to tens of seconds. */
const DELAY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000, 30_000];

export function instruments(): RivuletInstruments {
  const provider = metrics.getMeterProvider();
  if (cached?.provider === provider) return cached.instruments;
  const meter = provider.getMeter(METER_NAME);
  const delay = (name: string, description: string) =>
    meter.createHistogram(name, { description, unit: 'ms', advice: { explicitBucketBoundaries: DELAY_BUCKETS_MS } });
  const made: RivuletInstruments = {
    meter,
    receiverRecords: meter.createCounter('rivulet.receiver.records', {
      description: 'Records the receiver acknowledged (stored on executors) or rejected, by rivulet.outcome',
      unit: '{record}',
    }),
    receiverBlocks: meter.createCounter('rivulet.receiver.blocks', { description: 'Blocks sealed and stored by the receiver', unit: '{block}' }),
    batches: meter.createCounter('rivulet.batches', { description: 'Batches finished, by rivulet.batch.state', unit: '{batch}' }),
    batchRecords: meter.createCounter('rivulet.batch.records', { description: 'Input records of completed batches', unit: '{record}' }),
    schedulingDelay: delay('rivulet.batch.scheduling_delay', 'Batch time to the launch of its first task'),
    processingTime: delay('rivulet.batch.processing_time', 'Launch of a batch’s first task to its completion'),
    totalDelay: delay('rivulet.batch.total_delay', 'Batch time to completion (scheduling delay + processing time)'),
    tasksLaunched: meter.createCounter('rivulet.tasks.launched', { description: 'Task attempts launched, by rivulet.task.locality', unit: '{task}' }),
    speculativeTasks: meter.createCounter('rivulet.tasks.speculative', { description: 'Speculative copies of straggling tasks launched', unit: '{task}' }),
    recoveries: meter.createCounter('rivulet.recoveries', {
      description: 'Recoveries: map outputs lost with an executor (or an unfetchable peer) recomputed, per batch',
      unit: '{recovery}',
    }),
    tasksFinished: meter.createCounter('rivulet.executor.tasks', { description: 'Tasks finished on this executor, by rivulet.task.state', unit: '{task}' }),
    invalidInputs: meter.createCounter('rivulet.invalid_inputs', {
      description: 'NATS messages and KV / object-store records that failed validation and were dropped, by rivulet.input.source',
      unit: '{message}',
    }),
  };
  cached = { provider, instruments: made };
  return made;
}

/** Register an observable gauge (e.g. executors alive, block-store bytes); returns it for tests. */
export function observeGauge(name: string, description: string, unit: string, read: () => Array<{ value: number; attributes?: Record<string, string> }>): ObservableGauge {
  const gauge = instruments().meter.createObservableGauge(name, { description, unit });
  gauge.addCallback((result) => {
    for (const { value, attributes } of read()) result.observe(value, attributes);
  });
  return gauge;
}
