/**
 * Word count with a known, CPU-free cost per line (overload tests): every
 * line waits `MICROS_PER_LINE` µs (slept in bulk with Atomics.wait, so the
 * executor's thread is blocked but no core is burnt — on a shared 2-core
 * machine, a busy loop would slow the producers and the control plane too).
 * Each task slot so processes at most 1e6 / MICROS_PER_LINE lines per second.
 */
import { defineJob } from 'rivulet';

const MICROS_PER_LINE = 100;
/** Sleep once per this many lines (a wait of a few ms is accurate; one per line would not be). */
const LINES_PER_SLEEP = 40;
const cell = new Int32Array(new SharedArrayBuffer(4));
let owed = 0;

function slowly(line: string): string {
  if (++owed >= LINES_PER_SLEEP) {
    Atomics.wait(cell, 0, 0, (owed * MICROS_PER_LINE) / 1000);
    owed = 0;
  }
  return line;
}

export default defineJob((ctx) => {
  ctx
    .receiverStream<string>('lines')
    .map(slowly)
    .flatMap((line) => line.split(/\s+/))
    .filter((word) => word.length > 0)
    .map((word): [string, number] => [word, 1])
    .reduceByKey((a, b) => a + b)
    .output('counts');
});
