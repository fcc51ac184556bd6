/** The receiver's Push quotas (services/receiver/quotas.ts): streams per receiver and per client, and the per-client push rate. */
import { Metadata, status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { fromServiceError, ResourceExhaustedError, retryAfterMsOf, toServiceError } from '../../lib/errors.js';
import { peerAddressKey, PushQuotas, STREAM_RETRY_AFTER_MS } from '../../services/receiver/quotas.js';

const quotas = (o: Partial<{ maxConcurrentStreams: number; maxClientStreams: number; clientPushRate: number }> = {}) => {
  const clock = new ManualClock(1_000_000);
  return { clock, q: new PushQuotas({ maxConcurrentStreams: 100, maxClientStreams: 100, clientPushRate: 0, clock, ...o }) };
};

const refusal = (fn: () => unknown): ResourceExhaustedError => {
  try {
    fn();
  } catch (e) {
    return e as ResourceExhaustedError;
  }
  throw new Error('expected a refusal');
};

describe('PushQuotas', () => {
  it('refuses a stream over maxConcurrentStreams with RESOURCE_EXHAUSTED and a retry hint, and admits again once one ends', () => {
    const { q } = quotas({ maxConcurrentStreams: 2 });
    const a = q.admitStream('10.0.0.1');
    q.admitStream('10.0.0.2');
    const err = refusal(() => q.admitStream('10.0.0.3'));
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect(err.message).toMatch(/maxConcurrentStreams=2/);
    expect(err.retryAfterMs).toBe(STREAM_RETRY_AFTER_MS);
    a();
    a(); // releasing twice gives back one slot only
    q.admitStream('10.0.0.3');
    expect(q.openStreams).toBe(2);
    expect(() => q.admitStream('10.0.0.4')).toThrow(ResourceExhaustedError);
  });

  it('refuses a client over maxClientStreams while others still get in', () => {
    const { q } = quotas({ maxClientStreams: 1 });
    const release = q.admitStream('10.0.0.1');
    expect(refusal(() => q.admitStream('10.0.0.1')).message).toMatch(/client 10\.0\.0\.1 has 1 Push streams open, its limit \(maxClientStreams=1\); retry after 1000 ms/);
    q.admitStream('10.0.0.2');
    release();
    q.admitStream('10.0.0.1');
  });

  it('limits a client to clientPushRate bytes per second with one second of burst, hinting when to re-send', () => {
    const { q, clock } = quotas({ clientPushRate: 1000 });
    expect(q.chargePush('c', 600)).toBe(0);
    expect(q.chargePush('c', 600)).toBe(0); // the bucket goes 200 into debt
    expect(q.chargePush('c', 1)).toBe(200); // 200 bytes at 1000 B/s
    expect(q.chargePush('other', 1000)).toBe(0); // per client
    clock.advance(199);
    expect(q.chargePush('c', 1)).toBe(1);
    clock.advance(101);
    expect(q.chargePush('c', 100)).toBe(0);
    clock.advance(60_000);
    expect(q.chargePush('c', 1000)).toBe(0); // never more than one second's worth banked
    expect(q.chargePush('c', 1)).toBe(1);
  });

  it('no rate limit at clientPushRate 0', () => {
    const { q } = quotas({ clientPushRate: 0 });
    for (let i = 0; i < 100; i++) expect(q.chargePush('c', 1 << 30)).toBe(0);
  });

  it('forgets idle clients, but not a debt (reconnecting does not reset the rate)', () => {
    const { q, clock } = quotas({ clientPushRate: 1000 });
    const release = q.admitStream('c');
    q.chargePush('c', 5000);
    release();
    expect(q.trackedClients).toBe(1);
    q.admitStream('d')();
    expect(q.chargePush('c', 1)).toBeGreaterThan(0);
    clock.advance(10_000);
    q.admitStream('e')(); // sweeps: c's bucket is full again
    expect(q.trackedClients).toBe(0);
  });
});

describe('peerAddressKey', () => {
  it('is the peer host without its port', () => {
    const key = (peer: string) => peerAddressKey({ getPeer: () => peer, metadata: new Metadata() });
    expect(key('ipv4:10.0.0.7:51234')).toBe('10.0.0.7');
    expect(key('10.0.0.7:51234')).toBe('10.0.0.7');
    expect(key('ipv6:[::1]:51234')).toBe('::1');
    expect(key('[fe80::1]:1')).toBe('fe80::1');
    expect(key('::1')).toBe('::1');
    expect(key('unix:/tmp/x.sock')).toBe('unix');
  });
});

describe('retry-after on the wire', () => {
  it('a ResourceExhaustedError travels as metadata retry-after-ms and comes back typed', () => {
    const se = toServiceError(new ResourceExhaustedError('over quota', { retryAfterMs: 1234.5 }));
    expect(se.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect((se.metadata as Metadata).get('retry-after-ms')).toEqual(['1235']);
    const back = fromServiceError({ code: se.code, details: se.details, metadata: se.metadata });
    expect(back).toBeInstanceOf(ResourceExhaustedError);
    expect((back as ResourceExhaustedError).retryAfterMs).toBe(1235);
    expect(retryAfterMsOf({ code: 8, metadata: new Metadata() })).toBeUndefined();
  });
});
