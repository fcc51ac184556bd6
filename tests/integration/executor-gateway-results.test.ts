/**
 * The scheduler's ExecutorGateway receiving sliced task results over real
 * gRPC (127.0.0.1:0, 1 MiB messages both ways). The executor end is a
 * scripted Executor service (a fake at the RPC interface) so that a call can
 * be broken at an exact slice, which a real executor cannot be made to do on
 * cue; it writes its whole results with the executor's own ResultWriter,
 * through the TaskStream's own packing (ResultOutbox).
 *
 * What must hold: a result reaches onResult only whole; a call that breaks or
 * ends mid-result loses that task (onLost, which the task set retries) and
 * never hands on part of it; a result announced over maxTaskResultBytes is a
 * FAILED result naming the option. And the bundle bookkeeping: a bundle is
 * loaded once per job on an executor, and an ended job is named on its task
 * stream so the executor can drop the code.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../lib/grpc/server.js';
import { createLogger } from '../../lib/log.js';
import { rivuletV1 } from '../../lib/proto/index.js';
import type { RunTasksRequest__Output } from '../../lib/proto/gen/rivulet/v1/RunTasksRequest.js';
import type { TaskResult, TaskResult__Output } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import type { TaskResults } from '../../lib/proto/gen/rivulet/v1/TaskResults.js';
import { ResultWriter } from '../../services/executor/result-writer.js';
import { ResultOutbox } from '../../services/executor/task-stream.js';
import { ExecutorGateway } from '../../services/scheduler/executor-gateway.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;

const payload = (n: number, seed: number) => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed) & 0xff;
  return b;
};

const result = (taskId: string, body: Buffer): TaskResult => ({
  taskId,
  attempt: 1,
  executorId: 'executor-1',
  epoch: 1,
  state: 'SUCCEEDED',
  records: { count: 7, payload: body },
  metrics: { recordsIn: 1, recordsOut: 7, bytesOut: body.byteLength, runMs: 1, fetchMs: 0, queueMs: 0 },
});

type Call = grpc.ServerDuplexStream<RunTasksRequest__Output, TaskResults>;

/** How the scripted executor answers the tasks of the next TaskStream call (`first`: the call's first message). */
type Script = (call: Call, first: RunTasksRequest__Output) => void;

/** One result message on the stream, unpacked. */
const writeOne = (call: Call, m: TaskResult) => call.write({ results: [m] });

/** Slices the way the executor makes them, captured instead of sent. */
function slicesOf(r: TaskResult): TaskResult[] {
  const out: TaskResult[] = [];
  new ResultWriter({ write: (m) => out.push(m) > 0, once: () => undefined }, { maxMessageBytes: MiB, cancelled: () => false }).send(r, MiB, () => undefined);
  return out;
}

