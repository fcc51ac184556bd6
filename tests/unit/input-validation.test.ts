/**
 * Nothing unchecked reaches state: hostile NATS messages (wrong types, huge
 * strings, missing fields, not MessagePack) and corrupt KV records are
 * dropped before a handler or a recovery sees them, counted in
 * rivulet.invalid_inputs, and logged once per source — against a real
 * nats-server, so the subscription and KV paths are the production ones.
 */
import { Writable } from 'node:stream';
import { Kvm } from '@nats-io/kv';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packValue } from '../../lib/codec/records.js';
import { connectNats, publish, subscribe, type NatsConnection } from '../../lib/nats/connection.js';
import { heartbeatSchema, streamsSchema } from '../../lib/nats/schemas.js';
import { subjects, type HeartbeatMessage } from '../../lib/nats/subjects.js';
import { startNatsServer, type NatsServerHandle } from '../../lib/process/nats-server.js';
import { invalidInputCount } from '../../lib/validation.js';
import { KvLineagePersistence } from '../../services/lineage/kv-persistence.js';
import { AllocationLog } from '../../services/receiver/allocation-log.js';
import { JetStreamWalKv } from '../../services/receiver/wal-kv.js';
import { FollowedJournal, openJobJournal, type JobRecord } from '../../services/scheduler/job-journal.js';
import { openControlBucket } from '../../services/scheduler/control-bucket.js';
import { waitFor } from '../helpers/wait.js';

/** A logger whose warn/error lines are collected. */
function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'warn' }, sink), lines };
}

const heartbeat = (executorId: string): HeartbeatMessage => ({
  executorId,
  epoch: 1_700_000_000_000,
  address: '127.0.0.1:7000',
  host: 'h',
  slots: 2,
  freeSlots: 2,
  runningTasks: 0,
  blockCount: 0,
  blockBytes: 0,
  blockCapacityBytes: 1024,
  sentAtMs: 1_700_000_000_000,
});

