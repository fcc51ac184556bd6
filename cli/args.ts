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
