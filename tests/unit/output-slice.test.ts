/**
 * Spark's DStream.slice as Rivulet computes it: the range checks and the
 * alignment down to an output's grid (lib/dstream/slice.ts), the scheduler's
 * answer over a retained ring (services/scheduler/output-slice.ts: which
 * batches, the retained window, truncated/pending), `rivulet/testing`'s
 * slice, and the CLI's time flags and summary lines.
 */
import { describe, expect, it } from 'vitest';
import { parseTimeFlag } from '../../cli/args.js';
import { FlagError } from '../../cli/errors.js';
import { formatSliceSummary } from '../../cli/format.js';
import { StreamingContext } from '../../lib/dstream/api.js';
import { JobGraph } from '../../lib/dstream/graph.js';
import { alignDown, alignSliceRange, inRange } from '../../lib/dstream/slice.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { slice } from '../../lib/testing/index.js';
import { outputGrid, sliceRetained } from '../../services/scheduler/output-slice.js';
import { outputBatchPieces } from '../../services/scheduler/server.js';
import { OutputBatchAssembler } from '../../client/output-pieces.js';
import { packRecords } from '../../lib/codec/records.js';
import type { OutputBatch__Output } from '../../lib/proto/gen/rivulet/v1/OutputBatch.js';
import type { CommittedBatch } from '../../services/scheduler/output-store.js';
import type { JobState } from '../../services/scheduler/job-registry.js';

const grid1s = { gridMs: 1000, zeroTimeMs: 0 };

describe('alignment and range checks', () => {
  it('aligns both ends down to the grid, keeping aligned times as they are', () => {
    expect(alignSliceRange(1500, 3000, grid1s)).toEqual({ fromMs: 1000, toMs: 3000 });
    expect(alignSliceRange(2000, 2999, grid1s)).toEqual({ fromMs: 2000, toMs: 2000 });
    expect(alignSliceRange(0, 999, grid1s)).toEqual({ fromMs: 0, toMs: 0 });
  });

  it('aligns to a grid that starts at the zero time (a window slide)', () => {
    // Slide 2 s from zero time 1 000: batch times 3 000, 5 000, 7 000, …
    const g = { gridMs: 2000, zeroTimeMs: 1000 };
    expect(alignDown(4999, g)).toBe(3000);
    expect(alignDown(5000, g)).toBe(5000);
    expect(alignSliceRange(4000, 7500, g)).toEqual({ fromMs: 3000, toMs: 7000 });
  });

  it('refuses negative, fractional, unsafe and reversed ranges with a clear INVALID_ARGUMENT', () => {
    const refused = (f: () => unknown, text: string) => {
      expect(f).toThrow(InvalidArgumentError);
      expect(f).toThrow(text);
    };
    refused(() => alignSliceRange(-1, 10, grid1s, 'SliceOutput'), 'SliceOutput: from must be a whole, non-negative number of epoch milliseconds (got -1)');
    refused(() => alignSliceRange(0, 1.5, grid1s), 'to must be a whole, non-negative number of epoch milliseconds (got 1.5)');
    refused(() => alignSliceRange(0, 2 ** 60, grid1s), 'to must be a whole');
    refused(() => alignSliceRange(0, Number.NaN, grid1s), 'got NaN');
    refused(() => alignSliceRange(3000, 2000, grid1s), 'from (3000) is after to (2000)');
    expect(() => alignSliceRange(0, 1, { gridMs: 0, zeroTimeMs: 0 })).toThrow(RangeError);
  });

  it('selects by batch time, both ends included, in the given order', () => {
    const times = [1000, 2000, 3000, 4000];
    expect(inRange(times, { fromMs: 2000, toMs: 3000 }, (t) => t)).toEqual([2000, 3000]);
    expect(inRange(times, { fromMs: 4500, toMs: 9000 }, (t) => t)).toEqual([]);
  });
});

function graphOf(build: (ctx: StreamingContext) => void): JobGraph {
  const graph = new JobGraph();
  build(new StreamingContext(graph));
  return graph;
}

const batch = (t: number): CommittedBatch => ({ batchTimeMs: t, count: 1, payload: Buffer.from([t % 256]) });
const ring = (from: number, to: number, step = 1000) => Array.from({ length: (to - from) / step + 1 }, (_, i) => batch(from + i * step));

