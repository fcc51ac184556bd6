/**
 * Benchmark: batch processing time of the word count on 3 executors with one
 * executor slowed 10× (RIVULET_TASK_SLOWDOWN=10), speculation on vs off, and
 * with no straggler as the baseline.
 *
 *   npm run build && node dist/bench/straggler.js
 */
import { stragglerScenario } from '../scenarios/steady-wordcount.js';
import { machine, machineLine } from './machine.js';

const batches = Number(process.env.BENCH_BATCHES ?? 8);
const linesPerSecond = Number(process.env.BENCH_LINES_PER_SECOND ?? 100_000);

const baseline = await stragglerScenario({ slowdown: 1, speculation: true, batches, linesPerSecond });
const on = await stragglerScenario({ slowdown: 10, speculation: true, batches, linesPerSecond });
const off = await stragglerScenario({ slowdown: 10, speculation: false, batches, linesPerSecond });
const result = {
  benchmark: 'straggler',
  machine: machine(),
  executors: 3,
  slowdown: 10,
  linesPerSecond,
  processingTimeMs: {
    noStraggler: { p50: baseline.p50, p90: baseline.p90 },
    speculationOn: { p50: on.p50, p90: on.p90 },
    speculationOff: { p50: off.p50, p90: off.p90 },
  },
};
console.log(JSON.stringify(result));
console.log(`\n${machineLine()}`);
console.log('processing time per batch (p50 / p90), one of 3 executors 10x slower');
console.log(`  no straggler           ${baseline.p50} / ${baseline.p90} ms`);
console.log(`  straggler, spec. on    ${on.p50} / ${on.p90} ms`);
console.log(`  straggler, spec. off   ${off.p50} / ${off.p90} ms`);
