/**
 * Running one TaskSpec on this executor, from inputs to TaskResult:
 *
 *   validate → find the bundle → gather inputs (local store first, then ONE
 *   FetchBlocks call per peer) → run on a task slot → store shuffle buckets /
 *   return result records → TaskResult with metrics.
 *
 * Block ids: an input block (or a cached partition a window reads) is
 * `BlockInput.block_id`, found by the runtime under `input_key` when set; a
 * cache sink keeps the result as the pinned block `CacheSink.block_id`; a shuffle bucket is
 * `shuffle/<shuffle_id>/<map_partition>/<reduce_partition>`, written here by
 * map tasks as pinned blocks and read by reduce tasks anywhere. The map
 * partition is global (`ShuffleWrite.map_partition_offset + partition`), so
 * the sides of a cogroup never collide.
 *
 * Failure classification (what the scheduler acts on):
 *  - user code threw (or the bundle fails to build), or a result task's records
 *    exceed ResultSink.max_result_bytes (the scheduler's maxTaskResultBytes) →
 *    FAILED, user_error=true;
 *  - an input could not be fetched from a peer → FAILED,
 *    fetch_failed_executor_id=<peer> (recompute its outputs, don't blame the task);
 *  - anything else (bad spec, bundle not loaded, worker crash, store full,
 *    the task ran past TaskSpec.timeout_ms and its worker was stopped) →
 *    FAILED, user_error=false (retry elsewhere; the batch fails at maxTaskAttempts);
 *  - KillTasks → KILLED, and any result is discarded.
 *
 * It never throws: every outcome is a TaskResult.
 */
import { performance } from 'node:perf_hooks';
import { context, trace, type Span } from '@opentelemetry/api';
import { errorMessage, ResourceExhaustedError } from '../../lib/errors.js';
import { nameProblem, ruleOf, type NameKind } from '../../lib/names.js';
import { sourceKey, type TaskSink } from '../../lib/dstream/runtime.js';
import type { TaskSpec__Output } from '../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import type { TaskResult } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { ExecutorRef__Output } from '../../lib/proto/gen/rivulet/v1/ExecutorRef.js';
import type { ShufflePushTarget__Output } from '../../lib/proto/gen/rivulet/v1/ShufflePushTarget.js';
import type { BlockStore } from './block-store.js';
import { CheckpointUnavailableError, readCheckpoint, type CheckpointStore } from '../../lib/checkpoint/store.js';
import type { Logger } from '../../lib/log.js';
import type { JobBundles } from './job-bundles.js';
import { JetStreamReadError, type JetStreamReader } from './jetstream-reader.js';
import { FetchAbortedError, FetchFailedError, type BlockFetcher, type Peer } from './peer-fetcher.js';
import type { PoolHandle, PoolTask, TaskPool } from './task-pool.js';
import { instruments } from '../../lib/telemetry/metrics.js';
import { isPlannedAttempt, shuffleBlockId } from '../../lib/scheduling/group-plan.js';
import { forEachMapOutput, mapOutputCount } from '../../lib/scheduling/map-outputs.js';
import { Attr, contextFromMap, failSpan, tracer } from '../../lib/telemetry/tracing.js';

// One definition of a bucket's id: planned reducers (planned-tasks.ts) wait for exactly these.
export { shuffleBlockId };

/** Prefix of every bucket of one shuffle, for DropBlocks. */
export function shufflePrefix(shuffleId: string): string {
  return `shuffle/${shuffleId}/`;
}

export interface TaskExecution {
  readonly taskId: string;
  readonly attempt: number;
  readonly result: Promise<TaskResult>;
  /** Best-effort kill; false when the task already finished. */
  kill(): boolean;
}

