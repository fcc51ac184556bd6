/**
 * Where the CLI finds the cluster, and parsing of numeric/size/duration flags.
 * Address resolution order, for each of the scheduler and the receiver:
 *   1. the --scheduler / --receiver flag
 *   2. RIVULET_SCHEDULER_ADDRESS / RIVULET_RECEIVER_ADDRESS
 *   3. .rivulet/cluster.json written by `rivulet up` in the current directory
 *   4. 127.0.0.1:7071 / 127.0.0.1:7070 (the services' default ports)
 */
import { parseBytes, parseDuration } from '../lib/config/index.js';
import { DEFAULT_RECEIVER_ADDRESS, DEFAULT_SCHEDULER_ADDRESS } from '../client/index.js';
import { FlagError } from './errors.js';

export type AddressSource = 'flag' | 'env' | 'state' | 'default';

export interface ResolvedAddress {
  address: string;
  source: AddressSource;
}

export interface AddressInputs {
  flags?: { scheduler?: string; receiver?: string };
  env?: NodeJS.ProcessEnv;
  /** Addresses from .rivulet/cluster.json, when present. */
  state?: { scheduler?: string; receiver?: string };
}

function pick(flag: string | undefined, env: string | undefined, state: string | undefined, def: string): ResolvedAddress {
  if (flag) return { address: flag, source: 'flag' };
  if (env) return { address: env, source: 'env' };
  if (state) return { address: state, source: 'state' };
  return { address: def, source: 'default' };
}

export function resolveAddresses(inputs: AddressInputs): { scheduler: ResolvedAddress; receiver: ResolvedAddress } {
  const env = inputs.env ?? {};
  return {
    scheduler: pick(inputs.flags?.scheduler, env.RIVULET_SCHEDULER_ADDRESS, inputs.state?.scheduler, DEFAULT_SCHEDULER_ADDRESS),
    receiver: pick(inputs.flags?.receiver, env.RIVULET_RECEIVER_ADDRESS, inputs.state?.receiver, DEFAULT_RECEIVER_ADDRESS),
  };
}

export function parsePositiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new FlagError(`${flag} must be a positive integer (got "${value}")`);
  }
  return n;
}

export function parseDurationFlag(flag: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (e) {
    throw new FlagError(`${flag}: ${(e as Error).message}`);
  }
}

export function parseBytesFlag(flag: string, value: string): number {
  try {
    const n = parseBytes(value);
    if (n < 1) throw new Error(`must be at least 1 byte`);
    return n;
  } catch (e) {
    throw new FlagError(`${flag}: ${(e as Error).message}`);
  }
}

/**
 * A point in time for `--from` / `--to`, as epoch milliseconds: epoch ms
 * (`1714564800000`), an ISO 8601 time (`2024-05-01T12:00:00Z`; without a zone
 * it is local time, as Date.parse reads it), `now`, or a time before now
 * (`-30s`, `-5m`, `-1h`, durations as everywhere in Rivulet). `nowMs` is
 * passed in so the same command line means one instant.
 */
export function parseTimeFlag(flag: string, value: string, nowMs: number): number {
  const v = value.trim();
  const fail = (why: string) =>
    new FlagError(`${flag} ${why} (got "${value}"; expected epoch ms like 1714564800000, an ISO time like 2024-05-01T12:00:00Z, now, or a time before now like -30s)`);
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw fail('is too large');
    return n;
  }
  if (v === 'now') return nowMs;
  if (v.startsWith('-')) {
    let ago: number;
    try {
      ago = parseDuration(v.slice(1));
    } catch {
      throw fail('is not a duration');
    }
    const t = Math.floor(nowMs - ago);
    if (t < 0) throw fail('is before 1970');
    return t;
  }
  // An ISO date at least (YYYY-MM-DD): Date.parse alone accepts too much ("1", "May 1").
  if (!/^\d{4}-\d{2}-\d{2}/.test(v)) throw fail('is not a time');
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw fail('is not a valid ISO time');
  if (t < 0) throw fail('is before 1970');
  return t;
}
