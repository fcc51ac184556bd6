/**
 * lib/nats/reconnect.ts: a request is sent only while connected, sent again on
 * the reconnect when the connection dropped under it, and bounded by its
 * timeout in all — driven with a ManualClock and requests that answer when
 * the test says, fed nats.js status types by hand.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { ConnectionWatch } from '../../lib/nats/reconnect.js';

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
});
