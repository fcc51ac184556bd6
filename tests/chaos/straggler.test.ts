/**
 * One of 3 executors is made 10× slower (RIVULET_TASK_SLOWDOWN=10). With
 * speculation on (the default), batch processing time stays near normal;
 * with it off, the straggler drags every batch. Real processes throughout.
 */
import { describe, expect, it } from 'vitest';
import { stragglerScenario } from '../../scenarios/steady-wordcount.js';

describe('stragglers', () => {
  it('speculation keeps batch processing time near normal with a 10x slower executor', async () => {
    const opts = { batches: 6, linesPerSecond: 80_000 };
    const normal = await stragglerScenario({ slowdown: 1, speculation: true, ...opts });
    const on = await stragglerScenario({ slowdown: 10, speculation: true, ...opts });
    const off = await stragglerScenario({ slowdown: 10, speculation: false, ...opts });
    // Printed for the record; the assertions below are the claims.
    console.log(JSON.stringify({ normalP50: normal.p50, onP50: on.p50, offP50: off.p50 }));
    // The straggler hurts without speculation...
    expect(off.p50).toBeGreaterThan(1.5 * normal.p50);
    // ...and speculation takes most of that back: well under the no-speculation
    // figure and within a small factor of a cluster without a straggler.
    expect(on.p50).toBeLessThan(0.7 * off.p50);
    expect(on.p50).toBeLessThan(3 * normal.p50 + 150);
  }, 180_000);
});
