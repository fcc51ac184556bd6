/**
 * Benchmark: recovery after kill -9 of one of 2 executors. The open issue's
 * requirement: back within 10% of normal total delay in at most 2 batch
 * intervals, in each of 5 runs, also with 100 ms batches and with windowed
 * state. Every run starts a fresh cluster (2 slots per executor), pushes a
 * steady input, takes the median total delay after a warm-up as normal,
 * kills executor-1 at a random point inside a batch interval and judges the
 * batches due in the next BENCH_OBSERVE_INTERVALS (10) intervals, at least
 * 2 s (20 batches at 100 ms), so every variant is judged on 10-20 batches.
 * What "recovered" means is scenarios/recovery.ts's: from the kill until the
 * end of the last batch over the bound, after which every batch stays within
 * it; a failed, unfinished or missing batch is over it.
 *
 * Variants (BENCH_VARIANTS, comma-separated; all by default):
 * - wordcount-1s: examples/wordcount.ts, 1 s batches, 250 ms blocks;
 * - wordcount-100ms: the same at 100 ms batches, 50 ms blocks, lines pushed
 *   every 20 ms so every batch has input;
 * - windowed-1s: scenarios/jobs/windowed-wordcount.ts — a 5-batch window kept
 *   incrementally (reduceByKeyAndWindow with an inverse) and updateStateByKey
 *   running totals, 1 s batches, so state on the killed executor is lost too.
 * Rates (lines/s, ~8 words each) are ones the 2 executors keep up with
 * comfortably on the 2-core box, and one executor alone too — the other is
 * not replaced, so "back to normal" means the survivor handles the load;
 * BENCH_RATE_<VARIANT> (e.g. BENCH_RATE_WORDCOUNT_100MS) overrides one.
 *
 * The bound is max(normal × 1.1, normal + floor). The floor is 0 at 1 s
 * batches (10% of a normal total delay of ~200-400 ms is 20-40 ms). At 100 ms
 * batches it is 20 ms (BENCH_FLOOR_MS_100MS): normal there is ~30-60 ms, so
 * 10% is 3-6 ms — one event-loop turn or a minor GC in any of the 6 processes
 * sharing 2 cores, which no cluster can promise. 20 ms is a fifth of an
 * interval: wide enough for that jitter, narrow enough that a batch delayed by
 * a lost task's re-run (a whole processing time, ~30-60 ms, plus scheduling)
 * still shows. It is not wide enough for a loaded machine: at load 7-14 the
 * p90 before the kill was normal + 30-100 ms, and 10-50% of the pre-kill
 * batches were over the bound. So every run also prints how many batches
 * before the kill were over the bound (the noise the judged ones face) and,
 * for information, the noise-tolerant "3 in a row within from" time
 * (scenarios/recovery.ts): when that is short but the strict time long, a
 * late hiccup failed the run, not a slow recovery.
 *
 * Each run is also judged a second time, for information, with the floor
 * raised to the fault-free window's own spread (its slowest batch over its
 * median, noiseFloorMs in scenarios/recovery.ts) when that is wider: "no
 * batch after the recovery slower than the slowest batch before the kill".
 * At 1 s batches on this box the strict 10% bound is 10-35 ms while 20-50%
 * of the fault-free batches already exceed it, so the strict figure cannot
 * tell a slow recovery from a neighbour's burst; the second can. Both are
 * printed (PASS/FAIL and the summary's "noise floor k/n"); the exit code
 * follows the strict one, the issue's criterion.
 *
 * Prints every run (normal, its p90, bound, peak, recovery in ms and in batch
 * intervals, the judged batches' total delays, PASS/FAIL vs
 * BENCH_MAX_INTERVALS = 2) and a summary; exits 1 if any run FAILED.
 * BENCH_EXECUTORS=2,4 adds the 4-executor comparison (the requirement is 2).
 *
 *   npm run build && node dist/bench/recovery.js                 # 3 variants × 5 runs, ~9 min
 *   BENCH_RUNS=2 BENCH_VARIANTS=wordcount-100ms node dist/bench/recovery.js
 *   BENCH_EXECUTORS=2,4 BENCH_VARIANTS=wordcount-1s node dist/bench/recovery.js
 *   BENCH_LOG_DIR=/tmp/recovery node dist/bench/recovery.js    # every service's log (info), per run
 *   BENCH_LOG_DIR=/tmp/recovery BENCH_LOG_LEVEL=debug node dist/bench/recovery.js   # event by event
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recoveryScenario, type RecoveryOptions, type RecoveryRun } from '../scenarios/recovery.js';
import { machine, machineLine } from './machine.js';

const windowedJob = ['../scenarios/jobs/windowed-wordcount.ts', '../../scenarios/jobs/windowed-wordcount.ts']
  .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  .find((p) => existsSync(p))!;

type Variant = Omit<RecoveryOptions, 'executors' | 'tolerance' | 'logDir' | 'logLevel' | 'observeMs'> & { name: string; describe: string };

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const rateOf = (name: string, fallback: number) => env(`BENCH_RATE_${name.toUpperCase().replace(/-/g, '_')}`, fallback);

const VARIANTS: Variant[] = [
  {
    name: 'wordcount-1s',
    describe: 'word count, 1 s batches',
    batchIntervalMs: 1000,
    blockInterval: '250ms',
    sliceMs: 100,
    linesPerSecond: rateOf('wordcount-1s', 50_000),
    warmupBatches: 5,
    normalBatches: 10,
    floorMs: 0,
  },
  {
    name: 'wordcount-100ms',
    describe: 'word count, 100 ms batches',
    batchIntervalMs: 100,
    blockInterval: '50ms',
    sliceMs: 20,
    linesPerSecond: rateOf('wordcount-100ms', 20_000),
    warmupBatches: 50,
    normalBatches: 60,
    floorMs: env('BENCH_FLOOR_MS_100MS', 20),
  },
  {
    name: 'windowed-1s',
    describe: '5-batch window + updateStateByKey, 1 s batches',
    batchIntervalMs: 1000,
    blockInterval: '250ms',
    sliceMs: 100,
    linesPerSecond: rateOf('windowed-1s', 10_000),
    job: windowedJob,
    outputs: ['windowCounts', 'totals'],
    // A full window (5 batches) and a first checkpoint (10) before normal is taken.
    warmupBatches: 10,
    normalBatches: 10,
    floorMs: 0,
  },
];

const runs = env('BENCH_RUNS', 5);
const maxIntervals = env('BENCH_MAX_INTERVALS', 2);
const tolerance = env('BENCH_TOLERANCE', 0.1);
const observeIntervals = env('BENCH_OBSERVE_INTERVALS', 10);
/** Judge at least this long after the kill (20 batches at 100 ms). */
const MIN_OBSERVE_MS = 2000;
const executorCounts = (process.env.BENCH_EXECUTORS ?? '2').split(',').map(Number);
const wanted = (process.env.BENCH_VARIANTS ?? VARIANTS.map((v) => v.name).join(',')).split(',');
const unknown = wanted.filter((w) => !VARIANTS.some((v) => v.name === w));
if (unknown.length > 0) throw new Error(`BENCH_VARIANTS: unknown ${unknown.join(', ')} (known: ${VARIANTS.map((v) => v.name).join(', ')})`);

