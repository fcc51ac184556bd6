/**
 * `rivulet slice <job> <output> --from <time> --to <time>`: Spark's
 * DStream.slice on a job's output — the retained committed batches in a time
 * range, one line per batch on stdout exactly as `rivulet tail` prints them
 * (human or `--json`), then on stderr what was served: the range aligned to
 * the output's grid, the retained window, and a warning when part of the range
 * is no longer retained or not committed yet. Ends at once; never waits.
 */
import { parseTimeFlag } from '../args.js';
import { FlagError } from '../errors.js';
import { connect, println, type AddressFlags, type Io } from '../context.js';
import { formatSliceSummary, formatTailHuman, formatTailJson } from '../format.js';

export interface SliceFlags extends AddressFlags {
  from: string;
  to?: string;
  json?: boolean;
  maxRecords?: number;
  /** Print only batches with records (the summary still counts them all). */
  nonEmpty?: boolean;
}

export async function sliceCommand(io: Io, jobId: string, output: string, flags: SliceFlags, nowMs = Date.now()): Promise<void> {
  // Flags first: a bad time is a usage error, before any connection.
  const fromMs = parseTimeFlag('--from', flags.from, nowMs);
  const toMs = parseTimeFlag('--to', flags.to ?? 'now', nowMs);
  if (fromMs > toMs) throw new FlagError(`--from (${new Date(fromMs).toISOString()}) is after --to (${new Date(toMs).toISOString()})`);
  const { client } = connect(io, flags);
  try {
    const slice = await client.slice(jobId, output, fromMs, toMs);
    for (const batch of slice.batches) {
      if (flags.nonEmpty && batch.records.length === 0) continue;
      println(io.stdout, flags.json ? formatTailJson(batch) : formatTailHuman(batch, { maxRecords: flags.maxRecords }));
    }
    for (const line of formatSliceSummary(slice)) println(io.stderr, line);
  } finally {
    await client.close();
  }
}
