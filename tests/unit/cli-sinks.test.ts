/** `rivulet status`: the SINKS table (JobStatus.sinks). */
import { describe, expect, it } from 'vitest';
import { formatSinks } from '../../cli/format.js';

const sink = (o: object) => ({ output: 'rows', sink: 'postgres:wc/word_counts', batchesWritten: 0, batchesSkipped: 0, recordsWritten: 0, lastBatchTimeMs: 0, lastError: '', lastErrorAtMs: 0, retryingAttempt: 0, ...o });

describe('rivulet status: sinks', () => {
  it('lists each output with a sink, its counts, the latest batch and the last error, and nothing when no job has one', () => {
    const job = (sinks: object[]) => ({ jobId: 'j1', sinks }) as never;
    expect(formatSinks({ jobs: [job([])] })).toEqual([]);
    const lines = formatSinks({
      jobs: [
        job([
          sink({ batchesWritten: 12, batchesSkipped: 1, recordsWritten: 3400, lastBatchTimeMs: Date.UTC(2026, 11, 5, 7, 0, 0) }),
          sink({ output: 'events', sink: 'jetstream:sinks.counts', lastError: 'connection refused\nat …', lastErrorAtMs: Date.UTC(2026, 11, 5, 7, 0, 1), retryingAttempt: 3 }),
        ]),
      ],
    });
    expect(lines[0]).toMatch(/^SINKS \(/);
    expect(lines[1]).toMatch(/JOB\s+OUTPUT\s+SINK\s+WRITTEN\s+SKIPPED\s+RECORDS\s+LAST BATCH\s+LAST ERROR/);
    expect(lines[2]!.trim().split(/\s+/)).toEqual(['j1', 'rows', 'postgres:wc/word_counts', '12', '1', '3400', '2026-12-05T07:00:00.000Z', '-']);
    expect(lines[3]).toMatch(/j1\s+events\s+jetstream:sinks\.counts\s+0\s+0\s+0\s+-\s+retrying \(attempt 3 failed\): connection refused/);
  });
});
