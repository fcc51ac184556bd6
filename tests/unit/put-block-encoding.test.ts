import { describe, expect, it } from 'vitest';
import { rivuletV1 } from '../../lib/proto/index.js';
import { encodePutBlock } from '../../services/receiver/block-replicator.js';

const putBlock = rivuletV1.Executor.service.PutBlock;
const generated = (b: { blockId: string; stream: string; records: number; payload: Buffer }): Buffer =>
  putBlock.requestSerialize({ blockId: b.blockId, stream: b.stream, batch: { count: b.records, payload: b.payload } });

describe('encodePutBlock (the receiver encodes a block once for all its replicas)', () => {
  it('writes the bytes the generated encoder writes, across varint widths and empty fields', () => {
    const sizes = [0, 1, 127, 128, 16_383, 16_384, 2_097_152];
    for (const payloadBytes of sizes) {
      for (const records of [0, 1, 127, 128, 300_000, 4_000_000_000]) {
        for (const [blockId, stream] of [['b-1700000000000-0-42', 'lines'], ['', 'flüsse'], ['blk', '']]) {
          const block = { blockId: blockId!, stream: stream!, records, payload: Buffer.alloc(payloadBytes, payloadBytes & 0xff) };
          expect(encodePutBlock(block).equals(generated(block))).toBe(true);
        }
      }
    }
  });

  it('round-trips through the generated decoder an executor uses', () => {
    const payload = Buffer.from('a packed block');
    const decoded = putBlock.requestDeserialize(encodePutBlock({ blockId: 'b-1', stream: 'lines', records: 3, payload })) as {
      blockId: string;
      stream: string;
      batch: { count: number; payload: Buffer };
    };
    expect(decoded.blockId).toBe('b-1');
    expect(decoded.stream).toBe('lines');
    expect(decoded.batch.count).toBe(3);
    expect(Buffer.from(decoded.batch.payload).equals(payload)).toBe(true);
  });
});
