/** Receiver options. Flags/env per lib/config (e.g. --block-interval / RIVULET_BLOCK_INTERVAL). */
import { hostname } from 'node:os';
import { z } from 'zod';
import { bytes, commonOptions, duration, int } from '../../lib/config/index.js';
import { nameSchema } from '../../lib/names.js';

export const receiverConfigSchema = z
  .object({
    ...commonOptions,
    port: int(7070, 0, 65535),
    /**
     * Identity in logs, block ids, write-ahead log keys and heartbeats; unique among receivers and stable across
     * a receiver's restarts (the chart: the StatefulSet pod name). Default: the host name.
     */
    receiverId: nameSchema.default(hostname().slice(0, 128) || 'receiver-0'),
    /** How often this receiver announces itself on NATS `rivulet.receiver.heartbeat.<id>` (the scheduler waits for the shares of live receivers). */
    receiverHeartbeatInterval: duration('250ms'),
    /**
     * A receiver silent this long is gone (for the other receivers: it no longer counts in the rate-limit split;
     * must match the scheduler's receiverTimeout).
     */
    receiverTimeout: duration('1s'),
    /** A block is cut from each stream's buffered records every block interval. */
    blockInterval: duration('200ms'),
    /** Must equal the scheduler's; a multiple of blockInterval. */
    batchInterval: duration('1s'),
    /** Executors each block is stored on before its records are acknowledged. */
    replication: int(2, 1, 5),
    /** Records buffered but not yet stored+acked, across all streams; beyond it clients are slowed (the receiver stops reading their streams). */
    maxBufferedBytes: bytes('256MiB'),
    /** Largest block; a stream's buffer is cut early when it reaches this. */
    maxBlockBytes: bytes('8MiB'),
    /** Scheduler address, to learn which streams running jobs read. */
    schedulerAddress: z.string().default('127.0.0.1:7071'),
    /** Deadline of one PutBlock to an executor. */
    putBlockTimeout: duration('5s'),
    /** The gRPC channel to an executor is closed after this long without a PutBlock (and at once when it is declared lost); 0 = only when lost. */
    peerIdleTimeout: duration('2m'),
    /** An executor whose last heartbeat is older than this is not chosen for blocks. */
    executorTimeout: duration('1500ms'),
    /**
     * Announced batches kept per stream to answer GetBatchBlocks (e.g. 300 = 5 min at a 1s batch interval); older lookups get
     * NOT_FOUND. Also the write-ahead log's window: blocks of older batches are purged from walBucket (logged).
     */
    retainBatches: int(300, 1, 1_000_000),
    /**
     * JetStream KV bucket of the write-ahead log of block allocations (allocation-log.ts): every block is
     * recorded here before its records are acked, so a restarted receiver announces what it acked but had
     * not announced. Shared by receivers; keys are per receiverId (run one process per receiverId).
     */
    walBucket: z.string().regex(/^[A-Za-z0-9_-]+$/).default('rivulet-receiver'),
    /**
     * Backpressure: a push held back by its stream's ingest rate limit (set by the scheduler's rate
     * controller, NATS `rivulet.rate-limits`) for longer than this is refused instead — nacked
     * RESOURCE_EXHAUSTED with `retry_after_ms` — so a client far ahead of the rate waits on its side.
     */
    rateLimitMaxDelay: duration('2s'),
    /**
     * How long an idle pusher session (PushOpen.session_id) is remembered to deduplicate retried pushes.
     * Must exceed the clients' retry budget (the SDK's pushRetryTimeout, default 60s).
     */
    pushDedupeRetention: duration('10m'),
    /** Most pusher sessions remembered for deduplication; a Push call opening a new one beyond it is refused RESOURCE_EXHAUSTED. */
    maxPushSessions: int(10_000, 1, 10_000_000),
    /**
     * Push calls this receiver holds open at once (all clients); a Push call beyond it is refused at open with
     * RESOURCE_EXHAUSTED and metadata `retry-after-ms` (the SDK retries it after that). Quotas: quotas.ts.
     */
    maxConcurrentStreams: int(1000, 1, 1_000_000),
    /** Push calls one client (its authenticated user with security on, else its peer address) holds open at once; beyond it, refused like maxConcurrentStreams. */
    maxClientStreams: int(100, 1, 1_000_000),
    /**
     * Bytes of records per second one client (its authenticated user, else its peer address) may push, with one second's worth of burst;
     * a message beyond it is nacked RESOURCE_EXHAUSTED with `retry_after_ms` (nothing of it stored; the SDK
     * re-sends it then). 0 = no limit.
     */
    clientPushRate: bytes('256MiB'),
    /** How long a ListStreams answer from the scheduler is trusted for a stream it did not list (so unknown-stream retries don't hammer the scheduler). */
    streamLookupCacheTtl: duration('1s'),
  })
  .refine((c) => c.batchInterval % c.blockInterval === 0, {
    message: 'batchInterval must be a multiple of blockInterval',
    path: ['batchInterval'],
  });

export type ReceiverConfig = z.infer<typeof receiverConfigSchema>;