export interface TaskRunnerOptions {
  executorId: string;
  /**
   * This executor's current incarnation (it changes when the executor rejoins
   * after being declared lost, incarnation.ts); a task's results carry the one
   * it started under, so results of a fenced incarnation stay fenced.
   */
  epoch: () => number;
  store: BlockStore;
  pool: TaskPool;
  bundles: JobBundles;
  fetcher: BlockFetcher;
  /**
   * Where state checkpoints are written and read (CacheSink.checkpoint,
   * BlockInput.checkpoint): the object store bucket, opened on first use.
   * What is read back is checked before a task sees it (lib/checkpoint/store.ts).
   */
  checkpoints?: { bucket: string; open: () => Promise<CheckpointStore> };
  /** Reads slices of JetStream direct sources (BlockInput.jet_stream) with the executor's NATS connection. */
  jetStream?: JetStreamReader;
  /** For the once-per-source warning about a corrupt checkpoint. */
  log?: Logger;
  /** Longest a map task waits for its buckets' pushes (ShuffleWrite.push) before it reports; config shufflePushTimeout. @default 500 */
  pushTimeoutMs?: number;
}

type Lifecycle = 'fetching' | 'submitted' | 'done';

/** One task on this executor; `kill` may arrive in any phase. */
class Execution implements TaskExecution {
  state: Lifecycle = 'fetching';
  killed = false;
  readonly abort = new AbortController();
  handle?: PoolHandle;
  result!: Promise<TaskResult>;

  constructor(
    readonly taskId: string,
    readonly attempt: number,
    readonly epoch: number,
  ) {}

  kill(): boolean {
    if (this.state === 'done' || this.killed) return false;
    this.killed = true;
    this.abort.abort();
    this.handle?.cancel();
    return true;
  }

  /** Kill only if no worker has started it yet (fetching its inputs, or queued for a slot): a task stolen by an idle executor. */
  withdraw(): boolean {
    if (this.state === 'done' || this.killed) return false;
    if (this.state === 'fetching' || (this.handle !== undefined && this.handle.cancelIfQueued())) {
      this.killed = true;
      this.abort.abort();
      return true;
    }
    return false;
  }
}

class InvalidTaskError extends Error {
  override name = 'InvalidTaskError';
}

/** One block to read from a peer, with the replicas still to try. */
interface RemoteNeed {
  id: string;
  candidates: Peer[];
  next: number;
  /** Stores the payload where the task's inputs expect it. */
  put: (data: Uint8Array) => void;
}

export class TaskRunner {
  private readonly active = new Map<string, Execution>();

  /** Shuffle buckets pushed to reducers' executors, and those whose push failed (fetched instead): for tests and metrics. */
  pushed = 0;
  pushFailures = 0;

  constructor(private readonly opts: TaskRunnerOptions) {}

  /** Tasks accepted and not finished (fetching, queued or running). */
  get activeCount(): number {
    return this.active.size;
  }

  start(spec: TaskSpec__Output): TaskExecution {
    const exec = new Execution(spec.taskId ?? '', spec.attempt ?? 0, this.opts.epoch());
    const key = attemptKey(exec.taskId, exec.attempt);
    const problem = specProblem(spec);
    if (problem !== undefined) {
      exec.state = 'done';
      exec.result = Promise.resolve(this.failed(exec, `task refused: ${problem}`));
      return exec;
    }
    if (this.active.has(key)) {
      exec.state = 'done';
      exec.result = Promise.resolve(
        this.failed(exec, `task ${exec.taskId} attempt ${exec.attempt} is already running on executor ${this.opts.executorId}`),
      );
      return exec;
    }
    this.active.set(key, exec);
    const span = this.taskSpan(spec);
    // Inside the task's span: its FetchBlocks calls are children of it.
    exec.result = context
      .with(trace.setSpan(context.active(), span), () => this.run(spec, exec))
      .catch((e) => this.failed(exec, `executor error: ${errorMessage(e)}`))
      .then((result) => {
        endTaskSpan(span, result);
        return result;
      })
      .finally(() => {
        exec.state = 'done';
        this.active.delete(key);
      });
    return exec;
  }