interface Result extends RecoveryRun {
  variant: string;
  executors: number;
  run: number;
  recoveryIntervals: number | undefined;
  pass: boolean;
  /** PASS against the noise-floored bound (noiseFloorMs in scenarios/recovery.ts): informational. */
  noisePass: boolean;
  /** The machine's load average (1, 5, 15 min) when the run ended: it is shared. */
  loadAverage: string;
}
const results: Result[] = [];
console.log(`${machineLine()}`);
for (const v of VARIANTS.filter((x) => wanted.includes(x.name))) {
  for (const executors of executorCounts) {
    console.log(`\n${v.name} (${v.describe}), ${executors} executors, ${v.linesPerSecond} lines/s, ${runs} runs`);
    for (let i = 1; i <= runs; i++) {
      const logDir = process.env.BENCH_LOG_DIR ? join(process.env.BENCH_LOG_DIR, `${v.name}-${executors}-${i}`) : undefined;
      const r = await recoveryScenario({
        ...v,
        executors,
        tolerance,
        observeMs: Math.max(MIN_OBSERVE_MS, observeIntervals * v.batchIntervalMs),
        steadyTimeoutMs: 30_000,
        ...(logDir ? { logDir } : {}),
        ...(process.env.BENCH_LOG_LEVEL ? { logLevel: process.env.BENCH_LOG_LEVEL } : {}),
      });
      const load = loadavg().map((x) => x.toFixed(1)).join(' ');
      const recoveryIntervals = r.recoveryMs === undefined ? undefined : r.recoveryMs / v.batchIntervalMs;
      const pass = r.steadyBeforeKill && recoveryIntervals !== undefined && recoveryIntervals <= maxIntervals && r.jobState === 'RUNNING';
      const n = r.noiseFloored;
      const noisePass = r.steadyBeforeKill && n.recoveryMs !== undefined && n.recoveryMs / v.batchIntervalMs <= maxIntervals && r.jobState === 'RUNNING';
      results.push({ ...r, variant: v.name, executors, run: i, recoveryIntervals, pass, noisePass, loadAverage: load });
      const recovered =
        r.recoveryMs === undefined ? 'NOT recovered within the observation' : `recovered in ${r.recoveryMs} ms = ${recoveryIntervals!.toFixed(2)} intervals`;
      console.log(
        `  run ${i}: normal ${r.normalTotalDelayMs} ms (p90 ${r.normalP90Ms}), bound ${r.boundMs}, peak ${r.peakTotalDelayMs} ms; ` +
          `${recovered}` +
          (r.settledMs !== r.recoveryMs ? ` (3 in a row within from ${r.settledMs === undefined ? '-' : `${r.settledMs} ms`})` : '') +
          `; ${r.over} of ${r.judged} batches over (before the kill ${r.beforeOver} of ${r.beforeMs.length}); load ${load}; ${pass ? 'PASS' : 'FAIL'}` +
          (r.steadyBeforeKill ? '' : ' (not steady before the kill: p90 total delay over one interval)') +
          (r.jobState !== 'RUNNING' ? ` (job ${r.jobState}: ${r.jobError ?? ''})` : ''),
      );
      console.log(
        `    with the fault-free window's spread as the floor: bound ${n.boundMs} ms, ${n.over} over, ` +
          `${n.recoveryMs === undefined ? 'NOT recovered' : `recovered in ${n.recoveryMs} ms = ${(n.recoveryMs / v.batchIntervalMs).toFixed(2)} intervals`}; ${noisePass ? 'PASS' : 'FAIL'}`,
      );
      console.log(`    total delay before the kill: ${r.beforeMs.slice(-40).join(' ')} ms`);
      console.log(`    total delay after the kill: ${r.afterMs.slice(0, 40).join(' ')}${r.afterMs.length > 40 ? ` … (${r.afterMs.length})` : ''} ms`);
    }
  }
}

