/**
 * The durable outputs stream against a real nats-server: batches larger than
 * one NATS message are stored in chunks and read back whole; each (job,
 * output) is bounded by batches and by bytes, oldest first, the newest kept
 * even when larger; a re-run batch is stored once.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, type NatsConnection } from '../../lib/nats/connection.js';
import { startNatsServer, type NatsServerHandle } from '../../lib/process/nats-server.js';
import { chunkPayload, openDurableOutputs } from '../../services/scheduler/durable-outputs.js';
import { packRecords } from '../../lib/codec/records.js';
import { invalidInputCount } from '../../lib/validation.js';

const log = pino({ level: 'silent' });
const MiB = 1024 * 1024;

/** Packed records (what outputs hold) of about `bytes`: `count` strings. Read-back checks the records, so they must be real. */
function payload(bytes: number, seed: number, count = 1): Buffer {
  const each = Math.max(1, Math.floor(bytes / count) - 8);
  return packRecords(Array.from({ length: count }, (_, i) => `${seed}:${i}:`.padEnd(each, String.fromCharCode(97 + ((seed + i) % 26)))));
}

describe('durable outputs (real nats-server)', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectNats(server.url, 'durable-outputs-test');
  }, 20_000);

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('splits a payload into bounded pieces', () => {
    expect(chunkPayload(Buffer.alloc(0), 10).map((c) => c.byteLength)).toEqual([0]);
    expect(chunkPayload(Buffer.alloc(25), 10).map((c) => c.byteLength)).toEqual([10, 10, 5]);
  });

  it('stores a batch over the NATS max payload in chunks and bounds each output by bytes and batches', async () => {
    const stream = 'test-outputs-bytes';
    const outputs = await openDurableOutputs(nc, stream, { retentionBatches: 4, retentionBytes: 8 * MiB, maxMessageBytes: 16 * MiB }, log);
    const big = payload(5 * MiB, 1, 7);
    await outputs.persist('job1', [{ output: 'o', batch: { batchTimeMs: 1000, count: 7, payload: big } }]);
    // Stored again (a batch re-run after a restart): once.
    await outputs.persist('job1', [{ output: 'o', batch: { batchTimeMs: 1000, count: 7, payload: big } }]);
    let loaded = await outputs.load('job1', 'o');
    expect(loaded).toHaveLength(1);
    expect(loaded[0]!.count).toBe(7);
    expect(loaded[0]!.payload.equals(big)).toBe(true);

    // 5 + 2 MiB fit 8 MiB; a third batch of 2 MiB pushes the first one out.
    await outputs.persist('job1', [{ output: 'o', batch: { batchTimeMs: 2000, count: 1, payload: payload(2 * MiB, 2) } }]);
    await outputs.persist('job1', [{ output: 'o', batch: { batchTimeMs: 3000, count: 1, payload: payload(2 * MiB, 3) } }]);
    loaded = await outputs.load('job1', 'o');
    expect(loaded.map((b) => b.batchTimeMs)).toEqual([2000, 3000]);
    expect(loaded[1]!.payload.equals(payload(2 * MiB, 3))).toBe(true);
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(stream)).state.bytes).toBeLessThan(8 * MiB + 64 * 1024);

    // Count bound: at most 4 batches.
    for (let t = 4000; t <= 9000; t += 1000) {
      await outputs.persist('job1', [{ output: 'o', batch: { batchTimeMs: t, count: 1, payload: payload(1000, t) } }]);
    }
    loaded = await outputs.load('job1', 'o');
    expect(loaded.map((b) => b.batchTimeMs)).toEqual([6000, 7000, 8000, 9000]);

    // The newest is kept even when alone it is over the byte bound.
    await outputs.persist('job1', [{ output: 'o', batch: { batchTimeMs: 10_000, count: 1, payload: payload(9 * MiB, 10) } }]);
    loaded = await outputs.load('job1', 'o');
    expect(loaded.map((b) => b.batchTimeMs)).toEqual([10_000]);
    expect(loaded[0]!.payload.equals(payload(9 * MiB, 10))).toBe(true);

    // A reopened store (a restarted scheduler) learns what is stored from load and keeps bounding it.
    const reopened = await openDurableOutputs(nc, stream, { retentionBatches: 4, retentionBytes: 8 * MiB, maxMessageBytes: 16 * MiB }, log);
    expect((await reopened.load('job1', 'o')).map((b) => b.batchTimeMs)).toEqual([10_000]);
    await reopened.persist('job1', [{ output: 'o', batch: { batchTimeMs: 11_000, count: 1, payload: payload(1000, 11) } }]);
    expect((await reopened.load('job1', 'o')).map((b) => b.batchTimeMs)).toEqual([11_000]);
    await reopened.purge('job1');
    expect(await reopened.load('job1', 'o')).toEqual([]);
  }, 60_000);

  it('drops a stored batch whose records are not what its header says, counting it as invalid input', async () => {
    const stream = 'test-outputs-corrupt';
    const outputs = await openDurableOutputs(nc, stream, { retentionBatches: 10, retentionBytes: 8 * MiB, maxMessageBytes: 16 * MiB }, log);
    await outputs.persist('job2', [{ output: 'o', batch: { batchTimeMs: 1000, count: 2, payload: payload(100, 1, 2) } }]);
    // Header says 3 records, the payload holds 2; then bytes that are not MessagePack at all.
    await outputs.persist('job2', [{ output: 'o', batch: { batchTimeMs: 2000, count: 3, payload: payload(100, 2, 2) } }]);
    await outputs.persist('job2', [{ output: 'o', batch: { batchTimeMs: 3000, count: 1, payload: Buffer.from([0xc1, 0xc1]) } }]);
    const before = invalidInputCount(`stream:${stream}`);
    const loaded = await outputs.load('job2', 'o');
    expect(loaded.map((b) => b.batchTimeMs)).toEqual([1000]);
    expect(invalidInputCount(`stream:${stream}`) - before).toBe(2);
  }, 30_000);
});