  /**
   * `rivulet.task`: a child of the task's stage span when the spec carries its
   * context (TaskSpec.trace_context), else of whatever is active (the RunTasks
   * server span), which it then links to.
   */
  private taskSpan(spec: TaskSpec__Output): Span {
    const active = context.active();
    const parent = contextFromMap(spec.traceContext);
    const call = trace.getSpan(active)?.spanContext();
    const span = tracer().startSpan('rivulet.task', parent !== active && call ? { links: [{ context: call }] } : {}, parent);
    // Attributes only for a span that is recorded: with tracing off (or not sampled) a tiny task pays nothing for them.
    if (span.isRecording()) {
      span.setAttributes({
        [Attr.TASK_ID]: spec.taskId,
        [Attr.JOB_ID]: spec.jobId,
        [Attr.BATCH_TIME_MS]: Number(spec.batchTimeMs),
        [Attr.STAGE_ID]: spec.stageId,
        [Attr.TASK_PARTITION]: spec.partition,
        [Attr.TASK_ATTEMPT]: spec.attempt,
        [Attr.TASK_LOCALITY]: spec.locality,
        [Attr.TASK_SPECULATIVE]: spec.speculative,
        [Attr.EXECUTOR_ID]: this.opts.executorId,
      });
    }
    return span;
  }

  kill(taskId: string, attempt: number): boolean {
    return this.active.get(attemptKey(taskId, attempt))?.kill() ?? false;
  }

  /** Take back a task that has not started in a slot yet (the scheduler gives it to an idle executor); false when it has started or ended. */
  withdraw(taskId: string, attempt: number): boolean {
    return this.active.get(attemptKey(taskId, attempt))?.withdraw() ?? false;
  }

  /** Kill every task started under an incarnation older than `epoch` (the scheduler runs them elsewhere); returns how many. */
  killOlderThan(epoch: number): number {
    let killed = 0;
    for (const exec of this.active.values()) if (exec.epoch < epoch && exec.kill()) killed++;
    return killed;
  }

