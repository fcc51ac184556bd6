/**
 * What the scheduler journals for a job's JetStream direct sources
 * (jetstream-source.ts) and the ports it reads streams and writes the journal
 * through: plain data and interfaces only, shared by the source component,
 * the followed journal (job-journal.ts), the NATS ports (jetstream-ports.ts)
 * and the event union (events.ts).
 */
import { z } from 'zod';
import type { StreamHead } from '../../lib/sources/jetstream-ranges.js';

/** The journal key of a job's JetStream ranges, in the job journal bucket. */
export const JS_RANGES_KEY_PREFIX = 'jsrange.';

/** What STREAM.INFO says, or that the stream does not exist. */
export type StreamInfoAnswer = { exists: true; head: StreamHead; subjects: string[] } | { exists: false; forbidden?: boolean };

/** The scheduler's reads and writes for JetStream sources (main.ts wires NATS and the fenced journal). */
export interface JetStreamSourcePorts {
  streamInfo(stream: string): Promise<StreamInfoAnswer>;
  /** Durable (fenced) when it resolves. */
  writeRanges(jobId: string, journal: JetStreamJournal): Promise<void>;
}

/** What the journal keeps per job (plain data, JSON). */
export interface JetStreamJournal {
  /** The next sequence a new range starts at, per `<source>/<filterIndex>`. */
  next: Record<string, number>;
  /** The end of the last journaled-complete batch's range, per `<source>/<filterIndex>` (lag after a restart). */
  committed: Record<string, number>;
  /** Ranges decided for batches whose completion is not journaled yet. */
  pending: Array<{ batchTimeMs: number; source: string; filterIndex: number; first: number; last: number }>;
}

const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const filterKey = z.string().max(300);

/** A journaled `jsrange.<id>` entry, checked before a new leader trusts it. */
export const jetStreamJournalSchema = z.object({
  next: z.record(filterKey, seq),
  committed: z.record(filterKey, seq),
  pending: z
    .array(
      z.object({
        batchTimeMs: z.number().finite().nonnegative().max(Number.MAX_SAFE_INTEGER),
        source: z.string().max(128),
        filterIndex: z.number().int().nonnegative().max(1000),
        first: seq,
        last: seq,
      }),
    )
    .max(1_000_000),
}) satisfies z.ZodType<JetStreamJournal>;
