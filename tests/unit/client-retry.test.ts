/**
 * Which calls the client retries, and on which codes: against a real gRPC
 * server on 127.0.0.1:0 that answers every call with a chosen status and
 * counts the calls. ABORTED (a failed job) is final; UNAVAILABLE,
 * DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED are retried where a call allows
 * attempts; SubmitJob is never retried.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionError, RivuletClient } from '../../client/index.js';
import { AbortedError, isRetryable, NotFoundError, RETRYABLE_CODES, UnavailableError } from '../../lib/errors.js';
import { dial, unary } from '../../lib/grpc/client.js';
import { startServer, type StartedServer } from '../../lib/grpc/server.js';
import { rivuletV1 } from '../../lib/proto/index.js';

/** The fake servers here are plaintext, in-process: these tests are about retries, not security. */
const PLAINTEXT = { insecure: true } as const;

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));

describe('client retries', () => {
  let server: StartedServer;
  let answer: grpc.status = grpc.status.OK;
  const calls = new Map<string, number>();

  const fail = (method: string) => (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
    calls.set(method, (calls.get(method) ?? 0) + 1);
    cb({ code: answer, details: `${method} answered ${grpc.status[answer]}` });
  };

  beforeAll(async () => {
    server = await startServer({ host: '127.0.0.1', port: 0, maxMessageBytes: 4 * 1024 * 1024 }, (s) =>
      s.addService(rivuletV1.Scheduler.service, {
        GetStatus: fail('GetStatus'),
        StopJob: fail('StopJob'),
        ListStreams: fail('ListStreams'),
        SubmitJob: fail('SubmitJob'),
      }),
    );
    server.health.set('SERVING');
  });
  afterAll(async () => server.shutdown(100));
  beforeEach(() => calls.clear());

  it('ABORTED is not retryable; the transient codes are', () => {
    expect(isRetryable(new AbortedError('job failed'))).toBe(false);
    expect(RETRYABLE_CODES.has(grpc.status.ABORTED)).toBe(false);
    for (const code of [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED]) {
      expect(isRetryable({ code })).toBe(true);
    }
    for (const code of [grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.FAILED_PRECONDITION, grpc.status.INTERNAL]) {
      expect(isRetryable({ code })).toBe(false);
    }
  });

  it('unary() with attempts tries an ABORTED call once and rejects with AbortedError', async () => {
    answer = grpc.status.ABORTED;
    const c = dial.scheduler(server.address);
    try {
      const err = await unary(c, c.getStatus, { recentBatches: 1 }, { attempts: 5, backoffMs: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AbortedError);
      expect(calls.get('GetStatus')).toBe(1);
      // An UNAVAILABLE answer is tried every attempt.
      answer = grpc.status.UNAVAILABLE;
      const again = await unary(c, c.getStatus, { recentBatches: 1 }, { attempts: 5, backoffMs: 1 }).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(UnavailableError);
      expect(calls.get('GetStatus')).toBe(1 + 5);
    } finally {
      c.close();
    }
  });

  it('RivuletClient: status, listStreams and stopJob take 3 attempts on UNAVAILABLE, 1 on ABORTED or NOT_FOUND', async () => {
    const client = new RivuletClient({ security: PLAINTEXT, scheduler: server.address });
    try {
      answer = grpc.status.UNAVAILABLE;
      await expect(client.status()).rejects.toBeInstanceOf(UnavailableError);
      await expect(client.listStreams()).rejects.toBeInstanceOf(UnavailableError);
      await expect(client.stopJob('j')).rejects.toBeInstanceOf(UnavailableError);
      expect(Object.fromEntries(calls)).toEqual({ GetStatus: 3, ListStreams: 3, StopJob: 3 });
      calls.clear();
      answer = grpc.status.ABORTED;
      await expect(client.status()).rejects.toBeInstanceOf(AbortedError);
      await expect(client.stopJob('j')).rejects.toBeInstanceOf(AbortedError);
      answer = grpc.status.NOT_FOUND;
      await expect(client.stopJob('j')).rejects.toBeInstanceOf(NotFoundError);
      expect(Object.fromEntries(calls)).toEqual({ GetStatus: 1, StopJob: 2 });
    } finally {
      await client.close();
    }
  });

  it('RivuletClient.submitJob is sent once, even on UNAVAILABLE', async () => {
    const client = new RivuletClient({ security: PLAINTEXT, scheduler: server.address });
    try {
      answer = grpc.status.UNAVAILABLE;
      const err = await client.submitJob(wordcount).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect(err).not.toBeInstanceOf(ConnectionError); // the service answered
      expect(calls.get('SubmitJob')).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('a scheduler nobody answers for is a ConnectionError naming it', async () => {
    const client = new RivuletClient({ security: PLAINTEXT, scheduler: '127.0.0.1:1', timeoutMs: 2000 });
    try {
      const err = await client.status().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as ConnectionError).message).toMatch(/^cannot reach the scheduler at 127\.0\.0\.1:1: /);
    } finally {
      await client.close();
    }
  });

  it('a pusher whose receiver nobody answers for rejects with a ConnectionError naming it (no retries)', async () => {
    const client = new RivuletClient({ security: PLAINTEXT, receiver: '127.0.0.1:1' });
    try {
      const err = await client.pusher('lines', { retryTimeoutMs: 0 }).push(['a']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as ConnectionError).service).toBe('receiver');
      expect((err as ConnectionError).message).toMatch(/^cannot reach the receiver at 127\.0\.0\.1:1: /);
    } finally {
      await client.close();
    }
  });

  it('a pusher retries an unreachable receiver for retryTimeoutMs, then rejects with the ConnectionError saying so', async () => {
    const client = new RivuletClient({ security: PLAINTEXT, receiver: '127.0.0.1:1' });
    try {
      const pusher = client.pusher('lines', { retryTimeoutMs: 700 });
      const t0 = Date.now();
      const err = await pusher.push(['a']).catch((e: unknown) => e);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
      expect(pusher.retries).toBeGreaterThanOrEqual(2);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as ConnectionError).message).toMatch(/^cannot reach the receiver at 127\.0\.0\.1:1: .*\(retried for \d+(\.\d)? s; retryTimeoutMs\)$/);
    } finally {
      await client.close();
    }
  });
});
