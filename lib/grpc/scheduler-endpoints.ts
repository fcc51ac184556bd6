/**
 * Reaching the leading scheduler when several run (issue 15): one leads, the
 * others stand by and refuse calls with UNAVAILABLE, metadata
 * `rivulet-scheduler-role: standby` and, when they know it, the leader's
 * address (`rivulet-leader-address`; services/scheduler/leader-routing.ts).
 * A caller keeps one channel per address and moves to the leader: to the
 * address a standby named (added when it is not one of the caller's — a
 * Kubernetes Service that reached a standby names the leader's pod), else,
 * given several addresses ("a:7071,b:7071"), to the next one. With a single
 * address and no standby, errors are the caller's as before.
 *
 * Which failures move on is decided here, once: a standby's refusal (nothing
 * was done, so any call may go elsewhere) and, for idempotent calls, a peer
 * that cannot be reached at all or does not answer in time (paused); a call that is not idempotent (SubmitJob)
 * moves on only when it cannot have reached a scheduler — the connection was
 * refused — never after a dropped connection, which may have carried it.
 */
import * as grpc from '@grpc/grpc-js';
import type { SchedulerClient } from '../proto/index.js';
import { dial, type DialOptions } from './client.js';

export const LEADER_ADDRESS_KEY = 'rivulet-leader-address';
export const SCHEDULER_ROLE_KEY = 'rivulet-scheduler-role';

/** Split a `schedulerAddress` option: one address or several, comma-separated. */
export function schedulerAddressList(addresses: string): string[] {
  const list = addresses
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
  if (list.length === 0) throw new Error(`no scheduler address in "${addresses}"`);
  return [...new Set(list)];
}

/** The grpc.Metadata of an error, or of the error it wraps. */
function metadataOf(err: unknown): grpc.Metadata | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const md = (e as { metadata?: unknown }).metadata;
    if (md instanceof grpc.Metadata) return md;
  }
  return undefined;
}

/** Was `err` a standby scheduler's refusal? Then the leader (if any) is named in `leader`. */
export function standbyRefusal(err: unknown): { leader?: string } | undefined {
  const md = metadataOf(err);
  if (!md || md.get(SCHEDULER_ROLE_KEY)[0] !== 'standby') return undefined;
  const leader = md.get(LEADER_ADDRESS_KEY)[0];
  return typeof leader === 'string' && leader ? { leader } : {};
}

/** Text of an error and of what it wraps (grpc-js keeps the transport error in `details`). */
function describe(err: unknown): string {
  let text = '';
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    text += ` ${(e as { details?: string }).details ?? ''} ${(e as Error).message ?? ''}`;
  }
  return text;
}

const UNREACHED = /No connection established|ECONNREFUSED|Name resolution failed|DNS resolution failed|ENOTFOUND|EHOSTUNREACH|ENETUNREACH/i;
const UNREACHABLE = /No connection established|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|Name resolution failed|DNS resolution failed|failed to connect|Connection dropped|Socket closed/i;

function hasCode(err: unknown, code: grpc.status): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}

export class SchedulerEndpoints {
  private readonly list: string[];
  private current = 0;
  private readonly clients = new Map<string, SchedulerClient>();

  constructor(
    addresses: string,
    private readonly dialOptions: DialOptions = {},
  ) {
    this.list = schedulerAddressList(addresses);
  }

  /** The addresses given, then any leader a standby named that was not among them. */
  get addresses(): readonly string[] {
    return this.list;
  }

  /** The address calls go to now. */
  get address(): string {
    return this.list[this.current]!;
  }

  /** The channel to the address calls go to now (opened on first use). */
  get client(): SchedulerClient {
    const address = this.address;
    let c = this.clients.get(address);
    if (!c) this.clients.set(address, (c = dial.scheduler(address, this.dialOptions)));
    return c;
  }

  /**
   * After `err` from the current address: should the call go to another
   * scheduler? If so the current address has moved there and true is returned.
   */
  failover(err: unknown, opts: { idempotent: boolean }): boolean {
    const standby = standbyRefusal(err);
    if (standby?.leader !== undefined && hasCode(err, grpc.status.UNAVAILABLE)) {
      // Go where the standby says the leader is — also when that is not one of ours (behind a
      // Kubernetes Service, the leader's pod address; its certificate is checked by role).
      let named = this.list.indexOf(standby.leader);
      if (named < 0) named = this.list.push(standby.leader) - 1;
      if (named !== this.current) {
        this.current = named;
        return true;
      }
    }
    if (this.list.length < 2) return false;
    // No answer in time: a paused or partitioned scheduler looks like this; a read may ask another.
    if (opts.idempotent && hasCode(err, grpc.status.DEADLINE_EXCEEDED)) {
      this.current = (this.current + 1) % this.list.length;
      return true;
    }
    if (!hasCode(err, grpc.status.UNAVAILABLE)) return false;
    if (!standby && !(opts.idempotent ? UNREACHABLE : UNREACHED).test(describe(err))) return false;
    this.current = (this.current + 1) % this.list.length;
    return true;
  }

  /**
   * Run `call` against the current scheduler, moving on as failover() says,
   * at most twice around the list before the last error is the caller's.
   */
  async call<T>(call: (client: SchedulerClient, address: string) => Promise<T>, opts: { idempotent: boolean }): Promise<T> {
    const tries = this.addresses.length * 2;
    for (let i = 0; ; i++) {
      try {
        return await call(this.client, this.address);
      } catch (err) {
        if (i + 1 >= tries || !this.failover(err, opts)) throw err;
        // Around the list once already: the leader may be moving; give it a moment.
        if (i + 1 >= this.addresses.length) await new Promise((r) => setTimeout(r, 100 * (i + 2 - this.addresses.length)));
      }
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
