/** LineageWriter: lineage's fire-and-forget updates in order, one call in flight, runs of one kind merged. */
import { describe, expect, it } from 'vitest';
import { NotFoundError, UnavailableError } from '../../../lib/errors.js';
import { createLogger } from '../../../lib/log.js';
import type { Location } from '../../../lib/proto/gen/rivulet/v1/Location.js';
import { LineageWriter, type LineageUpdateCalls } from '../../../services/scheduler/lineage-writer.js';

const loc = (batchTimeMs: number, partition: number): Location => ({
  kind: 'SHUFFLE_OUTPUT',
  dataset: { jobId: 'j', batchTimeMs, nodeId: 1 },
  partition,
  blockId: `b${batchTimeMs}/${partition}`,
  executorIds: ['e1'],
});

/** A lineage whose calls stay open until the test answers them, recording what each carried. */
function heldLineage(refuse: (locations: Location[]) => Error | undefined = () => undefined) {
  const calls: Array<{ what: string; arg: unknown; answer: () => void }> = [];
  const held = (what: string, arg: unknown, err?: Error) =>
    new Promise<unknown>((resolve, reject) => calls.push({ what, arg, answer: () => (err ? reject(err) : resolve({})) }));
  const lineage: LineageUpdateCalls = {
    recordLocations: (locations) => held('record', locations.map((l) => `${Number(l.dataset!.batchTimeMs)}/${l.partition}`), refuse(locations)),
    dropLocations: (locations) => held('drop', locations.length),
    forgetBatches: (jobId, before) => held('forget', `${jobId}<${before}`),
    removeExecutor: (id) => held('remove', id),
  };
  return { lineage, calls };
}

const tick = () => new Promise((r) => setImmediate(r));
const log = createLogger('test', 'silent');

describe('LineageWriter', () => {
  it('merges what piles up behind the call in flight into one call, and keeps the order of kinds', async () => {
    const { lineage, calls } = heldLineage();
    const w = new LineageWriter(lineage, log);
    w.send({ kind: 'record', what: 'map output', locations: [loc(100, 0)] });
    await tick();
    expect(calls.map((c) => c.arg)).toEqual([['100/0']]); // no waiting when nothing is in flight
    for (let p = 1; p <= 3; p++) w.send({ kind: 'record', what: 'map output', locations: [loc(100, p)] });
    w.send({ kind: 'forget', jobId: 'j', beforeBatchTimeMs: 100 });
    w.send({ kind: 'record', what: 'map output', locations: [loc(200, 0)] });
    w.send({ kind: 'removeExecutor', executorId: 'e2' });
    await tick();
    expect(calls).toHaveLength(1); // one call in flight at a time
    expect(w.pending).toBe(7); // the one in flight and six behind it
    for (let i = 0; i < 5; i++) {
      expect(calls).toHaveLength(i + 1); // the next call only once the previous is answered
      calls[i]!.answer();
      await tick();
      await tick();
    }
    expect(calls.map((c) => [c.what, c.arg])).toEqual([
      ['record', ['100/0']],
      ['record', ['100/1', '100/2', '100/3']],
      ['forget', 'j<100'],
      ['record', ['200/0']],
      ['remove', 'e2'],
    ]);
    expect(w.pending).toBe(0);
  });

  it('sends the updates one event makes in one call', async () => {
    const { lineage, calls } = heldLineage();
    const w = new LineageWriter(lineage, log);
    for (let p = 0; p < 3; p++) w.send({ kind: 'record', what: 'map output', locations: [loc(100, p)] });
    await tick();
    expect(calls.map((c) => c.arg)).toEqual([['100/0', '100/1', '100/2']]);
  });

  it('never puts more than its bound of locations in one call', async () => {
    const { lineage, calls } = heldLineage();
    const w = new LineageWriter(lineage, log, 3);
    w.send({ kind: 'drop', locations: [loc(1, 0)] });
    await tick(); // in flight alone: the next five pile up behind it
    for (let p = 0; p < 5; p++) w.send({ kind: 'drop', locations: [loc(2, p)] });
    for (let i = 0; i < 3; i++) {
      await tick();
      calls[i]!.answer();
      await tick();
    }
    expect(calls.map((c) => c.arg)).toEqual([1, 3, 2]);
  });

  it('sends a merged call lineage refuses again one update at a time, so one stale location loses only itself', async () => {
    // Lineage refuses a request holding a location of batch 100 (forgotten): the whole request, as the real one does.
    const { lineage, calls } = heldLineage((ls) => (ls.some((l) => Number(l.dataset!.batchTimeMs) === 100) ? new NotFoundError('batch j@100 is not registered') : undefined));
    const w = new LineageWriter(lineage, log);
    w.send({ kind: 'record', what: 'map output', locations: [loc(300, 0)] });
    await tick();
    w.send({ kind: 'record', what: 'map output', locations: [loc(100, 0)] });
    w.send({ kind: 'record', what: 'map output', locations: [loc(200, 0)] });
    const settled = w.settled();
    for (let i = 0; i < 5; i++) {
      await tick();
      calls[i]?.answer();
      await tick();
    }
    await settled;
    expect(calls.map((c) => c.arg)).toEqual([['300/0'], ['100/0', '200/0'], ['100/0'], ['200/0']]);
    expect(w.pending).toBe(0);
  });

  it('does not resend a merged call that failed for want of lineage (its own retries are spent): it logs and goes on', async () => {
    let first = true;
    const { lineage, calls } = heldLineage(() => {
      const err = first ? undefined : new UnavailableError('lineage is down');
      first = false;
      return err;
    });
    const w = new LineageWriter(lineage, log);
    w.send({ kind: 'record', what: 'x', locations: [loc(1, 0)] });
    await tick();
    w.send({ kind: 'record', what: 'x', locations: [loc(1, 1)] });
    w.send({ kind: 'record', what: 'x', locations: [loc(1, 2)] });
    for (let i = 0; i < 3; i++) {
      await tick();
      calls[i]?.answer();
      await tick();
    }
    expect(calls.map((c) => c.arg)).toEqual([['1/0'], ['1/1', '1/2']]);
    expect(w.pending).toBe(0);
  });

  it('settled() waits for the updates sent before it, not for later ones', async () => {
    const { lineage, calls } = heldLineage();
    const w = new LineageWriter(lineage, log);
    await w.settled(); // nothing sent: at once
    w.send({ kind: 'record', what: 'x', locations: [loc(1, 0)] });
    let settled = false;
    void w.settled().then(() => (settled = true));
    await tick();
    w.send({ kind: 'record', what: 'x', locations: [loc(1, 1)] });
    expect(settled).toBe(false);
    calls[0]!.answer();
    await tick();
    await tick();
    expect(settled).toBe(true);
    expect(w.pending).toBe(1);
  });

  it('settled(timeout) gives up waiting for a lineage that does not answer, saying so', async () => {
    const { lineage } = heldLineage();
    const w = new LineageWriter(lineage, log);
    w.send({ kind: 'record', what: 'x', locations: [loc(1, 0)] });
    expect(await w.settled(20)).toBe(false); // the call is never answered
    expect(w.pending).toBe(1);
  });
});
