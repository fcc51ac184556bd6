/** executor-tracker's medianWithout: the "others" median of slow-executor detection, read off one sorted list. */
import { describe, expect, it } from 'vitest';
import { medianWithout } from '../../../services/scheduler/executor-tracker.js';

/** The definition it replaces: copy, take one `value` out, sort, upper median. */
function reference(xs: readonly number[], value: number): number {
  const rest = [...xs];
  rest.splice(rest.indexOf(value), 1);
  rest.sort((a, b) => a - b);
  return rest[Math.floor(rest.length / 2)]!;
}

describe('medianWithout', () => {
  it('equals the median of the list with that element taken out, for every element, duplicates included', () => {
    // A seeded LCG: the same lists every run.
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 3; n <= 40; n++) {
      for (let trial = 0; trial < 20; trial++) {
        const xs = Array.from({ length: n }, () => Math.floor(next() * 8) / 4); // few distinct values: many duplicates
        const sorted = [...xs].sort((a, b) => a - b);
        for (const x of xs) expect(medianWithout(sorted, x), `${JSON.stringify(sorted)} without ${x}`).toBe(reference(xs, x));
      }
    }
  });
});
