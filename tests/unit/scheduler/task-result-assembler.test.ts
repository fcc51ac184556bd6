/**
 * task-result-assembler.ts on its own, and behind the executor's
 * result-writer.ts: slices go through the real RunTasks serializer (so each
 * message is checked against the bound it must fit), the call is a fake sink
 * that pushes back like a full stream does.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { rivuletV1 } from '../../../lib/proto/index.js';
import type { TaskResult, TaskResult__Output } from '../../../lib/proto/gen/rivulet/v1/TaskResult.js';
import { ResultWriter } from '../../../services/executor/result-writer.js';
import { MalformedResultError, TaskResultAssembler } from '../../../services/scheduler/task-result-assembler.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const wire = rivuletV1.Executor.service.RunTasks;

/** What the scheduler decodes from what the executor wrote. */
const decode = (m: TaskResult): { bytes: number; out: TaskResult__Output } => {
  const buf = wire.responseSerialize(m);
  return { bytes: buf.byteLength, out: wire.responseDeserialize(buf) };
};

const payload = (n: number, seed = 7) => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
};

const result = (taskId: string, body: Buffer, extra: Partial<TaskResult> = {}): TaskResult => ({
  taskId,
  attempt: 1,
  executorId: 'executor-1',
  epoch: 3,
  state: 'SUCCEEDED',
  records: { count: 1000, payload: body },
  metrics: { recordsIn: 10, recordsOut: 1000, bytesOut: body.byteLength, runMs: 5, fetchMs: 0, queueMs: 1 },
  ...extra,
});

/** A hand-made slice, for sequences the writer never produces. */
const slice = (taskId: string, body: Buffer, offset: number, total: number, extra: Partial<TaskResult__Output> = {}): TaskResult__Output =>
  decode({ ...result(taskId, body), metrics: null, recordsOffset: offset, recordsTotalBytes: total, ...extra } as TaskResult).out;

/** A RunTasks call as the writer sees it: write() reports a full buffer every `every` messages; 'drain' when the test says. */
class FakeCall extends EventEmitter {
  readonly written: TaskResult[] = [];
  constructor(private readonly every = Infinity) {
    super();
  }
  write(m: TaskResult): boolean {
    this.written.push(m);
    return this.written.length % this.every !== 0;
  }
  drain(): void {
    this.emit('drain');
  }
}

