/**
 * BENCHMARK HARNESS: reads, from a serialized RunTasksRequest, only what a
 * simulated executor needs of each TaskSpec — its id, attempt, and how many
 * buckets it would write — and skips the rest of the bytes unread. At 256 × 4
 * slots a reduce task's spec lists every map output (and a map task's, every
 * reducer to push to), so decoding whole specs into objects made the harness
 * cost as much CPU as the scheduler it shares the machine with; skimming
 * keeps it lightweight. Field numbers are those of
 * proto/rivulet/v1/executor.proto; `skimmingExecutorService` checks the
 * first request it skims against the full decoder, so a renumbered field
 * stops the benchmark instead of silently mis-reading tasks.
 */
import type * as grpc from '@grpc/grpc-js';
import { rivuletV1 } from '../../lib/proto/index.js';
import type { RunTasksRequest__Output } from '../../lib/proto/gen/rivulet/v1/RunTasksRequest.js';

export interface SkimmedTask {
  taskId: string;
  attempt: number;
  /** ShuffleWrite.num_partitions when the task writes shuffle buckets, else undefined (a result or cache sink). */
  buckets?: number;
}

// RunTasksRequest
const REQUEST_TASKS = 1;
// TaskSpec
const SPEC_TASK_ID = 1;
const SPEC_ATTEMPT = 7;
const SPEC_SHUFFLE_WRITE = 12;
// ShuffleWrite
const WRITE_NUM_PARTITIONS = 3;

class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new RangeError('truncated varint');
      const b = this.buf[this.pos++]!;
      // Values here (ids' lengths, attempts, partition counts) stay far below 2^53.
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
    }
  }

  /** Skip one field's value of this wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2: {
        // Not `this.pos += this.varint()`: that adds to the position from before the length was read.
        const len = this.varint();
        this.pos += len;
        return;
      }
      case 5:
        this.pos += 4;
        return;
      default:
        throw new RangeError(`unsupported wire type ${wireType}`);
    }
  }
}

function numPartitions(buf: Buffer, start: number, end: number): number {
  const c = new Cursor(buf, start, end);
  let n = 0;
  while (c.pos < end) {
    const key = c.varint();
    if (key >>> 3 === WRITE_NUM_PARTITIONS && (key & 7) === 0) n = c.varint();
    else c.skip(key & 7);
  }
  return n;
}

function skimSpec(buf: Buffer, start: number, end: number): SkimmedTask {
  const c = new Cursor(buf, start, end);
  const task: SkimmedTask = { taskId: '', attempt: 0 };
  while (c.pos < end) {
    const key = c.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === SPEC_TASK_ID && wire === 2) {
      const len = c.varint();
      task.taskId = buf.toString('utf8', c.pos, c.pos + len);
      c.pos += len;
    } else if (field === SPEC_ATTEMPT && wire === 0) task.attempt = c.varint();
    else if (field === SPEC_SHUFFLE_WRITE && wire === 2) {
      const len = c.varint();
      task.buckets = numPartitions(buf, c.pos, c.pos + len);
      c.pos += len;
    } else c.skip(wire);
  }
  return task;
}

/** The tasks of a serialized RunTasksRequest, skimmed. Throws RangeError on malformed bytes. */
export function skimRunTasksRequest(buf: Buffer): { tasks: SkimmedTask[] } {
  const c = new Cursor(buf, 0, buf.length);
  const tasks: SkimmedTask[] = [];
  while (c.pos < buf.length) {
    const key = c.varint();
    if (key >>> 3 === REQUEST_TASKS && (key & 7) === 2) {
      const len = c.varint();
      tasks.push(skimSpec(buf, c.pos, c.pos + len));
      c.pos += len;
    } else c.skip(key & 7);
  }
  return { tasks };
}

/**
 * The Executor service definition with RunTasks and TaskStream requests
 * skimmed (their handlers receive `{ tasks: SkimmedTask[] }`); every other
 * method decodes as usual. `onBroken` hears bytes the skimmer cannot read or
 * reads differently from the full decoder: grpc-js would only cancel the
 * call, and a benchmark whose tasks silently never run measures nothing.
 */
export function skimmingExecutorService(onBroken: (err: Error) => void): grpc.ServiceDefinition {
  const full = rivuletV1.Executor.service;
  let checked = false;
  const deserialize = (buf: Buffer) => {
    let skimmed: { tasks: SkimmedTask[] };
    try {
      skimmed = skimRunTasksRequest(buf);
    } catch (e) {
      onBroken(e as Error);
      throw e;
    }
    if (!checked) {
      checked = true;
      const decoded = full.TaskStream.requestDeserialize(buf) as RunTasksRequest__Output;
      const same =
        decoded.tasks.length === skimmed.tasks.length &&
        decoded.tasks.every((t, i) => {
          const s = skimmed.tasks[i]!;
          return t.taskId === s.taskId && t.attempt === s.attempt && (t.shuffleWrite?.numPartitions ?? undefined) === s.buckets;
        });
      if (!same) {
        const err = new Error('task-spec-skim reads TaskSpec differently from proto/rivulet/v1/executor.proto: fix its field numbers');
        onBroken(err);
        throw err;
      }
    }
    return skimmed;
  };
  return {
    ...full,
    RunTasks: { ...full.RunTasks, requestDeserialize: deserialize },
    TaskStream: { ...full.TaskStream, requestDeserialize: deserialize },
  } as grpc.ServiceDefinition;
}
