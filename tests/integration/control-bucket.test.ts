/**
 * The leader lease's fence on a real nats-server: JetStream refuses a write
 * whose expected last sequence is stale (the former leader's), answers a
 * resent message id as a duplicate before that check (so a lost answer is
 * not mistaken for a fence), and two schedulers' leases over separate
 * connections elect one leader and fence the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../lib/clock.js';
import { createLogger } from '../../lib/log.js';
import { connectNats, type NatsConnection } from '../../lib/nats/connection.js';
import { startNatsServer, type NatsServerHandle } from '../../lib/process/nats-server.js';
import { openControlBucket } from '../../services/scheduler/control-bucket.js';
import { FencedWriteError, LeaderLease, NotLeaderError, type LeaderLeaseListener } from '../../services/scheduler/leader-lease.js';
import { waitFor } from '../helpers/wait.js';

const log = createLogger('test', 'silent');
const bytes = (s: string) => new TextEncoder().encode(s);

describe('control bucket on a real nats-server', () => {
  let nats: NatsServerHandle;
  const conns: NatsConnection[] = [];
  const connect = async () => {
    const nc = await connectNats(nats.url, 'test', log);
    conns.push(nc);
    return nc;
  };
  beforeAll(async () => {
    nats = await startNatsServer({ removeStoreOnStop: true });
  });
  afterAll(async () => {
    for (const nc of conns) await nc.close();
    await nats.stop();
  });

  it('refuses a stale expected sequence and answers a resent message id as a duplicate', async () => {
    const bucket = await openControlBucket(await connect(), 'fence-test', log);
    expect(await bucket.lastSequence()).toBe(0);
    const s1 = await bucket.writeIfLast('a', bytes('1'), 0, 'w1');
    expect(s1).toBe(1);
    // Sent again (its answer lost): the same sequence, nothing written twice.
    expect(await bucket.writeIfLast('a', bytes('1'), 0, 'w1')).toBe(1);
    expect(await bucket.lastSequence()).toBe(1);
    const stale = bucket.writeIfLast('b', bytes('2'), 0, 'w2');
    await expect(stale).rejects.toBeInstanceOf(FencedWriteError);
    await expect(stale).rejects.toMatchObject({ lastSeq: 1 });
    expect(await bucket.msgIdAt(1)).toBe('w1');
    // Followed: the entry as a KV watcher sees it.
    const seen: string[] = [];
    const f = bucket.follow((e) => seen.push(`${e.key}@${e.seq}`));
    await waitFor(() => seen.length === 1, 'the follower sees the entry');
    expect(seen).toEqual(['a@1']);
    f.stop();
  });

  it('two schedulers: one leads; when its lease lapses the other takes over and the first one’s next write is refused', async () => {
    const events: string[] = [];
    const listener = (name: string): LeaderLeaseListener => ({
      elected: (term) => events.push(`${name} elected ${term}`),
      deposed: () => events.push(`${name} deposed`),
      entry: () => undefined,
    });
    // A's clock is driven by hand: it stands still like a paused process's.
    const aClock = new ManualClock(Date.now());
    const a = new LeaderLease(
      await openControlBucket(await connect(), 'lease-test', log),
      { schedulerId: 'a', address: 'a:1', leaseTimeoutMs: 400, renewIntervalMs: 100 },
      aClock,
      listener('a'),
      log,
    );
    await a.start();
    await waitFor(() => events.includes('a elected 1'), 'a leads');
    await a.write('job.1', bytes('from a'));
    const b = new LeaderLease(
      await openControlBucket(await connect(), 'lease-test', log),
      { schedulerId: 'b', address: 'b:1', leaseTimeoutMs: 400, renewIntervalMs: 100 },
      systemClock,
      listener('b'),
      log,
    );
    await b.start();
    await waitFor(() => events.includes('b elected 2'), 'b takes over once a stops renewing', { timeoutMs: 5000 });
    expect(b.currentTerm).toBe(2);
    // a is fenced: by the lease it follows, or by the server refusing its write.
    await expect(a.write('job.1', bytes('late from a'))).rejects.toBeInstanceOf(NotLeaderError);
    await waitFor(() => events.includes('a deposed'), 'a steps down');
    await b.write('job.1', bytes('from b'));
    await b.stop();
    await a.stop();
  });
});
