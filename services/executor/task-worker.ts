/**
 * A task worker: one worker_thread of the executor's pool, running one task
 * at a time off the gRPC event loop, for one job bundle only (the pool
 * dedicates it to the bundle of its first task, so no job's code shares this
 * thread's globals and prototypes with another's). It loads the bundle once
 * (the graph and its closures stay here for the life of the worker), runs
 * `runTask` on views into the transferred input buffer, and posts the packed
 * output back as one transferred ArrayBuffer.
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
import type { DoneMessage, FailMessage, FromWorker, RunMessage, TaskWorkerData, ToWorker } from './worker-protocol.js';

if (!parentPort) throw new Error('task-worker.js must run as a worker_thread of the executor');
const port = parentPort;
const data = workerData as TaskWorkerData | undefined;
if (data?.probe) setOperatorProbe(new Int32Array(data.probe));

/**
 * Loaded bundles by hash. A bundle that failed to build is remembered as its
 * error: building is deterministic, so every later task of it fails the same.
 */
const jobs = new Map<string, LoadedJob | JobDefinitionError>();

function post(msg: FromWorker, transfer?: ArrayBuffer[]): void {
  port.postMessage(msg, transfer);
}

function jobFor(msg: RunMessage): LoadedJob {
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

function inputsOf(msg: RunMessage): TaskInputs {
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
  const out = new Uint8Array(total);
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

function run(msg: RunMessage, started: number): void {
  let result: TaskOutput;
  try {
    const job = jobFor(msg);
    result = runTask(job.graph, msg.nodeId, msg.partition, inputsOf(msg), msg.sink);
  } catch (e) {
    const userError = e instanceof UserFunctionError || e instanceof JobDefinitionError;
    const message = e instanceof Error ? (userError ? e.message : `${e.name}: ${e.message}`) : String(e);
    const fail: FailMessage = { type: 'fail', seq: msg.seq, userError, message, runMs: performance.now() - started };
    post(fail);
    return;
  }
  const parts = result.buckets ?? [result.result ?? new Uint8Array(0)];
  const { output, ranges } = packOutput(parts);
  const done: DoneMessage = {
    type: 'done',
    seq: msg.seq,
    recordsIn: result.recordsIn,
    recordsOut: result.recordsOut,
    output,
    ranges,
    ...(result.bucketCounts ? { bucketCounts: result.bucketCounts } : {}),
    runMs: performance.now() - started,
  };
  post(done, [output]);
}

port.on('message', (msg: ToWorker) => {
  const started = performance.now();
  if (msg.delayMs > 0) setTimeout(() => run(msg, started), msg.delayMs);
  else run(msg, started);
});

post({ type: 'ready' });
