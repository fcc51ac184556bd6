/**
 * What an output's sink is, as a job declares it (`output(name).toJetStream(…)`,
 * `output(name).toPostgres(…)`, lib/dstream/api.ts) and as the scheduler's sink
 * writer receives it: plain data in the job's graph description, checked here
 * once for both — at job build (a JobDefinitionError for the author) and again
 * where it is written (the description crossed a worker boundary).
 *
 * A sink never carries a credential: a Postgres sink names a connection
 * (`connection: 'orders'`) that the scheduler resolves from its own
 * environment (`RIVULET_SINK_ORDERS`), so no password travels in a bundle,
 * the journal or a status answer.
 *
 * Pure and dependency-free: the job API imports it.
 */

export interface JetStreamSinkSpec {
  kind: 'jetstream';
  /** The NATS subject every record is published to (a JetStream stream must capture it). */
  subject: string;
  /** The stream expected to capture `subject`; absent: whichever stream does. */
  stream?: string;
  /** How each record becomes a message body. */
  encoding: 'json' | 'msgpack';
}

export interface PostgresSinkSpec {
  kind: 'postgres';
  /** `table` or `schema.table`; it must exist, with a column per record key. */
  table: string;
  /** A connection name the scheduler resolves from its environment (RIVULET_SINK_<NAME>). */
  connection: string;
  /** 'append': INSERT every record. 'upsert': INSERT … ON CONFLICT (key) DO UPDATE. */
  mode: 'append' | 'upsert';
  /** The conflict columns of 'upsert' (a unique index over them must exist); empty for 'append'. */
  key: string[];
  /** Where a row (job, output, batch_time) records each committed batch; created if missing. */
  commitTable: string;
  /** Commit rows older than this (by batch time) are deleted when a later batch commits, in ms. */
  commitRetentionMs: number;
}

export type SinkSpec = JetStreamSinkSpec | PostgresSinkSpec;

/** What a job passes to `toJetStream(subject, options)`. */
export interface JetStreamSinkOptions {
  /**
   * The JetStream stream expected to capture the subject (checked before the
   * first write: a different stream, or none, fails the job). @default the
   * stream that captures it
   */
  stream?: string;
  /** Message body of each record. @default 'json' */
  encoding?: 'json' | 'msgpack';
}

/** What a job passes to `toPostgres(options)`. */
export interface PostgresSinkOptions {
  /** `table` or `schema.table`; it must exist, with a column per record key. */
  table: string;
  /**
   * The name of a connection the scheduler knows: it reads the connection
   * string (`postgres://user:password@host:5432/db`) from its environment
   * variable `RIVULET_SINK_<NAME>` (upper case, `-` and `.` as `_`). Never a URL:
   * credentials stay out of the job bundle.
   */
  connection: string;
  /** @default 'append' */
  mode?: 'append' | 'upsert';
  /** The conflict column(s) of 'upsert' (a unique index or primary key over them). */
  key?: string | string[];
  /** The commit table (job, output, batch_time), created if missing. @default 'rivulet_commits' */
  commitTable?: string;
  /**
   * How long, in batch time, commit rows are kept: older ones are deleted as
   * later batches commit. A batch re-run later than this after it committed
   * would be written again. @default '24h'
   */
  commitRetention?: string | number;
}

/** A SQL identifier, optionally schema-qualified: written quoted, but kept to a plain form so errors stay readable. */
const TABLE = /^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$/;
const COLUMN = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const CONNECTION = /^[A-Za-z0-9_.-]{1,64}$/;
/** A NATS subject a record may be published to: tokens of printable non-space characters, no wildcard. */
const SUBJECT_TOKEN = /^[^\s.*>]+$/;
const STREAM_NAME = /^[A-Za-z0-9_-]{1,255}$/;

/** Why `subject` cannot be a sink subject, or undefined. */
export function subjectProblem(subject: unknown): string | undefined {
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 255) return 'must be a string of 1-255 characters';
  if (!subject.split('.').every((t) => SUBJECT_TOKEN.test(t))) return 'must be dot-separated tokens without spaces or wildcards (* >)';
  return undefined;
}

