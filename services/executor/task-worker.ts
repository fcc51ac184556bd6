/**
 * A task worker: one worker_thread of the executor's pool, running tasks off
 * the gRPC event loop, for one job bundle only (the pool dedicates it to the
 * bundle of its first task, so no job's code shares this thread's globals and
 * prototypes with another's). It loads the bundle once (the graph and its
 * closures stay here for the life of the worker), and for each batch of tasks
 * the pool hands it runs them one after the other — `runTask` on views into
 * each task's transferred input buffer — posting their packed outputs back as
 * transferred ArrayBuffers, several answers per message: at the end of the
 * batch, and mid-batch once `flushMs` has passed since the last post, so an
 * answer never waits long behind a slower task of its batch.
 *
 * Before running a task it claims it in the batch's shared state words
 * (worker-protocol.ts): a task the pool withdrew meanwhile (a kill, a steal)
 * is skipped and never runs.
 *
 * It never does I/O and never decides a task's fate beyond "succeeded",
 * "user code failed" or "failed": retries, kills and crash handling belong to
 * the pool on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { loadJob, type LoadedJob } from '../../lib/dstream/loader.js';
import { runTask, setOperatorProbe, type TaskInputs, type TaskOutput } from '../../lib/dstream/runtime.js';
import { operatorLabel } from '../../lib/dstream/graph.js';
import { JobDefinitionError, UserFunctionError } from '../../lib/dstream/errors.js';
import {
  PROBE_LOADING,
  PROBE_STARTED_AT,
  PROBE_TASK,
  TASK_KILLED,
  TASK_NOT_STARTED,
  TASK_STARTED,
  transferableBytes,
  type FromWorker,
  type RunMessage,
  type TaskAnswer,
  type TaskMessage,
  type TaskWorkerData,
  type ToWorker,
} from './worker-protocol.js';

if (!parentPort) throw new Error('task-worker.js must run as a worker_thread of the executor');
const port = parentPort;
const data = workerData as TaskWorkerData | undefined;
const probeInts = data?.probe ? new Int32Array(data.probe, 0, 2) : new Int32Array(2);
const probeStartedAt = data?.probe ? new Float64Array(data.probe) : new Float64Array(2);
setOperatorProbe(probeInts);
probeInts[PROBE_TASK] = -1;

/**
 * Loaded bundles by hash. A bundle that failed to build is remembered as its
 * error: building is deterministic, so every later task of it fails the same.
 */
const jobs = new Map<string, LoadedJob | JobDefinitionError>();

function post(msg: FromWorker, transfer?: ArrayBuffer[]): void {
  port.postMessage(msg, transfer);
}