describe('TaskResultAssembler', () => {
  it('passes a result sent whole through as it is', () => {
    const a = new TaskResultAssembler(MiB);
    const m = decode(result('t1', payload(1000))).out;
    expect(a.accept(m)).toBe(m);
    expect(a.pending).toBe(0);
  });

  it('hands on a sliced result only once every byte is in, with its identity, count and the last slice’s metrics', () => {
    const body = payload(10_000);
    const a = new TaskResultAssembler(MiB);
    const parts = [0, 4000, 8000].map((o) => slice('t1', body.subarray(o, Math.min(o + 4000, body.length)), o, body.length));
    parts[2]!.metrics = { recordsIn: 10, recordsOut: 1000, bytesOut: 10_000, runMs: 5, fetchMs: 0, queueMs: 1 };
    expect(a.accept(parts[0]!)).toBeUndefined();
    expect(a.accept(parts[1]!)).toBeUndefined();
    expect(a.pending).toBe(1);
    const whole = a.accept(parts[2]!)!;
    expect(a.pending).toBe(0);
    expect(whole).toMatchObject({ taskId: 't1', attempt: 1, executorId: 'executor-1', epoch: 3, state: 'SUCCEEDED', recordsOffset: 0, recordsTotalBytes: 0 });
    expect(whole.records!.count).toBe(1000);
    expect(whole.records!.payload.equals(body)).toBe(true);
    expect(whole.metrics!.bytesOut).toBe(10_000);
    // It owns its memory (no view into a message), so the batch keeps it without copying again.
    expect(whole.records!.payload.byteLength).toBe(whole.records!.payload.buffer.byteLength);
  });

  it('keeps attempts apart: two attempts of one task interleaved, a whole result in between', () => {
    const x = payload(6000, 1);
    const y = payload(6000, 2);
    const a = new TaskResultAssembler(MiB);
    expect(a.accept(slice('t1', x.subarray(0, 3000), 0, 6000))).toBeUndefined();
    expect(a.accept(slice('t1', y.subarray(0, 3000), 0, 6000, { attempt: 2 }))).toBeUndefined();
    const small = decode(result('t2', payload(10))).out;
    expect(a.accept(small)).toBe(small);
    const second = a.accept(slice('t1', y.subarray(3000), 3000, 6000, { attempt: 2 }))!;
    const first = a.accept(slice('t1', x.subarray(3000), 3000, 6000))!;
    expect([first.attempt, first.records!.payload.equals(x)]).toEqual([1, true]);
    expect([second.attempt, second.records!.payload.equals(y)]).toEqual([2, true]);
  });

  it('answers a result announced over maxTaskResultBytes with a FAILED user error naming the option, and drops its slices', () => {
    const a = new TaskResultAssembler(5000);
    const body = payload(9000);
    const failed = a.accept(slice('t1', body.subarray(0, 4500), 0, 9000))!;
    expect(failed).toMatchObject({ taskId: 't1', attempt: 1, executorId: 'executor-1', epoch: 3, state: 'FAILED', userError: true, records: null });
    expect(failed.error).toBe(
      "the task's result is 9000 bytes, over the 5000-byte limit of one task's result (maxTaskResultBytes): " +
        'spread the output over more partitions (e.g. repartition) or raise maxTaskResultBytes',
    );
    expect(a.accept(slice('t1', body.subarray(4500), 4500, 9000))).toBeUndefined();
    expect(a.pending).toBe(0);
  });

  it('never hands on part of a result: a call that ends mid-result leaves it pending, and the instance goes with the call', () => {
    const a = new TaskResultAssembler(MiB);
    const body = payload(9000);
    expect(a.accept(slice('t1', body.subarray(0, 3000), 0, 9000))).toBeUndefined();
    expect(a.accept(slice('t1', body.subarray(3000, 6000), 3000, 9000))).toBeUndefined();
    expect(a.pending).toBe(1);
  });

  it('refuses malformed sequences (the executor’s bug: the gateway ends the call and its tasks are retried)', () => {
    const body = payload(9000);
    const first = () => {
      const a = new TaskResultAssembler(MiB);
      a.accept(slice('t1', body.subarray(0, 3000), 0, 9000));
      return a;
    };
    expect(() => new TaskResultAssembler(MiB).accept(slice('t1', body.subarray(3000, 6000), 3000, 9000))).toThrow(
      /task t1 attempt 1 from executor executor-1 \(epoch 3\): first slice starts at byte 3000/,
    );
    expect(() => first().accept(slice('t1', body.subarray(6000), 6000, 9000))).toThrow(/slice at byte 6000 where byte 3000 was expected/);
    expect(() => first().accept(slice('t1', body.subarray(3000, 6000), 3000, 9000, { epoch: 4 }))).toThrow(MalformedResultError);
    expect(() => first().accept(slice('t1', body.subarray(3000, 6000), 3000, 9000, { executorId: 'executor-2' }))).toThrow(MalformedResultError);
    expect(() => first().accept(slice('t1', body.subarray(3000, 6000), 3000, 12_000))).toThrow(/does not match the result's first slice/);
    expect(() => first().accept(slice('t1', payload(7000), 3000, 9000))).toThrow(/run past the announced 9000 bytes/);
  });
});

describe('ResultWriter → TaskResultAssembler', () => {
  const run = (call: FakeCall, bounds: { executor: number; scheduler: number }, results: TaskResult[]) => {
    const sent: string[] = [];
    const w = new ResultWriter(call, { maxMessageBytes: bounds.executor, cancelled: () => false });
    for (const r of results) w.send(r, bounds.scheduler, () => sent.push(`${r.taskId}/${r.attempt}`));
    return sent;
  };

  it('sends a result that fits as the very object, with no slicing fields', () => {
    const call = new FakeCall();
    const r = result('t1', payload(100 * KiB));
    expect(run(call, { executor: MiB, scheduler: MiB }, [r])).toEqual(['t1/1']);
    expect(call.written).toHaveLength(1);
    expect(call.written[0]).toBe(r);
  });

  it('slices a result of several messages to the smaller bound, following drain, and it comes back intact', () => {
    const body = payload(5 * MiB + 123);
    const call = new FakeCall(2);
    const sent: string[] = [];
    const w = new ResultWriter(call, { maxMessageBytes: 4 * MiB, cancelled: () => false });
    w.send(result('big', body), MiB, () => sent.push('big'));
    // Two slices, then the stream is full: nothing more until it drains...
    expect(call.written).toHaveLength(2);
    // ...but a whole result does not wait behind them.
    w.send(result('small', payload(10)), MiB, () => sent.push('small'));
    expect(sent).toEqual(['small']);
    for (let i = 0; i < 10 && sent.length < 2; i++) call.drain();
    expect(sent).toEqual(['small', 'big']);
    const a = new TaskResultAssembler(256 * MiB);
    const out: TaskResult__Output[] = [];
    for (const m of call.written) {
      const { bytes, out: decoded } = decode(m);
      expect(bytes).toBeLessThanOrEqual(MiB);
      const whole = a.accept(decoded);
      if (whole) out.push(whole);
    }
    expect(out.map((r) => r.taskId)).toEqual(['small', 'big']);
    const big = out[1]!;
    expect(big.records!.payload.equals(body)).toBe(true);
    expect(big.records!.count).toBe(1000);
    expect(big.metrics!.bytesOut).toBe(body.length);
    // 5 MiB at under 1 MiB a message: 6 slices, only the last with metrics.
    const slices = call.written.filter((m) => m.taskId === 'big');
    expect(slices).toHaveLength(6);
    expect(slices.filter((m) => m.metrics)).toHaveLength(1);
  });

  it('sends the slices of two large results one result after the other', () => {
    const call = new FakeCall();
    const x = payload(3 * MiB, 1);
    const y = payload(3 * MiB, 2);
    expect(run(call, { executor: MiB, scheduler: MiB }, [result('x', x), result('y', y)])).toEqual(['x/1', 'y/1']);
    expect(call.written.map((m) => m.taskId)).toEqual(['x', 'x', 'x', 'x', 'y', 'y', 'y', 'y']);
  });

  it('stops sending once the call is cancelled', () => {
    const call = new FakeCall(1);
    let cancelled = false;
    const w = new ResultWriter(call, { maxMessageBytes: MiB, cancelled: () => cancelled });
    w.send(result('big', payload(4 * MiB)), MiB, () => undefined);
    expect(call.written).toHaveLength(1);
    cancelled = true;
    call.drain();
    expect(call.written).toHaveLength(1);
  });

  it('fails a result over one message when the scheduler gave no bound (it would not reassemble slices)', () => {
    const call = new FakeCall();
    run(call, { executor: MiB, scheduler: 0 }, [result('big', payload(2 * MiB))]);
    expect(call.written).toHaveLength(1);
    expect(call.written[0]).toMatchObject({ taskId: 'big', state: 'FAILED', userError: true });
    expect(call.written[0]!.error).toMatch(/over the 1048576-byte limit of one message \(maxMessageBytes\), and the scheduler does not take results in slices/);
  });
});
