/**
 * The scheduler's JetStream source component with fake ports (stream info,
 * the fenced range journal): ranges decided in batch order and contiguous,
 * journaled before a batch gets its inputs, re-used as journaled after a
 * restart, and clear failures for a missing stream, a filter that matches
 * nothing and purged messages.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock.js';
import { StreamingContext } from '../../../lib/dstream/api.js';
import { JobGraph } from '../../../lib/dstream/graph.js';
import type { JetStreamSourceOptions } from '../../../lib/sources/jetstream-ranges.js';
import { BatchRun } from '../../../services/scheduler/batch-run.js';
import type { SchedulerEvent } from '../../../services/scheduler/events.js';
import { JetStreamSource, type JetStreamJournal, type StreamInfoAnswer } from '../../../services/scheduler/jetstream-source.js';
import type { Job } from '../../../services/scheduler/job-registry.js';
import { log } from './fixtures.js';

function jobReading(options: JetStreamSourceOptions, lastCompletedBatchMs?: number): Job {
  const graph = new JobGraph();
  new StreamingContext(graph).jetStream('src', options).output('out');
  return { id: 'job-1', graph, state: 'RUNNING', ...(lastCompletedBatchMs !== undefined ? { lastCompletedBatchMs } : {}) } as Job;
}

/** The component with ports whose answers the test releases by hand. */
function harness(job: Job, journal?: JetStreamJournal) {
  const clock = new ManualClock(0);
  const queue: BatchRun[] = [];
  const attached: number[] = [];
  const failures: string[] = [];
  const infos: Array<{ stream: string; resolve: (a: StreamInfoAnswer) => void }> = [];
  const writes: Array<{ journal: JetStreamJournal; resolve: () => void; reject: (e: Error) => void }> = [];
  const source: JetStreamSource = new JetStreamSource({
    clock,
    ports: {
      streamInfo: (stream) => new Promise((resolve) => infos.push({ stream, resolve })),
      writeRanges: (_id, j) => new Promise<void>((resolve, reject) => writes.push({ journal: structuredClone(j), resolve, reject })),
    },
    post: (e: SchedulerEvent) => {
      if (e.type === 'jetStreamInfo') source.streamInfo(job, e.batchTimeMs, e.infos, e.error);
      else if (e.type === 'jetStreamJournaled') source.journaled(job, e.batchTimeMs, e.journal, e.decided, e.error);
      else if (e.type === 'jetStreamRetry') source.retry(job);
    },
    queue: () => queue,
    inputsAttached: (run) => {
      run.moveTo('QUEUED', log);
      attached.push(run.batchTimeMs);
    },
    fail: (_job, message) => failures.push(message),
    log,
  });
  source.addJob(job, journal);
  const flush = () => new Promise((r) => setImmediate(r));
  return {
    clock,
    source,
    queue,
    attached,
    failures,
    infos,
    writes,
    flush,
    addRun(t: number) {
      const run = new BatchRun(job, t);
      queue.push(run);
      return run;
    },
    async answer(head: { firstSeq: number; lastSeq: number }, subjects = ['ev.>']) {
      await flush();
      const pending = infos.splice(0);
      expect(pending.length).toBeGreaterThan(0);
      for (const p of pending) p.resolve({ exists: true, head, subjects });
      await flush();
    },
    async commitWrites() {
      await flush();
      for (const w of writes.splice(0)) w.resolve();
      await flush();
    },
  };
}

const slices = (run: BatchRun) => (run.inputs.get('src') ?? []).map((b) => [b.jetStream!.firstSeq, b.jetStream!.lastSeq]);

