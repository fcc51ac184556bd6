/**
 * BENCHMARK HARNESS: reads, from a serialized RunTasksRequest, only what a
 * simulated executor needs of each TaskSpec — its id, attempt, and the
 * shuffle it writes (id, map partition, bucket count; its push targets only
 * when asked) — and skips the rest of the bytes unread. At 256 × 4 slots a
 * reduce task's spec lists every map output (and a map task's, every reducer
 * to push to), so decoding whole specs into objects made the harness cost as
 * much CPU as the scheduler it shares the machine with; skimming keeps it
 * lightweight. Group plans and revocations (fields 2 and 3, one per executor
 * per group) are few and are decoded in full, with the real decoder. Field
 * numbers are those of proto/rivulet/v1/executor.proto;
 * `skimmingExecutorService` checks the first requests it skims against the
 * full decoder, so a renumbered field stops the benchmark instead of
 * silently mis-reading tasks.
 */
import type * as grpc from '@grpc/grpc-js';
import { rivuletV1 } from '../../lib/proto/index.js';
import type { GroupPlan__Output } from '../../lib/proto/gen/rivulet/v1/GroupPlan.js';
import type { PlanRevocation__Output } from '../../lib/proto/gen/rivulet/v1/PlanRevocation.js';
import type { DropBlocksRequest__Output } from '../../lib/proto/gen/rivulet/v1/DropBlocksRequest.js';
import type { RunTasksRequest__Output } from '../../lib/proto/gen/rivulet/v1/RunTasksRequest.js';

/** ShuffleWrite.push, as far as a simulated executor needs it. */
export interface PushTarget {
  executorId: string;
  reducePartitions: readonly number[];
}

/** A task's ShuffleWrite: where its buckets go. */
export interface SkimmedWrite {
  shuffleId: string;
  /** The global map partition (map_partition_offset + TaskSpec.partition): the `<map>` of its bucket ids. */
  mapPartition: number;
  numPartitions: number;
  /** ShuffleWrite.total_bytes_only: the result lists no bucket sizes (metrics.bytes_out has their total). */
  totalBytesOnly: boolean;
  /** Read on demand (only a planned shuffle's buckets are tracked): a map task of 1024 reducers lists up to 255 targets. */
  pushTargets(): PushTarget[];
}

export interface SkimmedTask {
  taskId: string;
  attempt: number;
  /** Set when the task writes shuffle buckets; undefined for a result or cache sink. */
  write?: SkimmedWrite;
}

/** What RunTasks and TaskStream handlers receive: tasks skimmed, group plans, revocations and drops decoded. */
export interface SkimmedRequest {
  tasks: SkimmedTask[];
  plans: GroupPlan__Output[];
  revocations: PlanRevocation__Output[];
  drops?: DropBlocksRequest__Output;
}

// RunTasksRequest
const REQUEST_TASKS = 1;
const REQUEST_PLANS = 2;
const REQUEST_REVOCATIONS = 3;
const REQUEST_DROPS = 5;
// TaskSpec
const SPEC_TASK_ID = 1;
const SPEC_PARTITION = 6;
const SPEC_ATTEMPT = 7;
const SPEC_SHUFFLE_WRITE = 12;
// ShuffleWrite
const WRITE_SHUFFLE_ID = 1;
const WRITE_NUM_PARTITIONS = 3;
const WRITE_MAP_PARTITION_OFFSET = 4;
const WRITE_PUSH = 5;
const WRITE_TOTAL_BYTES_ONLY = 6;
// ShufflePushTarget
const PUSH_EXECUTOR = 1;
const PUSH_REDUCE_PARTITIONS = 2;
// ExecutorRef
const REF_EXECUTOR_ID = 1;

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

  string(): string {
    const len = this.varint();
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
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

function executorIdOf(buf: Buffer, start: number, end: number): string {
  const c = new Cursor(buf, start, end);
  let id = '';
  while (c.pos < end) {
    const key = c.varint();
    if (key >>> 3 === REF_EXECUTOR_ID && (key & 7) === 2) id = c.string();
    else c.skip(key & 7);
  }
  return id;
}

function pushTarget(buf: Buffer, start: number, end: number): PushTarget {
  const c = new Cursor(buf, start, end);
  const target: { executorId: string; reducePartitions: number[] } = { executorId: '', reducePartitions: [] };
  while (c.pos < end) {
    const key = c.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === PUSH_EXECUTOR && wire === 2) {
      const len = c.varint();
      target.executorId = executorIdOf(buf, c.pos, c.pos + len);
      c.pos += len;
    } else if (field === PUSH_REDUCE_PARTITIONS && wire === 2) {
      // Packed (proto3's default for repeated scalars).
      const len = c.varint();
      const stop = c.pos + len;
      while (c.pos < stop) target.reducePartitions.push(c.varint());
    } else if (field === PUSH_REDUCE_PARTITIONS && wire === 0) target.reducePartitions.push(c.varint());
    else c.skip(wire);
  }
  return target;
}