describe('the scheduler’s slice of a retained ring', () => {
  const plain = graphOf((ctx) => ctx.receiverStream<string>('lines').output('lines'));
  // A clocked job started at 10 000 (zero time 9 000).
  const job = (state: JobState = 'RUNNING', graph = plain) => ({ graph, zeroTimeMs: 9000, state });

  it('uses the batch interval as the grid, and a windowed output’s slide', () => {
    expect(outputGrid(job(), 'lines', 1000)).toEqual({ gridMs: 1000, zeroTimeMs: 9000 });
    const windowed = graphOf((ctx) => ctx.receiverStream<string>('lines').window('6s', '3s').output('w'));
    expect(outputGrid(job('RUNNING', windowed), 'w', 1000)).toEqual({ gridMs: 3000, zeroTimeMs: 9000 });
    // A dead-letter output is not a graph node: it commits every batch.
    expect(outputGrid(job(), 'lines.dead-letter', 1000).gridMs).toBe(1000);
  });

  it('returns exactly the retained batches in the aligned range, with the retained window', () => {
    const a = sliceRetained(job(), 'lines', ring(10_000, 20_000), 12_500, 15_000, 1000);
    expect(a.batches.map((b) => b.batchTimeMs)).toEqual([12_000, 13_000, 14_000, 15_000]);
    expect(a.window).toMatchObject({ fromMs: 12_000, toMs: 15_000, gridMs: 1000, retainedBatches: 11, oldestRetainedMs: 10_000, newestRetainedMs: 20_000 });
    expect(a.window.truncated).toBe(false);
    expect(a.window.pending).toBe(false);
  });

  it('flags a range reaching before the oldest retained batch, but not before the job started', () => {
    // Batches 10 000 … 14 999 were committed and dropped: only 15 000 … 20 000 are retained.
    const dropped = sliceRetained(job(), 'lines', ring(15_000, 20_000), 12_000, 16_000, 1000);
    expect(dropped.batches.map((b) => b.batchTimeMs)).toEqual([15_000, 16_000]);
    expect(dropped.window.truncated).toBe(true);
    // The same range when the job's first batches are all retained: nothing is missing before 10 000.
    const fromStart = sliceRetained(job(), 'lines', ring(10_000, 20_000), 0, 11_000, 1000);
    expect(fromStart.batches.map((b) => b.batchTimeMs)).toEqual([10_000, 11_000]);
    expect(fromStart.window.truncated).toBe(false);
    // A range wholly before the retained ring, after the job started: empty and truncated.
    const gone = sliceRetained(job(), 'lines', ring(15_000, 20_000), 11_000, 12_000, 1000);
    expect(gone.batches).toEqual([]);
    expect(gone.window.truncated).toBe(true);
  });

  it('says when a running job may still commit batches in range, and never for a stopped one', () => {
    expect(sliceRetained(job('RUNNING'), 'lines', ring(10_000, 20_000), 19_000, 25_000, 1000).window.pending).toBe(true);
    const stopped = sliceRetained(job('STOPPED'), 'lines', ring(10_000, 20_000), 19_000, 25_000, 1000);
    expect(stopped.window.pending).toBe(false);
    expect(stopped.batches.map((b) => b.batchTimeMs)).toEqual([19_000, 20_000]);
    // Nothing committed yet: no retained window, pending while running.
    const empty = sliceRetained(job('RUNNING'), 'lines', [], 0, 5000, 1000);
    expect(empty.window).toMatchObject({ retainedBatches: 0, oldestRetainedMs: undefined, truncated: false, pending: true });
  });

  it('refuses a bad range before looking at the ring', () => {
    expect(() => sliceRetained(job(), 'lines', ring(10_000, 20_000), 5000, 4000, 1000)).toThrow('SliceOutput: from (5000) is after to (4000)');
  });
});