  private async run(spec: TaskSpec__Output, exec: Execution): Promise<TaskResult> {
    let sink: TaskSink;
    try {
      sink = sinkOf(spec);
    } catch (e) {
      return this.failed(exec, `invalid task spec: ${(e as Error).message}`);
    }
    const bundle = this.opts.bundles.get(spec.bundleHash);
    if (!bundle) {
      return this.failed(
        exec,
        `job bundle ${spec.bundleHash || '(none)'} not loaded on executor ${this.opts.executorId}; call LoadJob before RunTasks`,
      );
    }

    let inputs: Omit<PoolTask, 'bundle' | 'sink'>;
    let fetchMs: number;
    try {
      ({ inputs, fetchMs } = await this.gatherInputs(spec, exec));
    } catch (e) {
      if (exec.killed || e instanceof FetchAbortedError) return this.killedResult(exec);
      if (e instanceof FetchFailedError) {
        return { ...this.failed(exec, e.message), fetchFailedExecutorId: e.executorId };
      }
      if (e instanceof InvalidTaskError) return this.failed(exec, `invalid task spec: ${e.message}`);
      // Missing, unreadable or corrupt: not the task's fault; the scheduler retries it (and fails the batch at maxTaskAttempts).
      if (e instanceof CheckpointUnavailableError) return this.failed(exec, e.message);
      // The stream is gone, the slice's messages were purged, or NATS could not answer: retried, then the batch fails with this.
      if (e instanceof JetStreamReadError) return this.failed(exec, e.message);
      throw e;
    }
    if (exec.killed) return this.killedResult(exec);

    exec.state = 'submitted';
    exec.handle = this.opts.pool.submit({ ...inputs, bundle, sink, timeoutMs: spec.timeoutMs ?? 0 });
    const outcome = await exec.handle.outcome;
    switch (outcome.kind) {
      case 'killed':
        return this.killedResult(exec);
      case 'failed':
        return { ...this.failed(exec, outcome.message), metrics: metrics(0, 0, 0, 0, fetchMs, outcome.queueMs) };
      case 'userError':
        return {
          ...this.failed(exec, outcome.message),
          userError: true,
          metrics: metrics(0, 0, 0, outcome.runMs, fetchMs, outcome.queueMs),
        };
      case 'ok':
        break;
    }
    if (exec.killed) return this.killedResult(exec);

    if (outcome.buckets) {
      const shuffleId = spec.shuffleWrite!.shuffleId;
      // Global map partition: parents of a multi-parent shuffle are numbered one after the other.
      const mapPartition = (spec.shuffleWrite!.mapPartitionOffset ?? 0) + spec.partition;
      // Each bucket's size only for a scheduler that asks for them (an older one adds them up; a newer one reads bytes_out).
      const bucketBytes = spec.shuffleWrite!.totalBytesOnly ? undefined : new Array<number>(outcome.buckets.length);
      let bytesOut = 0;
      const puts = outcome.buckets.map((payload, r) => {
        if (bucketBytes) bucketBytes[r] = payload.byteLength;
        bytesOut += payload.byteLength;
        const id = shuffleBlockId(shuffleId, mapPartition, r);
        return { id, kind: 'shuffle' as const, count: outcome.bucketCounts?.[r] ?? 0, payload };
      });
      // The pushes go out first: storing the buckets here may start local reducers (planned-tasks.ts), and the
      // reducers on the other executors wait for these copies.
      const pushes = spec.shuffleWrite!.push ?? [];
      const pushed = pushes.length > 0 ? this.pushBuckets(pushes, puts) : undefined;
      try {
        this.opts.store.putAll(puts);
      } catch (e) {
        if (!(e instanceof ResourceExhaustedError)) throw e;
        return {
          ...this.failed(exec, `cannot keep the task's shuffle output: ${e.message}`),
          metrics: metrics(outcome.recordsIn, outcome.recordsOut, 0, outcome.runMs, fetchMs, outcome.queueMs),
        };
      }
      // A launched map task reports once its pushes are done (or timed out): the scheduler then launches the
      // reducers where their buckets were pushed. A planned one reports at once: its reducers wait on their
      // executors for exactly these copies (and one that never comes falls back to a fetch from here), while the
      // scheduler, which adopts a planned batch's reducers only once its map side is done, need not wait for them.
      if (pushed && !isPlannedAttempt(exec.attempt)) await pushed;
      if (exec.killed) return this.killedResult(exec);
      return {
        ...this.base(exec),
        state: 'SUCCEEDED',
        ...deadLettersOf(outcome),
        ...(bucketBytes ? { bucketBytes } : {}),
        metrics: metrics(outcome.recordsIn, outcome.recordsOut, bytesOut, outcome.runMs, fetchMs, outcome.queueMs),
      };
    }
    const payload = outcome.result ?? Buffer.alloc(0);
    if (spec.sink === 'cache' && spec.cache) {
      if (spec.cache.checkpoint) {
        // A state partition of a checkpoint batch: durable before the task counts as done.
        try {
          if (!this.opts.checkpoints) throw new Error(`executor ${this.opts.executorId} has no checkpoint store`);
          await (await this.opts.checkpoints.open()).put(spec.cache.checkpoint, payload);
        } catch (e) {
          return {
            ...this.failed(exec, `cannot write checkpoint ${spec.cache.checkpoint}: ${errorMessage(e)}`),
            metrics: metrics(outcome.recordsIn, outcome.recordsOut, 0, outcome.runMs, fetchMs, outcome.queueMs),
          };
        }
        if (exec.killed) return this.killedResult(exec);
      }
      // A partition kept for windows of later batches: pinned, dropped by the scheduler once no window can reach it.
      try {
        this.opts.store.put({ id: spec.cache.blockId, kind: 'cached', count: outcome.recordsOut, payload: Buffer.from(payload), pinned: true });
      } catch (e) {
        if (!(e instanceof ResourceExhaustedError)) throw e;
        return {
          ...this.failed(exec, `cannot keep the cached partition ${spec.cache.blockId}: ${e.message}`),
          metrics: metrics(outcome.recordsIn, outcome.recordsOut, 0, outcome.runMs, fetchMs, outcome.queueMs),
        };
      }
      return {
        ...this.base(exec),
        state: 'SUCCEEDED',
        ...deadLettersOf(outcome),
        records: { count: outcome.recordsOut, payload: Buffer.alloc(0) },
        metrics: metrics(outcome.recordsIn, outcome.recordsOut, payload.byteLength, outcome.runMs, fetchMs, outcome.queueMs),
      };
    }
    const maxResultBytes = Number(spec.result?.maxResultBytes ?? 0);
    if (maxResultBytes > 0 && payload.byteLength > maxResultBytes) {
      // The scheduler would hold it all in memory: refused here, before a byte of it is sent.
      return {
        ...this.failed(
          exec,
          `the task's result is ${payload.byteLength} bytes, over the scheduler's ${maxResultBytes}-byte limit of one task's result (maxTaskResultBytes): ` +
            'spread the output over more partitions (e.g. repartition) or raise maxTaskResultBytes',
        ),
        userError: true,
        metrics: metrics(outcome.recordsIn, outcome.recordsOut, 0, outcome.runMs, fetchMs, outcome.queueMs),
      };
    }
    return {
      ...this.base(exec),
      state: 'SUCCEEDED',
      ...deadLettersOf(outcome),
      records: { count: outcome.recordsOut, payload },
      metrics: metrics(outcome.recordsIn, outcome.recordsOut, payload.byteLength, outcome.runMs, fetchMs, outcome.queueMs),
    };
  }

