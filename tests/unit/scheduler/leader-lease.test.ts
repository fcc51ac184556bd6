/**
 * LeaderLease with manual clocks over an in-memory bucket that keeps
 * JetStream's two rules the lease relies on: a write expecting another last
 * sequence is refused, and a message id seen before is answered as a
 * duplicate (with the first one's sequence) before that check. (The real
 * bucket against a real nats-server: tests/integration/control-bucket.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock.js';
import { createLogger } from '../../../lib/log.js';
import {
  FencedWriteError,
  LEASE_KEY,
  LeaderLease,
  NotLeaderError,
  decodeLease,
  type BucketEntry,
  type FencedBucket,
  type HolderProbe,
  type LeaderLeaseListener,
} from '../../../services/scheduler/leader-lease.js';

const log = createLogger('test', 'silent');

class MemoryBucket implements FencedBucket {
  readonly entries: Array<BucketEntry & { msgId: string }> = [];
  private readonly followers = new Set<(e: BucketEntry) => void>();
  /** Apply the next write but lose its answer (a dropped connection). */
  loseNextAnswer = false;
  /** Refuse every write with a transport error (NATS away). */
  unreachable = false;
  writes = 0;

  get last(): number {
    return this.entries.length;
  }
  follow(onEntry: (e: BucketEntry) => void) {
    for (const e of this.entries) onEntry(e);
    this.followers.add(onEntry);
    return { stop: () => void this.followers.delete(onEntry) };
  }
  lastSequence(): Promise<number> {
    return Promise.resolve(this.last);
  }
  writeIfLast(key: string, value: Uint8Array | null, expectedSeq: number, msgId: string): Promise<number> {
    if (this.unreachable) return Promise.reject(new Error('no responders'));
    const dup = this.entries.find((e) => e.msgId === msgId);
    if (dup) return Promise.resolve(dup.seq);
    if (expectedSeq !== this.last) return Promise.reject(new FencedWriteError(this.last));
    this.writes++;
    const e = { key, value: value ?? undefined, seq: this.last + 1, msgId };
    this.entries.push(e);
    for (const f of this.followers) f(e);
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      return Promise.reject(new Error('connection dropped'));
    }
    return Promise.resolve(e.seq);
  }
  msgIdAt(seq: number): Promise<string | undefined> {
    return Promise.resolve(this.entries[seq - 1]?.msgId);
  }
  lease() {
    const e = [...this.entries].reverse().find((x) => x.key === LEASE_KEY);
    return decodeLease(e?.value);
  }
}

function recorder() {
  const events: string[] = [];
  const entries: BucketEntry[] = [];
  const listener: LeaderLeaseListener = {
    elected: (term) => events.push(`elected ${term}`),
    deposed: (reason) => events.push(`deposed: ${reason}`),
    entry: (e) => entries.push(e),
  };
  return { events, entries, listener };
}

/** Let promise callbacks run (the fake bucket answers in microtasks). */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

/** Advance `clock` by `stepMs`, `steps` times, letting callbacks run after each step. */
async function tick(clock: ManualClock, steps: number, stepMs = 125): Promise<void> {
  for (let i = 0; i < steps; i++) {
    clock.advance(stepMs);
    await settle();
  }
}

const OPTS = { leaseTimeoutMs: 1000, renewIntervalMs: 250 };

