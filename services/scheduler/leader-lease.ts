/**
 * Which scheduler leads, and the fence that keeps a former leader from doing
 * harm (issue 15). Schedulers share one JetStream KV bucket — the job journal
 * — and every write to it is made *only if the bucket's last sequence is
 * still the one the writer last saw* (JetStream's Nats-Expected-Last-Sequence).
 * The lease is a key in that same bucket (`leader`), so:
 *
 * - taking the lease is a write expecting the last sequence the standby has
 *   followed: it succeeds only if the standby had seen every journal write,
 *   which also proves its followed copy of the journal is complete (no cold
 *   replay at takeover — the standby follows the journal as it is written);
 * - once another scheduler took the lease, every write of the former leader
 *   (a journal update, a lease renewal) is refused by the NATS server: a
 *   paused or partitioned leader cannot write, and it learns from the refusal
 *   that it must step down. Kafka fences a zombie controller by epoch the
 *   same way; here the epoch is the bucket's sequence.
 *
 * The leader renews the lease every `renewIntervalMs` (a write like any
 * other); a standby takes over when the lease has not changed for
 * `leaseTimeoutMs` on its own clock, at once when the holder released it
 * (graceful stop) or was an earlier incarnation of this scheduler (same id
 * and address),
 * and early when a probe finds nothing answering at the holder's address
 * (kill -9) — safe because the fence, not the timing, decides who writes.
 * A leader does not step down merely because it cannot reach NATS: it cannot
 * commit anything then either, and it would only hand the work to nobody.
 *
 * Writes are serialised (each needs the sequence of the one before) and
 * coalesced per key; a write whose answer was lost is sent again with the
 * same message id, which JetStream deduplicates before it checks the
 * expected sequence, so a resend never looks like a fence. One object, one
 * event loop: every state change happens in a callback of this class, never
 * after an await without checking the state again.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';

/** The lease as stored under LEASE_KEY. */
export interface LeaseRecord {
  schedulerId: string;
  /** Where the holder serves gRPC (clients are pointed there; standbys probe it). */
  address: string;
  /** 1, 2, 3...: bumped by every takeover; executors and lineage refuse calls of an older term. */
  term: number;
  /** When the holder took the lease (its clock). */
  sinceMs: number;
  /** Set by a leader stopping gracefully: a standby may take over at once. */
  released?: boolean;
}

export const LEASE_KEY = 'leader';

/** One entry of the bucket as followed: `value` undefined for a deleted key. */
export interface BucketEntry {
  key: string;
  seq: number;
  value: Uint8Array | undefined;
}

/** The bucket, as the lease needs it (services/scheduler/control-bucket.ts over JetStream KV). */
export interface FencedBucket {
  /** Every current entry, then each write as it lands, in sequence order, until stopped. */
  follow(onEntry: (e: BucketEntry) => void): { stop(): void };
  /** The bucket's last sequence now (0 when empty). */
  lastSequence(): Promise<number>;
  /**
   * Store `value` under `key` (null: purge the key and its history) only if the
   * bucket's last sequence is `expectedSeq`. Resolves the new sequence (a
   * duplicate of `msgId` resolves the first one's); rejects with
   * FencedWriteError when another write came first.
   */
  writeIfLast(key: string, value: Uint8Array | null, expectedSeq: number, msgId: string): Promise<number>;
  /** The message id of the entry at `seq`, if it is still stored. */
  msgIdAt(seq: number): Promise<string | undefined>;
}

/** Another write reached the bucket first: the writer's view is stale. */
export class FencedWriteError extends Error {
  override name = 'FencedWriteError';
  constructor(
    /** The bucket's actual last sequence, when the server said it. */
    readonly lastSeq: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(`another scheduler wrote the journal first (its last sequence is ${lastSeq ?? 'unknown'})`, options);
  }
}

/** This scheduler does not lead (any more): its write was not made. */
export class NotLeaderError extends Error {
  override name = 'NotLeaderError';
}

export type LeadershipState = 'STARTING' | 'FOLLOWING' | 'LEADING' | 'STOPPED';

export interface LeaderLeaseOptions {
  /** Stable per scheduler replica (a restarted incarnation takes its own lease back at once). */
  schedulerId: string;
  /** This scheduler's advertised gRPC address. */
  address: string;
  leaseTimeoutMs: number;
  renewIntervalMs: number;
}