describe('pieces of a large batch (shared by WatchOutput and SliceOutput)', () => {
  const records = Array.from({ length: 3000 }, (_, i) => `record-${i}-${'x'.repeat(60)}`);
  const committed = { batchTimeMs: 7000, count: records.length, payload: packRecords(records) };
  const wire = (p: ReturnType<typeof outputBatchPieces>[number]): OutputBatch__Output =>
    ({ jobId: p.jobId, output: p.output, batchTimeMs: p.batchTimeMs, records: p.records, chunk: p.chunk ?? 0, chunks: p.chunks ?? 0 }) as OutputBatch__Output;

  it('cuts a batch into numbered pieces with the count on the first, which the client reassembles', () => {
    const pieces = outputBatchPieces('job-1', 'out', committed, 64 * 1024);
    expect(pieces.length).toBe(Math.ceil(committed.payload.length / (64 * 1024)));
    expect(pieces.map((p) => [p.chunk, p.chunks, p.records!.count])).toEqual(pieces.map((_, i) => [i, pieces.length, i === 0 ? records.length : 0]));
    const assembler = new OutputBatchAssembler('job-1', 'out');
    const out = pieces.map((p) => assembler.add(wire(p)));
    expect(out.slice(0, -1).every((b) => b === undefined)).toBe(true);
    expect(out[out.length - 1]).toEqual({ jobId: 'job-1', output: 'out', batchTimeMs: 7000, records });
    expect(assembler.incomplete).toBe(false);
    // A small batch is one message.
    expect(outputBatchPieces('job-1', 'out', committed, committed.payload.length)).toHaveLength(1);
  });

  it('refuses pieces out of order rather than gluing them together', () => {
    const pieces = outputBatchPieces('job-1', 'out', committed, 64 * 1024);
    const assembler = new OutputBatchAssembler('job-1', 'out');
    assembler.add(wire(pieces[0]!));
    expect(assembler.incomplete).toBe(true);
    expect(() => assembler.add(wire(pieces[2]!))).toThrow('chunk 2 of');
  });
});

describe('rivulet/testing slice', () => {
  const out = [1000, 2000, 3000, 4000].map((t) => ({ batchTime: t, records: [t / 1000] }));

  it('has the cluster’s semantics over a runBatches result', () => {
    expect(slice(out, 1500, 3000, 1000)).toEqual([out[0], out[1], out[2]]);
    expect(slice(out, 4001, 9000, 1000)).toEqual([out[3]]);
    expect(() => slice(out, 3000, 1000, 1000)).toThrow(InvalidArgumentError);
  });
});

describe('rivulet slice: times and summary', () => {
  const now = Date.parse('2024-05-01T12:00:00.000Z');

  it('reads epoch ms, ISO times, now and times before now', () => {
    expect(parseTimeFlag('--from', '1714564800000', now)).toBe(1714564800000);
    expect(parseTimeFlag('--from', '2024-05-01T11:59:30Z', now)).toBe(now - 30_000);
    expect(parseTimeFlag('--to', 'now', now)).toBe(now);
    expect(parseTimeFlag('--from', '-30s', now)).toBe(now - 30_000);
    expect(parseTimeFlag('--from', '-5m', now)).toBe(now - 300_000);
  });

  it('refuses anything else naming the flag and the accepted forms', () => {
    for (const bad of ['yesterday', '-x', '5 May', '2024-13-45T00:00:00Z', '99999999999999999999']) {
      expect(() => parseTimeFlag('--from', bad, now)).toThrow(FlagError);
    }
    expect(() => parseTimeFlag('--from', 'soon', now)).toThrow('--from is not a time (got "soon"; expected epoch ms like 1714564800000, an ISO time');
  });

  it('summarises what was served and warns, naming the options, when part of the range is gone', () => {
    const lines = formatSliceSummary({
      jobId: 'job-1',
      output: 'counts',
      fromMs: now - 10_000,
      toMs: now,
      gridMs: 1000,
      batches: [1, 2, 3],
      retained: { oldestMs: now - 2000, newestMs: now, batches: 3 },
      truncated: true,
      pending: false,
      jobState: 'STOPPED',
    });
    expect(lines[0]).toBe(
      'job-1/counts: 3 batches from 2024-05-01T11:59:50.000Z to 2024-05-01T12:00:00.000Z (aligned to the 1s grid); retained 2024-05-01T11:59:58.000Z .. 2024-05-01T12:00:00.000Z (3 batches); job STOPPED',
    );
    expect(lines[1]).toContain('starts before the oldest retained batch (2024-05-01T11:59:58.000Z)');
    expect(lines[1]).toContain('outputRetentionBatches / outputRetentionBytes');
    expect(lines).toHaveLength(2);
  });
});
