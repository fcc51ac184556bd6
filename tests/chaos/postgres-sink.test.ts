/**
 * Chaos: the Postgres sink's transaction against a real PostgreSQL, one job
 * through three faults, judged against the lines pushed (tests/helpers/sink-rows.ts):
 *
 * 1. The writer killed between write and commit: a deferred constraint trigger
 *    on the table makes COMMIT wait for an advisory lock the test holds, so a
 *    batch's rows and commit row are written but not committed; then the
 *    scheduler (the writer's process) is killed with SIGKILL. PostgreSQL sees
 *    the connection go (client_connection_check_interval) and aborts the
 *    transaction; the restarted scheduler runs the batch again and commits it
 *    once. No hook in Rivulet: the pause is the database's own.
 * 2. The database down for a moment (an immediate shutdown, then a restart):
 *    the batch's write is retried with backoff and succeeds; nothing is lost
 *    or written twice, and no batch fails.
 * 3. The database down for longer than sinkRetryTimeout: the batch, so the
 *    job, fails with a message naming the sink and the option; what was
 *    committed before holds each record once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { startPostgresServer, type PostgresServerHandle } from '../../lib/process/postgres-server.js';
import { freePort } from '../../lib/process/ports.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { expectJobHealthy, pushIdsContinuously } from '../helpers/id-lines.js';
import { expectRowsExactlyOnce, idsIn, type WordRow } from '../helpers/sink-rows.js';
import { waitFor } from '../helpers/wait.js';

const jobFile = fileURLToPath(new URL('./jobs/pg-word-counts.ts', import.meta.url));
const LOCK = 4242;
const RETRY_TIMEOUT_MS = 6000;

describe('chaos: the Postgres sink through a writer killed mid-commit and a database that goes away', () => {
  const keepLogs = process.env.RIVULET_TEST_LOG_DIR;
  const logDir = keepLogs ?? mkdtempSync(join(tmpdir(), 'rivulet-pg-sink-chaos-'));
  let db: PostgresServerHandle;
  let sql: pg.Pool;
  let cluster: LocalCluster;
  let client: RivuletClient;
  const env: Record<string, string> = {
    // Short enough for phase 3; a held COMMIT (phase 1) must not time out before the kill.
    RIVULET_SINK_RETRY_TIMEOUT: `${RETRY_TIMEOUT_MS}ms`,
    RIVULET_SINK_REQUEST_TIMEOUT: '60s',
  };
  let jobId = '';
  // Every phase's pushes (each phase its own id range): the ids that must be stored exactly once, and the ones that may be (refused pushes).
  const acked = new Set<number>();
  const refused = new Set<number>();
  let pushed = 0;

  beforeAll(async () => {
    // The server checks for vanished clients every 100 ms, even while a backend waits on a lock.
    db = await startPostgresServer({ settings: { client_connection_check_interval: '100ms' } });
    sql = new pg.Pool({ connectionString: db.url, max: 3 });
    sql.on('error', () => undefined); // its idle connections die with the server in phases 2 and 3
    await sql.query('CREATE TABLE word_counts (word text NOT NULL, count integer NOT NULL)');
    await sql.query(`CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(${LOCK}); RETURN NULL; END $$`);
    await sql.query('CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT ON word_counts DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold_commit()');
    env.RIVULET_SINK_WC = db.url;
    env.RIVULET_METRICS_PORT = String(await freePort());
  }, 60_000);
  useLocalCluster({ executors: 2, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logLevel: 'info', logDir, env: { scheduler: env } }, (s) => ({ cluster, client } = s));
  afterAll(async () => {
    await sql?.end();
    await db?.stop();
    if (!keepLogs) rmSync(logDir, { recursive: true, force: true });
  });

  const rows = async () => (await sql.query<WordRow>('SELECT word, count FROM word_counts')).rows;
  const commits = () => sql.query<{ n: number }>('SELECT count(*)::int AS n FROM rivulet_commits').then((r) => r.rows[0]!.n, () => 0);
  const schedulerLog = () => readFileSync(join(logDir, 'scheduler.log'), 'utf8');
  /** The scheduler's Prometheus sample of `metric` whose labels include `labels` (0 when absent). */
  const metric = async (name: string, labels: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${env.RIVULET_METRICS_PORT}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };

  /** Push ids from `firstId` until `until` resolves, then stop; the phase's ids join the run's. */
  async function pushingDuring(firstId: number, until: () => Promise<void>): Promise<void> {
    const pushes = pushIdsContinuously(client, 'lines', 100, { pauseMs: 40, firstId });
    try {
      await until();
    } finally {
      await pushes.stop();
      for (const id of pushes.acked) acked.add(id);
      for (const id of pushes.refused) refused.add(id);
      pushed = pushes.pushed();
    }
  }

  /** Wait until every acked id is stored (or time out: the assertions then say what is missing), and judge the table. */
  async function expectTableExactlyOnce(where: string): Promise<void> {
    await waitFor(async () => {
      const stored = idsIn(await rows());
      return [...acked].every((id) => stored.has(id));
    }, `every acked id stored (${where})`, { timeoutMs: 60_000, intervalMs: 250 }).catch(() => undefined);
    expectRowsExactlyOnce(await rows(), acked, refused, pushed, where);
  }

  const moreCommits = async (n: number, what: string) => {
    const from = await commits();
    await waitFor(async () => (await commits()) >= from + n, what, { timeoutMs: 30_000 });
  };

  it('a scheduler killed after its sink wrote a batch but before COMMIT: the batch is committed once, by the restarted scheduler', async () => {
    jobId = (await client.submitJob(jobFile)).jobId;
    await pushingDuring(0, async () => {
      await moreCommits(3, 'three batches committed');
      const holder = await sql.connect();
      try {
        await holder.query('SELECT pg_advisory_lock($1)', [LOCK]);
        // A sink transaction has written its rows and its commit row and waits in COMMIT.
        let blocked = 0;
        await waitFor(async () => {
          const r = await sql.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'rivulet-sink' AND wait_event_type = 'Lock' AND wait_event = 'advisory'",
          );
          blocked = r.rows[0]?.pid ?? 0;
          return blocked !== 0;
        }, "a sink transaction waiting in COMMIT on the test's lock", { timeoutMs: 30_000 });
        const committedBefore = await commits();
        await cluster.scheduler.kill();
        // PostgreSQL notices the writer is gone and aborts its transaction: nothing of the batch was committed.
        await waitFor(
          async () => (await sql.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [blocked])).rowCount === 0,
          'the killed writer’s backend ends (its transaction aborted)',
          { timeoutMs: 10_000 },
        );
        expect(await commits()).toBe(committedBefore);
      } finally {
        await holder.query('SELECT pg_advisory_unlock($1)', [LOCK]).catch(() => undefined);
        holder.release();
      }
      await cluster.restartScheduler();
      await moreCommits(4, 'four batches committed after the restart');
    });
    await expectTableExactlyOnce('after the writer was killed mid-commit');
    await expectJobHealthy(client, jobId);
  }, 180_000);

  it('a database down for a moment: the write is retried and succeeds, nothing lost or written twice, no batch failed', async () => {
    const retries = () => schedulerLog().split('write failed, retrying').length - 1;
    await pushingDuring(1_000_000, async () => {
      await moreCommits(2, 'batches committed');
      const before = retries();
      await db.crash();
      await waitFor(() => retries() >= before + 2, 'the scheduler retries its sink write while the database is down', { timeoutMs: 20_000 });
      await db.start();
      await moreCommits(4, 'batches committed after the database came back');
    });
    await expectTableExactlyOnce('after the database was down for a moment');
    await expectJobHealthy(client, jobId);
    expect(schedulerLog()).toMatch(/sink postgres:wc\/word_counts of output rows: write failed, retrying/);
    // The metrics say so too (docs/telemetry.md): retried attempts, and batches written since.
    expect(await metric('rivulet_sink_errors_total', 'rivulet_sink_error="retried"')).toBeGreaterThanOrEqual(2);
    expect(await metric('rivulet_sink_batches_total', 'rivulet_sink_outcome="written"')).toBeGreaterThan(0);
    expect(await metric('rivulet_sink_write_time_count', 'rivulet_sink="postgres"')).toBeGreaterThan(0);
  }, 120_000);

  it('a database down for longer than sinkRetryTimeout: the job fails naming the sink, and what was committed holds each record once', async () => {
    let failure = '';
    await pushingDuring(2_000_000, async () => {
      await moreCommits(2, 'batches committed');
      await db.crash();
      await waitFor(async () => {
        const j = (await client.status({ recentBatches: 5 })).jobs.find((x) => x.jobId === jobId);
        failure = j?.state === 'FAILED' ? j.error : '';
        return failure !== '';
      }, 'the job fails', { timeoutMs: RETRY_TIMEOUT_MS + 30_000 });
    });
    await db.start();
    expect(await metric('rivulet_sink_batches_total', 'rivulet_sink_outcome="failed"')).toBe(1);
    expect(failure).toMatch(new RegExp(`sink postgres:wc/word_counts of output rows: .*gave up after \\d+ attempts in \\d+ ms: sinkRetryTimeout is ${RETRY_TIMEOUT_MS} ms`));
    // The ids acked after the last committed batch were in the failed batches (the job's failure says so):
    // only the committed ones are judged, each once; nothing stored twice or never pushed.
    const stored = idsIn(await rows());
    const committedAcked = new Set([...acked].filter((id) => stored.has(id) || id < 2_000_000));
    expectRowsExactlyOnce(await rows(), committedAcked, new Set([...refused, ...acked]), pushed, 'after the job failed');
  }, 120_000);
});
