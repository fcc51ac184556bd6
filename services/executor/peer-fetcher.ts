/**
 * Fetching blocks from peer executors over gRPC (FetchBlocks), with one
 * cached channel per peer address. A task asks each peer for all the ids it
 * needs from it in ONE call; a call that fails for any reason (peer down,
 * NOT_FOUND, deadline, malformed answer) becomes a FetchFailedError naming the
 * peer, which the runner reports as `fetch_failed_executor_id` so the
 * scheduler recomputes that peer's outputs rather than blaming the task.
 *
 * No retries here: another replica (input blocks) is tried by the runner, and
 * lost shuffle outputs are the scheduler's to recompute.
 */
import type * as grpc from '@grpc/grpc-js';
import { dial } from '../../lib/grpc/client.js';
import { ChannelPool } from '../../lib/grpc/channel-pool.js';
import { errorMessage, UnavailableError } from '../../lib/errors.js';
import type { Clock } from '../../lib/clock.js';
import type { ExecutorClient } from '../../lib/proto/index.js';
import type { FetchedBlock__Output } from '../../lib/proto/gen/rivulet/v1/FetchedBlock.js';

export interface Peer {
  executorId: string;
  address: string;
}

/** Blocks could not be read from `executorId` (Spark's FetchFailed). */
export class FetchFailedError extends UnavailableError {
  override name = 'FetchFailedError';
  constructor(
    readonly executorId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The task that needed the blocks was killed while they were in flight. */
export class FetchAbortedError extends Error {
  override name = 'FetchAbortedError';
}

/** What the runner needs from the network; a fake in unit tests. */
export interface BlockFetcher {
  /** The payloads of `blockIds` held by `peer`, in the same order. */
  fetch(peer: Peer, blockIds: readonly string[], signal?: AbortSignal): Promise<Buffer[]>;
  /** Store copies of shuffle buckets on `peer` (PushBlocks), in calls of at most `maxCallBytes`; rejects when any call fails. */
  push?(peer: Peer, blocks: ReadonlyArray<{ id: string; count: number; payload: Uint8Array }>, timeoutMs: number): Promise<void>;
  /** The peer was declared lost: drop the channel to it. */
  peerLost?(executorId: string): void;
  close(): void;
}

export interface PeerFetcherOptions {
  clock: Clock;
  /** Deadline of one FetchBlocks call. */
  timeoutMs: number;
  /** Largest message accepted from a peer (its blocks must fit). */
  maxMessageBytes: number;
  /** Close the channel to a peer after this long without a fetch; 0 = only when the peer is lost. @default 0 */
  idleTimeoutMs?: number;
}

export class PeerFetcher implements BlockFetcher {
  private readonly channels: ChannelPool<ExecutorClient>;

  constructor(private readonly opts: PeerFetcherOptions) {
    this.channels = new ChannelPool({
      dial: (address) => dial.executor(address, { maxMessageBytes: opts.maxMessageBytes }),
      close: (c) => c.close(),
      clock: opts.clock,
      idleTimeoutMs: opts.idleTimeoutMs ?? 0,
    });
  }

  /** Open peer channels (tests). */
  get openChannels(): number {
    return this.channels.size;
  }

  fetch(peer: Peer, blockIds: readonly string[], signal?: AbortSignal): Promise<Buffer[]> {
    if (blockIds.length === 0) return Promise.resolve([]);
    if (!peer.address) {
      return Promise.reject(new FetchFailedError(peer.executorId, `executor ${peer.executorId} has no address to fetch from`));
    }
    if (signal?.aborted) return Promise.reject(new FetchAbortedError('task killed'));
    return this.channels.use(peer.address, peer.executorId, (client) => this.fetchFrom(client, peer, blockIds, signal));
  }

  private fetchFrom(client: ExecutorClient, peer: Peer, blockIds: readonly string[], signal?: AbortSignal): Promise<Buffer[]> {
    return new Promise<Buffer[]>((resolve, reject) => {
      const out: Buffer[] = [];
      let settled = false;
      const call = client.fetchBlocks({ blockIds: blockIds as string[] }, { deadline: this.opts.clock.now() + this.opts.timeoutMs });
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        call.cancel();
        reject(err);
      };
      const onAbort = () => fail(new FetchAbortedError('task killed'));
      signal?.addEventListener('abort', onAbort, { once: true });
      // The block being read in slices (a block larger than one message), if any.
      let partial: { parts: Buffer[]; received: number; total: number } | undefined;
      call.on('data', (block: FetchedBlock__Output) => {
        const expected = blockIds[out.length];
        const payload = block.batch?.payload ?? Buffer.alloc(0);
        const offset = Number(block.offset ?? 0);
        const total = Number(block.totalBytes ?? 0);
        const received = partial?.received ?? 0;
        if (block.blockId !== expected || offset !== received || (total > 0 && offset + payload.length > total)) {
          fail(
            new FetchFailedError(
              peer.executorId,
              `executor ${peer.executorId} (${peer.address}) answered block ${block.blockId} at byte ${offset} ` +
                `where ${expected ?? 'nothing'} at byte ${received} was expected`,
            ),
          );
          return;
        }
        if (offset === 0 && payload.length >= total) {
          out.push(payload); // the whole block in one message
          return;
        }
        partial ??= { parts: [], received: 0, total };
        partial.parts.push(payload);
        partial.received += payload.length;
        if (partial.received >= partial.total) {
          out.push(Buffer.concat(partial.parts, partial.total));
          partial = undefined;
        }
      });
      call.on('error', (err: grpc.ServiceError) => {
        fail(
          new FetchFailedError(
            peer.executorId,
            `fetching ${blockIds.length} block(s) from executor ${peer.executorId} (${peer.address}) failed: ${err.details || errorMessage(err)}`,
            { cause: err },
          ),
        );
      });
      call.on('end', () => {
        if (settled) return;
        if (out.length !== blockIds.length) {
          fail(
            new FetchFailedError(
              peer.executorId,
              `executor ${peer.executorId} (${peer.address}) sent ${out.length} of ${blockIds.length} requested blocks`,
            ),
          );
          return;
        }
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(out);
      });
    });
  }

  push(peer: Peer, blocks: ReadonlyArray<{ id: string; count: number; payload: Uint8Array }>, timeoutMs: number): Promise<void> {
    if (blocks.length === 0) return Promise.resolve();
    if (!peer.address) return Promise.reject(new UnavailableError(`executor ${peer.executorId} has no address to push to`));
    // Calls of at most half a message: room for the framing of many small buckets.
    const maxCallBytes = Math.max(1, Math.floor(this.opts.maxMessageBytes / 2));
    const calls: Array<Array<{ blockId: string; batch: { count: number; payload: Uint8Array } }>> = [[]];
    let bytes = 0;
    for (const b of blocks) {
      if (b.payload.byteLength > maxCallBytes) continue; // too big to push in one call: its reducer fetches it in slices
      if (bytes + b.payload.byteLength > maxCallBytes && calls[calls.length - 1]!.length > 0) {
        calls.push([]);
        bytes = 0;
      }
      calls[calls.length - 1]!.push({ blockId: b.id, batch: { count: b.count, payload: b.payload } });
      bytes += b.payload.byteLength + 64;
    }
    const deadline = this.opts.clock.now() + timeoutMs;
    return this.channels.use(peer.address, peer.executorId, async (client) => {
      await Promise.all(
        calls
          .filter((c) => c.length > 0)
          .map(
            (c) =>
              new Promise<void>((resolve, reject) =>
                client.pushBlocks({ blocks: c }, { deadline }, (err) => (err ? reject(err) : resolve())),
              ),
          ),
      );
    });
  }

  peerLost(executorId: string): void {
    this.channels.peerLost(executorId);
  }

  close(): void {
    this.channels.closeAll();
  }
}