describe('input validation (real nats-server)', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectNats(server.url, 'validation-test');
  }, 20_000);

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('drops hostile messages on a subscription, counts them and logs once per subject', async () => {
    const { log, lines } = capturingLogger();
    const got: HeartbeatMessage[] = [];
    const sub = subscribe(nc, subjects.heartbeatAll, heartbeatSchema, (m) => got.push(m), log);
    const before = invalidInputCount(subjects.heartbeatAll);
    const hostile: unknown[] = [
      { ...heartbeat('e1'), slots: 'two' }, // wrong type
      { ...heartbeat('e1'), address: 'x'.repeat(200_000) }, // huge string
      { executorId: 'e1', epoch: 1 }, // missing fields
      { ...heartbeat('e1'), freeSlots: -3 }, // negative count
      { ...heartbeat('e1'), executorId: 'a.b>c' }, // not an executor id
      { ...heartbeat('e1'), epoch: Number.NaN },
      null,
      [1, 2, 3],
      'a string',
    ];
    for (const m of hostile) publish(nc, subjects.heartbeat('e1'), m);
    nc.publish(subjects.heartbeat('e1'), new Uint8Array([0xc1, 0xc1, 0xc1])); // not MessagePack (0xc1 is never used)
    // A valid one with an extra field: delivered, the field stripped.
    publish(nc, subjects.heartbeat('good'), { ...heartbeat('good'), injected: { evil: true } });
    await waitFor(() => got.length === 1, 'the valid heartbeat arrives');
    await nc.flush();
    expect(got).toEqual([heartbeat('good')]);
    await waitFor(() => invalidInputCount(subjects.heartbeatAll) - before === hostile.length + 1, 'every hostile message is counted');
    const warnings = lines.filter((l) => l.source === subjects.heartbeatAll);
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]!.msg)).toMatch(/dropping invalid input/);
    // The log line is bounded even for a huge message.
    expect(JSON.stringify(warnings[0]).length).toBeLessThan(2000);
    sub.unsubscribe();
  });

  it('a message on another subject is counted under its own source', async () => {
    const { log, lines } = capturingLogger();
    const got: unknown[] = [];
    const sub = subscribe(nc, subjects.streams, streamsSchema, (m) => got.push(m), log);
    publish(nc, subjects.streams, { streams: 'lines', batchIntervalMs: 1000 });
    publish(nc, subjects.streams, { streams: Array.from({ length: 20_000 }, (_, i) => `s${i}`), batchIntervalMs: 1000 });
    publish(nc, subjects.streams, { streams: ['lines'], batchIntervalMs: 1000 });
    await waitFor(() => got.length === 1, 'the valid streams message arrives');
    await waitFor(() => invalidInputCount(subjects.streams) === 2, 'both bad ones are counted');
    expect(lines.filter((l) => l.source === subjects.streams)).toHaveLength(1);
    sub.unsubscribe();
  });

  it('the job journal resumes only well-formed records', async () => {
    const { log, lines } = capturingLogger();
    const bucket = 'validation-jobs';
    const kv = await new Kvm(nc).create(bucket, { history: 1 });
    // The journal reads what it follows of the bucket (a standby's view), as the scheduler does.
    const followed = new FollowedJournal(bucket, log);
    let seen = 0;
    const following = (await openControlBucket(nc, bucket, log)).follow((e) => {
      seen++;
      followed.apply(e.key, e.value);
    });
    const journal = await openJobJournal(nc, bucket, { write: async (k, v) => void (await kv.put(k, v)), remove: async (k) => void (await kv.purge(k)) }, followed, log);
    const good: JobRecord = {
      id: 'job-good',
      name: 'wc',
      source: 'wc.ts',
      bundleHash: 'abc123',
      submittedAtMs: 1,
      firstBatchTimeMs: 1000,
      zeroTimeMs: 0,
      state: 'RUNNING',
      batchesCompleted: 0,
      recordsProcessed: 0,
    };
    await journal.record(good, 'module.exports = {}');
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    await kv.put('job.bad1', json({ ...good, id: 'bad1', state: 'SOMETHING' }));
    await kv.put('job.bad2', json({ ...good, id: 'bad2', batchesCompleted: 'many' }));
    await kv.put('job.bad3', json({ id: 'bad3' }));
    await kv.put('job.bad4', json({ ...good, id: 'bad4', bundleHash: '../../etc/passwd' }));
    await kv.put('job.bad5', new TextEncoder().encode('{not json'));
    await waitFor(() => seen === 6, 'the journal follows every entry');
    following.stop();
    const running = await journal.running();
    expect(running.map((r) => r.job)).toEqual([good]);
    expect(invalidInputCount(`kv:${bucket}`)).toBe(5);
    expect(lines.filter((l) => l.source === `kv:${bucket}`)).toHaveLength(1);
  });

  it('lineage state and the receiver write-ahead log skip corrupt records', async () => {
    const { log, lines } = capturingLogger();
    const bucket = 'validation-lineage';
    const lineage = await KvLineagePersistence.open(nc, bucket, log);
    const kv = await new Kvm(nc).open(bucket);
    const graph = {
      format: 1,
      jobId: 'j',
      batchTimeMs: 1000,
      fingerprint: 'f',
      datasets: [{ nodeId: 0, operator: 'receiverStream(lines)', dependency: 'SOURCE', parents: [], numPartitions: 1, parentPartitions: [] }],
    };
    await kv.put('b.j.1000', packValue(graph));
    await kv.put('b.j.2000', packValue({ ...graph, batchTimeMs: 2000, datasets: [{ ...graph.datasets[0], dependency: 'TELEPORT' }] }));
    await kv.put('b.j.3000', packValue({ ...graph, batchTimeMs: 3000, fingerprint: 'x'.repeat(100_000) }));
    await kv.put('l.j.1000.0', packValue({ format: 1, jobId: 'j', batchTimeMs: 1000, nodeId: 0, locations: [{ kind: 'INPUT_BLOCK', partition: -1 }] }));
    await kv.put('b.j.4000', new Uint8Array([0xc1]));
    const loaded = await lineage.load();
    expect(loaded.batches.map((b) => b.graph.batchTimeMs)).toEqual([1000]);
    expect(loaded.batches[0]!.graph).toEqual({ jobId: 'j', batchTimeMs: 1000, fingerprint: 'f', datasets: graph.datasets });
    expect(loaded.corruptSkipped).toBe(4);
    expect(invalidInputCount(`kv:${bucket}`)).toBe(4);
    expect(lines.filter((l) => l.source === `kv:${bucket}`)).toHaveLength(1);

    const walBucket = 'validation-wal';
    const walKv = await JetStreamWalKv.open(nc, walBucket, 5000);
    const wal = new AllocationLog(walKv, { receiverId: 'r1', incarnation: 'i1', batchIntervalMs: 1000, retainBatches: 100, bucket: walBucket, log });
    await wal.logBlock({ stream: 'lines', batchTimeMs: 1000, blockId: 'blk-1', records: 3, bytes: 30, executorIds: ['e1', 'e2'] });
    const raw = await new Kvm(nc).open(walBucket);
    await raw.put('blk.r1.lines.1000.i0-1', packValue({ format: 1, stream: 'lines', batchTimeMs: 1000, blockId: 'blk-2', records: 'three', bytes: 30, executorIds: ['e1'] }));
    await raw.put('blk.r1.lines.1000.i0-2', packValue({ format: 1, stream: 'lines', batchTimeMs: 1000, blockId: 'blk-3', records: 1, bytes: 30, executorIds: [] }));
    await raw.put('ann.r1.lines', packValue({ format: 1, stream: 7, batchTimeMs: 1000 }));
    const recovered = await wal.recover(0);
    const blocks = recovered.flatMap((s) => s.batches.flatMap((b) => b.blocks.map((x) => x.blockId)));
    expect(blocks).toEqual(['blk-1']);
    expect(invalidInputCount(`kv:${walBucket}`)).toBe(3);
    expect(lines.filter((l) => l.source === `kv:${walBucket}`)).toHaveLength(1);
  });
});