export interface LeaderLeaseListener {
  /** This scheduler took the lease: start leading. The followed journal is complete. */
  elected(term: number): void;
  /** It lost the lease (fenced, or another scheduler holds it): stop leading now. */
  deposed(reason: string): void;
  /** A journal entry other than the lease (standbys keep them; a leader sees its own writes). */
  entry(e: BucketEntry): void;
  /** The lease as last seen changed holder or term. */
  holderChanged?(holder: LeaseRecord | undefined): void;
}

/** Says whether a holder's address still answers; 'gone' only when nothing listens there. */
export type HolderProbe = (address: string) => Promise<'gone' | 'alive' | 'unknown'>;

interface PendingWrite {
  key: string;
  /** null: purge the key (its history too). */
  value: Uint8Array | null;
  waiters: Array<{ resolve: () => void; reject: (e: Error) => void }>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function decodeLease(value: Uint8Array | undefined): LeaseRecord | undefined {
  if (!value || value.length === 0) return undefined;
  try {
    const raw = JSON.parse(decoder.decode(value)) as Partial<LeaseRecord>;
    if (typeof raw.schedulerId !== 'string' || typeof raw.address !== 'string') return undefined;
    if (typeof raw.term !== 'number' || !Number.isSafeInteger(raw.term) || raw.term < 0) return undefined;
    return {
      schedulerId: raw.schedulerId,
      address: raw.address,
      term: raw.term,
      sinceMs: typeof raw.sinceMs === 'number' ? raw.sinceMs : 0,
      ...(raw.released === true ? { released: true } : {}),
    };
  } catch {
    return undefined;
  }
}

export class LeaderLease {
  private state: LeadershipState = 'STARTING';
  /** Last bucket sequence followed (standby) — the expectation of a takeover. */
  private followedSeq = 0;
  /** The bucket's last sequence when following started: below it, the follow is still catching up. */
  private startSeq = Number.POSITIVE_INFINITY;
  private holder: LeaseRecord | undefined;
  /** Clock time the lease entry last changed (or following started). */
  private holderSeenAtMs = 0;
  private term = 0;
  private sinceMs = 0;
  /** Last sequence this leader wrote: the expectation of its next write. */
  private writtenSeq = 0;
  private writeCount = 0;
  private readonly queue: PendingWrite[] = [];
  private writing = false;
  private acquiring = false;
  private probing = false;
  private timer: TimerHandle | undefined;
  private following: { stop(): void } | undefined;
  private lastRenewQueuedMs = 0;
  /** Times this scheduler took the lease, and lost it. */
  readonly counts = { elected: 0, deposed: 0 };

  constructor(
    private readonly bucket: FencedBucket,
    private readonly opts: LeaderLeaseOptions,
    private readonly clock: Clock,
    private readonly listener: LeaderLeaseListener,
    private readonly log: Logger,
    private readonly probe?: HolderProbe,
  ) {}

  get leadershipState(): LeadershipState {
    return this.state;
  }

  /** The term this scheduler leads in (0 when it does not lead). */
  get currentTerm(): number {
    return this.state === 'LEADING' ? this.term : 0;
  }

  /** The lease as last seen (this scheduler's own while it leads). */
  get currentHolder(): LeaseRecord | undefined {
    return this.holder;
  }

  /** Follow the bucket and contend for the lease. */
  async start(): Promise<void> {
    this.following = this.bucket.follow((e) => this.onEntry(e));
    const last = await this.bucket.lastSequence();
    if (this.state === 'STOPPED') return;
    this.startSeq = last;
    this.holderSeenAtMs = this.clock.now();
    this.state = 'FOLLOWING';
    this.log.info({ schedulerId: this.opts.schedulerId }, 'scheduler STARTING -> FOLLOWING: contending for the lease');
    this.tick();
  }

  /**
   * Write `value` under `key`, fenced: resolves once stored while this
   * scheduler still leads; rejects with NotLeaderError once it does not.
   * Writes of one key are coalesced (the latest value wins).
   */
  write(key: string, value: Uint8Array): Promise<void> {
    return this.enqueue(key, value);
  }

  /** Purge `key` and its history, fenced like write() (a forgotten job's journal entries). */
  remove(key: string): Promise<void> {
    return this.enqueue(key, null);
  }