describe('ExecutorGateway with sliced task results', () => {
  let server: StartedServer;
  let script: Script = (call) => call.end();
  const log = createLogger('test', 'silent');
  /** job_id of every LoadJob the scripted executor was sent. */
  const loads: string[] = [];
  /** Every DropBlocks call the scripted executor took. */
  const dropCalls: Array<{ blockIds: string[]; prefixes: string[] }> = [];

  beforeAll(async () => {
    server = await startServer({ host: '127.0.0.1', port: 0, maxMessageBytes: MiB }, (s) =>
      s.addService(rivuletV1.Executor.service, {
        LoadJob: (call: grpc.ServerUnaryCall<{ jobId: string }, object>, cb: grpc.sendUnaryData<object>) => {
          loads.push(call.request.jobId);
          cb(null, {});
        },
        DropBlocks: (call: grpc.ServerUnaryCall<{ blockIds: string[]; prefixes: string[] }, object>, cb: grpc.sendUnaryData<object>) => {
          dropCalls.push({ blockIds: call.request.blockIds, prefixes: call.request.prefixes });
          cb(null, { dropped: 0, bytesFreed: 0 });
        },
        TaskStream: (call: Call) => call.once('data', (first: RunTasksRequest__Output) => script(call, first)),
      }),
    );
  });
  afterAll(async () => server.shutdown(100));

  /** Script the executor to keep every TaskStream message it gets and answer each task with a small success; returns the messages. */
  const recordMessages = (): RunTasksRequest__Output[] => {
    const messages: RunTasksRequest__Output[] = [];
    script = (call, first) => {
      const take = (m: RunTasksRequest__Output) => {
        messages.push(m);
        for (const t of m.tasks) writeOne(call, { ...result(t.taskId, payload(4, 8)), attempt: t.attempt });
      };
      take(first);
      call.on('data', take);
    };
    return messages;
  };

  /** Launch `taskIds` through a fresh gateway; settle when every task has a result or was lost. */
  const launch = (taskIds: string[], maxTaskResultBytes = 256 * MiB) =>
    new Promise<{ results: TaskResult__Output[]; lost: Array<{ ids: string[]; error: string }> }>((resolve) => {
      const gateway = new ExecutorGateway(log, MiB, maxTaskResultBytes);
      const results: TaskResult__Output[] = [];
      const lost: Array<{ ids: string[]; error: string }> = [];
      let left = taskIds.length;
      const settle = (n: number) => {
        left -= n;
        if (left === 0) {
          gateway.close();
          resolve({ results, lost });
        }
      };
      gateway.launch(
        { id: 'executor-1', epoch: 1, address: server.address },
        { jobId: 'job', bundle: '', bundleHash: 'h' },
        taskIds.map((taskId) => ({ taskId, attempt: 1 })),
        {
          onResult: (r) => {
            results.push(r);
            settle(1);
          },
          onLost: (ids, error) => {
            lost.push({ ids, error });
            settle(ids.length);
          },
        },
      );
    });

  it('hands on a result of several messages whole, next to a result sent whole', async () => {
    const big = payload(3 * MiB + 5, 1);
    script = (call) => {
      const outbox = new ResultOutbox((results) => call.write({ results }), MiB);
      call.on('drain', () => outbox.drained());
      const w = new ResultWriter(outbox, { maxMessageBytes: MiB, cancelled: () => false });
      let left = 2;
      const sent = () => {
        if (--left > 0) return;
        outbox.flush();
        call.end();
      };
      w.send(result('big', big), MiB, sent);
      w.send(result('small', payload(100, 2)), MiB, sent);
    };
    const { results, lost } = await launch(['big', 'small']);
    expect(lost).toEqual([]);
    // In whichever order the stream let them out (the unit test pins down that a whole result does not wait).
    expect(results.map((r) => r.taskId).sort()).toEqual(['big', 'small']);
    const whole = results.find((r) => r.taskId === 'big')!;
    expect(whole).toMatchObject({ state: 'SUCCEEDED', executorId: 'executor-1', epoch: 1, attempt: 1, recordsTotalBytes: 0 });
    expect(whole.records!.count).toBe(7);
    expect(whole.records!.payload.equals(big)).toBe(true);
    expect(whole.metrics!.bytesOut).toBe(big.length);
  });

  it('a call that fails mid-result loses the task; no part of the result is handed on', async () => {
    const slices = slicesOf(result('big', payload(3 * MiB, 3)));
    expect(slices.length).toBe(4);
    script = (call) => {
      writeOne(call, slices[0]!);
      writeOne(call, slices[1]!);
      // As when the executor dies: the call ends in error before the last slice.
      setTimeout(() => call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'executor went away' }), 50);
    };
    const { results, lost } = await launch(['big']);
    expect(results).toEqual([]);
    expect(lost).toEqual([{ ids: ['big'], error: expect.stringMatching(/TaskStream to executor executor-1 failed: .*executor went away/) as string }]);
  });

  it('a call that ends cleanly mid-result loses the task the same way', async () => {
    const slices = slicesOf(result('big', payload(3 * MiB, 4)));
    script = (call) => {
      writeOne(call, slices[0]!);
      writeOne(call, slices[1]!);
      writeOne(call, slices[2]!);
      call.end();
    };
    const { results, lost } = await launch(['big']);
    expect(results).toEqual([]);
    expect(lost).toEqual([{ ids: ['big'], error: 'executor executor-1 ended its TaskStream without reporting every task' }]);
  });

  it('a malformed sequence ends the call and loses its unreported tasks', async () => {
    const slices = slicesOf(result('big', payload(3 * MiB, 5)));
    script = (call) => {
      writeOne(call, result('small', payload(10, 6)));
      writeOne(call, slices[0]!);
      writeOne(call, slices[2]!); // a gap
    };
    const { results, lost } = await launch(['small', 'big']);
    expect(results.map((r) => r.taskId)).toEqual(['small']);
    expect(lost).toEqual([
      { ids: ['big'], error: expect.stringMatching(/TaskStream of executor executor-1 sent a malformed result: .*where byte \d+ was expected/) as string },
    ]);
  });

  it('a result announced over maxTaskResultBytes is a FAILED result naming the option', async () => {
    const slices = slicesOf(result('big', payload(3 * MiB, 7)));
    script = (call) => {
      for (const s of slices) writeOne(call, s);
      call.end();
    };
    const { results, lost } = await launch(['big'], 2 * MiB);
    expect(lost).toEqual([]);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ taskId: 'big', attempt: 1, executorId: 'executor-1', epoch: 1, state: 'FAILED', userError: true });
    expect(results[0]!.error).toMatch(/^the task's result is 3145728 bytes, over the 2097152-byte limit of one task's result \(maxTaskResultBytes\)/);
  });

  it('loads a bundle once per job on an executor (two jobs of one code each load it), and names an ended job on its task stream', async () => {
    const messages = recordMessages();
    loads.length = 0;
    const gateway = new ExecutorGateway(log, MiB, 256 * MiB);
    const executor = { id: 'executor-1', epoch: 1, address: server.address };
    const run = (jobId: string, taskId: string) =>
      new Promise<TaskResult__Output>((resolve, reject) =>
        gateway.launch(executor, { jobId, bundle: 'module.exports = {}', bundleHash: 'h' }, [{ taskId, attempt: 1 }], {
          onResult: resolve,
          onLost: (_ids, error) => reject(new Error(error)),
        }),
      );
    try {
      expect((await run('j1', 't1')).state).toBe('SUCCEEDED');
      expect((await run('j2', 't2')).state).toBe('SUCCEEDED');
      expect((await run('j1', 't3')).state).toBe('SUCCEEDED');
      // Keyed by job, not by hash: the executor holds the code for each job that loaded it.
      expect(loads).toEqual(['j1', 'j2']);
      gateway.jobEnded(executor, 'j1');
      await waitFor(() => messages.some((m) => m.endedJobs.length > 0), 'the end of j1 reached the executor');
      expect(messages.flatMap((m) => m.endedJobs)).toEqual(['j1']);
      // A job that ends is loaded again if it ever runs here again (its entry went with the end).
      expect((await run('j1', 't4')).state).toBe('SUCCEEDED');
      expect(loads).toEqual(['j1', 'j2', 'j1']);
    } finally {
      gateway.close();
    }
  });
  it('drops blocks on the task stream of an executor that reads drops there, in messages after the launches of the turn; DropBlocks calls to one that does not', async () => {
    const messages = recordMessages();
    dropCalls.length = 0;
    const gateway = new ExecutorGateway(log, MiB, 256 * MiB);
    const newer = { id: 'executor-1', epoch: 1, address: server.address };
    const older = { id: 'executor-2', epoch: 1, address: server.address };
    gateway.readsStreamDrops = (id) => id === newer.id;
    try {
      const done = new Promise<TaskResult__Output>((resolve, reject) =>
        gateway.launch(newer, { jobId: 'j', bundle: 'module.exports = {}', bundleHash: 'h' }, [{ taskId: 't1', attempt: 1 }], {
          onResult: resolve,
          onLost: (_ids, error) => reject(new Error(error)),
        }),
      );
      expect((await done).state).toBe('SUCCEEDED');
      // One turn: a launch, then drops, then more drops — the drops of a turn go out together, after its launches.
      gateway.launch(newer, { jobId: 'j', bundle: 'module.exports = {}', bundleHash: 'h' }, [{ taskId: 't2', attempt: 1 }], { onResult: () => undefined, onLost: () => undefined });
      await Promise.resolve();
      gateway.drop(newer, ['b-1', 'b-2'], []);
      gateway.drop(newer, [], ['shuffle/j:1000:']);
      gateway.drop(older, ['b-3'], ['shuffle/j:1000:']);
      await waitFor(() => messages.some((m) => m.drops !== null && m.drops !== undefined), 'drops reached the stream');
      await waitFor(() => dropCalls.length > 0, 'the older executor got a DropBlocks call');
      const withDrops = messages.filter((m) => m.drops);
      expect(withDrops.map((m) => [m.drops!.blockIds, m.drops!.prefixes])).toEqual([
        [['b-1', 'b-2'], []],
        [[], ['shuffle/j:1000:']],
      ]);
      expect(messages.findIndex((m) => m.tasks.some((t) => t.taskId === 't2'))).toBeLessThan(messages.indexOf(withDrops[0]!));
      expect(dropCalls).toEqual([{ blockIds: ['b-3'], prefixes: ['shuffle/j:1000:'] }]);
    } finally {
      gateway.close();
    }
  });
});
