/**
 * The executor's in-memory block store: packed record buffers keyed by block
 * id (input blocks from the receiver, shuffle buckets written by map tasks).
 *
 * It is bounded by `capacityBytes` and never goes over it. Input blocks and
 * shuffle buckets are PINNED: dropping one would lose data the receiver has
 * acknowledged or a map stage has finished, so they are only removed by an
 * explicit `drop` (DropBlocks from the scheduler/lineage once no batch can
 * reach them). A put that does not fit after evicting every evictable block
 * fails with ResourceExhaustedError naming the bound and the current use —
 * the caller (receiver, or a map task) sees a clear error, never a silent cap.
 *
 * Extension point: blocks stored with `pinned: false` (cached partitions,
 * later) are evictable and kept in LRU order; `makeRoom` evicts them oldest
 * first before refusing a put. Today nothing stores evictable blocks.
 *
 * Accounting counts payload bytes only (ids and bookkeeping are small next
 * to blocks of thousands of records). Payloads are stored as given, not
 * copied: a caller must not mutate a buffer after putting it.
 */
import { ResourceExhaustedError } from '../../lib/errors.js';

export type BlockKind = 'input' | 'shuffle' | 'cached';

export interface StoredBlock {
  readonly id: string;
  readonly kind: BlockKind;
  /** Records packed in `payload`. */
  readonly count: number;
  readonly payload: Buffer;
  /** Pinned blocks are never evicted, only dropped. */
  readonly pinned: boolean;
}

export interface BlockPut {
  id: string;
  kind: BlockKind;
  count: number;
  payload: Buffer;
  /** @default true for 'input' and 'shuffle', false for 'cached' */
  pinned?: boolean;
}

export interface BlockStoreStats {
  count: number;
  bytes: number;
  capacityBytes: number;
  pinnedBytes: number;
}

export interface DropResult {
  dropped: number;
  bytesFreed: number;
}

export class BlockStore {
  private readonly blocks = new Map<string, StoredBlock>();
  /** Evictable blocks in least-recently-used-first order (Map keeps insertion order). */
  private readonly evictable = new Map<string, StoredBlock>();
  private bytes = 0;
  private pinnedBytes = 0;
  /** Told the id of every block newly stored (planned-tasks.ts waits for shuffle buckets this way). */
  private readonly putListeners: Array<(id: string) => void> = [];

  constructor(readonly capacityBytes: number) {
    if (!Number.isFinite(capacityBytes) || capacityBytes <= 0) {
      throw new RangeError(`block store capacity must be a positive number of bytes, got ${capacityBytes}`);
    }
  }

  /**
   * Store one block. Idempotent by id: a block that is already here is kept
   * as is (blocks are immutable and a retried put carries the same bytes).
   * @returns the stored block (the existing one on a repeated put)
   */
  put(block: BlockPut): StoredBlock {
    return this.putAll([block])[0]!;
  }

  /**
   * Store several blocks atomically: either all new ones are stored or none
   * is (a map task's buckets must not be half-written when the store is full).
   */
  putAll(blocks: readonly BlockPut[]): StoredBlock[] {
    let needed = 0;
    const fresh = new Set<string>();
    for (const b of blocks) {
      if (!this.blocks.has(b.id) && !fresh.has(b.id)) {
        fresh.add(b.id);
        needed += b.payload.byteLength;
      }
    }
    if (needed > 0) this.makeRoom(needed, blocks.length === 1 ? `block ${blocks[0]!.id}` : `${fresh.size} blocks`);
    const out: StoredBlock[] = [];
    for (const b of blocks) {
      const existing = this.blocks.get(b.id);
      if (existing) {
        // The same bytes put again as pinned (a map task here rewriting a bucket that was pushed here
        // as an evictable copy): it is now this executor's own output, which must not be evicted.
        if ((b.pinned ?? b.kind !== 'cached') && !existing.pinned) {
          const pinned: StoredBlock = { ...existing, pinned: true };
          this.blocks.set(pinned.id, pinned);
          this.evictable.delete(pinned.id);
          this.pinnedBytes += pinned.payload.byteLength;
          out.push(pinned);
          continue;
        }
        out.push(existing);
        continue;
      }
      const stored: StoredBlock = {
        id: b.id,
        kind: b.kind,
        count: b.count,
        payload: b.payload,
        pinned: b.pinned ?? b.kind !== 'cached',
      };
      this.blocks.set(b.id, stored);
      this.bytes += stored.payload.byteLength;
      if (stored.pinned) this.pinnedBytes += stored.payload.byteLength;
      else this.evictable.set(stored.id, stored);
      out.push(stored);
    }
    if (this.putListeners.length > 0) for (const id of fresh) for (const l of this.putListeners) l(id);
    return out;
  }