  /**
   * Resolve every input to a payload: local blocks straight from the store,
   * the rest with one FetchBlocks call per peer (all peers in parallel).
   */
  private async gatherInputs(
    spec: TaskSpec__Output,
    exec: Execution,
  ): Promise<{ inputs: Omit<PoolTask, 'bundle' | 'sink'>; fetchMs: number }> {
    const me = this.opts.executorId;
    const store = this.opts.store;
    const remote: RemoteNeed[] = [];
    const empty: Uint8Array = new Uint8Array(0);

    const blocks: Array<{ key: string; data: Uint8Array }> = [];
    const checkpointReads: Array<Promise<void>> = [];
    for (const input of spec.blocks) {
      if (!input.dataset) throw new InvalidTaskError(`block input ${input.blockId} has no dataset`);
      if (input.checkpoint) {
        // A state rebuilt from its last checkpoint: read from the checkpoint store, not from a peer.
        const slot = { key: input.inputKey || sourceKey(input.dataset.nodeId, input.partition), data: empty };
        blocks.push(slot);
        checkpointReads.push(this.readCheckpoint(input.checkpoint).then((d) => void (slot.data = d)));
        continue;
      }
      if (input.jetStream) {
        // A slice of a JetStream direct source: read from the stream, not from a peer.
        const slot = { key: input.inputKey || sourceKey(input.dataset.nodeId, input.partition), data: empty };
        blocks.push(slot);
        const reader = this.opts.jetStream;
        if (!reader) throw new InvalidTaskError(`the task reads a JetStream slice but executor ${this.opts.executorId} has no JetStream reader`);
        checkpointReads.push(reader.read(input.jetStream, exec.abort.signal).then((r) => void (slot.data = r.frame)));
        continue;
      }
      if (!input.blockId) throw new InvalidTaskError(`a block input of dataset node ${input.dataset.nodeId} has no block_id`);
      const slot = { key: input.inputKey || sourceKey(input.dataset.nodeId, input.partition), data: empty };
      blocks.push(slot);
      const local = store.get(input.blockId);
      if (local) {
        slot.data = local.payload;
        continue;
      }
      const candidates = input.locations.filter((l) => l.executorId !== me).map(peerOf);
      if (candidates.length === 0) {
        if (input.locations.length === 0) {
          throw new InvalidTaskError(`input block ${input.blockId} is not on executor ${me} and the task names no location for it`);
        }
        // Only this executor was meant to hold it: it was lost here (restart or drop).
        throw new FetchFailedError(me, `input block ${input.blockId} is not on executor ${me}, its only location`);
      }
      remote.push({ id: input.blockId, candidates, next: 0, put: (d) => (slot.data = d) });
    }

    const shuffles: Array<{ nodeId: number; buckets: Uint8Array[] }> = [];
    for (const input of spec.shuffles) {
      if (!input.dataset) throw new InvalidTaskError(`shuffle input ${input.shuffleId} has no dataset`);
      if (!input.shuffleId) throw new InvalidTaskError(`a shuffle input of dataset node ${input.dataset.nodeId} has no shuffle_id`);
      const buckets = new Array<Uint8Array>(mapOutputCount(input));
      shuffles.push({ nodeId: input.dataset.nodeId, buckets });
      forEachMapOutput(input, (mapPartition, owner, i) => {
        const id = shuffleBlockId(input.shuffleId, mapPartition, input.reducePartition);
        // Ids are deterministic, so a local copy (e.g. from a speculative map
        // attempt that ran here) serves whoever the scheduler says holds it.
        const local = store.get(id);
        if (local) {
          buckets[i] = local.payload;
          return;
        }
        if (!owner || !owner.executorId) throw new InvalidTaskError(`map output ${mapPartition} of shuffle ${input.shuffleId} names no executor`);
        if (owner.executorId === me) {
          throw new FetchFailedError(me, `shuffle block ${id} is not on executor ${me} (its map output was lost)`);
        }
        remote.push({ id, candidates: [peerOf(owner)], next: 0, put: (d) => (buckets[i] = d) });
      });
    }

    let fetchMs = 0;
    if (remote.length > 0 || checkpointReads.length > 0) {
      const t0 = performance.now();
      await Promise.all([this.fetchRemote(remote, exec.abort.signal), ...checkpointReads]);
      fetchMs = performance.now() - t0;
    }
    return {
      inputs: {
        nodeId: spec.dataset!.nodeId,
        partition: spec.partition,
        blocks,
        shuffles,
        nodePartitions: spec.nodePartitions ?? [],
        batchTimeMs: Number(spec.batchTimeMs),
        stateReplay: (spec.stateReplay ?? []).map(Number),
      },
      fetchMs,
    };
  }

