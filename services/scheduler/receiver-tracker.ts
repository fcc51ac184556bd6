/**
 * Several receivers (Spark's ReceiverTracker, for a batch's inputs): which
 * receivers are live, and when a batch's input is complete — every receiver's
 * share merged into the one final block list the scheduler runs and the
 * executors start planned batches from (NATS `batch.inputs`). README "Several
 * receivers" is the user's view; the rules:
 *
 * - Membership: a receiver announces itself on `rivulet.receiver.heartbeat.<id>`
 *   (every receiverHeartbeatInterval, and at once when it starts a stream, with
 *   the first batch it owns of each stream) before any push of that batch can
 *   be acked there. Silent for `receiverTimeout` and not answering a gRPC
 *   health probe (`probe`): gone.
 * - A receiver is *relevant* to batch T of stream S when it may hold acked
 *   records of T: it is live and its heartbeat does not say its first batch of S
 *   is after T; or it went silent less than a batch interval + receiverTimeout
 *   before T's interval began (it may have acked blocks of T before it died).
 * - T is complete when every relevant receiver's share is known: from its
 *   `batch.ready` (which carries its receiverId), from its GetBatchBlocks when
 *   batch.ready did not come within batchReadyTimeout, or — for a gone receiver
 *   — from its write-ahead log in JetStream KV, read for us by a live receiver
 *   (GetBatchBlocks with receiver_id): every block it acked was logged before
 *   the ack, so nothing acked is missing, and a gone receiver's log no longer grows.
 * - The merged list: shares in receiver id order, each in its own order. It is
 *   decided here once per (stream, T) and never changes; a share arriving after
 *   (a receiver not known in time) is logged at error level if it holds blocks.
 * - Until one heartbeat round has been heard (a scheduler that just started and
 *   has no standby's memory) no batch is completed: a receiver not heard yet
 *   would be missed.
 * - A share without a receiverId (a receiver of an older version) is taken as
 *   the whole batch, as before several receivers.
 *
 * Runs on the scheduler's event loop (scheduler.ts routes its events); it never
 * awaits. It must never: complete a batch while a relevant receiver's share is
 * unknown, or change a completed batch's list.
 */
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { BatchReadyMessage, ReceiverHeartbeatMessage } from '../../lib/nats/subjects.js';

type Block = BatchReadyMessage['blocks'][number];

export interface ReceiverInfo {
  receiverId: string;
  incarnation: string;
  address: string;
  state: 'ALIVE' | 'GONE';
  lastSeenMs: number;
  /** A health probe of this silent receiver is out. */
  probing?: boolean;
  streams: Map<string, { firstBatchTimeMs: number; recordsPerSecond: number }>;
}

/** Who to ask for a missing share: the receiver itself (alive) or, for a gone one, a live receiver reading its log. */
export interface ShareRequest {
  receiverId: string;
  address: string;
}

export interface ReceiverTrackerOptions {
  clock: Clock;
  batchIntervalMs: number;
  receiverTimeoutMs: number;
  /** Before this time no batch completes unless a heartbeat round was heard (`warm`). */
  warmAtMs: number;
  log: Logger;
  /** Told which shares (in merge order) made each merged list, so the batch's trace continues from them. */
  onMerged?(shares: readonly Block[][], merged: Block[]): void;
  /**
   * Probe a silent receiver's gRPC health before judging it gone; the answer comes back through `probed`. A
   * receiver that still answers (only its heartbeats are late: a busy event loop, NATS trouble of its own) is
   * not judged gone — taking its share from its log while it still stores blocks could lose what it acks next.
   * Absent: silence alone judges (unit tests).
   */
  probe?(r: ReceiverInfo): void;
}

interface Pending {
  stream: string;
  batchTimeMs: number;
  shares: Map<string, Block[]>;
}

/** Completed (stream, batch) keys remembered to ignore late shares; beyond this the oldest are forgotten. */
const MAX_COMPLETED = 20_000;

const keyOf = (stream: string, t: number) => `${stream}@${t}`;

export class ReceiverTracker {
  private readonly receivers = new Map<string, ReceiverInfo>();
  private readonly pending = new Map<string, Pending>();
  private readonly completed = new Map<string, number>();
  private warm = false;

  constructor(private readonly opts: ReceiverTrackerOptions) {}

  list(): ReceiverInfo[] {
    return [...this.receivers.values()].sort((a, b) => (a.receiverId < b.receiverId ? -1 : 1));
  }

