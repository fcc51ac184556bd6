/**
 * An executor's reader of JetStream source slices against a real nats-server:
 * exactly the slice's messages (on its subject filter), again on a re-read;
 * messages purged before the read fail it with a message saying so (or are
 * skipped with onPurged 'skip'); a deleted stream is a clear error.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServerHandle } from '../../lib/process/nats-server.js';
import { forEachFramed } from '../../lib/sources/jetstream-ranges.js';
import { jetStreamReader, JetStreamReadError } from '../../services/executor/jetstream-reader.js';

describe('JetStream slice reader', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startNatsServer({ removeStoreOnStop: true });
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  const slice = (stream: string, first: number, last: number, filterSubject = '', onPurged = 'fail') => ({ stream, filterSubject, firstSeq: first, lastSeq: last, onPurged });
  const read = async (s: ReturnType<typeof slice>) => {
    const { frame, messages } = await jetStreamReader(nc).read(s, new AbortController().signal);
    const got: Array<[number, string]> = [];
    forEachFramed(frame, (seq, data) => got.push([seq, Buffer.from(data).toString()]));
    expect(got).toHaveLength(messages);
    return got;
  };

  it('reads exactly the slice, on its filter, the same on every read', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'R1', subjects: ['r1.*'] });
    const js = jetstream(nc);
    for (let i = 1; i <= 20; i++) await js.publish(`r1.${i % 2 === 0 ? 'even' : 'odd'}`, `m${i}`);
    const want = Array.from({ length: 5 }, (_, k) => [k + 6, `m${k + 6}`]);
    expect(await read(slice('R1', 6, 10))).toEqual(want);
    expect(await read(slice('R1', 6, 10))).toEqual(want);
    expect(await read(slice('R1', 6, 10, 'r1.even'))).toEqual([
      [6, 'm6'],
      [8, 'm8'],
      [10, 'm10'],
    ]);
    // The end of the stream: a slice reaching past it reads what there is.
    expect((await read(slice('R1', 19, 25))).map(([s]) => s)).toEqual([19, 20]);
    // A filter with nothing in the slice (but messages after it) reads nothing.
    await js.publish('r1.late', 'x');
    expect(await read(slice('R1', 1, 20, 'r1.late'))).toEqual([]);
  });

  it('fails on messages purged before the read (onPurged fail), reads what is left with skip; a deleted stream is named', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'R2', subjects: ['r2'] });
    const js = jetstream(nc);
    for (let i = 1; i <= 10; i++) await js.publish('r2', `m${i}`);
    await jsm.streams.purge('R2', { seq: 6 }); // keeps 6..10
    await expect(read(slice('R2', 3, 8))).rejects.toThrow(/no longer holds sequences 3-5 \(its retention removed them before they were read; the source's onPurged is 'fail'\)/);
    expect((await read(slice('R2', 3, 8, '', 'skip'))).map(([s]) => s)).toEqual([6, 7, 8]);
    await jsm.streams.delete('R2');
    const err = await read(slice('R2', 6, 8)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JetStreamReadError);
    expect((err as Error).message).toMatch(/cannot read stream R2, sequences 6-8: the stream does not exist \(deleted\?\)/);
  });
});
