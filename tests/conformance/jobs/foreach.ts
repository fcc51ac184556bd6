/**
 * Conformance: foreachBatch runs on the scheduler every batch (empty ones
 * too) with the batch's records; it appends a line per call to a file the
 * test reads.
 */
import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineJob } from 'rivulet';

export const FOREACH_FILE = join(tmpdir(), 'rivulet-conformance-foreach.jsonl');

export default defineJob((ctx) => {
  const xs = ctx.queueStream<number>('xs');
  xs.map((x) => x + 1).foreachBatch((records, batchTimeMs) => {
    appendFileSync(FOREACH_FILE, JSON.stringify({ batchTimeMs, records }) + '\n');
  });
  xs.output('same');
});
