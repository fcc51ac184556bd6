/**
 * lib/nats/reconnect.ts: a request is sent only while connected, sent again on
 * the reconnect when the connection dropped under it, sent again after a
 * backoff when its stream had no leader (a NATS cluster electing one), and
 * bounded by its timeout in all — driven with a ManualClock and requests that
 * answer when the test says, fed nats.js status types by hand.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { ConnectionWatch, isLeaderless } from '../../lib/nats/reconnect.js';

/** What nats.js answers a JetStream request with while the stream has no leader (no responders). */
function noLeader(): Error {
  const e = new Error('jetstream is not enabled');
  e.name = 'JetStreamNotEnabled';
  return e;
}

/** A request whose attempts the test answers (or never answers, as a dropped connection does). */
function fakeRequest() {
  const attempts: Array<{ resolve: (v: string) => void; reject: (e: Error) => void }> = [];
  const op = () => new Promise<string>((resolve, reject) => attempts.push({ resolve, reject }));
  return { attempts, op };
}

const flush = () => new Promise((r) => setImmediate(r));

function outcome<T>(p: Promise<T>) {
  const o: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  p.then(
    (value) => Object.assign(o, { value, settled: true }),
    (error: unknown) => Object.assign(o, { error, settled: true }),
  );
  return o;
}

