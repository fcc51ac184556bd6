/**
 * e2e: a word count writing to a PostgreSQL table (append), a JetStream
 * subject, and a table of running totals (upsert), on a secure local cluster
 * and a real PostgreSQL started here, while an executor and then the
 * scheduler are killed with SIGKILL mid-stream (each replaced) — the scheduler
 * at the moment a batch is on the subject and in the totals but its rows wait
 * in COMMIT, so the restarted scheduler runs it again and both sinks must
 * deduplicate it (a deferred trigger holds the COMMIT on the test's advisory
 * lock: PostgreSQL's own behaviour, no hook in Rivulet). Judged against
 * a reference computed here from the lines pushed, never from the job's own
 * outputs: every acked id is in exactly one row and one message with count 1,
 * nothing never pushed is there, the colour words' counts add up to the word
 * count of exactly the lines stored, each JetStream message id is there once,
 * and the totals table equals the colour count of every line counted.
 *
 * Then the NATS side of security: the subject is the scheduler's to publish
 * to; an executor's certificate publishing there is refused by the server.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { startPostgresServer, type PostgresServerHandle } from '../../lib/process/postgres-server.js';
import type { ServiceRole } from '../../lib/security/identity.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { expectJobHealthy, pushIdsContinuously } from '../helpers/id-lines.js';
import { colourCounts, expectRowsExactlyOnce, idsIn, type WordRow } from '../helpers/sink-rows.js';
import { waitFor } from '../helpers/wait.js';

const job = fileURLToPath(new URL('./jobs/sink-wordcount.ts', import.meta.url));
const SUBJECT = 'sinks.wordcounts';
const LOCK = 4243;

type Row = WordRow;

describe('e2e: sinks exactly once across kill -9 of an executor and of the scheduler', () => {
  // RIVULET_TEST_LOG_DIR keeps the processes' logs for a look afterwards.
  const keepLogs = process.env.RIVULET_TEST_LOG_DIR;
  const logDir = keepLogs ?? mkdtempSync(join(tmpdir(), 'rivulet-sinks-e2e-'));
  let db: PostgresServerHandle;
  let sql: pg.Pool;
  let cluster: LocalCluster;
  let client: RivuletClient;
  // A COMMIT held on the test's lock must not time out (sinkRequestTimeout) before the kill.
  const env: Record<string, string> = { RIVULET_SINK_REQUEST_TIMEOUT: '60s' };

  beforeAll(async () => {
    // The server checks for vanished clients every 100 ms, even while a backend waits on a lock.
    db = await startPostgresServer({ settings: { client_connection_check_interval: '100ms' } });
    sql = new pg.Pool({ connectionString: db.url, max: 3 });
    sql.on('error', () => undefined); // an idle connection ended by the server's stop in afterAll
    await sql.query('CREATE TABLE word_counts (word text NOT NULL, count integer NOT NULL)');
    await sql.query('CREATE TABLE word_totals (word text PRIMARY KEY, total integer NOT NULL)');
    await sql.query(`CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(${LOCK}); RETURN NULL; END $$`);
    await sql.query('CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT ON word_counts DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold_commit()');
    // The connection string reaches the scheduler only, through its environment.
    env.RIVULET_SINK_WC = db.url;
  }, 60_000);
  useLocalCluster(
    { executors: 3, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logLevel: 'info', logDir, env: { scheduler: env } },
    (s) => ({ cluster, client } = s),
  );
  afterAll(async () => {
    await sql?.end();
    await db?.stop();
    if (!keepLogs) rmSync(logDir, { recursive: true, force: true });
  });

  const asRole = (role: ServiceRole): Promise<NatsConnection> => {
    const e = cluster.security!.env(role);
    return connect({ servers: cluster.natsUrl, tls: { caFile: e.RIVULET_TLS_CA_FILE, certFile: e.RIVULET_TLS_CERT_FILE, keyFile: e.RIVULET_TLS_KEY_FILE }, reconnect: false, timeout: 5000 });
  };

  /** Every message of the subject, oldest first (read with the scheduler's identity: the stream is its). */
  async function readSubject(): Promise<Array<{ id: string; row: Row }>> {
    const nc = await asRole('scheduler');
    try {
      const js = jetstream(nc);
      const consumer = await js.consumers.get('rivulet-sinks', { filter_subjects: SUBJECT });
      const pending = (await consumer.info()).num_pending;
      const out: Array<{ id: string; row: Row }> = [];
      if (pending === 0) return out;
      for await (const m of await consumer.fetch({ max_messages: pending, expires: 10_000 })) {
        out.push({ id: m.headers?.get('Nats-Msg-Id') ?? '', row: m.json<Row>() });
        if (m.info.pending === 0) break;
      }
      return out;
    } finally {
      await nc.close();
    }
  }

  const rows = async () => (await sql.query<Row>('SELECT word, count FROM word_counts')).rows;
  const schedulerLog = () => readFileSync(join(logDir, 'scheduler.log'), 'utf8');

  /** The batch time of the subject's last message (0 when none). */
  async function lastPublishedBatch(): Promise<number> {
    const nc = await asRole('scheduler');
    try {
      const jsm = await jetstreamManager(nc);
      const m = await jsm.streams.getMessage('rivulet-sinks', { last_by_subj: SUBJECT }).catch(() => null);
      return Number(m?.header.get('Rivulet-Batch-Time') ?? 0);
    } finally {
      await nc.close();
    }
  }

  it('every acked record is in the table and on the subject exactly once, and the totals are right', async () => {
    const submitted = await client.submitJob(job);
    // A steady ~1000 lines/s: every batch goes to three sinks, on a 2-core machine shared with the whole cluster.
    const pushes = pushIdsContinuously(client, 'lines', 100, { pauseMs: 100, maxInFlight: 1 });
    const { acked } = pushes;
    const kills: string[] = [];

    // An executor, once batches are flowing into the sinks.
    // (The commit table appears with the first sink write.)
    const committed = () => sql.query<{ n: number }>('SELECT count(*)::int AS n FROM rivulet_commits').then((r) => r.rows[0]!.n, () => 0);
    await waitFor(async () => (await committed()) >= 6, 'a few batches committed to PostgreSQL', { timeoutMs: 30_000 });
    const victim = cluster.executors[1]!;
    await victim.kill();
    kills.push(victim.name);
    cluster.executors.splice(cluster.executors.indexOf(victim), 1);
    await waitFor(async () => {
      const st = await client.status({ recentBatches: 0 });
      return st.executors.find((e) => e.executorId === victim.name)?.state === 'LOST' && st.underReplicatedBlocks === 0;
    }, `${victim.name} declared lost and its blocks back to 2 replicas`, { timeoutMs: 20_000, intervalMs: 50 });
    await cluster.addExecutor();

    // Then the scheduler, mid-stream, at the worst moment: a batch is on the subject and its totals
    // are upserted, but its rows wait in COMMIT (a deferred trigger waits on the test's advisory
    // lock) — so the batch is not journaled as completed. The restarted scheduler runs it again:
    // JetStream drops the messages as duplicates, the totals' commit row says "done", and the rows
    // (whose transaction died with the writer) are written once.
    const ackedBefore = acked.size;
    await waitFor(() => acked.size >= ackedBefore + 1000, '1000 more acked records', { timeoutMs: 30_000 });
    const holder = await sql.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [LOCK]);
      let blocked = 0;
      await waitFor(async () => {
        const r = await sql.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'rivulet-sink' AND wait_event_type = 'Lock' AND wait_event = 'advisory'");
        blocked = r.rows[0]?.pid ?? 0;
        return blocked !== 0;
      }, 'a batch’s rows waiting in COMMIT', { timeoutMs: 30_000 });
      // Its messages are on the subject: the last one is of a batch later than every committed row batch.
      const lastRows = async () => Number((await sql.query<{ t: string }>("SELECT max(batch_time) AS t FROM rivulet_commits WHERE output = 'rows'")).rows[0]!.t);
      await waitFor(async () => (await lastPublishedBatch()) > (await lastRows()), 'the held batch published to the subject', { timeoutMs: 30_000 });
      await cluster.scheduler.kill();
      kills.push('scheduler');
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [blocked])).rowCount === 0, 'the killed writer’s transaction aborted', { timeoutMs: 10_000 });
    } finally {
      await holder.query('SELECT pg_advisory_unlock($1)', [LOCK]).catch(() => undefined);
      holder.release();
    }
    await cluster.restartScheduler();
    // The re-run batch: already on the subject (every message a duplicate), its totals already committed.
    await waitFor(() => /"output":"events".*written before/.test(schedulerLog()) && /"output":"totals".*written before/.test(schedulerLog()), 'the re-run batch deduplicated by both sinks', {
      timeoutMs: 30_000,
    });
    // Status: the new leader's sink writes, the re-run batch among them as skipped by the totals' sink.
    const sinks = (await client.status({ recentBatches: 0 })).jobs.find((j) => j.jobId === submitted.jobId)!.sinks;
    expect(sinks.map((x) => [x.output, x.sink])).toEqual([
      ['rows', 'postgres:wc/word_counts'],
      ['events', 'jetstream:sinks.wordcounts'],
      ['totals', 'postgres:wc/word_totals'],
    ]);
    expect(Number(sinks.find((x) => x.output === 'totals')!.batchesSkipped), 'the re-run batch was skipped by the totals sink').toBeGreaterThanOrEqual(1);
    const ackedAtRestart = acked.size;
    await waitFor(() => acked.size >= ackedAtRestart + 1000, 'the cluster acks pushes after the restart', { timeoutMs: 30_000 });
    await pushes.stop();
    const context = `kills: ${kills.join(', ')}; ${acked.size} acked of ${pushes.pushed()}`;

    await waitFor(async () => {
      const inTable = idsIn(await rows());
      return [...acked].every((id) => inTable.has(id));
    }, `every acked id in the table (${context})`, { timeoutMs: 60_000, intervalMs: 250 }).catch(
      () => undefined, // the assertions below say what is missing
    );
    const stored = expectRowsExactlyOnce(await rows(), acked, pushes.refused, pushes.pushed(), `table; ${context}`);

    let messages: Array<{ id: string; row: Row }> = [];
    await waitFor(async () => {
      messages = await readSubject();
      return [...acked].every((id) => idsIn(messages.map((m) => m.row)).has(id));
    }, `every acked id on ${SUBJECT} (${context})`, { timeoutMs: 60_000, intervalMs: 500 }).catch(() => undefined);
    const published = expectRowsExactlyOnce(
      messages.map((m) => m.row),
      acked,
      pushes.refused,
      pushes.pushed(),
      `${SUBJECT}; ${context}`,
    );
    expect(new Set(messages.map((m) => m.id)).size, `message ids are unique; ${context}`).toBe(messages.length);
    // The same batches went to both sinks: the same lines, whatever the batch boundaries.
    expect([...published].sort((a, b) => a - b)).toEqual([...stored].sort((a, b) => a - b));

    // One commit row per batch of each output; the totals table: the colour count of every stored line.
    const commits = (await sql.query<{ output: string; batch_time: string; records: string }>('SELECT output, batch_time, records FROM rivulet_commits WHERE job = $1', [submitted.jobId])).rows;
    const perBatch = (output: string) => commits.filter((c) => c.output === output).map((c) => c.batch_time);
    expect(new Set(perBatch('rows')).size).toBe(perBatch('rows').length);
    expect(commits.filter((c) => c.output === 'rows').reduce((n, c) => n + Number(c.records), 0)).toBe((await rows()).length);
    const reference = colourCounts(stored);
    await waitFor(async () => {
      const totals = (await sql.query<{ word: string; total: number }>('SELECT word, total FROM word_totals')).rows;
      return JSON.stringify(totals.map((t) => [t.word, t.total]).sort()) === JSON.stringify([...reference].sort());
    }, `the totals table equals the colour count of every stored line (${context})`, { timeoutMs: 30_000, intervalMs: 250 });
    await expectJobHealthy(client, submitted.jobId);
    await client.stopJob(submitted.jobId);
  }, 300_000);

  it("refuses an executor's certificate publishing to the scheduler's sink subject", async () => {
    const before = (await readSubject()).length;
    const executor = await asRole('executor');
    try {
      executor.publish(SUBJECT, new TextEncoder().encode('{"word":"forged","count":1}'));
      await executor.flush().catch(() => undefined);
    } finally {
      await executor.close().catch(() => undefined);
    }
    await waitFor(() => readFileSync(join(logDir, 'nats-server.log'), 'utf8').includes(`Subject "${SUBJECT}"`), `NATS refuses the executor's publish to ${SUBJECT}`, { timeoutMs: 5000 });
    expect(readFileSync(join(logDir, 'nats-server.log'), 'utf8')).toContain('Publish Violation');
    expect((await readSubject()).length).toBe(before);
  });
});