  /**
   * Copy buckets to the executors their reducers are planned on, one call per
   * executor, all at once, waiting at most pushTimeoutMs. Best effort by
   * design: the buckets stay here, and a reducer that does not find its copy
   * (a push failed, timed out, or the reducer ran elsewhere) fetches it from
   * here as before — so a failure is not the task's.
   */
  private async pushBuckets(targets: readonly ShufflePushTarget__Output[], buckets: ReadonlyArray<{ id: string; count: number; payload: Uint8Array }>): Promise<void> {
    const push = this.opts.fetcher.push?.bind(this.opts.fetcher);
    if (!push) return;
    const timeoutMs = this.opts.pushTimeoutMs ?? 500;
    await Promise.all(
      targets.map(async (t) => {
        if (!t.executor || t.executor.executorId === this.opts.executorId) return;
        const blocks = t.reducePartitions.map((r) => buckets[r]).filter((b) => b !== undefined);
        try {
          await push(peerOf(t.executor), blocks, timeoutMs);
          this.pushed += blocks.length;
        } catch {
          this.pushFailures += blocks.length;
        }
      }),
    );
  }

  private async readCheckpoint(name: string): Promise<Uint8Array> {
    const checkpoints = this.opts.checkpoints;
    if (!checkpoints) throw new InvalidTaskError(`the task reads checkpoint ${name} but executor ${this.opts.executorId} has no checkpoint store`);
    let store: CheckpointStore;
    try {
      store = await checkpoints.open();
    } catch (e) {
      throw new CheckpointUnavailableError(`cannot open the checkpoint store (bucket ${checkpoints.bucket}) to read checkpoint ${name}: ${errorMessage(e)}`, { cause: e });
    }
    return readCheckpoint(store, name, { bucket: checkpoints.bucket, ...(this.opts.log ? { log: this.opts.log } : {}) });
  }

