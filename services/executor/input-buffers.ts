/**
 * Task input buffers, reused. A task's inputs are copied into one
 * ArrayBuffer that is transferred to its worker (worker-protocol.ts); a fresh
 * multi-megabyte buffer per map task costs far more than the copy — the
 * kernel maps and faults in its pages and the garbage collector counts it as
 * external memory: 0.2–1.0 ms for 1.4 MB fresh against 0.03 ms to copy into
 * one already used (2-core EPYC VM), and in word count's profile the executor
 * main thread's largest item after the collector itself. So a worker hands
 * each batch's input buffers back with its last answer, and they are kept
 * here for the next tasks.
 *
 * Only buffers of at least MIN_POOLED_BYTES are kept (small ones are cheap),
 * rounded up to a power of two so any input of that class fits, and at most
 * `maxFreeBytes` of them at once (beyond it a returned buffer is left to the
 * collector): memory held between tasks, not a bound on any input.
 *
 * Safe because nothing in a worker outlives its task pointing into the
 * buffer: decoded records are copies (lib/codec/records.ts decodes binary
 * values with copyBuffers), outputs are copied into a buffer of their own,
 * and the buffer is transferred back — detached in the worker — before it is
 * filled again.
 */
import { transferableBytes } from './worker-protocol.js';

/** Inputs smaller than this are not pooled: a fresh buffer of that size costs little. */
export const MIN_POOLED_BYTES = 64 * 1024;

export class InputBuffers {
  /** Free buffers by size (a power of two). */
  private readonly free = new Map<number, ArrayBuffer[]>();
  private freeBytes = 0;
  /** Takes served from the free list, and taken fresh (for tests and profiles). */
  reused = 0;
  fresh = 0;

  constructor(private readonly maxFreeBytes: number) {}

  /** `bytes` of uninitialised memory (a view over a buffer that may be larger), to be filled whole and transferred. */
  take(bytes: number): Uint8Array<ArrayBuffer> {
    if (bytes < MIN_POOLED_BYTES) return transferableBytes(bytes);
    const size = sizeClass(bytes);
    const buffer = this.free.get(size)?.pop();
    if (buffer) {
      this.freeBytes -= size;
      this.reused++;
      return new Uint8Array(buffer, 0, bytes);
    }
    this.fresh++;
    return new Uint8Array(transferableBytes(size).buffer, 0, bytes);
  }

  /** A buffer a worker handed back: kept when it is one of ours and there is room. */
  give(buffer: ArrayBuffer): void {
    const size = buffer.byteLength;
    if (size < MIN_POOLED_BYTES || size !== sizeClass(size) || this.freeBytes + size > this.maxFreeBytes) return;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.freeBytes += size;
  }

  /** Bytes held free now. */
  get heldBytes(): number {
    return this.freeBytes;
  }
}

/** The smallest power of two ≥ `bytes`. */
function sizeClass(bytes: number): number {
  return 2 ** Math.ceil(Math.log2(bytes));
}
