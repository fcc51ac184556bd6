/**
 * Cuts one stream's incoming pushes into blocks and assigns each block to a
 * batch. This is the receiver's equivalent of Spark's BlockGenerator, but it
 * never touches records: a block's payload is the concatenation of the packed
 * payloads pushed into it, so records are never decoded or re-encoded here.
 *
 * Timing rules (all times are ms since the Unix epoch, from the injected Clock):
 * - Block ticks happen at every multiple of `blockIntervalMs`. A tick seals the
 *   buffer (if anything is in it) with the tick time as its seal time, even when
 *   the timer fires a little late, so lateness of the event loop never moves a
 *   block into a later batch.
 * - A block sealed at time s belongs to batch T = ceil(s / batchInterval) *
 *   batchInterval, i.e. the batch whose interval (T - batchInterval, T] holds s.
 *   A seal exactly at T belongs to T.
 * - The tick at a batch boundary T seals the last block of T and then closes T
 *   (`onBatchClosed`), so the listener sees, per stream, all blocks of T before
 *   T's close and T's close before any block of T + batchInterval.
 * - The buffer is also sealed early when it reaches `maxBlockBytes`. A push is
 *   never split: a push that would overflow a non-empty buffer seals the buffer
 *   first, and a single push larger than maxBlockBytes becomes a block of its own.
 * - The first batch a generator owns is the one after the boundary at or before
 *   its start time (and never earlier than `minBatchTimeMs`): the partial batch
 *   in progress when a receiver process starts may already have been announced
 *   by the previous incarnation, and a batch must never be announced twice.
 *
 * It must never: block on I/O, call Date.now()/setTimeout directly, or emit a
 * block for a batch it has already closed.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';

/** A sealed block: its payload and the opaque references of the pushes in it, in push order. */
export interface SealedBlock<R> {
  blockId: string;
  stream: string;
  batchTimeMs: number;
  sealedAtMs: number;
  /** The pushed payloads, concatenated in arrival order. */
  payload: Buffer;
  records: number;
  bytes: number;
  pushes: R[];
}

export interface BlockGeneratorListener<R> {
  onBlock(block: SealedBlock<R>): void;
  /** Every block of `batchTimeMs` has been passed to onBlock; no more will come. */
  onBatchClosed(batchTimeMs: number): void;
}

export interface BlockGeneratorOptions {
  stream: string;
  blockIntervalMs: number;
  /** A multiple of blockIntervalMs. */
  batchIntervalMs: number;
  maxBlockBytes: number;
  clock: Clock;
  /** Called once per block, in seal order. */
  newBlockId(batchTimeMs: number): string;
  /** The earliest batch this generator may assign blocks to or close (a batch boundary). */
  minBatchTimeMs?: number;
}

type State = 'idle' | 'running' | 'stopped';

export class BlockGenerator<R> {
  private state: State = 'idle';
  private parts: Buffer[] = [];
  private refs: R[] = [];
  private bufferedBytes = 0;
  private bufferedRecords = 0;
  /** The next block tick (a multiple of blockIntervalMs) not yet processed. */
  private nextTickMs = 0;
  private firstBatchMs = 0;
  private lastClosedMs: number | undefined;
  private timer: TimerHandle | undefined;
  private stopAtBoundary = false;
  private readonly blockMs: number;
  private readonly batchMs: number;

  constructor(
    private readonly opts: BlockGeneratorOptions,
    private readonly listener: BlockGeneratorListener<R>,
  ) {
    if (!(opts.blockIntervalMs > 0) || opts.batchIntervalMs % opts.blockIntervalMs !== 0) {
      throw new RangeError(
        `batchInterval (${opts.batchIntervalMs} ms) must be a positive multiple of blockInterval (${opts.blockIntervalMs} ms)`,
      );
    }
    this.blockMs = opts.blockIntervalMs;
    this.batchMs = opts.batchIntervalMs;
  }

