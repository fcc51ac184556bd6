/**
 * A sandbox worker: the worker thread in which the scheduler's job code runs,
 * so that the scheduler's own event loop never does. It evaluates one bundle,
 * builds its graph and posts back the function-free description of it; in
 * 'foreach' mode it then keeps the job's foreachBatch functions and runs them
 * batch by batch on request.
 *
 * It never decides anything: time limits, memory limits and what a failure
 * means belong to the host (sandbox.ts, services/scheduler/foreach-runner.ts),
 * which terminates this thread when it overruns.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { unpackRecords } from '../codec/records.js';
import type { OutputNode } from './graph.js';
import { describeNodes, loadJob, type LoadedJob } from './loader.js';
import type { FromSandbox, SandboxWorkerData, ForeachRequest } from './sandbox-protocol.js';

if (!parentPort) throw new Error('sandbox-worker.js must run as a worker_thread');
const port = parentPort;
const data = workerData as SandboxWorkerData;
const probe = data.probe ? new Int32Array(data.probe) : undefined;

function post(msg: FromSandbox): void {
  port.postMessage(msg);
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

let job: LoadedJob | undefined;
try {
  job = loadJob(data.code, data.source, data.buildTimeoutMs);
} catch (e) {
  post({ type: 'buildFailed', message: e instanceof Error ? e.message : String(e) });
}

if (job) {
  const loaded = job;
  let nodes;
  try {
    nodes = describeNodes(loaded.graph);
    post({ type: 'built', nodes, options: { ...(typeof loaded.definition.options.name === 'string' ? { name: loaded.definition.options.name } : {}) } });
  } catch (e) {
    post({ type: 'buildFailed', message: `${data.source}: the job's graph cannot be described: ${describe(e)}` });
  }
  if (data.mode === 'foreach') port.on('message', (msg: ForeachRequest) => runForeach(loaded, msg));
  else port.close();
}

/** Run one batch's foreachBatch functions in output order; the first throw fails the batch. */
function runForeach(loaded: LoadedJob, msg: ForeachRequest): void {
  for (const call of msg.calls) {
    const node = loaded.graph.nodes[call.nodeId] as OutputNode | undefined;
    if (!node || node.op !== 'foreachBatch' || !node.fn) {
      post({ type: 'foreachDone', seq: msg.seq, error: `node ${call.nodeId} is not a foreachBatch output of this job` });
      return;
    }
    if (probe) probe[0] = call.nodeId;
    try {
      const ret = node.fn(unpackRecords(call.payload), msg.batchTimeMs) as { then?: unknown } | undefined;
      if (ret && typeof ret.then === 'function') {
        // Not awaited (see DStream.foreachBatch); a rejection is reported, never left unhandled.
        (ret as Promise<unknown>).then(undefined, (err: unknown) =>
          post({ type: 'foreachRejected', nodeId: call.nodeId, batchTimeMs: msg.batchTimeMs, message: describe(err) }),
        );
      }
    } catch (err) {
      if (probe) probe[0] = -1;
      post({ type: 'foreachDone', seq: msg.seq, error: `foreachBatch function (node ${call.nodeId}) threw ${describe(err)}` });
      return;
    }
  }
  if (probe) probe[0] = -1;
  post({ type: 'foreachDone', seq: msg.seq });
}
