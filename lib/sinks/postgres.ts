/**
 * The PostgreSQL sink (`output(name).toPostgres({ table, connection, mode, key })`):
 * Spark's "transactional output" pattern, built in. One batch of one output is
 * one transaction:
 *
 *   BEGIN
 *   INSERT INTO <commitTable> (job, output, batch_time, records) … ON CONFLICT DO NOTHING
 *     — no row inserted: this batch was committed before (a re-run): ROLLBACK, skip
 *   INSERT INTO <table> (…) VALUES (…), (…) [ON CONFLICT (key) DO UPDATE …]   ×chunks
 *   DELETE FROM <commitTable> WHERE job, output AND batch_time < this − commitRetention
 *   COMMIT
 *
 * So the batch's rows and its commit row become visible together or not at all:
 * a writer killed anywhere before COMMIT leaves nothing (the server aborts the
 * transaction when the connection goes), and a re-run after a COMMIT finds the
 * commit row and writes nothing. Two writers of the same batch at once (a
 * deposed leader still finishing) serialise on the commit row's primary key:
 * the second waits for the first and then skips, or writes if the first
 * aborted. An attempt that fails is given up whole (its connection is
 * destroyed, never reused mid-transaction) and the next attempt starts over.
 *
 * Bounded: at most `chunkRecords` rows per INSERT (and never over
 * PostgreSQL's 65,535 parameters), `maxConnections` per connection string,
 * every connect and statement within `requestTimeoutMs`.
 *
 * Runs in the scheduler's sink worker thread (sink-worker.ts), never on the
 * scheduler's event loop.
 */
import pg from 'pg';
import type { PostgresSinkSpec } from './spec.js';
import { SinkError } from './retry.js';

/** PostgreSQL's limit on the parameters of one statement. */
const MAX_PARAMETERS = 65_535;

export interface PostgresWriterOptions {
  /** Rows per INSERT at most (sinkChunkRecords). */
  chunkRecords: number;
  /** Connections per connection string (sinkMaxConnections). */
  maxConnections: number;
  /** One connect or statement at most (sinkRequestTimeout). */
  requestTimeoutMs: number;
}

/** One batch of one output, as the writer is told it. */
export interface BatchRef {
  jobId: string;
  output: string;
  batchTimeMs: number;
}

/** A batch turned into statements, once, before the first attempt. */
export interface PreparedRows {
  statements: Array<{ text: string; values: unknown[] }>;
  rows: number;
}

export interface PostgresWriteResult {
  /** The batch was committed before: nothing written. */
  skipped: boolean;
  rows: number;
}

/** `name` or `schema.name`, each part double-quoted. */
export function quoteTable(table: string): string {
  return table
    .split('.')
    .map((p) => quoteIdent(p))
    .join('.');
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function isRow(r: unknown): r is Record<string, unknown> {
  return typeof r === 'object' && r !== null && !Array.isArray(r) && !(r instanceof Uint8Array);
}

/** A record's value as a statement parameter: objects and arrays as JSON text (a json/jsonb column), bytes as bytea. */
function param(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'object') return JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  return v;
}

/**
 * The INSERT statements of a batch's records (plain objects, key = column).
 * Columns: every key any record has, in first-seen order (a record without one
 * writes NULL). Upsert: within the batch the last record of a key wins (one
 * INSERT … ON CONFLICT may not touch a row twice). A record that is not a row,
 * or lacks a key column, fails the write at once: retrying cannot fix it.
 */