describe('JetStream source: ranges per batch', () => {
  it('decides contiguous ranges in batch order, capped, sliced, each journaled before its batch may run', async () => {
    const job = jobReading({ stream: 'EV', maxMessagesPerBatch: 100, messagesPerSlice: 40 });
    const h = harness(job);
    const r1 = h.addRun(1000);
    const r2 = h.addRun(2000);
    h.source.poll([job]);
    h.source.poll([job]); // one decision at a time
    await h.answer({ firstSeq: 1, lastSeq: 250 });
    expect(h.infos).toHaveLength(0);
    // Written, not yet durable: the batch has no inputs.
    expect(h.writes).toHaveLength(1);
    expect(h.writes[0]!.journal.pending).toEqual([{ batchTimeMs: 1000, source: 'src', filterIndex: 0, first: 1, last: 100 }]);
    expect(h.writes[0]!.journal.next).toEqual({ 'src/0': 101 });
    expect(r1.inputs.has('src')).toBe(false);
    await h.commitWrites();
    expect(slices(r1)).toEqual([
      [1, 40],
      [41, 80],
      [81, 100],
    ]);
    expect(r1.inputs.get('src')![0]!.blockId).toBe('js/src/0/1-40');
    expect(h.attached).toEqual([1000]);
    // The next batch starts right after, once the first is journaled.
    await h.answer({ firstSeq: 1, lastSeq: 250 });
    await h.commitWrites();
    expect(slices(r2)).toEqual([
      [101, 140],
      [141, 180],
      [181, 200],
    ]);
    expect(h.source.status(job)[0]).toMatchObject({ lastSequence: 250, committedSequence: 0, lag: 250, decidedSequence: 200 });
    // r1 completes and its completion is journaled: its range is forgotten, the lag shrinks.
    r1.moveTo('REGISTERING', log);
    r1.moveTo('RUNNING', log);
    r1.moveTo('COMPLETED', log);
    h.source.batchCompleted(r1);
    h.source.batchJournaled(r1);
    expect(h.source.status(job)[0]).toMatchObject({ committedSequence: 100, lag: 150 });
    // Caught up: an empty range is not journaled and gives the batch no slices.
    const r3 = h.addRun(3000);
    h.source.poll([job]);
    await h.answer({ firstSeq: 1, lastSeq: 200 });
    expect(h.writes).toHaveLength(0);
    expect(slices(r3)).toEqual([]);
    expect(h.attached).toEqual([1000, 2000, 3000]);
  });

  it('after a restart, re-runs a journaled batch with exactly its range and decides later ones after the last journaled end', async () => {
    const journal: JetStreamJournal = {
      next: { 'src/0': 301 },
      committed: {},
      pending: [
        { batchTimeMs: 1000, source: 'src', filterIndex: 0, first: 1, last: 100 },
        { batchTimeMs: 2000, source: 'src', filterIndex: 0, first: 101, last: 300 },
      ],
    };
    // The journal says batch 1000 completed: only 2000 runs again.
    const job = jobReading({ stream: 'EV', maxMessagesPerBatch: 1000, messagesPerSlice: 1000 }, 1000);
    const h = harness(job, journal);
    const r2 = h.addRun(2000);
    const r3 = h.addRun(3000);
    h.source.poll([job]);
    expect(slices(r2)).toEqual([[101, 300]]);
    expect(h.infos.length + h.writes.length).toBe(0);
    h.source.poll([job]);
    await h.answer({ firstSeq: 1, lastSeq: 450 });
    expect(h.writes[0]!.journal.pending.map((r) => [r.batchTimeMs, r.first, r.last])).toEqual([
      [2000, 101, 300],
      [3000, 301, 450],
    ]);
    expect(h.writes[0]!.journal.committed).toEqual({ 'src/0': 100 });
    await h.commitWrites();
    expect(slices(r3)).toEqual([[301, 450]]);
  });

  it('a journal write that fails leaves the batch waiting and decides again from the same place', async () => {
    const job = jobReading({ stream: 'EV' });
    const h = harness(job);
    const r1 = h.addRun(1000);
    h.source.poll([job]);
    await h.answer({ firstSeq: 1, lastSeq: 10 });
    await h.flush();
    h.writes.splice(0)[0]!.reject(new Error('not the leader any more'));
    await h.flush();
    expect(r1.inputs.has('src')).toBe(false);
    h.clock.advance(500);
    await h.answer({ firstSeq: 1, lastSeq: 12 });
    expect(h.writes[0]!.journal.pending).toEqual([{ batchTimeMs: 1000, source: 'src', filterIndex: 0, first: 1, last: 12 }]);
  });

  it('fails the job with a clear message: a missing stream, a filter matching none of its subjects, purged messages', async () => {
    const missing = harness(jobReading({ stream: 'GONE' }));
    missing.addRun(1000);
    missing.source.poll([jobReading({ stream: 'GONE' })]);
    await missing.flush();
    missing.infos.splice(0)[0]!.resolve({ exists: false });
    await missing.flush();
    expect(missing.failures).toEqual([expect.stringMatching(/the stream "GONE" does not exist \(never created, or deleted while the job ran\)/)]);

    const job2 = jobReading({ stream: 'EV', subjects: ['other.*'] });
    const filter = harness(job2);
    filter.addRun(1000);
    filter.source.poll([job2]);
    await filter.answer({ firstSeq: 1, lastSeq: 5 }, ['ev.>']);
    expect(filter.failures).toEqual([expect.stringMatching(/the subject filter "other.\*" matches none of stream "EV"'s subjects \("ev.>"\)/)]);

    const job3 = jobReading({ stream: 'EV', startAt: { seq: 5 } });
    const purged = harness(job3);
    purged.addRun(1000);
    purged.source.poll([job3]);
    await purged.answer({ firstSeq: 20, lastSeq: 30 });
    expect(purged.failures).toEqual([expect.stringMatching(/no longer holds sequences 5-19: its retention removed them before the job read them/)]);
    expect(purged.writes).toHaveLength(0);

    const job4 = jobReading({ stream: 'EV', startAt: { seq: 5 }, onPurged: 'skip' });
    const skip = harness(job4);
    const run = skip.addRun(1000);
    skip.source.poll([job4]);
    await skip.answer({ firstSeq: 20, lastSeq: 30 });
    await skip.commitWrites();
    expect(skip.failures).toEqual([]);
    expect(slices(run)).toEqual([[20, 30]]);
  });
});