  get stream(): string {
    return this.opts.stream;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** The first batch this generator announces. Valid after start(). */
  get firstBatchTimeMs(): number {
    return this.firstBatchMs;
  }

  /** The batch that the next block will belong to (the batch still open). */
  get openBatchTimeMs(): number {
    return this.batchOfSeal(this.nextTickMs);
  }

  /** The last batch closed, if any. */
  get lastClosedBatchTimeMs(): number | undefined {
    return this.lastClosedMs;
  }

  get buffered(): { bytes: number; records: number; pushes: number } {
    return { bytes: this.bufferedBytes, records: this.bufferedRecords, pushes: this.refs.length };
  }

  start(): void {
    if (this.state !== 'idle') throw new Error(`block generator for '${this.opts.stream}' already ${this.state}`);
    const now = this.opts.clock.now();
    this.nextTickMs = (Math.floor(now / this.blockMs) + 1) * this.blockMs;
    this.firstBatchMs = Math.max((Math.floor(now / this.batchMs) + 1) * this.batchMs, this.opts.minBatchTimeMs ?? 0);
    this.state = 'running';
    this.schedule(now);
  }

  /**
   * Buffer one push. Its payload is kept as is and ends up, whole, in exactly
   * one block. Returns false, buffering nothing, when the generator has stopped
   * (possibly just now, at a boundary it was asked to stop at): the caller must
   * then refuse the push.
   */
  add(payload: Buffer, records: number, ref: R): boolean {
    if (this.state === 'idle') throw new Error(`block generator for '${this.opts.stream}' not started`);
    // Process ticks whose timer has not fired yet, so a push that arrives after
    // a boundary never lands in the batch that boundary closed.
    if (this.state === 'running') this.catchUp(this.opts.clock.now());
    if (this.state !== 'running') return false;
    // Early seals go to the batch still open: after catchUp, nextTickMs lies in
    // it (a push at exactly a processed boundary T belongs to T + batchInterval).
    if (this.bufferedBytes > 0 && this.bufferedBytes + payload.length > this.opts.maxBlockBytes) {
      this.seal(this.opts.clock.now(), this.openBatchTimeMs);
    }
    this.parts.push(payload);
    this.refs.push(ref);
    this.bufferedBytes += payload.length;
    this.bufferedRecords += records;
    if (this.bufferedBytes >= this.opts.maxBlockBytes) this.seal(this.opts.clock.now(), this.openBatchTimeMs);
    return true;
  }

  /**
   * Keep running until the next batch boundary, seal and close that batch, then
   * stop. Used for a graceful shutdown: the batch in progress is completed
   * normally instead of being announced early (and perhaps again by the next
   * incarnation).
   */
  stopAtNextBoundary(): void {
    if (this.state === 'running') this.stopAtBoundary = true;
  }

  /**
   * Stop at once without sealing. Returns the references of the pushes still in
   * the buffer so the caller can refuse them (they are not in any block).
   */
  dispose(): R[] {
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.state = 'stopped';
    const refs = this.refs;
    this.parts = [];
    this.refs = [];
    this.bufferedBytes = 0;
    this.bufferedRecords = 0;
    return refs;
  }

  private schedule(now: number): void {
    if (this.state !== 'running') return;
    this.timer = this.opts.clock.setTimeout(() => this.onTimer(), Math.max(0, this.nextTickMs - now));
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.state !== 'running') return;
    // Node timers may fire a millisecond before Date.now() reaches the target;
    // the timer was set for nextTickMs, so that tick is due regardless.
    const now = Math.max(this.opts.clock.now(), this.nextTickMs);
    this.catchUp(now);
    this.schedule(this.opts.clock.now());
  }

  private catchUp(now: number): void {
    while (this.state === 'running' && this.nextTickMs <= now) {
      const tick = this.nextTickMs;
      this.nextTickMs += this.blockMs;
      this.seal(tick, this.batchOfSeal(tick));
      if (tick % this.batchMs === 0 && tick >= this.firstBatchMs) {
        this.lastClosedMs = tick;
        // Stop before telling the listener, so it sees `running === false` for the last batch.
        if (this.stopAtBoundary) this.dispose();
        this.listener.onBatchClosed(tick);
      }
    }
  }

  /** The batch a block sealed at `sealMs` belongs to. */
  private batchOfSeal(sealMs: number): number {
    return Math.max(Math.ceil(sealMs / this.batchMs) * this.batchMs, this.firstBatchMs);
  }

  private seal(sealMs: number, batchTimeMs: number): void {
    if (this.refs.length === 0) return;
    const payload = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bufferedBytes);
    const block: SealedBlock<R> = {
      blockId: this.opts.newBlockId(batchTimeMs),
      stream: this.opts.stream,
      batchTimeMs,
      sealedAtMs: sealMs,
      payload,
      records: this.bufferedRecords,
      bytes: this.bufferedBytes,
      pushes: this.refs,
    };
    this.parts = [];
    this.refs = [];
    this.bufferedBytes = 0;
    this.bufferedRecords = 0;
    this.listener.onBlock(block);
  }
}
