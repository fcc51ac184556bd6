/**
 * Benchmark: recovery time after kill -9 of one executor — from the kill
 * until batch total delay is back within 10% of normal — with 2 vs 4
 * executors, on a word count loaded enough that the lost work and the
 * catch-up matter.
 *
 *   npm run build && node dist/bench/recovery.js
 */
import { recoveryScenario } from '../scenarios/steady-wordcount.js';
import { machine, machineLine } from './machine.js';

const linesPerSecond = Number(process.env.BENCH_LINES_PER_SECOND ?? 250_000);
const two = await recoveryScenario({ executors: 2, linesPerSecond });
const four = await recoveryScenario({ executors: 4, linesPerSecond });
console.log(JSON.stringify({ benchmark: 'recovery', machine: machine(), linesPerSecond, executors2: two, executors4: four }));
console.log(`\n${machineLine()}`);
console.log('recovery after kill -9 of one executor (word count, 1 s batches)');
console.log('  executors  normal total delay  peak total delay  recovery time');
for (const [n, r] of [[2, two], [4, four]] as const) {
  const recovery = r.disturbed ? `${r.recoveryMs} ms` : 'no batch over +10%';
  console.log(`  ${String(n).padEnd(9)}  ${String(r.normalTotalDelayMs).padEnd(18)}  ${String(r.peakTotalDelayMs).padEnd(16)}  ${recovery}`);
}