function lease(bucket: FencedBucket, id: string, clock: ManualClock, probe?: HolderProbe, address = `${id}:7071`) {
  const r = recorder();
  const l = new LeaderLease(bucket, { schedulerId: id, address, ...OPTS }, clock, r.listener, log, probe);
  return { l, ...r };
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe('LeaderLease', () => {
  it('takes a free lease at once, renews it, and a standby does not take it while it is renewed', async () => {
    const bucket = new MemoryBucket();
    const clock = new ManualClock(1000);
    const a = lease(bucket, 'a', clock);
    await a.l.start();
    await settle();
    expect(a.events).toEqual(['elected 1']);
    expect(bucket.lease()).toMatchObject({ schedulerId: 'a', term: 1, address: 'a:7071' });
    const b = lease(bucket, 'b', clock);
    await b.l.start();
    await tick(clock, 40);
    expect(b.events).toEqual([]);
    expect(b.l.leadershipState).toBe('FOLLOWING');
    expect(b.l.currentHolder).toMatchObject({ schedulerId: 'a', term: 1 });
    // Renewals are writes: about one per renewal interval over 5 s.
    expect(bucket.writes).toBeGreaterThanOrEqual(15);
  });

  it('a paused leader is replaced once the lease lapses, and its next write is refused: it steps down', async () => {
    const bucket = new MemoryBucket();
    const leaderClock = new ManualClock(0);
    const standbyClock = new ManualClock(0);
    const a = lease(bucket, 'a', leaderClock);
    await a.l.start();
    await settle();
    const b = lease(bucket, 'b', standbyClock);
    await b.l.start();
    // The leader's clock stands still (SIGSTOP); the standby's runs past the lease timeout.
    await tick(standbyClock, 7);
    expect(b.events).toEqual([]);
    await tick(standbyClock, 3);
    expect(b.events).toEqual(['elected 2']);
    expect(bucket.lease()).toMatchObject({ schedulerId: 'b', term: 2 });
    // The leader sees the new lease as it follows (here at once): it steps down before writing.
    expect(a.events).toEqual(['elected 1', expect.stringMatching(/^deposed: scheduler b took the lease \(term 2\)/)]);
    await expect(a.l.write('job.x', bytes('late'))).rejects.toBeInstanceOf(NotLeaderError);
    expect(bucket.entries.some((e) => e.key === 'job.x')).toBe(false);
  });

  it('a write racing a takeover is refused by the bucket (fenced), and the writer steps down', async () => {
    const bucket = new MemoryBucket();
    const clock = new ManualClock(0);
    const a = lease(bucket, 'a', clock);
    await a.l.start();
    await settle();
    // Someone else writes the bucket behind a's back (a takeover a has not followed yet).
    bucket.entries.push({ key: LEASE_KEY, value: bytes(JSON.stringify({ schedulerId: 'b', address: 'b:1', term: 2, sinceMs: 0 })), seq: bucket.last + 1, msgId: 'b/2/0' });
    const write = a.l.write('job.x', bytes('v1'));
    await expect(write).rejects.toBeInstanceOf(NotLeaderError);
    expect(a.events.at(-1)).toMatch(/^deposed: another scheduler wrote the journal/);
    expect(a.l.leadershipState).toBe('FOLLOWING');
  });

  it('a write whose answer was lost is sent again under the same id: deduplicated, not mistaken for a fence', async () => {
    const bucket = new MemoryBucket();
    const clock = new ManualClock(0);
    const a = lease(bucket, 'a', clock);
    await a.l.start();
    await settle();
    bucket.loseNextAnswer = true;
    const write = a.l.write('job.x', bytes('v1'));
    await settle();
    clock.advance(60); // the retry backoff
    await settle();
    await write;
    expect(bucket.entries.filter((e) => e.key === 'job.x')).toHaveLength(1);
    await a.l.write('job.y', bytes('v2'));
    expect(a.l.leadershipState).toBe('LEADING');
    expect(a.events).toEqual(['elected 1']);
  });

  it('writes of one key queued behind an in-flight write are coalesced: the latest value is written once', async () => {
    const bucket = new MemoryBucket();
    const clock = new ManualClock(0);
    const a = lease(bucket, 'a', clock);
    await a.l.start();
    await settle();
    const before = bucket.writes;
    const done = [a.l.write('job.x', bytes('1')), a.l.write('job.x', bytes('2')), a.l.write('job.x', bytes('3')), a.l.write('job.x', bytes('4'))];
    await Promise.all(done);
    const xs = bucket.entries.filter((e) => e.key === 'job.x').map((e) => new TextDecoder().decode(e.value));
    expect(xs).toEqual(['1', '4']);
    expect(bucket.writes - before).toBe(2);
  });

  it('a purge is a fenced write of its key: coalesced with the key\'s queued value, refused once not leading', async () => {
    const bucket = new MemoryBucket();
    const clock = new ManualClock(0);
    const a = lease(bucket, 'a', clock);
    await a.l.start();
    await settle();
    await Promise.all([a.l.write('job.y', bytes('1')), a.l.write('job.y', bytes('2')), a.l.remove('job.y')]);
    // The first write was in flight; the queued value and the purge coalesce into the purge.
    expect(bucket.entries.filter((e) => e.key === 'job.y').map((e) => (e.value ? new TextDecoder().decode(e.value) : 'purged'))).toEqual(['1', 'purged']);
    await a.l.stop();
    await expect(a.l.remove('job.y')).rejects.toBeInstanceOf(NotLeaderError);
  });

  it('a leader that cannot reach NATS keeps leading (it cannot be fenced without knowing) and writes once it is back', async () => {
    const bucket = new MemoryBucket();
    const clock = new ManualClock(0);
    const a = lease(bucket, 'a', clock);
    await a.l.start();
    await settle();
    bucket.unreachable = true;
    const write = a.l.write('job.x', bytes('v'));
    await tick(clock, 40);
    expect(a.l.leadershipState).toBe('LEADING');
    bucket.unreachable = false;
    clock.advance(2000);
    await settle();
    await write;
    expect(bucket.entries.some((e) => e.key === 'job.x')).toBe(true);
  });

  it('a released lease is taken at once; so is one held by an earlier incarnation at the same address', async () => {
    const bucket = new MemoryBucket();
    const clock = new ManualClock(0);
    const a = lease(bucket, 'a', clock);
    await a.l.start();
    await settle();
    const b = lease(bucket, 'b', clock);
    await b.l.start();
    await a.l.stop();
    await settle();
    clock.advance(125);
    await settle();
    expect(b.events).toEqual(['elected 2']);
    // b dies without releasing; b restarted on its address takes its lease back without waiting.
    await b.l.stop().catch(() => undefined);
    const holder = bucket.lease();
    expect(holder?.released).toBe(true);
    bucket.entries.push({ key: LEASE_KEY, value: bytes(JSON.stringify({ ...holder, released: undefined })), seq: bucket.last + 1, msgId: 'crash' });
    const b2 = lease(bucket, 'b', clock);
    await b2.l.start();
    await settle();
    clock.advance(125);
    await settle();
    expect(b2.events).toEqual(['elected 3']);
    // The same id at another address is another process: it waits like any standby.
    const c = new MemoryBucket();
    const c1 = lease(c, 'c', clock);
    await c1.l.start();
    await settle();
    const c2 = lease(c, 'c', clock, undefined, 'elsewhere:7071');
    await c2.l.start();
    clock.advance(250);
    await settle();
    expect(c2.events).toEqual([]);
  });

  it('takes over early when the probe finds nothing at the holder address, and not when it cannot tell', async () => {
    for (const verdict of ['gone', 'unknown'] as const) {
      const bucket = new MemoryBucket();
      const leaderClock = new ManualClock(0);
      const clock = new ManualClock(0);
      const a = lease(bucket, 'a', leaderClock);
      await a.l.start();
      await settle();
      const probed: string[] = [];
      const b = lease(bucket, 'b', clock, (address) => {
        probed.push(address);
        return Promise.resolve(verdict);
      });
      await b.l.start();
      await tick(clock, 5);
      expect(probed).toContain('a:7071');
      expect(b.events).toEqual(verdict === 'gone' ? ['elected 2'] : []);
    }
  });

  it('a standby hands the entries it follows to its listener (the journal it resumes from)', async () => {
    const bucket = new MemoryBucket();
    const clock = new ManualClock(0);
    const a = lease(bucket, 'a', clock);
    await a.l.start();
    await settle();
    await a.l.write('job.1', bytes('one'));
    const b = lease(bucket, 'b', clock);
    await b.l.start();
    await a.l.write('job.2', bytes('two'));
    expect(b.entries.map((e) => e.key)).toEqual(['job.1', 'job.2']);
  });
});
