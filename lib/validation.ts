/**
 * The gate every message read from NATS and every record read back from
 * JetStream KV / object store passes before it touches a service's state:
 * a zod schema parses it, and what does not parse is dropped, counted in
 * `rivulet.invalid_inputs{rivulet.input.source}` and logged once per source
 * (a flood of bad heartbeats is one log line and a rising counter, never a
 * log storm).
 *
 * A source is a low-cardinality name (a subject template such as
 * `rivulet.executor.heartbeat.*`, `kv:<bucket>` or `obj:<bucket>`), never a per-message id.
 * It never throws on bad input; it returns undefined.
 */
import type { z } from 'zod';
import type { Logger } from './log.js';
import { instruments } from './telemetry/metrics.js';

/** Sources already logged in this process (their number is bounded by the code's sources). */
const logged = new Set<string>();
/** Per-source counts, for tests and status. */
const counts = new Map<string, number>();

/** Invalid inputs dropped so far from `source` in this process. */
export function invalidInputCount(source: string): number {
  return counts.get(source) ?? 0;
}

/** Parse `value` with `schema`; on failure count it, log the first failure of `source`, and return undefined. */
export function checkInput<T>(schema: z.ZodType<T>, value: unknown, source: string, log?: Logger): T | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  rejectInput(source, describeIssues(parsed.error), log);
  return undefined;
}

/** Count and (first time per source) log an input that could not be used, e.g. one that did not decode. */
export function rejectInput(source: string, why: string, log?: Logger): void {
  counts.set(source, (counts.get(source) ?? 0) + 1);
  instruments().invalidInputs.add(1, { 'rivulet.input.source': source });
  if (logged.has(source)) return;
  logged.add(source);
  log?.warn({ source, why }, 'dropping invalid input (logged once per source; later ones are counted in rivulet.invalid_inputs)');
}

/**
 * Compile-time check that a schema has a field for every field of `T`,
 * optional ones included (zod strips unknown fields, so a field added to a
 * type but not to its schema would vanish silently): `Assert<Covers<S, T>>`.
 */
export type Covers<S extends z.ZodType, T> = Exclude<keyof T, keyof z.infer<S>> extends never ? true : false;
export type Assert<T extends true> = T;

/** The first few issues of a failed parse, on one bounded line. */
export function describeIssues(error: z.ZodError): string {
  const first = error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : '';
  return (first.join('; ') + more).slice(0, 500);
}
