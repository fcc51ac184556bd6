/**
 * An output's handle (`DStream.output(name)` returns it): its name, and the
 * sink it may also write each batch to, exactly once (lib/sinks/). Kept apart
 * from the D-Stream operators (api.ts): it only fills in the output node's
 * sink, checked when the job is built.
 */
import { parseDuration } from '../config/units.js';
import { sinkLabel, sinkSpecProblem, type JetStreamSinkOptions, type PostgresSinkOptions, type SinkSpec } from '../sinks/spec.js';
import { JobDefinitionError } from './errors.js';
import type { OutputNode } from './graph.js';

/**
 * A job output (`stream.output(name)`), which may also write every committed
 * batch to one sink — a JetStream subject or a PostgreSQL table — exactly
 * once per batch, however often a failure makes the batch run again (README
 * "Sources and sinks"). The scheduler writes it (never the job's code), before
 * it records the batch as completed; a sink that cannot be written within the
 * scheduler's retry budget fails the batch, and so the job, naming the sink.
 */
export class Output {
  /** @internal */
  constructor(private readonly node: OutputNode) {}

  /** The output's name (what `rivulet tail` and WatchOutput read). */
  get name(): string {
    return this.node.name;
  }

  /**
   * Publish each record of each batch to the NATS `subject`, into the
   * JetStream stream that captures it, with the message id
   * `<job>/<output>/<batchTime>/<index>`: a batch published again after a
   * failure is dropped by the server as a duplicate (the stream's
   * duplicate_window must cover the longest recovery; the scheduler checks it
   * before the first write). Records are JSON by default.
   */
  toJetStream(subject: string, options: JetStreamSinkOptions = {}): this {
    return this.setSink('toJetStream', {
      kind: 'jetstream',
      subject,
      ...(options.stream !== undefined ? { stream: options.stream } : {}),
      encoding: options.encoding ?? 'json',
    });
  }

  /**
   * Write each batch's records (plain objects: key = column) to a PostgreSQL
   * table, in one transaction with a row (job, output, batch_time) in the
   * commit table, so a batch that runs again is skipped (Spark's
   * transactional output pattern). `mode: 'upsert'` replaces rows with the
   * same `key`; within a batch the last record of a key wins.
   */
  toPostgres(options: PostgresSinkOptions): this {
    if (typeof options !== 'object' || options === null) throw new JobDefinitionError('toPostgres(options): options must be { table, connection, mode?, key? }');
    let commitRetentionMs: number;
    try {
      commitRetentionMs = parseDuration(options.commitRetention ?? '24h');
    } catch (e) {
      throw new JobDefinitionError(`toPostgres: commitRetention: ${(e as Error).message}`);
    }
    const key = options.key === undefined ? [] : Array.isArray(options.key) ? [...options.key] : [options.key];
    return this.setSink('toPostgres', {
      kind: 'postgres',
      table: options.table,
      connection: options.connection,
      mode: options.mode ?? 'append',
      key,
      commitTable: options.commitTable ?? 'rivulet_commits',
      commitRetentionMs,
    });
  }

  private setSink(op: string, spec: SinkSpec): this {
    if (this.node.sink) {
      throw new JobDefinitionError(`${op}: output ${JSON.stringify(this.node.name)} already writes to ${sinkLabel(this.node.sink)}; one sink per output (call output() again, with another name)`);
    }
    const problem = sinkSpecProblem(spec);
    if (problem !== undefined) throw new JobDefinitionError(`${op} of output ${JSON.stringify(this.node.name)}: ${problem}`);
    this.node.sink = spec;
    return this;
  }
}