  alive(): ReceiverInfo[] {
    return this.list().filter((r) => r.state === 'ALIVE');
  }

  /** A receiver heartbeat. `warm`: the membership is known in full (a standby that listened long enough). */
  heartbeat(msg: ReceiverHeartbeatMessage, seenAtMs = this.opts.clock.now(), warm = false): void {
    if (warm) this.warm = true;
    let r = this.receivers.get(msg.receiverId);
    if (!r) {
      r = { receiverId: msg.receiverId, incarnation: msg.incarnation, address: msg.address, state: 'ALIVE', lastSeenMs: seenAtMs, streams: new Map() };
      this.receivers.set(msg.receiverId, r);
      this.opts.log.info({ receiverId: msg.receiverId, address: msg.address, incarnation: msg.incarnation }, 'receiver joined');
    } else if (r.state === 'GONE' || r.incarnation !== msg.incarnation) {
      this.opts.log.info({ receiverId: msg.receiverId, address: msg.address, incarnation: msg.incarnation }, r.state === 'GONE' ? 'receiver is back' : 'receiver restarted');
    }
    r.state = 'ALIVE';
    r.incarnation = msg.incarnation;
    r.address = msg.address;
    r.lastSeenMs = Math.max(r.lastSeenMs, seenAtMs);
    r.streams = new Map(msg.streams.map((s) => [s.stream, { firstBatchTimeMs: s.firstBatchTimeMs, recordsPerSecond: s.recordsPerSecond }]));
  }

  /** Judge silent receivers gone (only when the scheduler could hear: the caller checks). Returns the newly gone. */
  expire(): string[] {
    const now = this.opts.clock.now();
    if (!this.warm && now >= this.opts.warmAtMs) this.warm = true;
    const gone: string[] = [];
    for (const r of this.receivers.values()) {
      if (r.state !== 'ALIVE' || now - r.lastSeenMs <= this.opts.receiverTimeoutMs || r.probing) continue;
      if (this.opts.probe) {
        r.probing = true;
        this.opts.probe(r);
        continue;
      }
      this.markGone(r, now);
      gone.push(r.receiverId);
    }
    // A batch nobody waits for any more (no job read it in time) is not kept.
    for (const [key, p] of this.pending) if (p.batchTimeMs < now - 100 * this.opts.batchIntervalMs) this.pending.delete(key);
    // A receiver gone long ago can hold nothing of a batch still to come.
    for (const [id, r] of this.receivers) {
      if (r.state === 'GONE' && now - r.lastSeenMs > 100 * this.opts.batchIntervalMs + this.opts.receiverTimeoutMs) this.receivers.delete(id);
    }
    return gone;
  }

  /** A silent receiver's health probe answered. Returns true when it is now judged gone. */
  probed(receiverId: string, incarnation: string, serving: boolean): boolean {
    const r = this.receivers.get(receiverId);
    if (!r || !r.probing) return false;
    r.probing = false;
    if (r.incarnation !== incarnation || r.state !== 'ALIVE') return false;
    const now = this.opts.clock.now();
    // Heard from since the probe went out: nothing to judge.
    if (now - r.lastSeenMs <= this.opts.receiverTimeoutMs) return false;
    if (serving) {
      this.opts.log.warn({ receiverId, silentMs: now - r.lastSeenMs }, 'receiver silent but answering its health probe: still waited for (its heartbeats are late)');
      r.lastSeenMs = now;
      return false;
    }
    this.markGone(r, now);
    return true;
  }

  private markGone(r: ReceiverInfo, now: number): void {
    r.state = 'GONE';
    this.opts.log.warn({ receiverId: r.receiverId, silentMs: now - r.lastSeenMs }, 'receiver gone (receiverTimeout, and no answer to a health probe): its shares of open batches are read from its write-ahead log');
  }

