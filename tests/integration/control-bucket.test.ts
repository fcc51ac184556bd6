/**
 * The leader lease's fence on a real nats-server: JetStream refuses a write
 * whose expected last sequence is stale (the former leader's), answers a
 * resent message id as a duplicate before that check (so a lost answer is
 * not mistaken for a fence), and two schedulers' leases over separate
 * connections elect one leader and fence the other. A purge (a forgotten
 * job's entries) is fenced the same way and rolls up the key's history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../lib/clock.js';
import { createLogger } from '../../lib/log.js';
import { connectNats, type NatsConnection } from '../../lib/nats/connection.js';
import { openBlobStore } from '../../lib/nats/blob-store.js';
import { startNatsServer, type NatsServerHandle } from '../../lib/process/nats-server.js';
import { openControlBucket } from '../../services/scheduler/control-bucket.js';
import { JS_RANGES_KEY_PREFIX } from '../../services/scheduler/jetstream-journal.js';
import { FollowedJournal, openJobJournal, type JobRecord } from '../../services/scheduler/job-journal.js';
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

  it('purges a key fenced like a write: the follower sees it gone, its history is dropped, a stale purge is refused', async () => {
    const bucket = await openControlBucket(await connect(), 'purge-test', log);
    const s1 = await bucket.writeIfLast('job.a', bytes('v1'), 0, 'p1');
    const s2 = await bucket.writeIfLast('job.a', bytes('v2'), s1, 'p2');
    const s3 = await bucket.writeIfLast('job.b', bytes('b1'), s2, 'p3');
    await expect(bucket.writeIfLast('job.a', null, s2, 'p4')).rejects.toBeInstanceOf(FencedWriteError);
    const s4 = await bucket.writeIfLast('job.a', null, s3, 'p5');
    expect(s4).toBe(s3 + 1);
    // KV's own view: no value, no history of the key (the purge marker rolled it up); job.b untouched.
    expect(await bucket.kv.get('job.a')).toMatchObject({ operation: 'PURGE' });
    const history: string[] = [];
    for await (const e of await bucket.kv.history({ key: 'job.a' })) history.push(e.operation);
    expect(history).toEqual(['PURGE']);
    expect(new TextDecoder().decode((await bucket.kv.get('job.b'))!.value)).toBe('b1');
    // A follower starting now sees job.b and job.a as gone (value undefined).
    const seen: Array<[string, string | undefined]> = [];
    const f = bucket.follow((e) => seen.push([e.key, e.value ? new TextDecoder().decode(e.value) : undefined]));
    await waitFor(() => seen.length === 2, 'the follower sees both keys');
    expect(seen.sort()).toEqual([
      ['job.a', undefined],
      ['job.b', 'b1'],
    ]);
    f.stop();
  });

  it("forgetting a job purges its journal record, its JetStream ranges and — once no journaled job uses it — its bundle", async () => {
    const nc = await connect();
    const bucketName = 'forget-test';
    const bucket = await openControlBucket(nc, bucketName, log);
    const followed = new FollowedJournal(bucketName, log);
    let elected = false;
    const lease = new LeaderLease(bucket, { schedulerId: 'a', address: 'a:1', leaseTimeoutMs: 2000, renewIntervalMs: 500 }, systemClock, {
      elected: () => (elected = true),
      deposed: () => undefined,
      entry: (e) => followed.apply(e.key, e.value),
    }, log);
    await lease.start();
    await waitFor(() => elected, 'the lease is taken');
    const journal = await openJobJournal(nc, bucketName, lease, followed, log);
    const job = (id: string): JobRecord => ({ id, name: 'wc', source: 'wc.ts', bundleHash: 'h1', submittedAtMs: 1, firstBatchTimeMs: 1000, zeroTimeMs: 0, state: 'RUNNING', batchesCompleted: 0, recordsProcessed: 0 });
    await journal.record(job('j1'), 'module.exports = {}');
    await journal.record(job('j2'), 'module.exports = {}');
    await lease.write(`${JS_RANGES_KEY_PREFIX}j1`, bytes(JSON.stringify({ next: { 'lines/0': 5 }, committed: {}, pending: [] })));
    await waitFor(() => followed.size === 2 && followed.jetStreamJournal('j1') !== undefined, 'the journal follows both jobs and the ranges');
    await journal.update({ ...job('j1'), state: 'STOPPED' });
    await journal.forget('j1');
    await waitFor(() => followed.size === 1 && followed.jetStreamJournal('j1') === undefined, 'j1 and its ranges are gone from the followed journal');
    expect(followed.running().map((j) => j.id)).toEqual(['j2']);
    expect(await bucket.kv.get('job.j1')).toMatchObject({ operation: 'PURGE' });
    expect(await bucket.kv.get(`${JS_RANGES_KEY_PREFIX}j1`)).toMatchObject({ operation: 'PURGE' });
    // j2 runs on the same code: the bundle stays.
    const bundles = await openBlobStore(nc, `${bucketName}-bundles`, { replicas: 1 });
    expect(await bundles.has('h1')).toBe(true);
    // A job of its own code, forgotten at once — before the bucket's watch has even delivered its record.
    await journal.record({ ...job('j3'), bundleHash: 'h3' }, 'module.exports = 3');
    expect(await bundles.has('h3')).toBe(true);
    await journal.forget('j3');
    expect(await bundles.has('h3')).toBe(false);
    expect(await bundles.has('h1')).toBe(true);
    // A job recorded with the code of the one being forgotten, in the same turn: it finds the code stored.
    const forgetting = journal.forget('j2');
    await journal.record(job('j4'), 'module.exports = {}');
    await forgetting;
    expect(new TextDecoder().decode(await bundles.get('h1'))).toBe('module.exports = {}');
    // The last job using it forgotten: gone.
    await journal.forget('j4');
    expect(await bundles.has('h1')).toBe(false);
    await lease.stop();
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