describe('ConnectionWatch.request', () => {
  it('sends once while connected and resolves with the answer', async () => {
    const watch = new ConnectionWatch(new ManualClock());
    const req = fakeRequest();
    const o = outcome(watch.request(req.op, 1000));
    expect(req.attempts).toHaveLength(1);
    req.attempts[0]!.resolve('ok');
    await flush();
    expect(o).toMatchObject({ settled: true, value: 'ok' });
  });

  it('while disconnected, waits for the reconnect and only then sends', async () => {
    const clock = new ManualClock();
    const watch = new ConnectionWatch(clock);
    watch.observe('disconnect');
    const req = fakeRequest();
    const o = outcome(watch.request(req.op, 1000));
    clock.advance(600);
    expect(req.attempts).toHaveLength(0);
    watch.observe('reconnecting');
    watch.observe('reconnect');
    expect(req.attempts).toHaveLength(1);
    req.attempts[0]!.resolve('ok');
    await flush();
    expect(o.value).toBe('ok');
  });

  it('an attempt the connection dropped under is sent again at the reconnect, not left to its timeout', async () => {
    const clock = new ManualClock();
    const watch = new ConnectionWatch(clock);
    const req = fakeRequest();
    const o = outcome(watch.request(req.op, 1000));
    watch.observe('disconnect');
    clock.advance(300);
    watch.observe('reconnect');
    expect(req.attempts).toHaveLength(2);
    // The lost attempt failing at its own timeout later says nothing.
    req.attempts[0]!.reject(new Error('timeout'));
    await flush();
    expect(o.settled).toBe(false);
    req.attempts[1]!.resolve('again');
    await flush();
    expect(o.value).toBe('again');
  });

  it('a late answer to the dropped attempt is still a success', async () => {
    const watch = new ConnectionWatch(new ManualClock());
    const req = fakeRequest();
    const o = outcome(watch.request(req.op, 1000));
    watch.observe('disconnect');
    req.attempts[0]!.resolve('landed');
    await flush();
    expect(o.value).toBe('landed');
    watch.observe('reconnect');
    expect(req.attempts).toHaveLength(1); // settled: nothing sent again
  });

  it('fails after its timeout in all, connected or not', async () => {
    const clock = new ManualClock();
    const watch = new ConnectionWatch(clock);
    watch.observe('disconnect');
    const req = fakeRequest();
    const o = outcome(watch.request(req.op, 1000));
    clock.advance(1000);
    await flush();
    expect(o.settled).toBe(true);
    expect(String(o.error)).toMatch(/timeout.*1000 ms.*disconnected/);
    watch.observe('reconnect');
    expect(req.attempts).toHaveLength(0); // a request that gave up is never sent
  });

  it('passes on the failure of the current attempt', async () => {
    const watch = new ConnectionWatch(new ManualClock());
    const req = fakeRequest();
    const o = outcome(watch.request(req.op, 1000));
    req.attempts[0]!.reject(new Error('wrong last sequence'));
    await flush();
    expect(String(o.error)).toContain('wrong last sequence');
  });

  it('once the connection is closed, sends at once and fails as the request fails', async () => {
    const watch = new ConnectionWatch(new ManualClock());
    watch.observe('disconnect');
    const req = fakeRequest();
    const o = outcome(watch.request(req.op, 1000));
    watch.observe('close');
    expect(req.attempts).toHaveLength(1);
    req.attempts[0]!.reject(new Error('closed connection'));
    await flush();
    expect(String(o.error)).toContain('closed connection');
  });

  it('a stream with no leader (no responders) is asked again after a growing backoff until it answers', async () => {
    const clock = new ManualClock();
    const watch = new ConnectionWatch(clock);
    const req = fakeRequest();
    const o = outcome(watch.request(req.op, 5000));
    req.attempts[0]!.reject(noLeader());
    await flush();
    expect(o.settled).toBe(false);
    clock.advance(49);
    expect(req.attempts).toHaveLength(1);
    clock.advance(1);
    expect(req.attempts).toHaveLength(2);
    req.attempts[1]!.reject(noLeader());
    await flush();
    clock.advance(99);
    expect(req.attempts).toHaveLength(2); // doubled: 100 ms
    clock.advance(1);
    expect(req.attempts).toHaveLength(3);
    req.attempts[2]!.resolve('elected');
    await flush();
    expect(o.value).toBe('elected');
  });

  it('a leaderless stream still fails at the timeout in all, saying why', async () => {
    const clock = new ManualClock();
    const watch = new ConnectionWatch(clock);
    const req = fakeRequest();
    const o = outcome(watch.request(req.op, 1000));
    // Every attempt is answered "no leader" at once; time moves on in 10 ms steps.
    let answered = 0;
    for (let t = 0; t <= 1000 && !o.settled; t += 10) {
      while (answered < req.attempts.length) req.attempts[answered++]!.reject(noLeader());
      await flush();
      clock.advance(10);
      await flush();
    }
    expect(o.settled).toBe(true);
    expect(String(o.error)).toMatch(/timeout: no answer from NATS within 1000 ms \(the stream had no leader: jetstream is not enabled\)/);
    // 50+100+200+400 ms of backoff fit before the timeout: 5 attempts, none after it.
    expect(req.attempts).toHaveLength(5);
    clock.advance(5000);
    expect(req.attempts).toHaveLength(5);
  });

  it('a disconnect during the backoff: sent again at the reconnect (a client failing over to another server), once', async () => {
    const clock = new ManualClock();
    const watch = new ConnectionWatch(clock);
    const req = fakeRequest();
    const o = outcome(watch.request(req.op, 5000));
    req.attempts[0]!.reject(noLeader());
    await flush();
    watch.observe('disconnect');
    clock.advance(200); // the backoff passes while disconnected: nothing sent
    expect(req.attempts).toHaveLength(1);
    watch.observe('reconnect');
    expect(req.attempts).toHaveLength(2);
    clock.advance(1000);
    expect(req.attempts).toHaveLength(2);
    req.attempts[1]!.resolve('on the other server');
    await flush();
    expect(o.value).toBe('on the other server');
  });

  it('knows a leaderless answer from any other failure', () => {
    expect(isLeaderless(noLeader())).toBe(true);
    expect(isLeaderless(Object.assign(new Error('JetStream system temporarily unavailable'), { name: 'JetStreamApiError', code: 10008 }))).toBe(true);
    expect(isLeaderless(Object.assign(new Error('wrong last sequence'), { name: 'JetStreamApiError', code: 10071 }))).toBe(false);
    expect(isLeaderless(new Error('timeout'))).toBe(false);
    expect(isLeaderless(undefined)).toBe(false);
  });
});
