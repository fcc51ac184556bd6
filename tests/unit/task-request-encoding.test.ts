import { describe, expect, it } from 'vitest';
import { deepFreeze } from '../../lib/collections.js';
import { rivuletV1 } from '../../lib/proto/index.js';
import type { RunTasksRequest } from '../../lib/proto/gen/rivulet/v1/RunTasksRequest.js';
import type { ShufflePushTarget } from '../../lib/proto/gen/rivulet/v1/ShufflePushTarget.js';
import type { TaskSpec } from '../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import { encodeRunTasksRequest } from '../../services/scheduler/task-request-encoding.js';

const taskStream = rivuletV1.Executor.service.TaskStream;
const decode = (b: Buffer) => taskStream.requestDeserialize(b);
const generated = (req: RunTasksRequest) => decode(taskStream.requestSerialize(req));

const ref = (i: number) => ({ executorId: `exec-${i}`, address: `10.0.${i >> 8}.${i & 255}:7${String(i).padStart(3, '0')}`, epoch: 1_700_000_000_000 + i });

/** A shuffle's push targets as task-spec.ts keeps them: one per executor, shared (frozen) by every map task. */
function pushTargets(executors: number, reducePartitions: number): ShufflePushTarget[] {
  return deepFreeze(
    Array.from({ length: executors }, (_, e) => ({
      executor: ref(e),
      reducePartitions: Array.from({ length: Math.ceil(reducePartitions / executors) }, (_, k) => e + k * executors).filter((r) => r < reducePartitions),
    })),
  );
}

function mapTask(partition: number, self: number, all: ShufflePushTarget[]): TaskSpec {
  return {
    taskId: `job-1/1700000000000/0/${partition}`,
    jobId: 'job-1',
    bundleHash: 'abc',
    batchTimeMs: 1_700_000_000_000,
    stageId: 0,
    partition,
    attempt: 1,
    epoch: ref(self).epoch,
    dataset: { jobId: 'job-1', batchTimeMs: 1_700_000_000_000, nodeId: 1 },
    blocks: [{ dataset: { jobId: 'job-1', batchTimeMs: 1_700_000_000_000, nodeId: 0 }, partition, blockId: `b-${partition}`, locations: [ref(self), ref(self + 1)], inputKey: '' }],
    shuffles: [],
    nodePartitions: [4, 512, 512],
    locality: 'PROCESS_LOCAL',
    speculative: partition % 2 === 0,
    traceContext: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    timeoutMs: 60_000,
    shuffleWrite: {
      shuffleId: 'job-1:1700000000000:2:s0',
      dataset: { jobId: 'job-1', batchTimeMs: 1_700_000_000_000, nodeId: 2 },
      numPartitions: 512,
      mapPartitionOffset: partition % 3,
      // A task's own array (its executor left out), of the shuffle's shared targets.
      push: all.filter((t) => t.executor!.executorId !== `exec-${self}`),
    },
  };
}

function reduceTask(partition: number, compact: boolean, holders: number): TaskSpec {
  const outputs = deepFreeze(Array.from({ length: holders * 4 }, (_, m) => ({ mapPartition: m, executor: ref(m % holders) })));
  const shared = compact
    ? deepFreeze({ mapOutputExecutors: Array.from({ length: holders }, (_, e) => ref(e)), mapOutputHolders: outputs.map((o) => o.mapPartition % holders) })
    : { mapOutputs: outputs };
  return {
    taskId: `job-1/1700000000000/1/${partition}`,
    jobId: 'job-1',
    batchTimeMs: 1_700_000_000_000,
    stageId: 1,
    partition,
    attempt: 3,
    shuffles: [
      { dataset: { jobId: 'job-1', batchTimeMs: 1_700_000_000_000, nodeId: 2 }, reducePartition: partition, shuffleId: 'job-1:1700000000000:2:s0', ...shared },
      { dataset: { jobId: 'job-1', batchTimeMs: 1_700_000_000_000, nodeId: 3 }, reducePartition: partition, shuffleId: 'job-1:1700000000000:3:s0', ...shared },
    ],
    result: { output: 'counts', maxResultBytes: 16 << 20, maxMessageBytes: 4 << 20 },
  };
}

describe('encodeRunTasksRequest (the scheduler encodes what a stage shares once)', () => {
  it('decodes to what the generated encoder writes: map tasks sharing push targets, reduce tasks in both map-output forms', () => {
    for (const executors of [1, 3, 128, 300]) {
      const all = pushTargets(executors, 4 * executors);
      const req: RunTasksRequest = {
        tasks: [
          ...Array.from({ length: 6 }, (_, p) => mapTask(p, p % executors, all)),
          reduceTask(0, true, executors),
          reduceTask(1, false, executors),
          reduceTask(2, true, executors),
        ],
      };
      // Twice: the second time from the bytes kept for the shared parts.
      for (let round = 0; round < 2; round++) expect(decode(encodeRunTasksRequest(req))).toEqual(generated(req));
    }
  });

  it('writes plans, revocations, ended jobs and drops, alone or after tasks, and an empty request', () => {
    const requests: RunTasksRequest[] = [
      {},
      { tasks: [] },
      { drops: { blockIds: ['b-1', 'b-2'], prefixes: ['shuffle/job-1:1700000000000:'] } },
      { endedJobs: ['job-1', 'job-2'] },
      { revocations: [{ planId: 'job-1/g3', afterBatchMs: 1_700_000_000_500 }] },
      { tasks: [mapTask(0, 0, pushTargets(4, 16))], endedJobs: ['job-9'], drops: { blockIds: [], prefixes: ['rdd/job-9:'] } },
    ];
    for (const req of requests) expect(decode(encodeRunTasksRequest(req))).toEqual(generated(req));
  });

  it('sends each task its own list, kept as bytes only when frozen: a list changed after it was sent goes out as it is now', () => {
    // 40 executors: enough shared entries for a task to be encoded in parts (SHARED_ENTRIES_TO_SPLIT).
    const all = pushTargets(40, 160);
    const targetsOf = (bytes: Buffer) =>
      (decode(bytes) as { tasks: Array<{ shuffleWrite: { push: Array<{ executor: { executorId: string } }> } }> }).tasks.map((t) =>
        t.shuffleWrite.push.map((p) => p.executor.executorId),
      );
    const first = mapTask(0, 0, all);
    const second = mapTask(1, 4, all);
    Object.freeze(second.shuffleWrite!.push);
    const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `exec-${from + i}`);
    expect(targetsOf(encodeRunTasksRequest({ tasks: [first, second] }))).toEqual([ids(1, 39), [...ids(0, 3), ...ids(5, 39)]]);
    // Not frozen: changed in place, and sent as changed (a kept copy would send exec-1..39 again).
    first.shuffleWrite!.push!.pop();
    expect(targetsOf(encodeRunTasksRequest({ tasks: [first, second] }))[0]).toEqual(ids(1, 38));
  });
});