function jobFor(msg: Pick<RunMessage, 'bundleHash' | 'code' | 'source'>): LoadedJob {
  let job = jobs.get(msg.bundleHash);
  if (!job) {
    if (msg.code === undefined) {
      // The pool tracks which hashes each worker holds; reaching this is a pool bug.
      throw new Error(`job bundle ${msg.bundleHash} was never sent to this task worker`);
    }
    try {
      job = loadJob(msg.code, msg.source);
      post({ type: 'operators', bundleHash: msg.bundleHash, labels: job.graph.nodes.map((n) => operatorLabel(n)) });
    } catch (e) {
      job =
        e instanceof JobDefinitionError
          ? e
          : new JobDefinitionError(`${msg.source}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    jobs.set(msg.bundleHash, job);
  }
  if (job instanceof JobDefinitionError) throw job;
  return job;
}

function inputsOf(msg: TaskMessage): TaskInputs {
  const blocks = new Map<string, Uint8Array>();
  for (let i = 0; i < msg.blockKeys.length; i++) {
    const start = msg.blockRanges[2 * i]!;
    blocks.set(msg.blockKeys[i]!, new Uint8Array(msg.input, start, msg.blockRanges[2 * i + 1]! - start));
  }
  const shuffles = new Map<number, Uint8Array[]>();
  for (let i = 0; i < msg.shuffleNodes.length; i++) {
    const ranges = msg.shuffleRanges[i]!;
    const buckets = new Array<Uint8Array>(ranges.length / 2);
    for (let j = 0; j < buckets.length; j++) buckets[j] = new Uint8Array(msg.input, ranges[2 * j]!, ranges[2 * j + 1]! - ranges[2 * j]!);
    const existing = shuffles.get(msg.shuffleNodes[i]!);
    // Two ShuffleInputs of one node (never planned today) would read both sets of
    // buckets. Buckets are self-describing (cogroup buckets carry their side).
    if (existing) existing.push(...buckets);
    else shuffles.set(msg.shuffleNodes[i]!, buckets);
  }
  return {
    blocks,
    shuffles,
    partitions: msg.nodePartitions ?? [],
    ...(msg.batchTimeMs !== undefined ? { batchTimeMs: msg.batchTimeMs } : {}),
    ...(msg.stateReplay ? { stateReplay: msg.stateReplay } : {}),
  };
}

/** Copy the output payloads into one fresh ArrayBuffer that can be transferred. */
function packOutput(parts: readonly Uint8Array[]): { output: ArrayBuffer; ranges: number[] } {
  let total = 0;
  for (const p of parts) total += p.byteLength;
  // A fresh ArrayBuffer rather than the Buffers themselves: small Buffers live
  // in Node's shared pool, which cannot be transferred.
  const out = transferableBytes(total);
  const ranges = new Array<number>(parts.length * 2);
  let off = 0;
  for (let i = 0; i < parts.length; i++) {
    out.set(parts[i]!, off);
    ranges[2 * i] = off;
    off += parts[i]!.byteLength;
    ranges[2 * i + 1] = off;
  }
  return { output: out.buffer, ranges };
}

/** Run one task; its answer (outputs transferred through `transfer`). */
function runOne(batch: RunMessage, task: TaskMessage, started: number, waitMs: number, transfer: ArrayBuffer[], killed: () => boolean): TaskAnswer {
  let result: TaskOutput;
  try {
    const job = jobFor(batch);
    result = runTask(job.graph, task.nodeId, task.partition, inputsOf(task), task.sink, killed);
  } catch (e) {
    // A killed task (TaskCancelledError) fails here too: the pool already answered KILLED for it and ignores this.
    const userError = e instanceof UserFunctionError || e instanceof JobDefinitionError;
    const message = e instanceof Error ? (userError ? e.message : `${e.name}: ${e.message}`) : String(e);
    return { type: 'fail', seq: task.seq, userError, message, runMs: performance.now() - started, waitMs };
  }
  const parts = result.buckets ?? [result.result ?? new Uint8Array(0)];
  const { output, ranges } = packOutput(parts);
  transfer.push(output);
  return {
    type: 'done',
    seq: task.seq,
    recordsIn: result.recordsIn,
    recordsOut: result.recordsOut,
    output,
    ranges,
    ...(result.bucketCounts ? { bucketCounts: result.bucketCounts } : {}),
    ...(result.deadLetters ? { deadLetters: result.deadLetters } : {}),
    runMs: performance.now() - started,
    waitMs,
  };
}

/**
 * Run a batch's tasks in order (each after `delayMs` when set: tests' stragglers),
 * skipping the ones the pool withdrew, and post their answers packed.
 */
function runBatch(batch: RunMessage): void {
  const arrived = performance.now();
  // When the first task's turn comes: after the code is loaded, which is no task's run time.
  let firstTurn = arrived;
  // The code comes with a worker's first batch only: load it now, even if the pool takes back
  // every task of that batch before one starts — the next batch comes without it.
  if (batch.code !== undefined && !jobs.has(batch.bundleHash)) {
    Atomics.store(probeInts, PROBE_TASK, PROBE_LOADING);
    try {
      jobFor(batch);
    } catch {
      // Remembered (a bundle that fails to build fails each of its tasks the same way, reported by each).
    }
    firstTurn = performance.now();
    // The pool times a waiting task from here, not from the batch's arrival.
    probeStartedAt[PROBE_STARTED_AT] = performance.timeOrigin + firstTurn;
    Atomics.store(probeInts, PROBE_TASK, -1);
  }
  const states = new Int32Array(batch.states);
  let answers: TaskAnswer[] = [];
  let transfer: ArrayBuffer[] = [];
  let lastPost = arrived;
  const flush = (batchDone: boolean) => {
    // The batch over, every task's input (run or skipped) goes back to the pool for reuse, and is detached here.
    const inputs = batchDone ? batch.tasks.map((t) => t.input) : undefined;
    if (inputs) transfer.push(...inputs);
    post({ type: 'results', answers, batchDone, ...(inputs ? { inputs } : {}) }, transfer);
    answers = [];
    transfer = [];
    lastPost = performance.now();
  };
  // The running task's kill flag (TASK_KILLED), one function per batch: `current` is the task's index.
  let current = -1;
  const killed = () => Atomics.load(states, current) === TASK_KILLED;
  // `from`: when task i's turn came (before its delay, which counts as its run time: a slower machine).
  const step = (i: number, from: number): void => {
    for (; i < batch.tasks.length; i++, from = performance.now()) {
      const started = from;
      // Named in the probe before it is claimed, so a pool that fails to withdraw it already sees it run.
      probeStartedAt[PROBE_STARTED_AT] = performance.timeOrigin + started;
      Atomics.store(probeInts, PROBE_TASK, i);
      // Claimed here or withdrawn by the pool: whoever moves it first decides.
      if (Atomics.compareExchange(states, i, TASK_NOT_STARTED, TASK_STARTED) !== TASK_NOT_STARTED) {
        Atomics.store(probeInts, PROBE_TASK, -1);
        continue;
      }
      current = i;
      answers.push(runOne(batch, batch.tasks[i]!, started, started - arrived, transfer, killed));
      // With none running, the probe's time is when the last one ended (the pool times a worker that starts nothing).
      probeStartedAt[PROBE_STARTED_AT] = performance.timeOrigin + performance.now();
      Atomics.store(probeInts, PROBE_TASK, -1);
      if (i + 1 < batch.tasks.length) {
        if (performance.now() - lastPost >= batch.flushMs && answers.length > 0) flush(false);
        if (batch.delayMs > 0) {
          const next = performance.now();
          setTimeout(() => step(i + 1, next), batch.delayMs);
          return;
        }
      }
    }
    flush(true);
  };
  if (batch.delayMs > 0) setTimeout(() => step(0, firstTurn), batch.delayMs);
  else step(0, firstTurn);
}

port.on('message', (msg: ToWorker) => runBatch(msg));

post({ type: 'ready' });