function pushTargetsOf(buf: Buffer, start: number, end: number): PushTarget[] {
  const c = new Cursor(buf, start, end);
  const out: PushTarget[] = [];
  while (c.pos < end) {
    const key = c.varint();
    if (key >>> 3 === WRITE_PUSH && (key & 7) === 2) {
      const len = c.varint();
      out.push(pushTarget(buf, c.pos, c.pos + len));
      c.pos += len;
    } else c.skip(key & 7);
  }
  return out;
}

/** A ShuffleWrite without its push targets (read later, from the same bytes, if asked for); `partition` is TaskSpec.partition. */
function shuffleWrite(
  buf: Buffer,
  start: number,
  end: number,
): { shuffleId: string; offset: number; numPartitions: number; totalBytesOnly: boolean; pushTargets(): PushTarget[] } {
  const c = new Cursor(buf, start, end);
  let shuffleId = '';
  let offset = 0;
  let numPartitions = 0;
  let totalBytesOnly = false;
  while (c.pos < end) {
    const key = c.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === WRITE_SHUFFLE_ID && wire === 2) shuffleId = c.string();
    else if (field === WRITE_NUM_PARTITIONS && wire === 0) numPartitions = c.varint();
    else if (field === WRITE_MAP_PARTITION_OFFSET && wire === 0) offset = c.varint();
    else if (field === WRITE_TOTAL_BYTES_ONLY && wire === 0) totalBytesOnly = c.varint() !== 0;
    else c.skip(wire);
  }
  return { shuffleId, offset, numPartitions, totalBytesOnly, pushTargets: () => pushTargetsOf(buf, start, end) };
}

function skimSpec(buf: Buffer, start: number, end: number): SkimmedTask {
  const c = new Cursor(buf, start, end);
  const task: SkimmedTask = { taskId: '', attempt: 0 };
  let partition = 0;
  let write: ReturnType<typeof shuffleWrite> | undefined;
  while (c.pos < end) {
    const key = c.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === SPEC_TASK_ID && wire === 2) task.taskId = c.string();
    else if (field === SPEC_ATTEMPT && wire === 0) task.attempt = c.varint();
    else if (field === SPEC_PARTITION && wire === 0) partition = c.varint();
    else if (field === SPEC_SHUFFLE_WRITE && wire === 2) {
      const len = c.varint();
      write = shuffleWrite(buf, c.pos, c.pos + len);
      c.pos += len;
    } else c.skip(wire);
  }
  if (write) {
    task.write = {
      shuffleId: write.shuffleId,
      mapPartition: write.offset + partition,
      numPartitions: write.numPartitions,
      totalBytesOnly: write.totalBytesOnly,
      pushTargets: write.pushTargets,
    };
  }
  return task;
}

/**
 * The tasks of a serialized RunTasksRequest, skimmed, and the bytes of its
 * plans, revocations and drops (fields 2, 3 and 5, keys included: on their
 * own they are a RunTasksRequest with only those fields), undefined when it
 * has none. Ended jobs (field 4) are skipped: a simulated executor loads no code.
 * Throws RangeError on malformed bytes.
 */