console.log(
  JSON.stringify({
    benchmark: 'recovery',
    machine: machine(),
    maxIntervals,
    tolerance,
    runs: results.map(({ afterMs: _a, beforeMs: _b, ...r }) => r),
  }),
);
console.log(`\n${machineLine()}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log(`recovery after kill -9 of one executor: within max(normal × ${1 + tolerance}, normal + floor) in <= ${maxIntervals} batch intervals`);
console.log('  variant          executors  normal (ms)          peak (ms)                recovery (ms)              intervals                   3 in a row from (ms)   result');
const fmt = (xs: Array<number | undefined>) => xs.map((x) => (x === undefined ? '-' : String(Math.round(x)))).join(', ');
for (const v of VARIANTS) {
  for (const executors of executorCounts) {
    const rs = results.filter((r) => r.variant === v.name && r.executors === executors);
    if (rs.length === 0) continue;
    console.log(
      `  ${v.name.padEnd(16)} ${String(executors).padEnd(10)} ${fmt(rs.map((r) => r.normalTotalDelayMs)).padEnd(20)} ${fmt(rs.map((r) => r.peakTotalDelayMs)).padEnd(24)} ` +
        `${fmt(rs.map((r) => r.recoveryMs)).padEnd(26)} ${rs.map((r) => (r.recoveryIntervals === undefined ? '-' : r.recoveryIntervals.toFixed(2))).join(', ').padEnd(27)} ` +
        `${fmt(rs.map((r) => r.settledMs)).padEnd(22)} ` +
        `${rs.filter((r) => r.pass).length}/${rs.length} PASS; noise floor ${rs.filter((r) => r.noisePass).length}/${rs.length}`,
    );
  }
}
const failed = results.filter((r) => !r.pass);
if (failed.length > 0) {
  console.log(`FAILED: ${failed.length} of ${results.length} runs not back within the bound in <= ${maxIntervals} intervals`);
  process.exitCode = 1;
}
