/** Executor options. Flags/env per lib/config (e.g. --slots / RIVULET_SLOTS). */
import { availableParallelism, hostname } from 'node:os';
import { z } from 'zod';
import { bytes, commonOptions, duration, int } from '../../lib/config/index.js';

export const executorConfigSchema = z.object({
  ...commonOptions,
  /** Stable name of this executor; its epoch changes on every start. */
  executorId: z.string().max(128).regex(/^[A-Za-z0-9_-]+$/, 'executor id is 1-128 letters, digits, _ and -'),
  /** Task slots (worker threads). */
  slots: int(availableParallelism(), 1, 1024),
  /**
   * Tasks this executor accepts per slot: up to slots × taskQueueDepth tasks
   * are assigned to it at once (running or queued here), so a slot that frees
   * up starts its next task at once instead of waiting a scheduler round trip,
   * and a queued task fetches its inputs while earlier ones run. 1 = one task
   * per slot (no queue). Reported in heartbeats; the scheduler never assigns
   * more, and a task beyond it is refused (`queue_full`) and placed again.
   */
  taskQueueDepth: int(2, 1, 64),
  /**
   * Heap limit of each task worker thread (resourceLimits). A task that needs
   * more fails naming this option (retried, then its batch and job fail);
   * the executor and other jobs are unaffected.
   */
  taskWorkerMemory: bytes('2GiB'),
  /**
   * Task worker threads alive at once. Each job bundle runs in workers of its
   * own (no job shares prototypes or globals with another), slots are shared:
   * a job gets workers as its tasks need them, and the least recently used
   * idle worker of another job makes way at this bound. 0 = twice `slots`.
   */
  maxTaskWorkers: int(0, 0, 4096),
  /**
   * Most queued tasks handed to a task worker in one message. A thread hop
   * (a message, waking the worker, its event-loop turn) costs more than a tiny
   * task; a batch pays it once. Each free slot's worker gets a fair share of
   * the queue up to this bound, and up to `taskBatchTarget` of expected work.
   */
  tasksPerWorkerMessage: int(16, 1, 1024),
  /**
   * A worker message holds queued tasks while their expected run times (each
   * the moving average of its graph node's tasks run here) add up to at most
   * this; a task of a node not measured here yet, or expected to run longer,
   * goes alone. A task batched behind a long one would wait for it while the
   * executor's other worker idles, and the scheduler, which sees only the
   * pool's queue, would not steal it (under skew, tests/chaos/skew.test.ts:
   * nothing stolen with 16 tasks per message and no bound, 13 tasks one at a
   * time) — bounded this way, only tiny tasks travel together. 0 = one task
   * per message.
   */
  taskBatchTarget: duration('2ms'),
  /** A task worker sends back the answers it has once this long has passed since its last message, even mid-batch (0 = after every task). */
  taskResultFlush: duration('2ms'),
  /**
   * Task input buffers (64 KiB and up) that workers hand back are kept for
   * the next tasks' inputs, at most this many bytes: a fresh multi-megabyte
   * buffer per map task costs the main thread several times the copy into one
   * (input-buffers.ts). Memory held between tasks, not a bound on any input
   * (a larger input takes a fresh buffer). 0 = none kept.
   */
  taskInputCacheBytes: bytes('64MiB'),
  /**
   * A killed task that is running (a speculative copy that lost, a batch
   * abandoned) answers KILLED at once; its worker thread is stopped and
   * replaced only if the task is still running this long after — a tiny task
   * ends well before a new worker would have started and loaded its job. 0 = stop it at once.
   */
  taskKillGrace: duration('100ms'),
  /**
   * A task worker loading a job's code (its first batch of that job) is
   * stopped after this long and the batch's tasks fail (the scheduler retries
   * them). The load is not part of any task's run time or taskTimeout: under
   * load a fresh worker's load can outlast a short taskTimeout, and every
   * replacement would have to load again.
   */
  taskWorkerLoadTimeout: duration('30s'),
  /** A job's task worker idle this long is stopped (0 = never). */
  taskWorkerIdleTimeout: duration('60s'),
  /** Bound on the bytes held in the block store (input blocks, shuffle buckets, cached partitions). */
  blockStoreBytes: bytes('512MiB'),
  /** Heartbeat interval on NATS. */
  heartbeatInterval: duration('250ms'),
  /** Host name reported for NODE_LOCAL placement. */
  nodeName: z.string().default(hostname()),
  /**
   * Longest a map task waits for copies of its shuffle buckets to reach the
   * executors its reducers are planned on (scheduler shufflePush) before it
   * reports; a push not done by then is abandoned and its reducer fetches the
   * bucket from here instead.
   */
  shufflePushTimeout: duration('500ms'),
  /** Deadline of a FetchBlocks call to a peer. */
  fetchTimeout: duration('10s'),
  /** The gRPC channel to a peer executor is closed after this long without a fetch (and at once when the peer is declared lost); 0 = only when lost. */
  peerIdleTimeout: duration('2m'),
  /** JetStream object store bucket of state checkpoints (must match the scheduler's). */
  checkpointBucket: z.string().regex(/^[A-Za-z0-9_-]+$/).default('rivulet-checkpoints'),
  /** For tests and demos only: extra delay added to every task, to make a straggler. */
  taskDelay: duration('0ms'),
  /** For tests and demos only: every task holds its slot this many times as long as it ran (10 = a 10× slower machine). */
  taskSlowdown: z.coerce.number().min(1).max(1000).default(1),
});

export type ExecutorConfig = z.infer<typeof executorConfigSchema>;
