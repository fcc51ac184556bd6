/**
 * The recovery-time figure of bench/recovery.ts (scenarios/recovery.ts): what
 * counts as normal, which batches are judged, and that a failed, unfinished
 * or missing batch — or a last batch still over the bound — is never read as
 * "recovered".
 */
import { describe, expect, it } from 'vitest';
import { noiseFloorMs, recoveryFigure, type ObservedBatch } from '../../scenarios/recovery.js';

const INTERVAL = 1000;
const KILL = 19_950;
/** Batches at 1 s intervals from `fromMs`, with these total delays (a string is a state). */
function batches(fromMs: number, delays: Array<number | 'FAILED' | 'RUNNING'>): ObservedBatch[] {
  return delays.map((d, i) => ({
    batchTimeMs: fromMs + i * INTERVAL,
    state: typeof d === 'number' ? 'COMPLETED' : d,
    totalDelayMs: typeof d === 'number' ? d : 0,
  }));
}
const before = batches(10_000, [300, 310, 290, 300, 305, 295, 300, 300, 300, 300]); // up to 19_000
const figure = (after: ObservedBatch[], o: { floorMs?: number } = {}) =>
  recoveryFigure({
    before,
    all: [...before, ...after],
    killedAtMs: KILL,
    observeMs: 5050, // batches 20_000 to 25_000
    endedAtMs: 40_000,
    batchIntervalMs: INTERVAL,
    tolerance: 0.1,
    floorMs: o.floorMs ?? 0,
  });

describe('recoveryFigure', () => {
  it('takes the median before the kill as normal and 10% over it as the bound', () => {
    const f = figure(batches(20_000, [300, 300, 300, 300, 300, 300]));
    expect(f.normalTotalDelayMs).toBe(300);
    expect(f.boundMs).toBe(330);
    expect(f).toMatchObject({ recoveryMs: 0, over: 0, judged: 6 });
  });

  it('applies the absolute floor when it is larger than 10%', () => {
    expect(figure(batches(20_000, [300]), { floorMs: 50 }).boundMs).toBe(350);
  });

  it('ends recovery when the last batch over the bound ends, and judges only batches not done at the kill', () => {
    // 19_000 + 300 ended before the kill: not judged. 20_000 ends at 21_200, 21_000 at 22_400.
    const f = figure(batches(20_000, [1200, 1400, 320, 329, 300, 310]));
    expect(f.judged).toBe(6);
    expect(f.over).toBe(2);
    expect(f.recoveryMs).toBe(22_400 - KILL);
    expect(f.peakTotalDelayMs).toBe(1400);
  });

  it('does not take one fast batch amid the catch-up as recovered', () => {
    const f = figure(batches(20_000, [1200, 300, 1400, 300, 300, 300]));
    expect(f.recoveryMs).toBe(22_000 + 1400 - KILL);
  });

  it('is not recovered when the last judged batch is over the bound', () => {
    const f = figure(batches(20_000, [300, 300, 300, 300, 300, 900]));
    expect(f.recoveryMs).toBeUndefined();
    expect(f.settledMs).toBe(0); // the informational figure: the first 3 were within
  });

  it('gives the noise-tolerant settled time: the first 3 within the bound in a row', () => {
    const f = figure(batches(20_000, [1200, 300, 1400, 300, 300, 300]));
    expect(f.settledMs).toBe(f.recoveryMs);
    expect(figure(batches(20_000, [1200, 300, 300, 300, 900, 300])).settledMs).toBe(21_200 - KILL);
  });

  it('counts failed, unfinished and missing batches as over', () => {
    const failed = figure(batches(20_000, [300, 'FAILED', 300, 300, 300, 300]));
    expect(failed.over).toBe(1);
    expect(failed.recoveryMs).toBeUndefined(); // a failed batch has no end: no recovery time to give
    const unfinished = figure(batches(20_000, [300, 300, 300, 300, 300, 'RUNNING']));
    expect(unfinished.recoveryMs).toBeUndefined();
    expect(unfinished.afterMs.at(-1)).toBe('U');
    const gap = [...batches(20_000, [300, 300]), ...batches(23_000, [300, 300, 300])];
    expect(figure(gap).afterMs).toEqual([300, 300, 'M', 300, 300, 300]);
    expect(figure(gap).over).toBe(1);
    // Batches that stopped coming: the missing tail is over, so not recovered.
    expect(figure(batches(20_000, [300, 300])).recoveryMs).toBeUndefined();
  });

  it('gives the fault-free window\'s spread as the noise floor: its slowest batch over its median', () => {
    expect(noiseFloorMs(before)).toBe(10); // 310 over 300
    expect(noiseFloorMs(batches(10_000, [100, 140, 120, 260, 110]))).toBe(140);
    expect(noiseFloorMs([])).toBe(0);
    // A batch after the kill as slow as the slowest before it is within the raised bound, not over.
    const after = batches(20_000, [340, 300, 300, 300, 300, 300]); // strict bound: 330
    expect(figure(after).over).toBe(1);
    expect(figure(after, { floorMs: noiseFloorMs([...before, ...batches(0, [345])]) }).over).toBe(0);
  });
});