  onPut(listener: (id: string) => void): void {
    this.putListeners.push(listener);
  }

  get(id: string): StoredBlock | undefined {
    const b = this.blocks.get(id);
    if (b && !b.pinned) {
      // Touch: move to the most-recently-used end.
      this.evictable.delete(id);
      this.evictable.set(id, b);
    }
    return b;
  }

  has(id: string): boolean {
    return this.blocks.has(id);
  }

  /** Remove blocks by id and by id prefix. Unknown ids are ignored. */
  drop(ids: readonly string[], prefixes: readonly string[] = []): DropResult {
    const result: DropResult = { dropped: 0, bytesFreed: 0 };
    for (const id of ids) this.remove(id, result);
    const usable = prefixes.filter((p) => p.length > 0);
    if (usable.length > 0) {
      // A linear scan: drops happen once per batch, and the store holds a few
      // thousand blocks at most; an index by prefix would cost on every put.
      for (const id of [...this.blocks.keys()]) {
        for (const p of usable) {
          if (id.startsWith(p)) {
            this.remove(id, result);
            break;
          }
        }
      }
    }
    return result;
  }

  /** Ids of the blocks of one kind held here. */
  idsOf(kind: BlockKind): string[] {
    const out: string[] = [];
    for (const b of this.blocks.values()) if (b.kind === kind) out.push(b.id);
    return out;
  }

  /** Remove every block of the given kinds (an executor rejoining drops what its old incarnation derived). */
  dropKinds(kinds: readonly BlockKind[]): DropResult {
    const result: DropResult = { dropped: 0, bytesFreed: 0 };
    for (const b of [...this.blocks.values()]) if (kinds.includes(b.kind)) this.remove(b.id, result);
    return result;
  }

  stats(): BlockStoreStats {
    return { count: this.blocks.size, bytes: this.bytes, capacityBytes: this.capacityBytes, pinnedBytes: this.pinnedBytes };
  }

  private remove(id: string, result: DropResult): void {
    const b = this.blocks.get(id);
    if (!b) return;
    this.blocks.delete(id);
    this.evictable.delete(id);
    this.bytes -= b.payload.byteLength;
    if (b.pinned) this.pinnedBytes -= b.payload.byteLength;
    result.dropped++;
    result.bytesFreed += b.payload.byteLength;
  }

  /** Evict evictable blocks (LRU first) until `needed` more bytes fit, or throw. */
  private makeRoom(needed: number, what: string): void {
    if (this.bytes + needed <= this.capacityBytes) return;
    // Refuse before evicting anything when even a store of only pinned blocks can't fit it.
    if (this.pinnedBytes + needed > this.capacityBytes) {
      throw new ResourceExhaustedError(
        `block store full: storing ${what} needs ${needed} bytes but ${this.pinnedBytes} of the ` +
          `${this.capacityBytes}-byte bound (blockStoreBytes) are held by ${this.blocks.size - this.evictable.size} ` +
          `pinned blocks (input blocks and shuffle buckets, freed only by DropBlocks)`,
      );
    }
    for (const [id] of this.evictable) {
      if (this.bytes + needed <= this.capacityBytes) break;
      this.remove(id, { dropped: 0, bytesFreed: 0 });
    }
  }
}