  /**
   * One receiver's share of a batch (batch.ready, or a GetBatchBlocks answer).
   * Returns the merged final list when this completed the batch.
   */
  share(msg: BatchReadyMessage): Block[] | undefined {
    const key = keyOf(msg.stream, msg.batchTimeMs);
    if (this.completed.has(key)) {
      if (msg.blocks.length > 0 && msg.receiverId !== undefined && !this.shareWasTaken(key, msg.receiverId)) {
        this.opts.log.error(
          { stream: msg.stream, batchTimeMs: msg.batchTimeMs, receiverId: msg.receiverId, blocks: msg.blocks.length },
          'a receiver announced blocks of a batch already completed without its share (it was not known in time): those records are not processed',
        );
      }
      return undefined;
    }
    // An older receiver's announcement is the whole batch.
    if (msg.receiverId === undefined) return this.complete(key, msg.stream, msg.batchTimeMs, msg.blocks, []);
    let p = this.pending.get(key);
    if (!p) this.pending.set(key, (p = { stream: msg.stream, batchTimeMs: msg.batchTimeMs, shares: new Map() }));
    if (!p.shares.has(msg.receiverId)) p.shares.set(msg.receiverId, msg.blocks);
    return this.evaluate(key, p);
  }

  /** Re-evaluate every pending batch (membership changed). Returns those that completed. */
  reevaluate(): Array<{ stream: string; batchTimeMs: number; blocks: Block[] }> {
    const out: Array<{ stream: string; batchTimeMs: number; blocks: Block[] }> = [];
    for (const [key, p] of [...this.pending]) {
      const blocks = this.evaluate(key, p);
      if (blocks) out.push({ stream: p.stream, batchTimeMs: p.batchTimeMs, blocks });
    }
    return out;
  }

  /**
   * The shares of (stream, T) still missing and whom to ask for each; undefined when no receiver is known at all
   * (the caller asks its configured receiver address, as with one receiver).
   */
  missing(stream: string, t: number): ShareRequest[] | undefined {
    if (this.receivers.size === 0) return undefined;
    const key = keyOf(stream, t);
    if (this.completed.has(key)) return [];
    const have = this.pending.get(key)?.shares;
    const live = this.alive();
    const out: ShareRequest[] = [];
    for (const r of this.relevant(stream, t)) {
      if (have?.has(r.receiverId)) continue;
      if (r.state === 'ALIVE') out.push({ receiverId: r.receiverId, address: r.address });
      else if (live.length > 0) out.push({ receiverId: r.receiverId, address: live[(t / this.opts.batchIntervalMs) % live.length | 0]!.address });
    }
    return out;
  }

  private relevant(stream: string, t: number): ReceiverInfo[] {
    const out: ReceiverInfo[] = [];
    const intervalStart = t - this.opts.batchIntervalMs;
    for (const r of this.receivers.values()) {
      const first = r.streams.get(stream)?.firstBatchTimeMs;
      if (first !== undefined && first > t) continue;
      if (r.state === 'GONE' && r.lastSeenMs + this.opts.receiverTimeoutMs < intervalStart) continue;
      out.push(r);
    }
    return out;
  }

  /**
   * Complete (stream, T) now if every relevant share is known — also with none at all: no receiver may hold
   * records of T (each was down, or started after it). Undefined while a share is missing or membership is not known yet.
   */
  settle(stream: string, t: number): Block[] | undefined {
    const key = keyOf(stream, t);
    if (this.completed.has(key) || this.receivers.size === 0) return undefined;
    return this.evaluate(key, this.pending.get(key) ?? { stream, batchTimeMs: t, shares: new Map() });
  }

  private evaluate(key: string, p: Pending): Block[] | undefined {
    if (!this.warm && this.opts.clock.now() < this.opts.warmAtMs) return undefined;
    const relevant = this.relevant(p.stream, p.batchTimeMs);
    for (const r of relevant) if (!p.shares.has(r.receiverId)) return undefined;
    const ids = [...p.shares.keys()].sort();
    const blocks: Block[] = [];
    for (const id of ids) for (const b of p.shares.get(id)!) blocks.push(b);
    this.opts.onMerged?.(ids.map((id) => p.shares.get(id)!), blocks);
    this.pending.delete(key);
    return this.complete(key, p.stream, p.batchTimeMs, blocks, ids);
  }

  private readonly takenShares = new Map<string, string[]>();

  private shareWasTaken(key: string, receiverId: string): boolean {
    return this.takenShares.get(key)?.includes(receiverId) ?? false;
  }

  private complete(key: string, _stream: string, t: number, blocks: Block[], ids: string[]): Block[] {
    this.completed.set(key, t);
    this.takenShares.set(key, ids);
    while (this.completed.size > MAX_COMPLETED) {
      const oldest = this.completed.keys().next().value!;
      this.completed.delete(oldest);
      this.takenShares.delete(oldest);
    }
    return blocks;
  }
}
