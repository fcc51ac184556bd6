/**
 * Soak (not a test): word count at a steady input rate with its output
 * watched, for minutes, printing every service's RSS each sample period and
 * the batches' total delay — memory must be flat once the bounded buffers
 * (output retention, histories) are full, and the delay must not creep up.
 * Real processes (nats-server and every service), as `rivulet up` runs them.
 *
 *   npm run build && node dist/bench/soak.js                               # 3 minutes, 50k lines/s
 *   SOAK_SECONDS=600 SOAK_RATE=50000 node dist/bench/soak.js               # the 10-minute run
 *
 * Options (env): SOAK_SECONDS (180), SOAK_RATE lines/s (50000), SOAK_SAMPLE_SECONDS (60),
 * SOAK_EXECUTORS (2), SOAK_BATCH_INTERVAL (1s). RSS is read from /proc (Linux).
 * SOAK_JOB=passthrough: a job that outputs every line as it came (large outputs,
 * ~60 B per line) instead of word count (a few thousand counts per batch).
 * SOAK_HEAP_SNAPSHOTS=1: the scheduler writes a heap snapshot (in the current
 * directory) at every sample, to find what grows.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RivuletClient } from '../client/index.js';
import { startLocalCluster } from '../lib/cluster/local-cluster.js';
import { clusterServices, rssMB } from '../scenarios/process-memory.js';
import { machine, machineLine } from './machine.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 180);
const rate = Number(process.env.SOAK_RATE ?? 50_000);
const sampleSeconds = Number(process.env.SOAK_SAMPLE_SECONDS ?? 60);
const executors = Number(process.env.SOAK_EXECUTORS ?? 2);
const batchInterval = process.env.SOAK_BATCH_INTERVAL ?? '1s';
const passthrough = process.env.SOAK_JOB === 'passthrough';
let job = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
if (passthrough) {
  job = join(mkdtempSync(join(tmpdir(), 'rivulet-soak-')), 'passthrough.ts');
  writeFileSync(job, "import { defineJob } from 'rivulet';\nexport default defineJob((ctx) => { ctx.receiverStream<string>('lines').output('counts'); });\n");
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const heapSnapshots = process.env.SOAK_HEAP_SNAPSHOTS === '1';
const cluster = await startLocalCluster({
  executors,
  batchInterval,
  blockInterval: '200ms',
  logLevel: 'warn',
  ...(heapSnapshots ? { env: { scheduler: { NODE_OPTIONS: '--heapsnapshot-signal=SIGUSR2' } } } : {}),
});
const a = cluster.addresses();
const client = new RivuletClient(a);
const services = clusterServices(cluster);
const rows: Array<Record<string, number | string>> = [];
try {
  const submitted = await client.submitJob(job);
  const abort = new AbortController();
  let outputBatches = 0;
  const watching = (async () => {
    for await (const _ of client.watchOutput(submitted.jobId, 'counts', { signal: abort.signal })) outputBatches++;
  })().catch(() => undefined);

  // 1000 lines of 8 words from a 5000-word vocabulary per message, paced to `rate`.
  const vocabulary = Array.from({ length: 5000 }, (_, i) => `w${i}`);
  let seed = 1;
  const word = () => vocabulary[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % vocabulary.length]!;
  const message = () => Array.from({ length: 1000 }, () => Array.from({ length: 8 }, word).join(' '));
  let running = true;
  let pushed = 0;
  const started = Date.now();
  // Several pushes in flight (each waits for its ack, ~a block interval), paced to `rate`.
  const push = (async () => {
    const pusher = client.pusher('lines');
    const inFlight = new Set<Promise<void>>();
    while (running) {
      const due = ((Date.now() - started) / 1000) * rate;
      if (pushed >= due || inFlight.size >= 32) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const p: Promise<void> = pusher.push(message()).then(() => void inFlight.delete(p));
      inFlight.add(p);
      pushed += 1000;
    }
    await Promise.all(inFlight);
    await pusher.close();
  })();

  const delays = new Map<number, number>();
  let sampleAt = started + sampleSeconds * 1000;
  let lastSample = started;
  const sample = (t: number) => {
    const since = [...delays].filter(([bt]) => bt >= lastSample && bt < t).map(([, d]) => d);
    const row: Record<string, number | string> = { minute: +((t - started) / 60_000).toFixed(1) };
    for (const s of services) row[`${s.name} MB`] = Math.round(rssMB(s.pid));
    row['delay p50 ms'] = quantile(since, 0.5);
    row['delay max ms'] = since.length > 0 ? Math.max(...since) : NaN;
    row['lines/s pushed'] = Math.round(pushed / ((t - started) / 1000));
    row['batches watched'] = outputBatches;
    rows.push(row);
    console.log(JSON.stringify(row));
    if (heapSnapshots) process.kill(cluster.scheduler.pid, 'SIGUSR2');
    lastSample = t;
  };
  console.log(machineLine());
  while (Date.now() - started < seconds * 1000) {
    await new Promise((r) => setTimeout(r, 2000));
    const st = await client.status({ recentBatches: 100 });
    for (const b of st.jobs.find((j) => j.jobId === submitted.jobId)?.recentBatches ?? []) {
      if (b.state === 'COMPLETED') delays.set(Number(b.batchTimeMs), Number(b.totalDelayMs));
    }
    const state = st.jobs.find((j) => j.jobId === submitted.jobId)?.state;
    if (state !== 'RUNNING') throw new Error(`the job is ${state}`);
    if (Date.now() >= sampleAt) {
      sample(Date.now());
      sampleAt += sampleSeconds * 1000;
    }
  }
  running = false;
  await push;
  abort.abort();
  await watching;
  console.log(JSON.stringify({ machine: machine(), job: passthrough ? 'passthrough' : 'wordcount', seconds, rate, executors, batchInterval, samples: rows }));
  console.log(`\n| ${Object.keys(rows[0] ?? {}).join(' | ')} |\n|${Object.keys(rows[0] ?? {}).map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${Object.values(r).join(' | ')} |`);
} finally {
  await client.close();
  await cluster.stop();
}
