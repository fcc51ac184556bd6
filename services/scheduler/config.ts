/** Scheduler options. Flags/env per lib/config (e.g. --batch-interval / RIVULET_BATCH_INTERVAL). */
import { z } from 'zod';
import { bool, bytes, commonOptions, duration, int, list } from '../../lib/config/index.js';

export const schedulerConfigSchema = z.object({
  ...commonOptions,
  port: int(7071, 0, 65535),
  /** The batch clock: one batch per interval per job, 100ms–10s. */
  batchInterval: duration('1s').refine((v) => v >= 100 && v <= 10_000, 'batch interval must be between 100ms and 10s'),
  lineageAddress: z.string().default('127.0.0.1:7072'),
  receiverAddress: z.string().default('127.0.0.1:7070'),
  /**
   * This scheduler replica's name in the leader lease (leader-lease.ts).
   * Stable across restarts of the replica: a restarted incarnation takes its
   * own lease back at once instead of waiting leaseTimeout. Two schedulers
   * must never share it. Empty: the host name (a Kubernetes pod's name).
   */
  schedulerId: z.string().regex(/^[A-Za-z0-9_.-]*$/, 'scheduler ids are letters, digits, _ . -').max(128).default(''),
  /**
   * Schedulers contend for one lease; only its holder runs batches, the
   * others stand by following the journal. A standby takes over once the
   * lease has not been renewed for this long (at once when the holder
   * released it on a graceful stop, and as soon as nothing answers at the
   * holder's address). A paused or partitioned former leader cannot write:
   * every journal write is fenced (leader-lease.ts).
   */
  leaseTimeout: duration('2s').refine((v) => v >= 100, 'leaseTimeout must be at least 100ms'),
  /**
   * How often the leader renews its lease; 0 = every 250ms or leaseTimeout / 4 when shorter. A
   * standby probes the leader's address after two renewals it did not see (a killed leader is
   * replaced that soon); each renewal is one small JetStream write.
   */
  leaseRenewInterval: duration('0ms'),
  /** How long after a batch time to wait for the receiver's batch.ready before asking it over gRPC. */
  batchReadyTimeout: duration('500ms'),
  /** Receivers heartbeat this often (match the receivers' receiverHeartbeatInterval); a starting scheduler waits 1.5 of them before completing a batch. */
  receiverHeartbeatInterval: duration('250ms'),
  /**
   * A receiver silent this long is gone: a batch no longer waits for its share, which is then read from its
   * write-ahead log (receiver-tracker.ts). Until then, its share of a batch is waited for (a batch is late by up to this).
   */
  receiverTimeout: duration('1s'),
  /** Attempts per task before its batch (and job) fails. */
  maxTaskAttempts: int(4, 1, 100),
  /**
   * Longest a task attempt may hold an executor's slot: past it the executor
   * stops the worker thread running it (a runaway user function, e.g. an
   * endless loop), replaces it, and the attempt fails like any failure —
   * retried elsewhere, and the batch fails at maxTaskAttempts with an error
   * naming the operator. 0 = 10 × batchInterval, at least 30s.
   */
  taskTimeout: duration('0ms'),
  /** Executor heartbeat interval (must match the executors'). */
  heartbeatInterval: duration('250ms'),
  /**
   * An executor is declared lost after this many heartbeat intervals of
   * silence (default 4 × 250ms: lost within ~1.05 s of its last heartbeat, so
   * within 1.5 s of dying). A broken RunTasks stream declares it lost sooner,
   * as soon as a health probe confirms it is unreachable.
   */
  maxMissedHeartbeats: int(4, 1, 1000),
  /**
   * The scheduler declares nobody lost while it cannot see: while its own
   * event-loop lag (or the drift of its liveness timer) exceeds this, while
   * NATS is disconnected, and for one liveness timeout (heartbeatInterval ×
   * maxMissedHeartbeats) after either (liveness-guard.ts).
   */
  livenessMaxLag: duration('500ms'),
  /** Copies of every input block to keep; after an executor loss, blocks left with fewer are copied to another executor. Match the receiver's. */
  replication: int(2, 1, 5),
  /**
   * Pre-scheduled reducers with pushed map outputs (as Drizzle pre-schedules
   * reduce tasks): each batch's reduce partitions are planned on executors
   * when its first map stage starts, map tasks push a copy of each bucket to
   * its reducer's executor, and reduce tasks go there when it has room — so
   * they read their input locally instead of one fetch per map executor.
   * Best effort: a bucket not pushed, or a reducer run elsewhere, is fetched.
   */
  shufflePush: bool(true),
  /**
   * Group scheduling (Drizzle): batches of a job planned G at a time — each
   * executor is sent the group's plan once, and starts each planned batch's
   * tasks itself when the receiver announces the batch (no launch from the
   * scheduler on the steady path; group-planner.ts). `auto` (default) adapts
   * G between 2 and maxGroupSize: it doubles after each group without a
   * failed task and starts small again after a failure or a placement
   * change. `1` launches every batch from the scheduler. Jobs with windows,
   * state, several input streams or cached datasets are always launched
   * batch by batch (`rivulet status` says why).
   */
  groupSize: z
    .union([z.literal('auto'), z.coerce.number().int().min(1).max(1024)])
    .default('auto'),
  /** The largest group `groupSize: auto` grows to. */
  maxGroupSize: int(32, 2, 1024),
  /**
   * How long a planned reduce task waits on its executor for the map outputs
   * it reads (pushed there by the map tasks) before it gives up and the
   * scheduler places it itself, fetching what is missing.
   */
  groupInputWait: duration('5s'),
  /** Speculative execution of stragglers (Spark's spark.speculation, on by default here). */
  speculation: bool(true),
  /**
   * Fraction of a stage's tasks that must be done before speculating
   * (spark.speculation.quantile). Lower than Spark's 0.75: micro-batch stages
   * are small (a few tasks per slot), and one slow executor with several slots
   * can hold more than a quarter of them, which would block speculation
   * exactly when it is needed.
   */
  speculationQuantile: z.coerce.number().min(0).max(1).default(0.5),
  /** A task is a straggler when it has run this many times the stage's median (spark.speculation.multiplier). */
  speculationMultiplier: z.coerce.number().min(1).default(1.5),
  /** ...and at least this long, so sub-millisecond noise never triggers copies. */
  speculationMinRuntime: duration('100ms'),
  /**
   * An executor whose tasks' median pace (time in a slot per input record
   * over their stage's, an attempt overtaken by its copy counting as slowest;
   * executor-tracker.ts, task-set-manager.ts paceOf) is this many times the
   * other executors' is flagged slow (status): it gets no new work while a
   * faster executor is alive (tasks wait for a place on those instead); it is
   * released under half this ratio, or 30 s later measured afresh with
   * ordinary work. 0 = never.
   */
  slowExecutorRatio: z.coerce.number().min(0).default(3),
  /** How often stragglers are looked for. */
  speculationInterval: duration('50ms'),
  /** Delay scheduling: how long a task waits for a free slot on an executor that holds its input. */
  localityWait: duration('30ms'),
  /**
   * Reduce partitions, when an operator names none and defaultParallelism is
   * 0, per task slot: a batch is planned with (total slots) × this. Several
   * small tasks per slot rather than one big one (launching a task is cheap):
   * a slow executor or a hot key holds up a smaller share of the stage, a
   * speculative copy re-runs less, and partitions lost with an executor are
   * rebuilt in parallel by every other slot. Total slots are the alive
   * executors', or the most they were in the last 30 s when that is more (an
   * executor briefly missing, e.g. restarting, does not shrink the plan); a
   * state keeps the count it started with.
   */
  partitionsPerSlot: int(2, 1, 1000),
  /** Reduce partitions when an operator gives none; 0 = total slots × partitionsPerSlot at batch start. */
  defaultParallelism: int(0, 0, 10_000),
  /**
   * Ended (STOPPED or FAILED) jobs the scheduler keeps listing, with their
   * retained outputs (Spark's spark.ui.retainedJobs): past it the earliest
   * submitted ended job is forgotten — gone from status and WatchOutput, its
   * job-journal entries purged — so a long-lived cluster running many short
   * jobs does not grow without bound. 0: forgotten as soon as it ends.
   */
  retainedEndedJobs: int(100, 0, 100_000),
  /** Committed output batches kept per (job, output) for WatchOutput replays and SliceOutput. */
  outputRetentionBatches: int(100, 1, 100_000),
  /** Bound on the bytes of retained output per (job, output), in memory and in the outputs stream. */
  outputRetentionBytes: bytes('64MiB'),
  /**
   * Largest result one task may send back (the records of one partition of
   * an output): the scheduler holds it in memory while it reassembles it from
   * maxMessageBytes-sized slices, so this bounds that memory per result. A
   * larger result fails its task with an error naming this option (Spark's
   * spark.driver.maxResultSize, per task rather than per batch).
   */
  maxTaskResultBytes: bytes('256MiB'),
  /** Largest job bundle accepted by SubmitJob. */
  maxBundleBytes: bytes('8MiB'),
  /**
   * Time limit for evaluating a job module and building its graph. Both run
   * in a worker thread (never on the scheduler's event loop) that is stopped
   * when this runs out; the submission fails naming it.
   */
  jobBuildTimeout: duration('5s'),
  /**
   * Heap limit of the worker threads that run job code for the scheduler
   * (building a job's graph; a job's foreachBatch functions). A job over it
   * fails with an error naming this option; the scheduler is unaffected.
   */
  jobSandboxMemory: bytes('1GiB'),
  /**
   * Longest a batch's foreachBatch functions may run (in the job's own
   * worker thread, off the scheduler's event loop). On overrun the worker is
   * stopped (a fresh one serves the next batch) and the batch, so the job,
   * fails naming this option.
   */
  foreachBatchTimeout: duration('30s'),
  /**
   * Batches of a job that may be queued or running at once. When the next is
   * due beyond it the job is falling behind, and `onFallingBehind` decides.
   */
  maxQueuedBatches: int(100, 1, 100_000),
  /**
   * What a job falling `maxQueuedBatches` behind means. 'backpressure': new
   * batches wait (they are created, in order, once the queue shrinks; their
   * input stays on the receiver, which keeps `retainBatches` per stream) and
   * the job stays RUNNING, while the rate controller lowers the streams'
   * ingest rate (the waiting shows as scheduling delay). 'fail': the job
   * FAILS at once, naming this option (fail fast, as before backpressure).
   */
  onFallingBehind: z.enum(['backpressure', 'fail']).default('backpressure'),
  /**
   * Backpressure (Spark's spark.streaming.backpressure.enabled, on by default
   * here): a PID rate controller (rate-controller.ts) fed by every completed
   * batch sets each stream's ingest rate, published on NATS
   * `rivulet.rate-limits`; the receiver paces pushes to it. false: no rate is
   * published and streams are ingested as fast as producers push.
   */
  backpressure: bool(true),
  /** Lowest rate backpressure sets, in records per second per stream (pid.minRate). */
  backpressureMinRate: z.coerce.number().positive().default(100),
  /**
   * Ingest rate, in records per second per stream, of a job's streams from
   * its first batch until the rate controller has measured the job (two
   * batches with records; Spark's spark.streaming.backpressure.initialRate).
   * Without it (0, the default, as Spark) a job's streams are not limited
   * until then, so producers already offering more than the job can process
   * when it starts get in whole, and the backlog that builds drives the rate
   * to backpressureMinRate until it drains. Set it to about what a new job is
   * expected to process.
   */
  backpressureInitialRate: z.coerce.number().min(0).default(0),
  /** PID gains of the rate controller (Spark's pid.proportional / pid.integral / pid.derived). */
  backpressureProportional: z.coerce.number().min(0).default(1),
  backpressureIntegral: z.coerce.number().min(0).default(0.2),
  backpressureDerivative: z.coerce.number().min(0).default(0),
  /**
   * Port of the HTTP status page (Spark's UI port); 0 picks a free one. The
   * scheduler prints the bound URL as a `{"msg":"status page","url":…}` line.
   */
  statusPort: int(4040, 0, 65535),
  /** Interface the status page binds to. The page is read-only and unauthenticated, hence loopback by default. */
  statusHost: z.string().default('127.0.0.1'),
  /**
   * Host names the status page also answers to (comma separated; `name` or `name:port`), besides the
   * bound host, localhost, 127.0.0.1, [::1] and IP literals — e.g. the DNS name of a Service or Ingress
   * in front of it. Any other `Host` header is answered 421 (DNS rebinding defence). `*` = any Host.
   */
  statusAllowedHosts: list(),
  /**
   * Largest GetStatus answer (and status page snapshot): one page of jobs, as many as fit; clients follow
   * next_page_token for the rest. At most maxMessageBytes is used. 4MiB fits any gRPC client's default limit.
   */
  maxStatusBytes: bytes('4MiB'),
  /**
   * How often stateful operators (updateStateByKey, mapWithState) checkpoint
   * their state to the checkpoint store: every batch whose time since the
   * job's zero time is a multiple of it. 0 = 10 × batchInterval (Spark's
   * default). Between checkpoints each batch's values are kept (two copies)
   * so that a state lost on every executor is rebuilt from the last
   * checkpoint; a longer interval means fewer writes, more kept batches and a
   * longer replay.
   */
  stateCheckpointInterval: duration('0ms'),
  /**
   * JetStream KV bucket of the job journal (and `<jobsBucket>-bundles`, the
   * object store of job bundles): a restarted scheduler resumes the jobs
   * recorded there.
   */
  jobsBucket: z.string().regex(/^[A-Za-z0-9_-]+$/).default('rivulet-scheduler'),
  /**
   * JetStream stream of journaled jobs' committed outputs, replayed after a
   * restart: outputRetentionBatches and outputRetentionBytes kept per output;
   * a batch over the NATS max payload is stored in chunks.
   */
  outputsStream: z.string().regex(/^[A-Za-z0-9_-]+$/).default('rivulet-outputs'),
  /**
   * NATS subjects outputs' JetStream sinks (`output(name).toJetStream(subject)`)
   * may publish to, comma separated: the scheduler's NATS user is allowed to
   * publish exactly these (lib/security/nats-permissions.ts,
   * docs/nats-security.conf); a job publishing elsewhere fails naming this option.
   */
  sinkSubjects: list(['sinks.>']).refine((l) => l.length > 0, 'sinkSubjects needs at least one subject'),
  /**
   * JetStream stream over sinkSubjects that the scheduler creates (or updates)
   * before the first sink write, with sinkDuplicateWindow and sinkStreamMaxBytes.
   */
  sinkStream: z.string().regex(/^[A-Za-z0-9_-]+$/).default('rivulet-sinks'),
  /** Bound on sinkStream's bytes (limits retention: the oldest messages are discarded). */
  sinkStreamMaxBytes: bytes('1GiB'),
  /**
   * The shortest duplicate_window a JetStream sink's stream may have: message
   * ids are remembered this long, so a batch re-published within it (after
   * any failure) is stored once. A stream with a shorter window fails the job
   * at its first write. Make it longer than the longest recovery you expect
   * (a scheduler down and back, a NATS outage).
   */
  sinkDuplicateWindow: duration('2m'),
  /**
   * How long one batch's write to one sink may keep failing and be retried
   * (with backoff from sinkRetryBackoff, doubling up to sinkRetryMaxBackoff)
   * before the batch fails naming the sink. Only failures worth retrying (the
   * database or NATS unreachable) are; a missing table or a bad record fails at once.
   */
  sinkRetryTimeout: duration('30s'),
  sinkRetryBackoff: duration('200ms'),
  sinkRetryMaxBackoff: duration('5s'),
  /** One sink request at most: a PostgreSQL connect or statement, a JetStream publish's acknowledgement. */
  sinkRequestTimeout: duration('10s'),
  /** Records per INSERT statement (at most 65,535 parameters) and JetStream publishes in flight, per sink write. */
  sinkChunkRecords: int(1000, 1, 65_535),
  /** PostgreSQL connections per connection string (shared by every job writing through it). */
  sinkMaxConnections: int(4, 1, 1000),
  /** JetStream object store bucket of state checkpoints (must match the executors'). */
  checkpointBucket: z.string().regex(/^[A-Za-z0-9_-]+$/).default('rivulet-checkpoints'),
  /**
   * TEST-ONLY: serve the SchedulerTesting API (scheduler_testing.proto) that
   * rivulet/testing's runBatches drives batches through. Never enable in production.
   */
  testDriver: bool(false),
});

export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;

/** The task timeout in force: taskTimeout, or 10 batch intervals and at least 30 s when it is 0. */
export function taskTimeoutMs(config: Pick<SchedulerConfig, 'taskTimeout' | 'batchInterval'>): number {
  return config.taskTimeout || Math.max(30_000, 10 * config.batchInterval);
}

/** stateCheckpointInterval, a multiple of the batch interval (0: Spark's 10 intervals). */
export function checkpointIntervalMs(batchIntervalMs: number, stateCheckpointInterval: number): number {
  const every = stateCheckpointInterval || 10 * batchIntervalMs;
  return Math.max(1, Math.ceil(every / batchIntervalMs)) * batchIntervalMs;
}

/** How often the leader renews its lease. */
export function leaseRenewIntervalMs(config: Pick<SchedulerConfig, 'leaseTimeout' | 'leaseRenewInterval'>): number {
  const ms = config.leaseRenewInterval || Math.min(250, Math.floor(config.leaseTimeout / 4));
  return Math.max(10, Math.min(ms, Math.floor(config.leaseTimeout / 2)));
}
