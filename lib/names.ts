/**
 * The one rule for every name and id a client, a peer or a NATS message hands
 * a service — job names and ids, stream names, output names, executor ids,
 * block ids — so that no request can make a service keep, list or log an
 * unbounded string (five SubmitJob calls with 4 MiB names once made GetStatus
 * 21 MB, over the message limit, and `rivulet status` failed for everyone).
 *
 * - A **name** (job name, job id, stream, output, executor id, client id) is
 *   1–128 characters of letters, digits and `_ . : -` (`NAME_RULE`).
 * - An **id** built from names (block ids such as
 *   `shuffle/<job>:<batch>:<node>:<incarnation>/<map>/<reduce>`, task ids,
 *   shuffle ids, checkpoint object names) is 1–1024 characters of the same
 *   set plus `/ @` (`ID_RULE`); long enough for a block id made of two
 *   hex-encoded names.
 *
 * Every API checks what it is given with `checkName` (gRPC handlers: an
 * INVALID_ARGUMENT naming the field and the rule) or with the zod schemas
 * `nameSchema` / `idSchema` (NATS messages, journal records). Pure and
 * dependency-free apart from the error type: the job API (lib/dstream/api.ts)
 * uses it too, so a job cannot declare a stream the receiver would refuse.
 * It never echoes a long value back: a refusal quotes at most 64 characters.
 */
import { z } from 'zod';
import { InvalidArgumentError } from './errors.js';

export const NAME_MAX_LENGTH = 128;
export const ID_MAX_LENGTH = 1024;

const NAME_PATTERN = /^[A-Za-z0-9_.:-]+$/;
const ID_PATTERN = /^[A-Za-z0-9_.:/@-]+$/;

export type NameKind = 'name' | 'id';

export const NAME_RULE = `1-${NAME_MAX_LENGTH} characters of letters, digits and _ . : -`;
export const ID_RULE = `1-${ID_MAX_LENGTH} characters of letters, digits and _ . : / @ -`;

const RULES: Record<NameKind, { max: number; pattern: RegExp; rule: string }> = {
  name: { max: NAME_MAX_LENGTH, pattern: NAME_PATTERN, rule: NAME_RULE },
  id: { max: ID_MAX_LENGTH, pattern: ID_PATTERN, rule: ID_RULE },
};

/** The rule a value of `kind` follows, in words (for messages and docs). */
export function ruleOf(kind: NameKind): string {
  return RULES[kind].rule;
}

/** A short, safe rendering of a refused value: its length when long, else quoted. */
export function quoteBounded(value: string, max = 64): string {
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}

/** Why `value` is not a valid `kind`, or undefined when it is. */
export function nameProblem(value: unknown, kind: NameKind = 'name'): string | undefined {
  const { max, pattern } = RULES[kind];
  if (typeof value !== 'string') return `is not a string`;
  if (value.length === 0) return 'is empty';
  if (value.length > max) return `is ${value.length} characters long, over ${max}`;
  if (!pattern.test(value)) return `${quoteBounded(value)} has a character outside letters, digits and ${kind === 'id' ? '_ . : / @ -' : '_ . : -'}`;
  return undefined;
}

export function isValidName(value: unknown, kind: NameKind = 'name'): value is string {
  return nameProblem(value, kind) === undefined;
}

/**
 * Check `value` for `field` (e.g. "SubmitJob name", "open.stream"); returns
 * it, or throws InvalidArgumentError "<field> <problem>: a <kind> is <rule>".
 */
export function checkName(field: string, value: unknown, kind: NameKind = 'name'): string {
  const problem = nameProblem(value, kind);
  if (problem !== undefined) throw new InvalidArgumentError(`${field} ${problem}: ${kind === 'id' ? 'an id' : 'a name'} is ${RULES[kind].rule}`);
  return value as string;
}

/** Check every element of a list (with its index in the field) and the list's length. */
export function checkNames(field: string, values: readonly unknown[], maxCount: number, kind: NameKind = 'name'): string[] {
  if (values.length > maxCount) throw new InvalidArgumentError(`${field} has ${values.length} entries, over ${maxCount}`);
  return values.map((v, i) => checkName(`${field}[${i}]`, v, kind));
}

/** Free text a client sends (a source file name, a client id for logs): bounded length, no control characters. */
export function checkText(field: string, value: string, max: number): string {
  if (value.length > max) throw new InvalidArgumentError(`${field} is ${value.length} characters long, over ${max}`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new InvalidArgumentError(`${field} has a control character`);
  return value;
}

/** A name from something that is not one (a file name): disallowed characters become '-', cut to the bound; undefined when nothing is left. */
export function toName(raw: string): string | undefined {
  const s = raw.replace(/[^A-Za-z0-9_.:-]+/g, '-').slice(0, NAME_MAX_LENGTH);
  return s.replace(/^-+|-+$/g, '') || undefined;
}

/** The rules as zod schemas, for NATS messages and records read back from JetStream. */
export const nameSchema = z.string().min(1).max(NAME_MAX_LENGTH).regex(NAME_PATTERN);
export const idSchema = z.string().min(1).max(ID_MAX_LENGTH).regex(ID_PATTERN);