  /**
   * One FetchBlocks call per peer per round; blocks whose peer failed move to
   * their next replica for another round. Throws FetchFailedError naming the
   * peer when a block has no replica left.
   */
  private async fetchRemote(needs: RemoteNeed[], outer: AbortSignal): Promise<void> {
    const ctl = new AbortController();
    const onOuterAbort = () => ctl.abort();
    outer.addEventListener('abort', onOuterAbort, { once: true });
    try {
      let pending = needs;
      while (pending.length > 0) {
        const byPeer = new Map<string, { peer: Peer; needs: RemoteNeed[] }>();
        for (const n of pending) {
          const peer = n.candidates[n.next]!;
          const key = `${peer.executorId}\u0000${peer.address}`;
          let group = byPeer.get(key);
          if (!group) byPeer.set(key, (group = { peer, needs: [] }));
          group.needs.push(n);
        }
        const retry: RemoteNeed[] = [];
        let failure: FetchFailedError | undefined;
        await Promise.all(
          [...byPeer.values()].map(async ({ peer, needs: group }) => {
            try {
              const payloads = await this.opts.fetcher.fetch(
                peer,
                group.map((n) => n.id),
                ctl.signal,
              );
              for (let i = 0; i < group.length; i++) group[i]!.put(payloads[i]!);
            } catch (e) {
              if (e instanceof FetchAbortedError) return;
              const err = e instanceof FetchFailedError ? e : new FetchFailedError(peer.executorId, errorMessage(e), { cause: e });
              for (const n of group) {
                if (++n.next < n.candidates.length) retry.push(n);
                else if (!failure) {
                  failure = err;
                  ctl.abort(); // no point finishing the other calls
                }
              }
            }
          }),
        );
        if (outer.aborted) throw new FetchAbortedError('task killed');
        if (failure) throw failure;
        pending = retry;
      }
    } finally {
      outer.removeEventListener('abort', onOuterAbort);
    }
  }

  private base(exec: Execution): TaskResult {
    return { taskId: exec.taskId, attempt: exec.attempt, executorId: this.opts.executorId, epoch: exec.epoch };
  }

  private failed(exec: Execution, error: string): TaskResult {
    return { ...this.base(exec), state: 'FAILED', error, userError: false };
  }

  private killedResult(exec: Execution): TaskResult {
    return { ...this.base(exec), state: 'KILLED', error: `killed on executor ${this.opts.executorId}` };
  }
}

const MAX_SHUFFLE_PARTITIONS = 65_536;

function attemptKey(taskId: string, attempt: number): string {
  return `${taskId}\u0000${attempt}`;
}

function peerOf(ref: ExecutorRef__Output): Peer {
  return { executorId: ref.executorId, address: ref.address };
}