  private enqueue(key: string, value: Uint8Array | null): Promise<void> {
    if (this.state !== 'LEADING') return Promise.reject(new NotLeaderError(`scheduler ${this.opts.schedulerId} does not lead`));
    return new Promise((resolve, reject) => {
      // Only a write not yet sent may absorb a later one: the head may be in flight.
      const queued = this.queue.find((w, i) => w.key === key && (i > 0 || !this.writing));
      if (queued) {
        queued.value = value;
        queued.waiters.push({ resolve, reject });
      } else {
        this.queue.push({ key, value, waiters: [{ resolve, reject }] });
      }
      this.pump();
    });
  }

  /** Stop: a leader releases the lease (a standby takes over at once) after its queued writes. */
  async stop(): Promise<void> {
    if (this.state === 'STOPPED') return;
    const wasLeading = this.state === 'LEADING';
    if (wasLeading) {
      const release = this.write(LEASE_KEY, this.leaseValue(true)).catch(() => undefined);
      await Promise.race([release, new Promise((r) => this.clock.setTimeout(() => r(undefined), this.opts.leaseTimeoutMs))]);
    }
    this.state = 'STOPPED';
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.following?.stop();
    this.failQueued('the scheduler is stopping');
  }

  // ------------------------------------------------------------ following

  private onEntry(e: BucketEntry): void {
    if (this.state === 'STOPPED') return;
    if (e.seq > this.followedSeq) this.followedSeq = e.seq;
    if (e.key !== LEASE_KEY) {
      this.listener.entry(e);
      return;
    }
    const lease = decodeLease(e.value);
    const changed = lease?.schedulerId !== this.holder?.schedulerId || lease?.term !== this.holder?.term;
    this.holder = lease;
    this.holderSeenAtMs = this.clock.now();
    if (changed) this.listener.holderChanged?.(lease);
    // A leader that sees the lease held by another has been replaced (its next write would be refused).
    if (this.state === 'LEADING' && lease && (lease.schedulerId !== this.opts.schedulerId || lease.term !== this.term)) {
      this.depose(`scheduler ${lease.schedulerId} took the lease (term ${lease.term})`);
    }
  }

  /** Runs every renewIntervalMs/2: renew as leader, judge the lease as standby. */
  private tick(): void {
    if (this.state === 'STOPPED') return;
    const now = this.clock.now();
    if (this.state === 'LEADING') {
      if (now - this.lastRenewQueuedMs >= this.opts.renewIntervalMs) {
        this.lastRenewQueuedMs = now;
        this.write(LEASE_KEY, this.leaseValue(false)).catch(() => undefined); // a refusal deposes (pump)
      }
    } else if (this.state === 'FOLLOWING') {
      this.judgeLease(now);
    }
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(10, Math.floor(this.opts.renewIntervalMs / 2)));
  }

  private judgeLease(now: number): void {
    if (this.acquiring || this.followedSeq < this.startSeq) return; // still catching up with the bucket
    const h = this.holder;
    const silentMs = now - this.holderSeenAtMs;
    // An earlier incarnation of this scheduler: same id, same address (a process cannot share our port).
    const mine = h !== undefined && h.schedulerId === this.opts.schedulerId && h.address === this.opts.address;
    if (!h || h.released || mine || silentMs >= this.opts.leaseTimeoutMs) {
      const why = !h ? 'no lease' : h.released ? 'released' : mine ? 'held by an earlier incarnation of this scheduler' : `not renewed for ${silentMs} ms`;
      void this.acquire(why);
      return;
    }
    // Silent for two renewals: is anything still listening at the holder's address?
    if (this.probe && !this.probing && silentMs >= 2 * this.opts.renewIntervalMs) {
      this.probing = true;
      const seenAt = this.holderSeenAtMs;
      this.probe(h.address)
        .then((verdict) => {
          this.probing = false;
          if (verdict === 'gone' && this.state === 'FOLLOWING' && this.holderSeenAtMs === seenAt) void this.acquire(`nothing answers at ${h.address}`);
        })
        .catch(() => (this.probing = false));
    }
  }

