import { describe, expect, it } from 'vitest';
import { InputBuffers, MIN_POOLED_BYTES } from '../../services/executor/input-buffers.js';

describe('InputBuffers', () => {
  it('keeps handed-back buffers by power-of-two size class and serves any input of that class from them', () => {
    const buffers = new InputBuffers(1 << 24);
    const a = buffers.take(100_000);
    expect(a.byteLength).toBe(100_000);
    expect(a.buffer.byteLength).toBe(131_072);
    expect(buffers.fresh).toBe(1);
    buffers.give(a.buffer);
    expect(buffers.heldBytes).toBe(131_072);
    // Another input of the same class gets that buffer.
    const b = buffers.take(70_000);
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteLength).toBe(70_000);
    expect(buffers.reused).toBe(1);
    expect(buffers.heldBytes).toBe(0);
    // A larger class does not.
    expect(buffers.take(200_000).buffer).not.toBe(a.buffer);
  });

  it('leaves small inputs, foreign buffers and anything past maxFreeBytes to the collector', () => {
    const buffers = new InputBuffers(300_000);
    const small = buffers.take(MIN_POOLED_BYTES - 1);
    expect(small.buffer.byteLength).toBe(MIN_POOLED_BYTES - 1);
    buffers.give(small.buffer);
    buffers.give(new ArrayBuffer(100_000)); // not a size class of ours
    expect(buffers.heldBytes).toBe(0);
    const [x, y, z] = [buffers.take(100_000), buffers.take(100_000), buffers.take(100_000)];
    for (const t of [x, y, z]) buffers.give(t.buffer);
    // Two of 128 KiB fit under 300,000 bytes; the third is not kept.
    expect(buffers.heldBytes).toBe(2 * 131_072);
    const none = new InputBuffers(0);
    none.give(none.take(100_000).buffer);
    expect(none.heldBytes).toBe(0);
  });
});
