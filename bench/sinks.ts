/**
 * Benchmark (not a test): how fast the scheduler's sink writer
 * (services/scheduler/sink-runner.ts, its worker thread) writes batches of
 * word-count rows to a real PostgreSQL (append, and upsert) and to a real
 * JetStream subject (one acknowledged, deduplicated message per record), each
 * batch exactly as a running job's would be written: its commit row and its
 * rows in one transaction; its messages with their ids.
 *
 *   npm run build && node dist/bench/sinks.js
 *   BENCH_BATCHES=20 BENCH_ROWS=5000 BENCH_CHUNK=1000 node dist/bench/sinks.js
 *
 * Prints rows (messages) per second and the p50/p99 time of one batch's
 * write, per sink, with the machine and the load average. PostgreSQL runs
 * with fsync off (lib/process/postgres-server.ts: a test server), so the
 * figure is the writer's and the server's CPU, not a disk's.
 */
import os from 'node:os';
import pg from 'pg';
import { pino } from 'pino';
import { packRecords } from '../lib/codec/records.js';
import { startNatsServer } from '../lib/process/nats-server.js';
import { startPostgresServer } from '../lib/process/postgres-server.js';
import type { SinkSpec } from '../lib/sinks/spec.js';
import { SinkRunner } from '../services/scheduler/sink-runner.js';
import { machineLine } from './machine.js';

const batches = Number(process.env.BENCH_BATCHES ?? 20);
const rowsPerBatch = Number(process.env.BENCH_ROWS ?? 5000);
const chunk = Number(process.env.BENCH_CHUNK ?? 1000);

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const db = await startPostgresServer();
const nats = await startNatsServer({ removeStoreOnStop: true });
const log = pino({ level: 'warn' });
const runner = new SinkRunner(
  {
    options: {
      retry: { retryTimeoutMs: 30_000, backoffMs: 200, maxBackoffMs: 5000 },
      chunkRecords: chunk,
      maxConnections: 4,
      requestTimeoutMs: 10_000,
      sinkSubjects: ['sinks.>'],
      sinkStream: 'rivulet-sinks',
      sinkStreamMaxBytes: 4 * 1024 ** 3,
      duplicateWindowMs: 120_000,
    },
    nats: { url: nats.url, replicas: 1 },
  },
  () => db.url,
  log,
);
const sql = new pg.Client(db.url);
await sql.connect();
await sql.query('CREATE TABLE word_counts (word text NOT NULL, count integer NOT NULL)');
await sql.query('CREATE TABLE word_totals (word text PRIMARY KEY, count integer NOT NULL)');

const sinks: Array<{ name: string; spec: SinkSpec }> = [
  { name: 'postgres append', spec: { kind: 'postgres', table: 'word_counts', connection: 'bench', mode: 'append', key: [], commitTable: 'rivulet_commits', commitRetentionMs: 86_400_000 } },
  { name: 'postgres upsert', spec: { kind: 'postgres', table: 'word_totals', connection: 'bench', mode: 'upsert', key: ['word'], commitTable: 'rivulet_commits', commitRetentionMs: 86_400_000 } },
  { name: 'jetstream', spec: { kind: 'jetstream', subject: 'sinks.bench', encoding: 'json' } },
];
console.log(machineLine());
console.log(`batches: ${batches} × ${rowsPerBatch} rows ({ word, count }), sinkChunkRecords ${chunk}`);
for (const { name, spec } of sinks) {
  // One warm-up batch (connections, the commit table, the sink stream), then the measured ones.
  const batch = (t: number) => packRecords(Array.from({ length: rowsPerBatch }, (_, i) => ({ word: `w${i % 50_000}-${t % 7}`, count: i })));
  const warm = await runner.write({ id: 'bench', name: 'bench' }, 1, [{ output: name, spec, payload: batch(1) }]);
  if (warm) throw new Error(warm);
  const times: number[] = [];
  const started = performance.now();
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    const error = await runner.write({ id: 'bench', name: 'bench' }, 1000 * (b + 2), [{ output: name, spec, payload: batch(b) }]);
    if (error) throw new Error(error);
    times.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${name.padEnd(16)} ${Math.round((batches * rowsPerBatch) / seconds).toLocaleString('en-US')} rows/s; one batch p50 ${percentile(times, 50).toFixed(0)} ms, p99 ${percentile(times, 99).toFixed(0)} ms`,
  );
}
console.log(`load average: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
await runner.close();
await sql.end();
await db.stop();
await nats.stop();