/** The environment variable a Postgres connection name is read from. */
export function connectionEnvName(connection: string): string {
  return `RIVULET_SINK_${connection.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

/**
 * The scheduler's own sink options (services/scheduler/config.ts `sink*`, read from
 * RIVULET_SINK_<OPTION>): a connection whose variable is one of them would read an
 * option as its connection string, so such names are refused (a unit test keeps
 * this list equal to the options).
 */
export const SCHEDULER_SINK_OPTION_ENV = [
  'RIVULET_SINK_SUBJECTS',
  'RIVULET_SINK_STREAM',
  'RIVULET_SINK_STREAM_MAX_BYTES',
  'RIVULET_SINK_DUPLICATE_WINDOW',
  'RIVULET_SINK_RETRY_TIMEOUT',
  'RIVULET_SINK_RETRY_BACKOFF',
  'RIVULET_SINK_RETRY_MAX_BACKOFF',
  'RIVULET_SINK_REQUEST_TIMEOUT',
  'RIVULET_SINK_CHUNK_RECORDS',
  'RIVULET_SINK_MAX_CONNECTIONS',
] as const;

/** Checks a sink description; returns the problem, or undefined when it is usable as is. */
export function sinkSpecProblem(spec: unknown): string | undefined {
  if (typeof spec !== 'object' || spec === null) return 'is not a sink description';
  const s = spec as Record<string, unknown>;
  if (s.kind === 'jetstream') {
    const subj = subjectProblem(s.subject);
    if (subj) return `subject ${subj}`;
    if (s.stream !== undefined && (typeof s.stream !== 'string' || !STREAM_NAME.test(s.stream))) return 'stream must be a JetStream stream name (letters, digits, _ and -)';
    if (s.encoding !== 'json' && s.encoding !== 'msgpack') return "encoding must be 'json' or 'msgpack'";
    return undefined;
  }
  if (s.kind === 'postgres') {
    if (typeof s.table !== 'string' || !TABLE.test(s.table)) return 'table must be `table` or `schema.table` (letters, digits, _ and $)';
    if (typeof s.connection !== 'string' || !CONNECTION.test(s.connection)) {
      return 'connection must name a connection the scheduler knows (1-64 letters, digits, _ . -), never a URL: credentials stay out of the job';
    }
    if ((SCHEDULER_SINK_OPTION_ENV as readonly string[]).includes(connectionEnvName(s.connection))) {
      return `connection ${JSON.stringify(s.connection)} would be read from ${connectionEnvName(s.connection)}, which is a scheduler option: choose another name`;
    }
    if (s.mode !== 'append' && s.mode !== 'upsert') return "mode must be 'append' or 'upsert'";
    if (!Array.isArray(s.key) || !s.key.every((k) => typeof k === 'string' && COLUMN.test(k))) return 'key must be column names';
    if (s.mode === 'upsert' && s.key.length === 0) return "mode 'upsert' needs key: the conflict column(s)";
    if (s.mode === 'append' && s.key.length > 0) return "key is for mode 'upsert' only";
    if (typeof s.commitTable !== 'string' || !TABLE.test(s.commitTable)) return 'commitTable must be `table` or `schema.table`';
    if (typeof s.commitRetentionMs !== 'number' || !Number.isInteger(s.commitRetentionMs) || s.commitRetentionMs < 1) return 'commitRetention must be a positive duration';
    return undefined;
  }
  return "kind must be 'jetstream' or 'postgres'";
}

/** A readable name of a sink for errors, logs and metrics: `jetstream:sinks.counts`, `postgres:orders/public.totals`. */
export function sinkLabel(spec: SinkSpec): string {
  return spec.kind === 'jetstream' ? `jetstream:${spec.subject}` : `postgres:${spec.connection}/${spec.table}`;
}

/**
 * Whether `subject` falls under one of NATS subject `patterns` (`*` one token,
 * `>` the rest): the scheduler may publish only there (its NATS permissions).
 */
export function subjectAllowed(subject: string, patterns: readonly string[]): boolean {
  const tokens = subject.split('.');
  return patterns.some((p) => {
    const pt = p.split('.');
    for (let i = 0; i < pt.length; i++) {
      if (pt[i] === '>') return tokens.length > i;
      if (i >= tokens.length) return false;
      if (pt[i] !== '*' && pt[i] !== tokens[i]) return false;
    }
    return pt.length === tokens.length;
  });
}