export function prepareRows(spec: PostgresSinkSpec, records: readonly unknown[], chunkRecords: number, sink: string): PreparedRows {
  const columns: string[] = [];
  const seen = new Set<string>();
  let rows: Array<Record<string, unknown>> = [];
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (!isRow(r)) {
      throw new SinkError(
        `${sink}: record ${i} of the batch is ${Array.isArray(r) ? 'an array' : r === null ? 'null' : typeof r}, not a row: toPostgres writes plain objects (key = column); map pairs first, e.g. .map(([word, count]) => ({ word, count }))`,
        false,
      );
    }
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
    rows.push(r);
  }
  if (spec.mode === 'upsert') {
    const byKey = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const keyValues = spec.key.map((k) => r[k]);
      const missing = spec.key.find((k, j) => keyValues[j] === undefined || keyValues[j] === null);
      if (missing !== undefined) throw new SinkError(`${sink}: record ${i} of the batch has no value for the key column ${JSON.stringify(missing)}`, false);
      const id = JSON.stringify(keyValues.map(param));
      byKey.delete(id); // the last record of a key wins, at its own position
      byKey.set(id, r);
    }
    rows = [...byKey.values()];
    for (const k of spec.key) {
      if (!seen.has(k)) columns.push(k);
    }
  }
  const statements: PreparedRows['statements'] = [];
  if (rows.length === 0) return { statements, rows: 0 };
  const perStatement = Math.max(1, Math.min(chunkRecords, Math.floor(MAX_PARAMETERS / columns.length)));
  const table = quoteTable(spec.table);
  const cols = columns.map(quoteIdent).join(', ');
  let conflict = '';
  if (spec.mode === 'upsert') {
    const keys = new Set(spec.key);
    const rest = columns.filter((c) => !keys.has(c));
    const target = spec.key.map(quoteIdent).join(', ');
    conflict = rest.length === 0 ? ` ON CONFLICT (${target}) DO NOTHING` : ` ON CONFLICT (${target}) DO UPDATE SET ${rest.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')}`;
  }
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (const r of chunk) {
      const placeholders: string[] = [];
      for (const c of columns) {
        values.push(param(r[c]));
        placeholders.push(`$${values.length}`);
      }
      tuples.push(`(${placeholders.join(', ')})`);
    }
    statements.push({ text: `INSERT INTO ${table} (${cols}) VALUES ${tuples.join(', ')}${conflict}`, values });
  }
  return { statements, rows: rows.length };
}

/** SQLSTATEs of a CREATE TABLE IF NOT EXISTS that lost a race with another one: the table is there. */
const CREATED_CONCURRENTLY = new Set(['23505', '42P07']);

export class PostgresWriter {
  private readonly pools = new Map<string, pg.Pool>();
  /** Commit tables known to exist, per connection string. */
  private readonly ensured = new Set<string>();

  constructor(
    private readonly options: PostgresWriterOptions,
    /** An idle pooled connection failed (the server went away): nothing was in flight on it. */
    private readonly onIdleError: (message: string) => void,
  ) {}

  private pool(url: string): pg.Pool {
    let pool = this.pools.get(url);
    if (!pool) {
      pool = new pg.Pool({
        connectionString: url,
        max: this.options.maxConnections,
        connectionTimeoutMillis: this.options.requestTimeoutMs,
        query_timeout: this.options.requestTimeoutMs,
        idleTimeoutMillis: 30_000,
        application_name: 'rivulet-sink',
      });
      // Without a listener an idle connection's error (the server restarting) would end the thread.
      pool.on('error', (err) => this.onIdleError(err.message));
      this.pools.set(url, pool);
    }
    return pool;
  }

  /** One attempt at writing one batch (see the module comment); throws on any failure, having left nothing behind. */
  async write(spec: PostgresSinkSpec, url: string, batch: BatchRef, prepared: PreparedRows): Promise<PostgresWriteResult> {
    const client = await this.pool(url).connect();
    let failed = false;
    try {
      await this.ensureCommitTable(client, url, spec.commitTable);
      const commits = quoteTable(spec.commitTable);
      await client.query('BEGIN');
      const claimed = await client.query(
        `INSERT INTO ${commits} (job, output, batch_time, records) VALUES ($1, $2, $3, $4) ON CONFLICT (job, output, batch_time) DO NOTHING`,
        [batch.jobId, batch.output, batch.batchTimeMs, prepared.rows],
      );
      if (claimed.rowCount === 0) {
        await client.query('ROLLBACK');
        return { skipped: true, rows: 0 };
      }
      for (const s of prepared.statements) await client.query(s.text, s.values);
      await client.query(`DELETE FROM ${commits} WHERE job = $1 AND output = $2 AND batch_time < $3`, [batch.jobId, batch.output, batch.batchTimeMs - spec.commitRetentionMs]);
      await client.query('COMMIT');
      return { skipped: false, rows: prepared.rows };
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      // A failed attempt's connection is destroyed, never reused: the server aborts what it had open.
      client.release(failed);
    }
  }

  private async ensureCommitTable(client: pg.PoolClient, url: string, table: string): Promise<void> {
    const known = `${url}\u0000${table}`;
    if (this.ensured.has(known)) return;
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${quoteTable(table)} (` +
          'job text NOT NULL, output text NOT NULL, batch_time bigint NOT NULL, records bigint NOT NULL, ' +
          'committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (job, output, batch_time))',
      );
    } catch (e) {
      if (!CREATED_CONCURRENTLY.has(String((e as { code?: unknown }).code))) throw e;
    }
    this.ensured.add(known);
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  }
}
