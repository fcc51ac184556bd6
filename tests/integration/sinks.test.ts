/**
 * The scheduler's sink writer (services/scheduler/sink-runner.ts and its worker
 * thread) against a real PostgreSQL (lib/process/postgres-server.ts) and a real
 * nats-server: each batch lands once however often it is written — again by
 * the same writer, or by a second writer at the same time (two schedulers) —
 * a database that is down for a moment is waited out, one down for longer
 * than the retry budget fails the write naming the sink, and what can never
 * work (a missing table or connection, a stream that forgets message ids too
 * soon, a subject the scheduler may not publish to) fails at once, saying why.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packRecords } from '../../lib/codec/records.js';
import { connectNats, type NatsConnection } from '../../lib/nats/connection.js';
import { startNatsServer, type NatsServerHandle } from '../../lib/process/nats-server.js';
import { startPostgresServer, type PostgresServerHandle } from '../../lib/process/postgres-server.js';
import type { SinkWorkerOptions } from '../../lib/sinks/protocol.js';
import type { PostgresSinkSpec } from '../../lib/sinks/spec.js';
import { SinkRunner, type SinkCall } from '../../services/scheduler/sink-runner.js';
import { waitFor } from '../helpers/wait.js';

const options: SinkWorkerOptions = {
  retry: { retryTimeoutMs: 20_000, backoffMs: 50, maxBackoffMs: 500 },
  chunkRecords: 100,
  maxConnections: 2,
  requestTimeoutMs: 5000,
  sinkSubjects: ['sinks.>'],
  sinkStream: 'test-sinks',
  sinkStreamMaxBytes: 64 * 1024 * 1024,
  duplicateWindowMs: 60_000,
};

describe('sink writer', () => {
  let db: PostgresServerHandle;
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let sql: pg.Pool;
  const runners: SinkRunner[] = [];
  const logs: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });

  const runner = (o: Partial<SinkWorkerOptions> = {}) => {
    const r = new SinkRunner({ options: { ...options, ...o }, nats: { url: nats.url, replicas: 1 } }, (name) => (name === 'main' ? db.url : undefined), log);
    runners.push(r);
    return r;
  };
  const pgSpec = (over: Partial<PostgresSinkSpec> = {}): PostgresSinkSpec => ({
    kind: 'postgres',
    table: 'counts',
    connection: 'main',
    mode: 'append',
    key: [],
    commitTable: 'rivulet_commits',
    commitRetentionMs: 3_600_000,
    ...over,
  });
  const rows = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ word: `w${from + i}`, count: from + i }));
  const call = (output: string, spec: SinkCall['spec'], records: unknown[]): SinkCall => ({ output, spec, payload: packRecords(records) });
  const job = (id: string) => ({ id, name: id });
  const count = async (q: string) => Number((await sql.query<{ n: string }>(q)).rows[0]!.n);

  beforeAll(async () => {
    [db, nats] = await Promise.all([startPostgresServer(), startNatsServer({ removeStoreOnStop: true })]);
    nc = await connectNats(nats.url, 'test');
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
    sql.on('error', () => undefined);
    await sql.query('CREATE TABLE counts (word text NOT NULL, count bigint NOT NULL)');
    await sql.query('CREATE TABLE totals (word text PRIMARY KEY, count bigint NOT NULL)');
  }, 60_000);
  afterAll(async () => {
    await Promise.all(runners.map((r) => r.close()));
    await sql?.end();
    await nc?.close();
    await Promise.all([db?.stop(), nats?.stop()]);
  });

  it('writes a batch and its commit row in one transaction, and skips the batch when it comes again', async () => {
    const r = runner();
    expect(await r.write(job('j1'), 1000, [call('counts', pgSpec(), rows(250))])).toBeUndefined();
    expect(await count('SELECT count(*) AS n FROM counts')).toBe(250);
    expect((await sql.query('SELECT job, output, batch_time, records FROM rivulet_commits')).rows).toEqual([{ job: 'j1', output: 'counts', batch_time: '1000', records: '250' }]);
    // A re-run of the batch (a restarted scheduler): nothing written twice.
    expect(await r.write(job('j1'), 1000, [call('counts', pgSpec(), rows(250))])).toBeUndefined();
    expect(await count('SELECT count(*) AS n FROM counts')).toBe(250);
    expect(logs.some((l) => l.includes('the batch was written before (a re-run); not written again'))).toBe(true);
    // An empty batch touches nothing, not even the commit table.
    expect(await r.write(job('j1'), 1500, [call('counts', pgSpec(), [])])).toBeUndefined();
    expect(await count("SELECT count(*) AS n FROM rivulet_commits WHERE batch_time = 1500")).toBe(0);
    // Status: what this runner wrote to the output's sink — the re-run counted as skipped, not written.
    expect(r.progressOf('j1')).toEqual([
      { output: 'counts', sink: 'postgres:main/counts', batchesWritten: 2, batchesSkipped: 1, recordsWritten: 250, lastBatchTimeMs: 1500, lastError: '', lastErrorAtMs: 0, retryingAttempt: 0 },
    ]);
    // Upsert: one row per key, the last value of the latest batch.
    await r.write(job('j1'), 1000, [call('totals', pgSpec({ table: 'totals', mode: 'upsert', key: ['word'] }), [{ word: 'a', count: 1 }, { word: 'b', count: 1 }])]);
    await r.write(job('j1'), 2000, [call('totals', pgSpec({ table: 'totals', mode: 'upsert', key: ['word'] }), [{ word: 'a', count: 5 }])]);
    expect((await sql.query('SELECT word, count FROM totals ORDER BY word')).rows).toEqual([
      { word: 'a', count: '5' },
      { word: 'b', count: '1' },
    ]);
  });

  it('lets only one of two writers of the same batch at once write it', async () => {
    const [a, b] = [runner(), runner()];
    const results = await Promise.all([a.write(job('j2'), 5000, [call('counts', pgSpec(), rows(300, 1000))]), b.write(job('j2'), 5000, [call('counts', pgSpec(), rows(300, 1000))])]);
    expect(results).toEqual([undefined, undefined]);
    expect(await count("SELECT count(*) AS n FROM counts WHERE word LIKE 'w1%' AND count >= 1000 AND count < 1300")).toBe(300);
  });

  it('fails at once, naming the sink and why, when the table or the connection does not exist', async () => {
    const r = runner();
    const started = Date.now();
    expect(await r.write(job('j3'), 1000, [call('counts', pgSpec({ table: 'nope' }), rows(1))])).toBe('sink postgres:main/nope of output counts: relation "nope" does not exist (42P01)');
    expect(Date.now() - started).toBeLessThan(options.retry.retryTimeoutMs);
    expect(await r.write(job('j3'), 1000, [call('counts', pgSpec({ connection: 'other' }), rows(1))])).toBe(
      'sink postgres:other/counts of output counts: the scheduler has no connection "other": set RIVULET_SINK_OTHER to its connection string in the scheduler\'s environment',
    );
    // Nothing of the failed batches was committed.
    expect(await count("SELECT count(*) AS n FROM rivulet_commits WHERE job = 'j3'")).toBe(0);
  });

  it('waits out a database that is down for a moment, and fails naming the sink when it stays down past the retry budget', async () => {
    const r = runner();
    await db.crash();
    const retriesBefore = logs.filter((l) => l.includes('write failed, retrying')).length;
    const writing = r.write(job('j4'), 1000, [call('counts', pgSpec(), rows(50, 5000))]);
    await waitFor(() => logs.filter((l) => l.includes('write failed, retrying')).length >= retriesBefore + 2, 'the writer retries while the database is down');
    // Status says the write is being retried, and why.
    const retrying = r.progressOf('j4')[0]!;
    expect(retrying.retryingAttempt).toBeGreaterThanOrEqual(2);
    expect(retrying.lastError).not.toBe('');
    expect(retrying.batchesWritten).toBe(0);
    await db.start();
    expect(await writing).toBeUndefined();
    // The last failed attempt stays visible after the write went through (a later attempt may have failed differently: the server starting up).
    expect(r.progressOf('j4')[0]).toMatchObject({ retryingAttempt: 0, batchesWritten: 1, recordsWritten: 50, lastBatchTimeMs: 1000, lastError: expect.stringMatching(/./) });
    expect(await count("SELECT count(*) AS n FROM counts WHERE count >= 5000 AND count < 5050")).toBe(50);

    const short = runner({ retry: { retryTimeoutMs: 1500, backoffMs: 50, maxBackoffMs: 200 } });
    await db.crash();
    const error = await short.write(job('j4'), 2000, [call('counts', pgSpec(), rows(50, 6000))]);
    await db.start();
    expect(error).toMatch(/^sink postgres:main\/counts of output counts: .*\(gave up after \d+ attempts in \d+ ms: sinkRetryTimeout is 1500 ms\)$/);
    expect(short.progressOf('j4')[0]).toMatchObject({ retryingAttempt: 0, batchesWritten: 0, lastError: error });
    expect(await count("SELECT count(*) AS n FROM counts WHERE count >= 6000")).toBe(0);
  }, 60_000);

  it('publishes each record once with its message id, however often the batch is published', async () => {
    const r = runner();
    const spec = { kind: 'jetstream' as const, subject: 'sinks.words', encoding: 'json' as const };
    expect(await r.write(job('j5'), 1000, [call('words', spec, rows(250))])).toBeUndefined();
    expect(await r.write(job('j5'), 1000, [call('words', spec, rows(250))])).toBeUndefined();
    expect(await r.write(job('j5'), 2000, [call('words', spec, rows(10, 250))])).toBeUndefined();
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('test-sinks');
    expect(info.config.duplicate_window).toBe(60_000 * 1_000_000);
    expect(info.state.messages).toBe(260);
    const consumer = await jetstream(nc).consumers.get('test-sinks');
    const got: Array<{ id: string | undefined; body: unknown }> = [];
    for await (const m of await consumer.fetch({ max_messages: 260, expires: 5000 })) {
      got.push({ id: m.headers?.get('Nats-Msg-Id'), body: m.json() });
      if (m.info.pending === 0) break;
    }
    expect(got.slice(0, 2)).toEqual([
      { id: 'j5/words/1000/0', body: { word: 'w0', count: 0 } },
      { id: 'j5/words/1000/1', body: { word: 'w1', count: 1 } },
    ]);
    expect(got.at(-1)).toEqual({ id: 'j5/words/2000/9', body: { word: 'w259', count: 259 } });
  });

  it('refuses a stream that forgets message ids too soon, a stream other than the one named, and a subject the scheduler may not publish to', async () => {
    const jsm = await jetstreamManager(nc);
    // An operator's stream for some sink subjects, remembering ids for only a second.
    await jsm.streams.add({ name: 'SHORT', subjects: ['short.>'], duplicate_window: 1_000_000_000 });
    const r = runner({ sinkSubjects: ['sinks.>', 'short.>', 'other.>'] });
    expect(await r.write(job('j6'), 1000, [call('o', { kind: 'jetstream', subject: 'short.x', encoding: 'json' }, rows(1))])).toMatch(
      /^sink jetstream:short.x of output o: stream SHORT remembers message ids for 1000 ms \(duplicate_window\), less than sinkDuplicateWindow \(60000 ms\)/,
    );
    expect(await r.write(job('j6'), 1000, [call('o', { kind: 'jetstream', subject: 'sinks.x', stream: 'SHORT', encoding: 'json' }, rows(1))])).toBe(
      'sink jetstream:sinks.x of output o: the subject is captured by stream test-sinks, not by stream SHORT as the job says',
    );
    expect(await r.write(job('j6'), 1000, [call('o', { kind: 'jetstream', subject: 'other.x', stream: 'ELSEWHERE', encoding: 'json' }, rows(1))])).toMatch(
      /no JetStream stream captures the subject \(the job names stream ELSEWHERE\)/,
    );
    expect(await runner().write(job('j6'), 1000, [call('o', { kind: 'jetstream', subject: 'elsewhere.x', encoding: 'json' }, rows(1))])).toMatch(
      /the subject is outside sinkSubjects \(sinks\.>\), the subjects the scheduler's NATS user may publish to/,
    );
    expect((await jsm.streams.info('SHORT')).state.messages).toBe(0);
  });
});
