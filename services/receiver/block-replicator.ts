/**
 * Storing a sealed block on `replication` executors before any of its records
 * is acknowledged.
 *
 * `BlockReplicator` is the interface the rest of the receiver depends on (unit
 * tests fake it). `PlacingReplicator` is the real one: it asks the
 * ExecutorDirectory for distinct alive executors, sends PutBlock to all of them
 * in parallel through a `BlockPutter`, and replaces each failed put with another
 * alive executor not tried yet, for a bounded number of rounds. The outcome:
 * - stored on `replication` executors: success;
 * - stored on fewer (too few alive, or puts failed): success, with a warning,
 *   because a single replica still beats refusing data the cluster can hold;
 * - stored nowhere: UnavailableError "no executors alive to store block <id>",
 *   which the receiver turns into a nack with code 14 UNAVAILABLE.
 *
 * A replica confirmed by an incarnation the scheduler declared lost before the
 * ack (`executor.lost`, followed by the directory) does not count: the block is
 * placed on another executor instead, so an ack never rests on a fenced copy;
 * a put still in flight to it is abandoned at once, not at its deadline.
 *
 * It must never: report an executor that did not confirm the put, or retry
 * without bound (each put has a deadline and there are at most `maxRounds`).
 */
import { dial, unaryEncoded } from '../../lib/grpc/client.js';
import { ChannelPool } from '../../lib/grpc/channel-pool.js';
import { errorMessage, UnavailableError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { rivuletV1, type ExecutorClient } from '../../lib/proto/index.js';
import type { PutBlockResponse__Output } from '../../lib/proto/gen/rivulet/v1/PutBlockResponse.js';
import type { ExecutorDirectory, ExecutorInfo } from './executor-directory.js';

export interface BlockToStore {
  blockId: string;
  stream: string;
  records: number;
  payload: Buffer;
}

export interface ReplicaSet {
  /** Executors that confirmed they hold the block, in confirmation order. */
  executorIds: string[];
}

export interface BlockReplicator {
  /** Resolves once the block is stored on at least one executor; rejects with UnavailableError when on none. */
  replicate(block: BlockToStore): Promise<ReplicaSet>;
}

/** One PutBlock to one executor. */
export interface BlockPutter {
  put(target: ExecutorInfo, block: BlockToStore): Promise<{ executorId: string; epoch: number }>;
  /** The executor was declared lost: drop the channel to it. */
  peerLost?(executorId: string): void;
  close(): void;
}

/**
 * PutBlock over gRPC, one channel per executor address, closed when the
 * executor is lost or idle for `idleTimeoutMs` (lib/grpc/channel-pool.ts).
 */
export class GrpcBlockPutter implements BlockPutter {
  private readonly channels: ChannelPool<ExecutorClient>;
  /** Each block's encoded PutBlockRequest, while the block is referenced. */
  private readonly encoded = new WeakMap<BlockToStore, Buffer>();

  constructor(private readonly opts: { timeoutMs: number; maxMessageBytes: number; clock?: Clock; idleTimeoutMs?: number }) {
    this.channels = new ChannelPool({
      dial: (address) => dial.executor(address, { maxMessageBytes: opts.maxMessageBytes }),
      close: (c) => c.close(),
      clock: opts.clock ?? systemClock,
      idleTimeoutMs: opts.idleTimeoutMs ?? 0,
    });
  }

  /** Open executor channels (tests). */
  get openChannels(): number {
    return this.channels.size;
  }

  async put(target: ExecutorInfo, block: BlockToStore): Promise<{ executorId: string; epoch: number }> {
    // One encoding per block, shared by its replicas (and retries): the payload is copied once, not per put.
    const request = this.encoded.get(block) ?? this.encodeOnce(block);
    // One attempt: on failure the replicator moves to another executor rather
    // than waiting on a backoff for this one.
    const res = await this.channels.use(target.address, target.executorId, (client) =>
      unaryEncoded<PutBlockResponse__Output>(client, rivuletV1.Executor.service.PutBlock, request, { timeoutMs: this.opts.timeoutMs, attempts: 1 }),
    );
    return { executorId: res.executorId || target.executorId, epoch: Number(res.epoch) };
  }

  private encodeOnce(block: BlockToStore): Buffer {
    const request = encodePutBlock(block);
    this.encoded.set(block, request);
    return request;
  }

  peerLost(executorId: string): void {
    this.channels.peerLost(executorId);
  }

  close(): void {
    this.channels.closeAll();
  }
}

/**
 * The PutBlockRequest of `block` in protobuf wire format (executor.proto: block_id = 1,
 * stream = 2, batch = 3 { count = 1, payload = 2 }), written by hand into one buffer
 * so the payload is copied once; the generated encoder gives the same bytes
 * (tests/unit/put-block-encoding.test.ts).
 */
export function encodePutBlock(block: BlockToStore): Buffer {
  const id = Buffer.from(block.blockId, 'utf8');
  const stream = Buffer.from(block.stream, 'utf8');
  const payloadLen = block.payload.length;
  // Every field written, zero or not, as the generated encoder does for a set property.
  const batchLen = 1 + varintBytes(block.records) + 1 + varintBytes(payloadLen) + payloadLen;
  const total = 1 + varintBytes(id.length) + id.length + 1 + varintBytes(stream.length) + stream.length + 1 + varintBytes(batchLen) + batchLen;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  out[at++] = 0x0a; // 1: block_id
  at = writeVarint(out, at, id.length);
  at += id.copy(out, at);
  out[at++] = 0x12; // 2: stream
  at = writeVarint(out, at, stream.length);
  at += stream.copy(out, at);
  out[at++] = 0x1a; // 3: batch
  at = writeVarint(out, at, batchLen);
  out[at++] = 0x08; // batch 1: count
  at = writeVarint(out, at, block.records);
  out[at++] = 0x12; // batch 2: payload
  at = writeVarint(out, at, payloadLen);
  block.payload.copy(out, at);
  return out;
}

function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

export interface PlacingReplicatorOptions {
  directory: ExecutorDirectory;
  putter: BlockPutter;
  replication: number;
  log: Logger;
  /** Rounds of placement (first choice + replacements for failed puts). @default 3 */
  maxRounds?: number;
  /**
   * Until this time (ms, on `clock`) a block that finds no executor waits for
   * the first heartbeat instead of being refused: right after the receiver
   * starts it has simply not heard from the executors yet.
   */
  startupGraceUntilMs?: number;
  clock?: Clock;
}

export class PlacingReplicator implements BlockReplicator {
  private degraded = false;

  constructor(private readonly opts: PlacingReplicatorOptions) {}

  async replicate(block: BlockToStore): Promise<ReplicaSet> {
    const { directory, replication, log } = this.opts;
    const stored: Array<{ executorId: string; epoch: number }> = [];
    const tried = new Set<string>();
    const failures: string[] = [];
    const { clock, startupGraceUntilMs } = this.opts;
    if (clock && startupGraceUntilMs !== undefined) {
      while (directory.alive().length === 0 && clock.now() < startupGraceUntilMs) {
        await new Promise<void>((r) => clock.setTimeout(r, 25));
      }
    }
    const maxRounds = this.opts.maxRounds ?? 3;
    for (let round = 0; round < maxRounds && stored.length < replication; round++) {
      const targets = directory.choose({ count: replication - stored.length, bytes: block.payload.length, exclude: tried });
      if (targets.length === 0) break;
      for (const t of targets) tried.add(t.executorId);
      const results = await Promise.allSettled(targets.map((t) => this.putUnlessLost(t, block)));
      results.forEach((r, i) => {
        const target = targets[i]!;
        if (r.status === 'fulfilled') {
          if (!stored.some((x) => x.executorId === r.value.executorId)) stored.push(r.value);
          tried.add(r.value.executorId);
        } else {
          directory.markFailed(target.executorId, target.epoch);
          failures.push(`${target.executorId} (${errorMessage(r.reason)})`);
          log.warn({ blockId: block.blockId, executorId: target.executorId, address: target.address, err: r.reason }, 'PutBlock failed; trying another executor');
        }
      });
      // Declared lost while the puts were in flight: that copy is not safe to ack on.
      for (let i = stored.length - 1; i >= 0; i--) {
        const s = stored[i]!;
        if (!directory.isFenced(s.executorId, s.epoch)) continue;
        stored.splice(i, 1);
        failures.push(`${s.executorId} (declared lost after storing it)`);
        log.warn({ blockId: block.blockId, executorId: s.executorId, epoch: s.epoch }, 'replica landed on an executor declared lost meanwhile; placing it elsewhere');
      }
    }
    if (stored.length === 0) {
      const why = failures.length > 0 ? `: PutBlock failed on ${failures.join(', ')}` : '';
      throw new UnavailableError(`no executors alive to store block ${block.blockId}${why}`);
    }
    // Log transitions into and out of under-replication, not every block (5 blocks/s per stream).
    if (stored.length < replication) {
      const level = this.degraded ? 'debug' : 'warn';
      this.degraded = true;
      log[level](
        { blockId: block.blockId, stream: block.stream, stored: stored.map((x) => x.executorId), replication, failures },
        `block stored on ${stored.length} of ${replication} executors (too few alive or reachable); further under-replicated blocks are logged at debug level`,
      );
    } else if (this.degraded) {
      this.degraded = false;
      log.info({ blockId: block.blockId, replication }, `blocks are stored on ${replication} executors again`);
    }
    return { executorIds: stored.map((x) => x.executorId) };
  }

  /**
   * One put, abandoned as soon as the scheduler declares its target lost: a
   * frozen executor would otherwise hold the block (and every ack behind it)
   * for the whole putBlockTimeout. The call itself runs out its deadline.
   */
  private putUnlessLost(target: ExecutorInfo, block: BlockToStore): Promise<{ executorId: string; epoch: number }> {
    const { directory, putter } = this.opts;
    let unsubscribe: () => void = () => undefined;
    const lost = new Promise<never>((_, reject) => {
      unsubscribe = directory.onLost((id, epoch) => {
        if (id === target.executorId && epoch >= target.epoch) reject(new UnavailableError(`executor ${id} was declared lost by the scheduler`));
      });
    });
    return Promise.race([putter.put(target, block), lost]).finally(() => unsubscribe());
  }
}