export function skimRunTasksRequest(buf: Buffer): { tasks: SkimmedTask[]; planBytes?: Buffer } {
  const c = new Cursor(buf, 0, buf.length);
  const tasks: SkimmedTask[] = [];
  let planParts: Buffer[] | undefined;
  while (c.pos < buf.length) {
    const fieldStart = c.pos;
    const key = c.varint();
    const field = key >>> 3;
    if (field === REQUEST_TASKS && (key & 7) === 2) {
      const len = c.varint();
      tasks.push(skimSpec(buf, c.pos, c.pos + len));
      c.pos += len;
    } else {
      c.skip(key & 7);
      if (field === REQUEST_PLANS || field === REQUEST_REVOCATIONS || field === REQUEST_DROPS) (planParts ??= []).push(buf.subarray(fieldStart, c.pos));
    }
  }
  if (c.pos !== buf.length) throw new RangeError('truncated request');
  return planParts ? { tasks, planBytes: Buffer.concat(planParts) } : { tasks };
}

/** The first requests are compared with the full decoder until one with push targets has been (at most this many). */
const CHECKED_REQUESTS = 100;

function sameTasks(decoded: RunTasksRequest__Output, skimmed: SkimmedTask[]): boolean {
  return (
    decoded.tasks.length === skimmed.length &&
    decoded.tasks.every((t, i) => {
      const s = skimmed[i]!;
      if (t.taskId !== s.taskId || t.attempt !== s.attempt) return false;
      const w = t.shuffleWrite;
      if (!w || !s.write) return !w && !s.write;
      if (
        w.shuffleId !== s.write.shuffleId ||
        w.numPartitions !== s.write.numPartitions ||
        w.mapPartitionOffset + t.partition !== s.write.mapPartition ||
        w.totalBytesOnly !== s.write.totalBytesOnly
      )
        return false;
      const push = s.write.pushTargets();
      return (
        push.length === w.push.length &&
        w.push.every((p, j) => p.executor?.executorId === push[j]!.executorId && p.reducePartitions.join() === push[j]!.reducePartitions.join())
      );
    })
  );
}

/**
 * The Executor service definition with RunTasks and TaskStream requests
 * skimmed (their handlers receive a SkimmedRequest); every other method
 * decodes as usual. `onBroken` hears bytes the skimmer cannot read or reads
 * differently from the full decoder: grpc-js would only cancel the call, and
 * a benchmark whose tasks silently never run measures nothing.
 */
export function skimmingExecutorService(onBroken: (err: Error) => void): grpc.ServiceDefinition {
  const full = rivuletV1.Executor.service;
  const decode = (buf: Buffer) => full.TaskStream.requestDeserialize(buf) as RunTasksRequest__Output;
  let checks = 0;
  let pushChecked = false;
  const deserialize = (buf: Buffer): SkimmedRequest => {
    let skimmed: { tasks: SkimmedTask[]; planBytes?: Buffer };
    try {
      skimmed = skimRunTasksRequest(buf);
    } catch (e) {
      onBroken(e as Error);
      throw e;
    }
    if (checks === 0 || (!pushChecked && checks < CHECKED_REQUESTS)) {
      checks++;
      const decoded = decode(buf);
      if (!sameTasks(decoded, skimmed.tasks) || (skimmed.planBytes === undefined) !== (decoded.plans.length + decoded.revocations.length === 0 && !decoded.drops)) {
        const err = new Error('task-spec-skim reads TaskSpec differently from proto/rivulet/v1/executor.proto: fix its field numbers');
        onBroken(err);
        throw err;
      }
      pushChecked = decoded.tasks.some((t) => (t.shuffleWrite?.push.length ?? 0) > 0);
    }
    if (!skimmed.planBytes) return { tasks: skimmed.tasks, plans: [], revocations: [] };
    const { plans, revocations, drops } = decode(skimmed.planBytes);
    return { tasks: skimmed.tasks, plans, revocations, ...(drops ? { drops } : {}) };
  };
  return {
    ...full,
    RunTasks: { ...full.RunTasks, requestDeserialize: deserialize },
    TaskStream: { ...full.TaskStream, requestDeserialize: deserialize },
  } as grpc.ServiceDefinition;
}