function sinkOf(spec: TaskSpec__Output): TaskSink {
  if (!spec.taskId) throw new Error('task_id is empty');
  if (!spec.dataset) throw new Error(`task ${spec.taskId} has no dataset`);
  if (spec.sink === 'shuffleWrite' && spec.shuffleWrite) {
    const w = spec.shuffleWrite;
    if (!w.dataset) throw new Error(`task ${spec.taskId}: shuffle_write has no dataset`);
    if (!w.shuffleId) throw new Error(`task ${spec.taskId}: shuffle_write has no shuffle_id`);
    if (!(w.numPartitions >= 1 && w.numPartitions <= MAX_SHUFFLE_PARTITIONS)) {
      // The upper bound keeps a corrupt spec from making a worker allocate millions of buckets.
      throw new Error(`task ${spec.taskId}: shuffle_write.num_partitions must be 1..${MAX_SHUFFLE_PARTITIONS}, got ${w.numPartitions}`);
    }
    return { kind: 'shuffle', shuffleNodeId: w.dataset.nodeId, numPartitions: w.numPartitions };
  }
  if (spec.sink === 'result' && spec.result) return { kind: 'result' };
  if (spec.sink === 'cache' && spec.cache) {
    if (!spec.cache.blockId) throw new Error(`task ${spec.taskId}: cache has no block_id`);
    return { kind: 'result' };
  }
  throw new Error(`task ${spec.taskId} has no sink (shuffle_write, result or cache)`);
}

function endTaskSpan(span: Span, r: TaskResult): void {
  instruments().tasksFinished.add(1, { [Attr.TASK_STATE]: String(r.state) });
  if (!span.isRecording()) return span.end();
  const m = r.metrics;
  span.setAttributes({
    [Attr.TASK_STATE]: String(r.state),
    [Attr.RECORDS_IN]: Number(m?.recordsIn ?? 0),
    [Attr.RECORDS_OUT]: Number(m?.recordsOut ?? 0),
    [Attr.BYTES_OUT]: Number(m?.bytesOut ?? 0),
    [Attr.TASK_FETCH_MS]: m?.fetchMs ?? 0,
    [Attr.TASK_QUEUE_MS]: m?.queueMs ?? 0,
    [Attr.TASK_RUN_MS]: m?.runMs ?? 0,
  });
  if (r.state !== 'SUCCEEDED') failSpan(span, r.error || String(r.state));
  span.end();
}

function metrics(recordsIn: number, recordsOut: number, bytesOut: number, runMs: number, fetchMs: number, queueMs: number) {
  return { recordsIn, recordsOut, bytesOut, runMs, fetchMs, queueMs };
}

/**
 * Why a task's names and ids break the shared rule (lib/names.ts), or
 * undefined: such a task is failed at once, never run. Empty ones are left
 * to the spec checks that say what is missing.
 */
function specProblem(spec: TaskSpec__Output): string | undefined {
  const checks: Array<[string, unknown, NameKind]> = [
    ['task_id', spec.taskId, 'id'],
    ['job_id', spec.jobId, 'name'],
  ];
  for (const b of spec.blocks ?? []) if (b.blockId) checks.push(['blocks.block_id', b.blockId, 'id']);
  for (const s of spec.shuffles ?? []) checks.push(['shuffles.shuffle_id', s.shuffleId, 'id']);
  if (spec.shuffleWrite) checks.push(['shuffle_write.shuffle_id', spec.shuffleWrite.shuffleId, 'id']);
  if (spec.cache?.blockId) checks.push(['cache.block_id', spec.cache.blockId, 'id']);
  for (const [field, value, kind] of checks) {
    if (value === undefined || value === null || value === '') continue;
    const problem = nameProblem(value, kind);
    if (problem !== undefined) return `${field} ${problem} (${ruleOf(kind)})`;
  }
  return undefined;
}

/** A successful task's dead letters (JetStream sources' messages that failed to decode), for its TaskResult. */
function deadLettersOf(outcome: { deadLetters?: { count: number; payload: Uint8Array } }): Pick<TaskResult, 'deadLetters'> {
  const d = outcome.deadLetters;
  return d ? { deadLetters: { count: d.count, payload: Buffer.from(d.payload.buffer, d.payload.byteOffset, d.payload.byteLength) } } : {};
}