  private async acquire(why: string): Promise<void> {
    if (this.acquiring || this.state !== 'FOLLOWING') return;
    this.acquiring = true;
    const expected = this.followedSeq;
    const term = (this.holder?.term ?? 0) + 1;
    const sinceMs = this.clock.now();
    const value = encoder.encode(
      JSON.stringify({ schedulerId: this.opts.schedulerId, address: this.opts.address, term, sinceMs } satisfies LeaseRecord),
    );
    try {
      const seq = await this.bucket.writeIfLast(LEASE_KEY, value, expected, this.msgId(term, 0));
      if (this.state !== 'FOLLOWING') return;
      this.term = term;
      this.sinceMs = sinceMs;
      this.writeCount = 0;
      this.writtenSeq = seq;
      this.lastRenewQueuedMs = this.clock.now();
      this.holder = { schedulerId: this.opts.schedulerId, address: this.opts.address, term, sinceMs };
      this.holderSeenAtMs = this.clock.now();
      this.state = 'LEADING';
      this.counts.elected++;
      this.log.info({ schedulerId: this.opts.schedulerId, term, why }, 'scheduler FOLLOWING -> LEADING: took the lease');
      this.listener.holderChanged?.(this.holder);
      this.listener.elected(term);
    } catch (e) {
      // Refused: another write came first (we follow it and judge again); anything else: next tick.
      if (!(e instanceof FencedWriteError)) this.log.warn({ err: errorMessage(e) }, 'could not take the lease; trying again');
    } finally {
      this.acquiring = false;
    }
  }

  // ------------------------------------------------------------ leading

  private leaseValue(released: boolean): Uint8Array {
    const rec: LeaseRecord = { schedulerId: this.opts.schedulerId, address: this.opts.address, term: this.term, sinceMs: this.sinceMs };
    if (released) rec.released = true;
    return encoder.encode(JSON.stringify(rec));
  }

  private msgId(term: number, n: number): string {
    return `${this.opts.schedulerId}/${term}/${n}`;
  }

  /** Send the queued writes one at a time, each expecting the sequence of the one before. */
  private pump(): void {
    if (this.writing || this.queue.length === 0 || this.state !== 'LEADING') return;
    this.writing = true;
    const head = this.queue[0]!;
    const term = this.term;
    const msgId = this.msgId(term, ++this.writeCount);
    const attempt = (backoffMs: number): void => {
      if (this.state !== 'LEADING' || this.term !== term) return;
      this.bucket
        .writeIfLast(head.key, head.value, this.writtenSeq, msgId)
        .then((seq) => {
          if (this.state !== 'LEADING' || this.term !== term) return;
          this.writtenSeq = seq;
          this.finishHead(head);
        })
        .catch(async (e: unknown) => {
          if (this.state !== 'LEADING' || this.term !== term) return;
          if (e instanceof FencedWriteError) {
            // Our own write whose answer was lost after JetStream forgot its id? Then it is not a fence.
            const mine = e.lastSeq !== undefined ? await this.bucket.msgIdAt(e.lastSeq).catch(() => undefined) : undefined;
            if (this.state !== 'LEADING' || this.term !== term) return;
            if (mine === msgId && e.lastSeq !== undefined) {
              this.writtenSeq = e.lastSeq;
              this.finishHead(head);
              return;
            }
            this.depose('another scheduler wrote the journal: this one was replaced');
            return;
          }
          // Not an answer (NATS away, timeout): the same message again, deduplicated if it landed.
          this.log.debug({ err: errorMessage(e), key: head.key }, 'journal write not answered; sending it again');
          this.clock.setTimeout(() => attempt(Math.min(2000, backoffMs * 2)), backoffMs);
        });
    };
    attempt(50);
  }

  /** The head write landed. (A later value of its key never joins it once in flight: see write().) */
  private finishHead(head: PendingWrite): void {
    this.writing = false;
    this.queue.shift();
    for (const w of head.waiters) w.resolve();
    this.pump();
  }

  private depose(reason: string): void {
    if (this.state !== 'LEADING') return;
    this.state = 'FOLLOWING';
    this.writing = false;
    this.counts.deposed++;
    this.holderSeenAtMs = this.clock.now();
    this.log.warn({ schedulerId: this.opts.schedulerId, term: this.term, reason }, 'scheduler LEADING -> FOLLOWING: stepped down');
    this.failQueued(`scheduler ${this.opts.schedulerId} no longer leads: ${reason}`);
    this.listener.deposed(reason);
  }

  private failQueued(message: string): void {
    const queued = this.queue.splice(0, this.queue.length);
    for (const w of queued) for (const waiter of w.waiters) waiter.reject(new NotLeaderError(message));
  }
}
